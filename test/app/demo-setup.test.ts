/**
 * `demo.setup` keeps one demo library in the per-user data folder. Another checkout (or an older
 * install) that ran the demo leaves its own demo photo folder in it; this checkout's setup must
 * replace that folder, present or gone, with its own and purge its photos and results, so the
 * demo shows its 5 photos, not 10. Real engine hosts (worker threads) on one libraries folder,
 * the real demo model, real photos.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppState, IndexStatus } from '../../common/contract/index.js';
import { demoDir } from '../../main/engine/models/demo.js';
import { statement } from '../../main/engine/store/connection.js';
import { Library } from '../../main/engine/store/library.js';
import { startEngineThread } from '../../main/host/engine-client.js';

const demo = demoDir()!;
let tmp: string;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'clipscope-demo-setup-'));
  process.env['CLIPSCOPE_DATA_DIR'] = path.join(tmp, 'data');
});
afterAll(async () => {
  delete process.env['CLIPSCOPE_DEMO_DIR'];
  await fs.rm(tmp, { recursive: true, force: true });
});

/** A copy of the demo as another checkout holds it: its own photos, the same model files. */
async function otherCheckout(name: string): Promise<string> {
  const dir = path.join(tmp, name, 'resources', 'demo');
  await fs.mkdir(dir, { recursive: true });
  await fs.copyFile(path.join(demo, 'demo.json'), path.join(dir, 'demo.json'));
  await fs.cp(path.join(demo, 'photos'), path.join(dir, 'photos'), { recursive: true });
  await fs.symlink(path.join(demo, 'clip'), path.join(dir, 'clip'));
  await fs.symlink(path.join(demo, 'sae'), path.join(dir, 'sae'));
  return dir;
}

interface Outcome { folders: string[]; images: number; rows: { images: number; results: number } }

/** One app session with `dir` as its demo: `demo.setup`, its indexing to the end, what the library holds. */
async function setUp(dir: string): Promise<Outcome> {
  // The host is a worker thread: it takes this environment as it is when it starts.
  process.env['CLIPSCOPE_DEMO_DIR'] = dir;
  const engine = startEngineThread({ settingsFile: path.join(tmp, 'settings.json'), librariesDir: path.join(tmp, 'libraries'), thumbDir: path.join(tmp, 'thumbs') });
  let file: string;
  try {
    await engine.ready;
    const done = new Promise<void>((resolve) => {
      const off = engine.onEvent((event, payload) => {
        if (event === 'index.status' && (payload as IndexStatus).job?.state === 'done') {
          off();
          resolve();
        }
      });
    });
    const r = await engine.call('demo.setup', undefined);
    if (!r.ok) throw new Error(r.error.message);
    await done;
    const state = await engine.call('app.state', undefined);
    if (!state.ok) throw new Error(state.error.message);
    const lib = (state.value as AppState).library!;
    file = lib.file;
    expect(path.basename(file)).toBe('demo-library.sqlite');
    const out = { folders: lib.folders.map((f) => f.path), images: lib.images };
    await engine.close();
    const db = Library.open(file);
    try {
      const count = (sql: string) => statement<number>(db, sql).pluck().get() as number;
      return { ...out, rows: { images: count('SELECT count(*) FROM images'), results: count('SELECT count(*) FROM results') } };
    } finally {
      db.close();
    }
  } catch (e) {
    await engine.close();
    throw e;
  }
}

describe('demo.setup', () => {
  it("replaces another checkout's demo folder, present or gone, with this one's and purges its photos", async () => {
    const here = path.join(demo, 'photos');
    const photos = (await fs.readdir(here)).filter((f) => /\.(png|jpe?g)$/i.test(f)).length;
    expect(photos).toBeGreaterThan(0);
    const one = await otherCheckout('checkout-one');
    expect(await setUp(one)).toEqual({ folders: [path.join(one, 'photos')], images: photos, rows: { images: photos, results: photos } });

    // The other checkout still there: its folder is another checkout's demo, not this one's.
    expect(await setUp(demo)).toEqual({ folders: [here], images: photos, rows: { images: photos, results: photos } });

    // A checkout that ran the demo and was deleted since.
    const two = await otherCheckout('checkout-two');
    expect((await setUp(two)).folders).toEqual([path.join(two, 'photos')]);
    await fs.rm(path.join(tmp, 'checkout-two'), { recursive: true });
    expect(await setUp(demo)).toEqual({ folders: [here], images: photos, rows: { images: photos, results: photos } });
  }, 600_000);
});
