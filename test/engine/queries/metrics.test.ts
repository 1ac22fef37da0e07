import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { libraryMetrics, metricsByNormalization } from '../../../main/engine/queries/metrics.js';
import { Library, type ConfigRow, type WritableLibrary } from '../../../main/engine/store/library.js';
import { addFixturePhotos, encodeFixturePhotos, maxPerFeature, resultOf, stored, tempDir, type EncodedPhoto } from '../store/helpers.js';

let lib: WritableLibrary;
let config: ConfigRow;
let photos: EncodedPhoto[];
const ids: number[] = [];

beforeAll(async () => {
  lib = Library.open(path.join(await tempDir('clipscope-metrics-'), 'library.sqlite'));
  const enc = await encodeFixturePhotos();
  photos = enc.photos;
  config = lib.ensureConfig(enc.config);
  ids.push(...addFixturePhotos(lib, config, photos));
});
afterAll(() => lib?.close());

/** The card's table computed directly from the encoder's own metrics. */
function direct(sel: EncodedPhoto[]) {
  const n = sel.length;
  const mean = (f: (p: EncodedPhoto) => number) => sel.reduce((s, p) => s + f(p), 0) / n;
  const fired = new Set<number>();
  for (const p of sel) for (const f of maxPerFeature(stored(p.image.codes!, config.nFeatures)).keys()) fired.add(f);
  return {
    images: n,
    tokens: n * config.tokens,
    mse: mean((p) => p.image.metrics!.mse),
    ev: mean((p) => p.image.metrics!.ev),
    l0: mean((p) => p.image.metrics!.l0),
    deadFraction: (config.nFeatures - fired.size) / config.nFeatures,
    positionMse: Array.from({ length: config.tokens }, (_, t) => mean((p) => p.image.metrics!.positionMse[t]!)),
  };
}

function expectClose(got: ReturnType<typeof libraryMetrics>, want: ReturnType<typeof direct>): void {
  expect({ images: got.images, tokens: got.tokens, deadFraction: got.deadFraction }).toEqual({ images: want.images, tokens: want.tokens, deadFraction: want.deadFraction });
  expect(got.mse).toBeCloseTo(want.mse, 9);
  expect(got.ev).toBeCloseTo(want.ev, 12);
  expect(got.l0).toBeCloseTo(want.l0, 12);
  // Per-token SSE is stored at float16 precision (through its square root).
  got.positionMse.forEach((v, t) => expect(Math.abs(v - want.positionMse[t]!)).toBeLessThanOrEqual(want.positionMse[t]! * 2e-3));
}

describe('library metrics', () => {
  it("reproduce the card's table from the encoder's metrics of the same images", () => {
    const m = libraryMetrics(lib, config);
    expect(m).toMatchObject({ configId: config.id, layer: config.layer, normalization: 'raw' });
    expect(m.positionMse).toHaveLength(config.tokens);
    expectClose(m, direct(photos));
    expect(m.deadFraction).toBeGreaterThan(0);
  });

  it('count present images only', () => {
    lib.markRemoved([ids[0]!, ids[3]!]);
    expectClose(libraryMetrics(lib, config), direct(photos.filter((_, i) => i !== 0 && i !== 3)));
    const back = lib.imageById(ids[0]!)!;
    lib.updateImageFile(back.id, back);
    expectClose(libraryMetrics(lib, config), direct(photos.filter((_, i) => i !== 3)));
  });

  it('pair raw and standardised configs of the same model, SAE and layer', () => {
    expect(metricsByNormalization(lib, config)).toMatchObject({ raw: { configId: config.id }, standardized: null });
    const std = lib.ensureConfig({ ...config, normalization: 'standardized' });
    lib.writeResults(std.id, photos.slice(0, 2).map((p, i) => resultOf(ids[i]!, p.image)));
    const both = metricsByNormalization(lib, std);
    expect(both.raw?.configId).toBe(config.id);
    expect(both.standardized).toMatchObject({ configId: std.id, images: 2, normalization: 'standardized' });
  });
});
