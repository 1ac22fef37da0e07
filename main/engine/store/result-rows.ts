/**
 * A config's stored results as queries read them: one image's latents and metrics, every
 * present image's metrics in turn, which present images have one, image paths, and the feature
 * index's runs. Typed rows; what they mean is main/engine/queries/'s.
 */
import { connection, statement } from './connection.js';
import type { EntryKind } from './entries.js';
import type { EntryRun } from './feature-index.js';
import type { ReadonlyLibrary } from './library.js';

/** One image's result for one config, with its stored blobs (decoded by latents-blob / packing). */
export interface StoredResultRow {
  mse: number;
  ev: number;
  l0: number;
  /** float16 embedding. */
  embedding: Buffer;
  /** float16 per-token SSE. */
  sse: Buffer;
  /** The latents blob. */
  codes: Buffer;
}

export function resultRow(lib: ReadonlyLibrary, configId: number, imageId: number): StoredResultRow | undefined {
  return statement<StoredResultRow>(lib, `SELECT r.mse, r.ev, r.l0, l.embedding, r.sse, l.codes FROM results r
      JOIN latents l ON l.result_id = r.id WHERE r.config_id = ? AND r.image_id = ?`).get(configId, imageId);
}

/** The stored latents blob of one image for one config. */
export function latentsBlobOf(lib: ReadonlyLibrary, configId: number, imageId: number): Buffer | undefined {
  return statement<Buffer>(lib, 'SELECT l.codes FROM results r JOIN latents l ON l.result_id = r.id WHERE r.config_id = ? AND r.image_id = ?')
    .pluck().get(configId, imageId);
}

/** [mse, ev, l0, sse blob] of every present image with a result for the config, streamed. */
export function presentResultMetrics(lib: ReadonlyLibrary, configId: number): IterableIterator<[number, number, number, Buffer]> {
  return statement<[number, number, number, Buffer]>(lib, `SELECT r.mse, r.ev, r.l0, r.sse FROM results r JOIN images i ON i.id = r.image_id
      WHERE r.config_id = ? AND i.status = 'present'`).raw().iterate(configId);
}

/** How many present images have a result for the config. */
export function presentResultCount(lib: ReadonlyLibrary, configId: number): number {
  return statement<number>(lib, `SELECT count(*) FROM results r JOIN images i ON i.id = r.image_id
      WHERE r.config_id = ? AND i.status = 'present'`).pluck().get(configId) ?? 0;
}

/** Ids of the present images with a result for the config. */
export function presentResultImageIds(lib: ReadonlyLibrary, configId: number): number[] {
  return statement<number>(lib, `SELECT r.image_id FROM results r JOIN images i ON i.id = r.image_id
      WHERE r.config_id = ? AND i.status = 'present'`).pluck().all(configId);
}

/** Paths of image ids (one statement per id: pages are small); ids not in the library are left out. */
export function imagePaths(lib: ReadonlyLibrary, ids: readonly number[]): Map<number, string> {
  const get = statement<string>(lib, 'SELECT path FROM images WHERE id = ?').pluck();
  const out = new Map<number, string>();
  for (const id of ids) {
    const p = get.get(id);
    if (p !== undefined) out.set(id, p);
  }
  return out;
}

/** A feature's entries in the index: all of them, or (with `first`) enough for its `first` strongest. */
export function entryRuns(lib: ReadonlyLibrary, configId: number, kind: EntryKind, feature: number, first?: number): EntryRun[] {
  return connection(lib).index.runs(configId, kind, feature, first);
}

/** How many features have at least one entry of this kind (fired on some present image). */
export function firedFeatureCount(lib: ReadonlyLibrary, configId: number, kind: EntryKind): number {
  return connection(lib).index.firedFeatures(configId, kind);
}
