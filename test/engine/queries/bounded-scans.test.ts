/**
 * Bounded scans (a token gallery, a region query): a few latents read per call, a cursor to go
 * on. The items of all the calls, in order, must be exactly the unbounded page, which must be
 * exactly the brute-force definition.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gallery, type GalleryItem, type GalleryOptions } from '../../../main/engine/queries/gallery.js';
import { queryImages, type FeatureQuery, type QueryHit } from '../../../main/engine/queries/feature-query.js';
import { Library, type ConfigRow, type WritableLibrary } from '../../../main/engine/store/library.js';
import type { SparseCodes } from '../../../main/engine/sae/sparse-codes.js';
import { addSyntheticImages, bruteGallery, maxPerFeature, SYNTH, tempDir } from '../store/helpers.js';

let lib: WritableLibrary;
let config: ConfigRow;
let codes: Map<number, SparseCodes>;

beforeAll(async () => {
  lib = Library.open(path.join(await tempDir('clipscope-bounded-'), 'library.sqlite'));
  config = lib.ensureConfig(SYNTH);
  // More than 512 images: postings (compacted) and recent rows both hold entries.
  codes = addSyntheticImages(lib, config, 700, 41);
});
afterAll(() => lib?.close());

/** Every call of a bounded gallery until it gives no cursor: the items in order, calls made. */
function pagedGallery(feature: number, opts: GalleryOptions): { items: GalleryItem[]; total: number | null; calls: number } {
  const items: GalleryItem[] = [];
  let cursor: string | undefined;
  for (let calls = 1; ; calls++) {
    const g = gallery(lib, config, feature, { ...opts, ...(cursor ? { cursor } : {}) });
    items.push(...g.items);
    if (g.cursor === undefined) return { items, total: g.total, calls };
    expect(g.total).toBeNull();
    cursor = g.cursor;
    if (calls > 10_000) throw new Error('the scan does not end');
  }
}

describe('bounded token galleries', () => {
  it('give, call after call, exactly the unbounded page and the brute-force order', () => {
    let multiCall = 0;
    for (const f of [0, 3, 50, 120]) {
      for (const token of [3, 14]) {
        const brute = bruteGallery(codes, f, new Set([token]));
        for (const [offset, limit] of [[0, 24], [5, 7], [0, 1000]] as const) {
          const whole = gallery(lib, config, f, { token, offset, limit });
          const want = brute.slice(offset, offset + limit).map((r) => ({ file: lib.imageById(r.imageId)!.path, imageId: r.imageId, act: r.act, token }));
          expect(whole.items).toEqual(want);
          expect(whole.cursor).toBeUndefined();
          for (const maxReads of [2, 37]) {
            const paged = pagedGallery(f, { token, offset, limit, maxReads });
            expect(paged.items).toEqual(whole.items);
            expect(paged.total).toBe(whole.total);
            if (paged.calls > 1) multiCall++;
          }
        }
      }
    }
    // The bound really cut scans into several calls.
    expect(multiCall).toBeGreaterThan(20);
  });

  it('stop on a time budget as exactly as on a read count (maxMs 0: one read a call)', () => {
    for (const f of [3, 50]) {
      const whole = gallery(lib, config, f, { token: 14, limit: 40 });
      const paged = pagedGallery(f, { token: 14, limit: 40, maxMs: 0 });
      expect(paged.items).toEqual(whole.items);
      expect(paged.total).toBe(whole.total);
      // One read a call: as many calls as maxReads 1 makes.
      expect(paged.calls).toBe(pagedGallery(f, { token: 14, limit: 40, maxReads: 1 }).calls);
      expect(paged.calls).toBeGreaterThan(5);
    }
  });

  it('answers items before the scan is over, and refuses a cursor of another request', () => {
    const f = 0;
    const first = gallery(lib, config, f, { token: 9, limit: 24, maxReads: 40 });
    expect(first.cursor).toBeDefined();
    expect(() => gallery(lib, config, f, { token: 10, limit: 24, maxReads: 40, cursor: first.cursor! })).toThrow(/another request/);
    expect(() => gallery(lib, config, f, { token: 9, limit: 24, cursor: 'nonsense' })).toThrow(/cursor/);
    // Some call answers items while a cursor remains: results arrive page by page.
    let cursor: string | undefined = first.cursor;
    let early = first.items.length;
    while (cursor && early === 0) {
      const g = gallery(lib, config, f, { token: 9, limit: 24, maxReads: 40, cursor });
      if (g.cursor) early += g.items.length;
      cursor = g.cursor;
    }
    expect(early).toBeGreaterThan(0);
  });
});

