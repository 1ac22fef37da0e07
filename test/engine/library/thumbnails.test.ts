import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeAndThumbnail, parseExifDate, thumbnailPath, THUMB_SIZE } from '../../../main/engine/library/thumbnails.js';
import { RateMeter } from '../../../main/engine/library/progress.js';
import { loadImageRgb } from '../../../main/engine/imaging/decode.js';
import { buildCorpus, releaseCorpus, type Corpus } from '../../../scripts/fixtures/corpus.js';

let tmp: string;
let corpus: Corpus;
let thumbs: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'clipscope-thumbs-'));
  corpus = await buildCorpus(path.join(tmp, 'c'));
  thumbs = path.join(tmp, 'cache', 'thumbs');
});
afterAll(async () => {
  await releaseCorpus(corpus);
  await fs.rm(tmp, { recursive: true, force: true });
});

const at = (rel: string): string => path.join(corpus.root, rel);

describe('thumbnails and photo metadata', () => {
  it('makes ~256 px WebP thumbnails in the cache folder, oriented like the decoded image', async () => {
    for (const rel of ['photos/hubble_deep_field.jpg', 'odd/orient-6.jpg', 'odd/orient-6-xmp.png', 'odd/chelsea.heic', 'odd/chelsea.avif', 'odd/cmyk.jpg', 'odd/anim.gif', 'odd/rgb16.png', 'names/Ünïcødé 写真 📷.png']) {
      const hash = `h${rel.replace(/[^a-z0-9]/gi, '')}`;
      const info = await describeAndThumbnail(at(rel), hash, thumbs);
      expect(info.thumbnail, `${rel}: ${info.thumbnailError ?? ''}`).toBe('written');
      const out = thumbnailPath(hash, thumbs);
      const meta = await sharp(out).metadata();
      expect(meta.format).toBe('webp');
      const rgb = await loadImageRgb(at(rel));
      expect(Math.max(meta.width, meta.height)).toBe(Math.min(THUMB_SIZE, Math.max(rgb.width, rgb.height)));
      // Same orientation as the engine's decode (landscape stays landscape).
      expect(Math.sign(meta.width - meta.height), rel).toBe(Math.sign(rgb.width - rgb.height));
      expect([info.width, info.height], rel).toEqual([rgb.width, rgb.height]);
      // A second call finds it.
      expect((await describeAndThumbnail(at(rel), hash, thumbs)).thumbnail).toBe('exists');
    }
    // Nothing is written beside the photos; no temporary files are left.
    expect((await fs.readdir(thumbs)).every((f) => f.endsWith('.webp'))).toBe(true);
  });

  it('reads the capture date from EXIF (wall-clock time as UTC), null when absent or zero', async () => {
    expect((await describeAndThumbnail(at('photos/dated/IMG_0001.JPG'), 'd1', thumbs)).capturedAt).toBe(Date.UTC(2019, 6, 14, 10, 20, 30));
    expect((await describeAndThumbnail(at('photos/dated/IMG_0002.JPG'), 'd2', thumbs)).capturedAt).toBeNull();
    expect((await describeAndThumbnail(at('photos/chelsea.png'), 'd3', thumbs)).capturedAt).toBeNull();
    expect(parseExifDate('2021:12:31 23:59:58')).toBe(Date.UTC(2021, 11, 31, 23, 59, 58));
    expect(parseExifDate('2021-12-31T23:59')).toBe(Date.UTC(2021, 11, 31, 23, 59, 0));
    expect(parseExifDate('    :  :     :  :  ')).toBeNull();
    expect(parseExifDate(42)).toBeNull();
  });

  it('never throws for broken files', async () => {
    for (const e of corpus.entries.filter((x) => x.expect === 'failed')) {
      const info = await describeAndThumbnail(at(e.rel), `b${e.rel.length}`, thumbs);
      expect(info.thumbnail, e.rel).toBe('failed');
    }
  });
});

describe('rate meter', () => {
  it('measures over a sliding window and gives an ETA', () => {
    let t = 0;
    const m = new RateMeter(10_000, () => t);
    expect(m.rate()).toBeNull();
    m.mark(0);
    t = 1000;
    m.mark(10);
    expect(m.rate()).toBeCloseTo(10);
    expect(m.eta(50)).toBeCloseTo(5);
    // Slower later: the window forgets the fast start.
    for (let i = 1; i <= 30; i++) {
      t = 1000 + i * 1000;
      m.mark(10 + i);
    }
    expect(m.rate()).toBeCloseTo(1, 1);
  });
});
