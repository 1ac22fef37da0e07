/** FLOP counts (multiply-add = 2) of the graphs the benchmark times. */

export interface VitShape {
  readonly hidden: number;
  readonly layers: number;
  readonly mlp: number;
  readonly patch: number;
  readonly image: number;
  readonly channels: number;
  readonly projection: number;
}

export const VIT_L14: VitShape = { hidden: 1024, layers: 24, mlp: 4096, patch: 14, image: 224, channels: 3, projection: 768 };

/** One image through the whole tower (all blocks: the engine's graph also computes the embedding). */
export function vitFlopsPerImage(s: VitShape = VIT_L14): number {
  const grid = s.image / s.patch;
  const T = grid * grid + 1;
  const D = s.hidden;
  const patchConv = 2 * grid * grid * D * s.channels * s.patch * s.patch;
  const qkvOut = 4 * 2 * T * D * D;
  const mlp = 2 * 2 * T * D * s.mlp;
  const attention = 2 * 2 * T * T * D; // Q.K^T and P.V
  const projection = 2 * D * s.projection;
  return patchConv + s.layers * (qkvOut + mlp + attention) + projection;
}

/** (x - pre_b) @ enc for every token of one image (TopK and the subtraction are not counted). */
export function saeFlopsPerImage(tokens = 257, dIn = 1024, features = 65536): number {
  return 2 * tokens * dIn * features;
}
