/**
 * What a transport sends back for every call: the value, or an error whose message is meant for
 * the user (`user`) or is a bug to report (`internal`). Handlers never throw across the
 * boundary, so Electron's "Error invoking remote method ..." wrapper never reaches the user.
 */
import { z } from 'zod';

export const ApiErrorKindSchema = z.enum(['user', 'internal']);
export type ApiErrorKind = z.infer<typeof ApiErrorKindSchema>;

export const ApiErrorSchema = z.object({
  message: z.string(),
  kind: ApiErrorKindSchema,
});
export type ApiError = z.infer<typeof ApiErrorSchema>;

export type ApiResult<T> = { ok: true; value: T } | { ok: false; error: ApiError };

export function apiResultSchema<T extends z.ZodType>(value: T) {
  return z.discriminatedUnion('ok', [
    z.object({ ok: z.literal(true), value }),
    z.object({ ok: z.literal(false), error: ApiErrorSchema }),
  ]);
}
