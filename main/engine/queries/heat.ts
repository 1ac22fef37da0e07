/**
 * One feature's activation on every token of a page of photos: the explorer's tile heatmaps,
 * one call per gallery page instead of one per tile. Sparse (the tokens where the feature is
 * among the token's top k), read from the stored latents without building anything else.
 */
import type { ReadonlyLibrary } from '../store/library.js';
import { codesOfView, viewLatents } from '../store/latents-blob.js';
import type { ConfigRow } from '../store/rows.js';
import { checkFeature, latentsBlob, readingLatents } from './runs.js';

export interface FeatureHeat {
  imageId: number;
  /** Token indices (0 = CLS, 1..256 patches row-major) where the feature has a latent. */
  tokens: number[];
  /** Its value at each of those tokens (the stored float16, as every query reads it). */
  values: number[];
  /** Its strongest token here, or null when it has no latent in this photo. */
  peak: number | null;
}

export function featureHeat(lib: ReadonlyLibrary, config: ConfigRow, feature: number, imageIds: readonly number[]): FeatureHeat[] {
  checkFeature(feature, config.nFeatures);
  return lib.read(() =>
    imageIds.map((imageId) => {
      const blob = latentsBlob(lib, config.id, imageId);
      if (!blob) return { imageId, tokens: [], values: [], peak: null };
      const codes = readingLatents(lib, imageId, () => codesOfView(viewLatents(blob)));
      const tokens: number[] = [];
      const values: number[] = [];
      let peak: number | null = null;
      let best = -Infinity;
      for (let t = 0; t + 1 < codes.offsets.length; t++) {
        for (let i = codes.offsets[t]!; i < codes.offsets[t + 1]!; i++) {
          if (codes.idx[i] !== feature) continue;
          const v = codes.val[i]!;
          tokens.push(t);
          values.push(v);
          if (v > best) {
            best = v;
            peak = t;
          }
        }
      }
      return { imageId, tokens, values, peak };
    }),
  );
}
