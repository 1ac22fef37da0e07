import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryImages } from '../../main/engine/queries/feature-query.js';
import { gallery } from '../../main/engine/queries/gallery.js';
import { libraryMetrics } from '../../main/engine/queries/metrics.js';
import { Library, type ConfigRow, type WritableLibrary } from '../../main/engine/store/library.js';
import { addFixturePhotos, encodeFixturePhotos, MODEL, resultOf, SAE, tempDir, type EncodedPhoto } from '../engine/store/helpers.js';
import { runCli } from './run-cli.js';

let dir: string;
let db: string;
let twoConfigs: string;
let photos: EncodedPhoto[];
let lib: WritableLibrary;
let config: ConfigRow;

beforeAll(async () => {
  dir = await tempDir('clipscope-cli-store-');
  db = path.join(dir, 'library.sqlite');
  const enc = await encodeFixturePhotos();
  photos = enc.photos;
  lib = Library.open(db);
  config = lib.ensureConfig(enc.config);
  addFixturePhotos(lib, config, photos, (i) => Date.UTC(2021, i, 1));
  lib.refreshFeatureStats(config.id);
  // A second library where two configurations share layer 2.
  twoConfigs = path.join(dir, 'two.sqlite');
  const two = Library.open(twoConfigs);
  const f2 = two.addFolder(path.dirname(photos[0]!.file));
  const id = two.insertImage({ path: photos[0]!.file, folderId: f2.id, size: 1, mtimeMs: 1, hash: 'h', width: null, height: null, capturedAt: null }).id;
  for (const normalization of ['raw', 'standardized'] as const) two.writeResults(two.ensureConfig({ ...enc.config, normalization }).id, [resultOf(id, photos[0]!.image)]);
  two.close();
});
afterAll(() => lib?.close());

const json = <T>(stdout: string): T => JSON.parse(stdout) as T;

