/**
 * What a transport sends back for every call: the value, or an error whose message is meant for
 * the user (`user`) or is a bug to report (`internal`). Handlers never throw across the
 * boundary, so Electron's "Error invoking remote method ..." wrapper never reaches the user.
 */
import { z } from 'zod';

export const ApiErrorKindSchema = z.enum(['user', 'internal']);
export type ApiErrorKind = z.infer<typeof ApiErrorKindSchema>;

/**
 * Why a call failed, for code to act on (the message is for people): `invalid-request` (the
 * request does not match the contract; the message names the field), `unknown-method`,
 * `no-library` (nothing open yet), `busy` (a job already runs), `not-found`, `failed`, or an
 * engine condition the UI can offer a way out of (`not-indexed`, `layer-required`, ...).
 */
export const ApiErrorCodeSchema = z.enum([
  'invalid-request', 'unknown-method', 'no-library', 'busy', 'not-found', 'failed',
  // Engine conditions (main/engine/errors.ts ErrorCode): each front end words its own hint.
  'layer-required', 'not-indexed', 'ambiguous-config', 'stats-missing', 'damaged', 'model-in-use',
  // The query pool dropped a waiting request a newer one of the same view replaced.
  'superseded',
]);
export type ApiErrorCode = z.infer<typeof ApiErrorCodeSchema>;

export const ApiErrorSchema = z.object({
  message: z.string(),
  kind: ApiErrorKindSchema,
  code: ApiErrorCodeSchema.optional(),
});
export type ApiError = z.infer<typeof ApiErrorSchema>;

export type ApiResult<T> = { ok: true; value: T } | { ok: false; error: ApiError };

export function apiResultSchema<T extends z.ZodType>(value: T) {
  return z.discriminatedUnion('ok', [
    z.object({ ok: z.literal(true), value }),
    z.object({ ok: z.literal(false), error: ApiErrorSchema }),
  ]);
}
