/**
 * A photo library: one SQLite file (WAL) holding folders, images, encoding configurations, every
 * token's latents per image and config, and the feature index that galleries and queries read.
 *
 * Two handle types, opened by `openLibrary`: a `ReadonlyLibrary` (what queries take: it can only
 * read, and opening one never creates or migrates a file) and a `WritableLibrary` (the indexer,
 * folder and label edits: it creates the file if asked, and migrates it). All SQL lives in
 * main/engine/store/ (this class and the *-rows.ts modules beside it, which reach the connection
 * through store/connection.ts); neither handle type exposes a database or a statement, and lint
 * keeps SQL and that module inside the store.
 *
 * Invariants kept here:
 * - every result records its config; switching configs never deletes other results;
 * - the feature index (recent_entries + postings) holds entries exactly for PRESENT images that
 *   have a result, derived from the stored float16 latents (markRemoved takes them out,
 *   updateImageFile puts them back), so readers never filter removed images;
 * - each public write method is one transaction (nested in the caller's, if any).
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { errorMessage, UserFacingError } from '../errors.js';
import { dataDir } from '../runtime/paths.js';
import type { ReconstructionMetrics } from '../sae/metrics.js';
import type { SparseCodes } from '../sae/sparse-codes.js';
import { attachConnection, type Connection } from './connection.js';
import { deriveEntries, type ImageEntries } from './entries.js';
import { COMPACT_AFTER_IMAGES, INDEXED_NONE, INDEXED_POSTINGS, INDEXED_RECENT, type FeatureIndex } from './feature-index.js';
import { FeatureTotals, initFeatureStats } from './feature-stats.js';
import { latestVersion, migrate, newerSchemaError, schemaVersion, type Migration } from './migrate.js';
import { MIGRATIONS } from './migrations/index.js';
import { packLatentsWithView, viewLatents } from './latents-blob.js';
import { packFloat16, packSse } from './packing.js';
import {
  CONFIG_COLUMNS, configFromRow, failureFromRow, folderFromRow, IMAGE_COLUMNS, imageFromRow,
  type ConfigRow, type ConfigSqlRow, type EncodingConfigInput, type FailureRow, type FolderRow, type ImageRow, type ImageSqlRow, type NewImage,
} from './rows.js';

export type { ConfigRow, EncodingConfigInput, FailureRow, FolderRow, ImageRow, NewImage } from './rows.js';

export interface ResultInput {
  imageId: number;
  codes: SparseCodes;
  embedding: Float32Array;
  metrics: ReconstructionMetrics;
}

/** The per-user library (the CLI's default --db). */
export function defaultLibraryFile(): string {
  return path.join(dataDir(), 'library.sqlite');
}

/** Folder paths as stored: absolute, normalised, no trailing separator. */
export function normalizeFolderPath(p: string): string {
  return path.resolve(p);
}

const BUSY_TIMEOUT_MS = 10_000;

function openFailure(file: string, e: unknown): Error {
  const code = (e as { code?: string }).code;
  if (code === 'SQLITE_NOTADB') return new UserFacingError(`${file} is not a CLIP-Scope library (not an SQLite database)`);
  if (code === 'SQLITE_CANTOPEN') return new UserFacingError(`${file}: cannot open the library (${errorMessage(e)})`);
  return e instanceof Error ? e : new Error(String(e));
}

interface StoredResult { id: number; config_id: number; image_id: number; indexed: number; codes: Buffer }

/**
 * The Electron app runs the engine with better-sqlite3 built for Electron's ABI, kept beside the
 * Node build (scripts/electron-native.mjs); the CLI and tests use the Node build.
 */
function sqliteBinding(): { nativeBinding?: string } {
  const binding = process.env['CLIPSCOPE_SQLITE_BINDING'];
  return binding ? { nativeBinding: binding } : {};
}

export interface OpenLibraryOptions {
  /** A writable handle (default: read-only). */
  write?: boolean;
  /** With `write`: create the file (and its folder) when missing (default true). */
  create?: boolean;
  /** For tests that build a library as an older version of the app wrote it. */
  migrations?: readonly Migration[];
}

