/**
 * `clipscope serve` as tests outside this repository use it: the first stdout line, the token,
 * 127.0.0.1 only, `--db`, and a clean stop on Ctrl-C.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/references.js';
import { runCli } from '../cli/run-cli.js';
import { Library } from '../../main/engine/store/library.js';

const LINE = /^Listening on http:\/\/127\.0\.0\.1:(\d+)\/\?token=([A-Za-z0-9_-]{16,})$/;
let tmp: string;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'clipscope-serve-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

function startServe(args: string[]): { child: ChildProcessWithoutNullStreams; firstLine: Promise<string>; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/clipscope.js'), 'serve', ...args], {
    env: { ...process.env, CLIPSCOPE_DATA_DIR: path.join(tmp, 'data'), CLIPSCOPE_CACHE_DIR: path.join(tmp, 'cache') },
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const firstLine = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.on('exit', (code) => reject(new Error(`serve exited (${code}) before listening: ${err}`)));
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, firstLine, exit };
}

describe('clipscope serve', () => {
  it('prints exactly `Listening on http://127.0.0.1:P/?token=T` first, serves the app behind the token, stops cleanly on Ctrl-C', async () => {
    const s = startServe([]);
    const line = await s.firstLine;
    const m = LINE.exec(line);
    expect(m, line).not.toBeNull();
    const [, port, token] = m!;

    const page = await fetch(line.replace('Listening on ', ''));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="root">');
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(401);

    const state = await fetch(`http://127.0.0.1:${port}/api/app.state`, { method: 'POST', headers: { 'x-clipscope-token': token! } });
    expect(await state.json()).toMatchObject({ ok: true, value: { library: null } });

    s.child.kill('SIGINT');
    expect(await s.exit).toBe(0);
  });

  it('opens the library named by --db, on the port asked for', async () => {
    const db = path.join(tmp, 'lib.sqlite');
    Library.open(db).close();
    const s = startServe(['--db', db, '--port', '0']);
    const [, port, token] = LINE.exec(await s.firstLine)!;
    const state = (await (await fetch(`http://127.0.0.1:${port}/api/app.state`, { method: 'POST', headers: { 'x-clipscope-token': token! } })).json()) as { value: { library: { file: string } } };
    expect(state.value.library.file).toBe(db);
    s.child.kill('SIGINT');
    expect(await s.exit).toBe(0);
  });

  it('refuses a --db that does not exist, naming it (exit 2)', async () => {
    const missing = path.join(tmp, 'missing.sqlite');
    const r = await runCli(['serve', '--db', missing]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${missing}: no such library file`);
    expect(r.stdout).toBe('');
  });
});
