/**
 * The graphs a steering preview runs after the photo's prefix (blocks 0..L) is known.
 *
 * Edits change x at layer L by a few decoder directions: x' = x + coeff @ dirs, coeff [B, T, E]
 * per edit set, token and edited feature. The first tail block's expensive part for one photo is
 * projecting LayerNorm(x') through Q, K and V (3 T D^2 per edit set); that splits exactly into a
 * per-photo part and a per-direction part:
 *
 *   LN(x') W^T + b = ((g * xc) W^T + coeff @ ((g * dc) W^T)) / sigma(x') + (beta W^T + b)
 *
 * with xc, dc the centred x and directions and g, beta the LayerNorm weights (centring is linear;
 * only sigma, one number per token, needs x' itself). The prep graph computes A = (g * xc) W^T for
 * Q, K and V once per photo; each preview then costs O(B T D (1 + E)) for those projections
 * instead of O(B T D^2). At layer 22 of ViT-L the tail is one CLS-only block whose cost is
 * almost all K and V, so a sweep of 8 values costs about what one preview does.
 */
import { GraphBuilder } from '../onnx/graph-builder.js';
import { tokenCount, type ClipVisionConfig } from '../clip/config.js';
import type { ClipWeights } from '../clip/weights.js';
import { EMBEDDING, residName, type BuiltGraph } from '../clip/vision-graph.js';
import { VisionOps, WeightBinder } from '../clip/vision-blocks.js';

export const STEER_X = 'x';
export const STEER_DIRS = 'dirs';
export const STEER_COEFF = 'coeff';
/** Per-photo projections (prep graph outputs, steer graph inputs), [T, D] each. */
export const PREP_A = ['a_q', 'a_k', 'a_v'] as const;
const PROJ = ['q_proj', 'k_proj', 'v_proj'] as const;

/** Whether layer L has blocks after it (steering at the last layer feeds the head directly). */
export function hasTailBlocks(cfg: ClipVisionConfig, layer: number): boolean {
  return layer + 1 < cfg.num_hidden_layers;
}

/** x [T, D] (one photo at layer L) -> (g * xc) W^T for block L+1's q, k and v projections. */
export async function buildPrepGraph(cfg: ClipVisionConfig, weights: ClipWeights, layer: number): Promise<BuiltGraph> {
  const g = new GraphBuilder(`clip_steer_prep_${layer}`);
  const w = new WeightBinder(g, weights);
  const D = cfg.hidden_size;
  const p = `encoder.layers.${layer + 1}`;
  const x = g.input(STEER_X, 'float32', [tokenCount(cfg), D]);
  const gx = g.op('Mul', [centred(g, x), await w.bind(`${p}.layer_norm1.weight`, [D])]);
  for (const [i, name] of PREP_A.entries()) {
    g.op('Gemm', [gx, await w.bind(`${p}.self_attn.${PROJ[i]!}.weight`, [D, D])], { transB: { i: 1 } }, name);
    g.output(name, 'float32', [tokenCount(cfg), D]);
  }
  return { model: g.encode({ opset: 17 }), files: w.ext.files(), inputs: [STEER_X], outputs: [...PREP_A] };
}

/**
 * x [1, T, D], dirs [E, D], coeff [B, T, E] (+ the prep outputs when layer L has tail blocks)
 * -> the steered image embeddings [B, P]: blocks L+1.. and the head on x + coeff @ dirs; and for
 * each layer of `expose` (all > L) the steered residual `resid.<L2>` [B, T, D]. Exposing the last
 * layer, or any layer when L+1 is the last, makes blocks that would run for CLS alone run for
 * every token: callers keep a graph without it for the previews that need no later layer.
 */
