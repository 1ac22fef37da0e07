import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import ort from 'onnxruntime-node';
import { loadSae } from '../../../main/engine/sae/load-sae.js';
import { buildSaeEncoderGraph, SAE_INDICES, SAE_INPUT, SAE_LATENT, SAE_RECON, SAE_SSE, SAE_SST, SAE_VALUES } from '../../../main/engine/sae/sae-graph.js';
import { codesFromDense, codesFromTopK } from '../../../main/engine/sae/sparse-codes.js';
import { reconstruct } from '../../../main/engine/sae/reconstruct.js';
import { metricsFromErrors, reconstructionMetrics, tokenErrors } from '../../../main/engine/sae/metrics.js';
import { readFloat32 } from '../../../main/engine/formats/tensor-read.js';
import { openSession } from '../../../main/engine/runtime/session.js';
import { fixture, manifest, npyFloat, npyIndices, relativeError, sameSetShare, TEST_CACHE } from '../../helpers/references.js';

interface RefMetrics { mse: number; ev: number; l0: number; sse: number[]; position_mse: number[] }

async function encodeWith(saeName: string, x: Float32Array) {
  const entry = manifest.saes[saeName]!;
  const sae = await loadSae(fixture(entry.file));
  const opened = await openSession(await buildSaeEncoderGraph(sae), { provider: 'cpu', cacheDir: TEST_CACHE });
  const out = await opened.session.run({ [SAE_INPUT]: new ort.Tensor('float32', x, [x.length / sae.dIn, sae.dIn]) });
  await opened.session.release();
  const codes = sae.architecture === 'topk'
    ? codesFromTopK(out[SAE_VALUES]!.data as Float32Array, out[SAE_INDICES]!.data as BigInt64Array, sae.k!)
    : codesFromDense(out[SAE_LATENT]!.data as Float32Array, sae.nFeatures);
  const recon = reconstruct(codes, await readFloat32(sae.decoder), await readFloat32(sae.decoderBias));
  // TopK graphs also decode and compute each token's errors themselves.
  const inGraph = sae.architecture === 'topk'
    ? { recon: out[SAE_RECON]!.data as Float32Array, sse: out[SAE_SSE]!.data as Float32Array, sst: out[SAE_SST]!.data as Float32Array }
    : null;
  return { sae, codes, recon, inGraph, dense: out[SAE_LATENT]?.data as Float32Array | undefined };
}

const cases = Object.entries(manifest.saes).flatMap(([saeName, entry]) =>
  Object.entries(manifest.references.files[manifest.models[entry.model]!.references]!)
    .filter(([, r]) => r.saes[saeName])
    .map(([photo, r]) => ({ saeName, photo, ref: r.saes[saeName]!, resid: r.resid[String(r.saes[saeName]!.input_layer)]! })),
);

describe('SAE encoders against the PyTorch reference (same activations in)', () => {
  it.each(cases)('$saeName on $photo', async ({ saeName, ref, resid }) => {
    const x = await npyFloat(resid);
    const { sae, codes, recon, inGraph, dense } = await encodeWith(saeName, x);
    const d = sae.dIn;
    if (sae.architecture === 'topk') {
      const k = sae.k!;
      const idx = await npyIndices(ref.idx!);
      const val = await npyFloat(ref.val!);
      // Top-k sets identical on (nearly) every token; rows sorted largest first.
      expect(sameSetShare(codes.idx, idx, k)).toBeGreaterThan(0.99);
      expect(relativeError(codes.val, val)).toBeLessThan(1e-4);
      for (let t = 0; t < codes.val.length / k; t++) {
        for (let j = 1; j < k; j++) expect(codes.val[t * k + j]!).toBeLessThanOrEqual(codes.val[t * k + j - 1]!);
      }
    } else {
      expect(relativeError(dense!, await npyFloat(ref.latent!))).toBeLessThan(1e-4);
    }
    expect(relativeError(recon, await npyFloat(ref.recon))).toBeLessThan(1e-4);
    const m = reconstructionMetrics(x, recon, codes, d);
    const want = JSON.parse(await readFile(fixture(ref.metrics), 'utf8')) as RefMetrics;
    expect(m.mse).toBeCloseTo(want.mse, 2);
    expect(Math.abs(m.mse - want.mse) / want.mse).toBeLessThan(1e-4);
    expect(m.ev).toBeCloseTo(want.ev, 5);
    expect(m.l0).toBeCloseTo(want.l0, 6);
    expect(relativeError(m.positionMse, want.position_mse)).toBeLessThan(1e-4);
    expect(relativeError(m.sse, want.sse)).toBeLessThan(1e-4);

    if (inGraph) {
      // The graph's decode and errors: the JS reference's numbers, and so the reference's metrics.
      expect(relativeError(inGraph.recon, recon)).toBeLessThan(1e-6);
      expect(relativeError(inGraph.recon, await npyFloat(ref.recon))).toBeLessThan(1e-4);
      const js = tokenErrors(x, recon, d);
      expect(relativeError(inGraph.sse, js.sse)).toBeLessThan(1e-5);
      expect(relativeError(inGraph.sst, js.sst)).toBeLessThan(1e-5);
      const g = metricsFromErrors(inGraph, codes, d);
      expect(Math.abs(g.mse - want.mse) / want.mse).toBeLessThan(1e-4);
      expect(g.ev).toBeCloseTo(want.ev, 5);
      expect(g.l0).toBe(m.l0);
      expect(relativeError(g.positionMse, want.position_mse)).toBeLessThan(1e-4);
      expect(relativeError(g.sse, want.sse)).toBeLessThan(1e-4);
    }
  });
});

describe('CLIP-Scope semantics', () => {
  it('keeps the top k pre-activations without a ReLU, unlike SAELens TopK on the same weights', async () => {
    const c = cases.find((x) => x.saeName === 'clipscope-gelu')!;
    const x = await npyFloat(c.resid);
    const clipscope = await encodeWith('clipscope-gelu', x);
    const saelens = await encodeWith('saelens-topk-gelu', x);
    expect(clipscope.codes.idx).toEqual(saelens.codes.idx);
    let negatives = 0;
    for (let i = 0; i < clipscope.codes.val.length; i++) {
      const v = clipscope.codes.val[i]!;
      expect(saelens.codes.val[i]).toBeCloseTo(Math.max(0, v), 5);
      if (v < 0) negatives++;
    }
    // The fixture is built so that some kept values are negative; otherwise this test proves nothing.
    expect(negatives).toBeGreaterThan(0);
  });

  it('reads dec through its transposed strides (1, F), as stored in the real checkpoints', async () => {
    const sae = await loadSae(fixture(manifest.saes['clipscope-gelu']!.file));
    expect(sae.decoder.strides).toEqual([1, sae.nFeatures]);
    const dec = await readFloat32(sae.decoder);
    const lens = await loadSae(fixture(manifest.saes['saelens-topk-gelu']!.file));
    expect(dec).toEqual(await readFloat32(lens.decoder));
  });

  it('finds the layer in log_id or the N_resid folder', async () => {
    expect((await loadSae(fixture(manifest.saes['clipscope-gelu']!.file))).layer).toBe(2);
    expect((await loadSae(fixture(manifest.saes['saelens-jumprelu-quickgelu']!.file))).layer).toBe(1);
  });
});
