/** Test libraries: real encodes of the fixture photos, synthetic results, and brute-force oracles. */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EncodePipeline } from '../../../main/engine/pipeline/encode-pipeline.js';
import type { EncodedImage } from '../../../main/engine/pipeline/encoder.js';
import type { ReconstructionMetrics } from '../../../main/engine/sae/metrics.js';
import type { SparseCodes } from '../../../main/engine/sae/sparse-codes.js';
import type { ConfigRow, EncodingConfigInput, ResultInput, WritableLibrary } from '../../../main/engine/store/library.js';
import { packLatents, unpackLatents } from '../../../main/engine/store/latents-blob.js';
import { fixture, manifest, TEST_CACHE } from '../../helpers/references.js';

export const MODEL = manifest.models['clip-tiny-gelu']!;
export const SAE = manifest.saes['clipscope-gelu']!;

export async function tempDir(prefix = 'clipscope-store-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

export interface EncodedPhoto { file: string; image: EncodedImage }

/** The fixture photos through the real engine (tiny model + its CLIP-Scope SAE, CPU). */
export async function encodeFixturePhotos(): Promise<{ photos: EncodedPhoto[]; config: EncodingConfigInput }> {
  const files = manifest.photos.map((p) => fixture(p.path));
  const pipeline = await EncodePipeline.open({ modelDir: fixture(MODEL.dir), sae: fixture(SAE.file), provider: 'cpu', cacheDir: TEST_CACHE, batchSize: 2 });
  try {
    const photos: EncodedPhoto[] = [];
    for await (const r of pipeline.encodeFiles(files)) {
      if (!r.ok) throw new Error(r.error);
      photos.push({ file: r.file, image: r.image });
    }
    const first = photos[0]!.image;
    return {
      photos,
      config: {
        modelDir: fixture(MODEL.dir), modelFingerprint: 'model:clip-tiny-gelu', saePath: fixture(SAE.file), saeFingerprint: 'sae:clipscope-gelu',
        layer: pipeline.info.layer, normalization: 'raw', tokens: pipeline.info.tokens, width: pipeline.info.width,
        nFeatures: pipeline.info.sae!.nFeatures, k: pipeline.info.sae!.k, embeddingDim: first.embedding.length,
      },
    };
  } finally {
    await pipeline.close();
  }
}

export function resultOf(imageId: number, image: EncodedImage): ResultInput {
  return { imageId, codes: image.codes!, embedding: image.embedding, metrics: image.metrics! };
}

/** The encoded photos as images of `lib` (file time mtimeMs(i)) with their results; their ids, in order. */
export function addFixturePhotos(lib: WritableLibrary, config: ConfigRow, photos: readonly EncodedPhoto[], mtimeMs = (i: number): number => i): number[] {
  const folder = lib.addFolder(path.dirname(photos[0]!.file));
  const ids = photos.map((p, i) => lib.insertImage({
    path: p.file, folderId: folder.id, size: 1, mtimeMs: mtimeMs(i), hash: `h${i}`, width: null, height: null, capturedAt: null,
  }).id);
  lib.writeResults(config.id, photos.map((p, i) => resultOf(ids[i]!, p.image)));
  return ids;
}

/** Deterministic pseudo-random numbers in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const SYNTH: EncodingConfigInput = {
  modelDir: '/models/synthetic', modelFingerprint: 'model:synthetic', saePath: '/models/synthetic/5_resid/sae.pt', saeFingerprint: 'sae:synthetic',
  layer: 5, normalization: 'raw', tokens: 17, width: 8, nFeatures: 200, k: 6, embeddingDim: 12,
};

/**
 * Synthetic latents with the shapes that matter: k per token sorted largest first, skewed feature
 * frequencies, features shared across tokens of an image, and some zero / negative values.
 */
export function syntheticCodes(r: () => number, tokens: number, k: number, nFeatures: number): SparseCodes {
  const offsets = new Uint32Array(tokens + 1);
  const idx = new Int32Array(tokens * k);
  const val = new Float32Array(tokens * k);
  const pool = Array.from({ length: 2 * k }, () => Math.floor(r() ** 2 * nFeatures));
  for (let t = 0; t < tokens; t++) {
    offsets[t + 1] = (t + 1) * k;
    const row = new Set<number>();
    while (row.size < k) row.add(r() < 0.6 ? pool[Math.floor(r() * pool.length)]! : Math.floor(r() ** 2 * nFeatures));
    const vals = [...row].map(() => (r() < 0.1 ? -r() : r() < 0.05 ? 0 : r() * 8)).sort((a, b) => b - a);
    [...row].forEach((f, j) => {
      idx[t * k + j] = f;
      val[t * k + j] = vals[j]!;
    });
  }
  return { offsets, idx, val };
}

export function syntheticResult(r: () => number, imageId: number, c: EncodingConfigInput): ResultInput {
  const codes = syntheticCodes(r, c.tokens, c.k!, c.nFeatures);
  const sse = Float64Array.from({ length: c.tokens }, () => r() * 100);
  const metrics: ReconstructionMetrics = {
    sse, mse: sse.reduce((a, b) => a + b, 0) / c.tokens, ev: r(), positionMse: sse.map((s) => s / c.width), l0: r() * c.k!,
  };
  return { imageId, codes, embedding: Float32Array.from({ length: c.embeddingDim }, () => r() * 2 - 1), metrics };
}

/**
 * Adds `n` images (under one folder) with synthetic results using features 0..usedFeatures-1;
 * returns their ids and stored codes.
 */
export function addSyntheticImages(lib: WritableLibrary, config: ConfigRow, n: number, seed: number, folder = '/photos/synthetic', usedFeatures = config.nFeatures): Map<number, SparseCodes> {
  const r = rng(seed);
  const folderId = lib.addFolder(folder).id;
  const out = new Map<number, SparseCodes>();
  const batch: ResultInput[] = [];
  for (let i = 0; i < n; i++) {
    const img = lib.insertImage({
      path: path.join(folder, `img-${seed}-${i}.jpg`), folderId, size: 1000 + i, mtimeMs: 1_600_000_000_000 + i * 86_400_000,
      hash: `h-${seed}-${i}`, width: 640, height: 480, capturedAt: i % 3 === 0 ? null : 1_500_000_000_000 + i * 3_600_000,
    });
    const res = syntheticResult(r, img.id, { ...config, nFeatures: usedFeatures });
    batch.push(res);
    out.set(img.id, stored(res.codes, config.nFeatures));
    if (batch.length === 64) lib.writeResults(config.id, batch.splice(0));
  }
  if (batch.length) lib.writeResults(config.id, batch);
  return out;
}

/** The codes as the store keeps them (float16 values). */
export function stored(codes: SparseCodes, nFeatures: number): SparseCodes {
  return unpackLatents(packLatents(codes, nFeatures));
}

/** Brute force: per feature, the max active value over `tokens` (all by default) and the first token reaching it. */
export function maxPerFeature(codes: SparseCodes, tokens?: ReadonlySet<number>): Map<number, { act: number; token: number }> {
  const out = new Map<number, { act: number; token: number }>();
  for (let t = 0; t < codes.offsets.length - 1; t++) {
    if (tokens && !tokens.has(t)) continue;
    for (let j = codes.offsets[t]!; j < codes.offsets[t + 1]!; j++) {
      const v = codes.val[j]!;
      if (!(v > 0)) continue;
      const cur = out.get(codes.idx[j]!);
      if (!cur || v > cur.act) out.set(codes.idx[j]!, { act: v, token: t });
    }
  }
  return out;
}

/** Brute-force gallery: (image, act, token) sorted by act desc, image asc. */
export function bruteGallery(all: Map<number, SparseCodes>, feature: number, tokens?: ReadonlySet<number>): { imageId: number; act: number; token: number }[] {
  const rows: { imageId: number; act: number; token: number }[] = [];
  for (const [imageId, codes] of all) {
    const m = maxPerFeature(codes, tokens).get(feature);
    if (m) rows.push({ imageId, act: m.act, token: m.token });
  }
  return rows.sort((a, b) => b.act - a.act || a.imageId - b.imageId);
}
