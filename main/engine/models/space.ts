import fs from 'node:fs/promises';
import path from 'node:path';
import { DownloadError } from './errors.js';
import { formatBytes } from '../formats/format-size.js';

/** Free bytes for an unprivileged user on the filesystem holding `dir` (injectable for tests). */
export type FreeSpaceFn = (dir: string) => Promise<number>;

/** fs.statfs on `dir`, or on its nearest existing parent when it does not exist yet. */
export const statfsFreeSpace: FreeSpaceFn = async (dir) => {
  let d = path.resolve(dir);
  for (;;) {
    try {
      const s = await fs.statfs(d);
      return Number(s.bavail) * Number(s.bsize);
    } catch (err) {
      const parent = path.dirname(d);
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parent === d) throw err;
      d = parent;
    }
  }
};

/** Refuses to start when `needed` bytes (+ a margin) do not fit in `dir`. */
export async function ensureFreeSpace(dir: string, needed: number, free: FreeSpaceFn, marginBytes: number): Promise<void> {
  if (needed <= 0) return;
  let available: number;
  try {
    available = await free(dir);
  } catch {
    return; // a filesystem that cannot say (some network mounts): the write itself will tell
  }
  if (available < needed + marginBytes) {
    throw new DownloadError(
      'disk-space',
      `not enough free space in ${dir}: the download needs ${formatBytes(needed)}${marginBytes > 0 ? ` (+ ${formatBytes(marginBytes)} to spare)` : ''}, ${formatBytes(Math.max(0, available))} is free`,
    );
  }
}
