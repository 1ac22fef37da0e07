import { readNpy } from '../formats/npy.js';
import { UserFacingError } from '../errors.js';
import type { Standardization } from './encoder.js';

/**
 * Per-dimension statistics for standardised SAE inputs, from a float32 .npy of shape [2, width]
 * (row 0 the means, row 1 the standard deviations), as numpy writes
 * `np.stack([acts.mean(0), acts.std(0)]).astype('float32')`.
 */
export async function readStandardization(file: string): Promise<Standardization> {
  const a = await readNpy(file);
  if (a.shape.length !== 2 || a.shape[0] !== 2 || !(a.data instanceof Float32Array || a.data instanceof Float64Array)) {
    throw new UserFacingError(`${file}: expected a float .npy of shape [2, width] (means, standard deviations), found ${a.dtype} [${a.shape.join(', ')}]`);
  }
  const d = a.shape[1]!;
  const data = Float32Array.from(a.data);
  const std = data.slice(d);
  if (std.some((s) => !(s >= 0))) throw new UserFacingError(`${file}: standard deviations must be non-negative numbers`);
  return { mean: data.slice(0, d), std };
}
