import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { codesFromDense, type SparseCodes } from '../../../main/engine/sae/sparse-codes.js';
import { CorruptBlobError, latentsRows, packLatents, packLatentsWithView, unpackLatents, viewLatents } from '../../../main/engine/store/latents-blob.js';
import { packFloat16, packSse, unpackFloat16, unpackSse } from '../../../main/engine/store/packing.js';
import { deriveEntries, filterPosting, mergePostings, type Posting } from '../../../main/engine/store/entries.js';
import { float16BitsToFloat32, float32ToFloat16Array, float32ToFloat16Bits } from '../../../main/engine/formats/float16.js';
import { encodeFixturePhotos, maxPerFeature, rng, stored, syntheticCodes, type EncodedPhoto } from './helpers.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/store/', import.meta.url));

/** float16 keeps 11 significant bits: the rounding error is at most 2^-11 relative (or 2^-25 absolute near 0). */
function expectHalfClose(got: Float32Array, want: Float32Array): void {
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) - Math.max(Math.abs(want[i]!) * 2 ** -11, 2 ** -25));
  expect(worst).toBeLessThanOrEqual(0);
}

/** Row-at-a-time reads give every row exactly as the whole-blob view does, in any order. */
function expectRowsMatch(blob: Uint8Array): void {
  const v = viewLatents(blob);
  const rows = latentsRows(blob);
  expect(rows.tokens).toBe(v.tokens);
  const ids = new Uint32Array(rows.maxRow);
  const vals = new Uint16Array(rows.maxRow);
  const order = Array.from({ length: v.tokens }, (_, t) => (t * 7919) % v.tokens);
  for (const t of new Set(order)) {
    const from = v.start(t);
    const to = v.start(t + 1);
    expect(rows.rowIds(t, ids)).toBe(to - from);
    expect(Array.from(ids.subarray(0, to - from))).toEqual(Array.from(v.idx.subarray(from, to)));
    expect(rows.rowValues(t, vals)).toBe(to - from);
    expect(Array.from(vals.subarray(0, to - from))).toEqual(Array.from(v.valBits.subarray(from, to)));
  }
  const present = new Set(v.idx);
  for (const f of present) expect(rows.mayHave(f)).toBe(true);
  const absent = [...Array(70_000).keys()].filter((f) => !present.has(f)).slice(0, 50);
  if (blob[0] === 2 && blob[1]! & 1) for (const f of absent) expect(rows.mayHave(f)).toBe(false);
  expect(() => rows.rowIds(v.tokens, ids)).toThrow(RangeError);
}

