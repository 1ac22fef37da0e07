/**
 * The data that crosses the engine API: one zod schema per request and result, with its type.
 *
 * Requests are strict objects (an unknown key such as `layr` is an error, not silently ignored);
 * results are plain objects (a key the contract does not name is stripped before it leaves the
 * main process).
 */
import { z } from 'zod';

const nonEmptyPath = z.string().min(1, { error: 'expected a non-empty path' });
const positiveInt = z.int().positive();
const nonNegativeInt = z.int().nonnegative();

// engine.info -----------------------------------------------------------------------------

export const ProviderNameSchema = z.enum(['cpu', 'webgpu', 'cuda', 'dml', 'coreml']);
export type ProviderName = z.infer<typeof ProviderNameSchema>;

export const ProviderStatusSchema = z.object({
  name: ProviderNameSchema,
  available: z.boolean(),
  /** Why the provider cannot start here (missing libraries, wrong OS), when it cannot. */
  reason: z.string().optional(),
});
export type ProviderStatus = z.infer<typeof ProviderStatusSchema>;

export const EngineInfoRequestSchema = z.void({ error: 'expected no input' });
export type EngineInfoRequest = z.infer<typeof EngineInfoRequestSchema>;

export const EngineInfoSchema = z.object({
  version: z.string(),
  providers: z.array(ProviderStatusSchema),
  /** `process.platform`-`process.arch` or similar, for display. */
  platform: z.string(),
});
export type EngineInfo = z.infer<typeof EngineInfoSchema>;

// models.inspect --------------------------------------------------------------------------

export const InspectModelRequestSchema = z.strictObject({
  /** A CLIP model folder or an SAE file/folder. */
  path: nonEmptyPath,
});
export type InspectModelRequest = z.infer<typeof InspectModelRequestSchema>;

export const VisionModelInspectionSchema = z.object({
  kind: z.literal('vision'),
  path: z.string(),
  architecture: z.string(),
  width: positiveInt,
  layers: positiveInt,
  heads: positiveInt,
  patchSize: positiveInt,
  imageSize: positiveInt,
  /** Tokens per image: 1 CLS + (imageSize / patchSize)^2. */
  tokens: positiveInt,
  /** Width of the image embedding after the projection; null when the model has none. */
  projectionDim: positiveInt.nullable(),
  hiddenAct: z.string(),
  weightsFile: z.string(),
  dtype: z.string(),
});
export type VisionModelInspection = z.infer<typeof VisionModelInspectionSchema>;

export const SaeFormatSchema = z.enum(['clipscope', 'saelens']);
export type SaeFormat = z.infer<typeof SaeFormatSchema>;

export const SaeArchitectureSchema = z.enum(['topk', 'standard', 'jumprelu']);
export type SaeArchitecture = z.infer<typeof SaeArchitectureSchema>;

export const SaeInspectionSchema = z.object({
  kind: z.literal('sae'),
  path: z.string(),
  format: SaeFormatSchema,
  architecture: SaeArchitectureSchema,
  dIn: positiveInt,
  nFeatures: positiveInt,
  /** Active features per token for TopK SAEs; null for the others. */
  k: positiveInt.nullable(),
  /** The residual-stream layer the SAE was trained on, when the file says. */
  layer: nonNegativeInt.nullable(),
});
export type SaeInspection = z.infer<typeof SaeInspectionSchema>;

export const ModelInspectionSchema = z.discriminatedUnion('kind', [
  VisionModelInspectionSchema,
  SaeInspectionSchema,
]);
export type ModelInspection = z.infer<typeof ModelInspectionSchema>;

// encode.image ----------------------------------------------------------------------------

export const EncodeImageRequestSchema = z.strictObject({
  file: nonEmptyPath,
  /** CLIP model folder. */
  model: nonEmptyPath,
  /** SAE file or folder. */
  sae: nonEmptyPath,
  /** Residual-stream layer to read; defaults to the SAE's own layer. */
  layer: nonNegativeInt.optional(),
  /** Execution provider to ask for (e.g. `cpu`, `webgpu`); defaults to the engine's choice. */
  provider: z.string().min(1).optional(),
});
export type EncodeImageRequest = z.infer<typeof EncodeImageRequestSchema>;

export const FeatureActivationSchema = z.object({
  feature: nonNegativeInt,
  value: z.number(),
});
export type FeatureActivation = z.infer<typeof FeatureActivationSchema>;

export const EncodeImageResultSchema = z.object({
  file: z.string(),
  layer: nonNegativeInt,
  /** The provider that actually ran (after any fallback). */
  provider: z.string(),
  tokens: positiveInt,
  /** The CLS token's strongest SAE features, strongest first. */
  clsTop: z.array(FeatureActivationSchema),
  /** Mean squared reconstruction error over the image's tokens. */
  mse: z.number().nonnegative(),
  /** Explained variance of the reconstruction (1 is perfect; can be negative). */
  ev: z.number(),
});
export type EncodeImageResult = z.infer<typeof EncodeImageResultSchema>;
