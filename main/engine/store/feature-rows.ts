/**
 * The per-feature tables as queries read them: a config's statistics (feature_stats, with the
 * SAE's labels joined in) and the labels themselves (feature_labels, kept per SAE fingerprint).
 * Typed rows; the meaning (frequencies, dead / dense) is main/engine/queries/features.ts's.
 */
import { statement } from './connection.js';
import type { ReadonlyLibrary, WritableLibrary } from './library.js';

/** Where a config's statistics stand (null fields: never computed). */
export interface StatsStateRow {
  generation: number;
  statsGeneration: number | null;
  statsImages: number | null;
  statsTokens: number | null;
}

export function statsStateRow(lib: ReadonlyLibrary, configId: number): StatsStateRow | undefined {
  const r = statement<{ generation: number; stats_generation: number | null; stats_images: number | null; stats_tokens: number | null }>(lib, 
    'SELECT generation, stats_generation, stats_images, stats_tokens FROM configs WHERE id = ?',
  ).get(configId);
  return r && { generation: r.generation, statsGeneration: r.stats_generation, statsImages: r.stats_images, statsTokens: r.stats_tokens };
}

/** One feature's statistics with its label and note ('' when none). */
export interface FeatureStatsRow {
  feature: number;
  images: number;
  tokens: number;
  maxAct: number;
  sumAct: number;
  label: string;
  note: string;
}

type StatsSqlRow = { feature: number; images: number; tokens: number; max_act: number; sum_act: number; label: string | null; note: string | null };

const fromStats = (r: StatsSqlRow): FeatureStatsRow => ({
  feature: r.feature, images: r.images, tokens: r.tokens, maxAct: r.max_act, sumAct: r.sum_act, label: r.label ?? '', note: r.note ?? '',
});

const selectStats = (from = 'feature_stats s'): string => `SELECT s.feature, s.images, s.tokens, s.max_act, s.sum_act, l.label, l.note
  FROM ${from} LEFT JOIN feature_labels l ON l.sae_fingerprint = @sae AND l.feature = s.feature`;

/** A page of a config's features; every bound is optional, token counts are absolute. */
export interface FeatureStatsFilter {
  configId: number;
  saeFingerprint: string;
  /** Only these features (in any order; duplicates are the caller's to remove). */
  features?: readonly number[];
  minTokens?: number;
  maxTokens?: number;
  /** true: never active (no token); false: active at least once. */
  dead?: boolean;
  /** With `denseTokens`: true keeps features active on at least that many tokens, false the others. */
  dense?: boolean;
  denseTokens?: number;
  sort: 'frequency' | 'max' | 'id';
  /** Ascending (for 'id' the default is ascending, for the others descending). */
  ascending?: boolean;
  limit: number;
  offset: number;
}

export function featureStatsPage(lib: ReadonlyLibrary, f: FeatureStatsFilter): { total: number; rows: FeatureStatsRow[] } {
  const where = ['s.config_id = @config'];
  const params: Record<string, unknown> = { config: f.configId, sae: f.saeFingerprint };
  // A set of features drives the query from that list.
  let from = 'feature_stats s';
  if (f.features) {
    from = 'json_each(@ids) j CROSS JOIN feature_stats s ON s.feature = j.value';
    params['ids'] = JSON.stringify(f.features);
  }
  if (f.minTokens !== undefined) {
    where.push('s.tokens >= @minTokens');
    params['minTokens'] = f.minTokens;
  }
  if (f.maxTokens !== undefined) {
    where.push('s.tokens <= @maxTokens');
    params['maxTokens'] = f.maxTokens;
  }
  // Dead = never active: no active token (the tokens index answers it).
  if (f.dead !== undefined) where.push(f.dead ? 's.tokens = 0' : 's.tokens > 0');
  if (f.dense !== undefined && f.denseTokens !== undefined) {
    where.push(f.dense ? 's.tokens >= @denseTokens' : 's.tokens < @denseTokens');
    params['denseTokens'] = f.denseTokens;
  }
  const dir = f.ascending ? 'ASC' : 'DESC';
  const order = f.sort === 'id' ? `s.feature ${f.ascending === false ? 'DESC' : 'ASC'}`
    : f.sort === 'max' ? `s.max_act ${dir}, s.feature` : `s.tokens ${dir}, s.feature`;
  params['limit'] = Math.max(0, f.limit);
  params['offset'] = Math.max(0, f.offset);
  const cond = where.join(' AND ');
  const total = statement<number>(lib, `SELECT count(*) FROM ${from} WHERE ${cond}`).pluck().get(params) ?? 0;
  const rows = statement<StatsSqlRow>(lib, `${selectStats(from)} WHERE ${cond} ORDER BY ${order} LIMIT @limit OFFSET @offset`).all(params);
  return { total, rows: rows.map(fromStats) };
}

