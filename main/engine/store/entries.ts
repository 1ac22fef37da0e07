/**
 * Index entries derived from one image's latents, and the posting-list blob that stores them.
 *
 * An entry says "feature f is active (value > 0) in image i, at most `act` (float16 bits), at
 * token `token`". Two kinds: POOLED (max over every token, with the argmax token) for token=any
 * galleries and feature queries, and CLS (token 0 only). Entries are always derived from the
 * stored float16 latents, never from the float32 input, so the index and the blob agree exactly
 * and an image's entries can be found again (to delete them) from its blob alone.
 *
 * Posting blob for one (config, kind, segment, feature), or a part of one: n entries sorted by act
 * descending, then image ascending, as three u16 arrays: act[n] | image offset in the segment[n] | token[n].
 * A segment covers SEGMENT_SIZE consecutive image ids, so an offset fits a u16.
 */
import type { LatentsView } from './latents-blob.js';
import { isActiveBits } from './packing.js';

export const KIND_POOLED = 0;
export const KIND_CLS = 1;
export type EntryKind = typeof KIND_POOLED | typeof KIND_CLS;

export const SEGMENT_BITS = 12;
export const SEGMENT_SIZE = 1 << SEGMENT_BITS;

/** One image's entries of one kind, sorted by feature. */
export interface FeatureEntries {
  readonly feature: Int32Array;
  readonly act: Uint16Array;
  readonly token: Uint16Array;
}

export interface ImageEntries {
  readonly pooled: FeatureEntries;
  readonly cls: FeatureEntries;
}

/** Reusable per-feature scratch arrays (grown to the largest feature index seen). */
class Scratch {
  best = new Uint16Array(0);
  tok = new Uint16Array(0);
  touched = new Int32Array(0);
  ensure(features: number, entries: number): void {
    if (this.best.length < features) {
      this.best = new Uint16Array(features);
      this.tok = new Uint16Array(features);
    }
    if (this.touched.length < entries) this.touched = new Int32Array(entries);
  }
}
const scratch = new Scratch();

function maxFeature(idx: Uint16Array | Uint32Array): number {
  let m = 0;
  for (let i = 0; i < idx.length; i++) if (idx[i]! > m) m = idx[i]!;
  return m;
}

/** Active features over tokens [from, to): max value bits and the first token reaching it. */
function collect(view: LatentsView, from: number, to: number): FeatureEntries {
  const { best, tok, touched } = scratch;
  let count = 0;
  for (let t = from; t < to; t++) {
    for (let j = view.start(t), end = view.start(t + 1); j < end; j++) {
      const h = view.valBits[j]!;
      if (!isActiveBits(h)) continue;
      const f = view.idx[j]!;
      const b = best[f]!;
      if (b === 0) touched[count++] = f;
      if (h > b) {
        best[f] = h;
        tok[f] = t;
      }
    }
  }
  const feature = touched.slice(0, count).sort();
  const act = new Uint16Array(count);
  const token = new Uint16Array(count);
  for (let i = 0; i < count; i++) {
    const f = feature[i]!;
    act[i] = best[f]!;
    token[i] = tok[f]!;
    best[f] = 0; // the scratch is all zeros between calls
  }
  return { feature, act, token };
}

export function deriveEntries(view: LatentsView): ImageEntries {
  scratch.ensure(view.idx.length ? maxFeature(view.idx) + 1 : 0, view.idx.length);
  return { pooled: collect(view, 0, view.tokens), cls: collect(view, 0, Math.min(1, view.tokens)) };
}

/** Entries of one posting list (typed views; image = segment * SEGMENT_SIZE + offset). */
export interface Posting {
  readonly n: number;
  readonly act: Uint16Array;
  readonly offset: Uint16Array;
  readonly token: Uint16Array;
}

export function encodePosting(p: Posting): Buffer {
  const out = Buffer.alloc(p.n * 6);
  const u16 = new Uint16Array(out.buffer, out.byteOffset, p.n * 3);
  u16.set(p.act.subarray(0, p.n), 0);
  u16.set(p.offset.subarray(0, p.n), p.n);
  u16.set(p.token.subarray(0, p.n), 2 * p.n);
  return out;
}

export function decodePosting(blob: Uint8Array): Posting {
  const buf = blob.byteOffset % 2 === 0 ? blob : Uint8Array.from(blob);
  const n = Math.floor(buf.byteLength / 6);
  const u16 = new Uint16Array(buf.buffer, buf.byteOffset, n * 3);
  return { n, act: u16.subarray(0, n), offset: u16.subarray(n, 2 * n), token: u16.subarray(2 * n, 3 * n) };
}

