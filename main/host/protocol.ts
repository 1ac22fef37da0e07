/**
 * Messages between a transport (the HTTP server's process, Electron's main process) and the
 * engine host. Calls carry contract payloads untouched: the host validates them (dispatch), so
 * the boundary check happens once, next to the engine.
 */
import type { ApiEvent, ApiMethod, ApiResult } from '../../common/contract/index.js';
import type { AppServiceOptions } from '../app/app-service.js';

export type HostOptions = AppServiceOptions;

export type ToHost =
  | { type: 'call'; id: number; method: ApiMethod; payload: unknown }
  | { type: 'media'; id: number; kind: 'thumb' | 'photo'; imageId: number }
  | { type: 'close'; id: number };

export type MediaReply =
  | { ok: true; bytes: Uint8Array; contentType: string; etag: string }
  | { ok: false; status: 404 | 500; message: string };

export type FromHost =
  | { type: 'ready' }
  | { type: 'reply'; id: number; result: ApiResult<unknown> }
  | { type: 'media'; id: number; reply: MediaReply }
  | { type: 'closed'; id: number }
  | { type: 'event'; event: ApiEvent; payload: unknown };
