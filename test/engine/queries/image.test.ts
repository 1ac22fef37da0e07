import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageLatents } from '../../../main/engine/queries/image.js';
import { Library, type ConfigRow, type WritableLibrary } from '../../../main/engine/store/library.js';
import { tokenRow } from '../../../main/engine/sae/sparse-codes.js';
import { addFixturePhotos, encodeFixturePhotos, maxPerFeature, stored, tempDir, type EncodedPhoto } from '../store/helpers.js';

let lib: WritableLibrary;
let config: ConfigRow;
let photos: EncodedPhoto[];
const ids: number[] = [];

beforeAll(async () => {
  const dir = await tempDir('clipscope-image-');
  lib = Library.open(path.join(dir, 'library.sqlite'));
  const enc = await encodeFixturePhotos();
  photos = enc.photos;
  config = lib.ensureConfig(enc.config);
  ids.push(...addFixturePhotos(lib, config, photos));
});
afterAll(() => lib?.close());

describe('image query', () => {
  it('returns every token as encode --json prints it, from the store (float16 values)', () => {
    for (const [i, p] of photos.entries()) {
      const got = imageLatents(lib, config, p.file);
      expect(got.image.id).toBe(ids[i]);
      const codes = p.image.codes!;
      const rows = Array.from({ length: config.tokens }, (_, t) => tokenRow(codes, t));
      expect(got.tokens.idx).toEqual(rows.map((r) => r.idx));
      expect(got.tokens.val).toHaveLength(config.tokens);
      got.tokens.val.forEach((row, t) => row.forEach((v, j) => {
        const want = rows[t]!.val[j]!;
        expect(Math.abs(v - want)).toBeLessThanOrEqual(Math.abs(want) * 1e-3 + 1e-7);
      }));
      expect(got.embedding).toHaveLength(p.image.embedding.length);
      got.embedding.forEach((v, d) => expect(Math.abs(v - p.image.embedding[d]!)).toBeLessThanOrEqual(Math.abs(p.image.embedding[d]!) * 1e-3 + 1e-7));
    }
  });

  it('gives CLS and pooled features, per-token error and the image metrics', () => {
    const p = photos[2]!;
    const got = imageLatents(lib, config, ids[2]!);
    const codes = stored(p.image.codes!, config.nFeatures);
    const cls = [...maxPerFeature(codes, new Set([0]))].map(([feature, m]) => ({ feature, act: m.act })).sort((a, b) => b.act - a.act || a.feature - b.feature);
    expect(got.cls).toEqual(cls);
    const pooled = [...maxPerFeature(codes)].map(([feature, m]) => ({ feature, act: m.act, token: m.token })).sort((a, b) => b.act - a.act || a.feature - b.feature);
    expect(got.pooled).toEqual(pooled);
    const m = p.image.metrics!;
    got.tokenSse.forEach((s, t) => expect(Math.abs(s - m.sse[t]!)).toBeLessThanOrEqual(m.sse[t]! * 2e-3));
    got.tokenMse.forEach((s, t) => expect(Math.abs(s - m.positionMse[t]!)).toBeLessThanOrEqual(m.positionMse[t]! * 2e-3));
    expect({ mse: got.mse, ev: got.ev, l0: got.l0 }).toEqual({ mse: m.mse, ev: m.ev, l0: m.l0 });
  });

  it('says clearly when an image is not in the library or has no result for the config', () => {
    expect(() => imageLatents(lib, config, '/nowhere/x.jpg')).toThrow(/\/nowhere\/x\.jpg is not in the library/);
    const other = lib.ensureConfig({ ...config, layer: 3 });
    expect(() => imageLatents(lib, other, ids[0]!)).toThrow(/has no results for configuration #\d+: layer 3/);
  });
});
