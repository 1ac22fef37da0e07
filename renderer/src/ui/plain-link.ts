/**
 * A plain anchor to the inspector, for grid tiles: the router's <Link> follows the router's
 * state and re-renders on every navigation, and thousands of tiles pass by while a grid scrolls
 * (its link props were ~10 ms of a gallery's first render). The address is built once; a plain
 * left click navigates in place, a modified one (new window, tab) is left to the browser.
 */
import type { MouseEvent } from 'react';
import type { useRouter } from '@tanstack/react-router';
import type { ImageSearch } from '../router.js';

type Router = ReturnType<typeof useRouter>;

/** The props of an anchor that opens photo `imageId` in the inspector. */
export function inspectorLink(router: Router, imageId: number, search: ImageSearch): { href: string; onClick: (e: MouseEvent) => void } {
  const to = { to: '/image/$imageId' as const, params: { imageId: String(imageId) }, search };
  return {
    href: router.history.createHref(router.buildLocation(to).href),
    onClick: (e) => {
      if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
      e.preventDefault();
      void router.navigate(to);
    },
  };
}