/**
 * The one way to open a library. Read-only: the file must exist at the current schema (an older
 * one is refused, never upgraded: read paths do not migrate). Writable: creates it when allowed
 * and brings its schema up to date.
 */
export function openLibrary(file: string, opts: OpenLibraryOptions & { write: true }): WritableLibrary;
export function openLibrary(file: string, opts?: OpenLibraryOptions & { write?: false }): ReadonlyLibrary;
export function openLibrary(file: string, opts: OpenLibraryOptions = {}): ReadonlyLibrary | WritableLibrary {
  const abs = path.resolve(file);
  const migrations = opts.migrations ?? MIGRATIONS;
  if (!opts.write || opts.create === false) {
    if (!fs.existsSync(abs)) throw new UserFacingError(`${file}: no such library`).withCode('not-found');
  }
  return opts.write ? openWritable(file, abs, migrations) : openReadonly(file, abs, latestVersion(migrations));
}

function openReadonly(file: string, abs: string, latest: number): ReadonlyLibrary {
  let db: Database.Database | undefined;
  try {
    db = new Database(abs, { readonly: true, fileMustExist: true, ...sqliteBinding() });
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const v = schemaVersion(db);
    if (v > latest) throw newerSchemaError(file, v, latest);
    if (v < latest) throw new UserFacingError(`${file} was written by an older CLIP-Scope (schema ${v} < ${latest}); open it once for writing to upgrade it`);
    return new ReadonlyLibrary(db, abs);
  } catch (e) {
    db?.close();
    throw openFailure(file, e);
  }
}

function openWritable(file: string, abs: string, migrations: readonly Migration[]): WritableLibrary {
  let db: Database.Database | undefined;
  try {
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    db = new Database(abs, sqliteBinding());
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    if (schemaVersion(db) === 0) {
      const tables = db.prepare<[], number>("SELECT count(*) FROM sqlite_master WHERE type = 'table'").pluck().get();
      if (tables! > 0) throw new UserFacingError(`${file} is an SQLite database but not a CLIP-Scope library`);
      // Must precede the first table: lets purgeRemoved give freed pages back to the disk.
      db.pragma('auto_vacuum = INCREMENTAL');
    }
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('cache_size = -65536');
    migrate(db, file, migrations);
    return new WritableLibrary(db, abs);
  } catch (e) {
    db?.close();
    throw openFailure(file, e);
  }
}

/**
 * Kept for the callers written before `openLibrary` (tests, benchmarks, the similar-images
 * worker): `Library.open(file)` is `openLibrary(file, { write: true })`, `{ readonly: true }` a
 * read-only handle.
 */
export const Library = {
  open: openLegacy,
};
function openLegacy(file: string, opts: { readonly: true; migrations?: readonly Migration[] }): ReadonlyLibrary;
function openLegacy(file: string, opts?: { readonly?: false; migrations?: readonly Migration[] }): WritableLibrary;
function openLegacy(file: string, opts?: { readonly?: boolean; migrations?: readonly Migration[] }): ReadonlyLibrary;
function openLegacy(file: string, opts: { readonly?: boolean; migrations?: readonly Migration[] } = {}): ReadonlyLibrary | WritableLibrary {
  const migrations = opts.migrations ? { migrations: opts.migrations } : {};
  return opts.readonly ? openLibrary(file, migrations) : openLibrary(file, { write: true, ...migrations });
}
/** The handle queries take (a read-only one, or a writable one: it can read too). */
export type Library = ReadonlyLibrary;

/** A library handle that can only read: what every query takes. */
export class ReadonlyLibrary {
  // The connection, its statements and the feature index stay inside the class hierarchy; the
  // store's other modules reach them through store/connection.ts (which lint keeps in the store).
  protected readonly db: Database.Database;
  protected readonly index: FeatureIndex;
  private readonly conn: Connection;

  /** @internal use openLibrary. */
  constructor(db: Database.Database, readonly file: string) {
    this.conn = attachConnection(this, db);
    this.db = db;
    this.index = this.conn.index;
  }

  close(): void {
    this.db.close();
  }

