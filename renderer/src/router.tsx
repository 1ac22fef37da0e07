/**
 * Hash routes (`#/library`, `#/feature/12?token=cls`, ...): a reload or a pasted link lands on
 * the same view. Search parameters are checked here so views get typed values.
 */
import { createHashHistory, createRootRoute, createRoute, createRouter, Navigate } from '@tanstack/react-router';
import { Frame, NotFound } from './shell/Frame.js';
import { useAppState } from './queries.js';
import { SetupView } from './views/Setup.js';
import { LibraryView } from './views/Library.js';
import { Placeholder } from './views/Placeholder.js';
import { MetricsView } from './views/Metrics.js';
import { FeatureView } from './views/Feature.js';
import { ImageView } from './views/Image.js';

export type TokenChoice = 'cls' | 'any' | number;

function layerOf(search: Record<string, unknown>): number | undefined {
  const n = Number(search.layer);
  return search.layer !== undefined && search.layer !== '' && Number.isInteger(n) && n >= 0 ? n : undefined;
}

function tokenOf(value: unknown): TokenChoice {
  if (value === 'cls' || value === 'any') return value;
  const n = Number(value);
  return value !== undefined && value !== '' && Number.isInteger(n) && n >= 0 && n <= 256 ? n : 'cls';
}

const rootRoute = createRootRoute({ component: Frame, notFoundComponent: NotFound });

function Home() {
  const state = useAppState();
  if (!state.data) return null;
  return <Navigate to={state.data.library ? '/library' : '/setup'} replace />;
}

const homeRoute = createRoute({ getParentRoute: () => rootRoute, path: '/', component: Home });
const setupRoute = createRoute({ getParentRoute: () => rootRoute, path: '/setup', component: SetupView });
const libraryRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/library',
  validateSearch: (s: Record<string, unknown>): { folder?: string } => (typeof s.folder === 'string' && s.folder ? { folder: s.folder } : {}),
  component: LibraryView,
});
const featuresRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/features',
  validateSearch: (s: Record<string, unknown>): { layer?: number } => ({ layer: layerOf(s) }),
  component: () => (
    <Placeholder title="Features" what="features">
      A table of every SAE feature of the library's configuration: id, your label, how often it fires (log bar), its
      largest activation, how many photos it fires on, a small activation histogram and a strip of its strongest
      photos. Search by id or label; filter dead and dense features; sort by frequency, maximum or id.
    </Placeholder>
  ),
});
export const featureRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/feature/$id',
  validateSearch: (s: Record<string, unknown>): { layer?: number; token: TokenChoice } => ({ layer: layerOf(s), token: tokenOf(s.token) }),
  component: FeatureView,
});
const imagesRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/image',
  component: () => (
    <Placeholder title="Images" what="images">
      The token inspector: a photo's model crop with its 16 × 16 patch grid, the features of each patch with their
      values, heat overlays for one feature or for the reconstruction error, and similar photos from your library.
      Open it from any photo in the library.
    </Placeholder>
  ),
});
export const imageRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/image/$imageId',
  validateSearch: (s: Record<string, unknown>): { layer?: number } => ({ layer: layerOf(s) }),
  component: ImageView,
});
const steerRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/steer',
  component: () => (
    <Placeholder title="Steering" what="steering">
      Edit SAE features on a photo's tokens (clamp to a value or scale them), run the rest of CLIP, and see how the
      photo's embedding and its nearest photos in your library change: before and after, side by side.
    </Placeholder>
  ),
});
export const metricsRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/metrics',
  validateSearch: (s: Record<string, unknown>): { layer?: number } => ({ layer: layerOf(s) }),
  component: MetricsView,
});

const routeTree = rootRoute.addChildren([
  homeRoute,
  setupRoute,
  libraryRoute,
  featuresRoute,
  featureRoute,
  imagesRoute,
  imageRoute,
  steerRoute,
  metricsRoute,
]);

export const router = createRouter({ routeTree, history: createHashHistory(), defaultPreload: false, scrollRestoration: false });

declare module '@tanstack/react-router' {
  interface Register {
    router: typeof router;
  }
}
