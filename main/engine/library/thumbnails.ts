/**
 * Thumbnails and the little metadata a library row keeps (display size, capture date). While
 * indexing they come from the image the encoder decoded anyway (the decode worker hands the
 * model's resized view to a low-priority thumbnail process, thumbnail-process.ts);
 * describeAndThumbnail makes them for a single file on demand (a header read and a reduced
 * decode). Thumbnails live in the per-user cache folder, keyed by content hash:
 * `cacheDir()/thumbs/<hash>.jpg`, never beside the photos.
 *
 * A thumbnail is the photo scaled so its shorter side is 224 px (never enlarged; the longer side
 * at most 448 px): for CLIP's processor that is exactly the image the model's centre crop is
 * cut from, so the indexer encodes it as it is (no second resize), and the 16 x 16 token grid
 * lies exactly on the thumbnail's centre square.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { Metadata, Sharp } from 'sharp';
import exifr from 'exifr';
import { cacheDir } from '../runtime/paths.js';
import { loadImageRgb, MAX_IMAGE_PIXELS, orientationFromXmp, type RgbImage } from '../imaging/decode.js';
import { errorMessage } from '../errors.js';

/** The thumbnail's shorter side (px) and the cap on its longer side. */
export const THUMB_SHORT = 224;
export const THUMB_LONG = 448;
export const THUMB_EXT = '.jpg';

export function thumbnailDir(base: string = cacheDir()): string {
  return path.join(base, 'thumbs');
}

/** Where the thumbnail of content `hash` lives (it may not exist yet). */
export function thumbnailPath(hash: string, dir: string = thumbnailDir()): string {
  return path.join(dir, `${hash}${THUMB_EXT}`);
}

/**
 * [width, height] of the thumbnail of a width x height photo. The longer side follows
 * transformers' get_resize_output_image_size (int(224 * long / short)), so for a CLIP processor
 * with shortest_edge 224 the thumbnail has the size of its resized image.
 */
export function thumbnailSize(width: number, height: number): [number, number] {
  const portrait = width <= height;
  const short = portrait ? width : height;
  const long = portrait ? height : width;
  let s: number;
  let l: number;
  if (short <= THUMB_SHORT && long <= THUMB_LONG) [s, l] = [short, long];
  else if (long * THUMB_SHORT <= THUMB_LONG * short) [s, l] = [THUMB_SHORT, Math.trunc((THUMB_SHORT * long) / short)];
  else [s, l] = [Math.max(1, Math.round((THUMB_LONG * short) / long)), THUMB_LONG];
  return portrait ? [s, l] : [l, s];
}

/** What a library row keeps of a photo besides its file facts. */
export interface PhotoInfo {
  /** Displayed size (after EXIF orientation); null when the header cannot be read. */
  readonly width: number | null;
  readonly height: number | null;
  /** EXIF DateTimeOriginal (else CreateDate) as wall-clock time encoded as UTC milliseconds. */
  readonly capturedAt: number | null;
}

export interface ThumbnailResult {
  readonly thumbnail: 'written' | 'exists' | 'failed';
  readonly thumbnailError?: string;
}

export type MediaInfo = PhotoInfo & ThumbnailResult;

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
    return await captureDateFromExif((await sharp(bytes, { limitInputPixels: false }).metadata()).exif);
  } catch {
    return null;
  }
}

/** Capture date from a raw EXIF block as libvips reports it (JPEG's with its "Exif" preamble). */
export async function captureDateFromExif(exif: Buffer | null | undefined): Promise<number | null> {
  if (!exif || exif.length < 8) return null;
  // libvips keeps JPEG's "Exif\0\0" preamble; other formats give the bare TIFF structure.
  const tiff = exif.subarray(0, 6).toString('latin1') === 'Exif\0\0' ? exif.subarray(6) : exif;
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

// JPEG at quality 80 without Huffman optimisation (30% less CPU for 3% more bytes), from pixels
// already at the thumbnail's size: ~1.4 ms of CPU per photo here, against ~5 ms for the earlier
// WebP (effort 0) resized from the decoded photo; thumbnails are made for every photo. Mitchell
// where a resize is still needed (~1.5 ms less than lanczos3).
export const THUMB_JPEG = { quality: 80, optimiseCoding: false } as const;
const KERNEL = 'mitchell' as const;

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(() => true, () => false);
}

