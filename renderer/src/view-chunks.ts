/**
 * Every view but the library is a chunk of its own (router.tsx), so opening the library runs
 * only the shell and the library. Once the first screen is painted, the other views' chunks are
 * fetched and run one after the other, each in a short task of its own, the likeliest next view
 * first, so going on from the first screen (a photo to the inspector, the rail to a feature)
 * waits on no script. One at a time, at the page's idle moments: the first screen's thumbnails
 * are loading then, and the page's HTTP/1.1 connections are few (ui/thumb-gate.ts). Not only
 * when the page is idle for long: thumbnails keep it busy for a second or more, and the next view
 * is often asked for within that time.
 */
import type { AnyRoute, AnyRouter } from '@tanstack/react-router';

/** Each chunk waits at most this long for an idle moment. */
const IDLE_WAIT_MS = 50;

/** Starts once the current frame is painted; returns the cancel. */
export function prefetchViewsAfterPaint(router: AnyRouter, routes: readonly AnyRoute[]): () => void {
  let cancelled = false;
  const next = async () => {
    for (const route of routes) {
      await idle();
      if (cancelled) return;
      // A chunk that fails here is fetched again when its view is opened, and fails there.
      await router.loadRouteChunk(route)?.catch(() => undefined);
    }
  };
  // The task after a frame's callbacks runs after its paint.
  const frame = requestAnimationFrame(() => setTimeout(() => void next()));
  return () => {
    cancelled = true;
    cancelAnimationFrame(frame);
  };
}

function idle(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof requestIdleCallback === 'function') requestIdleCallback(() => resolve(), { timeout: IDLE_WAIT_MS });
    else setTimeout(resolve, 0);
  });
}
