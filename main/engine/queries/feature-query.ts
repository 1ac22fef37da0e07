/**
 * Multi-feature image queries: ALL / ANY / NOT terms with minimum activations, optionally within
 * a region of the patch grid (a token set), filtered by folder and capture date, sorted by
 * activation or date.
 *
 * An image matches when every ALL term fires at least at its minimum, at least one ANY term does
 * (when there are ANY terms), and no NOT term does. "Fires" means the feature's max activation
 * over the tokens considered: every token, or the region's. The score (activation sort) is the
 * sum of the matching ALL / ANY terms' activations. Dates are capture dates, else file times.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { UserFacingError } from '../errors.js';
import { KIND_POOLED } from '../store/entries.js';
import { datedImages, maxImageId, presentDatedImages, presentImageDates } from '../store/image-dates.js';
import type { Library } from '../store/library.js';
import { latentsRows } from '../store/latents-blob.js';
import { isActiveBits } from '../store/packing.js';
import { presentResultImageIds } from '../store/result-rows.js';
import type { ConfigRow } from '../store/rows.js';
import { checkFeature, featureRuns, halfValue, latentsBlob, minActBits, readingLatents } from './runs.js';

export interface FeatureTerm {
  feature: number;
  /** Minimum activation; default: active at all (> 0). */
  minAct?: number;
}

export type QuerySort = 'activation' | 'date' | 'date-asc';

export interface FeatureQuery {
  all?: readonly FeatureTerm[];
  any?: readonly FeatureTerm[];
  not?: readonly FeatureTerm[];
  /** Region: the tokens to look at (0 = CLS, 1..256 the patch grid, row-major); default all. */
  tokens?: readonly number[];
  /** Only images under this folder (at any depth). */
  folder?: string;
  /** Capture date (ms since the epoch): after <= date < before. */
  after?: number;
  before?: number;
  sort?: QuerySort;
  limit?: number;
  offset?: number;
  /**
   * Region queries: read at most this many photos' latents in this call. A scan that stops early
   * answers the hits already certain (nothing unread can come before them) and a `cursor`;
   * default: no bound (the whole page in one call).
   */
  maxReads?: number;
  /** Region queries: also stop after about this many ms (checked between reads; 0: after one read). */
  maxMs?: number;
  /** Continues the scan of an earlier call with the same query. */
  cursor?: string;
}

export interface QueryHit {
  file: string;
  imageId: number;
  score: number;
  date: number;
  /** The ALL / ANY terms that fire, with their activation and strongest token. */
  features: { feature: number; act: number; token: number }[];
}

export interface QueryResult {
  /** Matching images; null when a region query stopped once it had the page it needed. */
  total: number | null;
  items: QueryHit[];
  /**
   * Only when a bounded region query stopped early: pass it back (with the same query) for the
   * page's next hits. The items of all the calls, in order, are the unbounded page's.
   */
  cursor?: string;
}

/** Tokens of rows r0..r1 x columns c0..c1 (inclusive, 0-based) of a square patch grid. */
export function regionTokens(config: ConfigRow, rows: readonly [number, number], cols: readonly [number, number]): number[] {
  const g = Math.round(Math.sqrt(config.tokens - 1));
  if (g * g + 1 !== config.tokens) throw new UserFacingError(`${config.tokens} tokens do not form CLS + a square patch grid`);
  const [r0, r1] = rows;
  const [c0, c1] = cols;
  for (const v of [r0, r1, c0, c1]) {
    if (!Number.isInteger(v) || v < 0 || v >= g) throw new UserFacingError(`region ${r0}-${r1}x${c0}-${c1} is outside the ${g}x${g} patch grid (rows and columns 0..${g - 1})`);
  }
  const out: number[] = [];
  for (let r = Math.min(r0, r1); r <= Math.max(r0, r1); r++) for (let c = Math.min(c0, c1); c <= Math.max(c0, c1); c++) out.push(1 + r * g + c);
  return out;
}

