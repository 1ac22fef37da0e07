/**
 * Bounded, cursor-paged reads over HTTP (what the Feature and Query views do): a patch-token
 * gallery and a region query asked with a small `maxReads`, each `cursor` passed back until none
 * comes, give exactly the unbounded answer (photos, order, values, total). The library: the demo
 * photos and crops / mirror images of them (real photos), indexed with the demo model.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppState, GalleryResult, ImageDetails, QueryRequest, QueryResult } from '../../common/contract/index.js';
import { demoDir } from '../../main/engine/models/demo.js';
import { startTransports, valueOf, type Reply, type Transports } from './harness.js';

const demo = demoDir()!;
const MODEL = path.join(demo, 'clip');
const SAE = path.join(demo, 'sae', '2_resid', '10280.pt');

let t: Transports;
let images: ImageDetails[];

/** Crops and mirror images of each demo photo: a library big enough for scans to stop early. */
async function derivedPhotos(dir: string): Promise<number> {
  await fs.mkdir(dir, { recursive: true });
  const sources = (await fs.readdir(path.join(demo, 'photos'))).filter((f) => /\.(png|jpe?g)$/i.test(f));
  let n = 0;
  for (const name of sources) {
    const src = path.join(demo, 'photos', name);
    const { width, height } = await sharp(src).metadata();
    const side = Math.min(width!, height!);
    const crops: [number, number, number][] = [[0, 0, 0.6], [1, 1, 0.6], [0.5, 0.5, 0.5], [1, 0, 0.75], [0, 1, 0.8], [0.3, 0.7, 0.45]];
    for (const [i, [fx, fy, scale]] of crops.entries()) {
      const s = Math.round(side * scale);
      const left = Math.round((width! - s) * fx);
      const top = Math.round((height! - s) * fy);
      const base = path.parse(name).name;
      await sharp(src).extract({ left, top, width: s, height: s }).jpeg({ quality: 90 }).toFile(path.join(dir, `${base}-crop${i}.jpg`));
      await sharp(src).extract({ left, top, width: s, height: s }).flop().jpeg({ quality: 90 }).toFile(path.join(dir, `${base}-crop${i}-mirror.jpg`));
      n += 2;
    }
  }
  return n;
}

beforeAll(async () => {
  t = await startTransports('clipscope-paging-api-');
  const done = t.waitForStatus((s) => s.job?.state === 'done');
  valueOf<AppState>(await t.viaHttp('demo.setup'));
  const firstJob = (await done).job!.id;
  const more = path.join(t.tmp, 'derived');
  const added = await derivedPhotos(more);
  const second = t.waitForStatus((s) => s.job?.state === 'done' && s.job.id !== firstJob);
  expect(await t.viaHttp('index.start', { model: MODEL, sae: SAE, folders: [more] })).toMatchObject({ ok: true });
  await second;
  const state = valueOf<AppState>(await t.viaHttp('app.state'));
  expect(state.library!.images).toBeGreaterThanOrEqual(5 + added);
  images = [];
  for (let id = 1; id <= state.library!.images; id++) images.push(valueOf<ImageDetails>(await t.viaHttp('image.get', { imageId: id })));
}, 300_000);
afterAll(async () => {
  await t?.close();
});

function ok<T>(r: Reply): T {
  expect(r.status, JSON.stringify(r)).toBe(200);
  return valueOf<T>(r);
}

/** Every answer of a request until one comes without a cursor: the items in order, the calls made. */
async function follow<T extends { items: unknown[]; total: number | null; cursor?: string }>(method: string, request: object): Promise<{ items: T['items']; total: number | null; calls: number; early: number }> {
  const items: T['items'] = [];
  let cursor: string | undefined;
  // Answers that carried photos while a cursor remained: results arriving page by page.
  let early = 0;
  for (let calls = 1; calls < 10_000; calls++) {
    const r = ok<T>(await t.viaHttp(method, { ...request, ...(cursor === undefined ? {} : { cursor }) }));
    items.push(...r.items);
    if (r.cursor === undefined) return { items, total: r.total, calls, early };
    expect(r.total).toBeNull();
    if (r.items.length) early++;
    cursor = r.cursor;
  }
  throw new Error(`${method}: the cursors do not end`);
}

/** The features and patch tokens with the most photos: a gallery with an order worth keeping. */
function widePatchGalleries(): { feature: number; token: number; photos: number }[] {
  const count = new Map<string, number>();
  for (const img of images) {
    for (let tok = 1; tok < img.tokens.idx.length; tok++) {
      for (const f of img.tokens.idx[tok]!) count.set(`${f}:${tok}`, (count.get(`${f}:${tok}`) ?? 0) + 1);
    }
  }
  return [...count].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, photos]) => {
    const [feature, token] = k.split(':').map(Number);
    return { feature: feature!, token: token!, photos };
  });
}

