import { describe, expect, it } from 'vitest';
import { Encoder, type Standardization } from '../../../main/engine/pipeline/encoder.js';
import { loadSae } from '../../../main/engine/sae/load-sae.js';
import { reconstruct } from '../../../main/engine/sae/reconstruct.js';
import { reconstructionMetrics } from '../../../main/engine/sae/metrics.js';
import { readFloat32 } from '../../../main/engine/formats/tensor-read.js';
import { fixture, manifest, npyFloat, relativeError, TEST_CACHE } from '../../helpers/references.js';

/** Deterministic per-dimension statistics, far enough from (0, 1) to change every metric. */
function someStatistics(d: number): Standardization {
  return {
    mean: Float32Array.from({ length: d }, (_, i) => 0.3 * Math.sin(i)),
    std: Float32Array.from({ length: d }, (_, i) => 0.5 + (i % 7) * 0.25),
  };
}

const cases = Object.keys(manifest.saes).flatMap((saeName) => [
  { saeName, standardized: false },
  { saeName, standardized: true },
]);

// Whatever computes the metrics (the TopK graph, or JS for dense SAEs), per image of a batch they
// must be the card's formulas on x as the SAE saw it (standardised when asked) and its decode.
describe('Encoder metrics against the JS reference (decode + formulas in plain JS)', () => {
  it.each(cases)('$saeName, standardised: $standardized', async ({ saeName, standardized }) => {
    const entry = manifest.saes[saeName]!;
    const model = manifest.models[entry.model]!;
    const std = standardized ? someStatistics(model.width) : null;
    const encoder = await Encoder.open({ modelDir: fixture(model.dir), sae: fixture(entry.file), provider: 'cpu', cacheDir: TEST_CACHE, standardization: std });
    try {
      const refs = Object.values(manifest.references.files[model.references]!).slice(0, 2);
      const pixels = await Promise.all(refs.map((r) => npyFloat(r.pixels)));
      const batch = new Float32Array(pixels[0]!.length * 2);
      pixels.forEach((p, i) => batch.set(p, i * p.length));
      const images = await encoder.encodeBatch(batch, 2);

      const sae = await loadSae(fixture(entry.file));
      const [dec, bias] = [await readFloat32(sae.decoder), await readFloat32(sae.decoderBias)];
      for (const img of images) {
        const x = std ? encoder.standardize(img.activations) : img.activations;
        const want = reconstructionMetrics(x, reconstruct(img.codes!, dec, bias), img.codes!, model.width);
        const got = img.metrics!;
        expect(got.sse).toHaveLength(model.tokens);
        expect(relativeError(got.sse, want.sse)).toBeLessThan(1e-5);
        expect(relativeError(got.positionMse, want.positionMse)).toBeLessThan(1e-5);
        expect(Math.abs(got.mse - want.mse) / want.mse).toBeLessThan(1e-5);
        expect(Math.abs(got.ev - want.ev)).toBeLessThan(1e-6);
        expect(got.l0).toBe(want.l0);
      }
    } finally {
      await encoder.release();
    }
  });
});
