import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeAndThumbnail, parseExifDate, thumbnailPath, thumbnailSize, THUMB_LONG, THUMB_SHORT } from '../../../main/engine/library/thumbnails.js';
import { resizeOutputSize } from '../../../main/engine/imaging/preprocess.js';
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
  it('makes JPEG thumbnails (shorter side 224 px) in the cache folder, oriented like the decoded image', async () => {
    for (const rel of ['photos/hubble_deep_field.jpg', 'odd/orient-6.jpg', 'odd/orient-6-xmp.png', 'odd/chelsea.heic', 'odd/chelsea.avif', 'odd/cmyk.jpg', 'odd/anim.gif', 'odd/rgb16.png', 'names/Ünïcødé 写真 📷.png']) {
      const hash = `h${rel.replace(/[^a-z0-9]/gi, '')}`;
      const info = await describeAndThumbnail(at(rel), hash, thumbs);
      expect(info.thumbnail, `${rel}: ${info.thumbnailError ?? ''}`).toBe('written');
      const out = thumbnailPath(hash, thumbs);
      const meta = await sharp(out).metadata();
      expect(meta.format).toBe('jpeg');
      const rgb = await loadImageRgb(at(rel));
      expect([meta.width, meta.height], rel).toEqual(thumbnailSize(rgb.width, rgb.height));
      // Same orientation as the engine's decode (landscape stays landscape).
      expect(Math.sign(meta.width - meta.height), rel).toBe(Math.sign(rgb.width - rgb.height));
      expect([info.width, info.height], rel).toEqual([rgb.width, rgb.height]);
      // A second call finds it.
      expect((await describeAndThumbnail(at(rel), hash, thumbs)).thumbnail).toBe('exists');
    }
    // Nothing is written beside the photos; no temporary files are left.
    expect((await fs.readdir(thumbs)).every((f) => f.endsWith('.jpg'))).toBe(true);
  });

  it("sizes thumbnails like CLIP's resize (shorter side 224), never enlarged, longer side capped", () => {
    // The size of CLIPImageProcessor's resized image, so the indexer can use it as it is.
    for (const [w, h] of [[640, 427], [427, 640], [1000, 872], [451, 300], [3000, 2000], [225, 449], [4032, 3024], [300, 300]] as const) {
      const [rh, rw] = resizeOutputSize(h, w, { shortest_edge: 224 });
      expect(thumbnailSize(w, h), `${w}x${h}`).toEqual([rw, rh]);
    }
    expect(thumbnailSize(100, 50)).toEqual([100, 50]); // small photos stay as they are
    expect(thumbnailSize(224, 448)).toEqual([224, 448]);
    expect(thumbnailSize(3000, 1000)).toEqual([THUMB_LONG, 149]); // panoramas: longer side capped
    expect(thumbnailSize(50, 1000)).toEqual([22, THUMB_LONG]);
    expect(thumbnailSize(1, 100000)).toEqual([1, THUMB_LONG]);
    for (let i = 0; i < 500; i++) {
      const w = 1 + Math.floor(Math.random() * 6000);
      const h = 1 + Math.floor(Math.random() * 6000);
      const [tw, th] = thumbnailSize(w, h);
      expect(Math.min(tw, th)).toBeLessThanOrEqual(Math.min(THUMB_SHORT, w, h));
      expect(Math.max(tw, th)).toBeLessThanOrEqual(THUMB_LONG);
      expect(Math.min(tw, th)).toBeGreaterThanOrEqual(1);
      expect(Math.sign(tw - th) === Math.sign(w - h) || tw === th).toBe(true);
    }
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
