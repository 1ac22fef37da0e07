/**
 * Engine data for the views, cached by react-query and kept current by the engine's events:
 * `app.state` and `index.status` events replace those queries' data, and a change of library,
 * folders or results invalidates the library's read queries (keys starting with 'lib').
 */
import { useEffect, useSyncExternalStore } from 'react';
import { QueryClient, useQuery, useQueryClient } from '@tanstack/react-query';
import type { AppState } from '../../common/contract/library-schemas.js';
import type { IndexStatus } from '../../common/contract/indexing-schemas.js';
import type { DownloadStatus } from '../../common/contract/models-schemas.js';
import { currentConnection, engine, onConnection, onEngineEvent } from './platform.js';
import { PHOTO_PAGE, startupCalls } from './startup.js';

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: { retry: false, refetchOnWindowFocus: false, staleTime: 30_000 },
    mutations: { retry: false },
  },
});

export const keys = {
  appState: ['app.state'] as const,
  indexStatus: ['index.status'] as const,
  models: ['models.list'] as const,
  download: ['models.downloadStatus'] as const,
  /** Everything read from the open library; invalidated when it changes. */
  lib: ['lib'] as const,
};

const appStateQuery = { queryKey: keys.appState, queryFn: () => engine['app.state'](undefined), staleTime: Infinity };
const failuresQuery = { queryKey: [...keys.lib, 'failures'], queryFn: () => engine['index.failures']({}) };

/** A photo's details for the inspector (image.get). */
export function imageDetailsQuery(libraryFile: string, imageId: number, layer: number | undefined) {
  return {
    queryKey: [...keys.lib, 'image', libraryFile, imageId, layer ?? null],
    queryFn: () => engine['image.get']({ imageId, layer }),
  };
}

/**
 * Asks for a photo's details while the pointer rests on its tile, so the inspector usually opens
 * on data already here (the answer is ~200 KB: every token's features).
 */
export function prefetchImage(libraryFile: string, imageId: number, layer: number | undefined): void {
  void queryClient.prefetchQuery({ ...imageDetailsQuery(libraryFile, imageId, layer), staleTime: 30_000 });
}

export function useAppState() {
  return useQuery(appStateQuery);
}

/**
 * Takes the answers of the calls the page's first script made (startup.ts) into the cache, so
 * the first screen renders with data that was on its way while the app loaded.
 */
export function adoptStartup(): void {
  const calls = startupCalls;
  if (!calls) return;
  if (calls.given) queryClient.setQueryData(keys.appState, calls.given);
  else void queryClient.prefetchQuery({ ...appStateQuery, queryFn: () => calls.appState });
  // Registered at once (with the state in the page) so the views' own queries join these calls
  // rather than making their own.
  const adopt = () => {
    const { failures, firstPhotos } = calls;
    if (failures) void queryClient.prefetchQuery({ ...failuresQuery, queryFn: () => failures });
    if (firstPhotos) void queryClient.prefetchQuery({ ...photoPageQuery(firstPhotos.libraryFile, undefined, 0), queryFn: () => firstPhotos.page });
  };
  if (calls.given) adopt();
  else void calls.appState.then(adopt, () => undefined);
}

/** PAGE photos of the library grid (all folders, or one), page `page`. */
export { PHOTO_PAGE };
export function photoPageQuery(libraryFile: string, folder: string | undefined, page: number) {
  return {
    queryKey: [...keys.lib, 'images', libraryFile, folder ?? null, page],
    queryFn: () => engine['images.list']({ limit: PHOTO_PAGE, offset: page * PHOTO_PAGE, folder }),
    staleTime: 60_000,
  };
}

export function useIndexStatus(enabled = true) {
  return useQuery({ queryKey: keys.indexStatus, queryFn: () => engine['index.status'](undefined), staleTime: Infinity, enabled });
}

export function useModels() {
  return useQuery({ queryKey: keys.models, queryFn: () => engine['models.list'](undefined) });
}

/** The models download's state, kept current by `models.download` events. */
export function useDownloadStatus() {
  return useQuery({ queryKey: keys.download, queryFn: () => engine['models.downloadStatus'](undefined), staleTime: Infinity });
}

