/**
 * Binary layouts of what the store keeps per image and config: every token's latents in one blob,
 * the image embedding, the per-token reconstruction error. All little-endian (the typed-array
 * views below assume a little-endian host, which every platform Node and Electron ship for is).
 *
 * The latents blob is most of a library's size, so it is written compactly (version 2), yet
 * decodes exactly: the same feature ids and the same float16 values, in the encoder's order.
 *   byte 0      u8   format version (2)
 *   byte 1      u8   flags: bit 0 = ids through the image's dictionary, bit 1 = rows of different lengths
 *   bytes 2-3   u16  entries per token when every row has the same length (TopK), else 0
 *   bytes 4-7   u32  token count T
 *   then a bit stream (store/bits.ts):
 *     rows of different lengths: u5 r, T lengths Rice(r)
 *     dictionary: u32 D, u5 r, the image's D distinct features ascending as gaps Rice(r); every
 *       entry's feature as its position in the dictionary, in bitsFor(D - 1) bits
 *     else: u6 w, every entry's feature in w bits
 *     per non-empty row: u4 r, the first value's key in 16 bits, then the gaps between
 *       consecutive keys Rice(r); r = 15: every key in 16 bits (a row not sorted largest first)
 * A key is the float16 bit pattern mapped so that keys order like the values: rows sorted by
 * value then have small non-negative gaps. An image fires ~1,000 distinct features over its
 * 257 x 32 latents, so its ids need ~10 bits rather than 16, and its values ~9 bits: ~21 KB
 * instead of version 1's 32.9 KB. Rows keep every kept value, zero and negative ones included
 * (CLIP-Scope's TopK keeps raw pre-activations).
 *
 * Version 1 (libraries written before it) is still read: the header above with flags bit 0 =
 * u32 ids; u32 offsets[T + 1] when rows differ in length; u16 | u32 ids[n]; u16 values[n].
 */
import { float16ToFloat32Array, float32ToFloat16Array, float32ToFloat16Bits } from '../formats/float16.js';
import type { SparseCodes } from '../sae/sparse-codes.js';
import { bestRice, BitReader, BitWriter, bitsFor } from './bits.js';

const FORMAT_V1 = 1;
const FORMAT_V2 = 2;
const V1_U32 = 1;
const FLAG_DICTIONARY = 1;
const FLAG_VARIABLE = 2;
const HEADER = 8;
const ROW_RAW = 15;
const MAX_TOKENS = 1 << 20;

export class CorruptBlobError extends Error {
  override readonly name = 'CorruptBlobError';
}

/** Read-only views of a latents blob's entries. */
export interface LatentsView {
  readonly tokens: number;
  /** Entries of token t: start(t) .. start(t + 1). */
  start(t: number): number;
  readonly idx: Uint16Array | Uint32Array;
  /** float16 bit patterns. */
  readonly valBits: Uint16Array;
}

/** float16 bits -> a key that orders like the value (and back). */
const toKey = (h: number): number => (h & 0x8000 ? 0x7fff - (h & 0x7fff) : h | 0x8000);
const fromKey = (key: number): number => (key & 0x8000 ? key & 0x7fff : (0x7fff - key) | 0x8000);

function rowLengths(codes: SparseCodes, tokens: number): { k: number; fixed: boolean } {
  const k = tokens > 0 ? codes.offsets[1]! - codes.offsets[0]! : 0;
  let fixed = k <= 0xffff;
  for (let t = 0; fixed && t < tokens; t++) fixed = codes.offsets[t + 1]! - codes.offsets[t]! === k;
  return { k, fixed };
}

let positions = new Int32Array(0);

/** A scratch feature -> dictionary position table, reused across blobs (65,536 features: 256 KB). */
function positionTable(size: number): Int32Array {
  if (positions.length < size) positions = new Int32Array(Math.max(size, 2 * positions.length));
  return positions;
}

