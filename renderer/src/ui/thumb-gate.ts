/**
 * Thumbnails wait for a slot before they ask the server. The web mode's page reaches its server
 * over HTTP/1.1: six connections to the host, one of them held by the event stream. A view's
 * hundred thumbnails would take the other five, and the next view's engine calls would queue in
 * the browser behind them (measured: a query's call waited 450 ms for a connection after leaving
 * the features table). With at most SLOTS thumbnails in flight, calls always find a connection.
 *
 * Which thumbnail goes next: those on screen before those outside it (an IntersectionObserver;
 * `loading="lazy"` would hold a slot for an image the browser never starts), then the newest
 * burst of requests first, each burst in its own order: the view or the scroll position the user
 * is looking at now, top to bottom. The rows a virtualised grid keeps just outside its scroll
 * area load after those. A thumbnail that leaves the page before its answer arrives gives its
 * request up, so a view left behind stops loading at once.
 */

/** The desktop app's custom protocol has no connection limit; the page's HTTP/1.1 has six. */
const SLOTS_HTTP = 3;
const SLOTS_DESKTOP = 12;
/** Requests closer together than this are one burst (one render of a view, one scroll step). */
const BURST_MS = 50;
/** Near the screen: within half a screen of the window (a scroll area's edge still clips). */
const NEAR = '50% 0px';
/** What an image shows once its request is given up: a 1 × 1 transparent GIF (no error event). */
const BLANK = 'data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7';

interface Waiting {
  url: string;
  burst: number;
  seq: number;
  near: boolean;
  state: 'waiting' | 'loading';
  done: () => void;
}

export interface ThumbGate {
  /** Lets `img` load `url` when a slot is free; returns the function that gives it up. */
  admit(img: HTMLImageElement, url: string): () => void;
  /** Requests in flight (for tests). */
  inFlight(): number;
}

export function createThumbGate(slots: number): ThumbGate {
  const entries = new Map<HTMLImageElement, Waiting>();
  /** URLs the browser has already loaded once: shown at once, from its cache. */
  const loaded = new Set<string>();
  let active = 0;
  let burst = 0;
  let seq = 0;
  let lastAdmit = -Infinity;

  const observer =
    typeof IntersectionObserver === 'undefined'
      ? null
      : new IntersectionObserver(
          (changes) => {
            for (const c of changes) {
              const e = entries.get(c.target as HTMLImageElement);
              if (e) e.near = c.isIntersecting;
            }
            pump();
          },
          { rootMargin: NEAR },
        );

  function next(): [HTMLImageElement, Waiting] | null {
    let best: [HTMLImageElement, Waiting] | null = null;
    for (const pair of entries) {
      const e = pair[1];
      if (e.state !== 'waiting') continue;
      const b = best?.[1];
      if (!b || (e.near && !b.near) || (e.near === b.near && (e.burst > b.burst || (e.burst === b.burst && e.seq < b.seq)))) best = pair;
    }
    return best;
  }

  function pump(): void {
    while (active < slots) {
      const pick = next();
      if (!pick) return;
      const [img, e] = pick;
      e.state = 'loading';
      active++;
      observer?.unobserve(img);
      img.addEventListener('load', e.done, { once: true });
      img.addEventListener('error', e.done, { once: true });
      img.src = e.url;
    }
  }

  /** One pump after the current task: a view unmounting gives up many requests at once. */
  let pumpQueued = false;
  function queuePump(): void {
    if (pumpQueued) return;
    pumpQueued = true;
    queueMicrotask(() => {
      pumpQueued = false;
      pump();
    });
  }

  function release(img: HTMLImageElement, e: Waiting): void {
    img.removeEventListener('load', e.done);
    img.removeEventListener('error', e.done);
    entries.delete(img);
    if (e.state === 'loading') active--;
  }

  return {
    admit(img, url) {
      if (loaded.has(url)) {
        img.src = url;
        return () => undefined;
      }
      const now = performance.now();
      if (now - lastAdmit > BURST_MS) burst++;
      lastAdmit = now;
      const e: Waiting = {
        url,
        burst,
        seq: seq++,
        near: observer === null,
        state: 'waiting',
        done: () => {
          if (img.complete && img.naturalWidth > 0) loaded.add(url);
          release(img, e);
          pump();
        },
      };
      entries.set(img, e);
      if (observer) observer.observe(img);
      else pump();
      return () => {
        if (entries.get(img) !== e) return;
        const wasLoading = e.state === 'loading';
        observer?.unobserve(img);
        release(img, e);
        // Pointing the image elsewhere is what makes the browser drop its request (taking the
        // element out of the page does not). Only then is a slot free: a view of tiles leaving
        // the page must not scan the waiting ones once per tile.
        if (wasLoading) {
          img.src = BLANK;
          queuePump();
        }
      };
    },
    inFlight: () => active,
  };
}

let shared: ThumbGate | null = null;

/** The page's gate: `desktop` when the page runs in the app's window (custom protocol). */
export function thumbGate(desktop: boolean): ThumbGate {
  return (shared ??= createThumbGate(desktop ? SLOTS_DESKTOP : SLOTS_HTTP));
}
