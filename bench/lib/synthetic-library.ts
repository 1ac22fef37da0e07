/**
 * The synthetic 100k-image library of bench:store, shared by bench:store and bench:ui: the real
 * schema and writers, latents shaped like a ViT-L/14 CLIP-Scope SAE (257 tokens x k 32 of 65,536
 * features, 768-dim embeddings). See bench/store.ts for how the latents are drawn.
 *
 * One random sequence (`rand`) for generation and for the benches' picks, so that a bench that
 * builds and then measures draws exactly what it did when this lived inside bench/store.ts.
 */
import { rmSync } from 'node:fs';
import os from 'node:os';
import { connection } from '../../main/engine/store/connection.js';
import { Library, type EncodingConfigInput, type ResultInput } from '../../main/engine/store/library.js';
import { setLabel } from '../../main/engine/queries/labels.js';
import { viewLatents } from '../../main/engine/store/latents-blob.js';
import { deriveEntries } from '../../main/engine/store/entries.js';

export const F = 65_536;
export const T = 257;
export const K = 32;
const GRID = 16;
const DIM = 768;
export const BATCH = 256;

export const CONFIG: EncodingConfigInput = {
  modelDir: '/bench/clip-vit-l-14', modelFingerprint: 'bench:model', saePath: '/bench/22_resid/sae.pt', saeFingerprint: 'bench:sae',
  layer: 22, normalization: 'raw', tokens: T, width: 1024, nFeatures: F, k: K, embeddingDim: DIM,
};

// ------------------------------------------------------------------------------- random numbers

let seed = 0x9e3779b9;
export function rand(): number {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
function gauss(): number {
  return Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
}

// Feature ids in order of popularity (a random permutation); the first ones are position features.
const byRank = Int32Array.from({ length: F }, (_, i) => i);
for (let i = F - 1; i > 0; i--) {
  const j = Math.floor(rand() * (i + 1));
  [byRank[i], byRank[j]] = [byRank[j]!, byRank[i]!];
}
const POSITION = 52;
const DEAD = Math.round(F * 0.001);
const zipfRanks = F - POSITION - DEAD; // ranks drawn by Zipf: POSITION .. F - DEAD
const zipfCum = new Float64Array(zipfRanks);
{
  let acc = 0;
  for (let r = 0; r < zipfRanks; r++) zipfCum[r] = acc += 1 / (r + 1);
  for (let r = 0; r < zipfRanks; r++) zipfCum[r]! /= acc;
}
function zipf(): number {
  const u = rand();
  let lo = 0;
  let hi = zipfRanks - 1;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (zipfCum[m]! < u) lo = m + 1;
    else hi = m;
  }
  return byRank[POSITION + lo]!;
}
const posRow = (r: number) => byRank[r]!;
const posCol = (c: number) => byRank[16 + c]!;
const posBlock = (r: number, c: number) => byRank[32 + (r >> 2) * 4 + (c >> 2)]!;
const CLS_FEATURES = [byRank[48]!, byRank[49]!, byRank[50]!, byRank[51]!];

const CLUSTERS = 200;
const centers = Array.from({ length: CLUSTERS }, () => Float32Array.from({ length: DIM }, gauss));

const stamp = new Int32Array(F).fill(-1);
let rowSerial = 0;

export function syntheticImage(imageId: number): ResultInput {
  const concept = Array.from({ length: 48 }, zipf);
  const seeds = Array.from({ length: 12 }, () => [rand() * GRID, rand() * GRID] as const);
  const regionPools = seeds.map(() => Array.from({ length: 24 }, zipf));
  const offsets = new Uint32Array(T + 1);
  const idx = new Int32Array(T * K);
  const val = new Float32Array(T * K);
  const vals = new Float32Array(K);
  for (let t = 0; t < T; t++) {
    offsets[t + 1] = (t + 1) * K;
    const serial = rowSerial++;
    let n = 0;
    const row = idx.subarray(t * K, (t + 1) * K);
    const add = (f: number): void => {
      if (n < K && stamp[f] !== serial) {
        stamp[f] = serial;
        row[n++] = f;
      }
    };
    let pool: number[];
    if (t === 0) {
      for (const f of CLS_FEATURES) add(f);
      pool = concept;
    } else {
      const r = (t - 1) >> 4;
      const c = (t - 1) & 15;
      add(posRow(r));
      add(posCol(c));
      add(posBlock(r, c));
      let best = 0;
      let bestD = Infinity;
      seeds.forEach(([sr, sc], i) => {
        const d = (sr - r) ** 2 + (sc - c) ** 2;
        if (d < bestD) [best, bestD] = [i, d];
      });
      pool = regionPools[best]!;
    }
    for (let tries = 0; n < 16 && tries < 64; tries++) add(concept[Math.floor(rand() ** 2 * concept.length)]!);
    for (let tries = 0; n < 28 && tries < 64; tries++) add(pool[Math.floor(rand() * pool.length)]!);
    while (n < K) add(zipf());
    // Shuffle which feature gets which rank, then values largest first.
    for (let j = K - 1; j > 0; j--) {
      const i = Math.floor(rand() * (j + 1));
      [row[i], row[j]] = [row[j]!, row[i]!];
    }
    const base = 6 + rand() * 6;
    for (let j = 0; j < K; j++) vals[j] = base * Math.exp(-0.08 * j) * (0.8 + 0.4 * rand());
    vals.sort().reverse();
    if (rand() < 0.02) for (let j = K - 3; j < K; j++) vals[j] = rand() < 0.3 ? 0 : -rand() * 0.5;
    val.set(vals, t * K);
  }
  const sse = Float64Array.from({ length: T }, (_, t) => (t === 0 ? 2000 : 200) * (0.5 + rand()));
  let active = 0;
  for (let i = 0; i < val.length; i++) if (val[i]! > 0) active++;
  const center = centers[Math.floor(rand() * CLUSTERS)]!;
  const embedding = Float32Array.from({ length: DIM }, (_, d) => center[d]! + 0.7 * gauss());
  return {
    imageId,
    codes: { offsets, idx, val },
    embedding,
    metrics: { sse, mse: sse.reduce((a, b) => a + b, 0) / T, ev: 0.65 + 0.1 * rand(), positionMse: sse.map((s) => s / 1024), l0: active / T },
  };
}

