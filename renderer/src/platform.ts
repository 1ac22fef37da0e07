/**
 * The renderer's one way to the engine, whatever carries it: the desktop app's preload bridge
 * (`window.clipscope`, IPC) when present, else the local web mode's HTTP API (`POST /api/<m>`,
 * Server-Sent Events on `/events`, photos under `/media/`). Everything else in the page uses
 * `engine`, `onEngineEvent` and `mediaUrl` from here.
 */
import { createEngineClient, EngineCallError, type Deliver } from '../../common/contract/client.js';
import type { EngineApi } from '../../common/contract/api.js';
import type { ApiEvent, ApiEventPayloads } from '../../common/contract/events.js';
import { API_EVENTS } from '../../common/contract/events.js';

/** What the preload exposes (preload/bridge.ts). */
interface Bridge {
  readonly transport: 'ipc';
  invoke(method: string, payload: unknown): Promise<unknown>;
  on(event: string, fn: (payload: unknown) => void): () => void;
  pickFolder(): Promise<string | null>;
  pathForFile(file: unknown): string | null;
}

declare global {
  interface Window {
    /** Present in the desktop app only; the web mode talks HTTP. */
    readonly clipscope?: Bridge;
  }
}

const bridge: Bridge | undefined = typeof window !== 'undefined' ? window.clipscope : undefined;

export const transport: 'ipc' | 'http' = bridge ? 'ipc' : 'http';

/** The OS folder picker (desktop app only: a web page cannot learn a folder's path). */
export const pickFolder: (() => Promise<string | null>) | null = bridge ? () => bridge.pickFolder() : null;

/** The path of a dropped file or folder, where the platform gives it (the desktop app). */
export function pathOfDropped(file: File): string | null {
  return bridge ? bridge.pathForFile(file) : null;
}

const deliverHttp: Deliver = async (method, payload) => {
  let response: Response;
  try {
    response = await fetch(`/api/${method}`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: payload === undefined ? {} : { 'content-type': 'application/json' },
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
  } catch {
    throw new EngineCallError('Cannot reach the CLIP-Scope server: is `clipscope serve` still running?', 'user', undefined);
  }
  if (response.status === 401) {
    throw new EngineCallError('This page is no longer authorised: open the address `clipscope serve` printed (with its ?token=) again.', 'user', undefined);
  }
  try {
    return await response.json();
  } catch {
    return { ok: false, error: { kind: 'internal', message: `${method}: the server answered ${response.status} without a result` } };
  }
};

const deliverIpc: Deliver = (method, payload) => bridge!.invoke(method, payload);

/** The engine API; each method returns its value or throws `EngineCallError`. */
export const engine: EngineApi = createEngineClient(bridge ? deliverIpc : deliverHttp);

export type Connection = 'connecting' | 'open' | 'reconnecting';

type Listener<E extends ApiEvent> = (payload: ApiEventPayloads[E]) => void;
const listeners = new Map<ApiEvent, Set<Listener<ApiEvent>>>();
const connectionListeners = new Set<(c: Connection) => void>();
let connection: Connection = bridge ? 'open' : 'connecting';
let started = false;

function emit(event: ApiEvent, payload: unknown): void {
  for (const fn of listeners.get(event) ?? []) fn(payload as ApiEventPayloads[ApiEvent]);
}

function setConnection(next: Connection): void {
  if (next === connection) return;
  connection = next;
  for (const fn of connectionListeners) fn(next);
}

/** One event source for the whole page, opened on first use. */
function start(): void {
  if (started) return;
  started = true;
  if (bridge) {
    for (const event of API_EVENTS) bridge.on(event, (payload) => emit(event, payload));
    return;
  }
  const source = new EventSource('/events', { withCredentials: true });
  source.onopen = () => setConnection('open');
  // EventSource reconnects by itself; the server sends the current states first on reconnect.
  source.onerror = () => setConnection('reconnecting');
  for (const event of API_EVENTS) {
    source.addEventListener(event, (e) => {
      try {
        emit(event, JSON.parse((e as MessageEvent<string>).data));
      } catch {
        // A malformed event is skipped; the next one carries the whole state again.
      }
    });
  }
  window.addEventListener('pagehide', () => source.close());
}

/** Calls `fn` with every `event` the engine sends; returns the function that stops it. */
export function onEngineEvent<E extends ApiEvent>(event: E, fn: Listener<E>): () => void {
  start();
  let set = listeners.get(event);
  if (!set) listeners.set(event, (set = new Set()));
  set.add(fn as Listener<ApiEvent>);
  return () => set.delete(fn as Listener<ApiEvent>);
}

export function onConnection(fn: (c: Connection) => void): () => void {
  start();
  connectionListeners.add(fn);
  return () => connectionListeners.delete(fn);
}

export function currentConnection(): Connection {
  return connection;
}

/** Where a photo's thumbnail (224 px short side) or full, EXIF-oriented image is. */
export function mediaUrl(kind: 'thumb' | 'photo', imageId: number): string {
  return bridge ? `clipscope-media://${kind}/${imageId}` : `/media/${kind}/${imageId}`;
}

/** The text to show for a failed call. */
export function errorText(error: unknown): string {
  if (error instanceof EngineCallError) {
    return error.kind === 'user' ? error.message : `Something went wrong in the engine: ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

export { EngineCallError };
