/**
 * Brings the library's image rows in line with what a folder walk found, rclip-style:
 *
 * - size + mtime unchanged: nothing is read;
 * - otherwise the partial content hash decides: same content (a touch) keeps the results; new
 *   content deletes the image's results (they are re-encoded);
 * - a new path whose hash belongs to an image whose file is gone is a move / rename: the row's
 *   path changes and its results stay (no re-encode);
 * - byte-identical files at two live paths are two images;
 * - rows under a walked folder whose file was not found are marked removed (results kept until
 *   purged), except under folders the walk could not see.
 *
 * Work is applied in small write transactions, each consistent on its own, so an interrupted
 * reconcile leaves a valid library and the next one finishes the job.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ImageRow, NewImage, WritableLibrary } from '../store/library.js';
import { errorMessage } from '../errors.js';
import { partialHash, type ContentHash } from './hashing.js';
import { isUnder, type ScanResult, type ScannedFile } from './scanner.js';
import type { FileFailure } from './jobs.js';

export interface ReconcileHooks {
  /** Inside the transaction that moved the image. */
  readonly onMoved?: (imageId: number) => void;
  /** Inside the transaction that marked them removed. */
  readonly onRemoved?: (count: number) => void;
  readonly onProgress?: (done: number, total: number, current: string | null) => void;
  /** Checked between chunks; reconcile stops early (consistently) when it returns true. */
  readonly shouldStop?: () => boolean;
}

export interface ReconcileResult {
  /** Image id of every walked file that has a row (all of them, unless hashing failed). */
  readonly ids: Map<string, number>;
  /** Images whose results were deleted because their content changed. */
  readonly changed: number;
  readonly inserted: number;
  readonly moved: number;
  readonly touched: number;
  readonly removed: number;
  /** Files that could not be hashed (vanished or unreadable since the walk). */
  readonly failures: FileFailure[];
  /** False when stopped early. */
  readonly complete: boolean;
}

const CHUNK = 64;
const HASH_CONCURRENCY = 4;

function hashFailure(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'file not found (it vanished during indexing)';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory, not an image';
  return `cannot read file (${code ?? errorMessage(err)})`;
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(() => true, () => false);
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  }));
  return out;
}

export async function reconcile(lib: WritableLibrary, scan: ScanResult, folderIdOf: (root: string) => number, roots: readonly string[], hooks: ReconcileHooks = {}): Promise<ReconcileResult> {
  const live = new Set(scan.files.map((f) => f.path));
  const ids = new Map<string, number>();
  const failures: FileFailure[] = [];
  let changed = 0, inserted = 0, moved = 0, touched = 0, removed = 0;

  // 1. Cheap pass: size + mtime.
  const needHash: { file: ScannedFile; row: ImageRow | undefined }[] = [];
  const revive: { file: ScannedFile; row: ImageRow }[] = [];
  for (const f of scan.files) {
    const row = lib.imageByPath(f.path);
    if (row && row.size === f.size && row.mtimeMs === f.mtimeMs) {
      ids.set(f.path, row.id);
      if (row.status !== 'present' || row.folderId !== folderIdOf(f.root)) revive.push({ file: f, row });
    } else {
      needHash.push({ file: f, row });
    }
  }
  if (revive.length) {
    lib.transaction(() => {
      for (const { file, row } of revive) lib.updateImageFile(row.id, { ...rowFile(row), folderId: folderIdOf(file.root) });
    });
  }

  // 2. Hash what is new or changed, and apply it chunk by chunk.
  const claimed = new Set<number>(); // rows already taken as a move's source in this pass
  let done = 0;
  let complete = true;
  for (let c = 0; c < needHash.length; c += CHUNK) {
    if (hooks.shouldStop?.()) {
      complete = false;
      break;
    }
    const chunk = needHash.slice(c, c + CHUNK);
    const hashed = await mapLimit(chunk, HASH_CONCURRENCY, async (x) => {
      try {
        return { ...x, h: await partialHash(x.file.path) as ContentHash, error: null };
      } catch (e) {
        return { ...x, h: null, error: hashFailure(e) };
      }
    });
    // Move candidates: same content, file gone. Whether a file is gone needs the disk: asked here,
    // outside the write transaction.
    const candidates = new Map<string, ImageRow[]>();
    for (const x of hashed) {
      if (!x.h || x.row) continue;
      const rows: ImageRow[] = [];
      for (const r of lib.imagesByHash(x.h.hash)) {
        if (r.path === x.file.path || live.has(r.path) || claimed.has(r.id)) continue;
        if (r.status === 'removed' || !(await exists(r.path))) rows.push(r);
      }
      candidates.set(x.file.path, rows);
    }
    lib.transaction(() => {
      for (const x of hashed) {
        const f = x.file;
        if (!x.h) {
          failures.push({ file: f.path, error: x.error! });
          continue;
        }
        const base: NewImage = { path: f.path, folderId: folderIdOf(f.root), size: x.h.size, mtimeMs: x.h.mtimeMs, hash: x.h.hash, width: null, height: null, capturedAt: null };
        if (x.row) {
          ids.set(f.path, x.row.id);
          if (x.row.hash === x.h.hash) {
            // Touched, same content: keep results and metadata.
            lib.updateImageFile(x.row.id, { ...base, width: x.row.width, height: x.row.height, capturedAt: x.row.capturedAt });
            touched++;
          } else {
            lib.updateImageFile(x.row.id, base);
            lib.deleteResults(x.row.id);
            lib.clearFailure(f.path);
            changed++;
          }
          continue;
        }
        const src = (candidates.get(f.path) ?? []).find((r) => !claimed.has(r.id));
        if (src) {
          claimed.add(src.id);
          lib.updateImageFile(src.id, { ...base, width: src.width, height: src.height, capturedAt: src.capturedAt });
          lib.clearFailure(src.path);
          ids.set(f.path, src.id);
          hooks.onMoved?.(src.id);
          moved++;
          continue;
        }
        const row = lib.insertImage(base);
        lib.clearFailure(f.path);
        ids.set(f.path, row.id);
        inserted++;
      }
    });
    done += chunk.length;
    hooks.onProgress?.(done, needHash.length, chunk[chunk.length - 1]!.file.path);
  }

  // 3. Files gone from the walked folders.
  if (complete && !hooks.shouldStop?.()) {
    const unknown = scan.unknownDirs;
    const gone: number[] = [];
    for (const root of roots) {
      const folderId = folderIdOf(path.resolve(root));
      for (const r of lib.presentImagesUnder(folderId)) {
        if (live.has(r.path)) continue;
        if (unknown.some((d) => isUnder(r.path, d))) continue; // not seen, not known to be gone
        if (!roots.some((rt) => isUnder(r.path, path.resolve(rt)))) {
          // Recorded under this folder but outside it (a link target): gone only if really gone.
          if (await exists(r.path)) continue;
        }
        gone.push(r.id);
      }
    }
    if (gone.length) {
      lib.transaction(() => {
        lib.markRemoved(gone);
        hooks.onRemoved?.(gone.length);
      });
      removed = gone.length;
    }
  } else {
    complete = false;
  }
  return { ids, changed, inserted, moved, touched, removed, failures, complete };
}

function rowFile(r: ImageRow): NewImage {
  return { path: r.path, folderId: r.folderId, size: r.size, mtimeMs: r.mtimeMs, hash: r.hash, width: r.width, height: r.height, capturedAt: r.capturedAt };
}