/** The library's current failures (latest reason per file), kept fresh by index.status events. */
export function useFailures() {
  return useQuery(failuresQuery);
}

/** Puts the answer of a call that returns the whole app state into the cache. */
export function setAppState(state: AppState): void {
  const before = queryClient.getQueryData<AppState>(keys.appState);
  queryClient.setQueryData(keys.appState, state);
  if (libraryChanged(before, state)) void queryClient.invalidateQueries({ queryKey: keys.lib });
  if (before?.library?.file !== state.library?.file) void queryClient.invalidateQueries({ queryKey: keys.indexStatus });
}

export function setIndexStatus(status: IndexStatus): void {
  const before = queryClient.getQueryData<IndexStatus>(keys.indexStatus);
  queryClient.setQueryData(keys.indexStatus, status);
  const a = before?.job;
  const b = status.job;
  if (a?.id !== b?.id || a?.state !== b?.state || (a?.phase !== b?.phase && b?.phase === 'done')) refreshFailures(true);
  else if (a?.failed !== b?.failed) refreshFailures(false);
  if (a && b && a.id === b.id && a.state !== b.state && b.state !== 'running') {
    void queryClient.invalidateQueries({ queryKey: keys.lib });
  }
}

/**
 * While a job runs, its failures list is read again at most every FAILURES_EVERY_MS (each new
 * failure would otherwise refetch and redraw the whole list a few times a second); a change of
 * job or state reads it at once.
 */
const FAILURES_EVERY_MS = 2000;
let failuresTimer: ReturnType<typeof setTimeout> | null = null;
let failuresAt = 0;

function refreshFailures(now: boolean): void {
  const run = () => {
    failuresTimer = null;
    failuresAt = Date.now();
    void queryClient.invalidateQueries({ queryKey: [...keys.lib, 'failures'] });
  };
  if (now) {
    if (failuresTimer) clearTimeout(failuresTimer);
    run();
  } else if (!failuresTimer) {
    failuresTimer = setTimeout(run, Math.max(0, failuresAt + FAILURES_EVERY_MS - Date.now()));
  }
}

/**
 * A download's snapshot; when it installs a model or ends, the installed list (and so the
 * Library view's model and SAE pickers) is read again.
 */
let downloadEvents = 0;

/** How many `models.download` events have arrived (to tell a call's answer from a newer event). */
export function downloadEventCount(): number {
  return downloadEvents;
}

/**
 * The answer of a call made when `downloadEventCount()` was `since`: snapshots carry no sequence
 * number, so an event that arrived meanwhile (e.g. "cancelled") is newer and wins.
 */
export function setDownloadAnswer(status: DownloadStatus, since: number): void {
  if (downloadEvents === since) setDownloadStatus(status);
}

function onDownloadEvent(status: DownloadStatus): void {
  downloadEvents++;
  setDownloadStatus(status);
}

export function setDownloadStatus(status: DownloadStatus): void {
  const before = queryClient.getQueryData<DownloadStatus>(keys.download);
  queryClient.setQueryData(keys.download, status);
  if (before?.state !== status.state || before?.installed.length !== status.installed.length) {
    void queryClient.invalidateQueries({ queryKey: keys.models });
  }
}

function libraryChanged(a: AppState | undefined, b: AppState): boolean {
  const x = a?.library;
  const y = b.library;
  if (!x || !y) return x !== y;
  return (
    x.file !== y.file ||
    x.images !== y.images ||
    JSON.stringify(x.folders) !== JSON.stringify(y.folders) ||
    JSON.stringify(x.configs) !== JSON.stringify(y.configs)
  );
}

/** Follows the engine's events for the life of the page. */
export function useEngineEvents(): void {
  const client = useQueryClient();
  useEffect(() => {
    const offs = [
      onEngineEvent('app.state', setAppState),
      onEngineEvent('index.status', setIndexStatus),
      onEngineEvent('models.download', onDownloadEvent),
    ];
    return () => offs.forEach((off) => off());
  }, [client]);
}

export function useConnection() {
  return useSyncExternalStore(onConnection, currentConnection);
}
