/**
 * The explorer's and the steering screen's API methods through both transports on the indexed
 * demo library, checked against the CLI's --json on the same library file (the numbers users
 * compare) and against the engine's own query functions on an independent read-only handle.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppState, FeatureDetails, FeatureHeat, FeatureSearchResult, ImageDetails, SteerResult } from '../../common/contract/index.js';
import { demoDir } from '../../main/engine/models/demo.js';
import { cliJson, envelope, startTransports, valueOf, type Transports } from './harness.js';

let t: Transports;
let db: string;
let image: ImageDetails;
let clsFeature: number;

beforeAll(async () => {
  t = await startTransports('clipscope-explorer-api-');
  const done = t.waitForStatus((s) => s.job?.state === 'done');
  const state = valueOf<AppState>(await t.viaHttp('demo.setup'));
  db = state.library!.file;
  await done;
  image = valueOf<ImageDetails>(await t.viaHttp('image.get', { imageId: 1 }));
  clsFeature = image.cls[0]!.feature;
});
afterAll(async () => {
  await t?.close();
});

const cli = (args: string[]): Promise<unknown> => cliJson(db, args);

describe('explorer methods', () => {
  it('features.search gives the statistics `clipscope features --json` prints, in the same order', async () => {
    const r = await t.both('features.search', { sort: 'frequency', limit: 20 });
    expect(envelope(r.http)).toEqual(r.ipc);
    const api = valueOf<FeatureSearchResult>(r.ipc);
    expect(api).toMatchObject({ layer: 2, libraryImages: 5, libraryTokens: 5 * 257, stale: false });
    // The CLI prints the same objects: compare them whole.
    expect(api.items).toEqual(await cli(['features', 'search', '--sort', 'frequency', '--limit', '20']));
  });

  it('feature.details has the histogram and the stats of the feature', async () => {
    const d = valueOf<FeatureDetails>(await t.viaIpc('feature.details', { feature: clsFeature }));
    expect(d.feature).toBe(clsFeature);
    expect(d.images).toBeGreaterThan(0);
    expect(d.histogram.reduce((a, b) => a + b.count, 0)).toBe(d.tokens);
    expect(d.maxAct).toBeGreaterThanOrEqual(image.cls[0]!.act);
  });

  it("feature.heat gives, per photo of a page, the feature's value on each token as image.get's latents have it", async () => {
    const r = await t.both('feature.heat', { feature: clsFeature, imageIds: [1, 2, 3, 4, 5] });
    expect(envelope(r.http)).toEqual(r.ipc);
    const heat = valueOf<FeatureHeat>(r.ipc);
    for (const h of heat.images) {
      const img = valueOf<ImageDetails>(await t.viaHttp('image.get', { imageId: h.imageId }));
      const expected = img.tokens.idx.flatMap((row, tok) => row.flatMap((f, i) => (f === clsFeature ? [[tok, img.tokens.val[tok]![i]!]] : [])));
      expect(h.tokens).toEqual(expected.map((e) => e[0]));
      expect(h.values).toEqual(expected.map((e) => e[1]));
    }
    expect(heat.images[0]!.tokens[0]).toBe(0);
    const bad = await t.both('feature.heat', { feature: clsFeature, imageIds: [] });
    expect(bad.ipc).toMatchObject({ ok: false, error: { code: 'invalid-request', message: expect.stringContaining('imageIds') } });
  });

  it('labels.set stores a label the CLI then lists', async () => {
    const r = await t.viaIpc('labels.set', { feature: clsFeature, label: 'whiskers?', note: 'demo: means nothing' });
    expect(r).toMatchObject({ ok: true, value: { feature: clsFeature, label: 'whiskers?', note: 'demo: means nothing' } });
    const found = valueOf<FeatureSearchResult>(await t.viaHttp('features.search', { text: 'whisk' }));
    expect(found.items.map((i) => i.feature)).toEqual([clsFeature]);
  });
});

describe('steer.preview', () => {
  const demo = demoDir()!;
  const model = ['--model', path.join(demo, 'clip'), '--sae', path.join(demo, 'sae', '2_resid', '10280.pt')];

  it('equals `clipscope steer --db --json` for ablating and doubling the strongest CLS feature, and a no-op leaves everything as it was', async () => {
    const value = image.cls[0]!.act;
    const sets = [
      [{ feature: clsFeature, tokens: 'cls', value: 0 }],
      [{ feature: clsFeature, tokens: 'cls', value: 2 * value }],
      [{ feature: clsFeature, tokens: 'cls', scale: 1 }],
    ];
    const r = await t.both('steer.preview', { imageId: image.imageId, sets, neighbours: 4 });
    expect(envelope(r.http)).toEqual(r.ipc);
    const api = valueOf<SteerResult>(r.ipc);
    expect(api.layer).toBe(2);
    expect(api.before).toHaveLength(4);
    expect(api.before.some((b) => b.imageId === image.imageId)).toBe(false);

    for (const [i, spec] of [`${clsFeature}=0@cls`, `${clsFeature}=${2 * value}@cls`].entries()) {
      const out = (await cli(['steer', image.file, ...model, '--set', spec, '--neighbours', '4'])) as {
        cosine: number; reconstruction_cosine: number; neighbours: { before: { file: string; score: number }[]; after: { file: string; score: number }[] };
      };
      expect(api.results[i]!.cosine).toBeCloseTo(out.cosine, 6);
      expect(api.reconstructionCosine).toBeCloseTo(out.reconstruction_cosine, 6);
      expect(api.before.map((b) => b.file)).toEqual(out.neighbours.before.map((b) => b.file));
      expect(api.results[i]!.after.map((a) => a.file)).toEqual(out.neighbours.after.map((a) => a.file));
      api.results[i]!.after.forEach((a, j) => expect(a.score).toBeCloseTo(out.neighbours.after[j]!.score, 5));
      expect(api.results[i]!.cosine).toBeLessThan(1);
    }
    const noop = api.results[2]!;
    expect(noop.cosine).toBeCloseTo(1, 6);
    expect(noop.l2).toBeLessThan(1e-3);
    expect(noop.after.map((a) => a.imageId)).toEqual(api.before.map((b) => b.imageId));
  });

  it('names a bad edit in its error', async () => {
    const r = await t.both('steer.preview', { imageId: image.imageId, sets: [[{ feature: 999_999, tokens: 'all', value: 1 }]] });
    expect(envelope(r.http)).toEqual(r.ipc);
    expect(r.ipc).toMatchObject({ ok: false, error: { kind: 'user', message: expect.stringContaining('feature 999999') } });
    const tok = await t.viaHttp('steer.preview', { imageId: image.imageId, sets: [[{ feature: 1, tokens: [300], value: 1 }]] });
    expect(tok).toMatchObject({ ok: false, error: { message: expect.stringContaining('token 300') } });
  });
});
