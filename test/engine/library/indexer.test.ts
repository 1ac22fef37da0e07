import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connection } from '../../../main/engine/store/connection.js';
import { Library, type WritableLibrary } from '../../../main/engine/store/library.js';
import { Indexer, type IndexRunResult } from '../../../main/engine/library/indexer.js';
import { IndexPipeline, type IndexPipelineOptions, type PipelineLike } from '../../../main/engine/library/index-pipeline.js';
import { thumbnailPath } from '../../../main/engine/library/thumbnails.js';
import type { IndexProgress } from '../../../main/engine/library/progress.js';
import { buildCorpus, releaseCorpus, type Corpus } from '../../../scripts/fixtures/corpus.js';
import { ROOT } from '../../helpers/references.js';
import { snapshotFiles, storedResults, TEST_CACHE, TINY } from './helpers.js';

process.env['CLIPSCOPE_CACHE_DIR'] = TEST_CACHE;

let tmp: string;
let corpus: Corpus;
let lib: WritableLibrary;
let thumbs: string;
let first: IndexRunResult;
const progress: IndexProgress[] = [];

const at = (rel: string): string => path.join(corpus.root, rel);

function newIndexer(l: WritableLibrary = lib, extra: ConstructorParameters<typeof Indexer>[1] = {}): Indexer {
  return new Indexer(l, { provider: 'cpu', thumbDir: thumbs, ...extra });
}

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'clipscope-indexer-'));
  corpus = await buildCorpus(path.join(tmp, 'c'));
  thumbs = path.join(tmp, 'cache', 'thumbs');
  lib = Library.open(path.join(tmp, 'lib.sqlite'));
});

