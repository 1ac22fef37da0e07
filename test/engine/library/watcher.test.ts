import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Library, type WritableLibrary } from '../../../main/engine/store/library.js';
import { Indexer, type IndexRunResult } from '../../../main/engine/library/indexer.js';
import { FolderWatcher, LibraryWatch, type FolderChanges } from '../../../main/engine/library/watcher.js';
import { ROOT } from '../../helpers/references.js';
import { TEST_CACHE, TINY } from './helpers.js';

process.env['CLIPSCOPE_CACHE_DIR'] = TEST_CACHE;

let tmp: string;
let dir: string;
let lib: WritableLibrary;
const photo = (name: string): string => path.join(ROOT, 'test/fixtures/photos', name);

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'clipscope-watch-'));
  dir = path.join(tmp, 'photos');
  await fs.mkdir(path.join(dir, 'album'), { recursive: true });
  await fs.copyFile(photo('chelsea.png'), path.join(dir, 'chelsea.png'));
  await fs.copyFile(photo('coins.png'), path.join(dir, 'album', 'coins.png'));
  lib = Library.open(path.join(tmp, 'lib.sqlite'));
});

afterAll(async () => {
  lib.close();
  await fs.rm(tmp, { recursive: true, force: true });
});

function nextRun(w: LibraryWatch, timeoutMs = 20_000): Promise<IndexRunResult> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no index run after the change')), timeoutMs);
    w.once('indexed', (r: IndexRunResult) => {
      clearTimeout(t);
      resolve(r);
    });
  });
}

describe('watching folders', () => {
  it('debounces bursts, ignores hidden and non-image files', async () => {
    const batches: FolderChanges[] = [];
    const w = await FolderWatcher.start([dir], (c) => batches.push(c), { debounceMs: 300 });
    try {
      for (let i = 0; i < 5; i++) await fs.copyFile(photo('rocket.jpg'), path.join(dir, `burst-${i}.jpg`));
      await fs.writeFile(path.join(dir, 'notes.txt'), 'x');
      await fs.writeFile(path.join(dir, '.hidden.jpg'), 'x');
      await new Promise((r) => setTimeout(r, 1500));
      expect(batches.length).toBe(1);
      expect(batches[0]!.folders).toEqual([dir]);
      const names = batches[0]!.paths.map((p) => path.basename(p)).sort();
      expect(names).toEqual(['burst-0.jpg', 'burst-1.jpg', 'burst-2.jpg', 'burst-3.jpg', 'burst-4.jpg']);
    } finally {
      await w.close();
      for (let i = 0; i < 5; i++) await fs.rm(path.join(dir, `burst-${i}.jpg`));
      await fs.rm(path.join(dir, 'notes.txt'));
    }
  });

  it('feeds additions, renames and deletions into incremental indexing while running', async () => {
    const indexer = new Indexer(lib, { provider: 'cpu', thumbDir: path.join(tmp, 'thumbs') });
    const target = { folders: [dir], ...TINY };
    expect((await indexer.index(target)).indexed).toBe(2);
    const w = await LibraryWatch.start(indexer, target, { debounceMs: 300 });
    try {
      let run = nextRun(w);
      await fs.copyFile(photo('rocket.jpg'), path.join(dir, 'album', 'rocket.jpg'));
      expect(await run).toMatchObject({ indexed: 1, moved: 0, removed: 0, state: 'done' });
      const id = lib.imageByPath(path.join(dir, 'album', 'rocket.jpg'))!.id;

      run = nextRun(w);
      await fs.rename(path.join(dir, 'album', 'rocket.jpg'), path.join(dir, 'launch.jpg'));
      expect(await run).toMatchObject({ indexed: 0, moved: 1, removed: 0 });
      expect(lib.imageByPath(path.join(dir, 'launch.jpg'))!.id).toBe(id);

      run = nextRun(w);
      await fs.rm(path.join(dir, 'chelsea.png'));
      expect(await run).toMatchObject({ indexed: 0, moved: 0, removed: 1 });
      expect(lib.imageByPath(path.join(dir, 'chelsea.png'))!.status).toBe('removed');

      // A whole folder moved out of the tree.
      run = nextRun(w);
      await fs.rename(path.join(dir, 'album'), path.join(tmp, 'album-elsewhere'));
      expect(await run).toMatchObject({ removed: 1 });
    } finally {
      await w.close();
    }
  });
});
