import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isImageName, scanFolders } from '../../../main/engine/library/scanner.js';
import { buildCorpus, releaseCorpus, type Corpus } from '../../../scripts/fixtures/corpus.js';

let tmp: string;
let corpus: Corpus;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'clipscope-scan-'));
  corpus = await buildCorpus(tmp);
});

afterAll(async () => {
  await releaseCorpus(corpus);
  await fs.rm(tmp, { recursive: true, force: true });
});

const rel = (p: string): string => path.relative(corpus.root, p).split(path.sep).join('/');

describe('scanner', () => {
  it('recognises image extensions case-insensitively', () => {
    for (const n of ['a.jpg', 'a.JPEG', 'b.Png', 'c.webp', 'd.gif', 'e.tiff', 'f.TIF', 'g.avif', 'h.HEIC', 'i.heif', 'j.mpo', 'x.png.jpg']) expect(isImageName(n), n).toBe(true);
    for (const n of ['a.bmp', 'a.jpg.txt', 'jpg', 'a.psd', 'a.dng', 'a']) expect(isImageName(n), n).toBe(false);
  });

  it('walks the corpus: images found, hidden skipped, links followed once, problems reported', async () => {
    const scan = await scanFolders([corpus.root]);
    const found = scan.files.map((f) => rel(f.path));
    const expectFound = corpus.entries.filter((e) => e.expect === 'indexed' || e.expect === 'failed').map((e) => e.rel);
    expect(found.sort()).toEqual(expectFound.sort());
    // Each file once; a link to a folder outside the library is followed, its loop back is not.
    expect(new Set(found).size).toBe(found.length);
    expect(found).toContain('links/elsewhere/outside.jpg');
    expect(found.some((f) => f.includes('back-into-library') || f.includes('links/loop') || f.includes('links/self'))).toBe(false);
    expect(found).toContain('photos/rocket.jpg');
    expect(found).not.toContain('links/rocket-link.jpg');
    expect(scan.hiddenSkipped).toBeGreaterThanOrEqual(2);
    const problems = new Map(scan.problems.map((p) => [rel(p.path), p.error]));
    for (const e of corpus.entries.filter((x) => x.expect === 'problem')) {
      expect(problems.get(e.rel), e.rel).toMatch(e.reason!);
    }
    expect(problems.size).toBe(corpus.entries.filter((x) => x.expect === 'problem').length);
    for (const f of scan.files) {
      expect(path.isAbsolute(f.path)).toBe(true);
      expect(f.root).toBe(corpus.root);
      expect(Number.isInteger(f.mtimeMs)).toBe(true);
    }
  });

  it('reports a missing root as unknown (nothing under it may be taken as deleted)', async () => {
    const missing = path.join(tmp, 'unplugged-drive');
    const scan = await scanFolders([missing, path.join(corpus.root, 'photos')]);
    expect(scan.unknownDirs).toContain(missing);
    expect(scan.problems[0]!.error).toMatch(/folder not found/);
    expect(scan.files.length).toBeGreaterThan(5);
  });

  it('takes nested roots once', async () => {
    const a = await scanFolders([path.join(corpus.root, 'photos')]);
    const b = await scanFolders([path.join(corpus.root, 'photos'), corpus.root, path.join(corpus.root, 'photos/dated')]);
    const inPhotos = b.files.filter((f) => f.path.startsWith(path.join(corpus.root, 'photos') + path.sep));
    expect(inPhotos.map((f) => f.path)).toEqual(a.files.map((f) => f.path));
    expect(new Set(b.files.map((f) => f.path)).size).toBe(b.files.length);
  });
});
