/**
 * Thumbnails and the little metadata a library row keeps (display size, capture date). While
 * indexing they come from the image the encoder decoded anyway (thumbnailFromRgb, called by the
 * decode worker); describeAndThumbnail makes them for a single file on demand (a header read and
 * a reduced decode). Thumbnails live in the per-user cache folder, keyed by content hash:
 * `cacheDir()/thumbs/<hash>.webp`, never beside the photos.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { Metadata } from 'sharp';
import exifr from 'exifr';
import { cacheDir } from '../runtime/paths.js';
import { loadImageRgb, MAX_IMAGE_PIXELS, orientationFromXmp, type RgbImage } from '../imaging/decode.js';
import { errorMessage } from '../errors.js';

export const THUMB_SIZE = 256;
export const THUMB_EXT = '.webp';

export function thumbnailDir(base: string = cacheDir()): string {
  return path.join(base, 'thumbs');
}

/** Where the thumbnail of content `hash` lives (it may not exist yet). */
export function thumbnailPath(hash: string, dir: string = thumbnailDir()): string {
  return path.join(dir, `${hash}${THUMB_EXT}`);
}

export interface MediaInfo {
  /** Displayed size (after EXIF orientation); null when the header cannot be read. */
  readonly width: number | null;
  readonly height: number | null;
  /** EXIF DateTimeOriginal (else CreateDate) as wall-clock time encoded as UTC milliseconds. */
  readonly capturedAt: number | null;
  readonly thumbnail: 'written' | 'exists' | 'failed';
  readonly thumbnailError?: string;
}

/**
 * EXIF dates carry no zone (OffsetTimeOriginal is rare and often wrong): the wall-clock time the
 * camera showed is kept, encoded as if it were UTC, so sorting and "taken on" displays agree
 * on every machine.
 */
export function parseExifDate(v: unknown): number | null {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.getTime();
  if (typeof v !== 'string') return null;
  const m = /^(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?/.exec(v.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => Number(x ?? 0)) as [number, number, number, number, number, number];
  if (y < 1800 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return null; // "0000:00:00 00:00:00"
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

/** Capture date from the photo's header (EXIF), read from bytes already in memory. */
export async function captureDateOf(bytes: Uint8Array): Promise<number | null> {
  try {
    return await captureDate(await sharp(bytes, { limitInputPixels: false }).metadata());
  } catch {
    return null;
  }
}

async function captureDate(meta: Metadata): Promise<number | null> {
  if (!meta.exif || meta.exif.length < 8) return null;
  // libvips keeps JPEG's "Exif\0\0" preamble; other formats give the bare TIFF structure.
  const tiff = meta.exif.subarray(0, 6).toString('latin1') === 'Exif\0\0' ? meta.exif.subarray(6) : meta.exif;
  try {
    const tags = (await exifr.parse(tiff, { pick: ['DateTimeOriginal', 'CreateDate'], reviveValues: false })) as Record<string, unknown> | undefined;
    return parseExifDate(tags?.['DateTimeOriginal']) ?? parseExifDate(tags?.['CreateDate']);
  } catch {
    return null; // corrupt EXIF is no reason to fail a photo
  }
}

function displaySize(meta: Metadata): { width: number | null; height: number | null } {
  if (!meta.width || !meta.height) return { width: null, height: null };
  const o = meta.orientation ?? (meta.format === 'heif' ? undefined : orientationFromXmp(meta.xmp));
  const swap = meta.format !== 'heif' && o !== undefined && o >= 5 && o <= 8;
  return swap ? { width: meta.height, height: meta.width } : { width: meta.width, height: meta.height };
}

let tmpCounter = 0;

/** Writes via a temporary file and a rename: a crash never leaves half a thumbnail. */
async function writeAtomically(out: string, render: (tmp: string) => Promise<unknown>): Promise<void> {
  const tmp = `${out}.${process.pid}-${tmpCounter++}.tmp`;
  try {
    await render(tmp);
    await fs.rename(tmp, out);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

// Mitchell and WebP effort 0: measured here at about 3 ms of CPU per photo from decoded pixels,
// against 4.3 ms with libvips' defaults (lanczos3, effort 4 costs twice that), for files ~15%
// larger (~9 KB): thumbnails are made for every photo, so the indexer's throughput comes first.
const resizeOpts = { width: THUMB_SIZE, height: THUMB_SIZE, fit: 'inside', withoutEnlargement: true, kernel: 'mitchell' } as const;
const WEBP = { quality: 80, effort: 0 } as const;

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(() => true, () => false);
}

/**
 * The thumbnail of content `hash` from pixels already decoded (the indexer's single decode, EXIF
 * orientation applied), unless it exists. Never throws: 'failed' carries the reason.
 */
export async function thumbnailFromRgb(rgb: RgbImage, hash: string, dir: string = thumbnailDir()): Promise<Pick<MediaInfo, 'thumbnail' | 'thumbnailError'>> {
  const out = thumbnailPath(hash, dir);
  try {
    if (await exists(out)) return { thumbnail: 'exists' };
    await fs.mkdir(dir, { recursive: true });
    await writeAtomically(out, (tmp) =>
      sharp(rgb.data, { raw: { width: rgb.width, height: rgb.height, channels: 3 } }).resize(resizeOpts).webp(WEBP).toFile(tmp));
    return { thumbnail: 'written' };
  } catch (e) {
    return { thumbnail: 'failed', thumbnailError: errorMessage(e) };
  }
}

/**
 * Display size, capture date and (unless it exists already) the thumbnail of one photo. Never
 * throws for a bad photo: what cannot be read comes back as nulls / 'failed'.
 */
export async function describeAndThumbnail(file: string, hash: string, dir: string = thumbnailDir()): Promise<MediaInfo> {
  let meta: Metadata | null = null;
  try {
    meta = await sharp(file, { limitInputPixels: false }).metadata();
  } catch {
    meta = null; // HEIC without a libvips decoder, unknown formats: the slow path below decides
  }
  const size = meta ? displaySize(meta) : { width: null, height: null };
  const capturedAt = meta ? await captureDate(meta) : null;
  const out = thumbnailPath(hash, dir);
  if (await exists(out)) return { ...size, capturedAt, thumbnail: 'exists' };
  try {
    await fs.mkdir(dir, { recursive: true });
    const fast = meta !== null && meta.format !== 'heif' && (meta.width ?? 0) * (meta.height ?? 0) <= MAX_IMAGE_PIXELS
      && (meta.orientation !== undefined || orientationFromXmp(meta.xmp) === undefined);
    if (fast) {
      // Shrink-on-load: JPEGs decode at 1/2..1/8 scale, so this costs a fraction of a full decode.
      await writeAtomically(out, (tmp) =>
        sharp(file, { failOn: 'error', pages: 1, page: 0, limitInputPixels: MAX_IMAGE_PIXELS })
          .autoOrient().resize(resizeOpts).webp(WEBP).toFile(tmp));
    } else {
      // HEIC (no HEVC in libvips), XMP-only orientation: the engine's own decoder.
      const rgb = await loadImageRgb(file);
      const t = await thumbnailFromRgb(rgb, hash, dir);
      if (t.thumbnail === 'failed') throw new Error(t.thumbnailError);
      if (size.width === null) return { width: rgb.width, height: rgb.height, capturedAt, thumbnail: 'written' };
    }
    return { ...size, capturedAt, thumbnail: 'written' };
  } catch (e) {
    return { ...size, capturedAt, thumbnail: 'failed', thumbnailError: errorMessage(e) };
  }
}
