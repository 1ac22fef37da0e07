/**
 * libvips keeps ONE error buffer per process, and every sharp call clears it when it ends: with
 * several decode workers in one process, a broken photo's message could come back empty ("Unknown
 * error") or carry another photo's words. Each file's reason must be the one a lone decode gives.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IndexPipeline } from '../../../main/engine/library/index-pipeline.js';
import { loadImageRgb } from '../../../main/engine/imaging/decode.js';
import { errorMessage } from '../../../main/engine/errors.js';
import { buildCorpus, releaseCorpus, type Corpus } from '../../../scripts/fixtures/corpus.js';
import { TEST_CACHE, TINY } from './helpers.js';

process.env['CLIPSCOPE_CACHE_DIR'] = TEST_CACHE;

let tmp: string;
let corpus: Corpus;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'clipscope-decode-errors-'));
  corpus = await buildCorpus(path.join(tmp, 'c'));
});
afterAll(async () => {
  await releaseCorpus(corpus);
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('decode errors with several decode workers', () => {
  it("give each broken file its own reason, as a lone decode does", async () => {
    const broken = corpus.entries.filter((e) => e.expect === 'failed' && e.rel.startsWith('broken/')).map((e) => path.join(corpus.root, e.rel));
    const good = corpus.entries.filter((e) => e.expect === 'indexed' && /\.(png|jpe?g)$/i.test(e.rel)).slice(0, 6).map((e) => path.join(corpus.root, e.rel));
    expect(broken.length).toBeGreaterThan(6);
    const lone = new Map<string, string>();
    for (const f of broken) lone.set(f, await loadImageRgb(f).then(() => 'decoded', (e: unknown) => errorMessage(e)));
    // Broken and good photos interleaved, many times over, through four decoders at once.
    const files: string[] = [];
    for (let round = 0; round < 6; round++) broken.forEach((f, i) => files.push(f, good[(i + round) % good.length]!));
    const ip = await IndexPipeline.open({ ...TINY, provider: 'cpu', batchSize: 4, decodeWorkers: 4, thumbDir: path.join(tmp, 'thumbs') });
    try {
      const wrong: string[] = [];
      for await (const r of ip.encode(files.map((file, i) => ({ file, hash: `x${i}` })))) {
        const want = lone.get(r.file);
        if (want === undefined) {
          if (!r.ok) wrong.push(`${r.file}: ${r.error}`);
        } else if (r.ok || r.error !== want) {
          wrong.push(`${r.file}: ${r.ok ? 'decoded' : r.error} (alone: ${want})`);
        }
      }
      expect(wrong).toEqual([]);
    } finally {
      await ip.close();
    }
  });
});
