import { GraphBuilder } from '../onnx/graph-builder.js';
import { ExternalData } from '../onnx/external-data.js';
import { bindTensor } from '../onnx/bind-tensor.js';
import type { BuiltGraph } from '../clip/vision-graph.js';
import type { SaeModel } from './sae-model.js';

export const SAE_INPUT = 'x';
export const SAE_VALUES = 'values';
export const SAE_INDICES = 'indices';
export const SAE_LATENT = 'latent';

/**
 * The SAE encoder as one graph on the same provider as the ViT. TopK stays inside the graph so
 * only k values and indices per token come back (the 65,536-wide pre-activations never reach JS).
 * Dense architectures (standard, jumprelu) return the full latent for sparsification in JS.
 */
export async function buildSaeEncoderGraph(sae: SaeModel): Promise<BuiltGraph> {
  const g = new GraphBuilder(`sae_${sae.format}_${sae.architecture}`);
  const ext = new ExternalData();
  const x = g.input(SAE_INPUT, 'float32', ['tokens', sae.dIn]);
  const centred = sae.inputBias ? g.op('Sub', [x, await bindTensor(g, ext, 'input_bias', sae.inputBias)]) : x;
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
    outputs.push(SAE_VALUES, SAE_INDICES);
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
