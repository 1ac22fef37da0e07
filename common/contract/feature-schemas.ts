/**
 * The explorer's finding aids: a feature's neighbours by decoder direction, the features table's
 * per-row previews (sparkline and thumbnails, one call per visible page), and photos by name (the
 * command palette).
 */
import { z } from 'zod';

const nonNegativeInt = z.int().nonnegative();
const layerChoice = { layer: nonNegativeInt.optional(), config: z.int().positive().optional() };

export const FeatureSimilarRequestSchema = z.strictObject({
  feature: nonNegativeInt,
  limit: z.int().positive().max(100).default(10),
  ...layerChoice,
});
export type FeatureSimilarRequest = z.input<typeof FeatureSimilarRequestSchema>;

/** Closest first, as `clipscope features similar --json` prints them. */
export const FeatureSimilarSchema = z.array(z.object({
  feature: nonNegativeInt,
  /** Cosine of the two features' decoder directions (-1..1; 1: the same direction). */
  cosine: z.number(),
  label: z.string(),
}));
export type FeatureSimilar = z.infer<typeof FeatureSimilarSchema>;

export const FeaturePreviewsRequestSchema = z.strictObject({
  /** The features of a visible page of the table. */
  features: z.array(nonNegativeInt).min(1).max(100),
  /** Top photos per feature (its strongest token in each). */
  thumbs: z.int().nonnegative().max(10).default(5),
  ...layerChoice,
});
export type FeaturePreviewsRequest = z.input<typeof FeaturePreviewsRequestSchema>;

export const FeaturePreviewSchema = z.object({
  feature: nonNegativeInt,
  /** Activations over the tokens where it is active, in half-octave bins [lo, hi) (as feature.details). */
  histogram: z.array(z.object({ lo: z.number(), hi: z.number(), count: nonNegativeInt })),
  /** Its strongest photos, strongest first (as `gallery.get` with token any). */
  top: z.array(z.object({ imageId: z.int().positive(), file: z.string(), act: z.number(), token: nonNegativeInt })),
});
export type FeaturePreview = z.infer<typeof FeaturePreviewSchema>;

export const FeaturePreviewsSchema = z.object({
  layer: nonNegativeInt,
  /** In the order asked. */
  items: z.array(FeaturePreviewSchema),
});
export type FeaturePreviews = z.infer<typeof FeaturePreviewsSchema>;

export const ImageSearchRequestSchema = z.strictObject({
  /** Contained in the file name (not the folders above it); case-insensitive for ASCII. */
  text: z.string().trim().min(1).max(200),
  limit: z.int().positive().max(100).default(20),
});
export type ImageSearchRequest = z.input<typeof ImageSearchRequestSchema>;

/** Present, indexed photos; names starting with the text first, then by name. */
export const ImageSearchSchema = z.array(z.object({ imageId: z.int().positive(), file: z.string() }));
export type ImageSearch = z.infer<typeof ImageSearchSchema>;
