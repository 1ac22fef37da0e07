/**
 * Images' dates as date-filtered and date-sorted queries read them: the capture date, else the
 * file time (ms since the epoch), with the path where a folder filter needs it; and the highest
 * image id ever given (the size of arrays indexed by image id).
 */
import { statement } from './connection.js';
import type { ReadonlyLibrary } from './library.js';

/** The highest image id the library has given (ids are never reused); 0 for none. */
export function maxImageId(lib: ReadonlyLibrary): number {
  return statement<number>(lib, "SELECT seq FROM sqlite_sequence WHERE name = 'images'").pluck().get() ?? 0;
}

export interface DatedImage { id: number; path: string; date: number }

/** Path and date of each of these images (present or not); ids not in the library are left out. */
export function datedImages(lib: ReadonlyLibrary, ids: readonly number[]): Map<number, DatedImage> {
  const get = statement<{ path: string; date: number }>(lib, 'SELECT path, coalesce(captured_at, mtime_ms) AS date FROM images WHERE id = ?');
  const out = new Map<number, DatedImage>();
  for (const id of ids) {
    const r = get.get(id);
    if (r) out.set(id, { id, path: r.path, date: r.date });
  }
  return out;
}

/** Path and date of those of these images that are present, one lookup each (for a few ids). */
export function presentDatedImages(lib: ReadonlyLibrary, ids: readonly number[]): DatedImage[] {
  const get = statement<{ path: string; date: number }>(lib, "SELECT path, coalesce(captured_at, mtime_ms) AS date FROM images WHERE id = ? AND status = 'present'");
  const out: DatedImage[] = [];
  for (const id of ids) {
    const r = get.get(id);
    if (r) out.push({ id, path: r.path, date: r.date });
  }
  return out;
}

/**
 * [id, date] of every present image, or (with `paths`) of those whose path p has
 * paths.from <= p < paths.to: a range of the path index, read in one statement.
 */
export function presentImageDates(lib: ReadonlyLibrary, paths?: { from: string; to: string }): [number, number][] {
  return paths
    ? statement<[number, number]>(lib, "SELECT id, coalesce(captured_at, mtime_ms) FROM images WHERE path >= ? AND path < ? AND status = 'present'").raw().all(paths.from, paths.to)
    : statement<[number, number]>(lib, "SELECT id, coalesce(captured_at, mtime_ms) FROM images WHERE status = 'present'").raw().all();
}
