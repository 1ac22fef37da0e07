/**
 * features.previews' engine query against brute force over the stored latents: per feature, the
 * histogram of its active token values in half-octave bins, and its strongest photos as a gallery
 * would list them; on real encodes of the fixture photos and on a synthetic library large enough
 * to have compacted postings beside recent rows.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { featurePreviews } from '../../../main/engine/queries/previews.js';
import { float32ToFloat16Bits } from '../../../main/engine/formats/float16.js';
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
  lib = Library.open(path.join(await tempDir('clipscope-previews-'), 'library.sqlite'));
  const { photos, config } = await encodeFixturePhotos();
  real = lib.ensureConfig(config);
  addFixturePhotos(lib, real, photos).forEach((id, i) => {
    realCodes.set(id, stored(photos[i]!.image.codes!, config.nFeatures));
    paths.set(id, photos[i]!.file);
  });
  // More features than the synthetic data uses: some are dead.
  synth = lib.ensureConfig({ ...SYNTH, nFeatures: 230 });
  synthCodes = addSyntheticImages(lib, synth, 700, 33, '/photos/synthetic', 200);
  for (const id of synthCodes.keys()) paths.set(id, lib.imageById(id)!.path);
  lib.refreshFeatureStats(real.id);
  lib.refreshFeatureStats(synth.id);
});
afterAll(() => lib?.close());

/** float16 bits -> value, written out here rather than taken from the engine's table. */
function halfToNumber(h: number): number {
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0x1f) return m ? NaN : Infinity;
  return e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15);
}

const binCounts = new WeakMap<Map<number, SparseCodes>, Map<number, Map<number, number>>>();

/** Brute force: active (> 0) token values of `feature` in bins of the top 6 bits of their float16 (half octaves). */
function bruteHistogram(all: Map<number, SparseCodes>, feature: number): { lo: number; hi: number; count: number }[] {
  let perFeature = binCounts.get(all);
  if (!perFeature) {
    // One pass over every stored latent, kept for the other features.
    perFeature = new Map();
    for (const codes of all.values()) {
      codes.idx.forEach((f, j) => {
        const v = codes.val[j]!;
        if (!(v > 0)) return;
        const bin = Math.min(float32ToFloat16Bits(v) >> 9, 61);
        const counts = perFeature!.get(f) ?? new Map<number, number>();
        counts.set(bin, (counts.get(bin) ?? 0) + 1);
        perFeature!.set(f, counts);
      });
    }
    binCounts.set(all, perFeature);
  }
  return [...(perFeature.get(feature) ?? new Map<number, number>()).entries()].sort((a, b) => a[0] - b[0])
    .map(([b, count]) => ({ lo: Math.fround(halfToNumber(b << 9)), hi: b === 61 ? 65504 : Math.fround(halfToNumber((b + 1) << 9)), count }));
}

function brute(all: Map<number, SparseCodes>, feature: number, thumbs: number) {
  return {
    feature,
    histogram: bruteHistogram(all, feature),
    top: bruteGallery(all, feature).slice(0, thumbs).map((r) => ({ file: paths.get(r.imageId)!, imageId: r.imageId, act: r.act, token: r.token })),
  };
}

describe('feature previews', () => {
  it('give every feature of real encodes its histogram and strongest photos, a page of 100 at a time', () => {
    let fired = 0;
    for (let start = 0; start < real.nFeatures; start += 100) {
      const page = Array.from({ length: Math.min(100, real.nFeatures - start) }, (_, i) => start + i);
      const got = featurePreviews(lib, real, page, 3);
      expect(got).toEqual(page.map((f) => brute(realCodes, f, 3)));
      fired += got.filter((p) => p.top.length > 1 && p.histogram.length > 1).length;
    }
    expect(fired).toBeGreaterThan(20);
  });

  it('match brute force on a large library (postings and recent rows), in the order asked, dead features empty', () => {
    const order = [199, 0, 3, 17, 120, 3, 225, 50, 1];
    const got = featurePreviews(lib, synth, order, 5);
    expect(got).toEqual(order.map((f) => brute(synthCodes, f, 5)));
    expect(got[0]!.top).toHaveLength(5);
    // Feature 0 fires in more photos than a posting's head holds: the top still comes from the head.
    expect(bruteGallery(synthCodes, 0).length).toBeGreaterThan(64);
    expect(got[6]).toEqual({ feature: 225, histogram: [], top: [] });
    expect(featurePreviews(lib, synth, [3], 0)).toEqual([{ feature: 3, histogram: bruteHistogram(synthCodes, 3), top: [] }]);
  });

  it('count each active token once: the histogram sums to the tokens where the feature fires', () => {
    for (const f of [0, 3, 42]) {
      const tokens = [...synthCodes.values()].reduce((s, c) => s + c.idx.filter((x, j) => x === f && c.val[j]! > 0).length, 0);
      expect(featurePreviews(lib, synth, [f])[0]!.histogram.reduce((s, b) => s + b.count, 0)).toBe(tokens);
    }
  });

  it('refuses a feature out of range, naming it', () => {
    expect(() => featurePreviews(lib, synth, [1, 230])).toThrow(/feature 230 is out of range: this SAE has features 0..229/);
  });
});
