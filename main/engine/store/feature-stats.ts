/**
 * Per-feature statistics over the present images of one config: images and tokens where the
 * feature is active (> 0), max and mean activation (over active tokens), and a histogram of token
 * activations.
 *
 * Kept incrementally, so that a run adding a few photos to a large library costs little. Running
 * totals (one blob per config, `feature_totals`) take each image's contribution when its entries
 * are merged into postings and give it back when they leave postings; the max, which cannot be
 * given back, is marked stale then and recomputed from the postings (their first entries).
 * refreshFeatureStats publishes the features that changed into `feature_stats`, the indexed
 * table that searches read.
 *
 * Histogram bins are half-octaves read straight from the float16 bits (bin = bits >> 9: the
 * exponent and the top mantissa bit), so bin b covers [v(b << 9), v((b + 1) << 9)): e.g.
 * [1, 1.5), [1.5, 2), [2, 3) ... Stored as u32 [first bin, counts of bins first..last].
 */
import type Database from 'better-sqlite3';
import { float16ToFloat32Array } from '../formats/float16.js';
import { viewLatents } from './latents-blob.js';
import { isActiveBits } from './packing.js';

export const HIST_BINS = 62;

let halfValues: Float32Array | undefined;
/** The float32 value of every float16 bit pattern. */
export function halfTable(): Float32Array {
  if (!halfValues) halfValues = float16ToFloat32Array(Uint16Array.from({ length: 65536 }, (_, i) => i));
  return halfValues;
}

export function histogramBin(bits: number): number {
  return Math.min(bits >> 9, HIST_BINS - 1);
}

export interface HistogramBin { lo: number; hi: number; count: number }

export function encodeHistogram(counts: ArrayLike<number>): Buffer | null {
  let first = -1;
  let last = -1;
  for (let b = 0; b < HIST_BINS; b++) {
    if (!counts[b]) continue;
    if (first < 0) first = b;
    last = b;
  }
  if (first < 0) return null;
  const out = Buffer.alloc(4 * (last - first + 2));
  out.writeUInt32LE(first, 0);
  for (let b = first; b <= last; b++) out.writeUInt32LE(counts[b]!, 4 * (b - first + 1));
  return out;
}

export function decodeHistogram(blob: Uint8Array | null): HistogramBin[] {
  if (!blob || blob.byteLength < 8) return [];
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const first = dv.getUint32(0, true);
  const table = halfTable();
  const bins: HistogramBin[] = [];
  for (let i = 1; i * 4 < blob.byteLength; i++) {
    const b = first + i - 1;
    const count = dv.getUint32(i * 4, true);
    if (count) bins.push({ lo: table[b << 9]!, hi: b === HIST_BINS - 1 ? 65504 : table[(b + 1) << 9]!, count });
  }
  return bins;
}

/**
 * Running totals of one config, as typed arrays over features (stored as one blob: the arrays
 * one after the other, each 8-byte aligned).
 */
export class FeatureTotals {
  readonly images: Uint32Array;
  readonly tokens: Float64Array;
  readonly sum: Float64Array;
  /** [feature * HIST_BINS + bin] token counts. */
  readonly hist: Uint32Array;
  readonly maxBits: Uint16Array;
  /** 1: maxBits may be too high (the image that held it left). */
  readonly stale: Uint8Array;
  /** 1: changed since last published to feature_stats. */
  readonly dirty: Uint8Array;
  private readonly buf: ArrayBuffer;
  private readonly seen: Int32Array;
  private readonly imageMax: Uint16Array;
  private image = 0;