function writeIds(w: BitWriter, idx: ArrayLike<number>, n: number, nFeatures: number): boolean {
  // The distinct features, without sorting all n ids: mark each in the table (-1 = seen).
  let maxF = 0;
  for (let i = 0; i < n; i++) maxF = Math.max(maxF, idx[i]!);
  const position = positionTable(maxF + 1);
  const found: number[] = [];
  for (let i = 0; i < n; i++) {
    const f = idx[i]!;
    if (position[f] !== -1) {
      position[f] = -1;
      found.push(f);
    }
  }
  const dict = Uint32Array.from(found).sort();
  dict.forEach((f, i) => (position[f] = i));
  const gaps = Array.from(dict, (f, i) => f - (i === 0 ? 0 : dict[i - 1]! + 1));
  const rice = bestRice(gaps, 0, gaps.length, 24);
  const posBits = bitsFor(dict.length - 1);
  const rawBits = bitsFor(nFeatures - 1);
  if (32 + 5 + rice.bits + n * posBits >= 6 + n * rawBits) {
    w.write(rawBits, 6);
    for (let i = 0; i < n; i++) w.writeWide(idx[i]!, rawBits);
    return false;
  }
  w.writeWide(dict.length, 32);
  w.write(rice.r, 5);
  for (const g of gaps) w.rice(g, rice.r);
  for (let i = 0; i < n; i++) w.writeWide(position[idx[i]!]!, posBits);
  return true;
}

function writeValues(w: BitWriter, bits: Uint16Array, offsets: ArrayLike<number>, tokens: number): void {
  const keys = bits.map(toKey);
  const gaps = new Int32Array(bits.length);
  for (let t = 0; t < tokens; t++) {
    const start = offsets[t]!;
    const end = offsets[t + 1]!;
    if (end === start) continue;
    let sorted = true;
    for (let j = start + 1; j < end; j++) {
      gaps[j] = keys[j - 1]! - keys[j]!;
      if (gaps[j]! < 0) sorted = false;
    }
    const rice = sorted ? bestRice(gaps, start + 1, end, 14) : { r: ROW_RAW, bits: Infinity };
    const r = rice.bits < 16 * (end - start - 1) ? rice.r : ROW_RAW;
    w.write(r, 4);
    w.write(keys[start]!, 16);
    for (let j = start + 1; j < end; j++) {
      if (r === ROW_RAW) w.write(keys[j]!, 16);
      else w.rice(gaps[j]!, r);
    }
  }
}

export function packLatents(codes: SparseCodes, nFeatures: number): Buffer {
  const tokens = codes.offsets.length - 1;
  const n = codes.offsets[tokens]!;
  if (codes.offsets[0] !== 0 || codes.idx.length < n || codes.val.length < n) throw new RangeError('packLatents: inconsistent sparse codes');
  for (let i = 0; i < n; i++) {
    const f = codes.idx[i]!;
    if (f < 0 || f >= nFeatures) throw new RangeError(`packLatents: feature ${f} is outside 0..${nFeatures - 1}`);
  }
  const { k, fixed } = rowLengths(codes, tokens);
  const w = new BitWriter(n * 3);
  if (!fixed) {
    const lengths = Array.from({ length: tokens }, (_, t) => codes.offsets[t + 1]! - codes.offsets[t]!);
    const rice = bestRice(lengths, 0, tokens, 24);
    w.write(rice.r, 5);
    for (const len of lengths) w.rice(len, rice.r);
  }
  const dictionary = writeIds(w, codes.idx, n, nFeatures);
  writeValues(w, float32ToFloat16Array(codes.val.subarray(0, n)), codes.offsets, tokens);
  const body = w.finish();
  const buf = Buffer.alloc(HEADER + body.length);
  buf.writeUInt8(FORMAT_V2, 0);
  buf.writeUInt8((dictionary ? FLAG_DICTIONARY : 0) | (fixed ? 0 : FLAG_VARIABLE), 1);
  buf.writeUInt16LE(fixed ? k : 0, 2);
  buf.writeUInt32LE(tokens, 4);
  buf.set(body, HEADER);
  return buf;
}

/** Typed views need aligned offsets: a blob from SQLite owns its memory, but copy if not aligned. */
function aligned(buf: Uint8Array): Uint8Array {
  return buf.byteOffset % 4 === 0 ? buf : Uint8Array.from(buf);
}

