import { GraphBuilder } from '../onnx/graph-builder.js';
import type { ExternalFile } from '../onnx/external-data.js';
import { tokenCount, type ClipVisionConfig } from './config.js';
import type { ClipWeights } from './weights.js';
import { VisionOps, WeightBinder } from './vision-blocks.js';

export interface VisionGraphSpec {
  /** Layers whose block output is exposed as `resid.<L>` (0-based, as clipscope hooks them). */
  readonly layers: readonly number[];
  /** Also compute the image embedding (post_layernorm of CLS, then the visual projection). */
  readonly embedding: boolean;
  /**
   * Build the tail from this layer on: the graph takes `resid.<from>` (the output of block
   * `from`) as input instead of pixels, and runs blocks from+1.. (steering re-runs it).
   */
  readonly from?: number;
}

export interface BuiltGraph {
  readonly model: Uint8Array;
  readonly files: ExternalFile[];
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

export const PIXELS = 'pixel_values';
export const EMBEDDING = 'embedding';
export const residName = (layer: number): string => `resid.${layer}`;

function validateSpec(cfg: ClipVisionConfig, spec: VisionGraphSpec): void {
  const n = cfg.num_hidden_layers;
  for (const l of [...spec.layers, ...(spec.from === undefined ? [] : [spec.from])]) {
    if (!Number.isInteger(l) || l < 0 || l >= n) throw new RangeError(`layer ${l} is out of range: this model has layers 0..${n - 1}`);
  }
  if (spec.from !== undefined && spec.layers.some((l) => l <= spec.from!)) {
    throw new RangeError(`a tail graph from layer ${spec.from} can only expose later layers`);
  }
  if (!spec.embedding && spec.layers.length === 0) throw new RangeError('the graph would have no outputs');
}

/**
 * The CLIP vision transformer as transformers' CLIPVisionTransformer computes it:
 * patch conv (no bias) -> [CLS; patches] + positions -> pre_layrnorm -> pre-LN blocks
 * -> post_layernorm(CLS) -> visual_projection.
 */
export async function buildVisionGraph(cfg: ClipVisionConfig, weights: ClipWeights, spec: VisionGraphSpec): Promise<BuiltGraph> {
  validateSpec(cfg, spec);
  const g = new GraphBuilder(spec.from === undefined ? 'clip_vision' : `clip_vision_tail_${spec.from}`);
  const w = new WeightBinder(g, weights);
  const ops = new VisionOps(g, w, cfg);
  const D = cfg.hidden_size;
  const T = tokenCount(cfg);
  const P = cfg.patch_size;

  let x2d: string;
  const inputs: string[] = [];
  if (spec.from === undefined) {
    const pixels = g.input(PIXELS, 'float32', ['batch', cfg.num_channels, cfg.image_size, cfg.image_size]);
    inputs.push(pixels);
    const conv = g.op('Conv', [pixels, await w.bind('embeddings.patch_embedding.weight', [D, cfg.num_channels, P, P])], {
      kernel_shape: { ints: [P, P] }, strides: { ints: [P, P] },
    });
    const patches = g.op('Transpose', [g.op('Reshape', [conv, g.constInt64([0, D, -1])])], { perm: { ints: [0, 2, 1] } });
    const batch = g.op('Shape', [pixels], { start: { i: 0 }, end: { i: 1 } });
    const clsShape = g.op('Concat', [batch, g.constInt64([1, D])], { axis: { i: 0 } });
    const cls = g.op('Expand', [g.op('Reshape', [await w.bind('embeddings.class_embedding', [D]), g.constInt64([1, 1, D])]), clsShape]);
    const tokens = g.op('Concat', [cls, patches], { axis: { i: 1 } });
    const embedded = g.op('Add', [tokens, await w.bind('embeddings.position_embedding.weight', [T, D])]);
    x2d = g.op('Reshape', [await ops.layerNorm(embedded, 'pre_layrnorm'), g.constInt64([-1, D])]);
  } else {
    const resid = g.input(residName(spec.from), 'float32', ['batch', T, D]);
    inputs.push(resid);
    x2d = g.op('Reshape', [resid, g.constInt64([-1, D])]);
  }

  const last = spec.embedding ? cfg.num_hidden_layers - 1 : Math.max(...spec.layers);
  // Past the last exposed layer only the embedding reads the stream, and it reads token 0: the
  // final block then runs for the CLS row alone (ViT-L/14: ~5.7 of its 6.7 GFLOP saved).
  const clsOnlyLast = spec.embedding && !spec.layers.includes(last);
  const outputs: string[] = [];
  let clsOut: string | null = null;
  for (let l = (spec.from ?? -1) + 1; l <= last; l++) {
    if (l === last && clsOnlyLast) {
      clsOut = await ops.clsBlock(x2d, l);
      break;
    }
    x2d = await ops.block(x2d, l);
    if (spec.layers.includes(l)) {
      const name = residName(l);
      ops.toBTD(x2d, name);
      g.output(name, 'float32', ['batch', T, D]);
      outputs.push(name);
    }
  }

  if (spec.embedding) {
    const pooled = await ops.layerNorm(clsOut ?? ops.clsRows(x2d), 'post_layernorm');
    const width = cfg.projection_dim ?? D;
    if (cfg.projection_dim === null) g.op('Identity', [pooled], {}, EMBEDDING);
    else g.op('Gemm', [pooled, await w.bind('visual_projection.weight', [cfg.projection_dim, D], true)], { transB: { i: 1 } }, EMBEDDING);
    g.output(EMBEDDING, 'float32', ['batch', width]);
    outputs.push(EMBEDDING);
  }
  return { model: g.encode({ opset: 17 }), files: w.ext.files(), inputs, outputs };
}
