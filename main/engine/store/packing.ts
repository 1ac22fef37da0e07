/**
 * Binary layouts of what the store keeps per image and config: every token's latents in one blob,
 * the image embedding, the per-token reconstruction error. All little-endian (the typed-array
 * views below assume a little-endian host, which every platform Node and Electron ship for is).
 *
 * Latents blob, version 1:
 *   byte 0      u8   format version (1)
 *   byte 1      u8   flags: bit 0 = indices are u32 (else u16: nFeatures <= 65536),
 *                          bit 1 = rows have different lengths (an offsets table follows)
 *   bytes 2-3   u16  entries per token when every row has the same length (TopK), else 0
 *   bytes 4-7   u32  token count T
 *   [variable]  u32  offsets[T + 1]   (token t = entries offsets[t] .. offsets[t+1])
 *               u16 | u32 indices[n]
 *               u16  values[n]        float16 bit patterns
 * Rows keep the encoder's order (largest value first) and every kept value, zero and negative
 * ones included (CLIP-Scope's TopK keeps raw pre-activations). 257 x 32 latents -> 32,904 bytes.
 */
import { float16ToFloat32Array, float32ToFloat16Array, float32ToFloat16Bits } from '../formats/float16.js';
import type { SparseCodes } from '../sae/sparse-codes.js';

const FORMAT = 1;
const FLAG_U32 = 1;
const FLAG_VARIABLE = 2;
const HEADER = 8;

export class CorruptBlobError extends Error {
  override readonly name = 'CorruptBlobError';
}

/** Read-only views into a latents blob, without converting the values. */
export interface LatentsView {
  readonly tokens: number;
  /** Entries of token t: start(t) .. start(t + 1). */
  start(t: number): number;
  readonly idx: Uint16Array | Uint32Array;
  /** float16 bit patterns. */
  readonly valBits: Uint16Array;
}

export function packLatents(codes: SparseCodes, nFeatures: number): Buffer {
  const tokens = codes.offsets.length - 1;
  const n = codes.offsets[tokens]!;
  if (codes.offsets[0] !== 0 || codes.idx.length < n || codes.val.length < n) throw new RangeError('packLatents: inconsistent sparse codes');
  const k = tokens > 0 ? codes.offsets[1]! - codes.offsets[0]! : 0;
  let fixed = k <= 0xffff;
  for (let t = 0; fixed && t < tokens; t++) fixed = codes.offsets[t + 1]! - codes.offsets[t]! === k;
  const wide = nFeatures > 0x10000;
  const idxBytes = wide ? 4 : 2;
  const offsetsBytes = fixed ? 0 : 4 * (tokens + 1);
  const buf = Buffer.alloc(HEADER + offsetsBytes + n * idxBytes + n * 2);
  buf.writeUInt8(FORMAT, 0);
  buf.writeUInt8((wide ? FLAG_U32 : 0) | (fixed ? 0 : FLAG_VARIABLE), 1);
  buf.writeUInt16LE(fixed ? k : 0, 2);
  buf.writeUInt32LE(tokens, 4);
  const ab = buf.buffer;
  const base = buf.byteOffset; // Buffer.alloc never uses the shared pool: base is 0, aligned
  if (!fixed) new Uint32Array(ab, base + HEADER, tokens + 1).set(codes.offsets);
  const idxAt = base + HEADER + offsetsBytes;
  const idx = wide ? new Uint32Array(ab, idxAt, n) : new Uint16Array(ab, idxAt, n);
  for (let i = 0; i < n; i++) {
    const f = codes.idx[i]!;
    if (f < 0 || f >= nFeatures) throw new RangeError(`packLatents: feature ${f} is outside 0..${nFeatures - 1}`);
    idx[i] = f;
  }
  float32ToFloat16Array(codes.val.subarray(0, n), new Uint16Array(ab, idxAt + n * idxBytes, n));
  return buf;
}

/** Typed views need aligned offsets: a blob from SQLite owns its memory, but copy if not aligned. */
function aligned(buf: Uint8Array): Uint8Array {
  return buf.byteOffset % 4 === 0 ? buf : Uint8Array.from(buf);
}

export function viewLatents(blob: Uint8Array): LatentsView {
  const buf = aligned(blob);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.byteLength < HEADER || dv.getUint8(0) !== FORMAT) throw new CorruptBlobError('latents blob: unknown format');
  const flags = dv.getUint8(1);
  const k = dv.getUint16(2, true);
  const tokens = dv.getUint32(4, true);
  const variable = (flags & FLAG_VARIABLE) !== 0;
  const idxBytes = flags & FLAG_U32 ? 4 : 2;
  const offsetsBytes = variable ? 4 * (tokens + 1) : 0;
  if (buf.byteLength < HEADER + offsetsBytes) throw new CorruptBlobError('latents blob: truncated');
  const offsets = variable ? new Uint32Array(buf.buffer, buf.byteOffset + HEADER, tokens + 1) : null;
  const n = offsets ? offsets[tokens]! : tokens * k;
  if (buf.byteLength !== HEADER + offsetsBytes + n * (idxBytes + 2)) throw new CorruptBlobError('latents blob: wrong size');
  const idxAt = buf.byteOffset + HEADER + offsetsBytes;
  return {
    tokens,
    start: offsets ? (t) => offsets[t]! : (t) => t * k,
    idx: idxBytes === 4 ? new Uint32Array(buf.buffer, idxAt, n) : new Uint16Array(buf.buffer, idxAt, n),
    valBits: new Uint16Array(buf.buffer, idxAt + n * idxBytes, n),
  };
}

export function unpackLatents(blob: Uint8Array): SparseCodes {
  const v = viewLatents(blob);
  const offsets = new Uint32Array(v.tokens + 1);
  for (let t = 0; t <= v.tokens; t++) offsets[t] = v.start(t);
  return { offsets, idx: Int32Array.from(v.idx), val: float16ToFloat32Array(v.valBits) };
}

/** A float vector as float16 (the image embedding). */
export function packFloat16(values: Float32Array): Buffer {
  const out = Buffer.alloc(values.length * 2);
  float32ToFloat16Array(values, new Uint16Array(out.buffer, out.byteOffset, values.length));
  return out;
}

export function unpackFloat16(blob: Uint8Array, out?: Float32Array): Float32Array {
  const buf = aligned(blob);
  return float16ToFloat32Array(new Uint16Array(buf.buffer, buf.byteOffset, buf.byteLength >> 1), out);
}

/**
 * Per-token SSE as float16 of its square root: a token's SSE can pass float16's maximum (65504)
 * on large residual streams, its root cannot; the relative error stays below 1e-3.
 */
export function packSse(sse: ArrayLike<number>): Buffer {
  const out = Buffer.alloc(sse.length * 2);
  for (let t = 0; t < sse.length; t++) out.writeUInt16LE(float32ToFloat16Bits(Math.sqrt(Math.max(0, sse[t]!))), t * 2);
  return out;
}

export function unpackSse(blob: Uint8Array): Float64Array {
  const roots = unpackFloat16(blob);
  return Float64Array.from(roots, (r) => r * r);
}

/** A positive float16 bit pattern: "active" in CLIP-Scope's sense (latent > 0; +inf counts, NaN does not). */
export function isActiveBits(h: number): boolean {
  return h > 0 && h <= 0x7c00;
}
