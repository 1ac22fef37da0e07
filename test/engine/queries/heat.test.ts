import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { featureHeat } from '../../../main/engine/queries/heat.js';
import { Library, type ConfigRow, type WritableLibrary } from '../../../main/engine/store/library.js';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../../../main/engine/formats/float16.js';
import type { SparseCodes } from '../../../main/engine/sae/sparse-codes.js';
import { addFixturePhotos, encodeFixturePhotos, tempDir } from '../store/helpers.js';

let lib: WritableLibrary;
let config: ConfigRow;
/** The encoder's own output, before the store: the brute-force side. */
const encoded = new Map<number, SparseCodes>();

beforeAll(async () => {
  lib = Library.open(path.join(await tempDir('clipscope-heat-'), 'library.sqlite'));
  const r = await encodeFixturePhotos();
  config = lib.ensureConfig(r.config);
  addFixturePhotos(lib, config, r.photos).forEach((id, i) => encoded.set(id, r.photos[i]!.image.codes!));
});
afterAll(() => lib?.close());

function brute(codes: SparseCodes, feature: number): { tokens: number[]; values: number[] } {
  const tokens: number[] = [];
  const values: number[] = [];
  for (let t = 0; t + 1 < codes.offsets.length; t++) {
    for (let i = codes.offsets[t]!; i < codes.offsets[t + 1]!; i++) {
      if (codes.idx[i] === feature) {
        tokens.push(t);
        values.push(float16BitsToFloat32(float32ToFloat16Bits(codes.val[i]!)));
      }
    }
  }
  return { tokens, values };
}

describe('featureHeat', () => {
  it("gives each photo's tokens and values of a feature as the encoder produced them (float16), and its peak", () => {
    const ids = [...encoded.keys()];
    // Features that fire in these photos, on CLS and on patches.
    const features = [...new Set(ids.flatMap((id) => Array.from(encoded.get(id)!.idx.slice(0, 40))))].slice(0, 25);
    let nonEmpty = 0;
    for (const f of features) {
      const heat = featureHeat(lib, config, f, ids);
      expect(heat.map((h) => h.imageId)).toEqual(ids);
      for (const h of heat) {
        const b = brute(encoded.get(h.imageId)!, f);
        expect(h.tokens).toEqual(b.tokens);
        expect(h.values).toEqual(b.values);
        if (b.tokens.length === 0) expect(h.peak).toBeNull();
        else {
          nonEmpty++;
          expect(h.values[h.tokens.indexOf(h.peak!)]).toBe(Math.max(...b.values));
        }
      }
    }
    expect(nonEmpty).toBeGreaterThan(10);
  });

  it('answers an image without results with no tokens, and refuses a feature out of range', () => {
    expect(featureHeat(lib, config, 3, [999_999])).toEqual([{ imageId: 999_999, tokens: [], values: [], peak: null }]);
    expect(() => featureHeat(lib, config, config.nFeatures, [1])).toThrow(/out of range/);
  });
});