interface Term { feature: number; min: number; kind: 'all' | 'any' | 'not' }
interface Candidate { image: number; score: number; date: number; acts: Acts }

/** One feature's entries, dense by image id: act bits (0 = not active) and token. */
interface Dense { act: Uint16Array; token: Uint16Array; count: number }

export function queryImages(lib: Library, config: ConfigRow, q: FeatureQuery): QueryResult {
  const terms: Term[] = [
    ...(q.all ?? []).map((t) => ({ feature: t.feature, min: minActBits(t.minAct), kind: 'all' as const })),
    ...(q.any ?? []).map((t) => ({ feature: t.feature, min: minActBits(t.minAct), kind: 'any' as const })),
    ...(q.not ?? []).map((t) => ({ feature: t.feature, min: minActBits(t.minAct), kind: 'not' as const })),
  ];
  for (const t of terms) checkFeature(t.feature, config.nFeatures);
  const region = q.tokens ? new Uint8Array(config.tokens) : null;
  for (const t of q.tokens ?? []) {
    if (!Number.isInteger(t) || t < 0 || t >= config.tokens) throw new UserFacingError(`token ${t} is out of range: images have tokens 0..${config.tokens - 1}`);
    region![t] = 1;
  }
  const sort = q.sort ?? 'activation';
  const need = Math.max(0, q.offset ?? 0) + Math.max(0, q.limit ?? 50);
  const bounded = region !== null && (q.maxReads !== undefined || q.maxMs !== undefined || q.cursor !== undefined);
  const maxReads = Math.max(1, q.maxReads ?? Infinity);
  const deadline = performance.now() + (q.maxMs ?? Infinity);
  // What a cursor must continue: the same question and the same page.
  const key = bounded
    ? createHash('sha256').update(JSON.stringify([terms, q.tokens, q.folder ?? null, q.after ?? null, q.before ?? null, sort, q.offset ?? 0, q.limit ?? 50])).digest('base64url').slice(0, 22)
    : '';

  return lib.read(() => {
    const maxId = maxImageId(lib);
    const dense = new Map<number, Dense>();
    for (const t of terms) if (!dense.has(t.feature)) dense.set(t.feature, loadDense(lib, config, t.feature, maxId));
    const positive = terms.filter((t) => t.kind !== 'not');
    const all = terms.filter((t) => t.kind === 'all');
    const any = terms.filter((t) => t.kind === 'any');
    const positiveFeatures = [...new Set(positive.map((t) => t.feature))];

    // 1. Candidates from the index (the max over all tokens bounds any region's max).
    let ids: Iterable<number>;
    if (all.length) {
      const rarest = all.reduce((a, b) => (dense.get(a.feature)!.count <= dense.get(b.feature)!.count ? a : b));
      ids = imagesWith(dense.get(rarest.feature)!, rarest.min);
    } else if (any.length) {
      const seen = new Set<number>();
      for (const t of any) for (const id of imagesWith(dense.get(t.feature)!, t.min)) seen.add(id);
      ids = seen;
    } else {
      ids = presentResultImageIds(lib, config.id);
    }
    // Acts of the terms for one image, from the index (max over all tokens).
    const indexActs = (image: number): Acts => {
      const acts: Acts = new Map();
      for (const t of terms) {
        const d = dense.get(t.feature)!;
        if (d.act[image]) acts.set(t.feature, { bits: d.act[image]!, token: d.token[image]! });
      }
      return acts;
    };
    const matching: number[] = [];
    // NOT terms are only decidable here without a region (a region's max can be lower).
    for (const image of ids) if (matchesAt(terms, dense, image, region === null)) matching.push(image);
    const dates = needsDates(q) ? imageDates(lib, matching, q.folder, maxId) : null;
    const candImage: number[] = [];
    const candScore: number[] = [];
    const candDate: number[] = [];
    for (const image of matching) {
      const date = dates ? dates.get(image) : 0;
      if (date === undefined) continue; // outside the folder (or not present)
      if ((q.after !== undefined && date < q.after) || (q.before !== undefined && date >= q.before)) continue;
      candImage.push(image);
      candScore.push(scoreAt(positive, dense, image));
      candDate.push(date);
    }

    // 2. Order (only the page is sorted); refine by region where asked, reading latents.
    const before = (x: number, y: number): number => // candidates x, y: < 0 when x comes first
      (sort === 'activation' ? candScore[y]! - candScore[x]! : sort === 'date' ? candDate[y]! - candDate[x]! : candDate[x]! - candDate[y]!)
      || candImage[x]! - candImage[y]!;
    let hits: Candidate[];
    let total: number | null = candImage.length;
    let stoppedAt: number | null = null;
    let pageHits: Candidate[] | null = null;
    let nextCursor: string | undefined;
    if (!region) {
      hits = firstN(candImage.length, need, before).map((c) => ({ image: candImage[c]!, score: candScore[c]!, date: candDate[c]!, acts: indexActs(candImage[c]!) }));
    } else {
      const order = (a: Candidate, b: Candidate): number =>
        (sort === 'activation' ? b.score - a.score : sort === 'date' ? b.date - a.date : a.date - b.date) || a.image - b.image;
      const sorted = Array.from({ length: candImage.length }, (_, i) => i).sort(before);
      const scan = bounded ? readScan(q.cursor, key, positiveFeatures, () => new Map(candImage.map((image, c) => [image, candDate[c]!]))) : null;
      // Only hits whose place can still change, or that the page has yet to answer, are kept:
      // the `base` final ones before them and the `beyond` ones past the page are only counted.
      hits = scan ? scan.hits.map(({ image, date, acts }) => ({ image, score: score(positive, acts), date, acts })) : [];
      let base = scan?.base ?? 0;
      let beyond = scan?.beyond ?? 0;
      total = null;
      // How many hits are final (nothing unread can come before them) under this bound.
      const finalAt = (bound: number): number => {
        if (sort !== 'activation') return base + hits.length;
        let lo = 0;
        let hi = hits.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (hits[mid]!.score > bound) lo = mid + 1;
          else hi = mid;
        }
        return base + lo;
      };
      // A cursor carries the kept hits: the scan stops early only while they fit its budget.
      const keptIfStopped = (bound: number): number => base + hits.length - Math.max(base, Math.min(finalAt(bound), need - 1));
      const keepable = Math.floor(CURSOR_BUDGET_BYTES / hitBytes(positiveFeatures.length));
      let i = scan?.next ?? 0;
      let reads = 0;
      for (; i < sorted.length; i++) {
        const c = sorted[i]!;
        // Sorted by the upper bound: once it falls below the page's weakest, nothing can enter.
        if (base + hits.length >= need && (sort !== 'activation' || need === 0 || candScore[c]! < hits[need - 1 - base]!.score)) break;
        let acts = indexRegionActs(terms, dense, candImage[c]!, region);
        if (!acts) {
          if ((reads >= maxReads || (reads > 0 && performance.now() >= deadline)) && keptIfStopped(candScore[c]!) <= keepable) {
            stoppedAt = i;
            break;
          }
          reads++;
          acts = regionActs(lib, config, candImage[c]!, terms, region);
        }
        if (!acts || !matches(terms, acts)) continue;
        const refined = { image: candImage[c]!, score: score(positive, acts), date: candDate[c]!, acts };
        let at = hits.length;
        while (at > 0 && order(hits[at - 1]!, refined) > 0) at--;
        // Past the page it stays past it: later hits only push it further.
        if (base + at >= need) {
          beyond++;
          continue;
        }
        hits.splice(at, 0, refined);
        if (base + hits.length > need) {
          hits.pop();
          beyond++;
        }
      }
      if (i === sorted.length) total = base + hits.length + beyond;
      const offset = Math.max(0, q.offset ?? 0);
      if (stoppedAt !== null) {
        // Final: the hits that strictly beat the bound of the next candidate (by date, every
        // hit: later candidates come after them in the same order).
        const final = finalAt(candScore[sorted[stoppedAt]!]!);
        const from = offset + (scan?.sent ?? 0);
        const to = Math.min(final, need);
        pageHits = to > from ? hits.slice(from - base, to - base) : [];
        // Final hits up to what the page has answered are done with; one stays for the page's
        // weakest score, which the stop test compares with.
        const drop = Math.max(0, Math.min(final, need - 1) - base);
        base += drop;
        nextCursor = writeScan({ key, next: stoppedAt, sent: (scan?.sent ?? 0) + pageHits.length, base, beyond, hits: hits.slice(drop) }, positiveFeatures);
      } else if (scan) {
        pageHits = hits.slice(offset + scan.sent - base, need - base);
      }
    }
    const page = pageHits ?? hits.slice(Math.max(0, q.offset ?? 0), need);
    const info = datedImages(lib, page.map((h) => h.image));
    return {
      total,
      items: page.map((h) => {
        const { path: file, date } = info.get(h.image)!;
        const features = positive.filter((t) => (h.acts.get(t.feature)?.bits ?? 0) >= t.min).map((t) => {
          const a = h.acts.get(t.feature)!;
          return { feature: t.feature, act: halfValue(a.bits), token: a.token };
        });
        return { file, imageId: h.image, score: h.score, date, features };
      }),
      ...(nextCursor === undefined ? {} : { cursor: nextCursor }),
    };
  });
}

