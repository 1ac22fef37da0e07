/**
 * Image decoding with the semantics of transformers' `load_image`:
 *
 *     image = PIL.Image.open(path)
 *     image = PIL.ImageOps.exif_transpose(image)
 *     image = image.convert("RGB")
 *
 * done with sharp (libvips) and, for HEIC, `heic-decode` (libheif compiled to wasm), and shown to
 * give PIL's pixels on the formats a photo library holds (test/engine/imaging/decode.test.ts).
 * Where PIL's behaviour is a defect we deliberately differ, and say so below.
 *
 * PIL parity points:
 * - EXIF orientation (2..8) is applied once, as `exif_transpose` does. When EXIF carries no
 *   Orientation tag, Pillow falls back to `tiff:Orientation` in the XMP packet; so do we.
 *   HEIF/AVIF/HEIC pixels come already rotated from libheif (irot/imir): not rotated again.
 * - Alpha is DROPPED, not composited: `convert("RGB")` keeps the stored colour of fully or partly
 *   transparent pixels. sharp's raw output is not premultiplied, so taking bands 0..2 is exact.
 * - Palette images (PNG with tRNS, GIF) give the palette colour, transparent or not (for GIF,
 *   libvips clears the transparent colour: restored from the GIF's palette).
 * - Greyscale (and grey + alpha) is replicated to three channels.
 * - CMYK: no colour management; Pillow's `cmyk2rgb` arithmetic on the stored (Adobe-inverted
 *   already undone) CMYK values: `nk = 255 - k; r = nk - round(c * nk / 255)`.
 * - Embedded ICC profiles are ignored (PIL's `convert` ignores them), so Adobe RGB / Display P3
 *   photos give the stored values, as in Python.
 * - Animated GIF / WebP and multi-page TIFF: the first frame / page.
 * - More than 2 * 89,478,485 pixels is refused, like PIL's DecompressionBombError.
 *
 * Deliberate differences from PIL:
 * - 16-bit greyscale (PNG mode "I" / "I;16"): Pillow clips every value above 255 to white (its
 *   `I -> RGB` / `I16_RGB` conversion), which turns nearly every 16-bit grey photo white. We take
 *   the high byte (v >> 8), the same rule Pillow itself applies to 16-bit RGB(A) PNGs.
 * - HEIC has no decoder in stock Pillow (it needs the pillow-heif plugin); we decode it.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { Metadata, OutputInfo, SharpOptions } from 'sharp';
import { ImageError } from '../errors.js';

/** 8-bit RGB pixels, row-major, interleaved (HWC), `data.length === width * height * 3`. */
export interface RgbImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** PIL raises DecompressionBombError above twice `Image.MAX_IMAGE_PIXELS` (89,478,485). */
export const MAX_IMAGE_PIXELS = 2 * 89_478_485;

export const UNSUPPORTED = 'unsupported or unrecognised image format';
export const CORRUPT = 'truncated or corrupt image data';

/** Formats PIL opens that sharp's prebuilt libvips decodes too. SVG/PDF etc. are refused. */
const SUPPORTED_FORMATS: ReadonlySet<string> = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif']);

/**
 * Reads `file` (opened read-only; never written, renamed or locked) and decodes it to RGB.
 * Throws ImageError naming the file when it cannot be read or decoded.
 */
export async function loadImageRgb(file: string): Promise<RgbImage> {
  return decodeImageRgb(await readImageBytes(file), file);
}

