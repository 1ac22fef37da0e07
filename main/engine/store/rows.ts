/** The library's records as the engine sees them, and their converters from SQLite rows. */

export interface EncodingConfigInput {
  modelDir: string;
  modelFingerprint: string;
  saePath: string;
  saeFingerprint: string;
  layer: number;
  normalization: 'raw' | 'standardized';
  tokens: number;
  width: number;
  nFeatures: number;
  /** Latents kept per token (TopK SAEs); null for dense ones. */
  k: number | null;
  embeddingDim: number;
}

export interface ConfigRow extends EncodingConfigInput {
  id: number;
  createdAt: number;
}

export interface FolderRow {
  id: number;
  path: string;
  addedAt: number;
}

export interface NewImage {
  path: string;
  folderId: number;
  size: number;
  mtimeMs: number;
  hash: string;
  width: number | null;
  height: number | null;
  /** Capture time (ms since the epoch, e.g. from EXIF), when known. */
  capturedAt: number | null;
}

export interface ImageRow extends NewImage {
  id: number;
  status: 'present' | 'removed';
  removedAt: number | null;
}

export interface FailureRow {
  path: string;
  configId: number | null;
  error: string;
  at: number;
}

export const CONFIG_COLUMNS = `id, model_dir, model_fingerprint, sae_path, sae_fingerprint, layer, normalization, tokens,
  width, n_features, k, embedding_dim, created_at`;

export interface ConfigSqlRow {
  id: number; model_dir: string; model_fingerprint: string; sae_path: string; sae_fingerprint: string; layer: number;
  normalization: 'raw' | 'standardized'; tokens: number; width: number; n_features: number; k: number | null;
  embedding_dim: number; created_at: number;
}

export function configFromRow(r: ConfigSqlRow): ConfigRow {
  return {
    id: r.id, modelDir: r.model_dir, modelFingerprint: r.model_fingerprint, saePath: r.sae_path, saeFingerprint: r.sae_fingerprint,
    layer: r.layer, normalization: r.normalization, tokens: r.tokens, width: r.width, nFeatures: r.n_features, k: r.k,
    embeddingDim: r.embedding_dim, createdAt: r.created_at,
  };
}

export const IMAGE_COLUMNS = 'id, path, folder_id, size, mtime_ms, hash, width, height, captured_at, status, removed_at';

export interface ImageSqlRow {
  id: number; path: string; folder_id: number; size: number; mtime_ms: number; hash: string; width: number | null;
  height: number | null; captured_at: number | null; status: 'present' | 'removed'; removed_at: number | null;
}

export function imageFromRow(r: ImageSqlRow): ImageRow {
  return {
    id: r.id, path: r.path, folderId: r.folder_id, size: r.size, mtimeMs: r.mtime_ms, hash: r.hash, width: r.width,
    height: r.height, capturedAt: r.captured_at, status: r.status, removedAt: r.removed_at,
  };
}

export function folderFromRow(r: { id: number; path: string; added_at: number }): FolderRow {
  return { id: r.id, path: r.path, addedAt: r.added_at };
}

export function failureFromRow(r: { path: string; config_id: number | null; error: string; at: number }): FailureRow {
  return { path: r.path, configId: r.config_id, error: r.error, at: r.at };
}

/** A short human description of a config, for choices and messages. */
export function describeConfig(c: ConfigRow): string {
  return `#${c.id}: layer ${c.layer}, ${c.normalization} inputs, SAE ${c.saePath} (${c.nFeatures} features${c.k ? `, k=${c.k}` : ''}), model ${c.modelDir}`;
}
