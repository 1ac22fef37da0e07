/**
 * The Electron IPC adapter: one `invoke` handler per contract method, on channel
 * `api:<method>`, each answering with an `ApiResult` envelope (never a rejection).
 *
 * It takes the IPC object as a parameter instead of importing `electron`, so it runs under
 * plain Node in tests; the app passes a window's `webContents.ipc` (handlers scoped to that
 * window) or `ipcMain`.
 */
import { API_METHODS, ipcChannel, type EngineApi } from '../../common/contract/index.js';
import { dispatch, type DispatchOptions } from './dispatch.js';

/** The part of Electron's `IpcMain` this adapter uses. */
export interface IpcHandleRegistry {
  handle(channel: string, fn: (event: unknown, payload: unknown) => unknown): void;
}

export interface IpcHandlerOptions extends DispatchOptions {
  /**
   * Whether to serve a message from this sender (an `IpcMainInvokeEvent`); for example, only
   * the app's own page in the window's main frame. Refused calls get an `internal` error.
   */
  acceptSender?: (event: unknown) => boolean;
}

export function registerIpcHandlers(ipc: IpcHandleRegistry, api: EngineApi, options: IpcHandlerOptions = {}): void {
  for (const method of API_METHODS) {
    ipc.handle(ipcChannel(method), (event, payload) => {
      if (options.acceptSender && !options.acceptSender(event)) {
        return { ok: false, error: { kind: 'internal', message: `${method}: refused a call from an untrusted page` } };
      }
      return dispatch(api, method, payload, options);
    });
  }
}
