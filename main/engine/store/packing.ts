/**
 * Binary layouts of the small per-image values the store keeps: the image embedding and the
 * per-token reconstruction error (the latents have their own module, store/latents-blob.ts).
 * Little-endian, as every platform Node and Electron ship for is.
 */
import { float16ToFloat32Array, float32ToFloat16Array, float32ToFloat16Bits } from '../formats/float16.js';

/** Typed views need aligned offsets: a blob from SQLite owns its memory, but copy if not aligned. */
export function aligned(buf: Uint8Array): Uint8Array {
  return buf.byteOffset % 4 === 0 ? buf : Uint8Array.from(buf);
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