describe('clipscope gallery', () => {
  it('prints [{"file", "act", "token"}] strongest first, as the engine orders them', async () => {
    for (const token of ['any', 'cls', '137']) {
      const r = await runCli(['gallery', '5', '--db', db, '--token', token, '--json', '--limit', '100']);
      expect(r.code, r.stderr).toBe(0);
      const rows = json<{ file: string; act: number; token: number }[]>(r.stdout);
      const want = gallery(lib, config, 5, { token: token === 'any' || token === 'cls' ? token : Number(token), limit: 100 }).items;
      expect(rows).toEqual(want.map((w) => ({ file: w.file, act: w.act, token: w.token })));
      expect(Object.keys(rows[0] ?? { file: 0, act: 0, token: 0 })).toEqual(['file', 'act', 'token']);
    }
  });

  it('prints a readable list without --json', async () => {
    const r = await runCli(['gallery', '5', '--db', db, '--layer', '2', '--limit', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^feature 5 on any token, layer 2: \d+ images\n\s+[\d.]+\s+\d+\s+\/.*\.(png|jpg)\n/);
  });
});

describe('clipscope image', () => {
  it('prints the stored tokens exactly as encode --json does, within float16 rounding', async () => {
    const file = photos[2]!.file;
    const [stored, encoded] = await Promise.all([
      runCli(['image', file, '--db', db, '--json']),
      runCli(['encode', file, '--model', MODEL.dir, '--sae', SAE.file, '--provider', 'cpu', '--json']),
    ]);
    expect(stored.code, stored.stderr).toBe(0);
    expect(encoded.code, encoded.stderr).toBe(0);
    type Line = { file: string; layer: number; embedding: number[]; tokens: { idx: number[][]; val: number[][] } };
    const s = json<Line>(stored.stdout);
    const e = json<Line>(encoded.stdout);
    expect(s.file).toBe(file);
    expect(s.layer).toBe(e.layer);
    expect(s.tokens.idx).toEqual(e.tokens.idx);
    s.tokens.val.forEach((row, t) => row.forEach((v, j) => expect(Math.abs(v - e.tokens.val[t]![j]!)).toBeLessThanOrEqual(Math.abs(e.tokens.val[t]![j]!) * 1e-3 + 1e-6)));
    s.embedding.forEach((v, d) => expect(Math.abs(v - e.embedding[d]!)).toBeLessThanOrEqual(Math.abs(e.embedding[d]!) * 1e-3 + 1e-6));
  });
});

describe('clipscope metrics', () => {
  it('prints the card table as JSON', async () => {
    const r = await runCli(['metrics', '--db', db, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const m = json<Record<string, unknown>>(r.stdout);
    expect(Object.keys(m)).toEqual(['images', 'tokens', 'mse', 'ev', 'dead_fraction', 'l0', 'position_mse']);
    const want = libraryMetrics(lib, config);
    expect(m).toEqual({ images: want.images, tokens: want.tokens, mse: want.mse, ev: want.ev, dead_fraction: want.deadFraction, l0: want.l0, position_mse: want.positionMse });
  });
});

describe('clipscope query', () => {
  it('answers AND / NOT in a region, like the engine', async () => {
    const r = await runCli(['query', '--any', '5,7:1.5', '--not', '300', '--region', '0-7x0-15', '--tokens', 'cls', '--db', db, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const tokens = [0, ...Array.from({ length: 128 }, (_, i) => i + 1)];
    const want = queryImages(lib, config, { any: [{ feature: 5 }, { feature: 7, minAct: 1.5 }], not: [{ feature: 300 }], tokens });
    expect(want.items.length).toBeGreaterThan(0);
    expect(json<unknown[]>(r.stdout)).toEqual(want.items.map((h) => ({ file: h.file, score: h.score, date: new Date(h.date).toISOString(), features: h.features })));
  });

  it('filters by date and sorts by date', async () => {
    const r = await runCli(['query', '--any', '5,7', '--after', '2021-02-01', '--sort', 'date-asc', '--db', db, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const dates = json<{ date: string }[]>(r.stdout).map((h) => h.date);
    expect(dates.length).toBeGreaterThan(0);
    expect(dates.every((d) => d >= '2021-02-01')).toBe(true);
    expect([...dates].sort()).toEqual(dates);
  });
});

describe('clipscope features', () => {
  it('labels a feature, finds it by text, exports and imports the labels', async () => {
    expect((await runCli(['features', 'label', '5', 'whiskers', '--db', db])).stdout).toBe('#5: whiskers\n');
    expect((await runCli(['features', 'note', '5', 'also fur', '--db', db])).code).toBe(0);
    const found = await runCli(['features', 'search', '--text', 'WHISK', '--db', db, '--json']);
    expect(found.code, found.stderr).toBe(0);
    expect(json<{ feature: number; label: string; note: string }[]>(found.stdout).map((f) => [f.feature, f.label, f.note])).toEqual([[5, 'whiskers', 'also fur']]);
    const out = path.join(dir, 'labels.json');
    expect((await runCli(['features', 'export', '--out', out, '--db', db])).code).toBe(0);
    expect(JSON.parse(await readFile(out, 'utf8'))).toMatchObject({ format: 'clipscope-feature-labels', labels: [{ feature: 5, label: 'whiskers' }] });
    const imported = await runCli(['features', 'import', out, '--db', twoConfigs, '--config', '1']);
    expect(imported.stdout).toBe('imported 1 labels\n');
    const dense = await runCli(['features', 'search', '--dense', '--sort', 'max', '--limit', '3', '--db', db, '--json']);
    expect(json<{ dense: boolean }[]>(dense.stdout).map((f) => f.dense)).toEqual([true, true, true]);
    const similar = await runCli(['features', 'similar', '5', '--limit', '3', '--db', db, '--json']);
    expect(similar.code, similar.stderr).toBe(0);
    expect(json<unknown[]>(similar.stdout)).toHaveLength(3);
  });
});

describe('clipscope features search beyond one page of the API', () => {
  it('lists every feature asked for, in order, across pages', async () => {
    const r = await runCli(['features', 'search', '--sort', 'id', '--asc', '--limit', '1024', '--db', db, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ feature: number }[]>(r.stdout).map((f) => f.feature)).toEqual(Array.from({ length: 1024 }, (_, i) => i));
    // Without --asc, highest first (as before pages existed); past the end it stops.
    const tail = await runCli(['features', 'search', '--sort', 'id', '--limit', '1500', '--offset', '1000', '--db', db, '--json']);
    expect(json<{ feature: number }[]>(tail.stdout).map((f) => f.feature)).toEqual(Array.from({ length: 24 }, (_, i) => 23 - i));
  });
});

describe('errors: one sentence, exit status 2', () => {
  it.each([
    ['a library that does not exist', () => ['gallery', '5', '--db', path.join(dir, 'none.sqlite')], /none\.sqlite: no such library/],
    ['a feature out of range', () => ['gallery', '5000', '--db', db], /feature 5000 is out of range: this SAE has features 0\.\.1023/],
    ['a token out of range', () => ['gallery', '5', '--token', '300', '--db', db], /token 300 is out of range/],
    ['a layer with nothing indexed', () => ['metrics', '--layer', '7', '--db', db], /has nothing indexed at layer 7; it holds #1: layer 2/],
    ['two configurations at one layer', () => ['metrics', '--db', twoConfigs], /several configurations.*pass --layer or --config to pick one: #1: layer 2, raw inputs.*; #2: layer 2, standardized inputs/],
    ['an image not in the library', () => ['image', '/nowhere/cat.jpg', '--db', db, '--json'], /\/nowhere\/cat\.jpg is not in the library/],
    ['a query without terms', () => ['query', '--db', db], /a query needs at least one of --all, --any or --not/],
    ['a malformed term', () => ['query', '--all', '12:x', '--db', db], /"12:x" is not FEATURE or FEATURE:MIN_ACTIVATION/],
  ])('%s', async (_what, args, message) => {
    const r = await runCli(args());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    if (!/malformed/.test(_what)) expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
