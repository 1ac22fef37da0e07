import type { SparseCodes } from './sparse-codes.js';

/** Reconstruction quality of one image's tokens, with the model card's formulas. */
export interface ReconstructionMetrics {
  /** Per token: sum_d (x - x^)^2. */
  readonly sse: Float64Array;
  /** The card's MSE column: mean over tokens of SSE. */
  readonly mse: number;
  /** Mean over tokens of 1 - SSE / sum_d (x - mean_d x)^2. */
  readonly ev: number;
  /** Per token position: mean over dims of (x - x^)^2. */
  readonly positionMse: Float64Array;
  /** Mean number of latents > 0 per token. */
  readonly l0: number;
}

/** Per token: SSE = sum_d (x - x^)^2 and SST = sum_d (x - mean_d x)^2. */
export interface TokenErrors {
  readonly sse: ArrayLike<number>;
  readonly sst: ArrayLike<number>;
}

/** The per-token errors from x and its reconstruction, in float64 (TopK SAEs get them from their graph). */
export function tokenErrors(x: Float32Array, recon: Float32Array, d: number): { sse: Float64Array; sst: Float64Array } {
  const n = x.length / d;
  const sse = new Float64Array(n);
  const sst = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    let mean = 0;
    for (let i = 0; i < d; i++) mean += x[t * d + i]!;
    mean /= d;
    let err = 0;
    let tot = 0;
    for (let i = 0; i < d; i++) {
      const xi = x[t * d + i]!;
      const e = xi - recon[t * d + i]!;
      err += e * e;
      tot += (xi - mean) * (xi - mean);
    }
    sse[t] = err;
    sst[t] = tot;
  }
  return { sse, sst };
}

/** The card's metrics from each token's errors and latents. */
export function metricsFromErrors(errors: TokenErrors, codes: SparseCodes, d: number): ReconstructionMetrics {
  const n = errors.sse.length;
  const sse = Float64Array.from(errors.sse);
  const positionMse = new Float64Array(n);
  let sseSum = 0;
  let evSum = 0;
  let active = 0;
  for (let t = 0; t < n; t++) {
    sseSum += sse[t]!;
    positionMse[t] = sse[t]! / d;
    evSum += 1 - sse[t]! / errors.sst[t]!;
    for (let j = codes.offsets[t]!; j < codes.offsets[t + 1]!; j++) if (codes.val[j]! > 0) active++;
  }
  return { sse, mse: sseSum / n, ev: evSum / n, positionMse, l0: active / n };
}

export function reconstructionMetrics(x: Float32Array, recon: Float32Array, codes: SparseCodes, d: number): ReconstructionMetrics {
  return metricsFromErrors(tokenErrors(x, recon, d), codes, d);
}
