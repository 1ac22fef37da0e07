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
  /**
   * Report the features gained and lost at the library's later layers (configurations of the same
   * model at a layer after this one). Costs one SAE encoding per edited token and later layer: a
   * slider sweep leaves it off.
   */
  later: z.boolean().default(true),
});
export type SteerRequest = z.input<typeof SteerRequestSchema>;

const neighbour = z.object({ imageId: z.int().positive(), file: z.string(), score: z.number() });

/** A feature's latent at the later layer before and after the edit (0 = not among a token's kept latents). */
const featureChange = z.object({ feature: nonNegativeInt, before: z.number(), after: z.number() });

const layerDiff = z.object({
  /** In the steered features only (largest |after| first). */
  gained: z.array(featureChange),
  /** In the original features only (largest |before| first). */
  lost: z.array(featureChange),
  /** In both; the largest |after - before| first, at most 10. */
  changed: z.array(featureChange),
});

/**
 * One later layer L2's features, encoded with its own SAE exactly as indexing does: on the CLS
 * token (its kept latents), and pooled over the edited tokens (per feature the mean latent over
 * them, the 32 largest by magnitude); `edited` is null when the set edits CLS alone or nothing.
 */
export const LaterLayerSchema = z.object({
  layer: nonNegativeInt,
  /** The library configuration whose SAE encodes this layer. */
  configId: z.int().positive(),
  cls: layerDiff,
  edited: layerDiff.nullable(),
  editedTokens: nonNegativeInt,
});
export type LaterLayer = z.infer<typeof LaterLayerSchema>;

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
    /** Per later layer of the library, in increasing order (absent when `later` was off or there is none). */
    later: z.array(LaterLayerSchema).optional(),
  })),
});
export type SteerResult = z.infer<typeof SteerResultSchema>;
