/**
 * bench:ui's library: bench:store's synthetic library (same generator, same latents) whose images
 * are real small JPEG files, so thumbnails are really decoded and drawn. A few hundred distinct
 * photos (generated with sharp) stand behind all the paths as hard links: 100k paths, a few MB.
 *
 * Built once and cached under bench/.work/ (gitignored): building 100k images takes ~20 min on
 * 2 cores. A build writes to a temporary name and is renamed only when complete.
 */
import { existsSync, linkSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { WORK } from './full-size.js';
import { buildSyntheticLibrary, photoPath } from './synthetic-library.js';

export const PHOTOS = path.join(WORK, 'ui-photos');
const DISTINCT = 300;
const DISTINCT_DIR = path.join(WORK, 'ui-photos-distinct');

export function uiLibraryFile(images: number): string {
  return path.join(WORK, `ui-library-${images}.sqlite`);
}

/** One of the distinct photos: soft colour fields and a few shapes, 640 x 480, ~20 KB. */
async function makePhoto(i: number, file: string): Promise<void> {
  const hue = (i * 137.5) % 360;
  const w = 640;
  const h = 480;
  const shapes = Array.from({ length: 4 }, (_, j) => {
    const x = ((i * 97 + j * 211) % w);
    const y = ((i * 53 + j * 149) % h);
    const r = 30 + ((i + j * 7) % 90);
    return `<circle cx="${x}" cy="${y}" r="${r}" fill="hsl(${(hue + 60 * j) % 360},60%,${35 + j * 10}%)" />`;
  }).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">
    <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="hsl(${hue},55%,70%)"/><stop offset="1" stop-color="hsl(${(hue + 90) % 360},45%,30%)"/></linearGradient></defs>
    <rect width="${w}" height="${h}" fill="url(#g)"/>${shapes}</svg>`;
  await sharp(Buffer.from(svg)).jpeg({ quality: 80 }).toFile(file);
}

/** The distinct photos, then one hard link per image path (both only where missing). */
export async function ensurePhotos(images: number, log: (msg: string) => void): Promise<void> {
  mkdirSync(DISTINCT_DIR, { recursive: true });
  for (let i = 0; i < DISTINCT; i++) {
    const f = path.join(DISTINCT_DIR, `photo-${i}.jpg`);
    if (!existsSync(f)) await makePhoto(i, f);
  }
  const last = photoPath(PHOTOS, images - 1);
  if (existsSync(last)) return;
  log(`  linking ${images} photo paths under ${path.relative(WORK, PHOTOS)}...`);
  for (let k = 0; k < images; k++) {
    const p = photoPath(PHOTOS, k);
    if (k % 3000 === 0 || k === images - 1) mkdirSync(path.dirname(p), { recursive: true });
    try {
      linkSync(path.join(DISTINCT_DIR, `photo-${k % DISTINCT}.jpg`), p);
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') {
        mkdirSync(path.dirname(p), { recursive: true });
        linkSync(path.join(DISTINCT_DIR, `photo-${k % DISTINCT}.jpg`), p);
      } else if ((e as { code?: string }).code !== 'EEXIST') throw e;
    }
  }
}

/** The cached library of `images` images (built when missing), with its photos. */
export async function ensureUiLibrary(images: number, log: (msg: string) => void): Promise<string> {
  const file = uiLibraryFile(images);
  await ensurePhotos(images, log);
  if (existsSync(file) && statSync(file).size > 0) {
    log(`library: ${path.relative(WORK, file)} (cached)`);
    return file;
  }
  const tmp = `${file}.building`;
  log(`building a ${images}-image library at ${path.relative(WORK, file)} (once; cached after)`);
  const r = buildSyntheticLibrary(tmp, { images, root: PHOTOS });
  for (const s of ['-wal', '-shm']) rmSync(tmp + s, { force: true });
  renameSync(tmp, file);
  log(`  built in ${r.seconds.toFixed(0)} s, ${r.distinctPerImage} distinct active features per image`);
  return file;
}
