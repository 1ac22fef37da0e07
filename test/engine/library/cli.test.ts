/**
 * The real `clipscope index` / `clipscope folders` bin, as a user runs it: JSON summary, exit
 * codes, progress, Ctrl-C, --watch and (as root) an unprivileged user. Crash safety: crash.test.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../cli/run-cli.js';
import { ROOT } from '../../helpers/references.js';
import { buildCorpus, releaseCorpus, type Corpus } from '../../../scripts/fixtures/corpus.js';
import { copies, TEST_CACHE, TINY } from './helpers.js';

const BIN = path.join(ROOT, 'bin/clipscope.js');
const MODEL_ARGS = ['--model', TINY.modelDir, '--sae', TINY.sae];
const KEYS = ['scanned', 'indexed', 'unchanged', 'moved', 'removed', 'failed', 'failures'];

let tmp: string;
let corpus: Corpus;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'clipscope-cli-index-'));
  await fs.chmod(tmp, 0o755);
  corpus = await buildCorpus(path.join(tmp, 'c'));
});

afterAll(async () => {
  await releaseCorpus(corpus);
  await fs.rm(tmp, { recursive: true, force: true });
});

function lastJson(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

describe('clipscope index', () => {
  it('prints the summary as the last stdout line, progress on stderr, exit 0 despite failed files', async () => {
    const db = path.join(tmp, 'cli.sqlite');
    const r = await runCli(['index', corpus.root, '--db', db, ...MODEL_ARGS, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = lastJson(r.stdout);
    expect(Object.keys(s)).toEqual(KEYS);
    const nIndexed = corpus.entries.filter((e) => e.expect === 'indexed').length;
    const nFailed = corpus.entries.filter((e) => e.expect === 'failed' || e.expect === 'problem').length;
    expect(s).toMatchObject({ indexed: nIndexed, unchanged: 0, moved: 0, removed: 0, failed: nFailed });
    const failures = s['failures'] as { file: string; error: string }[];
    expect(failures).toHaveLength(nFailed);
    expect(failures.find((f) => f.file === path.join(corpus.root, 'broken/empty.jpg'))?.error).toMatch(/empty file/);
    expect(r.stderr).toMatch(/encoding \d+\/\d+/); // plain progress lines (stderr is not a terminal)

    const again = await runCli(['index', corpus.root, '--db', db, ...MODEL_ARGS, '--json']);
    expect(again.code).toBe(0);
    expect(lastJson(again.stdout)).toMatchObject({ indexed: 0, unchanged: nIndexed, failed: nFailed });

    // Without --json: a readable summary; without folders: every folder of the library.
    const plain = await runCli(['index', '--db', db, ...MODEL_ARGS]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^indexed: 0 encoded, \d+ unchanged, 0 moved, 0 removed, \d+ failed/);

    const list = await runCli(['folders', 'list', '--db', db, '--json']);
    expect(JSON.parse(list.stdout)).toMatchObject([{ path: corpus.root, images: nIndexed + corpus.entries.filter((e) => e.expect === 'failed').length }]);
    const fails = await runCli(['folders', 'failures', '--db', db, '--json']);
    expect((JSON.parse(fails.stdout) as unknown[]).length).toBe(nFailed);
  });

  it('a re-run makes thumbnails lost from the cache again, and exits when done', async () => {
    const db = path.join(tmp, 'thumbs.sqlite');
    const env = { CLIPSCOPE_CACHE_DIR: path.join(tmp, 'cache-thumbs') };
    const thumbs = path.join(env.CLIPSCOPE_CACHE_DIR, 'thumbs');
    const photos = path.join(corpus.root, 'photos');
    const first = await runCli(['index', photos, '--db', db, ...MODEL_ARGS], { env });
    expect(first.code, first.stderr).toBe(0);
    const made = (await fs.readdir(thumbs)).sort();
    expect(made.length).toBeGreaterThan(2);
    for (const f of made) await fs.rm(path.join(thumbs, f));
    // No model is loaded: only the thumbnail process has work, and the run must wait for it.
    const again = await runCli(['index', photos, '--db', db, ...MODEL_ARGS], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(new RegExp(`thumbnails ${made.length}/${made.length}`));
    expect((await fs.readdir(thumbs)).sort()).toEqual(made);
  });

  it('draws a progress bar on a terminal', async () => {
    const db = path.join(tmp, 'tty.sqlite');
    const cmd = [process.execPath, BIN, 'index', path.join(corpus.root, 'photos'), '--db', db, ...MODEL_ARGS].map((a) => `'${a}'`).join(' ');
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn('script', ['-qec', cmd, '/dev/null'], { env: { ...process.env, CLIPSCOPE_CACHE_DIR: TEST_CACHE } });
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      child.on('error', reject);
      child.on('close', () => resolve(text));
    });
    expect(out).toMatch(/encoding +\[[█░]+\] \d+\/\d+ \| [\d.]+ \/s \| ETA/);
  });

  it('refuses unusable inputs with one sentence and exit 2', async () => {
    const db = path.join(tmp, 'bad.sqlite');
    const cases: [string[], RegExp][] = [
      [['index', corpus.root, '--db', db, '--model', path.join(tmp, 'no-model'), '--sae', TINY.sae], /no such model folder/],
      [['index', corpus.root, '--db', db, '--model', TINY.modelDir, '--sae', path.join(ROOT, 'test/fixtures/photos/rocket.jpg')], /rocket\.jpg/],
      [['index', path.join(tmp, 'no-such-folder'), '--db', db, ...MODEL_ARGS], /no such folder/],
      [['index', '--db', path.join(tmp, 'empty.sqlite'), ...MODEL_ARGS], /has no folders/],
    ];
    for (const [args, msg] of cases) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('clipscope:'))).toHaveLength(1);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack
    }
  });

  it('folders add / list / remove', async () => {
    const db = path.join(tmp, 'folders.sqlite');
    const a = path.join(corpus.root, 'photos');
    const b = path.join(corpus.root, 'odd');
    expect((await runCli(['folders', 'add', a, b, '--db', db])).code).toBe(0);
    expect((await runCli(['folders', 'add', a, '--db', db])).code).toBe(0); // idempotent
    expect(JSON.parse((await runCli(['folders', 'list', '--db', db, '--json'])).stdout).map((f: { path: string }) => f.path)).toEqual([b, a].sort());
    const idx = await runCli(['index', '--db', db, ...MODEL_ARGS, '--json']);
    expect(lastJson(idx.stdout)['indexed']).toBeGreaterThan(30);
    const rm = await runCli(['folders', 'remove', b, '--db', db]);
    expect(rm.code).toBe(0);
    expect((await runCli(['folders', 'list', '--db', db])).stdout).toMatch(new RegExp(`^${a.replace(/[/.]/g, '\\$&')}  \\d+ files`));
    const bad = await runCli(['folders', 'remove', path.join(tmp, 'never-added'), '--db', db]);
    expect(bad.code).toBe(2);
    expect((await runCli(['folders', 'add', path.join(tmp, 'nope'), '--db', db])).code).toBe(2);
  });
});

describe('clipscope index: Ctrl-C and --watch', () => {
  function spawnIndex(db: string, folder: string, extra: string[] = []): { child: ChildProcess; out: () => string; err: () => string; done: Promise<number | null> } {
    const child = spawn(process.execPath, [BIN, 'index', folder, '--db', db, ...MODEL_ARGS, '--json', ...extra], { env: { ...process.env, CLIPSCOPE_CACHE_DIR: TEST_CACHE } });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    return { child, out: () => stdout, err: () => stderr, done: new Promise((resolve) => child.on('close', (code) => resolve(code))) };
  }
  async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
    const t0 = Date.now();
    while (!cond()) {
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('Ctrl-C pauses after the current batch (exit 130); the same command resumes', async () => {
    const folder = path.join(tmp, 'sigint');
    await copies(folder, 50, 's');
    const db = path.join(tmp, 'sigint.sqlite');
    const run = spawnIndex(db, folder);
    await until(() => /encoding \d+\/50/.test(run.err()), 'the encode phase');
    await new Promise((r) => setTimeout(r, 300));
    run.child.kill('SIGINT');
    expect(await run.done).toBe(130);
    expect(run.err()).toMatch(/paused; run the same command again to resume/);
    const first = lastJson(run.out());
    expect(first['indexed']).toBeLessThan(50);
    const again = spawnIndex(db, folder);
    expect(await again.done).toBe(0);
    expect(again.err()).toMatch(/resuming interrupted indexing job/);
    expect(lastJson(again.out())).toMatchObject({ scanned: 50, indexed: 50, unchanged: 0, failed: 0 });
  });

  it('--watch indexes changes until Ctrl-C', async () => {
    const folder = path.join(tmp, 'watch');
    await copies(folder, 2, 'w');
    const db = path.join(tmp, 'watch.sqlite');
    const run = spawnIndex(db, folder, ['--watch']);
    await until(() => run.err().includes('watching 1 folder'), 'the watcher');
    expect(lastJson(run.out())).toMatchObject({ indexed: 2 });
    await fs.copyFile(path.join(ROOT, 'test/fixtures/photos/rocket.jpg'), path.join(folder, 'new.jpg'));
    await until(() => run.out().trim().split('\n').length >= 2, 'a second summary');
    expect(lastJson(run.out())).toMatchObject({ indexed: 1, unchanged: 2 });
    run.child.kill('SIGINT');
    expect(await run.done).toBe(0);
  });
});

describe.runIf(process.getuid?.() === 0)('as an unprivileged user (this suite runs as root, where permission bits do not apply)', () => {
  it('reports an unreadable file and an unreadable folder with a reason, and indexes the rest', async () => {
    const work = path.join(tmp, 'nobody');
    await fs.mkdir(path.join(work, 'cache'), { recursive: true });
    await fs.chmod(work, 0o777);
    await fs.chmod(path.join(work, 'cache'), 0o777);
    await fs.chmod(path.join(tmp, 'c'), 0o755);
    const checksum = async (f: string): Promise<string> => createHash('sha256').update(await fs.readFile(f)).digest('hex');
    const unreadable = path.join(corpus.root, 'special/unreadable.jpg');
    const before = await checksum(unreadable);
    const r = await runCli(['index', path.join(corpus.root, 'special'), path.join(corpus.root, 'photos'), '--db', path.join(work, 'lib.sqlite'), ...MODEL_ARGS, '--json'], {
      uid: 65534, gid: 65534, cwd: work, inheritEnv: false,
      env: { PATH: process.env['PATH'], HOME: work, CLIPSCOPE_CACHE_DIR: path.join(work, 'cache') },
    });
    expect(r.code, r.stderr).toBe(0);
    const s = lastJson(r.stdout) as { indexed: number; failures: { file: string; error: string }[] };
    const reasons = new Map(s.failures.map((f) => [f.file, f.error]));
    expect(reasons.get(unreadable)).toMatch(/permission denied/);
    expect(reasons.get(path.join(corpus.root, 'special/locked'))).toMatch(/permission denied \(cannot list this folder\)/);
    expect(reasons.get(path.join(corpus.root, 'special/pipe.jpg'))).toMatch(/not a regular file/);
    expect(s.indexed).toBe(corpus.entries.filter((e) => e.expect === 'indexed' && (e.rel.startsWith('photos/') || e.rel === 'special/folder.jpg/inside.png')).length);
    expect(await checksum(unreadable)).toBe(before);
    expect((await fs.stat(unreadable)).mode & 0o777).toBe(0);
  });
});
