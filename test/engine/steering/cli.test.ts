/**
 * `clipscope steer`, the real bin: the JSON contract against the PyTorch references, neighbours
 * from a real library of the fixture photos, the readable summary and every error of the contract.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Edit } from '../../../main/engine/steering/edits.js';
import { connection } from '../../../main/engine/store/connection.js';
import { Library, type WritableLibrary } from '../../../main/engine/store/library.js';
import { unpackFloat16 } from '../../../main/engine/store/packing.js';
import { runCli } from '../../cli/run-cli.js';
import { npyFloat } from '../../helpers/references.js';
import { addFixturePhotos, encodeFixturePhotos, tempDir } from '../store/helpers.js';
import { cosine, maxAbs, maxAbsDiff, modelDir, saePath, steering } from './references.js';

const entry = steering.entries[0]!; // tiny gelu model + its CLIP-Scope SAE at the SAE's layer (2)
const MODEL = ['--model', modelDir(entry), '--sae', saePath(entry), '--provider', 'cpu'];

interface SteerJson {
  file: string;
  layer: number;
  edits: Record<string, unknown>[];
  embedding: number[];
  original_embedding: number[];
  cosine: number;
  reconstruction_cosine: number;
  neighbours?: { before: { file: string; score: number }[]; after: { file: string; score: number }[] };
}

/** The edits as command-line options, in order. */
function editArgs(edits: readonly Edit[]): string[] {
  return edits.flatMap((e) => {
    const tokens = Array.isArray(e.tokens) ? e.tokens.join(',') : e.tokens as string;
    return 'value' in e ? ['--set', `${e.feature}=${e.value}@${tokens}`] : ['--scale', `${e.feature}=${e.scale}@${tokens}`];
  });
}

let db: string;
let lib: WritableLibrary;

beforeAll(async () => {
  db = path.join(await tempDir('clipscope-steer-cli-'), 'library.sqlite');
  const enc = await encodeFixturePhotos();
  lib = Library.open(db);
  addFixturePhotos(lib, lib.ensureConfig(enc.config), enc.photos);
});
afterAll(() => lib?.close());

/** Brute-force cosine ranking of the library's stored embeddings, `exclude` left out. */
function ranking(v: readonly number[], exclude: string): { file: string; score: number }[] {
  const rows = connection(lib).db.prepare("SELECT i.path, l.embedding FROM images i JOIN results r ON r.image_id = i.id JOIN latents l ON l.result_id = r.id WHERE i.status = 'present'")
    .raw().all() as [string, Buffer][];
  return rows.filter(([p]) => p !== path.resolve(exclude))
    .map(([file, blob]) => ({ file, score: cosine(v, unpackFloat16(blob)) }))
    .sort((a, b) => b.score - a.score);
}

