import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryImages, regionTokens, type FeatureQuery } from '../../../main/engine/queries/feature-query.js';
import { Library, type ConfigRow, type WritableLibrary } from '../../../main/engine/store/library.js';
import type { SparseCodes } from '../../../main/engine/sae/sparse-codes.js';
import { addSyntheticImages, maxPerFeature, SYNTH, tempDir } from '../store/helpers.js';

let lib: WritableLibrary;
let config: ConfigRow;
const present = new Map<number, SparseCodes>();
const meta = new Map<number, { path: string; date: number }>();

beforeAll(async () => {
  lib = Library.open(path.join(await tempDir('clipscope-query-'), 'library.sqlite'));
  config = lib.ensureConfig(SYNTH);
  // Two folders; more than 512 images so that postings and recent rows both hold entries.
  for (const [k, v] of addSyntheticImages(lib, config, 450, 31, '/photos/2019')) present.set(k, v);
  for (const [k, v] of addSyntheticImages(lib, config, 150, 32, '/photos/2020')) present.set(k, v);
  const gone = [...present.keys()].filter((_, i) => i % 17 === 0);
  lib.markRemoved(gone);
  for (const id of gone) present.delete(id);
  for (const id of present.keys()) {
    const img = lib.imageById(id)!;
    meta.set(id, { path: img.path, date: img.capturedAt ?? img.mtimeMs });
  }
});
afterAll(() => lib?.close());

/** The query's definition, evaluated image by image. */
function brute(q: FeatureQuery) {
  const region = q.tokens ? new Set(q.tokens) : undefined;
  const fires = (acts: Map<number, { act: number }>, t: { feature: number; minAct?: number }) => {
    const a = acts.get(t.feature)?.act ?? 0;
    return a > 0 && a >= (t.minAct ?? 0);
  };
  const hits: { file: string; imageId: number; score: number; date: number; features: { feature: number; act: number; token: number }[] }[] = [];
  for (const [id, codes] of present) {
    const m = meta.get(id)!;
    if (q.folder && !m.path.startsWith(q.folder + '/')) continue;
    if ((q.after !== undefined && m.date < q.after) || (q.before !== undefined && m.date >= q.before)) continue;
    const acts = maxPerFeature(codes, region);
    if (!(q.all ?? []).every((t) => fires(acts, t))) continue;
    if ((q.any ?? []).length && !(q.any ?? []).some((t) => fires(acts, t))) continue;
    if ((q.not ?? []).some((t) => fires(acts, t))) continue;
    const positive = [...(q.all ?? []), ...(q.any ?? [])].filter((t) => fires(acts, t));
    hits.push({
      file: m.path, imageId: id, date: m.date,
      score: positive.reduce((s, t) => s + acts.get(t.feature)!.act, 0),
      features: positive.map((t) => ({ feature: t.feature, act: acts.get(t.feature)!.act, token: acts.get(t.feature)!.token })),
    });
  }
  const sort = q.sort ?? 'activation';
  hits.sort((a, b) => (sort === 'activation' ? b.score - a.score : sort === 'date' ? b.date - a.date : a.date - b.date) || a.imageId - b.imageId);
  return hits;
}

/** Frequent features of the synthetic SAE (ids skew low). */
const F = { a: 2, b: 5, c: 11, d: 40, e: 90 };

describe('multi-feature queries', () => {
  const cases: [string, FeatureQuery][] = [
    ['one feature', { all: [{ feature: F.a }] }],
    ['AND of three', { all: [{ feature: F.a }, { feature: F.b }, { feature: F.c }] }],
    ['AND with minimum activations', { all: [{ feature: F.a, minAct: 4 }, { feature: F.b, minAct: 2.5 }] }],
    ['OR', { any: [{ feature: F.d }, { feature: F.e, minAct: 3 }] }],
    ['AND + OR + NOT', { all: [{ feature: F.a }], any: [{ feature: F.b }, { feature: F.c }], not: [{ feature: F.d }] }],
    ['NOT with a minimum', { all: [{ feature: F.b }], not: [{ feature: F.a, minAct: 5 }] }],
    ['NOT alone', { not: [{ feature: F.a }, { feature: F.b }] }],
    ['in a region', { all: [{ feature: F.a }, { feature: F.c }], tokens: [1, 2, 5, 6] }],
    ['in a region, with NOT and OR', { any: [{ feature: F.b }, { feature: F.d }], not: [{ feature: F.a, minAct: 1 }], tokens: [6, 7, 10, 11, 16] }],
    ['the CLS token as a region', { all: [{ feature: F.c }], tokens: [0] }],
    ['in a folder, sorted by date', { all: [{ feature: F.b }], folder: '/photos/2020', sort: 'date' }],
    ['between dates, oldest first', { any: [{ feature: F.a }, { feature: F.c }], after: 1_500_100_000_000, before: 1_600_000_000_000 + 200 * 86_400_000, sort: 'date-asc' }],
    ['in a region, by date', { all: [{ feature: F.a }], tokens: [16], sort: 'date' }],
    // Few candidates: their dates and folders are looked up one by one.
    ['few matches, in a folder, by date', { all: [{ feature: F.a, minAct: 7.4 }, { feature: F.b }], folder: '/photos/2019', sort: 'date' }],
    ['few matches, between dates', { all: [{ feature: F.a, minAct: 7.4 }], after: 1_500_100_000_000, sort: 'date-asc' }],
  ];

  it.each(cases)('%s: same images, order and activations as the brute-force definition', (_name, q) => {
    const want = brute(q);
    expect(want.length).toBeGreaterThan(3);
    const got = queryImages(lib, config, { ...q, limit: 10_000 });
    expect(got.items).toEqual(want);
    expect(got.total).toBe(want.length);
    // Pages agree with the full list (a region query may stop early once its page is certain).
    const page = queryImages(lib, config, { ...q, limit: 5, offset: 3 });
    expect(page.items).toEqual(want.slice(3, 8));
    if (!q.tokens) expect(page.total).toBe(want.length);
  });

  it('builds regions of the patch grid (rows x columns, inclusive)', () => {
    expect(regionTokens(config, [0, 1], [0, 1])).toEqual([1, 2, 5, 6]);
    expect(regionTokens({ ...config, tokens: 257 }, [8, 8], [8, 8])).toEqual([137]);
    expect(() => regionTokens(config, [0, 4], [0, 0])).toThrow(/outside the 4x4 patch grid/);
  });

  it('refuses out-of-range features and tokens', () => {
    expect(() => queryImages(lib, config, { all: [{ feature: 500 }] })).toThrow(/feature 500 is out of range/);
    expect(() => queryImages(lib, config, { all: [{ feature: 1 }], tokens: [17] })).toThrow(/token 17 is out of range/);
  });
});
