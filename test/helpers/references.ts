import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNpy } from '../../main/engine/formats/npy.js';

/** The project root: fixture paths in the manifest are relative to it. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface SaeRefFiles { idx?: string; val?: string; latent?: string; recon: string; metrics: string; input_layer: number }
export interface PhotoRefFiles {
  pixels: string;
  embedding: string;
  resid: Record<string, string>;
  saes: Record<string, SaeRefFiles>;
}
export interface SaeEntry { dir: string; file: string; format: string; architecture: string; layer: number; model: string; d_in: number; F: number; k: number | null }
export interface ModelEntry { dir: string; references: string; layers: number; tokens: number; width: number; projection: number | null; weights: string }
export interface Manifest {
  models: Record<string, ModelEntry>;
  saes: Record<string, SaeEntry>;
  photos: { path: string; stem: string }[];
  references: { files: Record<string, Record<string, PhotoRefFiles>> };
}

export const manifest: Manifest = JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/references/manifest.json'), 'utf8')) as Manifest;

export const fixture = (rel: string): string => path.join(ROOT, rel);

export async function npyFloat(rel: string): Promise<Float32Array> {
  const a = await readNpy(fixture(rel));
  if (!(a.data instanceof Float32Array)) throw new Error(`${rel} is not float32`);
  return a.data;
}

export async function npyIndices(rel: string): Promise<Int32Array> {
  const a = await readNpy(fixture(rel));
  if (!(a.data instanceof BigInt64Array)) throw new Error(`${rel} is not int64`);
  return Int32Array.from(a.data, (v) => Number(v));
}

/** max |a - b| / max |b|: one number that is small only when every element agrees. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

/** Share of tokens whose k-sets of indices are identical (order-free). */
export function sameSetShare(a: Int32Array, b: Int32Array, k: number): number {
  const n = a.length / k;
  let same = 0;
  for (let t = 0; t < n; t++) {
    const sa = new Set(a.subarray(t * k, (t + 1) * k));
    if (Array.from(b.subarray(t * k, (t + 1) * k)).every((v) => sa.has(v))) same++;
  }
  return same / n;
}

export const TEST_CACHE = path.join(ROOT, 'node_modules/.cache/clipscope-test');
