/**
 * `npm run bench:store` — a 100k-image library with the real schema and writers, and the query
 * latencies the app needs to feel instant.
 *
 *   1. build: N images (default 100,000) written by Library.writeResults in batches of 256 (one
 *      transaction each, images inserted in the same one), then refreshFeatureStats;
 *   2. on a fresh handle: p50 / p95 / max of gallery (token any and cls; features drawn uniformly
 *      among live ones, and the 100 most frequent), token grid (imageLatents: every token of one
 *      image), feature search (text, frequency range, dead, sort by max), a 3-feature AND query
 *      (three features of one random image, so the answer is not empty; and the 3 most frequent),
 *      a region query, similar images (after the first call, which builds the embedding cache);
 *   3. bytes per image per layer: the file size after a checkpoint / N, and per table (dbstat).
 *
 * Synthetic latents shaped like a ViT-L/14 CLIP-Scope SAE: 257 tokens x k 32 of 65,536 features,
 * 768-dim embeddings. Per image, each token draws its 32 features from: 3 position features (row,
 * column, 4x4 block of the patch grid; CLS has its own), 13 from the image's pool of 48 "concept"
 * features, 12 from the pool of 24 features of its region (12 Voronoi regions of the grid), the
 * rest Zipf-distributed (s = 1) over all features (0.1% of them never drawn: dead). Feature
 * popularity is Zipf-like everywhere. Values: decreasing from ~6-12, 2% of tokens end with zero or
 * negative values. How many distinct features an image has drives the index size, so the run
 * prints it. Targets (issue 3): gallery and token grid p95 < 10 ms, 3-feature query p95 < 100 ms,
 * <= 40 KB per image per layer with all tokens kept. No assertions: timings on shared machines vary.
 *
 * Options: --images N, --iterations N (per query kind, default 300), --keep (reuse the library of
 * a previous run with the same N instead of rebuilding it). Writes bench/.work/store-bench.sqlite
 * and bench/.work/store-results.json.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connection } from '../main/engine/store/connection.js';
import { Library, type ConfigRow } from '../main/engine/store/library.js';
import { BATCH, buildSyntheticLibrary, rand } from './lib/synthetic-library.js';
import { gallery } from '../main/engine/queries/gallery.js';
import { imageLatents } from '../main/engine/queries/image.js';
import { searchFeatures } from '../main/engine/queries/features.js';
import { queryImages, regionTokens } from '../main/engine/queries/feature-query.js';
import { similarImages } from '../main/engine/queries/similar.js';
import { viewLatents } from '../main/engine/store/latents-blob.js';
import { deriveEntries } from '../main/engine/store/entries.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WORK = path.join(ROOT, 'bench', '.work');
const DB = path.join(WORK, 'store-bench.sqlite');
const RESULTS = path.join(WORK, 'store-results.json');

const { values: opt } = parseArgs({
  options: {
    images: { type: 'string', default: '100000' },
    iterations: { type: 'string', default: '300' },
    keep: { type: 'boolean', default: false },
  },
});
const N = Number(opt.images);
/** Latents read per call by the bounded scans: a patch token's gallery (one row each), a region query (the region's rows). */
const BOUND = 2000;
const REGION_BOUND = 500;
const ITER = Number(opt.iterations);

function build(): { seconds: number; distinctPerImage: number } {
  return buildSyntheticLibrary(DB, { images: N });
}

// ------------------------------------------------------------------------------------ measuring

interface Timing { p50: number; p95: number; max: number; n: number }

function time(name: string, n: number, fn: (i: number) => void): Timing {
  for (let i = 0; i < Math.min(5, n); i++) fn(i + 1_000_000);
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    fn(i);
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]!;
  const r = { p50: q(0.5), p95: q(0.95), max: ms[ms.length - 1]!, n };
  process.stderr.write(`  ${name.padEnd(44)} p50 ${r.p50.toFixed(2).padStart(8)} ms   p95 ${r.p95.toFixed(2).padStart(8)} ms   max ${r.max.toFixed(1).padStart(8)} ms\n`);
  return r;
}

