/**
 * Feature galleries: the images where a feature fires, strongest first, with the token where it
 * fires most; and samples across its activation distribution (quantiles), not only the top.
 */
import { UserFacingError } from '../errors.js';
import { KIND_CLS, KIND_POOLED } from '../store/entries.js';
import type { Library } from '../store/library.js';
import { latentsRows } from '../store/latents-blob.js';
import { isActiveBits } from '../store/packing.js';
import type { ConfigRow } from '../store/rows.js';
import { checkFeature, featureRuns, halfValue, latentsBlob, pathsOf, readingLatents, RunMerger, totalEntries } from './runs.js';

/** 'cls': the CLS token; 'any': the max over all tokens; a number: that token (0 = CLS, 1..256 patches). */
export type GalleryToken = 'cls' | 'any' | number;

export interface GalleryItem {
  file: string;
  imageId: number;
  act: number;
  token: number;
}

export interface QuantileSample {
  /** q: this share of the feature's images fire at most this strongly. */
  quantile: number;
  /** 0-based position from the strongest. */
  rank: number;
  items: GalleryItem[];
}

export interface GalleryOptions {
  token?: GalleryToken;
  limit?: number;
  offset?: number;
  /** Quantiles to sample (token cls / any only), e.g. [0.9, 0.5, 0.1]. */
  quantiles?: readonly number[];
  /** Images per quantile sample (default 3). */
  perQuantile?: number;
}

export interface GalleryResult {
  feature: number;
  configId: number;
  token: GalleryToken;
  /** Images where the feature fires (at that token); null when a token gallery stopped early. */
  total: number | null;
  items: GalleryItem[];
  quantiles: QuantileSample[];
}

export const DEFAULT_GALLERY_LIMIT = 24;

export function checkToken(token: GalleryToken, config: ConfigRow): void {
  if (typeof token === 'number' && (!Number.isInteger(token) || token < 0 || token >= config.tokens)) {
    throw new UserFacingError(`token ${token} is out of range: images have tokens 0..${config.tokens - 1} (0 = CLS)`);
  }
}

interface Hit { image: number; actBits: number; token: number }

export function gallery(lib: Library, config: ConfigRow, feature: number, opts: GalleryOptions = {}): GalleryResult {
  checkFeature(feature, config.nFeatures);
  const token = opts.token ?? 'any';
  checkToken(token, config);
  const limit = Math.max(0, opts.limit ?? DEFAULT_GALLERY_LIMIT);
  const offset = Math.max(0, opts.offset ?? 0);
  return lib.read(() => {
    let hits: Hit[];
    let total: number | null;
    let quantiles: { quantile: number; rank: number; hits: Hit[] }[] = [];
    if (token === 'any' || token === 'cls' || token === 0) {
      const kind = token === 'any' ? KIND_POOLED : KIND_CLS;
      // A first page needs only each posting's head; quantiles need everything.
      const runs = featureRuns(lib, config.id, kind, feature, opts.quantiles?.length ? Infinity : offset + limit);
      total = totalEntries(runs);
      hits = take(new RunMerger(runs), offset, limit);
      if (opts.quantiles?.length) quantiles = sampleQuantiles(runs, total, opts.quantiles, opts.perQuantile ?? 3);
    } else {
      ({ hits, total } = tokenGallery(lib, config, feature, token, offset + limit));
      hits = hits.slice(offset);
    }
    const paths = pathsOf(lib, [...hits, ...quantiles.flatMap((q) => q.hits)].map((h) => h.image));
    const item = (h: Hit): GalleryItem => ({ file: paths.get(h.image)!, imageId: h.image, act: halfValue(h.actBits), token: token === 'any' ? h.token : token === 'cls' ? 0 : token });
    return {
      feature, configId: config.id, token, total,
      items: hits.map(item),
      quantiles: quantiles.map((q) => ({ quantile: q.quantile, rank: q.rank, items: q.hits.map(item) })),
    };
  });
}

function take(m: RunMerger, offset: number, limit: number): Hit[] {
  const out: Hit[] = [];
  for (let i = 0; i < offset + limit; i++) {
    const e = m.next();
    if (!e) break;
    if (i >= offset) out.push(e);
  }
  return out;
}

function sampleQuantiles(runs: Parameters<typeof totalEntries>[0], total: number, qs: readonly number[], per: number): { quantile: number; rank: number; hits: Hit[] }[] {
  if (total === 0) return [];
  const wanted = qs.map((q) => {
    const quantile = Math.min(1, Math.max(0, q));
    const rank = Math.min(total - 1, Math.round((1 - quantile) * (total - 1)));
    return { quantile, rank, hits: [] as Hit[] };
  });
  const until = Math.max(...wanted.map((w) => w.rank + per));
  const m = new RunMerger(runs);
  for (let i = 0; i < until; i++) {
    const e = m.next();
    if (!e) break;
    for (const w of wanted) if (i >= w.rank && i < w.rank + per) w.hits.push(e);
  }
  return wanted;
}

/** float16 bits of `feature` at `token` when active there, else 0 (one row read, not the whole blob). */
function tokenValue(blob: Uint8Array, token: number, feature: number): number {
  const rows = latentsRows(blob);
  if (!rows.mayHave(feature)) return 0;
  const ids = new Uint32Array(rows.maxRow);
  const len = rows.rowIds(token, ids);
  const at = ids.subarray(0, len).indexOf(feature);
  if (at < 0) return 0;
  const vals = new Uint16Array(rows.maxRow);
  rows.rowValues(token, vals);
  // A row holds each feature once (TopK, dense rows alike).
  return isActiveBits(vals[at]!) ? vals[at]! : 0;
}

/**
 * The images where `feature` fires most at one token. The index holds the max over all tokens,
 * an upper bound of any one token's value: walk images in that order, read each one's token row,
 * and stop once the bound falls below the weakest of the `need` best found (threshold algorithm).
 */
function tokenGallery(lib: Library, config: ConfigRow, feature: number, token: number, need: number): { hits: Hit[]; total: number | null } {
  const m = new RunMerger(featureRuns(lib, config.id, KIND_POOLED, feature));
  const top: Hit[] = [];
  let found = 0;
  for (let e = m.next(); e; e = m.next()) {
    if (top.length >= need && (need === 0 || e.actBits < top[need - 1]!.actBits)) return { hits: top, total: null };
    let bits: number;
    if (e.token === token) {
      // Its strongest token is this one: the index holds the value there.
      bits = e.actBits;
    } else {
      const blob = latentsBlob(lib, config.id, e.image);
      if (!blob) continue;
      bits = readingLatents(lib, e.image, () => tokenValue(blob, token, feature));
    }
    if (bits === 0) continue;
    found++;
    const hit = { image: e.image, actBits: bits, token };
    let at = top.length;
    while (at > 0 && (top[at - 1]!.actBits < bits || (top[at - 1]!.actBits === bits && top[at - 1]!.image > e.image))) at--;
    if (at < need) {
      top.splice(at, 0, hit);
      if (top.length > need) top.pop();
    }
  }
  return { hits: top, total: found };
}
