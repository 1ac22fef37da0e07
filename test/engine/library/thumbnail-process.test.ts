import { existsSync, readdirSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ThumbnailProcess } from '../../../main/engine/library/thumbnail-process.js';
import { THUMB_JPEG, thumbnailPath } from '../../../main/engine/library/thumbnails.js';
import { loadImageRgb, type RgbImage } from '../../../main/engine/imaging/decode.js';
import { ROOT } from '../../helpers/references.js';

let tmp: string;
let photo: RgbImage;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'clipscope-thumbproc-'));
  const { data, info } = await sharp(path.join(ROOT, 'test/fixtures/photos/rocket.jpg')).resize(335, 224).raw().toBuffer({ resolveWithObject: true });
  photo = { data: new Uint8Array(data), width: info.width, height: info.height };
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

/** Nice value of every thread of a process (Linux). */
function niceOfThreads(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => Number(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]));
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('ThumbnailProcess', () => {
  it('writes thumbnails from another process, every thread of it at the lowest priority', async () => {
    const dir = path.join(tmp, 'a');
    const t = await ThumbnailProcess.open();
    const pid = t.pid!;
    expect(pid).not.toBe(process.pid);
    try {
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => t.write(photo, `p${i}`, dir)));
      expect(results.every((r) => r.thumbnail === 'written'), JSON.stringify(results[0])).toBe(true);
      expect(await t.write(photo, 'p0', dir)).toEqual({ thumbnail: 'exists' });
      // The pixels sent, JPEG-encoded as they are.
      const expected = await sharp(photo.data, { raw: { width: photo.width, height: photo.height, channels: 3 } }).jpeg(THUMB_JPEG).toBuffer();
      expect((await fs.readFile(thumbnailPath('p3', dir))).equals(expected)).toBe(true);
      if (process.platform === 'linux') {
        // Threads started after start-up (libuv's pool, libvips' workers) inherited it.
        const nice = niceOfThreads(pid);
        expect(nice.length).toBeGreaterThan(3);
        expect(new Set(nice)).toEqual(new Set([os.constants.priority.PRIORITY_LOW]));
      }
    } finally {
      await t.close();
    }
    expect(alive(pid)).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `p${i}.jpg`).sort());
  });

  it('reports thumbnails lost to a crash of the process and starts a new one', async () => {
    const dir = path.join(tmp, 'b');
    const t = await ThumbnailProcess.open();
    try {
      const first = t.pid!;
      const lost = Promise.all(Array.from({ length: 40 }, (_, i) => t.write(photo, `q${i}`, dir)));
      process.kill(first, 'SIGKILL');
      const results = await lost;
      const failed = results.filter((r) => r.thumbnail === 'failed');
      expect(failed.length).toBeGreaterThan(0);
      expect(failed[0]!.thumbnailError).toMatch(/thumbnail process stopped \(SIGKILL\)/);
      // No half-written thumbnail is left; the ones reported written exist.
      results.forEach((r, i) => expect(existsSync(thumbnailPath(`q${i}`, dir)), `q${i}`).toBe(r.thumbnail === 'written'));
      if (existsSync(dir)) expect(readdirSync(dir).every((f) => f.endsWith('.jpg'))).toBe(true);
      // The next thumbnail starts a new process.
      expect(await t.write(photo, 'after', dir)).toEqual({ thumbnail: 'written' });
      expect(t.pid).not.toBe(first);
    } finally {
      await t.close();
    }
  });

  it('makes the thumbnail itself, inside its guard, when no process can be started', async () => {
    const dir = path.join(tmp, 'c');
    let guarded = 0;
    const t = await ThumbnailProcess.open(async (fn) => {
      guarded++;
      return fn();
    });
    try {
      // Three crashes in a row: it stops starting processes and writes in this one.
      for (let i = 0; i < 3; i++) {
        const pid = t.pid!;
        const w = t.write(photo, `crash${i}`, dir);
        process.kill(pid, 'SIGKILL');
        await w;
        if (i < 2) await t.write(photo, `restart${i}`, dir);
      }
      expect(t.pid).toBeUndefined();
      expect(guarded).toBe(0);
      expect(await t.write(photo, 'here', dir)).toEqual({ thumbnail: 'written' });
      expect(t.pid).toBeUndefined();
      expect(guarded).toBe(1);
      const decoded = await loadImageRgb(thumbnailPath('here', dir));
      expect([decoded.width, decoded.height]).toEqual([photo.width, photo.height]);
    } finally {
      await t.close();
    }
  });
});
