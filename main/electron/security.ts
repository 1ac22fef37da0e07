/**
 * The window's security settings and URL policy as plain data and functions (no `electron`
 * import), so they are testable under Node. See Electron's security checklist:
 * https://www.electronjs.org/docs/latest/tutorial/security
 */

/** `webPreferences` for every app window: isolated, sandboxed, no Node in the page. */
export function secureWebPreferences(preloadPath: string) {
  return {
    preload: preloadPath,
    contextIsolation: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    sandbox: true,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    spellcheck: false,
  } as const;
}

/**
 * Whether `url` is the app's own page: the dev server's origin under `electron-vite dev`, or
 * the very `index.html` file (any query or hash) in a build.
 */
export function isAppUrl(url: string, appUrl: string): boolean {
  const target = parseUrl(url);
  const app = parseUrl(appUrl);
  if (!target || !app) return false;
  if (app.protocol === 'file:') return target.protocol === 'file:' && target.pathname === app.pathname;
  return target.origin === app.origin;
}

/** The URL to hand to the OS browser when the page tries to open or navigate to it, if any. */
export function externalUrlToOpen(url: string): string | null {
  const target = parseUrl(url);
  return target && (target.protocol === 'https:' || target.protocol === 'http:') ? target.href : null;
}

function parseUrl(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}