/** One feature's statistics row, if the config's statistics have one. */
export function featureStatsRow(lib: ReadonlyLibrary, configId: number, saeFingerprint: string, feature: number): FeatureStatsRow | undefined {
  const r = statement<StatsSqlRow>(lib, `${selectStats()} WHERE s.config_id = @config AND s.feature = @feature`)
    .get({ config: configId, sae: saeFingerprint, feature });
  return r && fromStats(r);
}

/** The feature's activation histogram blob (store/feature-stats.ts decodes it), or null. */
export function featureHistogramBlob(lib: ReadonlyLibrary, configId: number, feature: number): Buffer | null {
  return statement<Buffer | null>(lib, 'SELECT histogram FROM feature_stats WHERE config_id = ? AND feature = ?').pluck().get(configId, feature) ?? null;
}

// ---- labels

export interface LabelRow {
  feature: number;
  label: string;
  note: string;
  updatedAt: number;
}

type LabelSqlRow = { feature: number; label: string; note: string; updated_at: number };
const fromLabel = (r: LabelSqlRow): LabelRow => ({ feature: r.feature, label: r.label, note: r.note, updatedAt: r.updated_at });

/** LIKE pattern for "contains `text`", case-insensitive for ASCII. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export function labelRow(lib: ReadonlyLibrary, saeFingerprint: string, feature: number): LabelRow | undefined {
  const r = statement<LabelSqlRow>(lib, 'SELECT feature, label, note, updated_at FROM feature_labels WHERE sae_fingerprint = ? AND feature = ?')
    .get(saeFingerprint, feature);
  return r && fromLabel(r);
}

/** The SAE's labels whose label or note contains `text`, by feature (all of them without a limit). */
export function labelRowsContaining(lib: ReadonlyLibrary, saeFingerprint: string, text: string, limit = -1): LabelRow[] {
  return statement<LabelSqlRow>(lib, `SELECT feature, label, note, updated_at FROM feature_labels WHERE sae_fingerprint = @sae
      AND (label LIKE @text ESCAPE '\\' OR note LIKE @text ESCAPE '\\') ORDER BY feature LIMIT @limit`)
    .all({ sae: saeFingerprint, text: containsPattern(text), limit }).map(fromLabel);
}

export function labelRows(lib: ReadonlyLibrary, saeFingerprint: string): LabelRow[] {
  return statement<LabelSqlRow>(lib, 'SELECT feature, label, note, updated_at FROM feature_labels WHERE sae_fingerprint = ? ORDER BY feature')
    .all(saeFingerprint).map(fromLabel);
}

/** Writes a label; one with neither a label nor a note is deleted. */
export function putLabelRow(lib: WritableLibrary, saeFingerprint: string, l: LabelRow): void {
  if (!l.label && !l.note) {
    statement(lib, 'DELETE FROM feature_labels WHERE sae_fingerprint = ? AND feature = ?').run(saeFingerprint, l.feature);
  } else {
    statement(lib, 'INSERT OR REPLACE INTO feature_labels (sae_fingerprint, feature, label, note, updated_at) VALUES (?, ?, ?, ?, ?)')
      .run(saeFingerprint, l.feature, l.label, l.note, l.updatedAt);
  }
}