async function main(): Promise<void> {
  await mkdir(WORK, { recursive: true });
  let built: { seconds: number; distinctPerImage: number } | null = null;
  const reuse = opt.keep && existsSync(DB) && (() => {
    const lib = Library.open(DB);
    const n = connection(lib).db.prepare('SELECT count(*) FROM results').pluck().get() as number;
    lib.close();
    return n === N;
  })();
  if (!reuse) {
    process.stderr.write(`building a ${N}-image library at ${path.relative(ROOT, DB)}\n`);
    built = build();
  }

  const lib = Library.open(DB);
  const config = lib.listConfigs()[0] as ConfigRow;
  const images = connection(lib).db.prepare('SELECT count(*) FROM results').pluck().get() as number;
  const ids = connection(lib).db.prepare('SELECT image_id FROM results ORDER BY image_id').pluck().all() as number[];
  const live = connection(lib).db.prepare('SELECT feature FROM feature_stats WHERE config_id = ? AND images > 0').pluck().all(config.id) as number[];
  const frequent = connection(lib).db.prepare('SELECT feature FROM feature_stats WHERE config_id = ? ORDER BY images DESC LIMIT 100').pluck().all(config.id) as number[];
  const pick = <X>(xs: readonly X[]): X => xs[Math.floor(rand() * xs.length)]!;
  const distinct = connection(lib).db.prepare('SELECT codes FROM latents ORDER BY result_id LIMIT 200').pluck().all() as Buffer[];
  const distinctPerImage = distinct.reduce((s, b) => s + deriveEntries(viewLatents(b)).pooled.feature.length, 0) / distinct.length;
  process.stderr.write(`measuring (${ITER} runs each; ${images} images, ${distinctPerImage.toFixed(0)} distinct active features per image)\n`);

  const timings: Record<string, Timing> = {};
  timings['gallery any (live features)'] = time('gallery, token any, uniform live feature', ITER, () => gallery(lib, config, pick(live), { token: 'any', limit: 24 }));
  timings['gallery any (100 most frequent)'] = time('gallery, token any, 100 most frequent', ITER, () => gallery(lib, config, pick(frequent), { token: 'any', limit: 24 }));
  timings['gallery cls (live features)'] = time('gallery, token cls, uniform live feature', ITER, () => gallery(lib, config, pick(live), { token: 'cls', limit: 24 }));
  timings['gallery any, page 10'] = time('gallery, token any, offset 240', ITER, () => gallery(lib, config, pick(live), { token: 'any', limit: 24, offset: 240 }));
  const SLOW = Math.min(ITER, 50); // kinds that read many blobs or whole postings
  timings['gallery quantiles (frequent)'] = time('gallery quantiles (6 x 3), 100 most frequent', SLOW, () =>
    gallery(lib, config, pick(frequent), { limit: 0, quantiles: [0.99, 0.9, 0.75, 0.5, 0.25, 0.1] }));
  timings['gallery token 137'] = time('gallery, token 137, uniform live feature', SLOW, () => gallery(lib, config, pick(live), { token: 137, limit: 24 }));
  timings['token grid (image query)'] = time('token grid: imageLatents (257 x 32)', ITER, () => imageLatents(lib, config, pick(ids)));
  const searches = [
    () => searchFeatures(lib, config, { text: 'cat', limit: 50 }),
    () => searchFeatures(lib, config, { minFrequency: 1e-5, maxFrequency: 1e-3, limit: 50 }),
    () => searchFeatures(lib, config, { dead: true, limit: 50 }),
    () => searchFeatures(lib, config, { sort: 'max', limit: 50 }),
    () => searchFeatures(lib, config, { features: [pick(live), pick(live), pick(live)] }),
  ];
  timings['feature search'] = time('feature search (text / range / dead / max / ids)', ITER, (i) => searches[i % searches.length]!());
  const threeOf = (id: number): number[] => {
    const blob = connection(lib).db.prepare('SELECT l.codes FROM results r JOIN latents l ON l.result_id = r.id WHERE r.image_id = ?').pluck().get(id) as Buffer;
    const feats = Array.from(deriveEntries(viewLatents(blob)).pooled.feature);
    return [pick(feats), pick(feats), pick(feats)];
  };
  const andQueries = Array.from({ length: ITER + 5 }, () => threeOf(pick(ids)));
  timings['3-feature AND'] = time('3-feature AND (features of a random image)', ITER, (i) =>
    queryImages(lib, config, { all: andQueries[i % andQueries.length]!.map((feature) => ({ feature })), limit: 50 }));
  timings['3-feature AND (3 most frequent)'] = time('3-feature AND, the 3 most frequent features', SLOW, () =>
    queryImages(lib, config, { all: frequent.slice(0, 3).map((feature) => ({ feature })), limit: 50 }));
  timings['3-feature AND, date sort'] = time('3-feature AND, sorted by date', Math.min(ITER, 100), (i) =>
    queryImages(lib, config, { all: andQueries[i % andQueries.length]!.map((feature) => ({ feature })), sort: 'date', limit: 50 }));
  const region = regionTokens(config, [0, 7], [0, 7]);
  timings['2-feature AND in a region'] = time('2-feature AND in a quarter of the grid', SLOW, (i) =>
    queryImages(lib, config, { all: andQueries[i % andQueries.length]!.slice(0, 2).map((feature) => ({ feature })), tokens: region, limit: 24 }));
  const c0 = performance.now();
  similarImages(lib, config, { imageId: ids[0]! }, { limit: 24 });
  const cacheMs = performance.now() - c0;
  process.stderr.write(`  similar images: first call (builds the embedding cache) ${cacheMs.toFixed(0)} ms\n`);
  timings['similar images'] = time('similar images (cosine over all, top 24)', Math.min(ITER, 100), () => similarImages(lib, config, { imageId: pick(ids) }, { limit: 24 }));
  // Appended last: the picks of the rows above stay those of earlier runs.
  timings['gallery token 137 (frequent)'] = time('gallery, token 137, 100 most frequent', SLOW, () => gallery(lib, config, pick(frequent), { token: 137, limit: 24 }));
  // The app's way through the worst case: a bounded first call (then its cursor, page by page).
  timings['gallery token 137 (frequent), bounded'] = time(`gallery, token 137, frequent, first call (${BOUND} reads)`, SLOW, () =>
    gallery(lib, config, pick(frequent), { token: 137, limit: 24, maxReads: BOUND }));
  timings['2-feature AND in a region, bounded'] = time(`2-feature AND in a quarter, first call (${REGION_BOUND} reads)`, SLOW, (i) =>
    queryImages(lib, config, { all: andQueries[i % andQueries.length]!.slice(0, 2).map((feature) => ({ feature })), tokens: region, limit: 24, maxReads: REGION_BOUND }));

  connection(lib).db.pragma('wal_checkpoint(TRUNCATE)');
  const fileBytes = statSync(DB).size;
  process.stderr.write('  sizes per table (dbstat)...\n');
  const tables = connection(lib).db.prepare('SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC').all() as { name: string; bytes: number }[];
  lib.close();

  const perImage = fileBytes / images;
  const report = {
    images, distinctActiveFeaturesPerImage: Math.round(distinctPerImage), buildSeconds: built?.seconds ?? null,
    buildImagesPerSecond: built ? images / built.seconds : null, similarFirstCallMs: cacheMs,
    fileBytes, bytesPerImagePerLayer: perImage,
    tables: Object.fromEntries(tables.map((t) => [t.name, { bytes: t.bytes, perImage: t.bytes / images }])),
    timings,
  };
  await writeFile(RESULTS, `${JSON.stringify(report, null, 2)}\n`);
  const line = (k: string, target: string) => `  ${k.padEnd(34)} p50 ${timings[k]!.p50.toFixed(2).padStart(7)} ms  p95 ${timings[k]!.p95.toFixed(2).padStart(7)} ms  ${target}`;
  process.stdout.write([
    `store benchmark: ${images} images, 257 tokens x k 32, 65,536 features, ${distinctPerImage.toFixed(0)} distinct active features per image`,
    built ? `  build: ${built.seconds.toFixed(0)} s (${(images / built.seconds).toFixed(0)} images/s, batches of ${BATCH}, statistics included)` : '  build: reused',
    line('gallery any (live features)', '(target p95 < 10 ms)'),
    line('gallery any (100 most frequent)', '(target p95 < 10 ms)'),
    line('gallery cls (live features)', '(target p95 < 10 ms)'),
    line('token grid (image query)', '(target p95 < 10 ms)'),
    line('feature search', ''),
    line('3-feature AND', '(target p95 < 100 ms)'),
    line('3-feature AND (3 most frequent)', '(worst case)'),
    line('gallery token 137 (frequent)', '(worst case)'),
    line('gallery token 137 (frequent), bounded', `(first call, ${BOUND} reads; target < 1 s)`),
    line('2-feature AND in a region', '(worst case)'),
    line('2-feature AND in a region, bounded', `(first call, ${REGION_BOUND} reads; target < 1 s)`),
    line('similar images', `(first call ${cacheMs.toFixed(0)} ms)`),
    `  size: ${(fileBytes / 1e9).toFixed(2)} GB = ${(perImage / 1024).toFixed(1)} KiB (${(perImage / 1000).toFixed(1)} KB) per image per layer (target <= 40 KB)`,
    ...tables.slice(0, 8).map((t) => `    ${t.name.padEnd(28)} ${(t.bytes / images).toFixed(0).padStart(7)} B/image`),
    `  results: ${path.relative(ROOT, RESULTS)}`,
    '',
  ].join('\n'));
}

await main();
