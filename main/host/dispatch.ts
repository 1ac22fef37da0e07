/**
 * One transport-independent call into the engine: validate the request against the contract,
 * run the method, validate the result, and wrap either in an `ApiResult` envelope. The IPC
 * adapter (and any later HTTP one) is this function plus a way to receive messages.
 */
import type { z } from 'zod';
import {
  ApiContract,
  type ApiError,
  type ApiMethod,
  type ApiOutput,
  type ApiResult,
  type EngineImpl,
} from '../../common/contract/index.js';
import { UserFacingError, errorMessage } from '../engine/errors.js';

export interface DispatchOptions {
  /** Told about every `internal` failure (a bug), with the original error for its stack. */
  onInternalError?: (method: ApiMethod, error: unknown) => void;
}

export async function dispatch<M extends ApiMethod>(
  api: Partial<EngineImpl>,
  method: M,
  payload: unknown,
  options: DispatchOptions = {},
): Promise<ApiResult<ApiOutput<M>>> {
  const schemas = ApiContract[method];
  const input = schemas.input.safeParse(payload);
  if (!input.success) {
    return failure({ kind: 'user', code: 'invalid-request', message: `${method}: invalid request: ${describeIssues(input.error)}` });
  }

  // The contract types each method's input and output; indexing the API by a generic method
  // name loses that link, and both sides are validated at runtime here.
  const call = api[method] as unknown as ((input: unknown) => Promise<unknown>) | undefined;
  if (typeof call !== 'function') {
    return internal(method, new Error(`${method}: not implemented by the engine`), options);
  }

  let value: unknown;
  try {
    value = await call.call(api, input.data);
  } catch (err) {
    if (err instanceof UserFacingError) return failure({ kind: 'user', code: err.code, message: err.message });
    return internal(method, err, options);
  }

  const output = schemas.output.safeParse(value);
  if (!output.success) {
    const err = new Error(`${method}: the engine returned an invalid result: ${describeIssues(output.error)}`);
    return internal(method, err, options);
  }
  return { ok: true, value: output.data as ApiOutput<M> };
}

/** One line per problem, each naming the field: `layer: Too small: expected number to be >=0`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}

function failure(error: ApiError): { ok: false; error: ApiError } {
  return { ok: false, error };
}

function internal(method: ApiMethod, err: unknown, options: DispatchOptions): { ok: false; error: ApiError } {
  options.onInternalError?.(method, err);
  return failure({ kind: 'internal', message: errorMessage(err) });
}
