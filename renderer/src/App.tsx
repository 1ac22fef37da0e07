/**
 * The app: the engine's query cache, tooltips and the hash router, with the first view's route
 * loaded before React's first render (mount.tsx), and the other views' chunks fetched once the
 * first screen is painted (view-chunks.ts).
 */
import { StrictMode, useEffect } from 'react';
import { QueryClientProvider } from '@tanstack/react-query';
import { RouterProvider } from '@tanstack/react-router';
import { Tooltip } from 'radix-ui';
import { adoptStartup, queryClient } from './queries.js';
import { laterViews, router } from './router.js';
import { prefetchViewsAfterPaint } from './view-chunks.js';

// The first screen's calls left with the page's first script; their answers go to the cache
// before anything renders.
adoptStartup();

export function loadFirstRoute(): Promise<void> {
  return router.load();
}

export function App() {
  useEffect(() => prefetchViewsAfterPaint(router, laterViews), []);
  return (
    <StrictMode>
      <QueryClientProvider client={queryClient}>
        <Tooltip.Provider>
          <RouterProvider router={router} />
        </Tooltip.Provider>
      </QueryClientProvider>
    </StrictMode>
  );
}
