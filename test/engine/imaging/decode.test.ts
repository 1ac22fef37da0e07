import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { crc32, deflateSync } from 'node:zlib';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ImageError } from '../../../main/engine/errors.js';
import { applyOrientation, loadImageRgb, orientationFromXmp, sniffHeif } from '../../../main/engine/imaging/decode.js';
import { diffStats, fixturePath, fmt, manifest, readPngRgb } from './fixtures.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'clipscope-decode-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function expectImageError(file: string, reason: RegExp): Promise<ImageError> {
  const err = await loadImageRgb(file).then(
    () => { throw new Error(`${file} decoded without error`); },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImageError);
  const ie = err as ImageError;
  expect(ie.file).toBe(file);
  expect(ie.message.startsWith(`${file}: `)).toBe(true);
  expect(ie.reason).toMatch(reason);
  return ie;
}

describe('decode parity with PIL load_image (exif_transpose + convert("RGB"))', () => {
  const withDecoded = manifest.cases.filter((c) => c.decoded);

  it.each(withDecoded.map((c) => [c.id, c] as const))('%s', async (_id, c) => {
    const ref = await readPngRgb(fixturePath(c.decoded!));
    const got = await loadImageRgb(fixturePath(c.input));
    expect([got.height, got.width]).toEqual([ref.height, ref.width]);
    const s = diffStats(got.data, ref.data);
    console.log(`decode ${c.id}: ${fmt(s)}`);
    // Identical pixels: same libjpeg-turbo/libpng/libwebp arithmetic, same conversions.
    expect(s.max).toBe(0);
  });

  it('every EXIF orientation (1..8) gives the upright picture', async () => {
    const upright = await loadImageRgb(fixturePath('inputs/orient-1.jpg'));
    for (let o = 1; o <= 8; o++) {
      const img = await loadImageRgb(fixturePath(`inputs/orient-${o}.jpg`));
      expect([img.width, img.height]).toEqual([upright.width, upright.height]);
      const s = diffStats(img.data, upright.data);
      console.log(`orientation ${o} vs 1 (JPEG re-encoding noise only): ${fmt(s)}`);
      expect(s.mean).toBeLessThan(3);
    }
  });
});

describe('HEIF', () => {
  it('sniffs ftyp brands', () => {
    const box = (major: string, ...compat: string[]) => {
      const brands = [major, '\0\0\0\0', ...compat].join('');
      const b = Buffer.alloc(8 + brands.length);
      b.writeUInt32BE(b.length, 0);
      b.write('ftyp', 4, 'latin1');
      b.write(brands, 8, 'latin1');
      return b;
    };
    expect(sniffHeif(box('heic', 'mif1', 'heic'))).toBe('hevc');
    expect(sniffHeif(box('mif1', 'mif1', 'heic'))).toBe('hevc');
    expect(sniffHeif(box('avif', 'mif1', 'avif'))).toBe('av1');
    expect(sniffHeif(box('mif1', 'mif1'))).toBe('other');
    expect(sniffHeif(Buffer.from('not an image at all'))).toBeUndefined();
  });

  const heif = manifest.cases.filter((c) => c.libheif_reference);
  it.each(heif.map((c) => [c.id, c] as const))('%s decodes like libheif (heif-convert)', async (_id, c) => {
    const ref = await readPngRgb(fixturePath(c.libheif_reference!));
    const got = await loadImageRgb(fixturePath(c.input));
    expect([got.height, got.width]).toEqual([ref.height, ref.width]);
    const s = diffStats(got.data, ref.data);
    console.log(`decode ${c.id} vs libheif 1.15 heif-convert: ${fmt(s)}`);
    // Different libheif builds may round YCbCr -> RGB differently; the picture is the same.
    expect(s.mean).toBeLessThan(1);
    expect(s.max).toBeLessThanOrEqual(4);
  });
  if (heif.length === 0) it.skip('no HEIC/AVIF fixtures (generated only where libheif tools exist)', () => {});
});

describe('orientation helpers', () => {
  it('reads tiff:Orientation from XMP like Pillow (attribute or element)', () => {
    expect(orientationFromXmp(Buffer.from('<x tiff:Orientation="6"/>'))).toBe(6);
    expect(orientationFromXmp(Buffer.from('<tiff:Orientation>3</tiff:Orientation>'))).toBe(3);
    expect(orientationFromXmp(Buffer.from('<tiff:Orientation>1</tiff:Orientation>'))).toBeUndefined();
    expect(orientationFromXmp(undefined)).toBeUndefined();
  });

  it('applyOrientation matches sharp/libvips EXIF auto-orientation for 2..8', async () => {
    const sharp = (await import('sharp')).default;
    // A 3x2 image with distinct pixels.
    const w = 3, h = 2;
    const data = new Uint8Array(w * h * 3).map((_, i) => i * 10);
    for (let o = 2; o <= 8; o++) {
      const tiff = await sharp(data, { raw: { width: w, height: h, channels: 3 } })
        .withMetadata({ orientation: o })
        .tiff()
        .toBuffer();
      expect((await sharp(tiff).metadata()).orientation).toBe(o);
      const { data: ref, info } = await sharp(tiff).autoOrient().raw().toBuffer({ resolveWithObject: true });
      const stored = await sharp(tiff).raw().toBuffer();
      const mine = applyOrientation({ data: new Uint8Array(stored), width: w, height: h }, o);
      expect([mine.width, mine.height]).toEqual([info.width, info.height]);
      expect(Array.from(mine.data)).toEqual(Array.from(ref));
    }
  });
});

