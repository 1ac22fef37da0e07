/**
 * The explorer's finding aids through both transports on the indexed demo library: similar
 * features and quantile galleries equal the CLI's --json on the same file; the features table's
 * previews equal what feature.details and gallery.get say feature by feature; photos by name
 * equal a filter of images.list.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppState, FeatureDetails, FeatureSearchResult, GalleryResult, ImageList } from '../../common/contract/index.js';
import type { FeaturePreviews, FeatureSimilar, ImageSearch } from '../../common/contract/feature-schemas.js';
import { cliJson, envelope, startTransports, valueOf, type Transports } from './harness.js';

let t: Transports;
let db: string;
let active: number[];

beforeAll(async () => {
  t = await startTransports('clipscope-feature-api-');
  const done = t.waitForStatus((s) => s.job?.state === 'done');
  db = valueOf<AppState>(await t.viaHttp('demo.setup')).library!.file;
  await done;
  const search = valueOf<FeatureSearchResult>(await t.viaHttp('features.search', { sort: 'frequency', limit: 40 }));
  active = search.items.filter((f) => !f.dead).map((f) => f.feature);
});
afterAll(async () => {
  await t?.close();
});

const cli = (args: string[]): Promise<unknown> => cliJson(db, args);

describe('feature.similar', () => {
  it('equals `clipscope features similar --json`, and a second call reuses the decoder', async () => {
    const f = active[0]!;
    const started = performance.now();
    const first = await t.viaIpc('feature.similar', { feature: f });
    const firstMs = performance.now() - started;
    const api = valueOf<FeatureSimilar>(first);
    expect(envelope(await t.viaHttp('feature.similar', { feature: f }))).toEqual(first);
    expect(api).toHaveLength(10);
    expect(api.some((s) => s.feature === f)).toBe(false);
    expect(api).toEqual(await cli(['features', 'similar', String(f)]));
    for (const [feature, limit] of [[active[1]!, 3], [active[2]!, 25]] as const) {
      const again = performance.now();
      const r = valueOf<FeatureSimilar>(await t.viaIpc('feature.similar', { feature, limit }));
      console.log(`feature.similar (demo SAE): first call, decoder read, ${firstMs.toFixed(0)} ms; a later call ${(performance.now() - again).toFixed(0)} ms`);
      expect(r).toEqual(await cli(['features', 'similar', String(feature), '--limit', String(limit)]));
    }
  });

  it('names a feature out of range', async () => {
    const r = await t.both('feature.similar', { feature: 1 << 20 });
    expect(envelope(r.http)).toEqual(r.ipc);
    expect(r.ipc).toMatchObject({ ok: false, error: { kind: 'user', message: expect.stringContaining(`feature ${1 << 20} is out of range`) } });
  });
});

describe('gallery.get quantiles', () => {
  it('equal `clipscope gallery --quantiles --json` on the CLS token and on any token', async () => {
    const quantiles = [0.99, 0.9, 0.5, 0.1];
    for (const token of ['cls', 'any'] as const) {
      for (const feature of active.slice(0, 4)) {
        const r = await t.both('gallery.get', { feature, token, limit: 0, quantiles, perQuantile: 6 });
        expect(envelope(r.http)).toEqual(r.ipc);
        const g = valueOf<GalleryResult>(r.ipc);
        expect(g.items).toEqual([]);
        const flat = g.quantiles.flatMap((q) => q.items.map((i) => ({ file: i.file, act: i.act, token: i.token, quantile: q.quantile })));
        expect(flat).toEqual(await cli(['gallery', String(feature), '--token', token, '--quantiles', quantiles.join(','), '--limit', '6']));
        if (g.total) expect(g.quantiles.map((q) => q.quantile)).toEqual(quantiles);
      }
    }
  });
});

describe('features.previews', () => {
  it("gives each feature of a page feature.details' histogram and gallery.get's top photos (token any)", async () => {
    const page = [...active.slice(0, 20), 0];
    const r = await t.both('features.previews', { features: page, thumbs: 4 });
    expect(envelope(r.http)).toEqual(r.ipc);
    const p = valueOf<FeaturePreviews>(r.ipc);
    expect(p.layer).toBe(2);
    expect(p.items.map((i) => i.feature)).toEqual(page);
    for (const item of p.items) {
      const d = valueOf<FeatureDetails>(await t.viaHttp('feature.details', { feature: item.feature }));
      expect(item.histogram).toEqual(d.histogram);
      const g = valueOf<GalleryResult>(await t.viaHttp('gallery.get', { feature: item.feature, token: 'any', limit: 4 }));
      expect(item.top).toEqual(g.items);
    }
    expect(p.items.filter((i) => i.top.length > 0).length).toBeGreaterThan(10);
  });

  it('refuses an empty page and one of more than 100 features', async () => {
    for (const features of [[], Array.from({ length: 101 }, (_, i) => i)]) {
      const r = await t.both('features.previews', { features });
      expect(envelope(r.http)).toEqual(r.ipc);
      expect(r.ipc).toMatchObject({ ok: false, error: { code: 'invalid-request', message: expect.stringContaining('features') } });
    }
  });
});

describe('images.search', () => {
  it('finds indexed photos by file name, as a filter of images.list', async () => {
    const all = valueOf<ImageList>(await t.viaHttp('images.list', { limit: 1000 })).items;
    const name = (f: string) => f.slice(f.lastIndexOf('/') + 1);
    expect(all.length).toBe(5);
    const first = name(all[0]!.file);
    for (const text of [first.slice(0, 4).toUpperCase(), '.', 'e', 'nothing-like-this']) {
      const r = await t.both('images.search', { text });
      expect(envelope(r.http)).toEqual(r.ipc);
      const want = all.filter((i) => name(i.file).toLowerCase().includes(text.toLowerCase()));
      expect(new Set(valueOf<ImageSearch>(r.ipc).map((i) => i.imageId))).toEqual(new Set(want.map((i) => i.imageId)));
    }
    expect(valueOf<ImageSearch>(await t.viaIpc('images.search', { text: first }))[0]).toEqual({ imageId: all[0]!.imageId, file: all[0]!.file });
    const empty = await t.viaIpc('images.search', { text: '  ' });
    expect(empty).toMatchObject({ ok: false, error: { code: 'invalid-request', message: expect.stringContaining('text') } });
  });
});
