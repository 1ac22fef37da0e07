/**
 * The query pool: real worker threads running the app's read queries on a real library file.
 * A request replaced by a newer one from the same view (channel) is dropped before it runs;
 * requests without a channel, or from other views, all run.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueryPool, supersedeKey } from '../../main/app/query-pool.js';
import { UserFacingError } from '../../main/engine/errors.js';
import { gallery } from '../../main/engine/queries/gallery.js';
import { Library } from '../../main/engine/store/library.js';
import { addSyntheticImages, SYNTH, tempDir } from '../engine/store/helpers.js';

let file: string;
let pool: QueryPool;

beforeAll(async () => {
  file = path.join(await tempDir('clipscope-pool-'), 'library.sqlite');
  const lib = Library.open(file);
  addSyntheticImages(lib, lib.ensureConfig(SYNTH), 300, 7);
  lib.close();
  pool = new QueryPool(1);
});
afterAll(async () => {
  await pool?.close();
});

/** A gallery request as the transports hand it over (parsed by the contract). */
const request = (feature: number, channel?: string) => ({ feature, token: 9, limit: 10, offset: 0, perQuantile: 6, ...(channel ? { channel } : {}) });
/** The feature of a gallery answer. */
const feature = (r: unknown) => (r as { feature: number }).feature;

describe('query pool', () => {
  it('keys requests by method and channel', () => {
    expect(supersedeKey('gallery.get', request(1, 'feature-page'))).toBe(supersedeKey('gallery.get', request(2, 'feature-page')));
    expect(supersedeKey('gallery.get', request(1, 'feature-page'))).not.toBe(supersedeKey('gallery.get', request(1, 'features-table')));
    expect(supersedeKey('gallery.get', request(1))).toBeNull();
  });

  it('drops a waiting request that a newer one from the same view replaces, and runs the rest', async () => {
    // One worker: the first request runs, the others wait (all sent in the same tick).
    const running = pool.query(file, 'gallery.get', request(0, 'feature-page'));
    const replaced = pool.query(file, 'gallery.get', request(1, 'feature-page'));
    const other = pool.query(file, 'gallery.get', request(2, 'features-table'));
    const plain = pool.query(file, 'gallery.get', request(3));
    const newest = pool.query(file, 'gallery.get', request(4, 'feature-page'));
    expect(pool.queued).toBe(3);
    const settled = await Promise.allSettled([running, replaced, other, plain, newest]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    const err = (settled[1] as PromiseRejectedResult).reason as UserFacingError;
    expect(err).toBeInstanceOf(UserFacingError);
    expect(err.message).toMatch(/newer request/);
    // The answers are the engine's, request by request.
    const lib = Library.open(file, { readonly: true });
    try {
      const config = lib.listConfigs()[0]!;
      for (const [i, f] of [[0, 0], [2, 2], [3, 3], [4, 4]] as const) {
        const want = gallery(lib, config, f, { token: 9, limit: 10 });
        const got = (settled[i] as PromiseFulfilledResult<{ items: unknown[]; feature: number }>).value;
        expect(got.feature).toBe(f);
        expect(got.items).toEqual(want.items.map((it) => ({ imageId: it.imageId, file: it.file, act: it.act, token: it.token })));
      }
    } finally {
      lib.close();
    }
    expect(pool.queued).toBe(0);
  });

  it('runs the newest burst of requests first, each burst in its own order', async () => {
    // A clock the test sets: requests 1-2 come at t = 0 (a view the user then left), 3-4 at t = 1000.
    let t = 0;
    const one = new QueryPool(1, { now: () => t });
    try {
      const done: number[] = [];
      const ask = (f: number) => one.query(file, 'gallery.get', request(f)).then((r) => done.push(feature(r)));
      const all = [ask(0), ask(1), ask(2)];
      t = 1000;
      all.push(ask(3), ask(4));
      await Promise.all(all);
      // 0 was already running; then the newer burst (3, 4), then the older (1, 2).
      expect(done).toEqual([0, 3, 4, 1, 2]);
    } finally {
      await one.close();
    }
  });
});
