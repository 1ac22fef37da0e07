/**
 * The UI's engine client, the same over every transport: a function that delivers one call and
 * brings back its `ApiResult` envelope (IPC through the preload, or `fetch` in the web mode) is
 * turned into an `EngineApi` whose methods return the value or throw `EngineCallError`.
 *
 * Zod-free (type imports only): it runs in the page and the sandboxed preload.
 */
import { API_METHODS, type ApiMethod } from './methods.js';
import type { ApiError, ApiErrorCode, ApiErrorKind, ApiResult } from './envelope.js';
import type { EngineApi } from './api.js';

export type Deliver = (method: ApiMethod, payload: unknown) => Promise<unknown>;

/** A failed engine call: `message` is written for the user when `kind` is `user`. */
export class EngineCallError extends Error {
  override readonly name = 'EngineCallError';
  constructor(
    message: string,
    readonly kind: ApiErrorKind,
    readonly code: ApiErrorCode | undefined,
  ) {
    super(message);
  }
}

export function createEngineClient(deliver: Deliver): EngineApi {
  const client: Partial<Record<ApiMethod, (input: unknown) => Promise<unknown>>> = {};
  for (const method of API_METHODS) {
    client[method] = async (input) => unwrap(method, await deliver(method, input));
  }
  // Every key of EngineApi is set above; the per-method types come from the contract.
  return Object.freeze(client) as EngineApi;
}

export function unwrap(method: ApiMethod, reply: unknown): unknown {
  if (!isApiResult(reply)) throw new EngineCallError(`${method}: the engine sent a malformed reply`, 'internal', undefined);
  if (reply.ok) return reply.value;
  throw new EngineCallError(reply.error.message, reply.error.kind, reply.error.code);
}

export function isApiResult(reply: unknown): reply is ApiResult<unknown> {
  if (typeof reply !== 'object' || reply === null || !('ok' in reply)) return false;
  if (reply.ok === true) return 'value' in reply;
  return reply.ok === false && 'error' in reply && isApiError(reply.error);
}

function isApiError(error: unknown): error is ApiError {
  return (
    typeof error === 'object' && error !== null &&
    'message' in error && typeof error.message === 'string' &&
    'kind' in error && (error.kind === 'user' || error.kind === 'internal')
  );
}
