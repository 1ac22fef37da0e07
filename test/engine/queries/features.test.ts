import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { featureDetails, searchFeatures, similarFeatures } from '../../../main/engine/queries/features.js';
import { setLabel } from '../../../main/engine/queries/labels.js';
import { loadSae } from '../../../main/engine/sae/load-sae.js';
import { readFloat32 } from '../../../main/engine/formats/tensor-read.js';
import { Library, type ConfigRow, type WritableLibrary } from '../../../main/engine/store/library.js';
import type { SparseCodes } from '../../../main/engine/sae/sparse-codes.js';
import { fixture } from '../../helpers/references.js';
import { addSyntheticImages, rng, SAE, SYNTH, syntheticResult, tempDir } from '../store/helpers.js';

let lib: WritableLibrary;
let config: ConfigRow;
let present: Map<number, SparseCodes>;
const brute = new Map<number, { images: number; tokens: number; max: number }>();
let totalTokens: number;

beforeAll(async () => {
  lib = Library.open(path.join(await tempDir('clipscope-features-'), 'library.sqlite'));
  // More features than the synthetic data uses, so some are dead.
  config = lib.ensureConfig({ ...SYNTH, nFeatures: 260 });
  present = addSyntheticImages(lib, config, 120, 51, '/photos/synthetic', 200);
  lib.refreshFeatureStats(config.id);
  for (const codes of present.values()) {
    const seen = new Set<number>();
    codes.val.forEach((v, j) => {
      if (!(v > 0)) return;
      const f = codes.idx[j]!;
      const s = brute.get(f) ?? { images: 0, tokens: 0, max: 0 };
      s.tokens++;
      s.max = Math.max(s.max, v);
      if (!seen.has(f)) s.images++;
      seen.add(f);
      brute.set(f, s);
    });
  }
  totalTokens = present.size * config.tokens;
  setLabel(lib, config, 3, { label: 'Cat ears' });
  setLabel(lib, config, 7, { label: 'sky', note: 'maybe a cat nearby' });
});
afterAll(() => lib?.close());

const all = () => Array.from({ length: 260 }, (_, f) => ({ feature: f, ...(brute.get(f) ?? { images: 0, tokens: 0, max: 0 }) }));

