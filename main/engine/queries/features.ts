/**
 * Feature search over the per-feature statistics of one config: by id, by label / note text,
 * by firing frequency (dead, dense, a range); sorted by frequency or max activation. And similar
 * features by decoder cosine (needs the SAE's decoder: the caller provides it).
 */
import { UserFacingError } from '../errors.js';
import { featureHistogramBlob, featureStatsPage, featureStatsRow, labelRow, labelRowsContaining, statsStateRow, type FeatureStatsRow } from '../store/feature-rows.js';
import { decodeHistogram, type HistogramBin } from '../store/feature-stats.js';
import type { ReadonlyLibrary } from '../store/library.js';
import { describeConfig, type ConfigRow } from '../store/rows.js';
import { checkFeature } from './runs.js';

/** A feature active on at least this share of tokens is "dense". */
export const DENSE_TOKEN_FREQUENCY = 0.1;

export interface FeatureInfo {
  feature: number;
  /** Present images where it is active on some token. */
  images: number;
  /** Tokens where it is active (> 0). */
  tokens: number;
  /** Activation density: tokens / all tokens of the library's images. */
  frequency: number;
  /** images / all images. */
  imageFraction: number;
  maxAct: number;
  /** Mean activation over the tokens where it is active. */
  meanAct: number;
  /** Never active in this library. */
  dead: boolean;
  dense: boolean;
  label: string;
  note: string;
}

export interface FeatureSearchOptions {
  features?: readonly number[];
  /** Contained in the label or the note (case-insensitive for ASCII). */
  text?: string;
  minFrequency?: number;
  maxFrequency?: number;
  dead?: boolean;
  dense?: boolean;
  sort?: 'frequency' | 'max' | 'id';
  ascending?: boolean;
  limit?: number;
  offset?: number;
}

export interface FeatureSearchResult {
  configId: number;
  /** The statistics predate the latest writes (refreshFeatureStats brings them up to date). */
  stale: boolean;
  libraryImages: number;
  libraryTokens: number;
  /** Matches before limit / offset. */
  total: number;
  items: FeatureInfo[];
}

interface StatsState { images: number; tokens: number; stale: boolean }

function statsState(lib: ReadonlyLibrary, config: ConfigRow): StatsState {
  const r = statsStateRow(lib, config.id);
  if (!r || r.statsGeneration === null) {
    throw new UserFacingError(`feature statistics of configuration ${describeConfig(config)} have not been computed yet`).withCode('stats-missing');
  }
  return { images: r.statsImages ?? 0, tokens: r.statsTokens ?? 0, stale: r.statsGeneration !== r.generation };
}

function info(r: FeatureStatsRow, s: StatsState): FeatureInfo {
  const frequency = s.tokens ? r.tokens / s.tokens : 0;
  return {
    feature: r.feature, images: r.images, tokens: r.tokens, frequency, imageFraction: s.images ? r.images / s.images : 0,
    maxAct: r.maxAct, meanAct: r.tokens ? r.sumAct / r.tokens : 0, dead: r.images === 0, dense: frequency >= DENSE_TOKEN_FREQUENCY,
    label: r.label, note: r.note,
  };
}

