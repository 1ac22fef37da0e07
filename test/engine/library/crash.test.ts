/**
 * Crash safety of the real `clipscope index`: kill -9 at random moments, then finish and compare
 * with an uninterrupted run; readers during a run see consistent data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../helpers/references.js';
import { connection } from '../../../main/engine/store/connection.js';
import { Library } from '../../../main/engine/store/library.js';
import { jobRows } from '../../../main/engine/store/job-rows.js';
import { imageLatents } from '../../../main/engine/queries/image.js';
import { isImageName } from '../../../main/engine/library/scanner.js';
import { buildCorpus, releaseCorpus, type Corpus } from '../../../scripts/fixtures/corpus.js';
import { copies, storedResults, TEST_CACHE, TINY } from './helpers.js';

const BIN = path.join(ROOT, 'bin/clipscope.js');
const MODEL_ARGS = ['--model', TINY.modelDir, '--sae', TINY.sae];

let tmp: string;
let corpus: Corpus;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'clipscope-crash-'));
  corpus = await buildCorpus(path.join(tmp, 'c'));
});

afterAll(async () => {
  await releaseCorpus(corpus);
  await fs.rm(tmp, { recursive: true, force: true });
});

interface Exit { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

function start(db: string, folder: string): { child: ChildProcess; done: Promise<Exit> } {
  const child = spawn(process.execPath, [BIN, 'index', folder, '--db', db, ...MODEL_ARGS, '--json'], {
    env: { ...process.env, CLIPSCOPE_CACHE_DIR: TEST_CACHE },
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Exit>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

describe('crash safety', () => {
  it('survives kill -9 at random moments (>= 20 times): integrity ok, each image once, results equal an uninterrupted run', async () => {
    const folder = path.join(tmp, 'crash');
    await fs.cp(path.join(corpus.root, 'broken'), path.join(folder, 'broken'), { recursive: true });
    await fs.cp(path.join(corpus.root, 'names'), path.join(folder, 'names'), { recursive: true });
    await copies(path.join(folder, 'photos'), 40, 'p');
    const db = path.join(tmp, 'crash.sqlite');
    // Deterministic "random" moments, spread over start-up, walk, hashing, encoding and writes.
    let seed = 12345;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let kills = 0;
    let round = 0;
    let resumedSeen = 0;
    let completed = 0;
    const phases = new Map<string, number>();
    while (kills < 20) {
      if (++round > 80) throw new Error(`only ${kills} kills landed in 80 runs`);
      const run = start(db, folder);
      const delay = 40 + rand() * 1600;
      const timer = setTimeout(() => run.child.kill('SIGKILL'), delay);
      const r = await run.done;
      clearTimeout(timer);
      if (r.stderr.includes('resuming interrupted indexing job')) resumedSeen++;
      if (r.signal === 'SIGKILL') {
        kills++;
        // Where it was: the last progress line (plain lines, stderr is not a terminal).
        const lastLine = r.stderr.trim().split('\n').pop() ?? '';
        const where = /^(scanning|checking|encoding|finishing)/.exec(lastLine)?.[1] ?? 'starting';
        phases.set(where, (phases.get(where) ?? 0) + 1);
        continue;
      }
      completed++;
      expect(r.code, r.stderr).toBe(0);
      // The run finished before the kill: change the folder so the next run has work again
      // (new photos, a rename, a deletion, an edit).
      await copies(path.join(folder, `more-${round}`), 12, `m${round}`);
      const ps = (await fs.readdir(path.join(folder, 'photos'))).sort();
      if (ps.length > 2) {
        await fs.rename(path.join(folder, 'photos', ps[0]!), path.join(folder, `more-${round}`, `renamed-${ps[0]!}`));
        await fs.rm(path.join(folder, 'photos', ps[1]!));
        await fs.appendFile(path.join(folder, 'photos', ps[2]!), Buffer.from(`edit${round}`));
      }
    }
    // Finish: one run without interruption.
    const fin = await start(db, folder).done;
    expect(fin.code, fin.stderr).toBe(0);
    expect(resumedSeen).toBeGreaterThan(0);

    // The reference: an uninterrupted run over the same final folder, in a fresh library.
    const refDb = path.join(tmp, 'crash-ref.sqlite');
    const ref = await start(refDb, folder).done;
    expect(ref.code, ref.stderr).toBe(0);

    const a = Library.open(db, { readonly: true });
    const b = Library.open(refDb, { readonly: true });
    try {
      expect(connection(a).db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(jobRows(a, ['running', 'queued', 'paused'])).toEqual([]);
      const present = (l: Library): string[] => connection(l).db.prepare("SELECT path FROM images WHERE status = 'present' ORDER BY path").pluck().all() as string[];
      const onDisk = (await fs.readdir(folder, { recursive: true })).filter((p) => isImageName(p)).map((p) => path.join(folder, p)).sort();
      expect(present(a)).toEqual(onDisk); // each image present exactly once (paths are unique)
      expect(present(a)).toEqual(present(b));
      const [cfgA] = a.listConfigs();
      const [cfgB] = b.listConfigs();
      const ra = storedResults(a, cfgA!.id);
      const rb = storedResults(b, cfgB!.id);
      const presentSet = new Set(present(a));
      const raPresent = new Map([...ra].filter(([p]) => presentSet.has(p)));
      expect([...raPresent.keys()]).toEqual([...rb.keys()]);
      for (const [p, v] of rb) expect(raPresent.get(p), p).toEqual(v);
      const failures = (l: Library): Map<string, string> => new Map(l.failures().map((f) => [f.path, f.error]));
      expect(failures(a)).toEqual(failures(b));
    } finally {
      a.close();
      b.close();
    }
    expect(kills).toBeGreaterThanOrEqual(20);
    console.info(`kill -9: ${kills} kills in ${round} runs (${completed} runs finished first, ${resumedSeen} resumed an interrupted job); killed while ${[...phases].map(([k, v]) => `${k} x${v}`).join(', ')}`);
  }, 240_000);

  it('readers during indexing always see consistent data', async () => {
    const folder = path.join(tmp, 'readers');
    await copies(folder, 60, 'r');
    const db = path.join(tmp, 'readers.sqlite');
    const run = start(db, folder);
    let polls = 0;
    let partial = 0;
    let last = 0;
    let exited = false;
    void run.done.then(() => (exited = true));
    while (!exited) {
      await new Promise((r) => setTimeout(r, 15));
      let lib: Library;
      try {
        lib = Library.open(db, { readonly: true });
      } catch {
        continue; // not created (or not migrated) yet
      }
      try {
        // One read transaction: every statement sees the same snapshot.
        const snapshot = lib.read(() => {
          const config = lib.listConfigs()[0];
          if (!config) return null;
          const ids = connection(lib).db.prepare('SELECT image_id FROM results WHERE config_id = ?').pluck().all(config.id) as number[];
          const jobDone = connection(lib).db.prepare("SELECT COUNT(*) FROM index_job_items WHERE state = 'done'").pluck().get() as number;
          const running = jobRows(lib, ['running']).length;
          // Every result decodes completely, with the config's token count and embedding width.
          for (const id of ids) {
            const r = imageLatents(lib, config, id);
            expect(r.tokens.idx.length).toBe(config.tokens);
            expect(r.embedding.length).toBe(config.embeddingDim);
          }
          return { n: ids.length, jobDone, running };
        });
        if (!snapshot) continue;
        polls++;
        const { n } = snapshot;
        // Item states and results are written together: while the job runs they agree.
        if (snapshot.running === 1) expect(snapshot.jobDone).toBe(n);
        expect(n).toBeGreaterThanOrEqual(last); // never goes back
        if (n > 0 && n < 60) partial++;
        last = n;
      } finally {
        lib.close();
      }
    }
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    expect(last).toBe(60);
    expect(polls).toBeGreaterThan(10);
    expect(partial).toBeGreaterThan(3);
  });
});
