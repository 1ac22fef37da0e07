import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import ort from 'onnxruntime-node';
import { loadClipModel } from '../../../main/engine/clip/model-dir.js';
import { buildVisionGraph, type BuiltGraph, type VisionGraphSpec } from '../../../main/engine/clip/vision-graph.js';
import { materializeGraph } from '../../../main/engine/runtime/graph-cache.js';
import { ModelProto } from '../../../main/engine/onnx/proto.js';
import { fixture, manifest, TEST_CACHE } from '../../helpers/references.js';

interface Node { op_type: string; domain?: string; input: string[]; output: string[] }

function nodesOf(model: Uint8Array): Node[] {
  const m = ModelProto.toObject(ModelProto.decode(model), { defaults: true }) as { graph: { node: Node[] } };
  return m.graph.node;
}

async function build(modelName: string, spec: VisionGraphSpec): Promise<BuiltGraph> {
  const m = await loadClipModel(fixture(manifest.models[modelName]!.dir));
  return buildVisionGraph(m.config, m.weights, spec);
}

/** The op that produces the input of the last block's query projection. */
function lastQueryInput(graph: BuiltGraph, lastLayer: number): string {
  const nodes = nodesOf(graph.model);
  const q = nodes.find((n) => n.op_type === 'Gemm' && n.input[1] === `w.encoder.layers.${lastLayer}.self_attn.q_proj.weight`)!;
  return nodes.find((n) => n.output.includes(q.input[0]!))!.op_type;
}

describe('the vision graph\'s final block', () => {
  const last = manifest.models['clip-tiny-gelu']!.layers - 1;

  it('projects queries for the CLS rows only when nothing reads its other tokens', async () => {
    expect(lastQueryInput(await build('clip-tiny-gelu', { layers: [1], embedding: true }), last)).toBe('Gather');
    expect(lastQueryInput(await build('clip-tiny-gelu', { layers: [], embedding: true, from: 1 }), last)).toBe('Gather');
  });

  it('projects queries for every token when its output is exposed', async () => {
    expect(lastQueryInput(await build('clip-tiny-gelu', { layers: [1, last], embedding: true }), last)).toBe('LayerNormalization');
    expect(lastQueryInput(await build('clip-tiny-gelu', { layers: [last], embedding: false }), last)).toBe('LayerNormalization');
  });
});

describe('GELU in the vision graph', () => {
  /** The node types onnxruntime actually runs after its graph optimisations. */
  async function optimizedOps(graph: BuiltGraph): Promise<string[]> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'clipscope-opt-'));
    try {
      const { modelPath, externalData } = await materializeGraph(graph, TEST_CACHE);
      const out = path.join(dir, 'optimized.onnx');
      const session = await ort.InferenceSession.create(modelPath, {
        executionProviders: ['cpu'], graphOptimizationLevel: 'all', logSeverityLevel: 3, optimizedModelFilePath: out,
        ...(externalData.length ? { externalData } : {}),
      });
      await session.release();
      return nodesOf(await readFile(out)).map((n) => `${n.domain ? `${n.domain}:` : ''}${n.op_type}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  // Five elementwise passes per block otherwise; the exact-GELU parity is pinned by vision-parity.
  it('is written so that onnxruntime fuses it into one Gelu kernel per block', async () => {
    const ops = await optimizedOps(await build('clip-tiny-gelu', { layers: [1], embedding: true }));
    expect(ops.filter((o) => o === 'com.microsoft:Gelu')).toHaveLength(manifest.models['clip-tiny-gelu']!.layers);
    expect(ops).not.toContain('Erf');
  });

  it('leaves quick_gelu models without the exact GELU', async () => {
    const ops = await optimizedOps(await build('clip-tiny-quickgelu', { layers: [1], embedding: true }));
    expect(ops.filter((o) => o === 'com.microsoft:Gelu' || o === 'Gelu' || o === 'Erf')).toEqual([]);
  });
});
