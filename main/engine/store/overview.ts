/**
 * What the app's library screens show at a glance: per-folder and per-configuration counts and
 * a page of photos. Each answer is kept until the library changes (memoByVersion): at 100k photos
 * the counts and the grid's order are scans of 20-600 ms, asked for on every page load.
 */
import path from 'node:path';
import { statement } from './connection.js';
import type { ReadonlyLibrary } from './library.js';
import { memoByVersion } from './version-memo.js';

const under = (p: string, folder: string): boolean => p === folder || p.startsWith(folder.endsWith(path.sep) ? folder : folder + path.sep);

export interface FolderStats {
  path: string;
  addedAt: number;
  images: number;
  failed: number;
  /** When the last finished indexing job that covered this folder ended. */
  indexedAt: number | null;
}

export function folderStats(lib: ReadonlyLibrary): FolderStats[] {
  return memoByVersion(lib, 'folder-stats', () => readFolderStats(lib));
}

function readFolderStats(lib: ReadonlyLibrary): FolderStats[] {
  const rows = statement(lib, `
    SELECT f.id, f.path, f.added_at AS addedAt,
      (SELECT count(*) FROM images i WHERE i.folder_id = f.id AND i.status = 'present') AS images
    FROM folders f WHERE f.removed_at IS NULL ORDER BY f.path`).all() as { id: number; path: string; addedAt: number; images: number }[];
  const failures = statement(lib, 'SELECT path FROM failures').pluck().all() as string[];
  const jobs = statement(lib, "SELECT params, finished_at AS finishedAt FROM index_jobs WHERE state = 'done' AND finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 200")
    .all() as { params: string; finishedAt: number }[];
  const finished = jobs.map((j) => ({ folders: (JSON.parse(j.params) as { folders: string[] }).folders, at: j.finishedAt }));
  return rows.map((r) => {
    const covering = finished.find((j) => j.folders.some((f) => under(r.path, f)));
    return {
      path: r.path,
      addedAt: r.addedAt,
      images: r.images,
      failed: failures.filter((p) => under(p, r.path)).length,
      indexedAt: covering?.at ?? null,
    };
  });
}

export function presentImageCount(lib: ReadonlyLibrary): number {
  return memoByVersion(lib, 'present', () => statement<number>(lib, "SELECT count(*) FROM images WHERE status = 'present'").pluck().get() ?? 0);
}

/** Present photos with a result for each configuration. */
export function configImageCounts(lib: ReadonlyLibrary): Map<number, number> {
  return memoByVersion(lib, 'config-images', () => {
    // All results less those of removed photos (few, and found through a partial index): a join
    // of every result with its photo reads the whole images table.
    const all = statement<{ id: number; n: number }>(lib, 'SELECT config_id AS id, count(*) AS n FROM results GROUP BY config_id').all();
    const removed = statement<{ id: number; n: number }>(lib, `
      SELECT r.config_id AS id, count(*) AS n FROM images i JOIN results r ON r.image_id = i.id
      WHERE i.status = 'removed' GROUP BY r.config_id`).all();
    const less = new Map(removed.map((r) => [r.id, r.n]));
    return new Map(all.map((r) => [r.id, r.n - (less.get(r.id) ?? 0)]));
  });
}

export interface ImagePageItem {
  imageId: number;
  file: string;
  width: number | null;
  height: number | null;
  /** The reason its last indexing failed, if it did. */
  failed: string | null;
}

/** Present photos the indexer has been through, by path, optionally under one folder. */
export function imagePage(lib: ReadonlyLibrary, opts: { limit: number; offset: number; folder?: string }): { total: number; items: ImagePageItem[] } {
  const order = gridOrder(lib, opts.folder);
  const ids = Array.from(order.subarray(opts.offset, opts.offset + opts.limit));
  if (ids.length === 0) return { total: order.length, items: [] };
  const rows = statement<ImagePageItem>(lib, `
    SELECT i.id AS imageId, i.path AS file, i.width, i.height, f.error AS failed
    FROM images i LEFT JOIN failures f ON f.path = i.path
    WHERE i.id IN (SELECT value FROM json_each(?))`).all(JSON.stringify(ids));
  const byId = new Map(rows.map((r) => [r.imageId, r]));
  return { total: order.length, items: ids.flatMap((id) => byId.get(id) ?? []) };
}

/**
 * The library grid's photos in path order: present, and encoded or failed with a reason (the
 * others have no thumbnail yet, and making one on demand for each would compete with the
 * indexer). Built from covering indexes (paths, result ids, removed ids) rather than a join per
 * photo: ~0.2 s instead of ~0.6-1.3 s at 100k, then kept until the library changes.
 */
function gridOrder(lib: ReadonlyLibrary, folder: string | undefined): Int32Array {
  return memoByVersion(lib, `grid:${folder ?? ''}`, () => {
    if (folder !== undefined) {
      const inFolder = new Set(statement<number>(lib, `
        SELECT i.id FROM images i JOIN folders f ON f.id = i.folder_id WHERE f.path = ? AND f.removed_at IS NULL`).pluck().all(folder));
      return gridOrder(lib, undefined).filter((id) => inFolder.has(id));
    }
    const byPath = statement<number>(lib, 'SELECT id FROM images ORDER BY path').pluck().all();
    const removed = new Set(statement<number>(lib, "SELECT id FROM images WHERE status = 'removed'").pluck().all());
    const done = new Set(statement<number>(lib, 'SELECT DISTINCT image_id FROM results').pluck().all());
    for (const id of statement<number>(lib, 'SELECT i.id FROM failures f JOIN images i ON i.path = f.path').pluck().all()) done.add(id);
    return Int32Array.from(byPath.filter((id) => done.has(id) && !removed.has(id)));
  });
}