export function emptyPosting(capacity: number): { act: Uint16Array; offset: Uint16Array; token: Uint16Array } {
  return { act: new Uint16Array(capacity), offset: new Uint16Array(capacity), token: new Uint16Array(capacity) };
}

/** a then b (a posting's head and tail). */
export function concatPostings(a: Posting, b: Posting): Posting {
  const out = emptyPosting(a.n + b.n);
  out.act.set(a.act.subarray(0, a.n));
  out.act.set(b.act.subarray(0, b.n), a.n);
  out.offset.set(a.offset.subarray(0, a.n));
  out.offset.set(b.offset.subarray(0, b.n), a.n);
  out.token.set(a.token.subarray(0, a.n));
  out.token.set(b.token.subarray(0, b.n), a.n);
  return { n: a.n + b.n, ...out };
}

/** Merges two postings sorted by (act desc, offset asc). */
export function mergePostings(a: Posting, b: Posting): Posting {
  const n = a.n + b.n;
  const out = emptyPosting(n);
  let i = 0;
  let j = 0;
  for (let k = 0; k < n; k++) {
    const takeA = j >= b.n || (i < a.n && (a.act[i]! > b.act[j]! || (a.act[i] === b.act[j] && a.offset[i]! <= b.offset[j]!)));
    const src = takeA ? a : b;
    const at = takeA ? i++ : j++;
    out.act[k] = src.act[at]!;
    out.offset[k] = src.offset[at]!;
    out.token[k] = src.token[at]!;
  }
  return { n, ...out };
}

/** A posting without the entries whose offset is in `drop`. */
export function filterPosting(p: Posting, drop: ReadonlySet<number>): Posting {
  const out = emptyPosting(p.n);
  let k = 0;
  for (let i = 0; i < p.n; i++) {
    if (drop.has(p.offset[i]!)) continue;
    out.act[k] = p.act[i]!;
    out.offset[k] = p.offset[i]!;
    out.token[k] = p.token[i]!;
    k++;
  }
  return { n: k, ...out };
}

/**
 * One image's entries as a blob (recent_entries): u32 pooled count P, u32 CLS count C, then
 * i32 features [P + C], u16 acts [P + C], u16 tokens [P + C] (pooled first, then CLS).
 */
export function encodeImageEntries(e: ImageEntries): Buffer {
  const p = e.pooled.feature.length;
  const c = e.cls.feature.length;
  const n = p + c;
  const out = Buffer.alloc(8 + 8 * n);
  out.writeUInt32LE(p, 0);
  out.writeUInt32LE(c, 4);
  const feature = new Int32Array(out.buffer, out.byteOffset + 8, n);
  const act = new Uint16Array(out.buffer, out.byteOffset + 8 + 4 * n, n);
  const token = new Uint16Array(out.buffer, out.byteOffset + 8 + 6 * n, n);
  feature.set(e.pooled.feature);
  feature.set(e.cls.feature, p);
  act.set(e.pooled.act);
  act.set(e.cls.act, p);
  token.set(e.pooled.token);
  token.set(e.cls.token, p);
  return out;
}

export function decodeImageEntries(blob: Uint8Array): ImageEntries {
  const buf = blob.byteOffset % 4 === 0 ? blob : Uint8Array.from(blob);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const p = dv.getUint32(0, true);
  const c = dv.getUint32(4, true);
  const n = p + c;
  if (buf.byteLength !== 8 + 8 * n) throw new Error('index entries blob: wrong size');
  const feature = new Int32Array(buf.buffer, buf.byteOffset + 8, n);
  const act = new Uint16Array(buf.buffer, buf.byteOffset + 8 + 4 * n, n);
  const token = new Uint16Array(buf.buffer, buf.byteOffset + 8 + 6 * n, n);
  return {
    pooled: { feature: feature.subarray(0, p), act: act.subarray(0, p), token: token.subarray(0, p) },
    cls: { feature: feature.subarray(p), act: act.subarray(p), token: token.subarray(p) },
  };
}

/** Position of `feature` in a sorted feature list, or -1. */
export function findFeature(features: Int32Array, feature: number): number {
  let lo = 0;
  let hi = features.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const f = features[mid]!;
    if (f === feature) return mid;
    if (f < feature) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
