/**
 * Photos for the UI, by library image id only (the page never names a path): the cached
 * thumbnail (made again on demand when the cache lost it), or the full photo decoded and
 * EXIF-oriented as JPEG (browsers show neither HEIC nor every TIFF).
 */
import fs from 'node:fs/promises';
import sharp from 'sharp';
import { UserFacingError, errorMessage } from '../engine/errors.js';
import { loadImageRgb } from '../engine/imaging/decode.js';
import { thumbnailDir, thumbnailFromFile, thumbnailPath } from '../engine/library/thumbnails.js';
import type { Library } from '../engine/store/library.js';

export type MediaKind = 'thumb' | 'photo';

export interface MediaFile {
  bytes: Uint8Array;
  contentType: string;
  /** Changes when the photo's content does (its content hash). */
  etag: string;
}

const FULL_JPEG_QUALITY = 90;

export async function mediaFile(lib: Library, kind: MediaKind, imageId: number, thumbs: string = thumbnailDir()): Promise<MediaFile> {
  const image = lib.imageById(imageId);
  if (!image) throw new UserFacingError(`image #${imageId} is not in the library ${lib.file}`);
  if (kind === 'thumb') {
    const file = thumbnailPath(image.hash, thumbs);
    const cached = await fs.readFile(file).catch(() => null);
    if (cached) return { bytes: cached, contentType: 'image/jpeg', etag: `t-${image.hash}` };
    const made = await thumbnailFromFile(image.path, image.hash, thumbs);
    if (made.thumbnail === 'failed') throw new UserFacingError(`${image.path}: no thumbnail: ${made.thumbnailError ?? 'unreadable'}`);
    return { bytes: await fs.readFile(file), contentType: 'image/jpeg', etag: `t-${image.hash}` };
  }
  try {
    const rgb = await loadImageRgb(image.path);
    const bytes = await sharp(rgb.data, { raw: { width: rgb.width, height: rgb.height, channels: 3 } })
      .jpeg({ quality: FULL_JPEG_QUALITY })
      .toBuffer();
    return { bytes, contentType: 'image/jpeg', etag: `p-${image.hash}` };
  } catch (e) {
    if (e instanceof UserFacingError) throw e;
    throw new UserFacingError(`${image.path}: ${errorMessage(e)}`);
  }
}
