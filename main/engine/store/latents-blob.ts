/**
 * The latents blob: every token's latents of one image under one config, most of a library's
 * size. Written compactly (version 2) yet decoded exactly: the same feature ids and the same
 * float16 values, in the encoder's order (largest first), zero and negative values included
 * (CLIP-Scope's TopK keeps raw pre-activations). All little-endian.
 *
 *   byte 0      u8   format version (2)
 *   byte 1      u8   flags: bit 0 = ids through the image's dictionary, bit 1 = rows of different lengths
 *   bytes 2-3   u16  entries per token when every row has the same length (TopK), else 0
 *   bytes 4-7   u32  token count T
 *   bit stream A (store/bits.ts), padded to a byte:
 *     rows of different lengths: u5 r, T lengths Rice(r)
 *     dictionary: u32 D, u5 r, the image's D distinct features ascending as gaps Rice(r); every
 *       entry's feature as its position in the dictionary, in bitsFor(D - 1) bits
 *     else: u6 w, every entry's feature in w bits
 *     u5 w, then for every 8th row its bit offset in stream B, in w bits
 *   bit stream B, per non-empty row: u4 r, the first value's key in 16 bits, then the gaps
 *     between consecutive keys Rice(r); r = 15: every key in 16 bits (a row not sorted)
 * A key is the float16 bit pattern mapped so that keys order like the values: rows sorted by
 * value have small non-negative gaps. An image fires ~1,000 distinct features over its 257 x 32
 * latents, so an id takes ~10 bits rather than 16 and a value ~9: ~20 KB instead of 32.9 KB.
 * Ids have a fixed width and value rows have checkpoints, so one token's row is read without
 * decoding the rest (token galleries and region queries read a few rows of many images).
 *
 * Version 1 (libraries written before version 2) is still read: the same header with flags bit
 * 0 = u32 ids; u32 offsets[T + 1] when rows differ in length; u16 | u32 ids[n]; u16 values[n].
 */
import { float16ToFloat32Array, float32ToFloat16Array } from '../formats/float16.js';
import type { SparseCodes } from '../sae/sparse-codes.js';
import { bestRice, BitReader, BitWriter, bitsFor } from './bits.js';
import { aligned } from './packing.js';

const FORMAT_V1 = 1;
const FORMAT_V2 = 2;
const V1_U32 = 1;
const FLAG_DICTIONARY = 1;
const FLAG_VARIABLE = 2;
const HEADER = 8;
const ROW_RAW = 15;
const CHECKPOINT_EVERY = 8;
const MAX_TOKENS = 1 << 20;

export class CorruptBlobError extends Error {
  override readonly name = 'CorruptBlobError';
}

/** Every entry of a latents blob, decoded. */
export interface LatentsView {
  readonly tokens: number;
  /** Entries of token t: start(t) .. start(t + 1). */
  start(t: number): number;
  readonly idx: Uint16Array | Uint32Array;
  /** float16 bit patterns. */
  readonly valBits: Uint16Array;
}

/** One token's entries at a time, without decoding the whole blob. */
export interface LatentsRows {
  readonly tokens: number;
  /** False when the image has no entry for `feature` at any token (true may still mean none). */
  mayHave(feature: number): boolean;
  /** Token t's feature ids into `out` (which must hold the row); returns the row's length. */
  rowIds(t: number, out: Uint32Array): number;
  /** Token t's float16 value bits into `out`; returns the row's length. */
  rowValues(t: number, out: Uint16Array): number;
  /** The longest row (for sizing `out`). */
  readonly maxRow: number;
}

/** float16 bits -> a key that orders like the value (and back). */
const toKey = (h: number): number => (h & 0x8000 ? 0x7fff - (h & 0x7fff) : h | 0x8000);
const fromKey = (key: number): number => (key & 0x8000 ? key & 0x7fff : (0x7fff - key) | 0x8000);

// ------------------------------------------------------------------------------------- writing

let positions = new Int32Array(0);

/** A scratch feature -> dictionary position table, reused across blobs (65,536 features: 256 KB). */
function positionTable(size: number): Int32Array {
  if (positions.length < size) positions = new Int32Array(Math.max(size, 2 * positions.length));
  return positions;
}

