/**
 * Recursive folder walk for the indexer: image files by extension, hidden entries skipped,
 * symbolic links followed once and loops never. Nothing here opens a photo: only directory
 * listings and stat calls.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Dirent, Stats } from 'node:fs';

/** Extensions the indexer picks up (compared lower-case). */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set([
  '.jpg', '.jpeg', '.png', '.webp', '.gif', '.tiff', '.tif', '.avif', '.heic', '.heif', '.mpo',
]);

export function isImageName(name: string): boolean {
  return IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase());
}

/** Dot files and dot folders (".thumbnails", ".DS_Store", "._IMG_0001.JPG" …). */
export function isHiddenName(name: string): boolean {
  return name.startsWith('.');
}

export interface ScannedFile {
  /** Absolute path as reached by the walk (through links, not resolved). */
  readonly path: string;
  /** The root folder (as given to scanFolders, resolved) the file was found under. */
  readonly root: string;
  readonly size: number;
  /** Integer milliseconds (sub-millisecond precision is not portable across file systems). */
  readonly mtimeMs: number;
}

export interface ScanProblem {
  readonly path: string;
  readonly error: string;
}

export interface ScanResult {
  readonly files: ScannedFile[];
  /** Entries that could not be read: reported, never fatal. */
  readonly problems: ScanProblem[];
  /**
   * Folders whose contents are unknown (a root that is missing, a folder that cannot be listed):
   * files recorded under them must not be taken as deleted.
   */
  readonly unknownDirs: string[];
  /** Image-named entries skipped because they are hidden. */
  readonly hiddenSkipped: number;
}

export interface ScanOptions {
  /** Called every few hundred files, for progress. */
  readonly onProgress?: (found: number, dir: string) => void;
  /** Checked between folders; the walk stops (with what it has) when it returns true. */
  readonly shouldStop?: () => boolean;
}

function describe(err: unknown, what: 'folder' | 'file' | 'link'): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return what === 'folder' ? 'permission denied (cannot list this folder)' : 'permission denied';
    case 'ENOENT':
      return what === 'link' ? 'broken symbolic link (its target does not exist)' : 'vanished while scanning';
    case 'ELOOP':
      return 'symbolic link loop';
    case 'ENOTDIR':
      return 'not a folder';
    default:
      return `cannot read (${code ?? String(err)})`;
  }
}

const idOf = (st: Stats): string => `${st.dev}:${st.ino}`;

/**
 * Walks `roots` in name order (deterministic). Folders reached through symbolic links are walked
 * after everything reachable without links, so a photo inside the tree keeps its real path; a
 * folder or file reached twice (nested roots, links to something already seen, loops, hard links)
 * is taken once. Files come back sorted by path.
 */
export async function scanFolders(roots: readonly string[], opts: ScanOptions = {}): Promise<ScanResult> {
  const files: ScannedFile[] = [];
  const fileIndex = new Map<string, { at: number; viaLink: boolean }>();
  const problems: ScanProblem[] = [];
  const unknownDirs: string[] = [];
  const seenDirs = new Set<string>();
  const deferred: { dir: string; root: string; st: Stats }[] = [];
  let hiddenSkipped = 0;
  let lastReport = 0;

  const addFile = (full: string, root: string, st: Stats, viaLink: boolean): void => {
    const fid = idOf(st);
    const entry: ScannedFile = { path: full, root, size: st.size, mtimeMs: Math.floor(st.mtimeMs) };
    const prev = fileIndex.get(fid);
    if (prev) {
      // The same file twice (a link to it, a hard link): keep one, preferring a path without links.
      if (prev.viaLink && !viaLink) {
        files[prev.at] = entry;
        fileIndex.set(fid, { at: prev.at, viaLink });
      }
      return;
    }
    fileIndex.set(fid, { at: files.length, viaLink });
    files.push(entry);
    if (opts.onProgress && files.length - lastReport >= 250) {
      lastReport = files.length;
      opts.onProgress(files.length, path.dirname(full));
    }
  };

  const walk = async (dir: string, root: string, st: Stats, viaLink: boolean): Promise<void> => {
    const id = idOf(st);
    if (seenDirs.has(id)) return; // a loop, or a folder already walked through another path
    seenDirs.add(id);
    if (opts.shouldStop?.()) {
      unknownDirs.push(dir);
      return;
    }
    let entries: Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (err) {
      problems.push({ path: dir, error: describe(err, 'folder') });
      unknownDirs.push(dir);
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const full = path.join(dir, e.name);
      const image = isImageName(e.name);
      if (isHiddenName(e.name)) {
        if (image && !e.isDirectory()) hiddenSkipped++;
        continue;
      }
      const link = e.isSymbolicLink();
      if (!link && !e.isDirectory() && !e.isFile()) {
        // FIFOs, sockets, devices: never opened (reading a FIFO would block forever).
        if (image) problems.push({ path: full, error: 'not a regular file (device, pipe or socket)' });
        continue;
      }
      if (!link && e.isFile() && !image) continue; // no stat for files that are not images
      let target: Stats;
      try {
        target = await fs.stat(full); // follows links
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // A dangling link to something that is not an image is none of our business.
        if (link && !image && code === 'ENOENT') continue;
        problems.push({ path: full, error: describe(err, link ? 'link' : 'file') });
        continue;
      }
      if (target.isDirectory()) {
        if (link) deferred.push({ dir: full, root, st: target });
        else await walk(full, root, target, viaLink);
      } else if (target.isFile()) {
        if (image) addFile(full, root, target, viaLink || link);
      } else if (image) {
        problems.push({ path: full, error: 'not a regular file (device, pipe or socket)' });
      }
    }
  };

  for (const r of roots) {
    const root = path.resolve(r);
    let st: Stats;
    try {
      st = await fs.stat(root);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      problems.push({ path: root, error: code === 'ENOENT' ? 'folder not found (moved, deleted or not mounted)' : describe(err, 'folder') });
      unknownDirs.push(root);
      continue;
    }
    if (!st.isDirectory()) {
      problems.push({ path: root, error: 'not a folder' });
      unknownDirs.push(root);
      continue;
    }
    await walk(root, root, st, false);
  }
  // Linked folders last, each at most once (a link back up the tree finds its target seen).
  for (let i = 0; i < deferred.length; i++) {
    const d = deferred[i]!;
    await walk(d.dir, d.root, d.st, true);
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  opts.onProgress?.(files.length, '');
  return { files, problems, unknownDirs, hiddenSkipped };
}

/** True when `file` lies inside `dir` (or is it). */
export function isUnder(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}
