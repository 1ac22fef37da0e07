/**
 * The engine calls the first screen waits on, made by the page's first script (main.tsx) before
 * the rest of the app has arrived; queries.ts takes their answers into its cache (adoptStartup).
 * No React and no react-query here: this script must stay small to run as soon as it arrives.
 */
import type { AppState } from '../../common/contract/library-schemas.js';
import type { FileFailure } from '../../common/contract/indexing-schemas.js';
import type { ImageList } from '../../common/contract/explore-schemas.js';
import { engine } from './platform.js';

/** Photos per page of the library grid. */
export const PHOTO_PAGE = 200;

export interface StartupCalls {
  /** The app state the page carries (web mode), else null. */
  given: AppState | null;
  appState: Promise<AppState>;
  /**
   * Set once the app state is known (at once with `given`, else before any other callback of
   * `appState` runs): the open library's failures, and the first page of all its photos when
   * the page opens on the library; null where not asked for.
   */
  failures: Promise<FileFailure[]> | null;
  firstPhotos: { libraryFile: string; page: Promise<ImageList> } | null;
}

export let startupCalls: StartupCalls | null = null;

export function startStartupCalls(): void {
  const given = stateInPage();
  const calls: StartupCalls = { given, appState: given ? Promise.resolve(given) : engine['app.state'](undefined), failures: null, firstPhotos: null };
  const next = (state: AppState) => {
    const library = state.library;
    // Failures are the library's: asked for only when one is open (else the call is an error).
    if (!library) return;
    calls.failures = quiet(engine['index.failures']({}));
    const hash = location.hash.replace(/^#/, '');
    if ((hash === '' || hash === '/' || hash.startsWith('/library')) && !/[?&]folder=/.test(hash)) {
      calls.firstPhotos = { libraryFile: library.file, page: quiet(engine['images.list']({ limit: PHOTO_PAGE, offset: 0 })) };
    }
  };
  if (given) next(given);
  else void quiet(calls.appState).then(next, () => undefined);
  startupCalls = calls;
}

/** The cache reads these answers (and their errors); an unread rejection must not reach the console. */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/**
 * The app state the web mode's server wrote into the page (main/transports/http.ts); absent in
 * the desktop app, whose page is a file. Events keep it current from there on.
 */
function stateInPage(): AppState | null {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="clipscope-state"]');
  if (!meta) return null;
  try {
    const state = JSON.parse(meta.content) as AppState;
    return typeof state === 'object' && state !== null && 'library' in state ? state : null;
  } catch {
    return null;
  }
}
