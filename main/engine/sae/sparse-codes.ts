/**
 * Sparse latents of many tokens in CSR form: token t's active latents are
 * idx/val[offsets[t] .. offsets[t+1]), sorted by value, largest first.
 */
export interface SparseCodes {
  readonly offsets: Uint32Array;
  readonly idx: Int32Array;
  readonly val: Float32Array;
}

export function tokenCountOf(codes: SparseCodes): number {
  return codes.offsets.length - 1;
}

/** TopK graph outputs ([N, k] values, int64 indices; already sorted) as CSR. */
export function codesFromTopK(values: Float32Array, indices: BigInt64Array, k: number): SparseCodes {
  const n = values.length / k;
  const offsets = new Uint32Array(n + 1);
  for (let t = 0; t <= n; t++) offsets[t] = t * k;
  const idx = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) idx[i] = Number(indices[i]);
  return { offsets, idx, val: Float32Array.from(values) };
}

/** A dense [N, F] latent (ReLU / JumpReLU SAEs): every latent > 0 is kept. */
export function codesFromDense(latent: Float32Array, nFeatures: number): SparseCodes {
  const n = latent.length / nFeatures;
  const offsets = new Uint32Array(n + 1);
  const idx: number[] = [];
  const val: number[] = [];
  for (let t = 0; t < n; t++) {
    const row: [number, number][] = [];
    const base = t * nFeatures;
    for (let f = 0; f < nFeatures; f++) {
      const v = latent[base + f]!;
      if (v > 0) row.push([f, v]);
    }
    row.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    for (const [f, v] of row) {
      idx.push(f);
      val.push(v);
    }
    offsets[t + 1] = idx.length;
  }
  return { offsets, idx: Int32Array.from(idx), val: Float32Array.from(val) };
}

/** Tokens [start, end) of a batch's codes, re-based (one image out of a batch). */
export function sliceCodes(codes: SparseCodes, start: number, end: number): SparseCodes {
  const a = codes.offsets[start]!;
  const b = codes.offsets[end]!;
  return {
    offsets: codes.offsets.slice(start, end + 1).map((o) => o - a),
    idx: codes.idx.slice(a, b),
    val: codes.val.slice(a, b),
  };
}

/** Token t's codes as plain arrays (for JSON output). */
export function tokenRow(codes: SparseCodes, t: number): { idx: number[]; val: number[] } {
  const a = codes.offsets[t]!;
  const b = codes.offsets[t + 1]!;
  return { idx: Array.from(codes.idx.subarray(a, b)), val: Array.from(codes.val.subarray(a, b)) };
}
