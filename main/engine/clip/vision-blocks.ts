import type { GraphBuilder } from '../onnx/graph-builder.js';
import { ExternalData } from '../onnx/external-data.js';
import { bindTensor } from '../onnx/bind-tensor.js';
import { ModelFileError } from '../errors.js';
import { tokenCount, type ClipVisionConfig } from './config.js';
import type { ClipWeights } from './weights.js';

/** Loads weights as initializers: by reference into the weight file wherever possible. */
export class WeightBinder {
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

/**
 * The pieces of transformers' CLIPEncoderLayer (pre-LN: x + attn(ln1(x)), then + mlp(ln2(x))).
 * The residual stream is kept 2-D ([B*T, D]) so every Linear is one Gemm with transB, reading the
 * [out, in] weights as stored.
 */
export class VisionOps {
  private readonly D: number;
  private readonly T: number;
  private readonly H: number;
  private readonly hd: number;
  private readonly shape2D: string;
  private readonly shapeBTD: string;
  private readonly headsShape: string;
  private readonly scale: string;

  constructor(
    private readonly g: GraphBuilder,
    private readonly w: WeightBinder,
    private readonly cfg: ClipVisionConfig,
  ) {
    this.D = cfg.hidden_size;
    this.T = tokenCount(cfg);
    this.H = cfg.num_attention_heads;
    this.hd = this.D / this.H;
    this.shape2D = g.constInt64([-1, this.D]);
    this.shapeBTD = g.constInt64([-1, this.T, this.D]);
    this.headsShape = g.constInt64([-1, this.T, this.H, this.hd]);
    this.scale = g.constFloat([this.hd ** -0.5], []);
  }

  async layerNorm(x: string, prefix: string): Promise<string> {
    const { D } = this;
    return this.g.op('LayerNormalization', [x, await this.w.bind(`${prefix}.weight`, [D]), await this.w.bind(`${prefix}.bias`, [D])], {
      axis: { i: -1 }, epsilon: { f: this.cfg.layer_norm_eps },
    });
  }

  async linear(x: string, prefix: string, out: number, inp: number): Promise<string> {
    const inputs = [x, await this.w.bind(`${prefix}.weight`, [out, inp]), await this.w.bind(`${prefix}.bias`, [out])];
    return this.g.op('Gemm', inputs, { transB: { i: 1 } });
  }

  /** [B*T, D] -> [B, T, D], the shape `resid.<L>` is exposed in. */
  toBTD(x2d: string, name?: string): string {
    return this.g.op('Reshape', [x2d, this.shapeBTD], {}, name);
  }

  /** Token 0 (CLS) of every image: [B*T, D] -> [B, D]. */
  clsRows(x2d: string): string {
    return this.g.op('Gather', [this.toBTD(x2d), this.g.constInt64([0], [])], { axis: { i: 1 } });
  }

  /** One encoder block over every token: [B*T, D] -> [B*T, D]. */
  async block(x2d: string, layer: number): Promise<string> {
    const { g, D } = this;
    const p = `encoder.layers.${layer}`;
    const a = await this.layerNorm(x2d, `${p}.layer_norm1`);
    // transformers scales the query projection (q_proj(x) * head_dim**-0.5) before Q.K^T.
    const q = g.op('Mul', [await this.linear(a, `${p}.self_attn.q_proj`, D, D), this.scale]);
    const [k, v] = await this.keysValues(a, p);
    const probs = g.op('Softmax', [g.op('MatMul', [this.heads(q, [0, 2, 1, 3]), k])], { axis: { i: -1 } });
    const ctx = g.op('Transpose', [g.op('MatMul', [probs, v])], { perm: { ints: [0, 2, 1, 3] } });
    const attended = g.op('Add', [x2d, await this.linear(g.op('Reshape', [ctx, this.shape2D]), `${p}.self_attn.out_proj`, D, D)]);
    return this.mlpResidual(attended, p);
  }

  /**
   * Block `layer` computed for the CLS token only: [B*T, D] in, its CLS output [B, D] out. Valid
   * where nothing reads the block's other tokens (the last block before the embedding): K and V
   * still cover every token, but the query, attention, out_proj and MLP run on one row per image
   * instead of T, the same arithmetic per row as `block`.
   */
  async clsBlock(x2d: string, layer: number): Promise<string> {
    const { g, D, H, hd } = this;
    const p = `encoder.layers.${layer}`;
    const a = await this.layerNorm(x2d, `${p}.layer_norm1`);
    const [k, v] = await this.keysValues(a, p);
    const q = g.op('Mul', [await this.linear(this.clsRows(a), `${p}.self_attn.q_proj`, D, D), this.scale]);
    const probs = g.op('Softmax', [g.op('MatMul', [g.op('Reshape', [q, g.constInt64([-1, H, 1, hd])]), k])], { axis: { i: -1 } });
    // [B, H, 1, hd] is already head-major per image: the reshape is the full path's transpose + reshape.
    const ctx = g.op('Reshape', [g.op('MatMul', [probs, v]), this.shape2D]);
    const attended = g.op('Add', [this.clsRows(x2d), await this.linear(ctx, `${p}.self_attn.out_proj`, D, D)]);
    return this.mlpResidual(attended, p);
  }

  /** Per-head keys [B, H, hd, T] (transposed for Q.K^T) and values [B, H, T, hd]. */
  private async keysValues(a: string, p: string): Promise<[string, string]> {
    const { D } = this;
    const k = await this.linear(a, `${p}.self_attn.k_proj`, D, D);
    const v = await this.linear(a, `${p}.self_attn.v_proj`, D, D);
    return [this.heads(k, [0, 2, 3, 1]), this.heads(v, [0, 2, 1, 3])];
  }

  private heads(t: string, perm: number[]): string {
    return this.g.op('Transpose', [this.g.op('Reshape', [t, this.headsShape])], { perm: { ints: perm } });
  }

  private async mlpResidual(x: string, p: string): Promise<string> {
    const { g, D, cfg } = this;
    const m = await this.linear(await this.layerNorm(x, `${p}.layer_norm2`), `${p}.mlp.fc1`, cfg.intermediate_size, D);
    const act = cfg.hidden_act === 'gelu' ? gelu(g, m) : quickGelu(g, m);
    return g.op('Add', [x, await this.linear(act, `${p}.mlp.fc2`, D, cfg.intermediate_size)]);
  }
}

/**
 * Exact GELU, as torch's nn.functional.gelu (approximate='none'): 0.5 x (1 + erf(x / sqrt 2)).
 * Written with Div by sqrt 2 because that is the form onnxruntime's GeluFusion recognises: it
 * becomes one Gelu kernel instead of five elementwise passes (same numbers on CPU). The ONNX
 * Gelu operator (opset 20) is no faster on CPU, and a provider without a Gelu-20 kernel would
 * run it on the CPU, copying activations off the device and back in every block.
 */
function gelu(g: GraphBuilder, x: string): string {
  const erf = g.op('Erf', [g.op('Div', [x, g.constFloat([Math.SQRT2], [])])]);
  return g.op('Mul', [g.op('Mul', [x, g.constFloat([0.5], [])]), g.op('Add', [erf, g.constFloat([1], [])])]);
}

/** transformers' QuickGELUActivation: x * sigmoid(1.702 x). */
function quickGelu(g: GraphBuilder, x: string): string {
  return g.op('Mul', [x, g.op('Sigmoid', [g.op('Mul', [x, g.constFloat([1.702], [])])])]);
}