/**
 * Where a bounded region query stopped: the next candidate to refine, and the hits whose place
 * may still change or that the page has yet to answer (never more than the page). Written
 * compactly, so that a page of thousands of photos keeps its cursor far below the request
 * limits (1 MiB over HTTP): `r2.KEY.NEXT.SENT.BASE.BEYOND.HITS`, HITS being per hit its image id
 * (u32) and each positive feature's float16 bits and token (u16 each), base64url. Scores and
 * dates are not written: they follow from the acts and the image.
 */
interface RegionScan {
  /** The query it continues (terms, region, filters, order, page). */
  key: string;
  next: number;
  /** Page hits already answered. */
  sent: number;
  /** Final hits before the kept ones (no longer kept). */
  base: number;
  /** Hits past the page (counted for the total, not kept). */
  beyond: number;
  hits: { image: number; date: number; acts: Acts }[];
}

const CURSOR_VERSION = 'r2';
/** The kept hits' bytes a cursor may carry (base64url makes 4 characters of 3 bytes). */
const CURSOR_BUDGET_BYTES = 384 * 1024;

function hitBytes(features: number): number {
  return 4 + 4 * features;
}

function writeScan(s: Omit<RegionScan, 'hits'> & { hits: readonly { image: number; acts: Acts }[] }, features: readonly number[]): string {
  const size = hitBytes(features.length);
  const bytes = Buffer.alloc(s.hits.length * size);
  s.hits.forEach((h, i) => {
    let at = i * size;
    bytes.writeUInt32LE(h.image, at);
    at += 4;
    for (const f of features) {
      const a = h.acts.get(f);
      bytes.writeUInt16LE(a?.bits ?? 0, at);
      bytes.writeUInt16LE(a?.token ?? 0, at + 2);
      at += 4;
    }
  });
  return `${CURSOR_VERSION}.${s.key}.${s.next}.${s.sent}.${s.base}.${s.beyond}.${bytes.toString('base64url')}`;
}

