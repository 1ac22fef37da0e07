import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { gallery } from '../../../main/engine/queries/gallery.js';
import { connection } from '../../../main/engine/store/connection.js';
import { Library } from '../../../main/engine/store/library.js';
import { unpackLatents } from '../../../main/engine/store/latents-blob.js';
import { ROOT } from '../../helpers/references.js';
import { bruteGallery, SYNTH, tempDir } from './helpers.js';
import type { SparseCodes } from '../../../main/engine/sae/sparse-codes.js';

const BATCH = 32;
const BATCHES = 40;

/**
 * A writer in another thread (its own connection, the compiled engine): batches of 32 new images
 * with their results, one transaction each, plus removals and returns now and then.
 */
const writerSource = (file: string, storeUrl: string, config: typeof SYNTH) => `
const { parentPort } = require('node:worker_threads');
(async () => {
  const { Library } = await import(${JSON.stringify(storeUrl)});
  const lib = Library.open(${JSON.stringify(file)});
  const config = lib.ensureConfig(${JSON.stringify(config)});
  const folder = lib.addFolder('/photos/live');
  let s = 12345;
  const r = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
  const T = config.tokens, K = config.k, F = config.nFeatures;
  parentPort.postMessage('ready');
  const ids = [];
  for (let b = 0; b < ${BATCHES}; b++) {
    lib.transaction(() => {
      const items = [];
      for (let i = 0; i < ${BATCH}; i++) {
        const n = b * ${BATCH} + i;
        const img = lib.insertImage({ path: '/photos/live/' + n + '.jpg', folderId: folder.id, size: n, mtimeMs: n, hash: 'h' + n, width: null, height: null, capturedAt: null });
        ids.push(img.id);
        const offsets = new Uint32Array(T + 1), idx = new Int32Array(T * K), val = new Float32Array(T * K);
        for (let t = 0; t < T; t++) {
          offsets[t + 1] = (t + 1) * K;
          const row = new Set();
          while (row.size < K) row.add(Math.floor(r() ** 2 * F));
          const vals = [...row].map(() => r() * 6 - 1).sort((x, y) => y - x);
          [...row].forEach((f, j) => { idx[t * K + j] = f; val[t * K + j] = vals[j]; });
        }
        const sse = Float64Array.from({ length: T }, () => r() * 10);
        items.push({ imageId: img.id, codes: { offsets, idx, val }, embedding: Float32Array.from({ length: config.embeddingDim }, () => r()),
          metrics: { sse, mse: 1, ev: 0.5, l0: 3, positionMse: sse } });
      }
      lib.writeResults(config.id, items);
    });
    if (b % 5 === 4) lib.markRemoved(ids.filter((_, i) => i % 7 === b % 7));
    if (b % 5 === 0 && b > 0) {
      const back = lib.imageById(ids[(b * 3) % ids.length]);
      lib.updateImageFile(back.id, back);
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 15);
  }
  lib.close();
  parentPort.postMessage('done');
})().catch((e) => { parentPort.postMessage('error: ' + (e && e.stack || e)); });
`;

describe('readers while a writer writes', () => {
  it('see whole batches and an index that matches the stored latents, in every snapshot', async () => {
    const file = path.join(await tempDir('clipscope-concurrency-'), 'library.sqlite');
    Library.open(file).close(); // created (and migrated) before the reader opens it read-only
    const storeUrl = pathToFileURL(path.join(ROOT, 'dist/main/engine/store/library.js')).href;
    const worker = new Worker(writerSource(file, storeUrl, SYNTH), { eval: true });
    let state = 'starting';
    const finished = new Promise<void>((resolve, reject) => {
      worker.on('message', (m: string) => {
        state = m;
        if (m === 'done') resolve();
        if (m.startsWith('error')) reject(new Error(m));
      });
      worker.on('error', reject);
    });
    while (state === 'starting') await new Promise((r) => setTimeout(r, 5));

    const reader = Library.open(file, { readonly: true });
    const seen = new Set<number>();
    let checks = 0;
    const check = (): void => reader.read(() => {
      const configs = reader.listConfigs();
      if (configs.length === 0) return;
      const config = configs[0]!;
      const total = connection(reader).db.prepare('SELECT count(*) FROM results').pluck().get() as number;
      expect(total % BATCH).toBe(0); // never half a batch
      seen.add(total);
      const rows = connection(reader).db.prepare(`SELECT r.image_id, r.indexed, l.codes FROM results r JOIN images i ON i.id = r.image_id
          JOIN latents l ON l.result_id = r.id WHERE i.status = 'present'`).raw().all() as [number, number, Buffer][];
      expect(rows.every(([, indexed]) => indexed > 0)).toBe(true);
      expect(connection(reader).db.prepare('SELECT count(*) FROM results WHERE indexed > 0').pluck().get()).toBe(rows.length);
      const present = new Map<number, SparseCodes>(rows.map(([id, , codes]) => [id, unpackLatents(codes)]));
      for (const f of [0, 1, 2, 7, 30]) {
        const want = bruteGallery(present, f).map((x) => ({ imageId: x.imageId, act: x.act, token: x.token }));
        const got = gallery(reader, config, f, { limit: 100_000 }).items.map((x) => ({ imageId: x.imageId, act: x.act, token: x.token }));
        expect(got).toEqual(want);
      }
      checks++;
    });
    let done = false;
    void finished.then(() => (done = true), () => (done = true));
    while (!done) {
      check();
      await new Promise((r) => setTimeout(r, 1));
    }
    await finished;
    check();
    reader.close();
    await worker.terminate();
    expect(seen.size).toBeGreaterThan(5); // reads really happened between batches
    expect(Math.max(...seen)).toBe(BATCH * BATCHES);
    expect(checks).toBeGreaterThan(5);
  });
});
