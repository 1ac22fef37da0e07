import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EncodePipeline } from '../../../main/engine/pipeline/encode-pipeline.js';
import { IndexPipeline } from '../../../main/engine/library/index-pipeline.js';
import { THUMB_JPEG, thumbnailPath, thumbnailSize } from '../../../main/engine/library/thumbnails.js';
import { loadImageRgb } from '../../../main/engine/imaging/decode.js';
import { preprocessWithView } from '../../../main/engine/imaging/preprocess.js';
import { parseProcessorConfig } from '../../../main/engine/imaging/processor-config.js';
import { ROOT } from '../../helpers/references.js';
import { TEST_CACHE, TINY } from './helpers.js';

process.env['CLIPSCOPE_CACHE_DIR'] = TEST_CACHE;

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'clipscope-ipipe-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

const inputs = path.join(ROOT, 'test/fixtures/imaging/inputs');

describe('IndexPipeline', () => {
  it('gives exactly what EncodePipeline gives, in order, plus metadata and a thumbnail from the same decode', async () => {
    const files = [
      ...['chelsea.png', 'rocket.jpg'].map((f) => path.join(ROOT, 'test/fixtures/photos', f)),
      ...['orient-6.jpg', 'chelsea.heic', 'cmyk.jpg', 'tiny.bmp', 'grey16.png', 'anim.gif', 'corrupt-entropy.jpg', 'orient-6-xmp.png'].map((f) => path.join(inputs, f)),
      path.join(tmp, 'missing.jpg'),
    ];
    for (const [batchSize, decodeWorkers] of [[1, 1], [3, 2]] as const) { // EncodePipeline's batching, one or two decoders
      const thumbDir = path.join(tmp, `thumbs-${batchSize}`);
      const ref = await EncodePipeline.open({ ...TINY, provider: 'cpu', batchSize });
      const ip = await IndexPipeline.open({ ...TINY, provider: 'cpu', batchSize, decodeWorkers, thumbDir });
      const thumbs: { hash: string; file: string }[] = [];
      try {
        const a = [];
        for await (const r of ref.encodeFiles(files)) a.push(r);
        const b = [];
        for await (const r of ip.encode(files.map((file, i) => ({ file, hash: `h${i}` })))) b.push(r);
        expect(b.map((r) => r.file)).toEqual(a.map((r) => r.file));
        for (let i = 0; i < a.length; i++) {
          const x = a[i]!;
          const y = b[i]!;
          expect(y.ok, y.file).toBe(x.ok);
          if (!x.ok || !y.ok) {
            expect(!y.ok && y.error).toBe(!x.ok && x.error);
            continue;
          }
          expect(y.image.codes).toEqual(x.image.codes);
          expect(y.image.embedding).toEqual(x.image.embedding);
          const rgb = await loadImageRgb(y.file);
          expect(y.info).toMatchObject({ width: rgb.width, height: rgb.height });
          thumbs.push({ hash: `h${i}`, file: y.file });
        }
      } finally {
        await ref.close();
        await ip.close();
      }
      // close() waited for the thumbnails: every one is there, at thumbnail size.
      expect(thumbs.length).toBe(files.length - 2);
      for (const { hash, file } of thumbs) {
        const rgb = await loadImageRgb(file);
        const t = await sharp(thumbnailPath(hash, thumbDir)).metadata();
        expect(t.format, file).toBe('jpeg');
        expect([t.width, t.height], file).toEqual(thumbnailSize(rgb.width, rgb.height));
      }
      expect((await fs.readdir(thumbDir)).sort()).toEqual(thumbs.map((t) => `${t.hash}.jpg`).sort());
    }
  });

  it("makes a photo's thumbnail from the model's resized view (before the centre crop)", async () => {
    const file = path.join(ROOT, 'test/fixtures/photos/rocket.jpg');
    const thumbDir = path.join(tmp, 'thumbs-view');
    const ip = await IndexPipeline.open({ ...TINY, provider: 'cpu', thumbDir });
    try {
      for await (const r of ip.encode([{ file, hash: 'rocket' }])) expect(r.ok).toBe(true);
    } finally {
      await ip.close();
    }
    const view = preprocessWithView(await loadImageRgb(file), parseProcessorConfig(JSON.parse(await fs.readFile(path.join(TINY.modelDir, 'preprocessor_config.json'), 'utf8')), 'preprocessor_config.json')).resized!;
    // Exactly the view, JPEG-encoded (no second resize of the photo).
    const expected = await sharp(view.data, { raw: { width: view.width, height: view.height, channels: 3 } }).jpeg(THUMB_JPEG).toBuffer();
    expect((await fs.readFile(thumbnailPath('rocket', thumbDir))).equals(expected)).toBe(true);
  });

  it('can stop early (a pause) without leaking work', async () => {
    const ip = await IndexPipeline.open({ ...TINY, provider: 'cpu', thumbDir: path.join(tmp, 'thumbs-stop') });
    try {
      const items = (await fs.readdir(inputs)).filter((f) => f.endsWith('.png')).map((f, i) => ({ file: path.join(inputs, f), hash: `s${i}` }));
      let n = 0;
      for await (const r of ip.encode(items)) {
        expect(r.ok).toBe(true);
        if (++n === 2) break;
      }
      // Usable again afterwards.
      let m = 0;
      for await (const r of ip.encode(items.slice(0, 3))) if (r.ok && r.info) m++;
      expect(m).toBe(3);
    } finally {
      await ip.close();
    }
  });
});
