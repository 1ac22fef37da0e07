/**
 * The inspector's walk order: the list a photo was opened from, named in its URL as
 * `from=feature:<id>:<token>` (a feature gallery), `from=query:<the query's URL parameters>` or
 * `from=library[:<folder>]`, with `at=<position>`. Neighbours are fetched through the same API
 * calls the list itself made (gallery.get, query.run, images.list), three items around `at`;
 * without a usable `at` the photo is looked for page by page.
 */
import { useQuery } from '@tanstack/react-query';
import { engine } from '../platform.js';
import { keys } from '../queries.js';
import { querySearchFromText, querySearchText, requestOf, type QuerySearch } from './query-params.js';

export type WalkSource =
  | { kind: 'library'; folder?: string }
  | { kind: 'feature'; feature: number; token: 'cls' | 'any' | number }
  | { kind: 'query'; search: QuerySearch };

export function parseFrom(from: string | undefined): WalkSource {
  if (from?.startsWith('feature:')) {
    const [, f, t] = from.split(':');
    const feature = Number(f);
    const token = t === 'cls' || t === 'any' ? t : Number(t);
    if (Number.isInteger(feature) && feature >= 0 && (typeof token === 'string' || (Number.isInteger(token) && token >= 0 && token <= 256))) return { kind: 'feature', feature, token };
  }
  if (from?.startsWith('query:')) return { kind: 'query', search: querySearchFromText(from.slice('query:'.length)) };
  if (from?.startsWith('library:') && from.length > 'library:'.length) return { kind: 'library', folder: from.slice('library:'.length) };
  return { kind: 'library' };
}

export function fromText(source: WalkSource): string {
  if (source.kind === 'feature') return `feature:${source.feature}:${source.token}`;
  if (source.kind === 'query') return `query:${querySearchText(source.search)}`;
  return source.folder ? `library:${source.folder}` : 'library';
}

/** "feature 12's gallery (CLS token)": where the walk goes, for its label. */
export function sourceName(source: WalkSource): string {
  if (source.kind === 'feature') {
    const where = source.token === 'cls' ? 'CLS token' : source.token === 'any' ? 'any token' : `token ${source.token}`;
    return `feature ${source.feature}'s photos (${where})`;
  }
  if (source.kind === 'query') return 'the query results';
  return source.folder ? 'this folder' : 'the library';
}

/** Rejects with an AbortError when `signal` fires: react-query then drops the stale answer. */
export function abortable<T>(call: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return call;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new DOMException('superseded by a newer request', 'AbortError'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    call.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

interface Slice {
  ids: number[];
  /** The list's length; null when the list does not know it (a region query stopped early). */
  total: number | null;
}

async function slice(source: WalkSource, offset: number, limit: number, layer: number | undefined): Promise<Slice> {
  if (source.kind === 'feature') {
    const g = await engine['gallery.get']({ feature: source.feature, token: source.token, layer, limit, offset });
    return { ids: g.items.map((i) => i.imageId), total: g.total };
  }
  if (source.kind === 'query') {
    const { request } = requestOf(source.search);
    if (!request) return { ids: [], total: 0 };
    const r = await engine['query.run']({ ...request, layer: request.layer ?? layer, limit, offset });
    return { ids: r.items.map((i) => i.imageId), total: r.total };
  }
  const p = await engine['images.list']({ limit, offset, folder: source.folder });
  return { ids: p.items.map((i) => i.imageId), total: p.total };
}

export interface WalkPlace {
  /** 0-based position in the list; null when the photo is not (or no longer) in it. */
  index: number | null;
  total: number | null;
  prev: number | null;
  next: number | null;
}

const SCAN_PAGE = 200;
/** How far the page-by-page search looks before giving up (the list may have changed). */
const SCAN_LIMIT = 5000;

async function locate(source: WalkSource, id: number, at: number | undefined, layer: number | undefined): Promise<WalkPlace> {
  if (at !== undefined) {
    const offset = Math.max(0, at - 1);
    const s = await slice(source, offset, at - offset + 2, layer);
    const i = at - offset;
    if (s.ids[i] === id) return { index: at, total: s.total, prev: s.ids[i - 1] ?? null, next: s.ids[i + 1] ?? null };
  }
  let before: number | null = null;
  for (let offset = 0; offset < SCAN_LIMIT; offset += SCAN_PAGE) {
    // One more than a page: the next photo of the last one of the page.
    const s = await slice(source, offset, SCAN_PAGE + 1, layer);
    const i = s.ids.indexOf(id);
    if (i >= 0 && i < SCAN_PAGE) return { index: offset + i, total: s.total, prev: i > 0 ? s.ids[i - 1]! : before, next: s.ids[i + 1] ?? null };
    if (s.ids.length <= SCAN_PAGE) return { index: null, total: s.total, prev: null, next: null };
    before = s.ids[SCAN_PAGE - 1]!;
  }
  return { index: null, total: null, prev: null, next: null };
}

/** The photos before and after this one in the list it was opened from. */
export function useWalk(libraryFile: string, source: WalkSource, id: number, at: number | undefined, layer: number | undefined, enabled: boolean) {
  return useQuery({
    queryKey: [...keys.lib, 'walk', libraryFile, fromText(source), id, at ?? null, layer ?? null],
    enabled,
    queryFn: ({ signal }) => abortable(locate(source, id, at, layer), signal),
    staleTime: 60_000,
  });
}