  /** A cached prepared statement (shared with the store modules' through the connection). */
  protected statement<R = unknown>(sql: string): Database.Statement<unknown[], R> {
    return this.conn.statement<R>(sql);
  }

  /** Runs `fn` in one read transaction: every statement in it sees the same snapshot. */
  read<T>(fn: () => T): T {
    return this.db.inTransaction ? fn() : this.db.transaction(fn).deferred();
  }

  listFolders(): FolderRow[] {
    return this.statement<{ id: number; path: string; added_at: number }>('SELECT id, path, added_at FROM folders WHERE removed_at IS NULL ORDER BY path')
      .all().map(folderFromRow);
  }

  listConfigs(): ConfigRow[] {
    return this.statement<ConfigSqlRow>(`SELECT ${CONFIG_COLUMNS} FROM configs ORDER BY id`).all().map(configFromRow);
  }

  configById(id: number): ConfigRow | undefined {
    const r = this.statement<ConfigSqlRow>(`SELECT ${CONFIG_COLUMNS} FROM configs WHERE id = ?`).get(id);
    return r && configFromRow(r);
  }

  /** Configurations that hold at least one result. */
  indexedConfigs(): ConfigRow[] {
    const has = this.statement<number>('SELECT EXISTS (SELECT 1 FROM results WHERE config_id = ?)').pluck();
    return this.listConfigs().filter((c) => has.get(c.id) === 1);
  }

  /** Changes with every write to the config's results or to image presence (a cache key). */
  generation(configId: number): number {
    return this.statement<number>('SELECT generation FROM configs WHERE id = ?').pluck().get(configId) ?? -1;
  }

  imageByPath(p: string): ImageRow | undefined {
    const r = this.statement<ImageSqlRow>(`SELECT ${IMAGE_COLUMNS} FROM images WHERE path = ?`).get(path.resolve(p));
    return r && imageFromRow(r);
  }

  imageById(id: number): ImageRow | undefined {
    const r = this.statement<ImageSqlRow>(`SELECT ${IMAGE_COLUMNS} FROM images WHERE id = ?`).get(id);
    return r && imageFromRow(r);
  }

  imagesByHash(hash: string): ImageRow[] {
    return this.statement<ImageSqlRow>(`SELECT ${IMAGE_COLUMNS} FROM images WHERE hash = ? ORDER BY id`).all(hash).map(imageFromRow);
  }

  presentImagesUnder(folderId: number): ImageRow[] {
    return this.statement<ImageSqlRow>(`SELECT ${IMAGE_COLUMNS} FROM images WHERE folder_id = ? AND status = 'present' ORDER BY id`)
      .all(folderId).map(imageFromRow);
  }

  imagesMissingResults(configId: number): ImageRow[] {
    return this.statement<ImageSqlRow>(`SELECT ${IMAGE_COLUMNS} FROM images i WHERE status = 'present'
          AND NOT EXISTS (SELECT 1 FROM results r WHERE r.config_id = ? AND r.image_id = i.id) ORDER BY id`)
      .all(configId).map(imageFromRow);
  }

  hasResult(imageId: number, configId: number): boolean {
    return this.statement('SELECT 1 FROM results WHERE image_id = ? AND config_id = ?').get(imageId, configId) !== undefined;
  }

  failures(): FailureRow[] {
    return this.statement<{ path: string; config_id: number | null; error: string; at: number }>('SELECT path, config_id, error, at FROM failures ORDER BY path')
      .all().map(failureFromRow);
  }
}