export async function buildSteerGraph(cfg: ClipVisionConfig, weights: ClipWeights, layer: number, expose: readonly number[] = []): Promise<BuiltGraph> {
  for (const l of expose) {
    if (!Number.isInteger(l) || l <= layer || l >= cfg.num_hidden_layers) throw new RangeError(`layer ${l} is not after layer ${layer} in a model with layers 0..${cfg.num_hidden_layers - 1}`);
  }
  const g = new GraphBuilder(`clip_steer_${layer}`);
  const w = new WeightBinder(g, weights);
  const ops = new VisionOps(g, w, cfg);
  const D = cfg.hidden_size;
  const T = tokenCount(cfg);
  const x = g.input(STEER_X, 'float32', [1, T, D]);
  const dirs = g.input(STEER_DIRS, 'float32', ['edits', D]);
  const coeff = g.input(STEER_COEFF, 'float32', ['batch', T, 'edits']);
  const inputs = [STEER_X, STEER_DIRS, STEER_COEFF];
  // x' = x + coeff @ dirs, [B*T, D]; the CLS-only first block never forms it (see clsOnly).
  const steered = (): string => g.op('Reshape', [g.op('Add', [x, g.op('MatMul', [coeff, dirs])]), g.constInt64([-1, D])]);

  const outputs: string[] = [EMBEDDING];
  const exposeIf = (x2d: string, l: number): void => {
    if (!expose.includes(l)) return;
    const name = residName(l);
    ops.toBTD(x2d, name);
    g.output(name, 'float32', ['batch', T, D]);
    outputs.push(name);
  };

  let pooled: string;
  if (!hasTailBlocks(cfg, layer)) {
    pooled = ops.clsRows(steered());
  } else {
    const a = PREP_A.map((name) => g.input(name, 'float32', [T, D]));
    inputs.push(...PREP_A);
    const first = new FirstBlock(g, w, ops, cfg, layer + 1);
    const last = cfg.num_hidden_layers - 1;
    // Every token runs through a block unless it is the last one and nothing reads its patches.
    const everyToken = (l: number): boolean => l < last || expose.includes(l);
    let x2d = everyToken(layer + 1) ? await first.full(steered(), a, dirs, coeff) : await first.clsOnly(x, a, dirs, coeff);
    let clsOnly = !everyToken(layer + 1);
    if (!clsOnly) exposeIf(x2d, layer + 1);
    for (let l = layer + 2; l <= last; l++) {
      if (everyToken(l)) {
        x2d = await ops.block(x2d, l);
        exposeIf(x2d, l);
      } else {
        x2d = await ops.clsBlock(x2d, l);
        clsOnly = true;
      }
    }
    // After a CLS-only last block x2d holds the CLS rows only [B, D], as the embedding reads them.
    pooled = clsOnly ? x2d : ops.clsRows(x2d);
  }
  const normed = await ops.layerNorm(pooled, 'post_layernorm');
  if (cfg.projection_dim === null) g.op('Identity', [normed], {}, EMBEDDING);
  else g.op('Gemm', [normed, await w.bind('visual_projection.weight', [cfg.projection_dim, D], true)], { transB: { i: 1 } }, EMBEDDING);
  g.output(EMBEDDING, 'float32', ['batch', cfg.projection_dim ?? D]);
  return { model: g.encode({ opset: 17 }), files: w.ext.files(), inputs, outputs };
}

function centred(g: GraphBuilder, x: string): string {
  return g.op('Sub', [x, g.op('ReduceMean', [x], { axes: { ints: [-1] }, keepdims: { i: 1 } })]);
}

/**
 * Block L+1 with its q, k and v projections from the prep graph's A (see the file comment); the
 * rest is transformers' CLIPEncoderLayer as VisionOps writes it (whose pieces are private there).
 */
class FirstBlock {
  private readonly p: string;
  private readonly D: number;
  private readonly T: number;
  private readonly H: number;

  constructor(
    private readonly g: GraphBuilder,
    private readonly w: WeightBinder,
    private readonly ops: VisionOps,
    private readonly cfg: ClipVisionConfig,
    layer: number,
  ) {
    this.p = `encoder.layers.${layer}`;
    this.D = cfg.hidden_size;
    this.T = tokenCount(cfg);
    this.H = cfg.num_attention_heads;
  }

  /**
   * The parts of LN1(x') W^T + b for q, k and v that do not depend on the edit set: per
   * direction, (g * dc) W^T [E, D]; and the offset beta W^T + b [1, D].
   */
  private async projectionParts(dirs: string): Promise<{ perDir: string; offset: string }[]> {
    const { g, w, D, p } = this;
    const gamma = await w.bind(`${p}.layer_norm1.weight`, [D]);
    const beta = g.op('Reshape', [await w.bind(`${p}.layer_norm1.bias`, [D]), g.constInt64([1, D])]);
    const gd = g.op('Mul', [centred(g, dirs), gamma]);
    const out: { perDir: string; offset: string }[] = [];
    for (const proj of PROJ) {
      const weight = await w.bind(`${p}.self_attn.${proj}.weight`, [D, D]);
      const bias = await w.bind(`${p}.self_attn.${proj}.bias`, [D]);
      out.push({ perDir: g.op('Gemm', [gd, weight], { transB: { i: 1 } }), offset: g.op('Gemm', [beta, weight, bias], { transB: { i: 1 } }) });
    }
    return out;
  }

