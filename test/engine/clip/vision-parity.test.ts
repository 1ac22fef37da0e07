import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import ort from 'onnxruntime-node';
import { loadClipModel } from '../../../main/engine/clip/model-dir.js';
import { buildVisionGraph, EMBEDDING, PIXELS, residName } from '../../../main/engine/clip/vision-graph.js';
import { openSession, type OpenedSession } from '../../../main/engine/runtime/session.js';
import { fixture, manifest, npyFloat, relativeError, TEST_CACHE } from '../../helpers/references.js';

// Identical pixels in (the reference's own preprocessed input), so only the forward pass is compared.
describe.each(Object.entries(manifest.models))('vision tower %s against the PyTorch reference', (_name, model) => {
  let opened: OpenedSession;
  const layers = Array.from({ length: model.layers }, (_, i) => i);
  const refs = manifest.references.files[model.references]!;

  beforeAll(async () => {
    const m = await loadClipModel(fixture(model.dir));
    const graph = await buildVisionGraph(m.config, m.weights, { layers, embedding: true });
    opened = await openSession(graph, { provider: 'cpu', cacheDir: TEST_CACHE });
  });
  afterAll(async () => opened?.session.release());

  // 1e-5 relative: tight enough to catch a LayerNorm eps of 1e-6 instead of 1e-5 (3.5e-5 on the embedding).
  it.each(Object.keys(refs))('%s: every layer and the embedding agree to 1e-5 relative', async (photo) => {
    const r = refs[photo]!;
    const pixels = await npyFloat(r.pixels);
    const size = Math.round(Math.sqrt(pixels.length / 3));
    const out = await opened.session.run({ [PIXELS]: new ort.Tensor('float32', pixels, [1, 3, size, size]) });
    for (const l of layers) {
      const got = out[residName(l)]!;
      expect(got.dims).toEqual([1, model.tokens, model.width]);
      expect(relativeError(got.data as Float32Array, await npyFloat(r.resid[String(l)]!)), `layer ${l}`).toBeLessThan(1e-5);
    }
    expect(relativeError(out[EMBEDDING]!.data as Float32Array, await npyFloat(r.embedding))).toBeLessThan(1e-5);
  });

  it('runs a batch of two with the same numbers as one at a time', async () => {
    const [a, b] = Object.values(refs).slice(0, 2);
    const pa = await npyFloat(a!.pixels);
    const pb = await npyFloat(b!.pixels);
    const size = Math.round(Math.sqrt(pa.length / 3));
    const both = new Float32Array(pa.length * 2);
    both.set(pa);
    both.set(pb, pa.length);
    const out = await opened.session.run({ [PIXELS]: new ort.Tensor('float32', both, [2, 3, size, size]) });
    const emb = out[EMBEDDING]!.data as Float32Array;
    const half = emb.length / 2;
    expect(relativeError(emb.subarray(half), await npyFloat(b!.embedding))).toBeLessThan(1e-4);
  });

  // With layer 1 exposed, the final block only feeds the embedding and runs for the CLS row alone.
  it('a graph exposing an earlier layer: same resid bits, the reference embedding (CLS-only final block)', async () => {
    const m = await loadClipModel(fixture(model.dir));
    const tapped = await openSession(await buildVisionGraph(m.config, m.weights, { layers: [1], embedding: true }), { provider: 'cpu', cacheDir: TEST_CACHE });
    try {
      for (const r of Object.values(refs)) {
        const pixels = await npyFloat(r.pixels);
        const size = Math.round(Math.sqrt(pixels.length / 3));
        const feeds = { [PIXELS]: new ort.Tensor('float32', pixels, [1, 3, size, size]) };
        const [got, full] = [await tapped.session.run(feeds), await opened.session.run(feeds)];
        expect(Array.from(got[residName(1)]!.data as Float32Array)).toEqual(Array.from(full[residName(1)]!.data as Float32Array));
        const emb = got[EMBEDDING]!.data as Float32Array;
        expect(relativeError(emb, full[EMBEDDING]!.data as Float32Array)).toBeLessThan(1e-6);
        expect(relativeError(emb, await npyFloat(r.embedding))).toBeLessThan(1e-5);
      }
    } finally {
      await tapped.session.release();
    }
  });

  it('a graph exposing the last layer still computes it for every token', async () => {
    const m = await loadClipModel(fixture(model.dir));
    const lastLayer = model.layers - 1;
    const tapped = await openSession(await buildVisionGraph(m.config, m.weights, { layers: [lastLayer], embedding: true }), { provider: 'cpu', cacheDir: TEST_CACHE });
    try {
      const r = Object.values(refs)[0]!;
      const pixels = await npyFloat(r.pixels);
      const size = Math.round(Math.sqrt(pixels.length / 3));
      const out = await tapped.session.run({ [PIXELS]: new ort.Tensor('float32', pixels, [1, 3, size, size]) });
      expect(out[residName(lastLayer)]!.dims).toEqual([1, model.tokens, model.width]);
      expect(relativeError(out[residName(lastLayer)]!.data as Float32Array, await npyFloat(r.resid[String(lastLayer)]!))).toBeLessThan(1e-5);
      expect(relativeError(out[EMBEDDING]!.data as Float32Array, await npyFloat(r.embedding))).toBeLessThan(1e-5);
    } finally {
      await tapped.session.release();
    }
  });
});

