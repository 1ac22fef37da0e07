/**
 * The inspector's walk order: the list a photo was opened from, named in its URL as
 * `from=feature:<id>:<token>` (a feature gallery), `from=query:<the query's URL parameters>` or
 * `from=library[:<folder>]`, with `at=<position>`. Neighbours are fetched through the same API
 * calls, in the same pages, the list's grid makes (gallery.get, query.run, images.list): a patch
 * token's gallery or a region query in bounded calls, cursor after cursor, only as far as the
 * photo after `at` (the next page is asked for ahead near a page's end). Without a usable `at`
 * the photo is looked for from the list's start.
 */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { engine } from '../platform.js';
import { keys } from '../queries.js';
import { scanFields } from './paging.js';
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

/** Pages of the list, as the grids page it: bounded scans for a patch token or a region. */
const BOUNDED_PAGE = 300;
const PAGE = 200;
/** Near this many photos of its page's end, the next page is asked for before it is needed. */
const AHEAD = 20;
/** How far the search for a photo without a usable `at` looks before giving up (the list may have changed). */
const SCAN_LIMIT = 5000;
/** The walk's requests: a newer one replaces a waiting older one (the query pool's channel). */
const CHANNEL = 'inspector-walk';
const AHEAD_CHANNEL = 'inspector-walk-ahead';

interface Page {
  ids: number[];
  /** The scan's cursor while the page is not complete. */
  cursor?: string;
  done: boolean;
  /** Its calls, one after the other. */
  busy: Promise<void> | null;
}

/** One call of the list at a page: its next photos, the scan's cursor, the list's length. */
type Call = (offset: number, limit: number, scan: { maxReads?: number; maxMs?: number; cursor?: string }, channel: string) => Promise<{ ids: number[]; total: number | null; cursor?: string }>;

function callOf(source: WalkSource, layer: number | undefined): { call: Call; bounded: boolean } {
  if (source.kind === 'feature') {
    const { feature, token } = source;
    return {
      bounded: typeof token === 'number' && token !== 0,
      call: async (offset, limit, scan, channel) => {
        const g = await engine['gallery.get']({ feature, token, layer, limit, offset, channel, ...scan });
        return { ids: g.items.map((i) => i.imageId), total: g.total, ...(g.cursor === undefined ? {} : { cursor: g.cursor }) };
      },
    };
  }
  if (source.kind === 'query') {
    const { request } = requestOf(source.search);
    return {
      bounded: Boolean(request?.regions?.length || request?.tokens?.length),
      call: async (offset, limit, scan, channel) => {
        if (!request) return { ids: [], total: 0 };
        const r = await engine['query.run']({ ...request, layer: request.layer ?? layer, limit, offset, channel, ...scan });
        return { ids: r.items.map((i) => i.imageId), total: r.total, ...(r.cursor === undefined ? {} : { cursor: r.cursor }) };
      },
    };
  }
  return {
    bounded: false,
    call: async (offset, limit) => {
      const p = await engine['images.list']({ limit, offset, folder: source.folder });
      return { ids: p.items.map((i) => i.imageId), total: p.total };
    },
  };
}

/**
 * The list a photo was opened from, read page by page as far as a walk needs it: a page's calls
 * stop once they hold the photo asked for, and go on from there (the scan's cursor) when a
 * later one is asked for.
 */
export class WalkList {
  private readonly pages = new Map<number, Page>();
  private readonly call: Call;
  private readonly bounded: boolean;
  readonly pageSize: number;
  /** The list's length, once some call told it. */
  total: number | null = null;

  constructor(source: WalkSource, layer: number | undefined) {
    ({ call: this.call, bounded: this.bounded } = callOf(source, layer));
    this.pageSize = this.bounded ? BOUNDED_PAGE : PAGE;
  }

  /** The photo at `index`, or null past the list's end. */
  async at(index: number, channel = CHANNEL): Promise<number | null> {
    if (index < 0) return null;
    const n = Math.floor(index / this.pageSize);
    const within = index - n * this.pageSize;
    let page = this.pages.get(n);
    if (!page) this.pages.set(n, (page = { ids: [], done: false, busy: null }));
    while (page.ids.length <= within && !page.done) {
      if (page.busy) {
        // Another walk's call (perhaps one a newer request replaced): then this one calls itself.
        await page.busy.catch(() => undefined);
        continue;
      }
      page.busy = this.more(n, page, channel).finally(() => (page.busy = null));
      await page.busy;
    }
    return page.ids[within] ?? null;
  }

  /** Asks for the page after `index`'s when `index` is near its end; errors are the later call's to meet. */
  ahead(index: number): void {
    const next = (Math.floor(index / this.pageSize) + 1) * this.pageSize;
    if (next - index <= AHEAD && (this.total === null || next < this.total)) this.at(next, AHEAD_CHANNEL).catch(() => undefined);
  }

  private async more(n: number, page: Page, channel: string): Promise<void> {
    const scan = scanFields(this.bounded, { offset: n * this.pageSize, ...(page.cursor ? { cursor: page.cursor } : {}) });
    const r = await this.call(n * this.pageSize, this.pageSize, scan, channel);
    page.ids.push(...r.ids);
    if (r.cursor !== undefined) {
      page.cursor = r.cursor;
      return;
    }
    delete page.cursor;
    page.done = true;
    if (r.total !== null) this.total = r.total;
    // A page that came short is the list's last.
    else if (page.ids.length < this.pageSize) this.total = n * this.pageSize + page.ids.length;
  }
}

export interface WalkPlace {
  /** 0-based position in the list; null when the photo is not (or no longer) in it. */
  index: number | null;
  total: number | null;
  prev: number | null;
  next: number | null;
}

async function locate(list: WalkList, id: number, at: number | undefined): Promise<WalkPlace> {
  let index: number | null = null;
  if (at !== undefined && (await list.at(at)) === id) index = at;
  for (let i = 0; index === null && i < SCAN_LIMIT; i++) {
    const here = await list.at(i);
    if (here === null) break;
    if (here === id) index = i;
  }
  if (index === null) return { index: null, total: list.total, prev: null, next: null };
  const next = await list.at(index + 1);
  const prev = await list.at(index - 1);
  list.ahead(index);
  return { index, total: list.total, prev, next };
}

/** The photos before and after this one in the list it was opened from. */
export function useWalk(libraryFile: string, source: WalkSource, id: number, at: number | undefined, layer: number | undefined, enabled: boolean) {
  const client = useQueryClient();
  const from = fromText(source);
  return useQuery({
    queryKey: [...keys.lib, 'walk', libraryFile, from, id, at ?? null, layer ?? null],
    enabled,
    queryFn: async ({ signal }) => {
      // One list per source, kept while walking it; the library's invalidation replaces it.
      const list = await client.fetchQuery({
        queryKey: [...keys.lib, 'walk-list', libraryFile, from, layer ?? null],
        queryFn: () => new WalkList(source, layer),
        staleTime: Infinity,
      });
      return abortable(locate(list, id, at), signal);
    },
    staleTime: 60_000,
  });
}