/** A handle that can also write: the indexer's, and folder / label edits'. */
export class WritableLibrary extends ReadonlyLibrary {
  /** Runs `fn` in one write transaction (BEGIN IMMEDIATE; a savepoint when nested). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  // ---- folders --------------------------------------------------------------------------------

  addFolder(p: string): FolderRow {
    const norm = normalizeFolderPath(p);
    return this.transaction(() => {
      const row = this.statement<{ id: number; path: string; added_at: number; removed_at: number | null }>('SELECT id, path, added_at, removed_at FROM folders WHERE path = ?')
        .get(norm);
      if (row && row.removed_at === null) return folderFromRow(row);
      const now = Date.now();
      if (row) {
        this.statement('UPDATE folders SET removed_at = NULL, added_at = ? WHERE id = ?').run(now, row.id);
        return { id: row.id, path: norm, addedAt: now };
      }
      const id = Number(this.statement('INSERT INTO folders (path, added_at) VALUES (?, ?)').run(norm, now).lastInsertRowid);
      return { id, path: norm, addedAt: now };
    });
  }

  removeFolder(p: string): void {
    const norm = normalizeFolderPath(p);
    this.transaction(() => {
      const id = this.statement<number>('SELECT id FROM folders WHERE path = ? AND removed_at IS NULL').pluck().get(norm);
      if (id === undefined) throw new UserFacingError(`${norm} is not a folder of this library`);
      this.statement('UPDATE folders SET removed_at = ? WHERE id = ?').run(Date.now(), id);
      this.markRemoved(this.statement<number>("SELECT id FROM images WHERE folder_id = ? AND status = 'present'").pluck().all(id));
    });
  }

  // ---- configs --------------------------------------------------------------------------------

  ensureConfig(c: EncodingConfigInput): ConfigRow {
    return this.transaction(() => {
      const existing = this.statement<ConfigSqlRow>(`SELECT ${CONFIG_COLUMNS} FROM configs
          WHERE model_fingerprint = ? AND sae_fingerprint = ? AND layer = ? AND normalization = ?`)
        .get(c.modelFingerprint, c.saeFingerprint, c.layer, c.normalization);
      if (existing) {
        const row = configFromRow(existing);
        for (const key of ['tokens', 'width', 'nFeatures', 'k', 'embeddingDim'] as const) {
          if (row[key] !== c[key]) {
            throw new UserFacingError(`${this.file}: configuration #${row.id} recorded ${key} ${String(row[key])} for this model and SAE, not ${String(c[key])}`);
          }
        }
        if (row.modelDir !== c.modelDir || row.saePath !== c.saePath) {
          // Same files (same fingerprints) found at another place: remember where.
          this.statement('UPDATE configs SET model_dir = ?, sae_path = ? WHERE id = ?').run(c.modelDir, c.saePath, row.id);
        }
        return { ...row, modelDir: c.modelDir, saePath: c.saePath };
      }
      const createdAt = Date.now();
      const id = Number(this.statement(`INSERT INTO configs (model_dir, model_fingerprint, sae_path, sae_fingerprint, layer,
          normalization, tokens, width, n_features, k, embedding_dim, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(c.modelDir, c.modelFingerprint, c.saePath, c.saeFingerprint, c.layer, c.normalization, c.tokens, c.width,
          c.nFeatures, c.k, c.embeddingDim, createdAt).lastInsertRowid);
      initFeatureStats(this.db, id, c.nFeatures);
      return { ...c, id, createdAt };
    });
  }

  private bump(configId: number | null): void {
    if (configId === null) this.statement('UPDATE configs SET generation = generation + 1').run();
    else this.statement('UPDATE configs SET generation = generation + 1 WHERE id = ?').run(configId);
  }

  // ---- images ---------------------------------------------------------------------------------

  insertImage(r: NewImage): ImageRow {
    const p = path.resolve(r.path);
    const id = Number(this.statement(`INSERT INTO images (path, folder_id, size, mtime_ms, hash, width, height, captured_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(p, r.folderId, r.size, r.mtimeMs, r.hash, r.width, r.height, r.capturedAt).lastInsertRowid);
    return { ...r, path: p, id, status: 'present', removedAt: null };
  }

  updateImageFile(id: number, r: NewImage): void {
    this.transaction(() => {
      const before = this.imageById(id);
      if (!before) throw new Error(`updateImageFile: no image ${id}`);
      this.statement(`UPDATE images SET path = ?, folder_id = ?, size = ?, mtime_ms = ?, hash = ?, width = ?, height = ?,
          captured_at = ?, status = 'present', removed_at = NULL WHERE id = ?`)
        .run(path.resolve(r.path), r.folderId, r.size, r.mtimeMs, r.hash, r.width, r.height, r.capturedAt, id);
      if (before.status === 'removed') {
        // Back in the library: its kept results return to the feature index. (A path or metadata
        // change alone leaves results, index and statistics as they are: no generation bump.)
        for (const res of this.storedResults('r.image_id = ?', id)) {
          this.index.add(res.config_id, res.id, id, deriveEntries(viewLatents(res.codes)));
          this.setIndexed(res.id, INDEXED_RECENT);
        }
        this.bump(null);
      }
    });
  }

  markRemoved(ids: readonly number[]): void {
    if (ids.length === 0) return;
    this.transaction(() => {
      const now = Date.now();
      const mark = this.statement("UPDATE images SET status = 'removed', removed_at = ? WHERE id = ? AND status = 'present'");
      const results: StoredResult[] = [];
      let changed = 0;
      for (const id of ids) {
        if (mark.run(now, id).changes === 0) continue;
        changed++;
        results.push(...this.storedResults('r.image_id = ? AND r.indexed > 0', id));
      }
      this.removeEntries(results);
      if (changed) this.bump(null);
    });
  }

  purgeRemoved(): number {
    const n = this.transaction(() => {
      const ids = this.statement<number>("SELECT id FROM images WHERE status = 'removed'").pluck().all();
      const delResults = this.statement('DELETE FROM results WHERE image_id = ?');
      const delImage = this.statement('DELETE FROM images WHERE id = ?');
      for (const id of ids) {
        // Removed images have no index entries (markRemoved took them out) and count in no
        // query or statistic: nothing readers see changes (no generation bump). Latents cascade.
        delResults.run(id);
        delImage.run(id);
      }
      return ids.length;
    });
    if (n > 0 && !this.db.inTransaction) this.db.pragma('incremental_vacuum');
    return n;
  }

  // ---- results --------------------------------------------------------------------------------

  writeResults(configId: number, items: readonly ResultInput[]): void {
    const config = this.configById(configId);
    if (!config) throw new Error(`writeResults: no configuration ${configId}`);
    for (const it of items) {
      const tokens = it.codes.offsets.length - 1;
      if (tokens !== config.tokens || it.metrics.sse.length !== tokens) {
        throw new Error(`writeResults: image ${it.imageId} has ${tokens} tokens, configuration ${configId} has ${config.tokens}`);
      }
      if (it.embedding.length !== config.embeddingDim) {
        throw new Error(`writeResults: image ${it.imageId} has a ${it.embedding.length}-dim embedding, expected ${config.embeddingDim}`);
      }
    }
    const packed = items.map((it) => packLatentsWithView(it.codes, config.nFeatures));
    this.transaction(() => {
      const status = this.statement<string>('SELECT status FROM images WHERE id = ?').pluck();
      const upsert = this.statement<number>(`INSERT INTO results (config_id, image_id, mse, ev, l0, indexed, created_at, sse)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (config_id, image_id) DO UPDATE SET mse = excluded.mse, ev = excluded.ev, l0 = excluded.l0,
            indexed = excluded.indexed, created_at = excluded.created_at, sse = excluded.sse
          RETURNING id`).pluck();
      const putLatents = this.statement('INSERT OR REPLACE INTO latents (result_id, embedding, codes) VALUES (?, ?, ?)');
      const now = Date.now();
      // Results replaced: their entries leave the index first, all at once. (An image given
      // twice in one batch: the last one wins.)
      const last = new Map(items.map((it, i) => [it.imageId, i]));
      this.removeEntries([...last.keys()].flatMap((id) => this.storedResults('r.config_id = ? AND r.image_id = ? AND r.indexed > 0', configId, id)));
      items.forEach((it, i) => {
        if (last.get(it.imageId) !== i) return;
        const st = status.get(it.imageId);
        if (st === undefined) throw new Error(`writeResults: no image ${it.imageId}`);
        const present = st === 'present';
        const m = it.metrics;
        const id = upsert.get(configId, it.imageId, m.mse, m.ev, m.l0, present ? INDEXED_RECENT : INDEXED_NONE, now, packSse(m.sse))!;
        putLatents.run(id, packFloat16(it.embedding), packed[i]!.blob);
        if (present) this.index.add(configId, id, it.imageId, deriveEntries(packed[i]!.view));
      });
      if (this.index.recentImages(configId) >= COMPACT_AFTER_IMAGES) this.index.compact(configId, config.nFeatures);
      this.bump(configId);
    });
  }

  /** Deletes an image's results for every config (its content changed). */
  deleteResults(imageId: number): void {
    this.transaction(() => {
      const results = this.storedResults('r.image_id = ?', imageId);
      this.removeEntries(results.filter((r) => r.indexed !== INDEXED_NONE));
      this.statement('DELETE FROM results WHERE image_id = ?').run(imageId);
      for (const r of results) this.bump(r.config_id);
    });
  }

