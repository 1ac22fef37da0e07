// Shared helpers for the imaging tests: the fixture manifest written by
// scripts/fixtures/imaging.py, .npy(.gz) and lossless PNG readers, and difference statistics.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import type { RgbImage } from '../../../main/engine/imaging/decode.js';
import { parseProcessorConfig, type ImageProcessorConfig } from '../../../main/engine/imaging/processor-config.js';

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/imaging');

export interface CaseRefs {
  readonly pixel_values: string;
  readonly pixel_values_shape: [number, number, number];
  readonly resized_size: [number, number];
  readonly resized?: string;
}

export interface FixtureCase {
  readonly id: string;
  readonly input: string;
  readonly kind: string;
  readonly orientation?: number;
  readonly decoded?: string;
  readonly decoded_size?: [number, number];
  readonly libheif_reference?: string;
  readonly refs?: Readonly<Record<string, CaseRefs>>;
}

export interface ResizeCase {
  readonly in_size: [number, number];
  readonly out_size: [number, number];
  readonly resample: 2 | 3;
  readonly seed: number;
  readonly resized: string;
}

export interface Manifest {
  readonly pil: string;
  readonly configs: Readonly<Record<string, string>>;
  readonly cases: readonly FixtureCase[];
  readonly resize_cases: readonly ResizeCase[];
}

export const manifest: Manifest = JSON.parse(readFileSync(path.join(FIXTURES, 'manifest.json'), 'utf8')) as Manifest;

export function fixturePath(rel: string): string {
  return path.join(FIXTURES, rel);
}

export function config(name: string): ImageProcessorConfig {
  const file = fixturePath(manifest.configs[name]!);
  return parseProcessorConfig(JSON.parse(readFileSync(file, 'utf8')) as unknown, file);
}

export interface Npy {
  readonly dtype: string;
  readonly shape: number[];
  readonly data: Float32Array | Uint8Array;
}

/** A little-endian float32 or uint8 C-order .npy (optionally gzipped). */
export function readNpy(file: string): Npy {
  let buf = readFileSync(file);
  if (file.endsWith('.gz')) buf = gunzipSync(buf);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6]!;
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  if (fortran !== 'False') throw new Error(`${file}: Fortran order not supported`);
  const body = buf.subarray(start + headerLen);
  const copy = new Uint8Array(body.length);
  copy.set(body);
  if (descr === '<f4') return { dtype: 'float32', shape, data: new Float32Array(copy.buffer) };
  if (descr === '|u1') return { dtype: 'uint8', shape, data: copy };
  throw new Error(`${file}: dtype ${descr} not supported`);
}

/** A reference PNG written by PIL, read losslessly as 8-bit RGB. */
export async function readPngRgb(file: string): Promise<RgbImage> {
  const { data, info } = await sharp(file).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`${file}: expected RGB, got ${info.channels} channels`);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

export interface DiffStats {
  readonly max: number;
  readonly mean: number;
  /** Fraction of values that differ at all. */
  readonly differing: number;
}

/** Absolute differences, each scaled by `scale` (e.g. std * 255 to express floats in 8-bit levels). */
export function diffStats(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  scale: (i: number) => number = () => 1,
): DiffStats {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let max = 0;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!) * scale(i);
    if (d > 0) n++;
    sum += d;
    if (d > max) max = d;
  }
  return { max, mean: a.length ? sum / a.length : 0, differing: a.length ? n / a.length : 0 };
}

export function fmt(s: DiffStats): string {
  return `max ${s.max.toFixed(4)}, mean ${s.mean.toFixed(5)}, differing ${(100 * s.differing).toFixed(3)}%`;
}
