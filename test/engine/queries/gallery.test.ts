import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gallery } from '../../../main/engine/queries/gallery.js';
import { Library, type ConfigRow, type WritableLibrary } from '../../../main/engine/store/library.js';
import type { SparseCodes } from '../../../main/engine/sae/sparse-codes.js';
import { addFixturePhotos, addSyntheticImages, bruteGallery, encodeFixturePhotos, stored, SYNTH, tempDir } from '../store/helpers.js';

let lib: WritableLibrary;
let real: ConfigRow;
let synth: ConfigRow;
const realCodes = new Map<number, SparseCodes>();
let synthCodes: Map<number, SparseCodes>;
const paths = new Map<number, string>();

beforeAll(async () => {
  const dir = await tempDir('clipscope-gallery-');
  lib = Library.open(path.join(dir, 'library.sqlite'));
  const { photos, config } = await encodeFixturePhotos();
  real = lib.ensureConfig(config);
  addFixturePhotos(lib, real, photos).forEach((id, i) => {
    realCodes.set(id, stored(photos[i]!.image.codes!, config.nFeatures));
    paths.set(id, photos[i]!.file);
  });
  // Enough synthetic images to fill postings (compacted) and leave recent rows.
  synth = lib.ensureConfig(SYNTH);
  synthCodes = addSyntheticImages(lib, synth, 700, 21);
  for (const id of synthCodes.keys()) paths.set(id, lib.imageById(id)!.path);
});
afterAll(() => lib?.close());

const expected = (rows: ReturnType<typeof bruteGallery>, token?: number) =>
  rows.map((r) => ({ file: paths.get(r.imageId)!, imageId: r.imageId, act: r.act, token: token ?? r.token }));

describe('gallery', () => {
  it('lists, for every feature of real encodes, the images by max activation with the argmax token (token=any)', () => {
    let checked = 0;
    for (let f = 0; f < real.nFeatures; f++) {
      const want = expected(bruteGallery(realCodes, f));
      const got = gallery(lib, real, f, { token: 'any', limit: 100 });
      expect(got.items).toEqual(want);
      expect(got.total).toBe(want.length);
      if (want.length > 1) checked++;
    }
    expect(checked).toBeGreaterThan(50);
  });

  it('lists CLS activations (token=cls and token=0 agree)', () => {
    for (let f = 0; f < real.nFeatures; f++) {
      const want = expected(bruteGallery(realCodes, f, new Set([0])), 0);
      expect(gallery(lib, real, f, { token: 'cls', limit: 100 }).items).toEqual(want);
      expect(gallery(lib, real, f, { token: 0, limit: 100 }).items).toEqual(want);
    }
  });

  it('orders a large library like a brute-force sort, page by page, for any, cls and a patch token', () => {
    for (const f of [0, 1, 3, 17, 50, 120, 199]) {
      const any = expected(bruteGallery(synthCodes, f));
      expect(any.length).toBeGreaterThan(0);
      if (f === 0) expect(any.length).toBeGreaterThan(2 * 64); // postings with a head and a tail
      expect(gallery(lib, synth, f, { limit: 1000 }).items).toEqual(any);
      // A first page reads only each posting's head (its 64 strongest entries).
      const page = gallery(lib, synth, f, { limit: 7, offset: 5 });
      expect(page.items).toEqual(any.slice(5, 12));
      expect(page.total).toBe(any.length);
      expect(gallery(lib, synth, f, { token: 'cls', limit: 1000 }).items).toEqual(expected(bruteGallery(synthCodes, f, new Set([0])), 0));
      const at9 = expected(bruteGallery(synthCodes, f, new Set([9])), 9);
      const full = gallery(lib, synth, f, { token: 9, limit: 1000 });
      expect(full.items).toEqual(at9);
      expect(full.total).toBe(at9.length);
      expect(gallery(lib, synth, f, { token: 9, limit: 4, offset: 2 }).items).toEqual(at9.slice(2, 6));
    }
  });

  it('samples activation quantiles (q = share of firing images at or below)', () => {
    const f = 3;
    const all = expected(bruteGallery(synthCodes, f));
    const g = gallery(lib, synth, f, { limit: 0, quantiles: [1, 0.5, 0], perQuantile: 2 });
    const n = all.length;
    expect(g.quantiles.map((q) => q.rank)).toEqual([0, Math.round(0.5 * (n - 1)), n - 1]);
    expect(g.quantiles[1]!.items).toEqual(all.slice(g.quantiles[1]!.rank, g.quantiles[1]!.rank + 2));
    expect(g.quantiles[2]!.items).toEqual(all.slice(n - 1));
  });

  it('refuses features and tokens out of range', () => {
    expect(() => gallery(lib, synth, 200)).toThrow(/feature 200 is out of range: this SAE has features 0..199/);
    expect(() => gallery(lib, synth, 1, { token: 17 })).toThrow(/token 17 is out of range: images have tokens 0..16/);
  });
});