function readScan(cursor: string | undefined, key: string, features: readonly number[], dates: () => Map<number, number>): RegionScan | null {
  if (cursor === undefined) return null;
  const parts = cursor.split('.');
  const numbers = parts.slice(2, 6).map(Number);
  const size = hitBytes(features.length);
  if (parts.length !== 7 || parts[0] !== CURSOR_VERSION || numbers.some((n) => !Number.isSafeInteger(n) || n < 0) || !/^[\w-]*$/.test(parts[6]!)) {
    throw new UserFacingError('the query cursor is not one this library gave (it cannot be read)');
  }
  const bytes = Buffer.from(parts[6]!, 'base64url');
  if (parts[1] !== key || bytes.length % size !== 0) {
    throw new UserFacingError('the query cursor belongs to another query: pass it back with the same query');
  }
  const dateOf = dates();
  const hits: RegionScan['hits'] = [];
  for (let at = 0; at < bytes.length; at += size) {
    const acts: Acts = new Map();
    features.forEach((f, j) => {
      const bits = bytes.readUInt16LE(at + 4 + 4 * j);
      if (bits) acts.set(f, { bits, token: bytes.readUInt16LE(at + 6 + 4 * j) });
    });
    const image = bytes.readUInt32LE(at);
    hits.push({ image, date: dateOf.get(image) ?? 0, acts });
  }
  const [next, sent, base, beyond] = numbers as [number, number, number, number];
  return { key, next, sent, base, beyond, hits };
}

