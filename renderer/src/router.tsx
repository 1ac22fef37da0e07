/**
 * Hash routes (`#/library`, `#/feature/12?token=cls`, ...): a reload or a pasted link lands on
 * the same view. Search parameters are checked here so views get typed values.
 */
import { createHashHistory, createRootRoute, createRoute, createRouter, lazyRouteComponent, Navigate } from '@tanstack/react-router';
import { Frame, NotFound } from './shell/Frame.js';
import { useAppState } from './queries.js';
import { LibraryView } from './views/Library.js';
import { Placeholder } from './views/Placeholder.js';
import { querySearchOf, type QueryRouteSearch } from './ui/query-params.js';
import { steerSearchOf, featuresSearchOf, type SteerSearch, type FeaturesSearch } from './ui/search-params.js';

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

export type Overlay = 'heat' | 'error' | 'none';
export type InspectorTab = 'token' | 'pooled' | 'image';

export interface ImageSearch {
  layer?: number;
  /** The pinned token: 0 = CLS, 1..256 = patches row-major (default CLS). */
  token?: number;
  /** The feature whose heat is drawn. */
  feature?: number;
  overlay?: Overlay;
  tab?: InspectorTab;
  /** Show the whole photo with the unseen margins dimmed. */
  full?: true;
  /** The selected region of the patch grid, `r0-r1xc0-c1` (the query grammar). */
  region?: string;
  /** The list the photo was opened from (its walk order, ui/walk.ts) and its position there. */
  from?: string;
  at?: number;
}

function imageSearch(s: Record<string, unknown>): ImageSearch {
  const out: ImageSearch = {};
  const layer = layerOf(s);
  if (layer !== undefined) out.layer = layer;
  const token = Number(s.token);
  if (s.token !== undefined && s.token !== '' && Number.isInteger(token) && token >= 0 && token <= 256) out.token = token;
  const feature = Number(s.feature);
  if (s.feature !== undefined && s.feature !== '' && Number.isInteger(feature) && feature >= 0) out.feature = feature;
  if (s.overlay === 'heat' || s.overlay === 'error' || s.overlay === 'none') out.overlay = s.overlay;
  if (s.tab === 'token' || s.tab === 'pooled' || s.tab === 'image') out.tab = s.tab;
  if (s.full === true || s.full === 1 || s.full === '1' || s.full === 'true') out.full = true;
  if (typeof s.region === 'string' && /^\d+(-\d+)?x\d+(-\d+)?$/.test(s.region)) out.region = s.region;
  if (typeof s.from === 'string' && s.from !== '') out.from = s.from;
  const at = Number(s.at);
  if (s.at !== undefined && s.at !== '' && Number.isInteger(at) && at >= 0) out.at = at;
  return out;
}

/**
 * TanStack merges a route's checked search over the raw one (`{ ...raw, ...checked }`), so a
 * parameter the check left out because it was unreadable would come back raw (`token=abc` where a
 * number is typed). Every raw key is named undefined first; the check's answer wins.
 */
function checked<T extends object>(check: (s: Record<string, unknown>) => T): (s: Record<string, unknown>) => T {
  return (s) => ({ ...Object.fromEntries(Object.keys(s).map((k) => [k, undefined])), ...check(s) });
}

/**
 * The library (the screen the app opens on) is in the page's first script; every other view is a
 * chunk of its own, fetched when first shown or, sooner, once the first screen is painted
 * (view-chunks.ts), so opening the library parses only the shell and the library.
 */
const steerModule = () => import('./views/Steer.js');

const rootRoute = createRootRoute({ component: Frame, notFoundComponent: NotFound });

function Home() {
  const state = useAppState();
  if (!state.data) return null;
  return <Navigate to={state.data.library ? '/library' : '/setup'} replace />;
}

const homeRoute = createRoute({ getParentRoute: () => rootRoute, path: '/', component: Home });
const setupRoute = createRoute({ getParentRoute: () => rootRoute, path: '/setup', component: lazyRouteComponent(() => import('./views/Setup.js'), 'SetupView') });
const libraryRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/library',
  validateSearch: checked((s: Record<string, unknown>): { folder?: string } => (typeof s.folder === 'string' && s.folder ? { folder: s.folder } : {})),
  component: LibraryView,
});
export const featuresRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/features',
  validateSearch: checked((s: Record<string, unknown>): FeaturesSearch => featuresSearchOf(s, layerOf(s))),
  component: lazyRouteComponent(() => import('./views/Features.js'), 'FeaturesView'),
});
export const featureRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/feature/$id',
  // view: the Top tab unless `quantiles` (samples across the activation distribution).
  validateSearch: checked((s: Record<string, unknown>): { layer?: number; token: TokenChoice; view?: 'quantiles' } =>
    ({ layer: layerOf(s), token: tokenOf(s.token), ...(s.view === 'quantiles' ? { view: 'quantiles' as const } : {}) })),
  component: lazyRouteComponent(() => import('./views/Feature.js'), 'FeatureView'),
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
  validateSearch: checked(imageSearch),
  component: lazyRouteComponent(() => import('./views/Image.js'), 'ImageView'),
});
const steerRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/steer',
  validateSearch: checked((s: Record<string, unknown>): { layer?: number } => ({ layer: layerOf(s) })),
  component: lazyRouteComponent(steerModule, 'SteerPickView'),
});
export const steerImageRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/steer/$imageId',
  validateSearch: checked((s: Record<string, unknown>): SteerSearch => steerSearchOf(s, layerOf(s))),
  component: lazyRouteComponent(steerModule, 'SteerView'),
});
export const queryRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/query',
  validateSearch: checked((s: Record<string, unknown>): QueryRouteSearch => querySearchOf(s, layerOf(s))),
  component: lazyRouteComponent(() => import('./views/Query.js'), 'QueryView'),
});
export const metricsRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/metrics',
  validateSearch: checked((s: Record<string, unknown>): { layer?: number } => ({ layer: layerOf(s) })),
  component: lazyRouteComponent(() => import('./views/Metrics.js'), 'MetricsView'),
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
  steerImageRoute,
  queryRoute,
  metricsRoute,
]);

export const router = createRouter({ routeTree, history: createHashHistory(), defaultPreload: false, scrollRestoration: false });

/** The views in their own chunks, the likeliest next after the first screen first (view-chunks.ts). */
export const laterViews = [imageRoute, featureRoute, featuresRoute, queryRoute, steerImageRoute, steerRoute, metricsRoute, setupRoute];

declare module '@tanstack/react-router' {
  interface Register {
    router: typeof router;
  }
}
