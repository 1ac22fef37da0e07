/**
 * The renderer's side of the IPC transport: an `EngineApi` built from the contract's method
 * names, each sending its request on `api:<method>` and unwrapping the `ApiResult` envelope.
 *
 * Imports neither `electron` (tests pass any `invoke` function) nor zod (it would bloat the
 * self-contained sandboxed preload bundle; the main process has already validated the value).
 */
import { API_METHODS, ipcChannel, type ApiMethod } from '../common/contract/methods.js';
import type { ApiError, ApiErrorKind, ApiResult, EngineApi } from '../common/contract/index.js';

export type Invoke = (channel: string, payload: unknown) => Promise<unknown>;

/**
 * A failed engine call. Only `message` survives `contextBridge` into the page, and it is written
 * for the user when `kind` is `user`.
 */
export class EngineCallError extends Error {
  override readonly name = 'EngineCallError';
  constructor(
    message: string,
    readonly kind: ApiErrorKind,
  ) {
    super(message);
  }
}

export function createEngineClient(invoke: Invoke): EngineApi {
  const client: Partial<Record<ApiMethod, (input: unknown) => Promise<unknown>>> = {};
  for (const method of API_METHODS) {
    client[method] = async (input) => unwrap(method, await invoke(ipcChannel(method), input));
  }
  // Every key of EngineApi is set above; the per-method types come from the contract.
  return Object.freeze(client) as EngineApi;
}

export function unwrap(method: ApiMethod, reply: unknown): unknown {
  if (!isApiResult(reply)) {
    throw new EngineCallError(`${method}: the engine sent a malformed reply`, 'internal');
  }
  if (reply.ok) return reply.value;
  throw new EngineCallError(reply.error.message, reply.error.kind);
}

function isApiResult(reply: unknown): reply is ApiResult<unknown> {
  if (typeof reply !== 'object' || reply === null || !('ok' in reply)) return false;
  if (reply.ok === true) return 'value' in reply;
  return reply.ok === false && 'error' in reply && isApiError(reply.error);
}

function isApiError(error: unknown): error is ApiError {
  return (
    typeof error === 'object' &&
    error !== null &&
    'message' in error &&
    typeof error.message === 'string' &&
    'kind' in error &&
    (error.kind === 'user' || error.kind === 'internal')
  );
}
