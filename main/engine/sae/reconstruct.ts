import type { SparseCodes } from './sparse-codes.js';

/**
 * x^ = sum_i val_i * dec[idx_i] + b, as clipscope's TopKSAE decodes (the latent scattered into
 * 65,536 slots times dec is the same sum). `dec` is contiguous [F, d_in]. The decode of dense
 * (standard, jumprelu) SAEs and the tests' reference: TopK graphs decode inside onnxruntime.
 */
export function reconstruct(codes: SparseCodes, dec: Float32Array, bias: Float32Array): Float32Array {
  const d = bias.length;
  const n = codes.offsets.length - 1;
  const out = new Float32Array(n * d);
  for (let t = 0; t < n; t++) {
    const row = out.subarray(t * d, (t + 1) * d);
    row.set(bias);
    for (let j = codes.offsets[t]!; j < codes.offsets[t + 1]!; j++) {
      const v = codes.val[j]!;
      if (v === 0) continue;
      const base = codes.idx[j]! * d;
      for (let i = 0; i < d; i++) row[i]! += v * dec[base + i]!;
    }
  }
  return out;
}
