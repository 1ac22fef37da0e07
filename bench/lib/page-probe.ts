/**
 * What bench:ui installs in the page (as an init script, before the app's own code): a record
 * of main-thread long tasks and long animation frames, and helpers that time, frame by frame,
 * from an action (a hash navigation, a click) to data on screen and to the first image drawn.
 *
 * Plain JavaScript in a string: the page runs it as is (a function would carry the bundler's
 * helpers with it, and the app's CSP forbids evaluating strings from the page itself).
 */
export const PAGE_PROBE = String.raw`
(() => {
  const long = [];
  const observe = (type) => {
    try {
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) long.push({ type, start: e.startTime, duration: e.duration, blocking: e.blockingDuration ?? e.duration });
      }).observe({ type, buffered: true });
    } catch {}
  };
  observe('longtask');
  observe('long-animation-frame');
  const frame = () => new Promise((r) => requestAnimationFrame(() => r(performance.now())));
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const drawn = (sel) => {
    for (const i of document.querySelectorAll(sel)) if (i.complete && i.naturalWidth > 0) return true;
    return false;
  };
  /** The longest long task and long animation frame that overlap [t0, t1]. */
  const longest = (t0, t1) => {
    let task = 0;
    let loaf = 0;
    for (const e of long) {
      if (e.start + e.duration < t0 || e.start > t1) continue;
      if (e.type === 'longtask') task = Math.max(task, e.duration);
      else loaf = Math.max(loaf, e.blocking);
    }
    return { task, loaf };
  };
  const act = (action) => {
    if (action.kind === 'hash') location.hash = action.hash;
    else if (action.kind === 'click') {
      const el = document.querySelector(action.selector);
      if (!el) throw new Error('nothing matches ' + action.selector);
      el.click();
    }
  };
  window.__bench = {
    longest,
    /**
     * Runs the action (none: timed from the navigation's start), then checks every animation
     * frame for the data selector and for a loaded image among the image selector's matches.
     * Times in ms from the action; null when it did not happen within the timeout.
     */
    async measure({ action, data, image, fail, timeoutMs }) {
      const t0 = action.kind === 'none' ? 0 : performance.now();
      act(action);
      let tData = null;
      let tImage = null;
      let failed = null;
      const until = performance.now() + timeoutMs;
      while (performance.now() < until) {
        const now = await frame();
        if (fail) {
          const f = document.querySelector(fail);
          if (f) { failed = (f.textContent || '').trim().slice(0, 200); break; }
        }
        if (tData === null && document.querySelector(data)) tData = now - t0;
        if (tData !== null && (!image || drawn(image))) {
          tImage = image ? now - t0 : null;
          break;
        }
      }
      const t1 = performance.now();
      await sleep(150);
      return { data: tData, image: tImage, failed, longest: longest(t0, t1), t0, t1 };
    },
    /**
     * Scrolls to the end of a list: brings its last item into view (a virtualised list grows
     * its window; a paged one shows its "more" button), presses "more" when there is one, and
     * counts the <img> elements in the page every frame. The scroll area is 'scroller', or the
     * nearest scrolling ancestor of 'scrollParentOf' (a grid virtualised in its view's scroll
     * area). With 'rank' (an item attribute holding its index) the items reached are the highest
     * index + 1, and 'setSize' (an item attribute) gives the list's length when known (> 0).
     * Stops at the end (the length reached, or the area at its bottom for 'settleFrames' frames),
     * or at maxItems.
     */
    async scrollToEnd({ item, more, scroller, scrollParentOf, rank, setSize, maxItems, settleFrames, timeoutMs }) {
      const t0 = performance.now();
      const settle = settleFrames ?? 30;
      const nearest = (e) => {
        for (let p = e ? e.parentElement : null; p; p = p.parentElement) {
          const o = getComputedStyle(p).overflowY;
          if (o === 'auto' || o === 'scroll') return p;
        }
        return null;
      };
      let maxImgs = 0;
      let lastCount = -1;
      let still = 0;
      let items = 0;
      let total = null;
      while (performance.now() - t0 < timeoutMs) {
        const el = scroller ? document.querySelector(scroller) : scrollParentOf ? nearest(document.querySelector(scrollParentOf)) : null;
        if (el) el.scrollTop += el.clientHeight * 0.9;
        const all = document.querySelectorAll(item);
        if (rank) {
          for (const a of all) items = Math.max(items, Number(a.getAttribute(rank)) + 1);
          const n = setSize && all.length ? Number(all[0].getAttribute(setSize)) : 0;
          if (n > 0) total = n;
        } else items = all.length;
        if (!el && all.length) all[all.length - 1].scrollIntoView({ block: 'end' });
        const btn = more ? [...document.querySelectorAll(more)].find((b) => !b.disabled) : null;
        if (btn) btn.scrollIntoView({ block: 'end' }), btn.click();
        await frame();
        maxImgs = Math.max(maxImgs, document.querySelectorAll('img').length);
        const marker = el ? el.scrollTop : items;
        if (marker === lastCount) still++; else still = 0;
        lastCount = marker;
        if (maxItems && items >= maxItems) break;
        if (total !== null && items >= total) break;
        if (el && el.scrollTop + el.clientHeight >= el.scrollHeight - 2 && still > settle) break;
        if (!el && still > 90 && !btn) break;
      }
      const t1 = performance.now();
      await sleep(150);
      return { items, total, maxImgs, seconds: (t1 - t0) / 1000, longest: longest(t0, t1) };
    },
    /** Long tasks from t0 on (e.g. while an index job runs). */
    since(t0) {
      return longest(t0, performance.now());
    },
    now: () => performance.now(),
  };
})();
`;
