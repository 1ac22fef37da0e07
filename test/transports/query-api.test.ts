/**
 * `query.run` through both transports on the indexed demo library (real photos, the demo model),
 * against `clipscope query ... --json` on the same library file: an AND with a minimum
 * activation, an OR with a NOT that removes photos, a region, a folder + date sort, and bad
 * requests answered 400 with the field named.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppState, ImageDetails, QueryRequest, QueryResult } from '../../common/contract/index.js';
import { runCli } from '../cli/run-cli.js';
import { envelope, startTransports, valueOf, type Transports } from './harness.js';

let t: Transports;
let db: string;
let photosDir: string;
let images: ImageDetails[];

beforeAll(async () => {
  t = await startTransports('clipscope-query-api-');
  const done = t.waitForStatus((s) => s.job?.state === 'done');
  const state = valueOf<AppState>(await t.viaHttp('demo.setup'));
  db = state.library!.file;
  photosDir = state.library!.folders[0]!.path;
  await done;
  images = [];
  for (let id = 1; id <= 5; id++) images.push(valueOf<ImageDetails>(await t.viaHttp('image.get', { imageId: id })));
});
afterAll(async () => {
  await t?.close();
});

/** `clipscope query` with these options, --json. */
async function cli(args: string[]): Promise<unknown[]> {
  const r = await runCli(['query', ...args, '--db', db, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as unknown[];
}

/** The API's answer through both transports (equal), shaped as the CLI's --json prints it. */
async function api(request: QueryRequest): Promise<{ result: QueryResult; printed: unknown[] }> {
  const r = await t.both('query.run', request);
  expect(r.http.status).toBe(200);
  expect(envelope(r.http)).toEqual(r.ipc);
  const result = valueOf<QueryResult>(r.ipc);
  return { result, printed: result.items.map((h) => ({ file: h.file, score: h.score, date: new Date(h.date).toISOString(), features: h.features })) };
}

const firesOn = (img: ImageDetails, feature: number, min = 0) => img.pooled.some((p) => p.feature === feature && p.act > min);

describe('query.run equals `clipscope query --json`', () => {
  it('an AND of two features, one with a minimum activation', async () => {
    const [a, b] = images[0]!.pooled;
    const min = Number((b!.act / 2).toFixed(3));
    const { result, printed } = await api({ all: [{ feature: a!.feature }, { feature: b!.feature, minAct: min }] });
    expect(printed).toEqual(await cli(['--all', `${a!.feature},${b!.feature}:${min}`]));
    expect(result.items.map((h) => h.imageId)).toContain(images[0]!.imageId);
    expect(result.total).toBe(images.filter((img) => firesOn(img, a!.feature) && img.pooled.some((p) => p.feature === b!.feature && p.act >= min)).length);
    expect(result).toMatchObject({ layer: 2, configId: 1 });
  });

  it('an OR with a NOT that removes some of its photos', async () => {
    const any = [images[0]!.pooled[0]!.feature, images[1]!.pooled[0]!.feature];
    const without = await api({ any: any.map((feature) => ({ feature })) });
    expect(without.printed).toEqual(await cli(['--any', any.join(',')]));
    const hits = without.result.items.map((h) => images.find((img) => img.imageId === h.imageId)!);
    expect(hits.length).toBeGreaterThan(1);
    // A feature on the first hit that some other hit lacks: NOT it removes the first, keeps that one.
    const not = hits[0]!.pooled.find((p) => !any.includes(p.feature) && hits.some((h) => !firesOn(h, p.feature)))!.feature;
    const { result, printed } = await api({ any: any.map((feature) => ({ feature })), not: [{ feature: not }] });
    expect(printed).toEqual(await cli(['--any', any.join(','), '--not', String(not)]));
    expect(result.items.map((h) => h.imageId)).toEqual(hits.filter((h) => !firesOn(h, not)).map((h) => h.imageId));
    expect(result.items.length).toBeGreaterThan(0);
    expect(result.items.length).toBeLessThan(hits.length);
  });

  it('a region (with the CLS token): the features fire inside it', async () => {
    const feature = images[2]!.tokens.idx[1]![0]!; // strongest at patch 0,0 of the third photo
    const { result, printed } = await api({ all: [{ feature }], regions: [[0, 3, 0, 3]], tokens: [0] });
    expect(printed).toEqual(await cli(['--all', String(feature), '--region', '0-3x0-3', '--tokens', 'cls']));
    expect(result.items.map((h) => h.imageId)).toContain(images[2]!.imageId);
    const inRegion = (tok: number) => tok === 0 || (Math.floor((tok - 1) / 16) <= 3 && (tok - 1) % 16 <= 3);
    for (const h of result.items) for (const f of h.features) expect(inRegion(f.token), `token ${f.token}`).toBe(true);
  });

  it('a folder and a date range, newest first, a page at an offset', async () => {
    const any = images.map((img) => ({ feature: img.pooled[0]!.feature }));
    const args = ['--any', any.map((a) => a.feature).join(','), '--folder', photosDir, '--after', '2000-01-01', '--sort', 'date', '--limit', '2', '--offset', '1'];
    const { printed } = await api({ any, folder: photosDir, after: Date.parse('2000-01-01'), sort: 'date', limit: 2, offset: 1 });
    expect(printed).toEqual(await cli(args));
    expect(printed.length).toBe(2);
    const none = await api({ any, folder: path.join(photosDir, 'nowhere') });
    expect(none.result).toMatchObject({ total: 0, items: [] });
  });
});

describe('bad queries', () => {
  it('an invalid term is a 400 that names the field', async () => {
    const r = await t.both('query.run', { all: [{ feature: -1 }] });
    expect(r.http.status).toBe(400);
    expect(envelope(r.http)).toEqual(r.ipc);
    expect(r.ipc).toMatchObject({ ok: false, error: { kind: 'user', code: 'invalid-request', message: expect.stringContaining('all.0.feature') } });
    const noTerms = await t.viaHttp('query.run', { region: [[0, 3, 0, 3]] });
    expect(noTerms).toMatchObject({ status: 400, ok: false, error: { message: expect.stringContaining('region') } });
    const empty = await t.viaHttp('query.run', { all: [] });
    expect(empty).toMatchObject({ status: 400, ok: false, error: { message: expect.stringContaining('a query needs at least one ALL, ANY or NOT term') } });
  });

  it('a feature or a region the library does not have is a user error saying which', async () => {
    const feature = await t.viaHttp('query.run', { all: [{ feature: 999_999 }] });
    expect(feature).toMatchObject({ status: 422, ok: false, error: { kind: 'user', message: expect.stringContaining('feature 999999') } });
    const region = await t.viaHttp('query.run', { all: [{ feature: 1 }], regions: [[0, 16, 0, 3]] });
    expect(region).toMatchObject({ status: 422, ok: false, error: { kind: 'user', message: expect.stringContaining('outside the 16x16 patch grid') } });
  });
});