  /** Merges a config's recent index entries into postings (writeResults does it every 512 images). */
  compact(configId: number): void {
    const config = this.configById(configId);
    if (!config) throw new Error(`compact: no configuration ${configId}`);
    this.transaction(() => {
      if (this.index.needsCompaction(configId)) this.index.compact(configId, config.nFeatures);
    });
  }

  /**
   * Brings the per-feature statistics up to date: merges the recent images in, recomputes the
   * maxima that removals made uncertain, records the library's totals. Costs what changed.
   */
  refreshFeatureStats(configId: number): void {
    const config = this.configById(configId);
    if (!config) throw new Error(`refreshFeatureStats: no configuration ${configId}`);
    this.transaction(() => {
      const state = this.statement<{ generation: number; stats_generation: number | null }>('SELECT generation, stats_generation FROM configs WHERE id = ?').get(configId)!;
      if (state.stats_generation === state.generation) return;
      if (this.index.needsCompaction(configId)) this.index.compact(configId, config.nFeatures);
      const totals = FeatureTotals.load(this.db, configId, config.nFeatures);
      if (totals.publish(this.db, configId, (f) => this.index.maxBits(configId, f)) > 0) totals.save(this.db, configId);
      const images = this.statement<number>(`SELECT count(*) FROM results r JOIN images i ON i.id = r.image_id
          WHERE r.config_id = ? AND i.status = 'present'`).pluck().get(configId)!;
      this.statement('UPDATE configs SET stats_generation = generation, stats_images = ?, stats_tokens = ?, stats_at = ? WHERE id = ?')
        .run(images, images * config.tokens, Date.now(), configId);
    });
  }