/** A region query's definition, image by image (activation order). */
function bruteRegion(q: FeatureQuery): QueryHit[] {
  const region = new Set(q.tokens);
  const out: QueryHit[] = [];
  for (const [id, c] of codes) {
    const acts = maxPerFeature(c, region);
    const fire = (t: { feature: number; minAct?: number }) => (acts.get(t.feature)?.act ?? 0) > 0 && (acts.get(t.feature)?.act ?? 0) >= (t.minAct ?? 0);
    if (!(q.all ?? []).every(fire)) continue;
    const img = lib.imageById(id)!;
    const positive = (q.all ?? []).filter(fire);
    out.push({
      file: img.path, imageId: id, date: img.capturedAt ?? img.mtimeMs,
      score: positive.reduce((s, t) => s + acts.get(t.feature)!.act, 0),
      features: positive.map((t) => ({ feature: t.feature, act: acts.get(t.feature)!.act, token: acts.get(t.feature)!.token })),
    });
  }
  return out.sort((a, b) => b.score - a.score || a.imageId - b.imageId);
}

function pagedQuery(q: FeatureQuery): { items: QueryHit[]; total: number | null; calls: number } {
  const items: QueryHit[] = [];
  let cursor: string | undefined;
  for (let calls = 1; ; calls++) {
    const r = queryImages(lib, config, { ...q, ...(cursor ? { cursor } : {}) });
    items.push(...r.items);
    if (r.cursor === undefined) return { items, total: r.total, calls };
    expect(r.total).toBeNull();
    cursor = r.cursor;
    if (calls > 10_000) throw new Error('the scan does not end');
  }
}

describe('bounded region queries', () => {
  // SYNTH: CLS + a 4 x 4 patch grid; a quarter is 2 x 2 patches.
  const quarter = [1, 2, 5, 6];
  const cases: [string, FeatureQuery][] = [
    ['2 features in a quarter', { all: [{ feature: 2 }, { feature: 11 }], tokens: quarter }],
    ['3 features in a few patches', { all: [{ feature: 0 }, { feature: 5 }, { feature: 11 }], tokens: [1, 2, 6, 11, 16] }],
    ['with a minimum', { all: [{ feature: 2, minAct: 2 }, { feature: 5 }], tokens: quarter }],
    ['by date', { all: [{ feature: 2 }, { feature: 5 }], tokens: quarter, sort: 'date' }],
    ['with NOT', { all: [{ feature: 2 }], not: [{ feature: 5 }], tokens: [1, 2, 3, 5, 6, 7] }],
  ];

  it.each(cases)('%s: every call together gives exactly the unbounded page', (_name, q) => {
    if (!q.not && !q.sort) {
      const want = bruteRegion(q);
      expect(want.length).toBeGreaterThan(5);
      expect(queryImages(lib, config, { ...q, limit: 10_000 }).items).toEqual(want);
    }
    let multiCall = 0;
    for (const [offset, limit] of [[0, 24], [3, 5], [0, 10_000]] as const) {
      const whole = queryImages(lib, config, { ...q, offset, limit });
      expect(whole.cursor).toBeUndefined();
      for (const maxReads of [1, 50]) {
        const paged = pagedQuery({ ...q, offset, limit, maxReads });
        expect(paged.items).toEqual(whole.items);
        expect(paged.total).toBe(whole.total);
        if (paged.calls > 1) multiCall++;
      }
    }
    expect(multiCall).toBeGreaterThan(0);
  });

  it('stop on a time budget as exactly as on a read count (maxMs 0: one read a call)', () => {
    const q = cases[0]![1];
    const whole = queryImages(lib, config, { ...q, limit: 24 });
    const paged = pagedQuery({ ...q, limit: 24, maxMs: 0 });
    expect(paged.items).toEqual(whole.items);
    expect(paged.total).toBe(whole.total);
    expect(paged.calls).toBe(pagedQuery({ ...q, limit: 24, maxReads: 1 }).calls);
    expect(paged.calls).toBeGreaterThan(1);
  });

  it('refuses a cursor of another query', () => {
    const q = cases[0]![1];
    const first = queryImages(lib, config, { ...q, limit: 24, maxReads: 1 });
    expect(first.cursor).toBeDefined();
    expect(() => queryImages(lib, config, { ...q, limit: 25, cursor: first.cursor! })).toThrow(/another query/);
  });
});