afterAll(async () => {
  lib?.close();
  await releaseCorpus(corpus);
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('indexing the edge-case corpus', () => {
  it('indexes every decodable photo, records every broken file with a reason, touches no photo', async () => {
    const before = await snapshotFiles([corpus.root, corpus.outside]);
    first = await newIndexer(lib, { onProgress: (p) => progress.push(p) }).index({ folders: [corpus.root], ...TINY });
    const after = await snapshotFiles([corpus.root, corpus.outside]);
    // Photo files never written, moved, re-moded or created beside (thumbnails live in the cache).
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [p, s] of before) expect(after.get(p), p).toEqual(s);

    expect(first.state).toBe('done');
    const indexed = corpus.entries.filter((e) => e.expect === 'indexed');
    const failed = corpus.entries.filter((e) => e.expect === 'failed');
    const problems = corpus.entries.filter((e) => e.expect === 'problem');
    expect(first.indexed).toBe(indexed.length);
    expect(first.scanned).toBe(indexed.length + failed.length);
    expect(first.unchanged).toBe(0);
    expect(first.failed).toBe(failed.length + problems.length);
    const reasons = new Map(first.failures.map((f) => [f.file, f.error]));
    for (const e of [...failed, ...problems]) expect(reasons.get(at(e.rel)), e.rel).toMatch(e.reason!);
    // No reason repeats the file name: it is given separately.
    for (const f of first.failures) expect(f.error.includes(f.file), f.file).toBe(false);

    const results = storedResults(lib, first.configId);
    expect([...results.keys()].sort()).toEqual(indexed.map((e) => at(e.rel)).sort());
    // Failures are stored (listed by the library), with their reasons.
    const stored = new Map(lib.failures().map((f) => [f.path, f.error]));
    for (const e of [...failed, ...problems]) expect(stored.get(at(e.rel)), e.rel).toMatch(e.reason!);
    // Byte-identical files at live paths are separate images.
    const coins = lib.imagesByHash(lib.imageByPath(at('photos/coins.png'))!.hash);
    expect(coins.map((r) => path.relative(corpus.root, r.path)).sort()).toEqual(['dupes/coins copy.png', 'dupes/deeper/coins copy 2.png', 'photos/coins.png']);
    // Metadata and thumbnails.
    const dated = lib.imageByPath(at('photos/dated/IMG_0001.JPG'))!;
    expect(dated.capturedAt).toBe(Date.UTC(2019, 6, 14, 10, 20, 30));
    expect([dated.width, dated.height]).toEqual([640, 427]);
    expect([lib.imageByPath(at('odd/orient-6.jpg'))!.width, lib.imageByPath(at('odd/orient-6.jpg'))!.height]).toEqual([120, 80]);
    for (const e of indexed) {
      const row = lib.imageByPath(at(e.rel))!;
      await expect(fs.access(thumbnailPath(row.hash, thumbs)), e.rel).resolves.toBeUndefined();
    }
    // Progress: every phase reported, encode counts up to the total, with a rate.
    const enc = progress.filter((p) => p.phase === 'encode');
    expect(enc.at(-1)).toMatchObject({ done: indexed.length + failed.length, total: indexed.length + failed.length, failed: failed.length });
    expect(enc.some((p) => p.rate !== null && p.etaSeconds !== null && p.current !== null)).toBe(true);
    expect(new Set(progress.map((p) => p.phase))).toEqual(new Set(['scan', 'hash', 'encode', 'finish', 'done']));
    const rows = connection(lib).db.prepare("SELECT COUNT(*) FROM images WHERE status = 'present'").pluck().get();
    expect(rows).toBe(indexed.length + failed.length);
  });

  it('re-run: nothing re-encoded, nothing hashed, known failures listed but not retried', async () => {
    let opened = 0;
    const r = await newIndexer(lib, { openPipeline: async (o) => (opened++, IndexPipeline.open(o)) }).index({ folders: [corpus.root], ...TINY });
    expect(r).toMatchObject({ indexed: 0, moved: 0, removed: 0, unchanged: first.indexed, scanned: first.scanned, failed: first.failed });
    expect(opened).toBe(0); // the model is not even loaded
    expect(r.failures).toEqual(first.failures);
  });

  it('re-run: thumbnails gone from the cache come back, read from the photos, without loading the model', async () => {
    const names = (await fs.readdir(thumbs)).filter((f) => f.endsWith('.jpg')).sort();
    expect(names.length).toBe(new Set(connection(lib).db.prepare("SELECT i.hash FROM images i JOIN results r ON r.image_id = i.id WHERE i.status = 'present'").pluck().all()).size);
    const lost = names.filter((_, i) => i % 3 === 0);
    const before = new Map<string, Buffer>();
    for (const f of lost) {
      before.set(f, await fs.readFile(path.join(thumbs, f)));
      await fs.rm(path.join(thumbs, f));
    }
    let opened = 0;
    const events: IndexProgress[] = [];
    const r = await newIndexer(lib, { openPipeline: async (o) => (opened++, IndexPipeline.open(o)), onProgress: (p) => events.push(p) })
      .index({ folders: [corpus.root], ...TINY });
    expect(r).toMatchObject({ indexed: 0, unchanged: first.indexed, failed: first.failed });
    expect(opened).toBe(0);
    expect((await fs.readdir(thumbs)).filter((f) => f.endsWith('.jpg')).sort()).toEqual(names);
    const restored = events.filter((e) => e.phase === 'thumbnails');
    expect(restored.at(-1)).toMatchObject({ done: lost.length, total: lost.length, failed: 0 });
    for (const f of lost) {
      // Same size as the one made while indexing (from the file now, not the model's view).
      const [a, b] = await Promise.all([sharp(before.get(f)!).metadata(), sharp(path.join(thumbs, f)).metadata()]);
      expect([b.format, b.width, b.height], f).toEqual(['jpeg', a.width, a.height]);
    }
    // Nothing missing: nothing to do.
    const again: IndexProgress[] = [];
    await newIndexer(lib, { onProgress: (p) => again.push(p) }).index({ folders: [corpus.root], ...TINY });
    expect(again.some((e) => e.phase === 'thumbnails')).toBe(false);
  });

  it('--retry-failed tries known failures again', async () => {
    const r = await newIndexer().index({ folders: [corpus.root], ...TINY, retryFailed: true });
    expect(r).toMatchObject({ indexed: 0, failed: first.failed, unchanged: first.indexed });
    expect(r.failures).toEqual(first.failures);
  });

  it('rename and move: no re-encode, results kept; delete: marked removed, results kept; modify: re-encoded; touch: kept', async () => {
    const ids = (rel: string): number => lib.imageByPath(at(rel))!.id;
    const rocketId = ids('photos/rocket.jpg');
    const coffeeId = ids('photos/coffee.png');
    const chelseaId = ids('photos/chelsea.png');
    const greyId = ids('odd/grey.jpg');
    const before = storedResults(lib, first.configId);
    await fs.rename(at('photos/rocket.jpg'), at('names/rocket renamed.jpg'));
    await fs.mkdir(at('moved/deeper'), { recursive: true });
    await fs.rename(at('photos/coffee.png'), at('moved/deeper/coffee.png'));
    await fs.rm(at('odd/anim.gif'));
    await fs.copyFile(path.join(ROOT, 'test/fixtures/photos/hubble_deep_field.jpg'), at('photos/chelsea.png')); // new content
    const t = new Date(Date.now() + 5000);
    await fs.utimes(at('odd/grey.jpg'), t, t); // touched, same bytes

    const r = await newIndexer().index({ folders: [corpus.root], ...TINY });
    expect(r).toMatchObject({ indexed: 1, moved: 2, removed: 1 });
    expect(r.unchanged).toBe(first.indexed - 1 /* removed */ - 2 /* moved */ - 1 /* modified */);
    expect(ids('names/rocket renamed.jpg')).toBe(rocketId);
    expect(ids('moved/deeper/coffee.png')).toBe(coffeeId);
    expect(ids('photos/chelsea.png')).toBe(chelseaId);
    expect(ids('odd/grey.jpg')).toBe(greyId);
    const after = storedResults(lib, first.configId);
    expect(after.get(at('names/rocket renamed.jpg'))).toEqual(before.get(at('photos/rocket.jpg')));
    expect(after.get(at('moved/deeper/coffee.png'))).toEqual(before.get(at('photos/coffee.png')));
    expect(after.get(at('odd/grey.jpg'))).toEqual(before.get(at('odd/grey.jpg')));
    expect(after.get(at('photos/chelsea.png'))).not.toEqual(before.get(at('photos/chelsea.png')));
    const gone = lib.imageByPath(at('odd/anim.gif'))!;
    expect(gone.status).toBe('removed');
    expect(lib.hasResult(gone.id, first.configId)).toBe(true);
    // The link to the moved photo now dangles: reported.
    expect(r.failures.find((f) => f.file === at('links/rocket-link.jpg'))?.error).toMatch(/broken symbolic link/);

    // Put the deleted file back under another name: a removed row's content returns -> a move.
    await fs.copyFile(path.join(ROOT, 'test/fixtures/imaging/inputs/anim.gif'), at('odd/anim-again.gif'));
    // And the dangling link goes away: its stored failure with it.
    expect(lib.failures().some((f) => f.path === at('links/dangling.jpg'))).toBe(true);
    await fs.rm(at('links/dangling.jpg'));
    const back = await newIndexer().index({ folders: [corpus.root], ...TINY });
    expect(back).toMatchObject({ indexed: 0, moved: 1, removed: 0 });
    expect(lib.failures().some((f) => f.path === at('links/dangling.jpg'))).toBe(false);
    expect(back.failures.some((f) => f.file === at('links/dangling.jpg'))).toBe(false);
    expect(lib.imageByPath(at('odd/anim-again.gif'))!.id).toBe(gone.id);
    expect(lib.imageByPath(at('odd/anim-again.gif'))!.status).toBe('present');
  });

  it('another layer fills only the gaps and keeps the first configuration\'s results', async () => {
    const firstResults = storedResults(lib, first.configId);
    const r = await newIndexer().index({ folders: [corpus.root], ...TINY, layer: 1 });
    expect(r.configId).not.toBe(first.configId);
    expect(r.indexed).toBe(firstResults.size); // every present, decodable image
    expect(storedResults(lib, first.configId)).toEqual(firstResults);
    const again = await newIndexer().index({ folders: [corpus.root], ...TINY, layer: 1 });
    expect(again.indexed).toBe(0);
    const back = await newIndexer().index({ folders: [corpus.root], ...TINY });
    expect(back.indexed).toBe(0);
    // A new photo is then missing from both: each run adds it to its own configuration.
    await fs.copyFile(path.join(ROOT, 'test/fixtures/imaging/inputs/wide-600x40.png'), at('photos/new.png'));
    expect((await newIndexer().index({ folders: [corpus.root], ...TINY })).indexed).toBe(1);
    expect((await newIndexer().index({ folders: [corpus.root], ...TINY, layer: 1 })).indexed).toBe(1);
  });

  it('refuses an unusable model or SAE before touching anything, with one sentence', async () => {
    const l = Library.open(path.join(tmp, 'unusable.sqlite'));
    try {
      await expect(newIndexer(l).index({ folders: [corpus.root], modelDir: path.join(tmp, 'nope'), sae: TINY.sae })).rejects.toThrow(/no such model folder/);
      await expect(newIndexer(l).index({ folders: [corpus.root], modelDir: TINY.modelDir, sae: path.join(ROOT, 'test/fixtures/photos/rocket.jpg') })).rejects.toThrow(/rocket\.jpg/);
      await expect(newIndexer(l).index({ folders: [corpus.root], modelDir: TINY.modelDir, sae: TINY.sae, layer: 99 })).rejects.toThrow(/layer 99 is out of range/);
      expect(connection(l).db.prepare('SELECT COUNT(*) FROM images').pluck().get()).toBe(0);
      expect(l.listFolders()).toEqual([]);
    } finally {
      l.close();
    }
  });
});

/** The real pipeline, slowed down so that pause / cancel land mid-run. */
function slowPipeline(delayMs: number): (o: IndexPipelineOptions) => Promise<PipelineLike> {
  return async (o) => {
    const p = await IndexPipeline.open(o);
    return {
      async *encode(files) {
        for await (const r of p.encode(files)) {
          await new Promise((res) => setTimeout(res, delayMs));
          yield r;
        }
      },
      close: () => p.close(),
    };
  };
}

describe('job queue: pause, resume, cancel', () => {
  let dir: string;
  let l: WritableLibrary;
  beforeAll(async () => {
    dir = path.join(tmp, 'pause-photos');
    await fs.mkdir(dir, { recursive: true });
    const src = path.join(ROOT, 'test/fixtures/imaging/inputs');
    for (const f of (await fs.readdir(src)).filter((x) => /\.(jpg|png)$/.test(x)).slice(0, 24)) await fs.copyFile(path.join(src, f), path.join(dir, f));
    l = Library.open(path.join(tmp, 'pause.sqlite'));
  });
  afterAll(() => l.close());

  it('pauses after the current batch, resumes where it stopped, and cancels for good', async () => {
    const n = (await fs.readdir(dir)).length;
    let seen = 0;
    const ix: Indexer = newIndexer(l, {
      writeBatch: 2,
      openPipeline: slowPipeline(30),
      onProgress: (p) => {
        if (p.phase === 'encode' && p.done > 0 && ++seen === 5) ix.pause();
      },
    });
    const paused = await ix.index({ folders: [dir], ...TINY });
    expect(paused.state).toBe('paused');
    expect(paused.indexed).toBeGreaterThanOrEqual(4);
    expect(paused.indexed).toBeLessThan(n);
    const job = ix.queue.get(paused.jobId)!;
    expect(job).toMatchObject({ state: 'paused', phase: 'encode', ownerPid: null });
    const doneBefore = storedResults(l, paused.configId).size;
    expect(doneBefore).toBe(paused.indexed);

    // Another process asks to pause / cancel through the database; here: a second connection.
    const other = Library.open(l.file);
    let cancelAsked = false;
    const ix2: Indexer = newIndexer(l, {
      writeBatch: 2,
      openPipeline: slowPipeline(30),
      onProgress: (p) => {
        if (p.phase === 'encode' && p.done > doneBefore + 3 && !cancelAsked) {
          cancelAsked = true;
          new Indexer(other).queue.requestPause(paused.jobId);
        }
      },
    });
    // The same parameters resume the paused job (not a new one).
    const second = await ix2.index({ folders: [dir], ...TINY });
    expect(second).toMatchObject({ jobId: paused.jobId, state: 'paused', resumed: true });
    expect(second.indexed).toBeGreaterThan(doneBefore);
    expect(second.indexed).toBeLessThan(n);

    // Resume to the end: every photo exactly once, the job's summary counts the whole job.
    const third = await newIndexer(l).index({ folders: [dir], ...TINY });
    expect(third).toMatchObject({ jobId: paused.jobId, state: 'done', indexed: n, scanned: n, unchanged: 0 });
    expect(storedResults(l, third.configId).size).toBe(n);

    // Cancel: a new job, stopped for good; what it wrote stays; the next run is a new job.
    await fs.copyFile(path.join(ROOT, 'test/fixtures/photos/rocket.jpg'), path.join(dir, 'zz-rocket.jpg'));
    await fs.copyFile(path.join(ROOT, 'test/fixtures/photos/coins.png'), path.join(dir, 'zz-coins.png'));
    await fs.copyFile(path.join(ROOT, 'test/fixtures/photos/chelsea.png'), path.join(dir, 'zz-chelsea.png'));
    const ix3: Indexer = newIndexer(l, { writeBatch: 1, openPipeline: slowPipeline(30), onProgress: (p) => { if (p.phase === 'encode' && p.done === 1) ix3.cancel(); } });
    const cancelled = await ix3.index({ folders: [dir], ...TINY });
    expect(cancelled.state).toBe('cancelled');
    expect(cancelled.indexed).toBeGreaterThanOrEqual(1);
    expect(cancelled.indexed).toBeLessThan(3);
    expect(ix3.queue.get(cancelled.jobId)!.state).toBe('cancelled');
    const fin = await newIndexer(l).index({ folders: [dir], ...TINY });
    expect(fin.jobId).not.toBe(cancelled.jobId);
    expect(fin.indexed).toBe(3 - cancelled.indexed);
    other.close();
  });

  it('one indexer per library: a second live runner is refused', async () => {
    const q = new Indexer(l).queue;
    const job = q.enqueue({ folders: [dir], ...TINY, layer: null, retryFailed: false });
    // Pretend a live process (this one, from another host name would need a heartbeat) holds it.
    connection(l).db.prepare("UPDATE index_jobs SET state = 'running', owner_pid = ?, owner_host = ?, heartbeat_at = ? WHERE id = ?").run(process.ppid, os.hostname(), Date.now(), job.id);
    await expect(newIndexer(l).index({ folders: [dir], ...TINY, layer: 1 })).rejects.toThrow(/another indexer is running/);
    // A live pid without a heartbeat for minutes (a reused pid): interrupted.
    connection(l).db.prepare('UPDATE index_jobs SET heartbeat_at = ? WHERE id = ?').run(Date.now() - 10 * 60_000, job.id);
    expect(q.isInterrupted(q.get(job.id)!)).toBe(true);
    connection(l).db.prepare('UPDATE index_jobs SET heartbeat_at = ? WHERE id = ?').run(Date.now(), job.id);
    expect(q.isInterrupted(q.get(job.id)!)).toBe(false);
    // Its owner dies: the job is interrupted and resumable.
    connection(l).db.prepare('UPDATE index_jobs SET owner_pid = ? WHERE id = ?').run(2 ** 22 + 12345, job.id);
    expect(q.isInterrupted(q.get(job.id)!)).toBe(true);
    const r = await newIndexer(l).index({ folders: [dir], ...TINY });
    expect(r).toMatchObject({ jobId: job.id, resumed: true, state: 'done', indexed: 0 });
  });
});
