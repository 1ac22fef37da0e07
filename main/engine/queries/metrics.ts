/**
 * The model card's table on the user's own photos, per config: MSE, explained variance, dead
 * features (never active in this library), L0, and per-position MSE. Every image has the same
 * token count, so the means over images below equal the card's means over tokens.
 *
 * Normalisation: a config records whether the SAE saw raw or standardised inputs, and these
 * metrics are those of the inputs it saw. Comparing the two (the card's numbers were measured on
 * standardised inputs) means indexing the same model + SAE + layer with both normalisations;
 * metricsByNormalization pairs them up. Estimating the per-dimension statistics on the library is
 * the indexer's side (it needs the activations, which the store does not keep).
 */
import { KIND_POOLED } from '../store/entries.js';
import type { ReadonlyLibrary } from '../store/library.js';
import { firedFeatureCount, presentResultMetrics } from '../store/result-rows.js';
import { unpackSse } from '../store/packing.js';
import type { ConfigRow } from '../store/rows.js';

export interface LibraryMetrics {
  configId: number;
  layer: number;
  normalization: ConfigRow['normalization'];
  /** Present images with a result for this config. */
  images: number;
  tokens: number;
  /** Mean over tokens of SSE = sum_d (x - x^)^2; null without images. */
  mse: number | null;
  /** Mean over tokens of 1 - SSE / sum_d (x - mean_d x)^2. */
  ev: number | null;
  /** Share of features never active (> 0) on any token of these images. */
  deadFraction: number;
  /** Mean number of active latents per token. */
  l0: number | null;
  /** Per token position: mean over images of SSE / width. */
  positionMse: number[];
}

export function libraryMetrics(lib: ReadonlyLibrary, config: ConfigRow): LibraryMetrics {
  return lib.read(() => {
    const positionSse = new Float64Array(config.tokens);
    let images = 0;
    let mse = 0;
    let ev = 0;
    let l0 = 0;
    for (const [m, e, l, sseBlob] of presentResultMetrics(lib, config.id)) {
      images++;
      mse += m;
      ev += e;
      l0 += l;
      const sse = unpackSse(sseBlob);
      for (let t = 0; t < config.tokens; t++) positionSse[t]! += sse[t] ?? 0;
    }
    const fired = firedFeatureCount(lib, config.id, KIND_POOLED);
    return {
      configId: config.id,
      layer: config.layer,
      normalization: config.normalization,
      images,
      tokens: images * config.tokens,
      mse: images ? mse / images : null,
      ev: images ? ev / images : null,
      deadFraction: (config.nFeatures - fired) / config.nFeatures,
      l0: images ? l0 / images : null,
      positionMse: Array.from(positionSse, (s) => (images ? s / images / config.width : 0)),
    };
  });
}

/** The metrics of `config` and of its sibling with the other input normalisation, when indexed. */
export function metricsByNormalization(lib: ReadonlyLibrary, config: ConfigRow): { raw: LibraryMetrics | null; standardized: LibraryMetrics | null } {
  const sibling = lib.listConfigs().find((c) => c.id !== config.id && c.modelFingerprint === config.modelFingerprint
    && c.saeFingerprint === config.saeFingerprint && c.layer === config.layer);
  const mine = libraryMetrics(lib, config);
  const other = sibling ? libraryMetrics(lib, sibling) : null;
  return config.normalization === 'raw' ? { raw: mine, standardized: other } : { raw: other, standardized: mine };
}
