/**
 * Paging a bounded scan (a patch token's gallery, a region query): each call reads a bounded
 * number of photos' latents and answers only the photos nothing unread can displace, with a
 * `cursor` to go on. The views keep calling, page after page, as their grid nears its end; an
 * answer may hold no photo yet (the scan is still on its way), and then they call again at once.
 */
import { EngineCallError } from '../platform.js';

/** Where the next call starts: a page (`offset`) and, within it, the scan's cursor. */
export interface PageParam {
  offset: number;
  cursor?: string;
}

export const FIRST_PAGE: PageParam = { offset: 0 };

/**
 * Latents a scan's first call reads (its first photos come soon) and each later call. A read is
 * ~0.1 ms when the library's pages are in the OS cache and 1-3 ms when they come from disk (100k
 * photos, bench:ui): 500 keeps a cold first answer near half a second.
 */
export const FIRST_READS = 500;
export const NEXT_READS = 4000;
/**
 * And the time each call may take: the query workers are few, and a scan of cold latents must
 * not hold one for seconds while the inspector or another grid waits for it.
 */
export const FIRST_MS = 150;
export const NEXT_MS = 400;

/** The scan fields of a call: a bounded first call, then the cursor with a larger bound. */
export function scanFields(bounded: boolean, param: PageParam): { maxReads?: number; maxMs?: number; cursor?: string } {
  if (!bounded) return {};
  return param.cursor ? { maxReads: NEXT_READS, maxMs: NEXT_MS, cursor: param.cursor } : { maxReads: FIRST_READS, maxMs: FIRST_MS };
}

/**
 * react-query's getNextPageParam for pages of `limit` photos whose calls may end early: the
 * cursor while the page's scan goes on, else the next page when this one came full.
 */
export function nextPageParam(
  last: { items: unknown[]; cursor?: string },
  pages: { items: unknown[] }[],
  lastParam: PageParam,
  params: PageParam[],
  limit: number,
): PageParam | undefined {
  if (last.cursor) return { offset: lastParam.offset, cursor: last.cursor };
  let got = 0;
  pages.forEach((p, i) => {
    if (params[i]?.offset === lastParam.offset) got += p.items.length;
  });
  return got < limit ? undefined : { offset: lastParam.offset + limit };
}

/**
 * A request a newer one of the same view replaced before it ran (the query pool's `channel`):
 * nobody waits for its answer, so it is no error to show.
 */
export function isSuperseded(error: unknown): boolean {
  return error instanceof EngineCallError && error.code === 'superseded';
}

/** The nearest ancestor that scrolls (the view's own scroll area). */
export function scrollParent(el: HTMLElement | null): HTMLElement | null {
  for (let p = el?.parentElement ?? null; p; p = p.parentElement) {
    const overflow = getComputedStyle(p).overflowY;
    if (overflow === 'auto' || overflow === 'scroll') return p;
  }
  return null;
}
