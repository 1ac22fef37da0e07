import type { FileTensor } from '../formats/tensor.js';

export type SaeFormat = 'clipscope' | 'saelens';
export type SaeArchitecture = 'topk' | 'standard' | 'jumprelu';

/**
 * A sparse autoencoder as found on disk, tensors still unread. Shapes: encoder [d_in, F],
 * decoder [F, d_in] (whatever strides the file recorded), biases [F] / [d_in].
 */
export interface SaeModel {
  readonly file: string;
  readonly format: SaeFormat;
  readonly architecture: SaeArchitecture;
  readonly dIn: number;
  readonly nFeatures: number;
  /** Latents kept per token (TopK); null for standard / jumprelu. */
  readonly k: number | null;
  /** Layer recorded with the SAE (log_id, folder name or hook name); null if none was found. */
  readonly layer: number | null;
  readonly encoder: FileTensor;
  readonly decoder: FileTensor;
  /** Subtracted from the input before encoding (CLIP-Scope pre_b; SAELens b_dec when apply_b_dec_to_input). */
  readonly inputBias: FileTensor | null;
  readonly encoderBias: FileTensor | null;
  /** Added to the reconstruction (CLIP-Scope pre_b; SAELens b_dec). */
  readonly decoderBias: FileTensor;
  readonly threshold: FileTensor | null;
  /**
   * CLIP-Scope keeps the k largest pre-activations as they are (no ReLU, values may be <= 0);
   * SAELens TopK applies a ReLU to the kept values.
   */
  readonly reluAfterTopk: boolean;
}
