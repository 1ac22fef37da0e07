/**
 * The Electron IPC adapter: one `invoke` handler per contract method, on channel
 * `api:<method>`, each answering with the engine host's `ApiResult` envelope (never a
 * rejection), and the host's events sent to the page on `event:<name>`.
 *
 * It takes the IPC object as a parameter instead of importing `electron`, so it runs under
 * plain Node in tests; the app passes a window's `webContents.ipc` (handlers scoped to that
 * window).
 */
import { API_METHODS, ipcChannel, ipcEventChannel, type ApiEvent, type ApiMethod, type ApiResult } from '../../common/contract/index.js';

/** The part of Electron's `IpcMain` this adapter uses. */
export interface IpcHandleRegistry {
  handle(channel: string, fn: (event: unknown, payload: unknown) => unknown): void;
}

export interface IpcEngine {
  call(method: ApiMethod, payload: unknown): Promise<ApiResult<unknown>>;
  onEvent(fn: (event: ApiEvent, payload: unknown) => void): () => void;
}

export interface IpcHandlerOptions {
  /**
   * Whether to serve a message from this sender (an `IpcMainInvokeEvent`); for example, only
   * the app's own page in the window's main frame. Refused calls get an `internal` error.
   */
  acceptSender?: (event: unknown) => boolean;
}

export function registerIpcHandlers(ipc: IpcHandleRegistry, engine: IpcEngine, options: IpcHandlerOptions = {}): void {
  for (const method of API_METHODS) {
    ipc.handle(ipcChannel(method), (event, payload) => {
      if (options.acceptSender && !options.acceptSender(event)) {
        return { ok: false, error: { kind: 'internal', message: `${method}: refused a call from an untrusted page` } };
      }
      return engine.call(method, payload);
    });
  }
}

/** Forwards engine events to a page (`webContents.send`); returns the function that stops it. */
export function forwardEvents(engine: IpcEngine, send: (channel: string, payload: unknown) => void): () => void {
  return engine.onEvent((event, payload) => send(ipcEventChannel(event), payload));
}