  private invSigma(variance: string): string {
    const { g } = this;
    return g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [variance, g.constFloat([this.cfg.layer_norm_eps], [])])])]);
  }

  private heads(t: string, perm: number[]): string {
    const { g, T, H, D } = this;
    return g.op('Transpose', [g.op('Reshape', [t, g.constInt64([-1, T, H, D / H])])], { perm: { ints: perm } });
  }

  private scale(q: string): string {
    return this.g.op('Mul', [q, this.g.constFloat([(this.D / this.H) ** -0.5], [])]);
  }

  /** Every token through the block: [B*T, D] -> [B*T, D]. */
  async full(x2d: string, a: readonly string[], dirs: string, coeff: string): Promise<string> {
    const { g, D, p } = this;
    const xc = centred(g, x2d);
    const inv = this.invSigma(g.op('ReduceMean', [g.op('Mul', [xc, xc])], { axes: { ints: [-1] }, keepdims: { i: 1 } }));
    // LN1(x') W^T + b = (A + coeff @ perDir) / sigma(x') + offset, [B*T, D] each.
    const [q, k, v] = (await this.projectionParts(dirs)).map(({ perDir, offset }, i) => {
      const lin = g.op('Reshape', [g.op('Add', [a[i]!, g.op('MatMul', [coeff, perDir])]), g.constInt64([-1, D])]);
      return g.op('Add', [g.op('Mul', [lin, inv]), offset]);
    });
    const probs = g.op('Softmax', [g.op('MatMul', [this.heads(this.scale(q!), [0, 2, 1, 3]), this.heads(k!, [0, 2, 3, 1])])], { axis: { i: -1 } });
    const ctx = g.op('Transpose', [g.op('MatMul', [probs, this.heads(v!, [0, 2, 1, 3])])], { perm: { ints: [0, 2, 1, 3] } });
    const attended = g.op('Add', [x2d, await this.ops.linear(g.op('Reshape', [ctx, g.constInt64([-1, D])]), `${p}.self_attn.out_proj`, D, D)]);
    return this.mlpResidual(attended);
  }

  /**
   * The block for the CLS token only (nothing reads the others), never materialising K or V per
   * edit set. With K_t = (Ak_t + sum_e c_te Bk_e) inv_t + ck (and V alike):
   *   q.K_t = inv_t (q.Ak_t + sum_e c_te q.Bk_e) + q.ck
   *   sum_t p_t V_t = (p * inv) @ Av + ((p * inv) @ coeff) @ Bv + cv      (sum_t p_t = 1)
   * and sigma(x'_t)^2 = var(x_t) + 2/D sum_e c_te (xc_t . dc_e) + 1/D sum_ee' c_te c_te' (dc_e . dc_e').
   * Every per-edit-set product is then O(T D) against operands shared by the batch, so a sweep of
   * B values costs little more than one. x (not x') in: [1, T, D]; returns [B, D].
   */
  async clsOnly(x: string, a: readonly string[], dirs: string, coeff: string): Promise<string> {
    const { g, D, H, T, p } = this;
    const hd = D / H;
    const x2 = g.op('Reshape', [x, g.constInt64([T, D])]);
    const xc = centred(g, x2);
    const dc = centred(g, dirs);
    const varX = g.op('ReduceMean', [g.op('Mul', [xc, xc])], { axes: { ints: [-1] }, keepdims: { i: 0 } }); // [T]
    const cross = g.op('MatMul', [xc, g.op('Transpose', [dc], { perm: { ints: [1, 0] } })]); // [T, E]
    const gram = g.op('MatMul', [dc, g.op('Transpose', [dc], { perm: { ints: [1, 0] } })]); // [E, E]
    const sumLast = (t: string): string => g.op('ReduceSum', [t, g.constInt64([-1])], { keepdims: { i: 0 } });
    const twoCross = sumLast(g.op('Mul', [coeff, cross])); // [B, T]
    const quad = sumLast(g.op('Mul', [g.op('MatMul', [coeff, gram]), coeff])); // [B, T]
    const variance = g.op('Add', [varX, g.op('Div', [g.op('Add', [g.op('Mul', [twoCross, g.constFloat([2], [])]), quad]), g.constFloat([D], [])])]);
    const inv = this.invSigma(variance); // [B, T]

    const [pq, pk, pv] = await this.projectionParts(dirs);
    const coeffCls = g.op('Gather', [coeff, g.constInt64([0], [])], { axis: { i: 1 } }); // [B, E]
    const invCls = g.op('Gather', [inv, g.constInt64([0], [])], { axis: { i: 1 } }); // [B]
    const aqCls = g.op('Gather', [a[0]!, g.constInt64([0], [])], { axis: { i: 0 } }); // [D]
    const qLin = g.op('Add', [aqCls, g.op('MatMul', [coeffCls, pq!.perDir])]); // [B, D]
    const q = g.op('Add', [g.op('Mul', [qLin, g.op('Unsqueeze', [invCls, g.constInt64([1])])]), pq!.offset]);
    const qh = g.op('Reshape', [this.scale(q), g.constInt64([-1, H, 1, hd])]); // [B, H, 1, hd]

    const byHead = (t: string, perm: number[]): string => g.op('Transpose', [g.op('Reshape', [t, g.constInt64([-1, H, hd])])], { perm: { ints: perm } });
    const akT = byHead(a[1]!, [1, 2, 0]); // [H, hd, T]
    const bkT = byHead(pk!.perDir, [1, 2, 0]); // [H, hd, E]
    const ckT = g.op('Reshape', [pk!.offset, g.constInt64([H, hd, 1])]);
    const coeffET = g.op('Unsqueeze', [g.op('Transpose', [coeff], { perm: { ints: [0, 2, 1] } }), g.constInt64([1])]); // [B, 1, E, T]
    const invB = g.op('Unsqueeze', [inv, g.constInt64([1, 2])]); // [B, 1, 1, T]
    const lin = g.op('Add', [g.op('MatMul', [qh, akT]), g.op('MatMul', [g.op('MatMul', [qh, bkT]), coeffET])]); // [B, H, 1, T]
    const scores = g.op('Add', [g.op('Mul', [lin, invB]), g.op('MatMul', [qh, ckT])]);
    const pw = g.op('Mul', [g.op('Softmax', [scores], { axis: { i: -1 } }), invB]); // p * inv

    const av = byHead(a[2]!, [1, 0, 2]); // [H, T, hd]
    const bv = byHead(pv!.perDir, [1, 0, 2]); // [H, E, hd]
    const cv = g.op('Reshape', [pv!.offset, g.constInt64([H, 1, hd])]);
    const pc = g.op('MatMul', [pw, g.op('Unsqueeze', [coeff, g.constInt64([1])])]); // [B, H, 1, E]
    const ctxH = g.op('Add', [g.op('Add', [g.op('MatMul', [pw, av]), g.op('MatMul', [pc, bv])]), cv]); // [B, H, 1, hd]
    const ctx = g.op('Reshape', [ctxH, g.constInt64([-1, D])]);

    const xCls = g.op('Add', [g.op('Gather', [x2, g.constInt64([0], [])], { axis: { i: 0 } }), g.op('MatMul', [coeffCls, dirs])]); // x'_0 [B, D]
    const attended = g.op('Add', [xCls, await this.ops.linear(ctx, `${p}.self_attn.out_proj`, D, D)]);
    return this.mlpResidual(attended);
  }

  private async mlpResidual(x: string): Promise<string> {
    const { g, D, p, cfg } = this;
    const m = await this.ops.linear(await this.ops.layerNorm(x, `${p}.layer_norm2`), `${p}.mlp.fc1`, cfg.intermediate_size, D);
    const act = cfg.hidden_act === 'gelu'
      // Exact GELU in the form onnxruntime fuses into one kernel, as VisionOps writes it.
      ? g.op('Mul', [g.op('Mul', [m, g.constFloat([0.5], [])]), g.op('Add', [g.op('Erf', [g.op('Div', [m, g.constFloat([Math.SQRT2], [])])]), g.constFloat([1], [])])])
      : g.op('Mul', [m, g.op('Sigmoid', [g.op('Mul', [m, g.constFloat([1.702], [])])])]);
    return g.op('Add', [x, await this.ops.linear(act, `${p}.mlp.fc2`, D, cfg.intermediate_size)]);
  }
}
