/** Photos by file name (the command palette) against a brute-force filter of the library's paths. */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchImagesByName } from '../../../main/engine/store/image-search.js';
import { Library, type WritableLibrary } from '../../../main/engine/store/library.js';
import { addSyntheticImages, SYNTH, tempDir } from './helpers.js';

let lib: WritableLibrary;
let names: { imageId: number; file: string }[];

beforeAll(async () => {
  lib = Library.open(path.join(await tempDir('clipscope-image-search-'), 'library.sqlite'));
  const config = lib.ensureConfig(SYNTH);
  // Folder names that contain the searched text too: only the file name may match.
  const kept = [...addSyntheticImages(lib, config, 40, 7, '/photos/img-7-holiday').keys(), ...addSyntheticImages(lib, config, 30, 8, '/photos/other_100%').keys()];
  addSyntheticImages(lib, config, 10, 9, '/photos/gone');
  lib.removeFolder('/photos/gone');
  // A photo without a result yet (queued): not offered, its inspector would have nothing to show.
  const folder = lib.addFolder('/photos/queued');
  lib.insertImage({ path: '/photos/queued/img-7-queued.jpg', folderId: folder.id, size: 1, mtimeMs: 1, hash: 'q', width: null, height: null, capturedAt: null });
  names = kept.map((imageId) => ({ imageId, file: lib.imageById(imageId)!.path }));
});
afterAll(() => lib?.close());

const nameOf = (file: string) => file.slice(file.lastIndexOf('/') + 1);

function brute(all: { imageId: number; file: string }[], text: string, limit: number) {
  const t = text.toLowerCase();
  return all.filter((i) => nameOf(i.file).toLowerCase().includes(t))
    .sort((a, b) => Number(nameOf(b.file).toLowerCase().startsWith(t)) - Number(nameOf(a.file).toLowerCase().startsWith(t))
      || (nameOf(a.file).toLowerCase() < nameOf(b.file).toLowerCase() ? -1 : nameOf(a.file).toLowerCase() > nameOf(b.file).toLowerCase() ? 1 : a.imageId - b.imageId))
    .slice(0, limit);
}

describe('searchImagesByName', () => {
  it('finds present, indexed photos by their file name, names starting with the text first', () => {
    expect(names.length).toBe(70);
    for (const [text, limit] of [['img-7-1', 100], ['IMG-8', 5], ['-1', 100], ['holiday', 10], ['7-3', 3], ['.JPG', 100], ['%', 10], ['_', 10], ['queued', 10], ['img-9', 10]] as const) {
      const got = searchImagesByName(lib, text, limit);
      expect(got, text).toEqual(brute(names, text, limit));
    }
    expect(searchImagesByName(lib, 'holiday', 10)).toEqual([]);
    expect(searchImagesByName(lib, 'img-9', 10)).toEqual([]);
    expect(searchImagesByName(lib, 'queued', 10)).toEqual([]);
    expect(searchImagesByName(lib, '-1', 100).length).toBeGreaterThan(10);
  });
});
