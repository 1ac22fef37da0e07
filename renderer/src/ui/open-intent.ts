/**
 * The pointer resting on a photo's tile (or pressing it) usually means it is about to be opened:
 * its inspector details are asked for then, so the inspector opens on data already here. A
 * pointer sweeping across a grid asks for nothing (it must rest INTENT_MS on a tile). A click
 * without a pointer before it (Enter on a focused tile) asks as it happens, before the route
 * changes and the inspector renders (~50 ms sooner than the inspector's own query).
 */
import type { PointerEvent } from 'react';
import { prefetchImage } from '../queries.js';

const INTENT_MS = 120;
let timer: ReturnType<typeof setTimeout> | null = null;

function cancel(): void {
  if (timer !== null) clearTimeout(timer);
  timer = null;
}

/** Pointer handlers for a tile that opens photo `imageId` of `libraryFile` in the inspector. */
export function openIntent(libraryFile: string, imageId: number, layer: number | undefined) {
  const now = () => {
    cancel();
    prefetchImage(libraryFile, imageId, layer);
  };
  return {
    onPointerEnter: (e: PointerEvent) => {
      if (e.pointerType !== 'mouse') return;
      cancel();
      timer = setTimeout(now, INTENT_MS);
    },
    onPointerLeave: cancel,
    onPointerDown: now,
    // Capture: before the tile's own click handler navigates (asking twice is one request).
    onClickCapture: now,
  };
}
