/**
 * What the app's library screens show at a glance: per-folder and per-configuration counts and
 * a page of photos. Aggregates only; each is one indexed query, cheap at 100k photos.
 */
import path from 'node:path';
import type { ReadonlyLibrary } from './library.js';

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
  const rows = lib.statement(`
    SELECT f.id, f.path, f.added_at AS addedAt,
      (SELECT count(*) FROM images i WHERE i.folder_id = f.id AND i.status = 'present') AS images
    FROM folders f WHERE f.removed_at IS NULL ORDER BY f.path`).all() as { id: number; path: string; addedAt: number; images: number }[];
  const failures = lib.statement('SELECT path FROM failures').pluck().all() as string[];
  const jobs = lib.statement("SELECT params, finished_at AS finishedAt FROM index_jobs WHERE state = 'done' AND finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 200")
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
  return lib.statement("SELECT count(*) FROM images WHERE status = 'present'").pluck().get() as number;
}

/** Present photos with a result for each configuration. */
export function configImageCounts(lib: ReadonlyLibrary): Map<number, number> {
  const rows = lib.statement(`
    SELECT r.config_id AS id, count(*) AS n FROM results r JOIN images i ON i.id = r.image_id
    WHERE i.status = 'present' GROUP BY r.config_id`).all() as { id: number; n: number }[];
  return new Map(rows.map((r) => [r.id, r.n]));
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
  const where = opts.folder === undefined ? '' : 'AND folder_id = (SELECT id FROM folders WHERE path = ? AND removed_at IS NULL)';
  const args = opts.folder === undefined ? [] : [opts.folder];
  // Photos the indexer has been through (encoded, or failed with a reason): the others have no
  // thumbnail yet, and making one on demand for each would compete with the indexer.
  const processed = `(EXISTS (SELECT 1 FROM results r WHERE r.image_id = i.id) OR EXISTS (SELECT 1 FROM failures f2 WHERE f2.path = i.path))`;
  const total = lib.statement(`SELECT count(*) FROM images i WHERE i.status = 'present' AND ${processed} ${where.replace('folder_id', 'i.folder_id')}`).pluck().get(...args) as number;
  const items = lib.statement(`
    SELECT i.id AS imageId, i.path AS file, i.width, i.height, f.error AS failed
    FROM images i LEFT JOIN failures f ON f.path = i.path
    WHERE i.status = 'present' AND ${processed} ${where.replace('folder_id', 'i.folder_id')}
    ORDER BY i.path LIMIT ? OFFSET ?`).all(...args, opts.limit, opts.offset) as ImagePageItem[];
  return { total, items };
}
