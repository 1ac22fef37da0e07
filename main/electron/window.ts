/**
 * The main window and the rules every web contents follows: no navigation away from the app,
 * no new windows (web links open in the OS browser), no webviews, no permissions.
 */
import { BrowserWindow, dialog, screen, shell, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { forwardEvents, registerIpcHandlers, type IpcEngine } from '../transports/ipc.js';
import { externalUrlToOpen, isAppUrl, secureWebPreferences } from './security.js';
import { loadBounds, saveBounds } from './window-state.js';
import { PICK_FOLDER_CHANNEL } from '../../preload/bridge.js';

export interface AppPage {
  /** `http://localhost:5173/` under `electron-vite dev`, the built index.html's file URL otherwise. */
  url: string;
  /** The built index.html, loaded with `loadFile` when not in dev. */
  file: string | null;
  preload: string;
}

export function createMainWindow(page: AppPage, engine: IpcEngine, boundsFile: string): BrowserWindow {
  const onScreen = (r: { x: number; y: number; width: number; height: number }): boolean =>
    screen.getAllDisplays().some((d) => r.x < d.workArea.x + d.workArea.width && r.x + r.width > d.workArea.x && r.y < d.workArea.y + d.workArea.height && r.y + r.height > d.workArea.y);
  const bounds = loadBounds(boundsFile, onScreen);
  const window = new BrowserWindow({
    ...bounds,
    minWidth: 720,
    minHeight: 480,
    show: false,
    title: 'CLIP-Scope',
    webPreferences: secureWebPreferences(page.preload),
  });
  if (bounds.maximized) window.maximize();
  window.on('close', () => saveBounds(boundsFile, { ...window.getNormalBounds(), maximized: window.isMaximized() }));

  // Handlers on this window's own IPC: other web contents cannot reach the engine at all.
  registerIpcHandlers(window.webContents.ipc, engine, {
    acceptSender: (event) => isFromAppMainFrame(event as IpcMainInvokeEvent, page.url),
  });
  // The native folder picker for "Add a folder"; the page only ever learns the chosen path.
  window.webContents.ipc.handle(PICK_FOLDER_CHANNEL, async (event) => {
    if (!isFromAppMainFrame(event, page.url)) return null;
    const r = await dialog.showOpenDialog(window, { title: 'Add a folder of photos', properties: ['openDirectory'] });
    return r.canceled ? null : (r.filePaths[0] ?? null);
  });
  const stop = forwardEvents(engine, (channel, payload) => {
    if (!window.isDestroyed()) window.webContents.send(channel, payload);
  });
  window.on('closed', stop);

  window.once('ready-to-show', () => window.show());
  const loaded = page.file ? window.loadFile(page.file) : window.loadURL(page.url);
  loaded.catch((error: unknown) => console.error('[window] could not load the app page:', error));
  return window;
}

/** Applied to every web contents the app creates (see `app.on('web-contents-created')`). */
export function hardenWebContents(contents: WebContents, appUrl: string): void {
  contents.setWindowOpenHandler(({ url }) => {
    openExternally(url);
    return { action: 'deny' };
  });
  const stayInApp = (event: { preventDefault(): void }, url: string) => {
    if (isAppUrl(url, appUrl)) return;
    event.preventDefault();
    openExternally(url);
  };
  contents.on('will-navigate', stayInApp);
  contents.on('will-redirect', stayInApp);
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

function isFromAppMainFrame(event: IpcMainInvokeEvent, appUrl: string): boolean {
  const frame = event.senderFrame;
  return frame !== null && frame.parent === null && isAppUrl(frame.url, appUrl);
}

function openExternally(url: string): void {
  const external = externalUrlToOpen(url);
  if (!external) return;
  shell.openExternal(external).catch((error: unknown) => console.error('[window] could not open', external, error));
}
