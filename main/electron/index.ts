/**
 * Electron main process: app lifecycle only. Inference never runs on this thread; the engine
 * service delegates it to a worker and this process just relays calls over IPC.
 */
import { app, BrowserWindow, session } from 'electron';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createEngineService } from '../engine/service.js';
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

const ENGINE_CLOSE_TIMEOUT_MS = 3000;

app.enableSandbox();

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  start();
}

function start(): void {
  let mainWindow: BrowserWindow | null = null;

  app.on('second-instance', () => {
    if (!mainWindow || mainWindow.isDestroyed()) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, page.url));
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });

  app
    .whenReady()
    .then(() => {
      // The page needs no camera, notifications, clipboard reads or any other permission.
      session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
      session.defaultSession.setPermissionCheckHandler(() => false);

      const engine = createEngineService();
      closeEngineOnQuit(engine);
      mainWindow = createMainWindow(page, engine);
      app.on('activate', () => {
        if (BrowserWindow.getAllWindows().length === 0) mainWindow = createMainWindow(page, engine);
      });
    })
    .catch((error: unknown) => {
      console.error('[app] failed to start:', error);
      app.exit(1);
    });
}

/** Lets the engine stop its workers before the process exits, but never holds quitting up long. */
function closeEngineOnQuit(engine: { close(): Promise<void> }): void {
  let closed = false;
  app.on('will-quit', (event) => {
    if (closed) return;
    closed = true;
    event.preventDefault();
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, ENGINE_CLOSE_TIMEOUT_MS).unref());
    Promise.race([engine.close(), timeout])
      .catch((error: unknown) => console.error('[app] the engine did not close cleanly:', error))
      .finally(() => app.quit());
  });
}
