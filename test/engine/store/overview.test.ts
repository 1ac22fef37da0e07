/**
 * The library screens' counts and photo pages against brute-force SQL over the same file, and
 * their memo: an answer kept per handle is read again once the library changed, whether this
 * handle wrote (total_changes) or another connection did (data_version).
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLibrary, Library, type ReadonlyLibrary, type WritableLibrary } from '../../../main/engine/store/library.js';
import { configImageCounts, folderStats, imagePage, presentImageCount } from '../../../main/engine/store/overview.js';
import { addSyntheticImages, SYNTH, tempDir } from './helpers.js';

let file: string;
let lib: WritableLibrary;
let reader: ReadonlyLibrary;
let raw: Database.Database;

beforeAll(async () => {
  file = path.join(await tempDir('clipscope-overview-'), 'library.sqlite');
  lib = Library.open(file);
  const config = lib.ensureConfig(SYNTH);
  // Paths whose order differs from their ids' order, two folders, a removed folder.
  addSyntheticImages(lib, config, 30, 3, '/photos/b');
  addSyntheticImages(lib, config, 20, 4, '/photos/a');
  addSyntheticImages(lib, config, 10, 5, '/photos/gone');
  lib.removeFolder('/photos/gone');
  // Queued (no result, no failure): not in the grid; failed: in it, with its reason.
  const folder = lib.addFolder('/photos/c');
  for (const name of ['queued.jpg', 'broken.jpg', 'also-broken.png']) {
    lib.insertImage({ path: `/photos/c/${name}`, folderId: folder.id, size: 1, mtimeMs: 1, hash: name, width: null, height: null, capturedAt: null });
  }
  lib.recordFailure('/photos/c/broken.jpg', config.id, 'not an image');
  lib.recordFailure('/photos/c/also-broken.png', null, 'truncated');
  reader = openLibrary(file);
  raw = new Database(file, { readonly: true });
});
afterAll(() => {
  lib?.close();
  reader?.close();
  raw?.close();
});

/** The grid's rows as one plain query: present, and encoded or failed, by path. */
function brute(folder?: string) {
  return raw.prepare(`
    SELECT i.id AS imageId, i.path AS file, i.width, i.height, f.error AS failed
    FROM images i LEFT JOIN failures f ON f.path = i.path
    WHERE i.status = 'present'
      AND (EXISTS (SELECT 1 FROM results r WHERE r.image_id = i.id) OR f.path IS NOT NULL)
      ${folder === undefined ? '' : 'AND i.folder_id = (SELECT id FROM folders WHERE path = ? AND removed_at IS NULL)'}
    ORDER BY i.path`).all(...(folder === undefined ? [] : [folder]));
}

describe('library overview', () => {
  it('pages the grid exactly as the brute-force query orders it, per folder too', () => {
    for (const handle of [lib, reader]) {
      for (const folder of [undefined, '/photos/a', '/photos/b', '/photos/c', '/photos/gone']) {
        const all = brute(folder);
        for (const [offset, limit] of [[0, 7], [5, 13], [40, 100], [0, 1000], [all.length, 10]] as const) {
          const page = imagePage(handle, { limit, offset, ...(folder === undefined ? {} : { folder }) });
          expect(page.total, `${folder} total`).toBe(all.length);
          expect(page.items, `${folder} ${offset}+${limit}`).toEqual(all.slice(offset, offset + limit));
        }
      }
    }
    expect(brute().length).toBe(52);
    expect(imagePage(reader, { limit: 100, offset: 0, folder: '/photos/c' }).items.map((i) => i.failed)).toEqual(['truncated', 'not an image']);
  });

  it('counts present photos and results per configuration as a join would', () => {
    const present = raw.prepare("SELECT count(*) FROM images WHERE status = 'present'").pluck().get();
    const perConfig = raw.prepare(`SELECT r.config_id, count(*) FROM results r JOIN images i ON i.id = r.image_id
      WHERE i.status = 'present' GROUP BY r.config_id`).raw().all() as [number, number][];
    for (const handle of [lib, reader]) {
      expect(presentImageCount(handle)).toBe(present);
      expect([...configImageCounts(handle)]).toEqual(perConfig);
      expect(folderStats(handle).map((f) => [f.path, f.images, f.failed])).toEqual([['/photos/a', 20, 0], ['/photos/b', 30, 0], ['/photos/c', 3, 2]]);
    }
  });

  it('reads again after the library changed: its own writes and another connection\'s', () => {
    const before = imagePage(reader, { limit: 1000, offset: 0 }).total;
    const beforeOwn = imagePage(lib, { limit: 1000, offset: 0 }).total;
    expect(presentImageCount(reader)).toBe(53);
    lib.removeFolder('/photos/a');
    // The writer's own handle sees its write (total_changes moved) ...
    expect(imagePage(lib, { limit: 1000, offset: 0 }).total).toBe(beforeOwn - 20);
    expect(presentImageCount(lib)).toBe(33);
    // ... and a reader on another connection sees the commit (data_version moved).
    expect(imagePage(reader, { limit: 1000, offset: 0 }).total).toBe(before - 20);
    expect(presentImageCount(reader)).toBe(33);
    expect(imagePage(reader, { limit: 1000, offset: 0 }).items).toEqual(brute());
    expect([...configImageCounts(reader).values()]).toEqual([30]);
  });
});