describe('feature search', () => {
  it('sorts by frequency (activation density) or max activation, with totals', () => {
    const r = searchFeatures(lib, config, { limit: 20 });
    expect(r).toMatchObject({ stale: false, libraryImages: 120, libraryTokens: totalTokens, total: 260 });
    const byFreq = all().sort((a, b) => b.tokens - a.tokens || a.feature - b.feature);
    expect(r.items.map((i) => i.feature)).toEqual(byFreq.slice(0, 20).map((x) => x.feature));
    expect(r.items[0]).toMatchObject({ tokens: byFreq[0]!.tokens, images: byFreq[0]!.images, frequency: byFreq[0]!.tokens / totalTokens, imageFraction: byFreq[0]!.images / 120 });
    const byMax = all().sort((a, b) => b.max - a.max || a.feature - b.feature);
    expect(searchFeatures(lib, config, { sort: 'max', limit: 10, offset: 10 }).items.map((i) => i.feature)).toEqual(byMax.slice(10, 20).map((x) => x.feature));
    const rarest = all().filter((x) => x.tokens > 0).sort((a, b) => a.tokens - b.tokens || a.feature - b.feature);
    expect(searchFeatures(lib, config, { dead: false, ascending: true, limit: 5 }).items.map((i) => i.feature)).toEqual(rarest.slice(0, 5).map((x) => x.feature));
  });

  it('filters by frequency range, dead, dense, ids and label / note text', () => {
    const lo = 0.01;
    const hi = 0.05;
    const inRange = all().filter((x) => x.tokens / totalTokens >= lo && x.tokens / totalTokens <= hi);
    expect(inRange.length).toBeGreaterThan(0);
    expect(searchFeatures(lib, config, { minFrequency: lo, maxFrequency: hi, sort: 'id', limit: 1000 }).items.map((i) => i.feature)).toEqual(inRange.map((x) => x.feature));
    const dead = all().filter((x) => x.images === 0).map((x) => x.feature);
    expect(dead.length).toBeGreaterThan(10);
    const d = searchFeatures(lib, config, { dead: true, sort: 'id', limit: 1000 });
    expect(d.items.map((i) => i.feature)).toEqual(dead);
    expect(d.items.every((i) => i.dead && i.maxAct === 0)).toBe(true);
    const dense = all().filter((x) => x.tokens / totalTokens >= 0.1).map((x) => x.feature);
    expect(searchFeatures(lib, config, { dense: true, sort: 'id', limit: 1000 }).items.map((i) => i.feature)).toEqual(dense);
    expect(searchFeatures(lib, config, { features: [7, 3, 250], sort: 'id' }).items.map((i) => [i.feature, i.label])).toEqual([[3, 'Cat ears'], [7, 'sky'], [250, '']]);
    expect(searchFeatures(lib, config, { text: 'cat', sort: 'id' }).items.map((i) => i.feature)).toEqual([3, 7]);
  });

  it('details a feature with its histogram, and flags statistics that predate later writes', () => {
    const f = all().sort((a, b) => b.tokens - a.tokens)[0]!;
    const det = featureDetails(lib, config, f.feature);
    expect(det).toMatchObject({ feature: f.feature, tokens: f.tokens, maxAct: f.max, stale: false });
    expect(det.histogram.reduce((s, b) => s + b.count, 0)).toBe(f.tokens);
    expect(det.histogram.every((b) => b.lo < b.hi)).toBe(true);
    expect(det.histogram[det.histogram.length - 1]!.hi).toBeGreaterThan(f.max);
    const img = lib.insertImage({ path: '/photos/late.jpg', folderId: lib.addFolder('/photos').id, size: 1, mtimeMs: 1, hash: 'late', width: null, height: null, capturedAt: null });
    lib.writeResults(config.id, [syntheticResult(rng(3), img.id, config)]);
    expect(searchFeatures(lib, config, { limit: 1 }).stale).toBe(true);
    lib.refreshFeatureStats(config.id);
    expect(searchFeatures(lib, config, { limit: 1 })).toMatchObject({ stale: false, libraryImages: 121 });
  });

  it('asks for statistics when none were computed', () => {
    const other = lib.ensureConfig({ ...SYNTH, layer: 2 });
    expect(() => searchFeatures(lib, other)).toThrow(/have not been computed yet$/);
    expect(() => searchFeatures(lib, other)).toThrow(expect.objectContaining({ code: 'stats-missing' }));
  });
});

describe('similar features', () => {
  it('ranks features by the cosine of their decoder rows (the real SAE decoder)', async () => {
    const sae = await loadSae(fixture(SAE.file));
    const dec = await readFloat32(sae.decoder);
    const c = lib.ensureConfig({ ...SYNTH, saeFingerprint: 'sae:real', tokens: 257, width: sae.dIn, nFeatures: sae.nFeatures, k: sae.k });
    setLabel(lib, c, 10, { label: 'ten' });
    const d = sae.dIn;
    const cos = (a: number, b: number) => {
      let dot = 0, na = 0, nb = 0;
      for (let i = 0; i < d; i++) {
        dot += dec[a * d + i]! * dec[b * d + i]!;
        na += dec[a * d + i]! ** 2;
        nb += dec[b * d + i]! ** 2;
      }
      return dot / Math.sqrt(na * nb);
    };
    for (const f of [0, 10, 517]) {
      const want = Array.from({ length: sae.nFeatures }, (_, g) => g).filter((g) => g !== f)
        .map((g) => ({ feature: g, cosine: cos(f, g) })).sort((a, b) => b.cosine - a.cosine).slice(0, 8);
      const got = await similarFeatures(lib, c, f, () => dec, 8);
      expect(got.map((g) => g.feature)).toEqual(want.map((w) => w.feature));
      got.forEach((g, i) => expect(g.cosine).toBeCloseTo(want[i]!.cosine, 5));
    }
    const near10 = (await similarFeatures(lib, c, 0, () => dec, sae.nFeatures - 1)).find((g) => g.feature === 10);
    expect(near10?.label).toBe('ten');
  });
});