describe('clipscope steer --json', () => {
  it('prints the contract object, with the embedding PyTorch computes for the same edits', async () => {
    for (const name of ['combined', 'ablate_cls', 'set_all']) {
      const c = entry.cases.find((x) => x.name === name)!;
      const r = await runCli(['steer', entry.photo, ...MODEL, ...editArgs(c.edits), '--json']);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as SteerJson;
      expect(Object.keys(out)).toEqual(['file', 'layer', 'edits', 'embedding', 'original_embedding', 'cosine', 'reconstruction_cosine']);
      expect(out.file).toBe(entry.photo);
      expect(out.layer).toBe(2);
      expect(out.edits).toEqual(c.edits.map((e) => ('value' in e ? { feature: e.feature, value: e.value, tokens: e.tokens } : { feature: e.feature, scale: e.scale, tokens: e.tokens })));
      for (const e of out.edits) expect(Object.keys(e)).toEqual(['feature', 'value' in e ? 'value' : 'scale', 'tokens']);
      const want = await npyFloat(c.embedding);
      const original = await npyFloat(entry.original);
      expect(cosine(out.embedding, want), name).toBeGreaterThanOrEqual(0.99999);
      expect(maxAbsDiff(out.embedding, want), name).toBeLessThan(2e-5 * maxAbs(want));
      expect(maxAbsDiff(out.original_embedding, original)).toBeLessThan(2e-5 * maxAbs(original));
      expect(out.cosine).toBeCloseTo(cosine(out.embedding, out.original_embedding), 9);
      expect(out.cosine).toBeLessThan(0.99999);
      expect(out.reconstruction_cosine).toBeCloseTo(cosine(await npyFloat(entry.reconstruction), original), 5);
    }
  });

  it('adds "later_layer" only with --later-layer: the features gained and lost at layer 3 that PyTorch computes', async () => {
    const c = entry.cases.find((x) => x.name === 'set_all')!;
    const ref = c.later!.find((l) => l.layer === 3)!;
    const r = await runCli(['steer', entry.photo, ...MODEL, ...editArgs(c.edits), '--later-layer', '3', '--later-sae', saePath(entry), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as SteerJson & { later_layer: { layer: number; sae: string; edited_tokens: number; cls: Record<string, { feature: number }[]>; edited: Record<string, { feature: number }[]> } };
    expect(Object.keys(out)).toEqual(['file', 'layer', 'edits', 'embedding', 'original_embedding', 'cosine', 'reconstruction_cosine', 'later_layer']);
    expect(cosine(out.embedding, await npyFloat(c.embedding))).toBeGreaterThanOrEqual(0.99999);
    expect(out.later_layer).toMatchObject({ layer: 3, sae: saePath(entry), edited_tokens: 257 });
    const ids = (xs: [number, number][]) => new Set(xs.map(([f]) => f));
    const minus = (a: Set<number>, b: Set<number>) => [...a].filter((f) => !b.has(f)).sort((x, y) => x - y);
    const sorted = (xs: { feature: number }[]) => xs.map((x) => x.feature).sort((x, y) => x - y);
    expect(sorted(out.later_layer.cls.gained!)).toEqual(minus(ids(ref.after.cls), ids(ref.before.cls)));
    expect(sorted(out.later_layer.cls.lost!)).toEqual(minus(ids(ref.before.cls), ids(ref.after.cls)));
    expect(sorted(out.later_layer.edited.gained!)).toEqual(minus(ids(ref.after.pooled!), ids(ref.before.pooled!)));
    expect(sorted(out.later_layer.edited.lost!)).toEqual(minus(ids(ref.before.pooled!), ids(ref.after.pooled!)));
    expect(out.later_layer.cls.gained!.length).toBeGreaterThan(0);
    const text = await runCli(['steer', entry.photo, ...MODEL, ...editArgs(c.edits), '--later-layer', '3', '--later-sae', saePath(entry)]);
    expect(text.stdout).toMatch(/\n {2}at layer 3 \(features before -> after\):\n {4}CLS gained: #\d+ \(/);
  });

  it('defaults TOKENS to all, and a no-op edit reproduces the original embedding', async () => {
    const c = entry.cases.find((x) => x.name === 'set_all')!;
    const e = c.edits[0] as { feature: number; value: number };
    const r = await runCli(['steer', entry.photo, ...MODEL, '--set', `${e.feature}=${e.value}`, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as SteerJson;
    expect(out.edits).toEqual([{ feature: e.feature, value: e.value, tokens: 'all' }]);
    expect(cosine(out.embedding, await npyFloat(c.embedding))).toBeGreaterThanOrEqual(0.99999);
    const noop = await runCli(['steer', entry.photo, ...MODEL, '--scale', `${e.feature}=1`, '--json']);
    const same = JSON.parse(noop.stdout) as SteerJson;
    expect(same.cosine).toBeGreaterThan(1 - 1e-6);
    expect(maxAbsDiff(same.embedding, same.original_embedding)).toBeLessThan(1e-5 * maxAbs(same.original_embedding));
  });

  it('lists the nearest library photos before and after (the photo itself excluded), as cosine ranks them', async () => {
    const c = entry.cases.find((x) => x.name === 'set_absent_listed')!;
    const r = await runCli(['steer', entry.photo, ...MODEL, ...editArgs(c.edits), '--db', db, '--neighbours', '3', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as SteerJson;
    expect(Object.keys(out).at(-1)).toBe('neighbours');
    const { before, after } = out.neighbours!;
    for (const [list, v] of [[before, out.original_embedding], [after, out.embedding]] as const) {
      const want = ranking(v, entry.photo).slice(0, 3);
      expect(list.map((n) => n.file)).toEqual(want.map((w) => w.file));
      // Stored embeddings are float16: scores agree to its precision.
      list.forEach((n, i) => expect(n.score).toBeCloseTo(want[i]!.score, 3));
      expect(list.every((n) => Object.keys(n).join() === 'file,score')).toBe(true);
    }
    expect(before.map((b) => b.file)).not.toContain(path.resolve(entry.photo));
    // Default N is 10: every other photo of the six.
    const all = await runCli(['steer', entry.photo, ...MODEL, '--set', '3=1@cls', '--db', db, '--json']);
    expect((JSON.parse(all.stdout) as SteerJson).neighbours!.before).toHaveLength(5);
  });
});

describe('clipscope steer (readable)', () => {
  it('prints the cosine, L2 change, reconstruction cosine and both neighbour lists with rank changes', async () => {
    const c = entry.cases.find((x) => x.name === 'set_absent_listed')!;
    const r = await runCli(['steer', entry.photo, ...MODEL, ...editArgs(c.edits), '--db', db, '--neighbours', '5']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^test\/fixtures\/photos\/chelsea\.png at layer 2 \(cpu\)\n {2}set #\d+ = [\d.e-]+ on tokens 0,[\d,]+\n/);
    expect(r.stdout).toMatch(/cosine to the original embedding 0\.\d{6} {3}L2 change [\d.e-]+ {3}reconstruction cosine 0\.\d{6}\n/);
    expect(r.stdout).toMatch(/nearest photos before:\n( +\d +[-\d.]+ {2}\/\S+\n){5} {2}after:\n( +\d +[-\d.]+ {2}\/\S+ {2}\((=|up \d|down \d|new)\)\n){5}/);
  });
});

describe('clipscope steer errors', () => {
  const cases: [string, string[], RegExp][] = [
    ['an unknown feature', ['--set', '1024=1@cls'], /feature 1024 does not exist/],
    ['a token out of range', ['--scale', '3=2@0,257'], /token 257 .*out of range/],
    ['a malformed --set', ['--set', '3=big'], /"3=big" is not FEATURE=VALUE/],
    ['a malformed --scale', ['--scale', '3=2@cls,5'], /"3=2@cls,5" is not FEATURE=FACTOR/],
    ['no edit at all', [], /give at least one edit/],
  ];
  it.each(cases)('%s: a message naming it, exit 2', async (_what, args, message) => {
    const r = await runCli(['steer', entry.photo, ...MODEL, ...args, '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('an unreadable image: a message naming it, exit 1', async () => {
    for (const file of ['README.md', path.join(path.dirname(db), 'missing.jpg')]) {
      const r = await runCli(['steer', file, ...MODEL, '--set', '3=1', '--json']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(file);
      expect(r.stdout).toBe('');
    }
  });
});
