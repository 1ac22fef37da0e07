import { GraphBuilder } from '../onnx/graph-builder.js';
import { ExternalData } from '../onnx/external-data.js';
import { bindTensor } from '../onnx/bind-tensor.js';
import type { BuiltGraph } from '../clip/vision-graph.js';
import type { SaeModel } from './sae-model.js';

export const SAE_INPUT = 'x';
export const SAE_VALUES = 'values';
export const SAE_INDICES = 'indices';
export const SAE_LATENT = 'latent';
/** TopK SAEs only: per token, sum_d (x - x^)^2. */
export const SAE_SSE = 'sse';
/** TopK SAEs only: per token, sum_d (x - mean_d x)^2 (explained variance's denominator). */
export const SAE_SST = 'sst';
/** TopK SAEs only: x^ [tokens, d_in], for callers that fetch it (the metrics need only SSE / SST). */
export const SAE_RECON = 'reconstruction';

/**
 * The SAE encoder as one graph on the same provider as the ViT. TopK stays inside the graph so
 * only k values and indices per token come back (the 65,536-wide pre-activations never reach JS),
 * and so does the decode and the per-token errors the metrics need: the reconstruction is one
 * vectorised gather + batched matmul on onnxruntime's threads instead of a scalar JS loop.
 * Dense architectures (standard, jumprelu) return the full latent for sparsification in JS.
 */
export async function buildSaeEncoderGraph(sae: SaeModel): Promise<BuiltGraph> {
  const g = new GraphBuilder(`sae_${sae.format}_${sae.architecture}`);
  const ext = new ExternalData();
  const x = g.input(SAE_INPUT, 'float32', ['tokens', sae.dIn]);
  const inputBias = sae.inputBias ? await bindTensor(g, ext, 'input_bias', sae.inputBias) : null;
  const centred = inputBias ? g.op('Sub', [x, inputBias]) : x;
  let pre = g.op('MatMul', [centred, await bindTensor(g, ext, 'encoder', sae.encoder)]);
  if (sae.encoderBias) pre = g.op('Add', [pre, await bindTensor(g, ext, 'encoder_bias', sae.encoderBias)]);

  const outputs: string[] = [];
  if (sae.architecture === 'topk') {
    const k = g.constInt64([sae.k!]);
    // CLIP-Scope: top-k of the raw pre-activations, no ReLU (values may be <= 0). SAELens: ReLU after.
    const [values, indices] = g.node('TopK', [pre, k], { axis: { i: -1 }, largest: { i: 1 }, sorted: { i: 1 } },
      sae.reluAfterTopk ? 2 : [SAE_VALUES, SAE_INDICES]);
    if (sae.reluAfterTopk) {
      g.op('Relu', [values!], {}, SAE_VALUES);
      g.op('Identity', [indices!], {}, SAE_INDICES);
    }
    g.output(SAE_VALUES, 'float32', ['tokens', sae.k!]);
    g.output(SAE_INDICES, 'int64', ['tokens', sae.k!]);
    // CLIP-Scope decodes with the same pre_b it subtracts: one initializer serves both.
    const decoderBias = inputBias && sae.decoderBias === sae.inputBias ? inputBias : await bindTensor(g, ext, 'decoder_bias', sae.decoderBias);
    decodeAndErrors(g, x, await bindTensor(g, ext, 'decoder', sae.decoder), decoderBias, sae.k!, sae.dIn);
    outputs.push(SAE_VALUES, SAE_INDICES, SAE_SSE, SAE_SST, SAE_RECON);
  } else {
    const relu = g.op('Relu', [pre]);
    if (sae.architecture === 'standard') g.op('Identity', [relu], {}, SAE_LATENT);
    else {
      // SAELens JumpReLU: relu(pre) * (pre > threshold).
      const gate = g.op('Cast', [g.op('Greater', [pre, await bindTensor(g, ext, 'threshold', sae.threshold!)])], { to: { i: 1 } });
      g.op('Mul', [relu, gate], {}, SAE_LATENT);
    }
    g.output(SAE_LATENT, 'float32', ['tokens', sae.nFeatures]);
    outputs.push(SAE_LATENT);
  }
  return { model: g.encode({ opset: 17 }), files: ext.files(), inputs: [SAE_INPUT], outputs };
}

/**
 * x^ = sum_i val_i * dec[idx_i] + b (clipscope's decode: the latent scattered into F slots times
 * dec is the same sum) as Gather [tokens, k, d_in] + a batched [1, k] x [k, d_in] matmul, then
 * each token's SSE and SST, so only two numbers per token go back to JS for the metrics.
 */
function decodeAndErrors(g: GraphBuilder, x: string, decoder: string, bias: string, k: number, d: number): void {
  const rows = g.op('Gather', [decoder, SAE_INDICES], { axis: { i: 0 } });
  const weights = g.op('Reshape', [SAE_VALUES, g.constInt64([-1, 1, k])]);
  const summed = g.op('Reshape', [g.op('MatMul', [weights, rows]), g.constInt64([-1, d])]);
  const recon = g.op('Add', [summed, bias], {}, SAE_RECON);
  const lastAxis = { axes: { ints: [-1] } };
  g.op('ReduceSumSquare', [g.op('Sub', [x, recon])], { ...lastAxis, keepdims: { i: 0 } }, SAE_SSE);
  const mean = g.op('ReduceMean', [x], { ...lastAxis, keepdims: { i: 1 } });
  g.op('ReduceSumSquare', [g.op('Sub', [x, mean])], { ...lastAxis, keepdims: { i: 0 } }, SAE_SST);
  g.output(SAE_RECON, 'float32', ['tokens', d]);
  g.output(SAE_SSE, 'float32', ['tokens']);
  g.output(SAE_SST, 'float32', ['tokens']);
}
