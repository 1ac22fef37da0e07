/** Steering previews: edit SAE features on a photo's tokens and see what changes downstream. */
import { z } from 'zod';

const nonNegativeInt = z.int().nonnegative();

/** `cls`, `all`, or token indices (0 = CLS, 1..256 patches row-major). */
export const TokenScopeSchema = z.union([z.literal('cls'), z.literal('all'), z.array(nonNegativeInt).min(1).max(257)]);

/** SET feature F to `value` on the tokens (0 ablates), or multiply its activation by `scale`. */
export const EditSchema = z.union([
  z.strictObject({ feature: nonNegativeInt, tokens: TokenScopeSchema, value: z.number().finite() }),
  z.strictObject({ feature: nonNegativeInt, tokens: TokenScopeSchema, scale: z.number().finite() }),
]);
export type SteerEdit = z.infer<typeof EditSchema>;

export const SteerRequestSchema = z.strictObject({
  imageId: z.int().positive(),
  /** One result per edit set; a slider sweep is several sets in one call. */
  sets: z.array(z.array(EditSchema).max(32)).min(1).max(16),
  /** Nearest library photos to list before and after each edit set (the photo itself excluded). */
  neighbours: z.int().min(0).max(100).default(10),
  layer: nonNegativeInt.optional(),
});
export type SteerRequest = z.input<typeof SteerRequestSchema>;

const neighbour = z.object({ imageId: z.int().positive(), file: z.string(), score: z.number() });

export const SteerResultSchema = z.object({
  imageId: z.int().positive(),
  layer: nonNegativeInt,
  /** Cosine of the embedding with x replaced by the SAE reconstruction on every token: how much of the model's view the SAE captures. */
  reconstructionCosine: z.number(),
  /** The photo's nearest library photos without edits. */
  before: z.array(neighbour),
  results: z.array(z.object({
    /** Cosine between the steered and the original image embedding (1 = unchanged). */
    cosine: z.number(),
    /** L2 norm of steered - original (embedding units). */
    l2: z.number().nonnegative(),
    after: z.array(neighbour),
  })),
});
export type SteerResult = z.infer<typeof SteerResultSchema>;
