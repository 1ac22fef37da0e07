/** Read queries over an indexed library: galleries, one photo's latents, the metrics table. */
import { z } from 'zod';

const nonNegativeInt = z.int().nonnegative();

/**
 * Which configuration to read: by id, by layer (the only one at that layer), or the only one
 * there is.
 */
const layerChoice = { layer: nonNegativeInt.optional(), config: z.int().positive().optional() };

export const GalleryTokenSchema = z.union([z.literal('cls'), z.literal('any'), nonNegativeInt]);
export type GalleryToken = z.infer<typeof GalleryTokenSchema>;

export const GalleryRequestSchema = z.strictObject({
  feature: nonNegativeInt,
  token: GalleryTokenSchema.default('any'),
  /** Photos in the top page (0: none, e.g. when only quantiles are wanted). */
  limit: z.int().nonnegative().max(1000).default(60),
  offset: nonNegativeInt.default(0),
  /**
   * Samples across the activation distribution instead of only the top (token cls / any only):
   * q = 0.9 is where 90% of the photos fire at most as strongly. `perQuantile` photos each.
   */
  quantiles: z.array(z.number().min(0).max(1)).max(20).optional(),
  perQuantile: z.int().positive().max(100).default(6),
  /**
   * A patch token's gallery reads photos' latents one by one: at most this many in this call.
   * A scan that stops early answers the photos already certain and a `cursor` to go on with.
   */
  maxReads: z.int().positive().max(1_000_000).optional(),
  /**
   * A bounded scan also stops after about this many milliseconds (checked between reads, at
   * least one read a call): a worker is never held for seconds when the disk is slow.
   */
  maxMs: z.int().positive().max(60_000).optional(),
  /** The `cursor` of the previous answer to the same request: its next photos. */
  cursor: z.string().max(1_000_000).optional(),
  /**
   * The view asking (e.g. "feature-page"): a newer request of the same view replaces this one
   * while it still waits for a query worker.
   */
  channel: z.string().max(100).optional(),
  ...layerChoice,
});
export type GalleryRequest = z.input<typeof GalleryRequestSchema>;

export const GalleryItemSchema = z.object({
  imageId: z.int().positive(),
  file: z.string(),
  /** The activation (SAE latent value) at `token`. */
  act: z.number(),
  /** The token where it was read: 0 = CLS, 1..256 = patches row-major. */
  token: nonNegativeInt,
});
export type GalleryItem = z.infer<typeof GalleryItemSchema>;

export const GalleryResultSchema = z.object({
  feature: nonNegativeInt,
  layer: nonNegativeInt,
  token: GalleryTokenSchema,
  /** Photos where the feature fires at that token; null when a token gallery stopped early. */
  total: nonNegativeInt.nullable(),
  items: z.array(GalleryItemSchema),
  /** One sample per requested quantile: its 0-based rank from the strongest, and the photos there. */
  quantiles: z.array(z.object({ quantile: z.number(), rank: nonNegativeInt, items: z.array(GalleryItemSchema) })),
  /**
   * Only when a bounded scan (maxReads) stopped early: pass it back with the same request for
   * the next photos. The items of all the answers, in order, are the unbounded page.
   */
  cursor: z.string().optional(),
});
export type GalleryResult = z.infer<typeof GalleryResultSchema>;

export const ImageRequestSchema = z.strictObject({ imageId: z.int().positive(), ...layerChoice });
export type ImageRequest = z.infer<typeof ImageRequestSchema>;

const activation = z.object({ feature: nonNegativeInt, act: z.number() });

export const ImageDetailsSchema = z.object({
  imageId: z.int().positive(),
  file: z.string(),
  width: z.int().positive().nullable(),
  height: z.int().positive().nullable(),
  capturedAt: z.number().nullable(),
  layer: nonNegativeInt,
  removed: z.boolean(),
  /** Every token (CLS first), each row strongest first, as `clipscope image --json` prints them. */
  tokens: z.object({ idx: z.array(z.array(nonNegativeInt)), val: z.array(z.array(z.number())) }),
  /** Active (> 0) CLS latents, strongest first. */
  cls: z.array(activation),
  /** Each feature active somewhere: its strongest token. */
  pooled: z.array(activation.extend({ token: nonNegativeInt })),
  /** Per token: mean over dimensions of (x - x^)^2. */
  tokenMse: z.array(z.number()),
  /** Per token: SSE = sum over dimensions of (x - x^)^2 (the card's MSE column averages these). */
  tokenSse: z.array(z.number()),
  /** The model's image embedding (not normalised), as stored (float16 precision). */
  embedding: z.array(z.number()),
  mse: z.number(),
  ev: z.number(),
  l0: z.number(),
});
export type ImageDetails = z.infer<typeof ImageDetailsSchema>;

export const MetricsRequestSchema = z.strictObject({ ...layerChoice }).optional();
export type MetricsRequest = z.infer<typeof MetricsRequestSchema>;