/** The ids (all in 0..maxF) through a dictionary when that is smaller; returns whether it was. */
function writeIds(w: BitWriter, idx: ArrayLike<number>, n: number, maxF: number, nFeatures: number): boolean {
  // The distinct features without sorting all n ids: mark each in the table (-1 = seen).
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

/** Stream B; returns each row's start bit. */
function writeValues(w: BitWriter, bits: Uint16Array, offsets: ArrayLike<number>, tokens: number): number[] {
  const starts: number[] = [];
  const keys = bits.map(toKey);
  const gaps = new Int32Array(bits.length);
  for (let t = 0; t < tokens; t++) {
    starts.push(w.bitLength());
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
  return starts;
}

function rowLengths(codes: SparseCodes, tokens: number): { k: number; fixed: boolean } {
  const k = tokens > 0 ? codes.offsets[1]! - codes.offsets[0]! : 0;
  let fixed = k <= 0xffff;
  for (let t = 0; fixed && t < tokens; t++) fixed = codes.offsets[t + 1]! - codes.offsets[t]! === k;
  return { k, fixed };
}

export function packLatents(codes: SparseCodes, nFeatures: number): Buffer {
  return packLatentsWithView(codes, nFeatures).blob;
}

/**
 * The blob, and a view of exactly what it holds (float16 values) without decoding it again: the
 * writer derives the image's index entries from the view.
 */
export function packLatentsWithView(codes: SparseCodes, nFeatures: number): { blob: Buffer; view: LatentsView } {
  const tokens = codes.offsets.length - 1;
  const n = codes.offsets[tokens]!;
  if (codes.offsets[0] !== 0 || codes.idx.length < n || codes.val.length < n) throw new RangeError('packLatents: inconsistent sparse codes');
  if (tokens > MAX_TOKENS) throw new RangeError(`packLatents: ${tokens} tokens is more than ${MAX_TOKENS}`);
  let maxF = 0;
  for (let i = 0; i < n; i++) {
    const f = codes.idx[i]!;
    if (f < 0 || f >= nFeatures) throw new RangeError(`packLatents: feature ${f} is outside 0..${nFeatures - 1}`);
    if (f > maxF) maxF = f;
  }
  const { k, fixed } = rowLengths(codes, tokens);
  const a = new BitWriter(n * 2);
  if (!fixed) {
    const lengths = Array.from({ length: tokens }, (_, t) => codes.offsets[t + 1]! - codes.offsets[t]!);
    const rice = bestRice(lengths, 0, tokens, 24);
    a.write(rice.r, 5);
    for (const len of lengths) a.rice(len, rice.r);
  }
  const dictionary = writeIds(a, codes.idx, n, maxF, nFeatures);
  const b = new BitWriter(n * 2);
  const valBits = float32ToFloat16Array(codes.val.subarray(0, n));
  const starts = writeValues(b, valBits, codes.offsets, tokens);
  const checkpointBits = bitsFor(b.bitLength());
  a.write(checkpointBits, 5);
  for (let t = 0; t < tokens; t += CHECKPOINT_EVERY) a.writeWide(starts[t]!, checkpointBits);
  const streamA = a.finish();
  const streamB = b.finish();
  const buf = Buffer.alloc(HEADER + streamA.length + streamB.length);
  buf.writeUInt8(FORMAT_V2, 0);
  buf.writeUInt8((dictionary ? FLAG_DICTIONARY : 0) | (fixed ? 0 : FLAG_VARIABLE), 1);
  buf.writeUInt16LE(fixed ? k : 0, 2);
  buf.writeUInt32LE(tokens, 4);
  buf.set(streamA, HEADER);
  buf.set(streamB, HEADER + streamA.length);
  const idx = nFeatures > 0x10000 ? Uint32Array.from(codes.idx.subarray(0, n)) : Uint16Array.from(codes.idx.subarray(0, n));
  const offsets = Uint32Array.from(codes.offsets);
  return { blob: buf, view: { tokens, start: (t) => offsets[t]!, idx, valBits } };
}

// ------------------------------------------------------------------------------------- reading

const corrupt = (why: string): never => {
  throw new CorruptBlobError(`latents blob: ${why}`);
};

interface Header {
  readonly buf: Uint8Array;
  readonly version: number;
  readonly flags: number;
  readonly k: number;
  readonly tokens: number;
}

function readHeader(blob: Uint8Array): Header {
  const buf = aligned(blob);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const version = buf.byteLength < HEADER ? 0 : dv.getUint8(0);
  if (version !== FORMAT_V1 && version !== FORMAT_V2) corrupt('unknown format');
  const tokens = dv.getUint32(4, true);
  // No image has a million tokens: a corrupt count must not allocate gigabytes.
  if (tokens > MAX_TOKENS) corrupt('implausible token count');
  return { buf, version, flags: dv.getUint8(1), k: dv.getUint16(2, true), tokens };
}

function viewV1({ buf, flags, k, tokens }: Header): LatentsView {
  const variable = (flags & FLAG_VARIABLE) !== 0;
  const idxBytes = flags & V1_U32 ? 4 : 2;
  const offsetsBytes = variable ? 4 * (tokens + 1) : 0;
  if (buf.byteLength < HEADER + offsetsBytes) corrupt('truncated');
  const offsets = variable ? new Uint32Array(buf.buffer, buf.byteOffset + HEADER, tokens + 1) : null;
  const n = offsets ? offsets[tokens]! : tokens * k;
  if (buf.byteLength !== HEADER + offsetsBytes + n * (idxBytes + 2)) corrupt('wrong size');
  const idxAt = buf.byteOffset + HEADER + offsetsBytes;
  return {
    tokens,
    start: offsets ? (t) => offsets[t]! : (t) => t * k,
    idx: idxBytes === 4 ? new Uint32Array(buf.buffer, idxAt, n) : new Uint16Array(buf.buffer, idxAt, n),
    valBits: new Uint16Array(buf.buffer, idxAt + n * idxBytes, n),
  };
}

/** Stream A of a version 2 blob, parsed: where everything is. */
class V2Layout {
  readonly offsets: Uint32Array;
  readonly n: number;
  readonly dict: Uint32Array | null;
  readonly idBits: number;
  /** Bit position of the first id in the blob. */
  readonly idStart: number;
  readonly checkpoints: Float64Array;
  /** Bit position of stream B in the blob. */
  readonly valueStart: number;
  readonly maxRow: number;

  constructor(readonly h: Header) {
    const { buf, flags, k, tokens } = h;
    const rd = new BitReader(buf, HEADER, () => corrupt('truncated'));
    this.offsets = new Uint32Array(tokens + 1);
    let maxRow = 0;
    if (flags & FLAG_VARIABLE) {
      const r = rd.read(5);
      for (let t = 0; t < tokens; t++) {
        const len = rd.rice(r);
        maxRow = Math.max(maxRow, len);
        this.offsets[t + 1] = this.offsets[t]! + len;
      }
    } else {
      for (let t = 0; t < tokens; t++) this.offsets[t + 1] = (t + 1) * k;
      maxRow = tokens > 0 ? k : 0;
    }
    this.maxRow = maxRow;
    this.n = this.offsets[tokens]!;
    // Every value after a row's first takes at least one bit.
    if (this.n > buf.byteLength * 8 + tokens) corrupt('wrong size');
    if (flags & FLAG_DICTIONARY) {
      const d = rd.readWide(32);
      if (d === 0 || d > this.n) corrupt('bad dictionary');
      const r = rd.read(5);
      const gaps = new Int32Array(d);
      rd.riceMany(gaps, 0, d, r);
      const dict = new Uint32Array(d);
      let prev = -1;
      for (let i = 0; i < d; i++) dict[i] = prev = prev + 1 + gaps[i]!;
      if (prev > 0xffffffff) corrupt('bad dictionary');
      this.dict = dict;
      this.idBits = bitsFor(d - 1);
    } else {
      this.dict = null;
      this.idBits = rd.read(6);
    }
    this.idStart = rd.position();
    rd.seek(this.idStart + this.n * this.idBits);
    const cpBits = rd.read(5);
    this.checkpoints = new Float64Array(Math.ceil(tokens / CHECKPOINT_EVERY));
    for (let i = 0; i < this.checkpoints.length; i++) this.checkpoints[i] = rd.readWide(cpBits);
    this.valueStart = Math.ceil(rd.position() / 8) * 8;
    if (this.valueStart > buf.byteLength * 8) corrupt('truncated');
  }

  reader(bit: number): BitReader {
    const rd = new BitReader(this.h.buf, 0, () => corrupt('truncated'));
    rd.seek(bit);
    return rd;
  }

  /** ids positions [from, from + count) -> feature ids into out[at..]. */
  ids(rd: BitReader, out: Uint32Array, at: number, count: number): void {
    if (this.idBits > 24) {
      for (let i = 0; i < count; i++) out[at + i] = rd.readWide(this.idBits);
    } else {
      rd.readMany(out, at, count, this.idBits);
    }
    const dict = this.dict;
    if (!dict) return;
    const d = dict.length;
    for (let i = at; i < at + count; i++) {
      const v = out[i]!;
      if (v >= d) corrupt('bad feature');
      out[i] = dict[v]!;
    }
  }

  /** One row of stream B at rd's position into out[at..]. */
  values(rd: BitReader, out: Uint16Array, at: number, len: number, gaps: Int32Array): void {
    if (len === 0) return;
    const r = rd.read(4);
    let key = rd.read(16);
    out[at] = fromKey(key);
    if (r === ROW_RAW) {
      for (let j = 1; j < len; j++) out[at + j] = fromKey(rd.read(16));
      return;
    }
    rd.riceMany(gaps, 0, len - 1, r);
    for (let j = 1; j < len; j++) {
      key -= gaps[j - 1]!;
      if (key < 0) corrupt('bad value');
      out[at + j] = fromKey(key);
    }
  }
}

function viewV2(h: Header): LatentsView {
  const layout = new V2Layout(h);
  const { n, offsets } = layout;
  const tokens = h.tokens;
  const raw = new Uint32Array(n);
  layout.ids(layout.reader(layout.idStart), raw, 0, n);
  const maxId = layout.dict ? (layout.dict[layout.dict.length - 1] ?? 0) : 2 ** layout.idBits - 1;
  const idx = maxId > 0xffff ? raw : new Uint16Array(raw);
  const valBits = new Uint16Array(n);
  const gaps = new Int32Array(Math.max(1, layout.maxRow));
  const rd = layout.reader(layout.valueStart);
  for (let t = 0; t < tokens; t++) {
    if (t % CHECKPOINT_EVERY === 0 && rd.position() !== layout.valueStart + layout.checkpoints[t / CHECKPOINT_EVERY]!) corrupt('bad checkpoint');
    layout.values(rd, valBits, offsets[t]!, offsets[t + 1]! - offsets[t]!, gaps);
  }
  if (!rd.atEnd()) corrupt('wrong size');
  return { tokens, start: (t) => offsets[t]!, idx, valBits };
}

export function viewLatents(blob: Uint8Array): LatentsView {
  const h = readHeader(blob);
  return h.version === FORMAT_V1 ? viewV1(h) : viewV2(h);
}

function checkRow(t: number, tokens: number): void {
  if (!Number.isInteger(t) || t < 0 || t >= tokens) throw new RangeError(`token ${t} is outside 0..${tokens - 1}`);
}

/** Token t's part of one of a view's arrays into `out`; returns the row's length. */
function copyRow(v: LatentsView, t: number, from: Uint16Array | Uint32Array, out: Uint16Array | Uint32Array): number {
  checkRow(t, v.tokens);
  const start = v.start(t);
  const len = v.start(t + 1) - start;
  out.set(from.subarray(start, start + len));
  return len;
}

/** Rows of a decoded view (version 1 blobs, whose rows are plain arrays anyway). */
function rowsOfView(v: LatentsView): LatentsRows {
  let maxRow = 0;
  for (let t = 0; t < v.tokens; t++) maxRow = Math.max(maxRow, v.start(t + 1) - v.start(t));
  let present: Set<number> | null = null;
  return {
    tokens: v.tokens,
    maxRow,
    mayHave(feature) {
      present ??= new Set(v.idx);
      return present.has(feature);
    },
    rowIds: (t, out) => copyRow(v, t, v.idx, out),
    rowValues: (t, out) => copyRow(v, t, v.valBits, out),
  };
}

function rowsV2(h: Header): LatentsRows {
  const layout = new V2Layout(h);
  const { offsets, dict } = layout;
  const gaps = new Int32Array(Math.max(1, layout.maxRow));
  const scratch = new Uint16Array(Math.max(1, layout.maxRow));
  return {
    tokens: h.tokens,
    maxRow: layout.maxRow,
    mayHave(feature) {
      if (!dict) return true;
      let lo = 0;
      let hi = dict.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (dict[mid]! < feature) lo = mid + 1;
        else hi = mid;
      }
      return dict[lo] === feature;
    },
    rowIds(t, out) {
      checkRow(t, h.tokens);
      const len = offsets[t + 1]! - offsets[t]!;
      layout.ids(layout.reader(layout.idStart + offsets[t]! * layout.idBits), out, 0, len);
      return len;
    },
    rowValues(t, out) {
      checkRow(t, h.tokens);
      const cp = Math.floor(t / CHECKPOINT_EVERY);
      const rd = layout.reader(layout.valueStart + layout.checkpoints[cp]!);
      for (let s = cp * CHECKPOINT_EVERY; s < t; s++) layout.values(rd, scratch, 0, offsets[s + 1]! - offsets[s]!, gaps);
      const len = offsets[t + 1]! - offsets[t]!;
      layout.values(rd, out, 0, len, gaps);
      return len;
    },
  };
}

/** Row-at-a-time access: for reading a few tokens of many images. */
export function latentsRows(blob: Uint8Array): LatentsRows {
  const h = readHeader(blob);
  return h.version === FORMAT_V1 ? rowsOfView(viewV1(h)) : rowsV2(h);
}

export function unpackLatents(blob: Uint8Array): SparseCodes {
  return codesOfView(viewLatents(blob));
}

export function codesOfView(v: LatentsView): SparseCodes {
  const offsets = new Uint32Array(v.tokens + 1);
  for (let t = 0; t <= v.tokens; t++) offsets[t] = v.start(t);
  return { offsets, idx: Int32Array.from(v.idx), val: float16ToFloat32Array(v.valBits) };
}