describe('gallery.get with maxReads and cursor (a patch token)', () => {
  it('gives, cursor after cursor, exactly the unbounded gallery: photos, order, values and total', async () => {
    let multiCall = 0;
    let early = 0;
    for (const { feature, token, photos } of widePatchGalleries()) {
      expect(photos).toBeGreaterThanOrEqual(5);
      for (const [offset, limit] of [[0, 1000], [0, 4], [2, 5]] as const) {
        const request = { feature, token, offset, limit };
        const whole = ok<GalleryResult>(await t.viaHttp('gallery.get', request));
        expect(whole.cursor).toBeUndefined();
        if (limit === 1000) {
          expect(whole.total).toBe(photos);
          // Strongest first, each photo's value at that token as image.get has it.
          for (const it of whole.items) {
            const img = images.find((i) => i.imageId === it.imageId)!;
            expect(it.act).toBe(img.tokens.val[token]![img.tokens.idx[token]!.indexOf(feature)]);
            expect(it.token).toBe(token);
          }
          expect(whole.items.map((i) => i.act)).toEqual(whole.items.map((i) => i.act).sort((a, b) => b - a));
        }
        for (const maxReads of [1, 3]) {
          const paged = await follow<GalleryResult>('gallery.get', { ...request, maxReads, channel: 'paging-test' });
          expect(paged.items).toEqual(whole.items);
          expect(paged.total).toBe(whole.total);
          if (paged.calls > 1) multiCall++;
          early += paged.early;
        }
        // A time budget (as the app asks: maxReads and maxMs) joins up exactly too.
        const timed = await follow<GalleryResult>('gallery.get', { ...request, maxReads: 3, maxMs: 1, channel: 'paging-test' });
        expect(timed.items).toEqual(whole.items);
        expect(timed.total).toBe(whole.total);
      }
    }
    // The bound really cut the scans into several answers, some with photos before the end.
    expect(multiCall).toBeGreaterThan(5);
    expect(early).toBeGreaterThan(0);
  });

  it("refuses another request's cursor, naming it", async () => {
    const { feature, token } = widePatchGalleries()[0]!;
    const first = ok<GalleryResult>(await t.viaHttp('gallery.get', { feature, token, limit: 1000, maxReads: 1 }));
    expect(first.cursor).toBeDefined();
    const r = await t.viaHttp('gallery.get', { feature, token: token === 1 ? 2 : 1, limit: 1000, maxReads: 1, cursor: first.cursor });
    expect(r.status).toBe(422);
    expect(r).toMatchObject({ ok: false, error: { kind: 'user', message: expect.stringContaining('cursor belongs to another request') } });
  });
});

describe('query.run with maxReads and cursor (a region)', () => {
  /** Two features that fire together in the top-left quarter of several photos. */
  function pairInQuarter(): [number, number] {
    const quarter: number[] = [];
    for (let r = 0; r < 8; r++) for (let c = 0; c < 8; c++) quarter.push(1 + 16 * r + c);
    const per = images.map((img) => new Set(quarter.flatMap((tok) => img.tokens.idx[tok]!)));
    const counts = new Map<number, number>();
    for (const s of per) for (const f of s) counts.set(f, (counts.get(f) ?? 0) + 1);
    const common = [...counts].sort((a, b) => b[1] - a[1]).map(([f]) => f);
    let best: [number, number] = [common[0]!, common[1]!];
    let bestN = 0;
    for (const a of common.slice(0, 8)) {
      for (const b of common.slice(0, 8)) {
        if (a >= b) continue;
        const n = per.filter((s) => s.has(a) && s.has(b)).length;
        if (n > bestN && n < images.length) [best, bestN] = [[a, b], n];
      }
    }
    expect(bestN).toBeGreaterThanOrEqual(5);
    return best;
  }

  it('gives, cursor after cursor, exactly the unbounded query: photos, order, scores and total', async () => {
    const [a, b] = pairInQuarter();
    const queries: QueryRequest[] = [
      { all: [{ feature: a }, { feature: b }], regions: [[0, 7, 0, 7]] },
      { any: [{ feature: a }, { feature: b }], regions: [[0, 7, 0, 7], [12, 15, 12, 15]] },
      { all: [{ feature: a }], not: [{ feature: b }], regions: [[0, 7, 0, 7]], sort: 'date' },
      { all: [{ feature: a }], regions: [[4, 11, 4, 11]], tokens: [0] },
    ];
    let multiCall = 0;
    let nonEmpty = 0;
    for (const q of queries) {
      for (const [offset, limit] of [[0, 1000], [0, 3], [2, 4]] as const) {
        const whole = ok<QueryResult>(await t.viaHttp('query.run', { ...q, offset, limit }));
        expect(whole.cursor).toBeUndefined();
        if (limit === 1000) nonEmpty += whole.items.length > 0 ? 1 : 0;
        for (const maxReads of [1, 4]) {
          const paged = await follow<QueryResult>('query.run', { ...q, offset, limit, maxReads, channel: 'paging-test' });
          expect(paged.items).toEqual(whole.items);
          expect(paged.total).toBe(whole.total);
          if (paged.calls > 1) multiCall++;
        }
      }
    }
    expect(nonEmpty).toBeGreaterThanOrEqual(3);
    expect(multiCall).toBeGreaterThan(5);
  });

  it("refuses another query's cursor, naming it", async () => {
    const [a, b] = pairInQuarter();
    const q = { all: [{ feature: a }, { feature: b }], regions: [[0, 7, 0, 7]], limit: 50, maxReads: 1 };
    const first = ok<QueryResult>(await t.viaHttp('query.run', q));
    expect(first.cursor).toBeDefined();
    const r = await t.viaHttp('query.run', { ...q, limit: 51, cursor: first.cursor });
    expect(r.status).toBe(422);
    expect(r).toMatchObject({ ok: false, error: { kind: 'user', message: expect.stringContaining('cursor belongs to another query') } });
  });
});