function expectRoundTrip(codes: SparseCodes, nFeatures: number): Buffer {
  const { blob, view } = packLatentsWithView(codes, nFeatures);
  expectRowsMatch(blob);
  // The writer's view (no decode) holds exactly what the blob decodes to.
  const decoded = viewLatents(blob);
  expect(view.tokens).toBe(decoded.tokens);
  expect(Array.from(view.idx)).toEqual(Array.from(decoded.idx));
  expect(view.valBits).toEqual(decoded.valBits);
  for (let t = 0; t <= view.tokens; t++) expect(view.start(t)).toBe(decoded.start(t));
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
      expect(blob.readUInt8(0)).toBe(2);
      // Exactly the float16 bit patterns, not only values within rounding.
      expect(viewLatents(blob).valBits).toEqual(float32ToFloat16Array(codes.val));
      // Version 1 took 4 bytes per latent (u16 id + float16 value).
      expect(blob.length).toBeLessThan(257 * 32 * 4 * 0.85);
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
  });

  it('keeps feature ids above 65,535', () => {
    const codes: SparseCodes = { offsets: Uint32Array.from([0, 3, 6]), idx: Int32Array.from([100_000, 70_000, 5, 65_536, 65_535, 0]), val: Float32Array.from([3, 2, 1, 6, 5, 4]) };
    expectRoundTrip(codes, 131_072);
    expect(viewLatents(packLatents(codes, 131_072)).idx).toBeInstanceOf(Uint32Array);
    expect(() => packLatents(codes, 65_536)).toThrow(/feature 100000 is outside 0..65535/);
  });

  it('writes ids through a dictionary only when that is smaller', () => {
    // ~1,000 distinct features of 65,536 over 257 x 32 latents: dictionary positions (10 bits).
    const many = syntheticCodes(rng(4), 257, 32, 65_536);
    expect(packLatents(many, 65_536).readUInt8(1) & 1).toBe(1);
    // Every feature of a 16-feature SAE distinct per row: the plain 4-bit ids win.
    const idx = Int32Array.from({ length: 64 }, (_, i) => (i * 5) % 16);
    const few: SparseCodes = { offsets: Uint32Array.from([0, 16, 32, 48, 64]), idx, val: Float32Array.from({ length: 64 }, (_, i) => 16 - (i % 16)) };
    const blob = expectRoundTrip(few, 16);
    expect(blob.readUInt8(1) & 1).toBe(0);
  });

  it('stores every float16 bit pattern exactly, rows in any order (ties, -0, infinities, NaN, unsorted)', () => {
    const val = Float32Array.from([Infinity, 7, 7, 0, -0, -3, -Infinity, 1e-8, 2, 2, 65_504, 5e-5, NaN, -1, 3, 1e6]);
    const codes: SparseCodes = { offsets: Uint32Array.from([0, 7, 16]), idx: Int32Array.from({ length: 16 }, (_, i) => i * 3), val };
    const v = viewLatents(packLatents(codes, 64));
    expect(v.valBits).toEqual(float32ToFloat16Array(val));
    expect(Array.from(v.idx)).toEqual(Array.from(codes.idx));
  });

  it('is smaller than version 1 even when an image fires ~3,000 distinct features', () => {
    const codes = syntheticCodes(rng(5), 257, 32, 65_536);
    const distinct = new Set(codes.idx).size;
    expect(distinct).toBeGreaterThan(3000);
    // Version 1: 8 + 257 * 32 * 4 = 32,904 bytes.
    expect(packLatents(codes, 65_536).length).toBeLessThan(32_904 * 0.85);
  });

  it('reads version 1 blobs (libraries written before version 2)', () => {
    const fixture = (name: string): Buffer => readFileSync(path.join(FIXTURES, name));
    for (const name of ['latents-v1-topk.bin', 'latents-v1-variable.bin', 'latents-v1-wide.bin']) expectRowsMatch(fixture(name));
    const topk = unpackLatents(fixture('latents-v1-topk.bin'));
    const want = syntheticCodes(rng(11), 17, 8, 300);
    expect(topk.offsets).toEqual(want.offsets);
    expect(topk.idx).toEqual(want.idx);
    expectHalfClose(topk.val, want.val);
    const latent = Float32Array.from({ length: 5 * 40 }, (_, i) => ((i * 7919) % 13) - 9 + (i % 5) * 0.37);
    const dense = codesFromDense(latent, 40);
    const variable = unpackLatents(fixture('latents-v1-variable.bin'));
    expect(variable.offsets).toEqual(dense.offsets);
    expect(variable.idx).toEqual(dense.idx);
    expectHalfClose(variable.val, dense.val);
    expect(Array.from(unpackLatents(fixture('latents-v1-wide.bin')).idx)).toEqual([100_000, 70_000, 5, 65_536, 65_535, 0]);
    // Re-packed as version 2: the same entries.
    const again = unpackLatents(packLatents(topk, 300));
    expect(again.idx).toEqual(topk.idx);
    expect(again.val).toEqual(topk.val);
  });

  it('refuses corrupt blobs', () => {
    const blob = packLatents(syntheticCodes(rng(2), 4, 3, 50), 50);
    expect(() => viewLatents(blob.subarray(0, blob.length - 2))).toThrow(CorruptBlobError);
    expect(() => viewLatents(Buffer.concat([blob, Buffer.alloc(3)]))).toThrow(/wrong size/);
    const wrongVersion = Buffer.from(blob);
    wrongVersion[0] = 9;
    expect(() => viewLatents(wrongVersion)).toThrow(/unknown format/);
    const hugeCount = Buffer.from(blob);
    hugeCount.writeUInt32LE(0xffffffff, 4);
    expect(() => viewLatents(hugeCount)).toThrow(/implausible token count/);
    const v1 = readFileSync(path.join(FIXTURES, 'latents-v1-topk.bin'));
    expect(() => viewLatents(v1.subarray(0, v1.length - 2))).toThrow(/wrong size/);
  });

  it('reports any damage to a blob as a CorruptBlobError or decodes it, never hangs or fails otherwise', () => {
    const r = rng(77);
    const blobs = [packLatents(syntheticCodes(rng(6), 40, 8, 65_536), 65_536), packLatents(syntheticCodes(rng(8), 12, 5, 40), 40)];
    let refused = 0;
    for (let i = 0; i < 600; i++) {
      const src = blobs[i % blobs.length]!;
      const bad = Buffer.from(src);
      const flips = 1 + Math.floor(r() * 4);
      for (let f = 0; f < flips; f++) {
        const at = Math.floor(r() * bad.length);
        bad[at] = bad[at]! ^ (1 << Math.floor(r() * 8));
      }
      const damaged = r() < 0.3 ? bad.subarray(0, Math.floor(r() * bad.length)) : bad;
      for (const read of [
        () => viewLatents(damaged),
        () => {
          const rows = latentsRows(damaged);
          const ids = new Uint32Array(rows.maxRow);
          const vals = new Uint16Array(rows.maxRow);
          for (let t = 0; t < Math.min(rows.tokens, 50); t++) {
            rows.rowIds(t, ids);
            rows.rowValues(t, vals);
          }
        },
      ]) {
        try {
          read();
        } catch (e) {
          expect(e).toBeInstanceOf(CorruptBlobError);
          refused++;
        }
      }
    }
    expect(refused).toBeGreaterThan(100);
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
