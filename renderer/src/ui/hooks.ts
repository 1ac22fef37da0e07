/** Small hooks the explorer views share. */
import { useEffect, useLayoutEffect, useRef, useState, type RefObject } from 'react';

/** `value` once it has stopped changing for `ms` (compared by JSON, so new arrays of equal content do not restart it). */
export function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  const key = JSON.stringify(value);
  useEffect(() => {
    const t = setTimeout(() => setSettled(JSON.parse(key) as T), ms);
    return () => clearTimeout(t);
  }, [key, ms]);
  return settled;
}

/** True when a key event comes from a field where the user is typing. */
export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

/**
 * An element's content width (clientWidth), kept by a ResizeObserver: what the virtualised grids
 * lay their columns out by. 0 until the element is in the page. Measured before paint, so the
 * first frame already has the right columns. `watchParent` also follows its parent's size (what
 * is above a grid moves it without resizing it); `onResize` runs on every measure.
 */
export function useClientWidth(ref: RefObject<HTMLElement | null>, opts: { watchParent?: boolean; onResize?: (el: HTMLElement) => void } = {}): number {
  const [width, setWidth] = useState(0);
  const onResize = useRef(opts.onResize);
  onResize.current = opts.onResize;
  const watchParent = opts.watchParent ?? false;
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => {
      setWidth(el.clientWidth);
      onResize.current?.(el);
    };
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    if (watchParent && el.parentElement) ro.observe(el.parentElement);
    return () => ro.disconnect();
  }, [ref, watchParent]);
  return width;
}