describe('tail graph (the rest of the network from a layer, for steering)', () => {
  it('maps the reference resid.1 to the reference embedding', async () => {
    const entry = manifest.models['clip-tiny-gelu']!;
    const m = await loadClipModel(fixture(entry.dir));
    const tail = await openSession(await buildVisionGraph(m.config, m.weights, { layers: [], embedding: true, from: 1 }), { provider: 'cpu', cacheDir: TEST_CACHE });
    const r = Object.values(manifest.references.files[entry.references]!)[0]!;
    const resid = await npyFloat(r.resid['1']!);
    const out = await tail.session.run({ [residName(1)]: new ort.Tensor('float32', resid, [1, entry.tokens, entry.width]) });
    expect(relativeError(out[EMBEDDING]!.data as Float32Array, await npyFloat(r.embedding))).toBeLessThan(1e-4);
    await tail.session.release();
  });

  it('runs a batch of two through its CLS-only final block, each image as on its own', async () => {
    const entry = manifest.models['clip-tiny-gelu']!;
    const m = await loadClipModel(fixture(entry.dir));
    const tail = await openSession(await buildVisionGraph(m.config, m.weights, { layers: [], embedding: true, from: 1 }), { provider: 'cpu', cacheDir: TEST_CACHE });
    const [a, b] = Object.values(manifest.references.files[entry.references]!);
    const [ra, rb] = [await npyFloat(a!.resid['1']!), await npyFloat(b!.resid['1']!)];
    const both = new Float32Array(ra.length * 2);
    both.set(ra);
    both.set(rb, ra.length);
    const out = await tail.session.run({ [residName(1)]: new ort.Tensor('float32', both, [2, entry.tokens, entry.width]) });
    await tail.session.release();
    const emb = out[EMBEDDING]!.data as Float32Array;
    expect(out[EMBEDDING]!.dims).toEqual([2, entry.projection]);
    expect(relativeError(emb.subarray(0, entry.projection!), await npyFloat(a!.embedding))).toBeLessThan(1e-4);
    expect(relativeError(emb.subarray(entry.projection!), await npyFloat(b!.embedding))).toBeLessThan(1e-4);
  });

  it('refuses layers outside the model', async () => {
    const m = await loadClipModel(fixture(manifest.models['clip-tiny-gelu']!.dir));
    await expect(buildVisionGraph(m.config, m.weights, { layers: [4], embedding: false })).rejects.toThrow(/layer 4 is out of range: this model has layers 0..3/);
  });
});