// ------------------------------------------------------------------------------------- building

/** Where image k's photo lives (bench:store: under /photos, no file behind it). */
export function photoPath(root: string, k: number): string {
  return `${root}/${2000 + (k % 25)}/${String(k % 12 + 1).padStart(2, '0')}/IMG_${String(k).padStart(6, '0')}.jpg`;
}

export interface BuildOptions {
  /** Images to write. */
  images: number;
  /** The library's one folder; image paths are photoPath(root, k). */
  root?: string;
}

/**
 * Writes a fresh library at `file` (replacing one there): images written by Library.writeResults
 * in batches of BATCH (one transaction each, images inserted in the same one), then
 * refreshFeatureStats, then 2,000 labels (a few of them "cat") for text search.
 */
export function buildSyntheticLibrary(file: string, opts: BuildOptions): { seconds: number; distinctPerImage: number } {
  const N = opts.images;
  const root = opts.root ?? '/photos';
  for (const s of ['', '-wal', '-shm']) rmSync(file + s, { force: true });
  const lib = Library.open(file);
  const config = lib.ensureConfig(CONFIG);
  const folder = lib.addFolder(root);
  const t0 = performance.now();
  let last = t0;
  let distinct = 0;
  let genMs = 0;
  for (let b = 0; b < N; b += BATCH) {
    const n = Math.min(BATCH, N - b);
    lib.transaction(() => {
      const items: ResultInput[] = [];
      for (let i = 0; i < n; i++) {
        const k = b + i;
        const img = lib.insertImage({
          path: photoPath(root, k), folderId: folder.id,
          size: 2_000_000 + k, mtimeMs: 1.6e12 + k * 1000, hash: `hash-${k}`, width: 4032, height: 3024,
          capturedAt: k % 10 === 0 ? null : Date.UTC(2000 + (k % 25), k % 12, 1 + (k % 28)),
        });
        const g = performance.now();
        items.push(syntheticImage(img.id));
        genMs += performance.now() - g;
      }
      lib.writeResults(config.id, items);
    });
    if (b === 0) {
      const blob = connection(lib).db.prepare('SELECT codes FROM latents LIMIT 1').pluck().get() as Buffer;
      distinct = deriveEntries(viewLatents(blob)).pooled.feature.length;
    }
    const now = performance.now();
    if (now - last > 15_000 || b + n === N) {
      last = now;
      const done = b + n;
      const rate = done / ((now - t0) / 1000);
      process.stderr.write(`  built ${done} / ${N} images, ${rate.toFixed(0)} images/s (${(genMs / (now - t0) * 100).toFixed(0)}% generating latents), ETA ${((N - done) / rate).toFixed(0)} s, load ${os.loadavg()[0]!.toFixed(1)}\n`);
    }
  }
  process.stderr.write('  feature statistics...\n');
  const s0 = performance.now();
  lib.refreshFeatureStats(config.id);
  process.stderr.write(`  feature statistics: ${((performance.now() - s0) / 1000).toFixed(1)} s\n`);
  lib.transaction(() => {
    const words = ['sky', 'fur', 'cat', 'dog', 'water', 'text', 'face', 'grass', 'car', 'tree'];
    for (let i = 0; i < 2000; i++) setLabel(lib, config, byRank[POSITION + i * 7]!, { label: `${words[i % 10]} ${i}`, note: i % 3 ? '' : 'seen often' });
  });
  connection(lib).db.pragma('wal_checkpoint(TRUNCATE)');
  lib.close();
  return { seconds: (performance.now() - t0) / 1000, distinctPerImage: distinct };
}
