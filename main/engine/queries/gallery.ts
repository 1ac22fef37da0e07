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
  /**
   * Token galleries (a patch token): read at most this many photos' latents in this call. A scan
   * that stops early answers the items already certain (nothing unread can come before them)
   * and a `cursor`; default: no bound (the whole page in one call).
   */
  maxReads?: number;
  /** Token galleries: also stop after about this many ms (checked between reads; 0: after one read). */
  maxMs?: number;
  /** Continues the scan of an earlier call (same feature, token, offset and limit). */
  cursor?: string;
}

export interface GalleryResult {
  feature: number;
  configId: number;
  token: GalleryToken;
  /** Images where the feature fires (at that token); null when a token gallery stopped early. */
  total: number | null;
  items: GalleryItem[];
  quantiles: QuantileSample[];
  /**
   * Only when a bounded token gallery stopped early: pass it back (with the same request) for
   * the page's next items. The items of all the calls, in order, are the unbounded page's.
   */
  cursor?: string;
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
  const bounded = typeof token === 'number' && token !== 0 && (opts.maxReads !== undefined || opts.maxMs !== undefined || opts.cursor !== undefined);
  return lib.read(() => {
    let hits: Hit[];
    let total: number | null;
    let cursor: string | undefined;
    let quantiles: { quantile: number; rank: number; hits: Hit[] }[] = [];
    if (token === 'any' || token === 'cls' || token === 0) {
      const kind = token === 'any' ? KIND_POOLED : KIND_CLS;
      // A first page needs only each posting's head; quantiles need everything.
      const runs = featureRuns(lib, config.id, kind, feature, opts.quantiles?.length ? Infinity : offset + limit);
      total = totalEntries(runs);
      hits = take(new RunMerger(runs), offset, limit);
      if (opts.quantiles?.length) quantiles = sampleQuantiles(runs, total, opts.quantiles, opts.perQuantile ?? 3);
    } else if (bounded) {
      ({ hits, total, cursor } = boundedTokenGallery(lib, config, feature, token, offset, limit, {
        maxReads: Math.max(1, opts.maxReads ?? Infinity), deadline: performance.now() + (opts.maxMs ?? Infinity),
      }, opts.cursor));
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
      ...(cursor === undefined ? {} : { cursor }),
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

/** Where a bounded token gallery stopped: the merged index walk and the best found so far. */
interface TokenScan {
  v: 1;
  feature: number;
  token: number;
  offset: number;
  limit: number;
  /** Index entries consumed (in the merged order). */
  consumed: number;
  found: number;
  /** The best `offset + limit` found so far: [image, float16 bits]. */
  top: [number, number][];
  /** Page items already answered. */
  sent: number;
}

function encodeCursor(state: TokenScan): string {
  return Buffer.from(JSON.stringify(state)).toString('base64url');
}

function decodeCursor(cursor: string, want: Pick<TokenScan, 'feature' | 'token' | 'offset' | 'limit'>): TokenScan {
  let s: TokenScan;
  try {
    s = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as TokenScan;
  } catch {
    throw new UserFacingError('the gallery cursor is not one this library gave (it cannot be read)');
  }
  if (s?.v !== 1 || s.feature !== want.feature || s.token !== want.token || s.offset !== want.offset || s.limit !== want.limit || !Array.isArray(s.top)) {
    throw new UserFacingError('the gallery cursor belongs to another request: pass it back with the same feature, token, offset and limit');
  }
  return s;
}

/**
 * tokenGallery, bounded: at most `maxReads` latents read per call. The walk goes in order of the
 * index's bound (the max over all tokens), so a found item whose value beats the bound of the
 * next entry is final: nothing after it can come before it. Each call answers the page's next
 * final items; the last one (no cursor) also the total, exactly as the unbounded scan does.
 */
function boundedTokenGallery(
  lib: Library, config: ConfigRow, feature: number, token: number, offset: number, limit: number,
  { maxReads, deadline }: { maxReads: number; deadline: number }, cursor: string | undefined,
): { hits: Hit[]; total: number | null; cursor?: string } {
  const need = offset + limit;
  const s: TokenScan = cursor
    ? decodeCursor(cursor, { feature, token, offset, limit })
    : { v: 1, feature, token, offset, limit, consumed: 0, found: 0, top: [], sent: 0 };
  const top: Hit[] = s.top.map(([image, actBits]) => ({ image, actBits, token }));
  const m = new RunMerger(featureRuns(lib, config.id, KIND_POOLED, feature));
  for (let i = 0; i < s.consumed && m.next(); i++);
  let reads = 0;
  // The bound of every entry not yet consumed; null once the walk is over.
  let bound: number | null = null;
  let total: number | null = null;
  for (let e = m.next(); ; e = m.next()) {
    if (!e) {
      total = s.found;
      break;
    }
    if (top.length >= need && (need === 0 || e.actBits < top[need - 1]!.actBits)) break;
    if (reads >= maxReads || (reads > 0 && performance.now() >= deadline)) {
      bound = e.actBits;
      break;
    }
    s.consumed++;
    let bits: number;
    if (e.token === token) {
      bits = e.actBits;
    } else {
      const blob = latentsBlob(lib, config.id, e.image);
      reads++;
      if (!blob) continue;
      bits = readingLatents(lib, e.image, () => tokenValue(blob, token, feature));
    }
    if (bits === 0) continue;
    s.found++;
    let at = top.length;
    while (at > 0 && (top[at - 1]!.actBits < bits || (top[at - 1]!.actBits === bits && top[at - 1]!.image > e.image))) at--;
    if (at < need) {
      top.splice(at, 0, { image: e.image, actBits: bits, token });
      if (top.length > need) top.pop();
    }
  }
  // Final: everything when the walk is over, else what strictly beats the next entry's bound
  // (an equal value could still be overtaken by a smaller image id).
  let final = top.length;
  if (bound !== null) {
    final = 0;
    while (final < top.length && top[final]!.actBits > bound) final++;
  }
  const from = offset + s.sent;
  const to = Math.min(final, need);
  const hits = to > from ? top.slice(from, to) : [];
  s.sent += hits.length;
  if (bound === null) return { hits, total };
  s.top = top.map((h) => [h.image, h.actBits]);
  return { hits, total: null, cursor: encodeCursor(s) };
}
