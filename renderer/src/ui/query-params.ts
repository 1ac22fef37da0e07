/**
 * The query screen's URL (`#/query?all=12:0.5,99&any=&not=&region=0-3x0-3&tokens=cls&folder=&after=&before=&sort=`):
 * each parameter in `clipscope query`'s own grammar (the contract's parsers), turned into a
 * `query.run` request. Unreadable parameters are kept as typed, and reported by name.
 */
import { parseQueryDate, parseRegionList, parseTermList, parseTokenList } from '../../../common/contract/query-grammar.js';
import type { QueryRequest, QuerySortOrder } from '../../../common/contract/query-schemas.js';

export interface QuerySearch {
  layer?: number;
  all?: string;
  any?: string;
  not?: string;
  region?: string;
  tokens?: string;
  folder?: string;
  after?: string;
  before?: string;
  sort?: QuerySortOrder;
}

const TEXT_KEYS = ['all', 'any', 'not', 'region', 'tokens', 'folder', 'after', 'before'] as const;

/**
 * The router parses `all=12` as a number and `after=2020` too: every value back to its text.
 * Every key is named, undefined when absent or unreadable: the router keeps the raw value of a
 * key the check leaves out (a `layer=22x` would reach the view as text and match no layer).
 */
export function querySearchOf(s: Record<string, unknown>, layer: number | undefined): QuerySearch {
  const out: QuerySearch = { layer, sort: undefined };
  for (const k of TEXT_KEYS) {
    const v = s[k];
    out[k] = (typeof v === 'string' && v.trim() !== '') || typeof v === 'number' ? String(v) : undefined;
  }
  if (s.sort === 'activation' || s.sort === 'date' || s.sort === 'date-asc') out.sort = s.sort;
  return out;
}

/**
 * The route's declared search type: the router merges every route's search types into one for
 * navigation, and the features table narrows `sort` to its own values, so the query route keeps
 * its `sort` (still in the URL as `sort=`) out of the declared type; read it with `querySearchOfRoute`.
 */
export type QueryRouteSearch = Omit<QuerySearch, 'sort'>;

export function querySearchOfRoute(s: QueryRouteSearch): QuerySearch {
  return s as QuerySearch;
}

export type QueryFilter = Omit<QueryRequest, 'limit' | 'offset'>;

/** The request the URL asks for (without paging), or what is wrong with it, each naming its parameter. */
export function requestOf(search: QuerySearch): { request: QueryFilter | null; problems: string[] } {
  const problems: string[] = [];
  const req: QueryFilter = {};
  const read = <T>(key: keyof QuerySearch, parse: (v: string) => T): T | undefined => {
    const v = search[key];
    if (v === undefined || typeof v !== 'string') return undefined;
    try {
      return parse(v);
    } catch (e) {
      problems.push(`${key}: ${(e as Error).message}`);
      return undefined;
    }
  };
  const all = read('all', parseTermList);
  const any = read('any', parseTermList);
  const not = read('not', parseTermList);
  const regions = read('region', parseRegionList);
  const tokens = read('tokens', parseTokenList);
  const after = read('after', parseQueryDate);
  const before = read('before', parseQueryDate);
  if (all?.length) req.all = all;
  if (any?.length) req.any = any;
  if (not?.length) req.not = not;
  if (regions?.length) req.regions = regions;
  if (tokens?.length) req.tokens = tokens;
  if (search.folder) req.folder = search.folder;
  if (after !== undefined) req.after = after;
  if (before !== undefined) req.before = before;
  if (search.sort) req.sort = search.sort;
  if (search.layer !== undefined) req.layer = search.layer;
  for (const r of regions ?? []) {
    if (r.some((v) => v > 15)) problems.push(`region: ${search.region} is outside the 16 × 16 patch grid (rows and columns 0–15)`);
  }
  const terms = (req.all?.length ?? 0) + (req.any?.length ?? 0) + (req.not?.length ?? 0);
  return { request: problems.length === 0 && terms > 0 ? req : null, problems };
}

/** The URL's own text of a query search (for the inspector's walk order). */
export function querySearchText(search: QuerySearch): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(search)) if (v !== undefined && v !== '') p.set(k, String(v));
  return p.toString();
}

export function querySearchFromText(text: string): QuerySearch {
  const raw: Record<string, unknown> = Object.fromEntries(new URLSearchParams(text));
  const layer = Number(raw.layer);
  return querySearchOf(raw, raw.layer !== undefined && Number.isInteger(layer) && layer >= 0 ? layer : undefined);
}
