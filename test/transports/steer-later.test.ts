/**
 * steer.preview on a library indexed at two layers of the same model (the demo model, its SAE at
 * layers 2 and 3): steering at layer 2 reports the features gained and lost at layer 3, through
 * both transports; the same numbers as `clipscope steer --later-layer 3 --db --json`; the
 * original side equal to what indexing stored for layer 3; and nothing extra when `later` is off
 * or the CLI flag is absent.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppState, ImageDetails, SteerResult } from '../../common/contract/index.js';
import { demoDir } from '../../main/engine/models/demo.js';
import { runCli } from '../cli/run-cli.js';
import { envelope, startTransports, valueOf, type Transports } from './harness.js';

const demo = demoDir()!;
const MODEL = path.join(demo, 'clip');
const SAE = path.join(demo, 'sae', '2_resid', '10280.pt');

let t: Transports;
let db: string;
let image: ImageDetails;
let atLayer3: ImageDetails;
let layer3Config: number;

beforeAll(async () => {
  t = await startTransports('clipscope-steer-later-');
  const done = t.waitForStatus((s) => s.job?.state === 'done');
  db = valueOf<AppState>(await t.viaHttp('demo.setup')).library!.file;
  await done;
  // The same photos and model, the demo SAE applied at layer 3 as a second configuration.
  const second = t.waitForStatus((s) => s.job?.state === 'done' && s.job.layer === 3);
  expect(await t.viaHttp('index.start', { model: MODEL, sae: SAE, layer: 3 })).toMatchObject({ ok: true });
  await second;
  const state = valueOf<AppState>(await t.viaHttp('app.state'));
  expect(state.library!.configs.map((c) => c.layer).sort()).toEqual([2, 3]);
  layer3Config = state.library!.configs.find((c) => c.layer === 3)!.id;
  image = valueOf<ImageDetails>(await t.viaHttp('image.get', { imageId: 1, layer: 2 }));
  atLayer3 = valueOf<ImageDetails>(await t.viaHttp('image.get', { imageId: 1, layer: 3 }));
});
afterAll(async () => {
  await t?.close();
});

describe('steer.preview with a later layer in the library', () => {
  it('reports layer 3 gained / lost / changed as the CLI prints them, from what indexing stored', async () => {
    const f = image.cls[0]!.feature;
    const act = image.cls[0]!.act;
    const sets = [
      [{ feature: f, tokens: 'all', value: 8 * act }],
      [{ feature: f, tokens: 'cls', value: 0 }],
      [{ feature: f, tokens: 'cls', scale: 1 }],
    ];
    const r = await t.both('steer.preview', { imageId: image.imageId, sets, neighbours: 3, layer: 2 });
    expect(envelope(r.http)).toEqual(r.ipc);
    const api = valueOf<SteerResult>(r.ipc);
    for (const res of api.results) {
      expect(res.later).toHaveLength(1);
      expect(res.later![0]).toMatchObject({ layer: 3, configId: layer3Config });
    }
    const [strong, ablate, noop] = api.results.map((x) => x.later![0]!);

    // The unedited side is layer 3 as indexing encoded it (stored as float16): CLS's kept latents,
    // and for the pooled view the mean over the edited tokens (all 257 here).
    const stored = new Map(atLayer3.tokens.idx[0]!.map((f, i) => [f, atLayer3.tokens.val[0]![i]!]));
    for (const l of strong!.cls.lost) expect(l.before).toBeCloseTo(stored.get(l.feature)!, 2);
    for (const g of strong!.cls.gained) expect(stored.has(g.feature)).toBe(false);
    for (const c of strong!.cls.changed) expect(c.before).toBeCloseTo(stored.get(c.feature)!, 2);
    const mean = (f: number) => atLayer3.tokens.idx.reduce((s, row, t) => s + (row.includes(f) ? atLayer3.tokens.val[t]![row.indexOf(f)]! : 0), 0) / 257;
    for (const c of [...strong!.edited!.lost, ...strong!.edited!.changed, ...strong!.edited!.gained]) expect(c.before).toBeCloseTo(mean(c.feature), 2);
    expect(strong!.edited!.gained.length + strong!.edited!.lost.length).toBeGreaterThan(0);
    expect(strong!.cls.gained.length).toBeGreaterThan(0);
    expect(strong!.edited).not.toBeNull();
    expect(strong!.editedTokens).toBe(257);
    expect(ablate!.edited).toBeNull(); // CLS alone: its view is the CLS one
    expect(noop).toMatchObject({ cls: { gained: [], lost: [], changed: [] } });

    // The CLI finds layer 3's SAE in the library and prints the same report under its own key.
    const specs = [`--set`, `${f}=${8 * act}@all`];
    const cli = await runCli(['steer', image.file, '--model', MODEL, '--sae', SAE, '--layer', '2', ...specs, '--later-layer', '3', '--db', db, '--neighbours', '3', '--json']);
    expect(cli.code, cli.stderr).toBe(0);
    const out = JSON.parse(cli.stdout) as { cosine: number; later_layer: { layer: number; sae: string; cls: unknown; edited: unknown; edited_tokens: number } };
    expect(out.cosine).toBeCloseTo(api.results[0]!.cosine, 6);
    expect(out.later_layer.layer).toBe(3);
    expect(out.later_layer.sae).toBe(SAE);
    expect(out.later_layer.edited_tokens).toBe(257);
    const ids = (d: unknown, k: 'gained' | 'lost' | 'changed') => (d as Record<string, { feature: number }[]>)[k]!.map((x) => x.feature);
    for (const k of ['gained', 'lost', 'changed'] as const) {
      expect(ids(out.later_layer.cls, k)).toEqual(strong!.cls[k].map((x) => x.feature));
      expect(ids(out.later_layer.edited, k)).toEqual(strong!.edited![k].map((x) => x.feature));
    }
  });

  it('leaves the report out when `later` is off, and the CLI\'s JSON as the contract has it without the flag', async () => {
    const f = image.cls[0]!.feature;
    const off = valueOf<SteerResult>(await t.viaHttp('steer.preview', { imageId: image.imageId, sets: [[{ feature: f, tokens: 'cls', value: 0 }]], neighbours: 0, layer: 2, later: false }));
    expect(off.results[0]!.later).toBeUndefined();
    const cli = await runCli(['steer', image.file, '--model', MODEL, '--sae', SAE, '--set', `${f}=0@cls`, '--db', db, '--neighbours', '2', '--json']);
    expect(cli.code, cli.stderr).toBe(0);
    expect(Object.keys(JSON.parse(cli.stdout) as object)).toEqual(['file', 'layer', 'edits', 'embedding', 'original_embedding', 'cosine', 'reconstruction_cosine', 'neighbours']);
  });

  it('names a later layer the CLI cannot find an SAE for', async () => {
    const f = image.cls[0]!.feature;
    const none = await runCli(['steer', image.file, '--model', MODEL, '--sae', SAE, '--set', `${f}=0@cls`, '--later-layer', '3', '--json']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--later-layer 3 needs an SAE for that layer: --later-sae PATH, or --db/);
    const early = await runCli(['steer', image.file, '--model', MODEL, '--sae', SAE, '--set', `${f}=0@cls`, '--later-layer', '1', '--later-sae', SAE, '--json']);
    expect(early.code).toBe(2);
    expect(early.stderr).toMatch(/later layer 1 is not after the steered layer 2/);
  });
});
