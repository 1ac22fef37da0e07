/**
 * What closing the app's last window does to a running indexing job, on a real engine host (a
 * worker thread running the app service) indexing real photos with the tiny test model: with
 * "keep indexing in the background" the job runs to its end and only then may the app quit;
 * without it the app quits at once and the engine pauses the job after its batch.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ApiResult, IndexStatus } from '../../common/contract/index.js';
import { afterLastWindowClosed } from '../../main/electron/background-indexing.js';
import { startEngineThread, type EngineClient } from '../../main/host/engine-client.js';
import { openLibrary } from '../../main/engine/store/library.js';
import { jobRows } from '../../main/engine/store/job-rows.js';
import { ROOT } from '../helpers/references.js';
import { TINY } from '../engine/library/helpers.js';

let photos: string;
let engine: EngineClient | null = null;

beforeAll(async () => {
  // Enough photos that the job is still running when the window "closes" right after it starts.
  photos = await fs.mkdtemp(path.join(os.tmpdir(), 'clipscope-background-photos-'));
  const src = path.join(ROOT, 'test/fixtures/imaging/inputs');
  for (const f of (await fs.readdir(src)).filter((x) => /\.(jpg|png)$/.test(x))) await fs.copyFile(path.join(src, f), path.join(photos, f));
});

afterEach(async () => {
  await engine?.close();
  engine = null;
});

const value = <T>(r: ApiResult<unknown>): T => {
  if (!r.ok) throw new Error(r.error.message);
  return r.value as T;
};

/** A fresh engine host with its own settings file, indexing `photos` into a new library. */
async function startIndexing(keepIndexingInBackground: boolean): Promise<{ engine: EngineClient; db: string; settingsFile: string }> {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'clipscope-background-'));
  const settingsFile = path.join(tmp, 'settings.json');
  const e = startEngineThread({ settingsFile, thumbDir: path.join(tmp, 'thumbs'), librariesDir: tmp });
  engine = e;
  await e.ready;
  expect(value(await e.call('settings.set', { keepIndexingInBackground }))).toEqual({ keepIndexingInBackground });
  const db = path.join(tmp, 'library.sqlite');
  value(await e.call('library.create', { file: db }));
  value(await e.call('folders.add', { path: photos }));
  const started = value<IndexStatus>(await e.call('index.start', { model: TINY.modelDir, sae: TINY.sae }));
  expect(started.job?.state).toBe('running');
  return { engine: e, db, settingsFile };
}

describe('closing the last window during indexing', () => {
  it('keeps the job running to its end when the user chose so, and only then lets the app quit', async () => {
    const { engine: e, db } = await startIndexing(true);
    let quitAt: IndexStatus | null = null;
    let quitted!: () => void;
    const quit = new Promise<void>((resolve) => (quitted = resolve));
    const outcome = await afterLastWindowClosed(e, () => {
      void e.call('index.status', undefined).then((r) => {
        quitAt = value<IndexStatus>(r);
        quitted();
      });
    });
    expect(outcome).toBe('background');
    expect(quitAt).toBeNull();
    expect(value<IndexStatus>(await e.call('index.status', undefined)).job?.state).toBe('running');
    await quit;
    expect(quitAt!.job?.state).toBe('done');
    expect(quitAt!.job?.summary?.indexed).toBeGreaterThan(0);
    await e.close();
    engine = null;
    const lib = openLibrary(db);
    try {
      expect(jobRows(lib, []).map((j) => j.state)).toEqual(['done']);
    } finally {
      lib.close();
    }
  }, 180_000);

  it('pauses the job after its batch when the user did not choose so; the next start resumes it', async () => {
    const { engine: e, db, settingsFile } = await startIndexing(false);
    let closed: Promise<void> | null = null;
    const outcome = await afterLastWindowClosed(e, () => (closed = e.close()));
    expect(outcome).toBe('quit');
    expect(closed).not.toBeNull();
    await closed;
    engine = null;
    const lib = openLibrary(db);
    try {
      const [job] = jobRows(lib, []);
      expect(job?.state).toBe('paused');
      // The app remembers it and resumes it when the library opens again.
      const settings = JSON.parse(await fs.readFile(settingsFile, 'utf8')) as { resumeOnOpen: Record<string, number> };
      expect(settings.resumeOnOpen[db]).toBe(job?.id);
    } finally {
      lib.close();
    }
  }, 180_000);
});
