/**
 * Electron main process: app lifecycle only. The engine (SQLite, indexing, queries) lives in a
 * utility process; this process relays calls and events over IPC and photos over a custom
 * protocol.
 */
import { app, BrowserWindow, protocol, session } from 'electron';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MEDIA_SCHEME, mediaProtocolHandler } from '../transports/media-protocol.js';
import { afterLastWindowClosed } from './background-indexing.js';
import { startEngineProcess } from './engine-process.js';
import { createMainWindow, hardenWebContents, type AppPage } from './window.js';

// Built layout (electron-vite): out/main/index.js, out/preload/index.cjs, out/renderer/index.html.
const rendererFile = fileURLToPath(new URL('../renderer/index.html', import.meta.url));
const devServerUrl = process.env['ELECTRON_RENDERER_URL']; // set by `electron-vite dev` only
const page: AppPage = {
  url: devServerUrl ?? pathToFileURL(rendererFile).href,
  file: devServerUrl ? null : rendererFile,
  // Sandboxed preloads must be CommonJS (see electron.vite.config.ts).
  preload: fileURLToPath(new URL('../preload/index.cjs', import.meta.url)),
};

// Must precede `ready`: photos load as <img src="clipscope-media://thumb/12">, a secure origin.
protocol.registerSchemesAsPrivileged([{ scheme: MEDIA_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

app.enableSandbox();

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  start();
}

function start(): void {
  let mainWindow: BrowserWindow | null = null;
  let openWindow: (() => void) | null = null;

  app.on('second-instance', () => {
    // Started again while indexing went on in the background: show the app again.
    if (!mainWindow || mainWindow.isDestroyed()) {
      openWindow?.();
      return;
    }
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, page.url));

  app
    .whenReady()
    .then(() => {
      // The page needs no camera, notifications, clipboard reads or any other permission.
      session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
      session.defaultSession.setPermissionCheckHandler(() => false);

      const engine = startEngineProcess({});
      protocol.handle(MEDIA_SCHEME, mediaProtocolHandler((kind, id) => engine.media(kind, id)));
      closeEngineOnQuit(engine);
      const boundsFile = path.join(app.getPath('userData'), 'window.json');
      openWindow = () => {
        mainWindow = createMainWindow(page, engine, boundsFile);
      };
      openWindow();
      app.on('activate', () => {
        if (BrowserWindow.getAllWindows().length === 0) openWindow?.();
      });
      // The last window closed: quit (the engine pauses a running job after its batch), or, if
      // the user chose so, let the job finish first. macOS apps stay open without windows: there
      // the job pauses unless it may go on.
      app.on('window-all-closed', () => {
        const noWindow = (): boolean => BrowserWindow.getAllWindows().length === 0;
        const quit = process.platform === 'darwin'
          ? () => void (noWindow() && engine.call('index.pause', undefined))
          : () => noWindow() && app.quit();
        afterLastWindowClosed(engine, quit).catch((error: unknown) => {
          console.error('[app] could not read the indexing settings:', error);
          quit();
        });
      });
    })
    .catch((error: unknown) => {
      console.error('[app] failed to start:', error);
      app.exit(1);
    });
}

/** Lets the engine pause its job after the batch and close the library before quitting. */
function closeEngineOnQuit(engine: { close(): Promise<void> }): void {
  let closed = false;
  app.on('will-quit', (event) => {
    if (closed) return;
    closed = true;
    event.preventDefault();
    engine
      .close()
      .catch((error: unknown) => console.error('[app] the engine did not close cleanly:', error))
      .finally(() => app.quit());
  });
}
