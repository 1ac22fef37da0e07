/**
 * Whether a scroll area is being flung (moving more than FAST_SCREENS_PER_S of its own height a
 * second): grids then draw placeholders for the tiles that fly past instead of starting a
 * thumbnail request, decode and paint for each, and fill in the tiles in view once it slows
 * down. A slow wheel or keyboard scroll shows every photo as it comes.
 */
import { useEffect, useState } from 'react';

const FAST_SCREENS_PER_S = 8;
const SETTLE_MS = 120;

export function useFastScroll(el: HTMLElement | null): boolean {
  const [fast, setFast] = useState(false);
  useEffect(() => {
    if (!el) return;
    let lastTop = el.scrollTop;
    let lastAt = performance.now();
    let settle: ReturnType<typeof setTimeout> | null = null;
    let isFast = false;
    const set = (v: boolean) => {
      if (v !== isFast) setFast((isFast = v));
    };
    const onScroll = () => {
      const now = performance.now();
      const speed = Math.abs(el.scrollTop - lastTop) / Math.max(1, el.clientHeight) / Math.max(0.001, (now - lastAt) / 1000);
      lastTop = el.scrollTop;
      lastAt = now;
      if (speed > FAST_SCREENS_PER_S) set(true);
      if (settle !== null) clearTimeout(settle);
      settle = setTimeout(() => set(false), SETTLE_MS);
    };
    el.addEventListener('scroll', onScroll, { passive: true });
    return () => {
      el.removeEventListener('scroll', onScroll);
      if (settle !== null) clearTimeout(settle);
    };
  }, [el]);
  return fast;
}