/** The whole file, opened read-only; an ImageError naming the file says why it cannot be read. */
export async function readImageBytes(file: string): Promise<Buffer> {
  try {
    return await readFile(file, { flag: 'r' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'file not found'
      : code === 'EACCES' || code === 'EPERM' ? 'permission denied'
      : code === 'EISDIR' ? 'is a directory, not an image'
      : code === 'ELOOP' ? 'symbolic link loop'
      : `cannot read file (${code ?? String(err)})`;
    throw new ImageError(file, why);
  }
}

/** As loadImageRgb, for bytes already read (e.g. while hashing). `file` names it in errors. */
export async function decodeImageRgb(bytes: Uint8Array, file: string): Promise<RgbImage> {
  return (await decodeImage(bytes, file)).rgb;
}

export interface DecodedImage {
  readonly rgb: RgbImage;
  /** The raw EXIF block from the header decodeImageRgb reads anyway (null: none; undefined: not read). */
  readonly exif: Buffer | null | undefined;
}

/** decodeImageRgb, also handing back the EXIF block, so a caller needs no second header read. */
export async function decodeImage(bytes: Uint8Array, file: string): Promise<DecodedImage> {
  if (bytes.length === 0) throw new ImageError(file, `${UNSUPPORTED} (empty file)`);
  const heifKind = sniffHeif(bytes);

  let meta: Metadata;
  try {
    // Header only; the pixel limit is checked below with a clearer message.
    meta = await sharp(bytes, { ...sharpOptions(), limitInputPixels: false }).metadata();
  } catch (err) {
    // libvips' HEIF loader may refuse a file whose codec it lacks; libheif (wasm) may not.
    if (heifKind === 'hevc') return { rgb: await decodeHeic(bytes, file), exif: undefined };
    throw new ImageError(file, `${UNSUPPORTED}${detail(err)}`);
  }
  if (!SUPPORTED_FORMATS.has(meta.format)) {
    throw new ImageError(file, `${UNSUPPORTED} (${meta.format})`);
  }
  if (meta.width * meta.height > MAX_IMAGE_PIXELS) {
    throw new ImageError(
      file,
      `image too large (${meta.width} x ${meta.height} pixels; the limit is ${MAX_IMAGE_PIXELS}, as in PIL)`,
    );
  }
  if (meta.format === 'heif' && (meta.compression === 'hevc' || heifKind === 'hevc')) {
    // The prebuilt libvips has no HEVC decoder.
    return { rgb: await decodeHeic(bytes, file), exif: meta.exif ?? null };
  }

  const isHeif = meta.format === 'heif';
  const exifOrientation = meta.orientation;
  // exif_transpose: EXIF Orientation first; only without one, Pillow reads XMP tiff:Orientation.
  const xmpOrientation = !isHeif && exifOrientation === undefined ? orientationFromXmp(meta.xmp) : undefined;

  let pipeline = sharp(bytes, sharpOptions());
  // sharp's autoOrient applies EXIF orientation exactly like PIL's exif_transpose (2..8).
  if (!isHeif) pipeline = pipeline.autoOrient();
  const cmyk = meta.space === 'cmyk';
  if (cmyk) {
    // Keep the stored CMYK values (no ICC transform) and convert with Pillow's arithmetic.
    pipeline = pipeline.pipelineColourspace('cmyk').toColourspace('cmyk');
  }

  let raw: { data: Buffer; info: OutputInfo };
  try {
    raw = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new ImageError(file, `${CORRUPT}${detail(err)}`);
  }
  const { width, height, channels } = raw.info;
  const src = new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.length);
  if (src.length !== width * height * channels) {
    throw new ImageError(file, `${CORRUPT} (decoder returned ${src.length} bytes for ${width}x${height}x${channels})`);
  }
  if (meta.format === 'gif' && channels === 4) restoreGifTransparentColour(src, bytes);
  let img = cmyk ? cmykToRgb(src, width, height, channels) : toRgb(src, width, height, channels);
  if (xmpOrientation !== undefined) img = applyOrientation(img, xmpOrientation);
  return { rgb: img, exif: meta.exif ?? null };
}

function sharpOptions(): SharpOptions {
  return {
    // 'error' also fails on truncated data (libvips: fail_on >= TRUNCATED) but tolerates benign
    // libjpeg warnings such as "extraneous bytes before marker", which PIL tolerates too.
    failOn: 'error',
    ignoreIcc: true,
    limitInputPixels: MAX_IMAGE_PIXELS,
    pages: 1,
    page: 0,
  };
}

function detail(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const first = msg.split('\n').map((s) => s.trim()).find((s) => s.length > 0);
  return first ? ` (${first})` : '';
}

/** Pillow's cmyk2rgb: nk = 255 - k; out = CLIP8(nk - MULDIV255(c, nk)). No ICC. */
function cmykToRgb(src: Uint8Array, width: number, height: number, channels: number): RgbImage {
  if (channels < 4) throw new Error(`CMYK image with ${channels} channels`);
  const n = width * height;
  const out = new Uint8Array(n * 3);
  for (let i = 0, s = 0, o = 0; i < n; i++, s += channels, o += 3) {
    const nk = 255 - src[s + 3]!;
    out[o] = clip8(nk - muldiv255(src[s]!, nk));
    out[o + 1] = clip8(nk - muldiv255(src[s + 1]!, nk));
    out[o + 2] = clip8(nk - muldiv255(src[s + 2]!, nk));
  }
  return { data: out, width, height };
}

/** Pillow's MULDIV255(a, b): round(a * b / 255) with its integer trick. */
function muldiv255(a: number, b: number): number {
  const tmp = a * b + 128;
  return ((tmp >> 8) + tmp) >> 8;
}

function clip8(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** 1 (grey), 2 (grey + alpha), 3 (RGB), 4 (RGBA) channels to RGB, alpha dropped uncomposited. */
function toRgb(src: Uint8Array, width: number, height: number, channels: number): RgbImage {
  const n = width * height;
  if (channels === 3) return { data: src, width, height };
  const out = new Uint8Array(n * 3);
  if (channels === 1 || channels === 2) {
    for (let i = 0, s = 0, o = 0; i < n; i++, s += channels, o += 3) {
      const v = src[s]!;
      out[o] = v;
      out[o + 1] = v;
      out[o + 2] = v;
    }
  } else if (channels >= 4) {
    for (let i = 0, s = 0, o = 0; i < n; i++, s += channels, o += 3) {
      out[o] = src[s]!;
      out[o + 1] = src[s + 1]!;
      out[o + 2] = src[s + 2]!;
    }
  } else {
    throw new Error(`unexpected channel count ${channels}`);
  }
  return { data: out, width, height };
}

/**
 * PIL opens a GIF's first frame as mode "P"; convert("RGB") then gives the transparent index its
 * palette colour. libvips returns RGBA with those pixels' colour cleared, so put the palette
 * colour back (every alpha-0 pixel of a GIF is the transparent index).
 */
function restoreGifTransparentColour(rgba: Uint8Array, gif: Uint8Array): void {
  const colour = gifTransparentColour(gif);
  if (!colour) return;
  const [r, g, b] = colour;
  for (let i = 0; i < rgba.length; i += 4) {
    if (rgba[i + 3] === 0) {
      rgba[i] = r;
      rgba[i + 1] = g;
      rgba[i + 2] = b;
    }
  }
}

/** The RGB of the first frame's transparent colour index, from the GIF headers (no LZW). */
export function gifTransparentColour(gif: Uint8Array): [number, number, number] | undefined {
  if (gif.length < 13 || ascii(gif, 0, 3) !== 'GIF') return undefined;
  let p = 13;
  let globalTable: [number, number] | undefined;
  const screenFlags = gif[10]!;
  if (screenFlags & 0x80) {
    const n = 3 * (1 << ((screenFlags & 7) + 1));
    globalTable = [p, n];
    p += n;
  }
  let transparent: number | undefined;
  while (p < gif.length) {
    const block = gif[p]!;
    if (block === 0x21) {
      const label = gif[p + 1];
      p += 2;
      if (label === 0xf9 && gif[p] === 4 && p + 4 < gif.length) {
        // Graphic Control Extension: packed, delay (2), transparent index.
        if (gif[p + 1]! & 1) transparent = gif[p + 4];
      }
      // Skip the data sub-blocks.
      while (p < gif.length && gif[p] !== 0) p += gif[p]! + 1;
      p += 1;
    } else if (block === 0x2c) {
      if (transparent === undefined || p + 10 > gif.length) return undefined;
      const flags = gif[p + 9]!;
      const table: [number, number] | undefined =
        flags & 0x80 ? [p + 10, 3 * (1 << ((flags & 7) + 1))] : globalTable;
      if (!table || transparent * 3 + 2 >= table[1] || table[0] + table[1] > gif.length) return undefined;
      const at = table[0] + transparent * 3;
      return [gif[at]!, gif[at + 1]!, gif[at + 2]!];
    } else {
      return undefined;
    }
  }
  return undefined;
}

type HeifKind = 'hevc' | 'av1' | 'other' | undefined;

/** ISO-BMFF `ftyp` brands: which HEIF flavour this is, from the header alone. */
export function sniffHeif(bytes: Uint8Array): HeifKind {
  if (bytes.length < 16) return undefined;
  if (ascii(bytes, 4, 8) !== 'ftyp') return undefined;
  const size = Math.min(readU32BE(bytes, 0), bytes.length, 4096);
  const brands = [ascii(bytes, 8, 12)];
  for (let p = 16; p + 4 <= size; p += 4) brands.push(ascii(bytes, p, p + 4));
  const hevc = ['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'hevm', 'hevs'];
  if (brands.some((b) => b === 'avif' || b === 'avis')) return 'av1';
  if (brands.some((b) => hevc.includes(b))) return 'hevc';
  if (brands.some((b) => b === 'mif1' || b === 'msf1')) return 'other';
  return undefined;
}

function ascii(bytes: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

function readU32BE(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) >>> 0) + (bytes[at + 1]! << 16) + (bytes[at + 2]! << 8) + bytes[at + 3]!;
}

async function decodeHeic(bytes: Uint8Array, file: string): Promise<RgbImage> {
  let decoded: { width: number; height: number; data: Uint8ClampedArray };
  try {
    // Loaded on first use: the wasm bundle is large and most libraries hold no HEIC.
    const { default: decode } = await import('heic-decode');
    decoded = await decode({ buffer: bytes });
  } catch (err) {
    throw new ImageError(file, `${CORRUPT} (HEIC${detail(err).replace(/^ \(/, ': ').replace(/\)$/, '')})`);
  }
  const { width, height, data } = decoded;
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new ImageError(file, `image too large (${width} x ${height} pixels; the limit is ${MAX_IMAGE_PIXELS}, as in PIL)`);
  }
  if (data.length !== width * height * 4) {
    throw new ImageError(file, `${CORRUPT} (HEIC decoder returned ${data.length} bytes for ${width}x${height})`);
  }
  // libheif has applied irot/imir already: no EXIF rotation here.
  return toRgb(new Uint8Array(data.buffer, data.byteOffset, data.length), width, height, 4);
}

/** Pillow's XMP fallback in `Image.getexif()`: the first `tiff:Orientation(="|>)([0-9])`. */
export function orientationFromXmp(xmp: Uint8Array | undefined): number | undefined {
  if (!xmp || xmp.length === 0) return undefined;
  const text = Buffer.from(xmp.buffer, xmp.byteOffset, xmp.length).toString('latin1');
  const m = /tiff:Orientation(="|>)([0-9])/.exec(text);
  if (!m) return undefined;
  const o = Number(m[2]);
  return o >= 2 && o <= 8 ? o : undefined;
}

/**
 * PIL's `exif_transpose` transposition for orientation 2..8, on an RGB image:
 * 2 FLIP_LEFT_RIGHT, 3 ROTATE_180, 4 FLIP_TOP_BOTTOM, 5 TRANSPOSE, 6 ROTATE_270 (clockwise 90),
 * 7 TRANSVERSE, 8 ROTATE_90 (counter-clockwise 90).
 */
export function applyOrientation(img: RgbImage, orientation: number): RgbImage {
  if (orientation < 2 || orientation > 8) return img;
  const { width: w, height: h, data } = img;
  const swap = orientation >= 5;
  const ow = swap ? h : w;
  const oh = swap ? w : h;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      // Source pixel (sx, sy) for output pixel (x, y).
      let sx: number;
      let sy: number;
      switch (orientation) {
        case 2: sx = w - 1 - x; sy = y; break;
        case 3: sx = w - 1 - x; sy = h - 1 - y; break;
        case 4: sx = x; sy = h - 1 - y; break;
        case 5: sx = y; sy = x; break;
        case 6: sx = y; sy = h - 1 - x; break;
        case 7: sx = w - 1 - y; sy = h - 1 - x; break;
        default: sx = w - 1 - y; sy = x; break; // 8
      }
      const s = (sy * w + sx) * 3;
      const o = (y * ow + x) * 3;
      out[o] = data[s]!;
      out[o + 1] = data[s + 1]!;
      out[o + 2] = data[s + 2]!;
    }
  }
  return { data: out, width: ow, height: oh };
}
