/**
 * Events the engine pushes to the UI (IPC channel `event:<name>`, HTTP Server-Sent Events named
 * `<name>`). Each carries a whole state, not a delta: a page that missed some (a reload, a
 * dropped connection) is current again with the next one, or by asking the matching method
 * (`index.status`, `app.state`).
 *
 * Zod-free, like methods.ts, so the sandboxed preload can list the channels.
 */
import type { AppState } from './library-schemas.js';
import type { IndexStatus } from './indexing-schemas.js';
import type { DownloadStatus } from './models-schemas.js';

export const API_EVENTS = ['index.status', 'app.state', 'models.download'] as const;
export type ApiEvent = (typeof API_EVENTS)[number];

export interface ApiEventPayloads {
  /** The indexing job's progress, a few times a second at most, and at every state change. */
  'index.status': IndexStatus;
  /** The open library changed (opened, closed, folders, new results). */
  'app.state': AppState;
  /** The models download's progress (a few times a second at most) and its end. */
  'models.download': DownloadStatus;
}

export function isApiEvent(name: string): name is ApiEvent {
  return (API_EVENTS as readonly string[]).includes(name);
}

export const IPC_EVENT_PREFIX = 'event:';

export function ipcEventChannel(event: ApiEvent): `event:${ApiEvent}` {
  return `${IPC_EVENT_PREFIX}${event}`;
}
