/**
 * Feature search over the per-feature statistics of one config: by id, by label / note text,
 * by firing frequency (dead, dense, a range); sorted by frequency or max activation. And similar
 * features by decoder cosine (needs the SAE's decoder: the caller provides it).
 */
import { UserFacingError } from '../errors.js';
import { decodeHistogram, type HistogramBin } from '../store/feature-stats.js';
import type { Library } from '../store/library.js';
import { describeConfig, type ConfigRow } from '../store/rows.js';
import { containsPattern } from './labels.js';
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

function statsState(lib: Library, config: ConfigRow): StatsState {
  const r = lib.statement('SELECT generation, stats_generation, stats_images, stats_tokens FROM configs WHERE id = ?').get(config.id) as
    { generation: number; stats_generation: number | null; stats_images: number | null; stats_tokens: number | null };
  if (r.stats_generation === null) {
    throw new UserFacingError(`feature statistics of configuration ${describeConfig(config)} have not been computed yet`).withCode('stats-missing');
  }
  return { images: r.stats_images ?? 0, tokens: r.stats_tokens ?? 0, stale: r.stats_generation !== r.generation };
}

type StatsRow = { feature: number; images: number; tokens: number; max_act: number; sum_act: number; label: string | null; note: string | null };

function info(r: StatsRow, s: StatsState): FeatureInfo {
  const frequency = s.tokens ? r.tokens / s.tokens : 0;
  return {
    feature: r.feature, images: r.images, tokens: r.tokens, frequency, imageFraction: s.images ? r.images / s.images : 0,
    maxAct: r.max_act, meanAct: r.tokens ? r.sum_act / r.tokens : 0, dead: r.images === 0, dense: frequency >= DENSE_TOKEN_FREQUENCY,
    label: r.label ?? '', note: r.note ?? '',
  };
}

const selectStats = (from = 'feature_stats s'): string => `SELECT s.feature, s.images, s.tokens, s.max_act, s.sum_act, l.label, l.note
  FROM ${from} LEFT JOIN feature_labels l ON l.sae_fingerprint = @sae AND l.feature = s.feature`;

export function searchFeatures(lib: Library, config: ConfigRow, q: FeatureSearchOptions = {}): FeatureSearchResult {
  return lib.read(() => {
    const s = statsState(lib, config);
    const where = ['s.config_id = @config'];
    const params: Record<string, unknown> = { config: config.id, sae: config.saeFingerprint };
    // A set of features (given, or those whose label matches) drives the query from that list.
    let ids: number[] | null = null;
    if (q.features) {
      for (const f of q.features) checkFeature(f, config.nFeatures);
      ids = [...new Set(q.features)];
    }
    if (q.text?.trim()) {
      const labelled = lib.statement(`SELECT feature FROM feature_labels WHERE sae_fingerprint = @sae
          AND (label LIKE @text ESCAPE '\\' OR note LIKE @text ESCAPE '\\')`).pluck().all({ sae: config.saeFingerprint, text: containsPattern(q.text.trim()) }) as number[];
      const set = new Set(labelled);
      ids = ids ? ids.filter((f) => set.has(f)) : labelled;
    }
    let from = 'feature_stats s';
    if (ids) {
      from = 'json_each(@ids) j CROSS JOIN feature_stats s ON s.feature = j.value';
      params['ids'] = JSON.stringify(ids);
    }
    if (q.minFrequency !== undefined) {
      where.push('s.tokens >= @minTokens');
      params['minTokens'] = q.minFrequency * s.tokens;
    }
    if (q.maxFrequency !== undefined) {
      where.push('s.tokens <= @maxTokens');
      params['maxTokens'] = q.maxFrequency * s.tokens;
    }
    // Dead = never active: no active token (the tokens index answers it).
    if (q.dead !== undefined) where.push(q.dead ? 's.tokens = 0' : 's.tokens > 0');
    if (q.dense !== undefined) {
      where.push(q.dense ? 's.tokens >= @denseTokens' : 's.tokens < @denseTokens');
      params['denseTokens'] = DENSE_TOKEN_FREQUENCY * s.tokens;
    }
    const dir = q.ascending ? 'ASC' : 'DESC';
    const order = q.sort === 'id' ? `s.feature ${q.ascending === false ? 'DESC' : 'ASC'}`
      : q.sort === 'max' ? `s.max_act ${dir}, s.feature` : `s.tokens ${dir}, s.feature`;
    params['limit'] = Math.max(0, q.limit ?? 50);
    params['offset'] = Math.max(0, q.offset ?? 0);
    const cond = where.join(' AND ');
    const total = lib.statement(`SELECT count(*) FROM ${from} WHERE ${cond}`).pluck().get(params) as number;
    const rows = lib.statement(`${selectStats(from)} WHERE ${cond} ORDER BY ${order} LIMIT @limit OFFSET @offset`).all(params) as StatsRow[];
    return { configId: config.id, stale: s.stale, libraryImages: s.images, libraryTokens: s.tokens, total, items: rows.map((r) => info(r, s)) };
  });
}

export interface FeatureDetails extends FeatureInfo {
  stale: boolean;
  histogram: HistogramBin[];
}

export function featureDetails(lib: Library, config: ConfigRow, feature: number): FeatureDetails {
  checkFeature(feature, config.nFeatures);
  return lib.read(() => {
    const s = statsState(lib, config);
    const r = lib.statement(`${selectStats()} WHERE s.config_id = @config AND s.feature = @feature`)
      .get({ config: config.id, sae: config.saeFingerprint, feature }) as StatsRow | undefined;
    const blob = lib.statement('SELECT histogram FROM feature_stats WHERE config_id = ? AND feature = ?').pluck().get(config.id, feature) as Buffer | null | undefined;
    const row = r ?? { feature, images: 0, tokens: 0, max_act: 0, sum_act: 0, label: null, note: null };
    return { ...info(row, s), stale: s.stale, histogram: decodeHistogram(blob ?? null) };
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
export async function similarFeatures(lib: Library, config: ConfigRow, feature: number, decoder: DecoderProvider, limit = 10): Promise<SimilarFeature[]> {
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
  const labels = lib.statement('SELECT label FROM feature_labels WHERE sae_fingerprint = ? AND feature = ?').pluck();
  return top.map((t) => ({ ...t, label: (labels.get(config.saeFingerprint, t.feature) as string | undefined) ?? '' }));
}
