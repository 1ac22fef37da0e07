/** Read queries over an indexed library: galleries, one photo's latents, the metrics table. */
import { z } from 'zod';

const nonNegativeInt = z.int().nonnegative();

/** Which configuration to read: by layer (the only one at that layer), or the only one there is. */
const layerChoice = { layer: nonNegativeInt.optional() };

export const GalleryTokenSchema = z.union([z.literal('cls'), z.literal('any'), nonNegativeInt]);
export type GalleryToken = z.infer<typeof GalleryTokenSchema>;

export const GalleryRequestSchema = z.strictObject({
  feature: nonNegativeInt,
  token: GalleryTokenSchema.default('any'),
  limit: z.int().positive().max(1000).default(60),
  offset: nonNegativeInt.default(0),
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
  mse: z.number(),
  ev: z.number(),
  l0: z.number(),
});
export type ImageDetails = z.infer<typeof ImageDetailsSchema>;

export const MetricsRequestSchema = z.strictObject({ ...layerChoice }).optional();
export type MetricsRequest = z.infer<typeof MetricsRequestSchema>;

export const LibraryMetricsSchema = z.object({
  layer: nonNegativeInt,
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
  })),
});
export type ImageList = z.infer<typeof ImageListSchema>;
