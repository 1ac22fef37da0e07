import { GraphBuilder } from '../onnx/graph-builder.js';
import { ExternalData, type ExternalFile } from '../onnx/external-data.js';
import { bindTensor } from '../onnx/bind-tensor.js';
import { ModelFileError } from '../errors.js';
import { tokenCount, type ClipVisionConfig } from './config.js';
import type { ClipWeights } from './weights.js';

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

/** Loads weights as initializers: by reference into the weight file wherever possible. */
class WeightBinder {
  readonly ext = new ExternalData();
  constructor(
    private readonly g: GraphBuilder,
    private readonly weights: ClipWeights,
  ) {}

  /** `name` is relative to the vision tower unless `root` (the projection sits beside it). */
  async bind(name: string, shape: readonly number[], root = false): Promise<string> {
    const t = root ? this.weights.getRoot(name) : this.weights.get(name);
    const given = t.shape.join('x');
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new ModelFileError(t.file, `weight ${name} has shape [${given}], the config implies [${shape.join('x')}]`);
    }
    return bindTensor(this.g, this.ext, `w.${name}`, t);
  }
}

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
 * -> post_layernorm(CLS) -> visual_projection. The residual stream is kept 2-D ([B*T, D]) so
 * every Linear is one Gemm with transB, reading the [out, in] weights as stored.
 */
export async function buildVisionGraph(cfg: ClipVisionConfig, weights: ClipWeights, spec: VisionGraphSpec): Promise<BuiltGraph> {
  validateSpec(cfg, spec);
  const g = new GraphBuilder(spec.from === undefined ? 'clip_vision' : `clip_vision_tail_${spec.from}`);
  const w = new WeightBinder(g, weights);
  const D = cfg.hidden_size;
  const T = tokenCount(cfg);
  const H = cfg.num_attention_heads;
  const hd = D / H;
  const P = cfg.patch_size;
  const eps = { f: cfg.layer_norm_eps };
  const shapeBTD = g.constInt64([-1, T, D]);
  const shape2D = g.constInt64([-1, D]);

  const layerNorm = async (x: string, prefix: string): Promise<string> =>
    g.op('LayerNormalization', [x, await w.bind(`${prefix}.weight`, [D]), await w.bind(`${prefix}.bias`, [D])], { axis: { i: -1 }, epsilon: eps });
  const linear = async (x: string, prefix: string, out: number, inp: number, bias = true): Promise<string> => {
    const inputs = [x, await w.bind(`${prefix}.weight`, [out, inp])];
    if (bias) inputs.push(await w.bind(`${prefix}.bias`, [out]));
    return g.op('Gemm', inputs, { transB: { i: 1 } });
  };

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
    x2d = g.op('Reshape', [await layerNorm(embedded, 'pre_layrnorm'), shape2D]);
  } else {
    const resid = g.input(residName(spec.from), 'float32', ['batch', T, D]);
    inputs.push(resid);
    x2d = g.op('Reshape', [resid, shape2D]);
  }

  const last = spec.embedding ? cfg.num_hidden_layers - 1 : Math.max(...spec.layers);
  const headsShape = g.constInt64([-1, T, H, hd]);
  const scale = g.constFloat([hd ** -0.5], []);
  const outputs: string[] = [];
  for (let l = (spec.from ?? -1) + 1; l <= last; l++) {
    const p = `encoder.layers.${l}`;
    const a = await layerNorm(x2d, `${p}.layer_norm1`);
    // transformers scales the query projection (q_proj(x) * head_dim**-0.5) before Q.K^T.
    const q = g.op('Mul', [await linear(a, `${p}.self_attn.q_proj`, D, D), scale]);
    const k = await linear(a, `${p}.self_attn.k_proj`, D, D);
    const v = await linear(a, `${p}.self_attn.v_proj`, D, D);
    const heads = (t: string, perm: number[]): string => g.op('Transpose', [g.op('Reshape', [t, headsShape])], { perm: { ints: perm } });
    const scores = g.op('MatMul', [heads(q, [0, 2, 1, 3]), heads(k, [0, 2, 3, 1])]);
    const probs = g.op('Softmax', [scores], { axis: { i: -1 } });
    const ctx = g.op('Transpose', [g.op('MatMul', [probs, heads(v, [0, 2, 1, 3])])], { perm: { ints: [0, 2, 1, 3] } });
    const attnOut = await linear(g.op('Reshape', [ctx, shape2D]), `${p}.self_attn.out_proj`, D, D);
    x2d = g.op('Add', [x2d, attnOut]);

    const m = await linear(await layerNorm(x2d, `${p}.layer_norm2`), `${p}.mlp.fc1`, cfg.intermediate_size, D);
    const act = cfg.hidden_act === 'gelu' ? gelu(g, m) : quickGelu(g, m);
    x2d = g.op('Add', [x2d, await linear(act, `${p}.mlp.fc2`, D, cfg.intermediate_size)]);

    if (spec.layers.includes(l)) {
      const name = residName(l);
      g.op('Reshape', [x2d, shapeBTD], {}, name);
      g.output(name, 'float32', ['batch', T, D]);
      outputs.push(name);
    }
  }

  if (spec.embedding) {
    const cls = g.op('Gather', [g.op('Reshape', [x2d, shapeBTD]), g.constInt64([0], [])], { axis: { i: 1 } });
    const pooled = await layerNorm(cls, 'post_layernorm');
    const width = cfg.projection_dim ?? D;
    if (cfg.projection_dim === null) g.op('Identity', [pooled], {}, EMBEDDING);
    else g.op('Gemm', [pooled, await w.bind('visual_projection.weight', [cfg.projection_dim, D], true)], { transB: { i: 1 } }, EMBEDDING);
    g.output(EMBEDDING, 'float32', ['batch', width]);
    outputs.push(EMBEDDING);
  }
  return { model: g.encode({ opset: 17 }), files: w.ext.files(), inputs, outputs };
}

/** Exact GELU, as torch's nn.functional.gelu (approximate='none'): 0.5 x (1 + erf(x / sqrt 2)). */
function gelu(g: GraphBuilder, x: string): string {
  const erf = g.op('Erf', [g.op('Mul', [x, g.constFloat([Math.SQRT1_2], [])])]);
  return g.op('Mul', [g.op('Mul', [x, g.constFloat([0.5], [])]), g.op('Add', [erf, g.constFloat([1], [])])]);
}

/** transformers' QuickGELUActivation: x * sigmoid(1.702 x). */
function quickGelu(g: GraphBuilder, x: string): string {
  return g.op('Mul', [x, g.op('Sigmoid', [g.op('Mul', [x, g.constFloat([1.702], [])])])]);
}

