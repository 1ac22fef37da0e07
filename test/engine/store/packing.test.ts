import { beforeAll, describe, expect, it } from 'vitest';
import { codesFromDense, type SparseCodes } from '../../../main/engine/sae/sparse-codes.js';
import {
  CorruptBlobError, packFloat16, packLatents, packSse, unpackFloat16, unpackLatents, unpackSse, viewLatents,
} from '../../../main/engine/store/packing.js';
import { deriveEntries, filterPosting, mergePostings, type Posting } from '../../../main/engine/store/entries.js';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../../../main/engine/formats/float16.js';
import { encodeFixturePhotos, maxPerFeature, rng, stored, syntheticCodes, type EncodedPhoto } from './helpers.js';

/** float16 keeps 11 significant bits: the rounding error is at most 2^-11 relative (or 2^-25 absolute near 0). */
function expectHalfClose(got: Float32Array, want: Float32Array): void {
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) - Math.max(Math.abs(want[i]!) * 2 ** -11, 2 ** -25));
  expect(worst).toBeLessThanOrEqual(0);
}

function expectRoundTrip(codes: SparseCodes, nFeatures: number): Buffer {
  const blob = packLatents(codes, nFeatures);
  const back = unpackLatents(blob);
  expect(back.offsets).toEqual(codes.offsets);
  expect(back.idx).toEqual(codes.idx);
  expectHalfClose(back.val, codes.val);
  // Rows keep the encoder's order: float16 rounding is monotonic, so largest first still holds.
  for (let t = 0; t + 1 < back.offsets.length; t++) {
    for (let j = back.offsets[t]! + 1; j < back.offsets[t + 1]!; j++) expect(back.val[j]!).toBeLessThanOrEqual(back.val[j - 1]!);
  }
  return blob;
}

describe('latents blob', () => {
  let photos: EncodedPhoto[];
  beforeAll(async () => {
    ({ photos } = await encodeFixturePhotos());
  });

  it('round-trips real encodes: indices exact, values within float16 rounding, order kept', () => {
    for (const p of photos) {
      const codes = p.image.codes!;
      const blob = expectRoundTrip(codes, 1024);
      // 257 tokens x 32 latents: an 8-byte header, u16 indices, float16 values.
      expect(blob.length).toBe(8 + 257 * 32 * 4);
    }
  });

  it('keeps zero and negative values (CLIP-Scope keeps raw top-k pre-activations)', () => {
    const codes = syntheticCodes(rng(1), 30, 8, 100);
    expect(Array.from(codes.val).some((v) => v < 0)).toBe(true);
    const back = unpackLatents(packLatents(codes, 100));
    for (let i = 0; i < codes.val.length; i++) expect(Math.sign(back.val[i]!)).toBe(Math.sign(codes.val[i]!));
  });

  it('stores variable-length rows (dense SAEs) with an offsets table', () => {
    const latent = Float32Array.from({ length: 5 * 40 }, (_, i) => ((i * 7919) % 13) - 9 + (i % 5) * 0.37);
    const codes = codesFromDense(latent, 40);
    const lengths = Array.from({ length: 5 }, (_, t) => codes.offsets[t + 1]! - codes.offsets[t]!);
    expect(new Set(lengths).size).toBeGreaterThan(1);
    const blob = expectRoundTrip(codes, 40);
    expect(blob.readUInt8(1) & 2).toBe(2);
    expect(blob.length).toBe(8 + 4 * 6 + codes.idx.length * 4);
  });

  it('switches to u32 indices above 65,536 features', () => {
    const codes: SparseCodes = { offsets: Uint32Array.from([0, 3, 6]), idx: Int32Array.from([100_000, 70_000, 5, 65_536, 65_535, 0]), val: Float32Array.from([3, 2, 1, 6, 5, 4]) };
    const blob = expectRoundTrip(codes, 131_072);
    expect(blob.readUInt8(1) & 1).toBe(1);
    expect(blob.length).toBe(8 + 6 * 6);
    expect(() => packLatents(codes, 65_536)).toThrow(/feature 100000 is outside 0..65535/);
  });

  it('refuses corrupt blobs', () => {
    const blob = packLatents(syntheticCodes(rng(2), 4, 3, 50), 50);
    expect(() => viewLatents(blob.subarray(0, blob.length - 2))).toThrow(CorruptBlobError);
    const wrongVersion = Buffer.from(blob);
    wrongVersion[0] = 9;
    expect(() => viewLatents(wrongVersion)).toThrow(/unknown format/);
  });

  it('packs embeddings as float16 and per-token SSE through its square root (no overflow past 65504)', () => {
    const emb = photos[0]!.image.embedding;
    expectHalfClose(unpackFloat16(packFloat16(emb)), emb);
    const sse = Float64Array.from([0, 1e-3, 12.5, 300, 70_000, 3e6]);
    const back = unpackSse(packSse(sse));
    for (let i = 0; i < sse.length; i++) expect(Math.abs(back[i]! - sse[i]!)).toBeLessThanOrEqual(sse[i]! * 2e-3 + 1e-12);
  });
});

describe('index entries derived from a blob', () => {
  it('pooled = max over tokens with its first token; cls = token 0, active values only', () => {
    const codes = stored(syntheticCodes(rng(3), 17, 6, 60), 60);
    const e = deriveEntries(viewLatents(packLatents(codes, 60)));
    const want = maxPerFeature(codes);
    expect(Array.from(e.pooled.feature)).toEqual([...want.keys()].sort((a, b) => a - b));
    e.pooled.feature.forEach((f, i) => {
      expect(float16BitsToFloat32(e.pooled.act[i]!)).toBe(want.get(f)!.act);
      expect(e.pooled.token[i]).toBe(want.get(f)!.token);
    });
    const cls = maxPerFeature(codes, new Set([0]));
    expect(Array.from(e.cls.feature)).toEqual([...cls.keys()].sort((a, b) => a - b));
  });

  it('merges and filters postings in (act desc, image asc) order', () => {
    const p = (rows: [number, number][]): Posting => ({
      n: rows.length, act: Uint16Array.from(rows, (r) => float32ToFloat16Bits(r[0])), offset: Uint16Array.from(rows, (r) => r[1]), token: Uint16Array.from(rows, (r) => r[1] % 7),
    });
    const m = mergePostings(p([[5, 3], [2, 1], [2, 9]]), p([[7, 0], [2, 4], [1, 2]]));
    expect(Array.from(m.offset)).toEqual([0, 3, 1, 4, 9, 2]);
    expect(Array.from(filterPosting(m, new Set([4, 0])).offset.subarray(0, 4))).toEqual([3, 1, 9, 2]);
  });
});