  private storedResults(where: string, ...params: unknown[]): StoredResult[] {
    return this.statement<StoredResult>(`SELECT r.id, r.config_id, r.image_id, r.indexed, l.codes FROM results r
        JOIN latents l ON l.result_id = r.id WHERE ${where}`).all(...params);
  }

  private setIndexed(resultId: number, indexed: number): void {
    this.statement('UPDATE results SET indexed = ? WHERE id = ?').run(indexed, resultId);
  }

  /** Takes these results' entries out of the feature index (their keys come from their blobs). */
  private removeEntries(results: readonly StoredResult[]): void {
    const fromPostings = new Map<number, { imageId: number; entries: ImageEntries; codes: Buffer }[]>();
    for (const r of results) {
      if (r.indexed === INDEXED_RECENT) this.index.removeRecent(r.id);
      else if (r.indexed === INDEXED_POSTINGS) {
        let list = fromPostings.get(r.config_id);
        if (!list) fromPostings.set(r.config_id, (list = []));
        list.push({ imageId: r.image_id, entries: deriveEntries(viewLatents(r.codes)), codes: r.codes });
      }
      this.setIndexed(r.id, INDEXED_NONE);
    }
    for (const [configId, list] of fromPostings) this.index.removeFromPostings(configId, this.configById(configId)!.nFeatures, list);
  }

  // ---- failures -------------------------------------------------------------------------------

  recordFailure(p: string, configId: number | null, error: string): void {
    this.statement('INSERT OR REPLACE INTO failures (path, config_id, error, at) VALUES (?, ?, ?, ?)').run(path.resolve(p), configId, error, Date.now());
  }

  clearFailure(p: string): void {
    this.statement('DELETE FROM failures WHERE path = ?').run(path.resolve(p));
  }

}