function loadDense(lib: Library, config: ConfigRow, feature: number, maxId: number): Dense {
  const act = new Uint16Array(maxId + 1);
  const token = new Uint16Array(maxId + 1);
  let count = 0;
  for (const run of featureRuns(lib, config.id, KIND_POOLED, feature)) {
    for (let i = 0; i < run.n; i++) {
      const id = run.base + run.offset[i]!;
      if (id > maxId) continue;
      act[id] = run.act[i]!;
      token[id] = run.token[i]!;
      count++;
    }
  }
  return { act, token, count };
}

function* imagesWith(d: Dense, min: number): Generator<number> {
  for (let id = 0; id < d.act.length; id++) if (d.act[id]! >= min) yield id;
}

type Acts = Map<number, { bits: number; token: number }>;

function fires(bits: number, t: Term): boolean {
  return bits >= t.min;
}

/** Whether an image with these acts matches (NOT terms included). */
function matches(terms: readonly Term[], acts: Acts): boolean {
  let anyTerms = 0;
  let anyHit = false;
  for (const t of terms) {
    const f = fires(acts.get(t.feature)?.bits ?? 0, t);
    if ((t.kind === 'all' && !f) || (t.kind === 'not' && f)) return false;
    if (t.kind === 'any') {
      anyTerms++;
      anyHit ||= f;
    }
  }
  return anyTerms === 0 || anyHit;
}

/** The same test on the index's dense arrays (NOT terms only when `decideNot`). */
function matchesAt(terms: readonly Term[], dense: Map<number, Dense>, image: number, decideNot: boolean): boolean {
  let anyTerms = 0;
  let anyHit = false;
  for (const t of terms) {
    const f = fires(dense.get(t.feature)!.act[image]!, t);
    if ((t.kind === 'all' && !f) || (t.kind === 'not' && f && decideNot)) return false;
    if (t.kind === 'any') {
      anyTerms++;
      anyHit ||= f;
    }
  }
  return anyTerms === 0 || anyHit;
}

function score(positive: readonly Term[], acts: Acts): number {
  let s = 0;
  for (const t of positive) {
    const bits = acts.get(t.feature)?.bits ?? 0;
    if (fires(bits, t)) s += halfValue(bits);
  }
  return s;
}

function scoreAt(positive: readonly Term[], dense: Map<number, Dense>, image: number): number {
  let s = 0;
  for (const t of positive) {
    const bits = dense.get(t.feature)!.act[image]!;
    if (fires(bits, t)) s += halfValue(bits);
  }
  return s;
}