export const LibraryMetricsSchema = z.object({
  configId: z.int().positive(),
  layer: nonNegativeInt,
  saePath: z.string(),
  normalization: z.enum(['raw', 'standardized']),
  images: nonNegativeInt,
  tokens: nonNegativeInt,
  mse: z.number().nullable(),
  ev: z.number().nullable(),
  deadFraction: z.number(),
  l0: z.number().nullable(),
  positionMse: z.array(z.number()),
});
export type LibraryMetricsInfo = z.infer<typeof LibraryMetricsSchema>;

/** The library's photos that indexing has reached (encoded, or failed with a reason), by path. */
export const ImagesRequestSchema = z.strictObject({
  limit: z.int().positive().max(1000).default(200),
  offset: nonNegativeInt.default(0),
  /** Only photos under this library folder. */
  folder: z.string().optional(),
});
export type ImagesRequest = z.input<typeof ImagesRequestSchema>;

export const ImageListSchema = z.object({
  total: nonNegativeInt,
  items: z.array(z.object({
    imageId: z.int().positive(),
    file: z.string(),
    width: z.int().positive().nullable(),
    height: z.int().positive().nullable(),
    /** Why its last indexing failed (it then has no thumbnail); null when it did not. */
    failed: z.string().nullable(),
  })),
});
export type ImageList = z.infer<typeof ImageListSchema>;

export const FeatureInfoSchema = z.object({
  feature: nonNegativeInt,
  /** Present photos where it is active (> 0) on some token. */
  images: nonNegativeInt,
  /** Tokens where it is active. */
  tokens: nonNegativeInt,
  /** Activation density: active tokens / all tokens of the library's photos. */
  frequency: z.number().nonnegative(),
  /** images / all photos. */
  imageFraction: z.number().nonnegative(),
  maxAct: z.number(),
  /** Mean activation over the tokens where it is active. */
  meanAct: z.number(),
  dead: z.boolean(),
  /** Active on at least 10% of tokens. */
  dense: z.boolean(),
  label: z.string(),
  note: z.string(),
});
export type FeatureInfo = z.infer<typeof FeatureInfoSchema>;

export const FeatureSearchRequestSchema = z.strictObject({
  /** Only these features. */
  features: z.array(nonNegativeInt).max(65_536).optional(),
  /** Contained in the label or the note. */
  text: z.string().max(200).optional(),
  minFrequency: z.number().min(0).max(1).optional(),
  maxFrequency: z.number().min(0).max(1).optional(),
  dead: z.boolean().optional(),
  dense: z.boolean().optional(),
  sort: z.enum(['frequency', 'max', 'id']).default('frequency'),
  ascending: z.boolean().optional(),
  limit: z.int().positive().max(1000).default(100),
  offset: nonNegativeInt.default(0),
  ...layerChoice,
});
export type FeatureSearchRequest = z.input<typeof FeatureSearchRequestSchema>;

export const FeatureSearchResultSchema = z.object({
  layer: nonNegativeInt,
  nFeatures: z.int().positive(),
  /** The statistics predate the latest indexing (they are refreshed at the end of each run). */
  stale: z.boolean(),
  libraryImages: nonNegativeInt,
  libraryTokens: nonNegativeInt,
  /** Matches before limit / offset. */
  total: nonNegativeInt,
  items: z.array(FeatureInfoSchema),
});
export type FeatureSearchResult = z.infer<typeof FeatureSearchResultSchema>;

export const FeatureRequestSchema = z.strictObject({ feature: nonNegativeInt, ...layerChoice });

export const FeatureDetailsSchema = FeatureInfoSchema.extend({
  layer: nonNegativeInt,
  nFeatures: z.int().positive(),
  stale: z.boolean(),
  /** Activation histogram over the tokens where it is active: bins [lo, hi). */
  histogram: z.array(z.object({ lo: z.number(), hi: z.number(), count: nonNegativeInt })),
});
export type FeatureDetails = z.infer<typeof FeatureDetailsSchema>;

export const FeatureHeatRequestSchema = z.strictObject({
  feature: nonNegativeInt,
  /** A page of photos (a gallery page): one call for all their heatmaps. */
  imageIds: z.array(z.int().positive()).min(1).max(200),
  ...layerChoice,
});

export const FeatureHeatSchema = z.object({
  feature: nonNegativeInt,
  layer: nonNegativeInt,
  images: z.array(z.object({
    imageId: z.int().positive(),
    /** Tokens (0 = CLS, 1..256 patches row-major) where the feature has a latent, and its values there. */
    tokens: z.array(nonNegativeInt),
    values: z.array(z.number()),
    /** Its strongest token in this photo; null when it has no latent here. */
    peak: nonNegativeInt.nullable(),
  })),
});
export type FeatureHeat = z.infer<typeof FeatureHeatSchema>;

export const LabelRequestSchema = z.strictObject({
  feature: nonNegativeInt,
  label: z.string().max(200).optional(),
  note: z.string().max(5000).optional(),
  ...layerChoice,
});