  private constructor(readonly nFeatures: number, from?: Uint8Array) {
    const F = nFeatures;
    const pad8 = (n: number) => Math.ceil(n / 8) * 8;
    const sizes = [8 * F, 8 * F, pad8(4 * F), pad8(4 * F * HIST_BINS), pad8(2 * F), pad8(F), pad8(F)];
    this.buf = new ArrayBuffer(sizes.reduce((a, b) => a + b, 0));
    if (from) {
      if (from.byteLength !== this.buf.byteLength) throw new Error('feature totals: wrong size');
      new Uint8Array(this.buf).set(from);
    }
    let at = 0;
    const next = (i: number): number => {
      const o = at;
      at += sizes[i]!;
      return o;
    };
    this.tokens = new Float64Array(this.buf, next(0), F);
    this.sum = new Float64Array(this.buf, next(1), F);
    this.images = new Uint32Array(this.buf, next(2), F);
    this.hist = new Uint32Array(this.buf, next(3), F * HIST_BINS);
    this.maxBits = new Uint16Array(this.buf, next(4), F);
    this.stale = new Uint8Array(this.buf, next(5), F);
    this.dirty = new Uint8Array(this.buf, next(6), F);
    this.seen = new Int32Array(F).fill(-1);
    this.imageMax = new Uint16Array(F);
  }

  static load(db: Database.Database, configId: number, nFeatures: number): FeatureTotals {
    const blob = db.prepare('SELECT data FROM feature_totals WHERE config_id = ?').pluck().get(configId) as Buffer | undefined;
    return new FeatureTotals(nFeatures, blob);
  }

  save(db: Database.Database, configId: number): void {
    db.prepare('INSERT OR REPLACE INTO feature_totals (config_id, data) VALUES (?, ?)').run(configId, Buffer.from(this.buf));
  }

  /**
   * Adds (sign 1) or takes back (sign -1) one image's active latents (its stored latents blob).
   * Only what was added is ever taken back, so the unsigned counts never go below zero.
   */
  addImage(codes: Uint8Array, sign: 1 | -1): void {
    const { idx, valBits } = viewLatents(codes);
    const table = halfTable();
    const img = this.image++;
    const touched: number[] = [];
    for (let j = 0; j < idx.length; j++) {
      const h = valBits[j]!;
      if (!isActiveBits(h)) continue;
      const f = idx[j]!;
      if (this.seen[f] !== img) {
        this.seen[f] = img;
        this.imageMax[f] = 0;
        this.images[f]! += sign;
        touched.push(f);
      }
      this.tokens[f]! += sign;
      this.sum[f]! += sign * table[h]!;
      this.hist[f * HIST_BINS + histogramBin(h)]! += sign;
      if (h > this.imageMax[f]!) this.imageMax[f] = h;
    }
    for (const f of touched) {
      this.dirty[f] = 1;
      const mine = this.imageMax[f]!;
      if (this.tokens[f] === 0) {
        this.sum[f] = 0;
        this.maxBits[f] = 0;
        this.stale[f] = 0;
      } else if (sign > 0) {
        if (mine > this.maxBits[f]!) this.maxBits[f] = mine;
      } else if (mine >= this.maxBits[f]!) {
        this.stale[f] = 1;
      }
    }
  }

  /**
   * Writes the changed features into feature_stats (fixing stale maxima with `maxBitsOf`) and
   * clears their marks. Inside a write transaction; call save() after.
   */
  publish(db: Database.Database, configId: number, maxBitsOf: (feature: number) => number): number {
    const put = db.prepare(`UPDATE feature_stats SET images = ?, tokens = ?, max_act = ?, sum_act = ?, histogram = ?
        WHERE config_id = ? AND feature = ?`);
    const table = halfTable();
    let n = 0;
    for (let f = 0; f < this.nFeatures; f++) {
      if (!this.dirty[f]) continue;
      if (this.stale[f]) {
        this.maxBits[f] = maxBitsOf(f);
        this.stale[f] = 0;
      }
      put.run(this.images[f], this.tokens[f], table[this.maxBits[f]!], this.sum[f],
        encodeHistogram(this.hist.subarray(f * HIST_BINS, (f + 1) * HIST_BINS)), configId, f);
      this.dirty[f] = 0;
      n++;
    }
    return n;
  }
}

/** A row of zeros per feature for a new config: dead features are searchable too. */
export function initFeatureStats(db: Database.Database, configId: number, nFeatures: number): void {
  const ins = db.prepare('INSERT OR IGNORE INTO feature_stats (config_id, feature, images, tokens, max_act, sum_act, histogram) VALUES (?, ?, 0, 0, 0, 0, NULL)');
  for (let f = 0; f < nFeatures; f++) ins.run(configId, f);
}