/** The first `n` of `count` items in the order `before` (a bounded insertion: O(count) for small n). */
function firstN(count: number, n: number, before: (a: number, b: number) => number): number[] {
  const top: number[] = [];
  for (let i = 0; i < count; i++) {
    if (top.length === n && (n === 0 || before(i, top[n - 1]!) >= 0)) continue;
    let at = top.length;
    while (at > 0 && before(i, top[at - 1]!) < 0) at--;
    top.splice(at, 0, i);
    if (top.length > n) top.pop();
  }
  return top;
}

/**
 * The terms' max activations over the region, from the index alone when it decides them: a
 * feature whose strongest token (the first one, as the latents would give) lies in the region
 * has that max there; one that never reaches a term's minimum cannot in the region either. Null
 * when some term needs the stored latents (it fires most outside the region).
 */
function indexRegionActs(terms: readonly Term[], dense: Map<number, Dense>, image: number, region: Uint8Array): Acts | null {
  const acts: Acts = new Map();
  for (const t of terms) {
    const d = dense.get(t.feature)!;
    const bits = d.act[image]!;
    if (bits === 0 || (t.kind === 'not' && bits < t.min)) continue;
    const token = d.token[image]!;
    if (!region[token]) return null;
    acts.set(t.feature, { bits, token });
  }
  return acts;
}

/** The terms' max activations over the region's tokens, from the stored latents. */
function regionActs(lib: Library, config: ConfigRow, image: number, terms: readonly Term[], region: Uint8Array): Acts | null {
  const blob = latentsBlob(lib, config.id, image);
  if (!blob) return null;
  return readingLatents(lib, image, () => blobRegionActs(blob, terms, region));
}

function blobRegionActs(blob: Uint8Array, terms: readonly Term[], region: Uint8Array): Acts {
  const rows = latentsRows(blob);
  const wanted = new Set(terms.map((t) => t.feature).filter((f) => rows.mayHave(f)));
  const acts: Acts = new Map();
  if (wanted.size === 0) return acts;
  const ids = new Uint32Array(rows.maxRow);
  const vals = new Uint16Array(rows.maxRow);
  for (let t = 0; t < rows.tokens; t++) {
    if (!region[t]) continue;
    const len = rows.rowIds(t, ids);
    let hit = false;
    for (let j = 0; j < len && !hit; j++) hit = wanted.has(ids[j]!);
    // Values only for the rows that hold a wanted feature.
    if (!hit) continue;
    rows.rowValues(t, vals);
    for (let j = 0; j < len; j++) {
      const f = ids[j]!;
      const h = vals[j]!;
      if (!wanted.has(f) || !isActiveBits(h)) continue;
      const cur = acts.get(f);
      if (!cur || h > cur.bits) acts.set(f, { bits: h, token: t });
    }
  }
  return acts;
}

function needsDates(q: FeatureQuery): boolean {
  return q.folder !== undefined || q.after !== undefined || q.before !== undefined || q.sort === 'date' || q.sort === 'date-asc';
}

/**
 * Capture date (else file time) of the candidate images that are present (and under `folder`):
 * looked up one by one when they are few, else read for the whole library at once.
 */
function imageDates(lib: Library, candidates: readonly number[], folder: string | undefined, maxId: number): Map<number, number> {
  const out = new Map<number, number>();
  let prefix: { lo: string; hi: string } | null = null;
  if (folder !== undefined) {
    // Everything under `folder` + separator: a range of the path index ('/' + 1 = '0').
    const base = path.resolve(folder);
    const lo = base.endsWith(path.sep) ? base : base + path.sep;
    prefix = { lo, hi: lo.slice(0, -1) + String.fromCharCode(lo.charCodeAt(lo.length - 1) + 1) };
  }
  if (candidates.length * 8 < maxId) {
    for (const r of presentDatedImages(lib, candidates)) {
      if (!prefix || (r.path >= prefix.lo && r.path < prefix.hi)) out.set(r.id, r.date);
    }
    return out;
  }
  for (const [id, d] of presentImageDates(lib, prefix ? { from: prefix.lo, to: prefix.hi } : undefined)) out.set(id, d);
  return out;
}