function viewV1(buf: Uint8Array, flags: number, k: number, tokens: number): LatentsView {
  const variable = (flags & FLAG_VARIABLE) !== 0;
  const idxBytes = flags & V1_U32 ? 4 : 2;
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

function viewV2(buf: Uint8Array, flags: number, k: number, tokens: number): LatentsView {
  const corrupt = (why: string): never => {
    throw new CorruptBlobError(`latents blob: ${why}`);
  };
  const rd = new BitReader(buf, HEADER, () => corrupt('truncated'));
  const offsets = new Uint32Array(tokens + 1);
  if (flags & FLAG_VARIABLE) {
    const r = rd.read(5);
    for (let t = 0; t < tokens; t++) offsets[t + 1] = offsets[t]! + rd.rice(r);
  } else {
    for (let t = 0; t < tokens; t++) offsets[t + 1] = (t + 1) * k;
  }
  const n = offsets[tokens]!;
  // Every entry takes at least one bit for its value beyond the first of its row.
  if (n > buf.byteLength * 8 + tokens) corrupt('wrong size');
  let dict: Uint32Array | null = null;
  let idBits: number;
  if (flags & FLAG_DICTIONARY) {
    const d = rd.readWide(32);
    if (d === 0 || d > n) corrupt('bad dictionary');
    const r = rd.read(5);
    dict = new Uint32Array(d);
    for (let i = 0, prev = -1; i < d; i++) dict[i] = prev = prev + 1 + rd.rice(r);
    idBits = bitsFor(d - 1);
  } else {
    idBits = rd.read(6);
  }
  const maxId = dict ? dict[dict.length - 1]! : 2 ** idBits - 1;
  const raw = new Uint32Array(n);
  if (idBits > 24) {
    for (let i = 0; i < n; i++) raw[i] = rd.readWide(idBits);
  } else {
    rd.readMany(raw, 0, n, idBits);
  }
  if (dict) {
    const d = dict.length;
    for (let i = 0; i < n; i++) {
      const v = raw[i]!;
      if (v >= d) corrupt('bad feature');
      raw[i] = dict[v]!;
    }
  }
  const idx = maxId > 0xffff ? raw : new Uint16Array(raw);
  const valBits = new Uint16Array(n);
  let gaps = new Int32Array(64);
  for (let t = 0; t < tokens; t++) {
    const start = offsets[t]!;
    const end = offsets[t + 1]!;
    if (end === start) continue;
    const r = rd.read(4);
    let key = rd.read(16);
    valBits[start] = fromKey(key);
    if (r === ROW_RAW) {
      for (let j = start + 1; j < end; j++) valBits[j] = fromKey(rd.read(16));
      continue;
    }
    if (gaps.length < end - start) gaps = new Int32Array(end - start);
    rd.riceMany(gaps, 0, end - start - 1, r);
    for (let j = start + 1; j < end; j++) {
      key -= gaps[j - start - 1]!;
      if (key < 0) corrupt('bad value');
      valBits[j] = fromKey(key);
    }
  }
  if (!rd.atEnd()) corrupt('wrong size');
  return { tokens, start: (t) => offsets[t]!, idx, valBits };
}

export function viewLatents(blob: Uint8Array): LatentsView {
  const buf = aligned(blob);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const version = buf.byteLength < HEADER ? 0 : dv.getUint8(0);
  if (version !== FORMAT_V1 && version !== FORMAT_V2) throw new CorruptBlobError('latents blob: unknown format');
  const flags = dv.getUint8(1);
  const k = dv.getUint16(2, true);
  const tokens = dv.getUint32(4, true);
  // No image has millions of tokens: a corrupt count must not allocate gigabytes.
  if (tokens > MAX_TOKENS) throw new CorruptBlobError('latents blob: implausible token count');
  return version === FORMAT_V1 ? viewV1(buf, flags, k, tokens) : viewV2(buf, flags, k, tokens);
}

export function unpackLatents(blob: Uint8Array): SparseCodes {
  return codesOfView(viewLatents(blob));
}

export function codesOfView(v: LatentsView): SparseCodes {
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