/**
 * The photo at thumbnail size: `view` (the processor's resized image) when it has that size, the
 * photo itself when it is that small, else a resize of the photo.
 */
export async function thumbnailPixels(rgb: RgbImage, view: RgbImage | null): Promise<RgbImage> {
  const [w, h] = thumbnailSize(rgb.width, rgb.height);
  if (view && view.width === w && view.height === h) return view;
  if (rgb.width === w && rgb.height === h) return rgb;
  const { data, info } = await atThumbnailSize(rgb).raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

/** A sharp pipeline over `rgb`, resized to thumbnailSize unless it has that size already. */
function atThumbnailSize(rgb: RgbImage): Sharp {
  const [w, h] = thumbnailSize(rgb.width, rgb.height);
  const img = sharp(rgb.data, { raw: { width: rgb.width, height: rgb.height, channels: 3 } });
  return w === rgb.width && h === rgb.height ? img : img.resize(w, h, { fit: 'fill', kernel: KERNEL });
}

const madeDirs = new Set<string>();

async function ensureDir(dir: string): Promise<void> {
  if (madeDirs.has(dir)) return;
  await fs.mkdir(dir, { recursive: true });
  madeDirs.add(dir);
}

/**
 * The thumbnail of content `hash` from pixels already decoded (EXIF orientation applied), unless
 * it exists. Pixels already at thumbnailSize (the model's resized view) are encoded as they are.
 * Never throws: 'failed' carries the reason.
 */
export async function thumbnailFromRgb(rgb: RgbImage, hash: string, dir: string = thumbnailDir()): Promise<ThumbnailResult> {
  const out = thumbnailPath(hash, dir);
  try {
    if (await exists(out)) return { thumbnail: 'exists' };
    await ensureDir(dir);
    const jpeg = await atThumbnailSize(rgb).jpeg(THUMB_JPEG).toBuffer();
    await writeAtomically(out, (tmp) => fs.writeFile(tmp, jpeg));
    return { thumbnail: 'written' };
  } catch (e) {
    madeDirs.delete(dir); // the folder may have been removed meanwhile
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
  const capturedAt = meta ? await captureDateFromExif(meta.exif) : null;
  const out = thumbnailPath(hash, dir);
  if (await exists(out)) return { ...size, capturedAt, thumbnail: 'exists' };
  try {
    await ensureDir(dir);
    const fast = meta !== null && meta.format !== 'heif' && size.width !== null && size.height !== null
      && size.width * size.height <= MAX_IMAGE_PIXELS
      && (meta.orientation !== undefined || orientationFromXmp(meta.xmp) === undefined);
    if (fast) {
      // Shrink-on-load: JPEGs decode at 1/2..1/8 scale, so this costs a fraction of a full decode.
      const [w, h] = thumbnailSize(size.width!, size.height!);
      // Alpha dropped, not composited: the stored colours, as the model sees them (decode.ts).
      await writeAtomically(out, (tmp) =>
        sharp(file, { failOn: 'error', pages: 1, page: 0, limitInputPixels: MAX_IMAGE_PIXELS })
          .autoOrient().removeAlpha().resize(w, h, { fit: 'fill', kernel: KERNEL }).jpeg(THUMB_JPEG).toFile(tmp));
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

/** describeAndThumbnail for the thumbnail alone (restoring one the cache lost). Never throws. */
export async function thumbnailFromFile(file: string, hash: string, dir: string = thumbnailDir()): Promise<ThumbnailResult> {
  const { thumbnail, thumbnailError } = await describeAndThumbnail(file, hash, dir);
  return thumbnailError === undefined ? { thumbnail } : { thumbnail, thumbnailError };
}