export function searchFeatures(lib: ReadonlyLibrary, config: ConfigRow, q: FeatureSearchOptions = {}): FeatureSearchResult {
  return lib.read(() => {
    const s = statsState(lib, config);
    // A set of features (given, or those whose label matches) drives the query from that list.
    let ids: number[] | null = null;
    if (q.features) {
      for (const f of q.features) checkFeature(f, config.nFeatures);
      ids = [...new Set(q.features)];
    }
    if (q.text?.trim()) {
      const labelled = labelRowsContaining(lib, config.saeFingerprint, q.text.trim()).map((l) => l.feature);
      const set = new Set(labelled);
      ids = ids ? ids.filter((f) => set.has(f)) : labelled;
    }
    const { total, rows } = featureStatsPage(lib, {
      configId: config.id, saeFingerprint: config.saeFingerprint,
      ...(ids ? { features: ids } : {}),
      ...(q.minFrequency === undefined ? {} : { minTokens: q.minFrequency * s.tokens }),
      ...(q.maxFrequency === undefined ? {} : { maxTokens: q.maxFrequency * s.tokens }),
      ...(q.dead === undefined ? {} : { dead: q.dead }),
      ...(q.dense === undefined ? {} : { dense: q.dense, denseTokens: DENSE_TOKEN_FREQUENCY * s.tokens }),
      sort: q.sort ?? 'frequency',
      ...(q.ascending === undefined ? {} : { ascending: q.ascending }),
      limit: q.limit ?? 50,
      offset: q.offset ?? 0,
    });
    return { configId: config.id, stale: s.stale, libraryImages: s.images, libraryTokens: s.tokens, total, items: rows.map((r) => info(r, s)) };
  });
}

export interface FeatureDetails extends FeatureInfo {
  stale: boolean;
  histogram: HistogramBin[];
}

export function featureDetails(lib: ReadonlyLibrary, config: ConfigRow, feature: number): FeatureDetails {
  checkFeature(feature, config.nFeatures);
  return lib.read(() => {
    const s = statsState(lib, config);
    const row = featureStatsRow(lib, config.id, config.saeFingerprint, feature)
      ?? { feature, images: 0, tokens: 0, maxAct: 0, sumAct: 0, label: '', note: '' };
    return { ...info(row, s), stale: s.stale, histogram: decodeHistogram(featureHistogramBlob(lib, config.id, feature)) };
  });
}

/** The SAE decoder [nFeatures, width], row-major, of a config (e.g. read from config.saePath). */
export type DecoderProvider = (config: ConfigRow) => Float32Array | Promise<Float32Array>;

const normsCache = new WeakMap<Float32Array, Float32Array>();

function rowNorms(dec: Float32Array, n: number, d: number): Float32Array {
  let norms = normsCache.get(dec);
  if (!norms) {
    norms = new Float32Array(n);
    for (let f = 0; f < n; f++) {
      let s = 0;
      for (let i = f * d, end = i + d; i < end; i++) s += dec[i]! * dec[i]!;
      norms[f] = Math.sqrt(s);
    }
    normsCache.set(dec, norms);
  }
  return norms;
}

export interface SimilarFeature { feature: number; cosine: number; label: string }

/** Features whose decoder directions are closest (cosine) to `feature`'s. */
export async function similarFeatures(lib: ReadonlyLibrary, config: ConfigRow, feature: number, decoder: DecoderProvider, limit = 10): Promise<SimilarFeature[]> {
  checkFeature(feature, config.nFeatures);
  const dec = await decoder(config);
  const n = config.nFeatures;
  const d = dec.length / n;
  if (!Number.isInteger(d) || d !== config.width) throw new UserFacingError(`the decoder has ${dec.length} values, expected ${n} x ${config.width}`);
  const norms = rowNorms(dec, n, d);
  const base = feature * d;
  const top: { feature: number; cosine: number }[] = [];
  for (let g = 0; g < n; g++) {
    if (g === feature) continue;
    let dot = 0;
    for (let i = 0, o = g * d; i < d; i++) dot += dec[base + i]! * dec[o + i]!;
    const denom = norms[feature]! * norms[g]!;
    const cosine = denom > 0 ? dot / denom : 0;
    if (top.length < limit || cosine > top[top.length - 1]!.cosine) {
      let at = top.length;
      while (at > 0 && top[at - 1]!.cosine < cosine) at--;
      top.splice(at, 0, { feature: g, cosine });
      if (top.length > limit) top.pop();
    }
  }
  return top.map((t) => ({ ...t, label: labelRow(lib, config.saeFingerprint, t.feature)?.label ?? '' }));
}
