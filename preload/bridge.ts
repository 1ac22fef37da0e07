/**
 * What the preload exposes as `window.clipscope`: calls that return the contract's envelopes
 * (so the page keeps the error's kind and code, which `contextBridge` would strip from an
 * Error), and a subscription to engine events. Imports neither `electron` (tests pass any
 * invoke / subscribe) nor zod (the sandboxed preload is one small self-contained file).
 */
import { isApiMethod } from '../common/contract/methods.js';
import { ipcChannel } from '../common/contract/methods.js';
import { isApiEvent, ipcEventChannel, type ApiEvent } from '../common/contract/events.js';

export interface Bridge {
  readonly transport: 'ipc';
  invoke(method: string, payload: unknown): Promise<unknown>;
  /** Calls `fn` with each event's payload; returns the function that stops it. */
  on(event: string, fn: (payload: unknown) => void): () => void;
  /** The OS folder picker; null when the user cancels. */
  pickFolder(): Promise<string | null>;
  /** The path of a file or folder dropped on the window (Electron no longer puts it on File). */
  pathForFile(file: unknown): string | null;
}

/** The channel of the folder picker (main/electron/window.ts answers it). */
export const PICK_FOLDER_CHANNEL = 'dialog:pick-folder';

export type Invoke = (channel: string, payload: unknown) => Promise<unknown>;
export type Subscribe = (channel: string, fn: (payload: unknown) => void) => () => void;

export function createBridge(invoke: Invoke, subscribe: Subscribe, pathOf: (file: unknown) => string = () => ''): Bridge {
  return Object.freeze({
    transport: 'ipc' as const,
    async invoke(method: string, payload: unknown) {
      if (!isApiMethod(method)) return { ok: false, error: { kind: 'user', code: 'unknown-method', message: `unknown method "${method}"` } };
      return invoke(ipcChannel(method), payload);
    },
    on(event: string, fn: (payload: unknown) => void) {
      if (!isApiEvent(event)) throw new Error(`unknown event "${event}"`);
      return subscribe(ipcEventChannel(event as ApiEvent), fn);
    },
    async pickFolder() {
      const r = await invoke(PICK_FOLDER_CHANNEL, undefined);
      return typeof r === 'string' && r !== '' ? r : null;
    },
    pathForFile(file: unknown) {
      try {
        return pathOf(file) || null;
      } catch {
        return null;
      }
    },
  });
}