describe('broken and unsupported files give ImageError naming the file', () => {
  it('zero-byte file', async () => {
    const f = path.join(tmp, 'empty.jpg');
    writeFileSync(f, '');
    await expectImageError(f, /unsupported or unrecognised image format/);
  });

  it('text file named .jpg', async () => {
    const f = path.join(tmp, 'notes.jpg');
    writeFileSync(f, 'Dear diary, today I photographed a cat.\n'.repeat(20));
    await expectImageError(f, /unsupported or unrecognised image format/);
  });

  it('BMP (not decodable by sharp)', async () => {
    await expectImageError(fixturePath('inputs/tiny.bmp'), /unsupported or unrecognised image format/);
  });

  it('SVG is refused (PIL cannot open it either)', async () => {
    const f = path.join(tmp, 'drawing.svg');
    writeFileSync(f, '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
    await expectImageError(f, /unsupported or unrecognised image format/);
  });

  it.each([
    ['JPEG', 'photos/rocket.jpg', 0.5],
    ['JPEG cut after its headers', 'photos/rocket.jpg', 0.02],
    ['PNG', 'photos/chelsea.png', 0.5],
    ['WebP', 'imaging/inputs/anim.webp', 0.5],
    ['GIF', 'imaging/inputs/anim.gif', 0.3],
    ['TIFF', 'imaging/inputs/rgb.tif', 0.5],
    ['HEIC', 'imaging/inputs/chelsea.heic', 0.5],
  ])('truncated %s', async (_what, rel, keep) => {
    const src = path.join(fixturePath('..'), rel);
    const f = path.join(tmp, `cut-${path.basename(rel)}`);
    copyFileSync(src, f);
    truncateSync(f, Math.floor(statSync(src).size * keep));
    await expectImageError(f, /truncated or corrupt image data|unsupported or unrecognised image format/);
  });

  it('truncated JPEG says "truncated or corrupt image data", not grey pixels', async () => {
    const f = path.join(tmp, 'half.jpg');
    copyFileSync(fixturePath('../photos/rocket.jpg'), f);
    truncateSync(f, Math.floor(statSync(f).size / 2));
    await expectImageError(f, /^truncated or corrupt image data/);
  });

  it('refuses decompression bombs before decoding (PIL: more than 2 x 89,478,485 pixels)', async () => {
    // A small PNG that declares 20000 x 20000 pixels.
    const chunk = (tag: string, data: Buffer) => {
      const head = Buffer.alloc(4);
      head.writeUInt32BE(data.length);
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(tag), data])) >>> 0);
      return Buffer.concat([head, Buffer.from(tag), data, crc]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(20000, 0);
    ihdr.writeUInt32BE(20000, 4);
    ihdr.set([8, 2, 0, 0, 0], 8);
    const f = path.join(tmp, 'bomb.png');
    writeFileSync(f, Buffer.concat([
      Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'),
      chunk('IHDR', ihdr),
      chunk('IDAT', deflateSync(Buffer.alloc(1000))),
      chunk('IEND', Buffer.alloc(0)),
    ]));
    await expectImageError(f, /image too large \(20000 x 20000 pixels/);
  });

  it('missing file, directory, symlink loop', async () => {
    await expectImageError(path.join(tmp, 'nope.jpg'), /file not found/);
    await expectImageError(tmp, /directory/);
    const loop = path.join(tmp, 'loop.jpg');
    symlinkSync(loop, loop);
    await expectImageError(loop, /symbolic link loop|cannot read/);
  });
});

describe('reading is read-only', () => {
  it('leaves bytes and mtime unchanged, also for names with spaces and unicode', async () => {
    const f = path.join(tmp, 'Ünïcødé name (1).JPG');
    copyFileSync(fixturePath('inputs/orient-6.jpg'), f);
    const before = readFileSync(f);
    const st = statSync(f);
    await loadImageRgb(f);
    await loadImageRgb(f);
    const after = statSync(f);
    expect(readFileSync(f).equals(before)).toBe(true);
    expect(after.mtimeMs).toBe(st.mtimeMs);
    expect(after.size).toBe(st.size);
  });
});
