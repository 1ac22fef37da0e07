/**
 * The steering engine (through its worker) against the independent PyTorch references of
 * scripts/fixtures/steering.py: every reference configuration (the SAE's own layer, an earlier
 * one, the last one, an fp16 model, SAELens SAEs), each edit set in one batched preview.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Steering } from '../../../main/engine/steering/steering.js';
import { npyFloat, TEST_CACHE } from '../../helpers/references.js';
import { cosine, isNoop, maxAbs, maxAbsDiff, modelDir, saePath, steering } from './references.js';

// Embeddings of the tiny models are O(1): 2e-5 of the largest element is float32 agreement
// between two implementations of a few blocks (the fp32 reference itself is 5e-7 from fp64).
const REL_TOL = 2e-5;
const open: Steering[] = [];
afterAll(async () => {
  for (const s of open) await s.close();
});

describe.each(steering.entries.map((e) => [`${e.model} + ${e.sae} at layer ${e.layer}, ${e.photo}`, e] as const))('steering %s', (_name, entry) => {
  it('matches the reference embeddings: original, reconstruction and every edit set', async () => {
    const s = await Steering.open({ modelDir: modelDir(entry), sae: saePath(entry), layer: entry.layer, provider: 'cpu', cacheDir: TEST_CACHE });
    open.push(s);
    expect(s.info.layer).toBe(entry.layer);
    expect(s.info.tokens).toBe(entry.tokens);
    const original = await npyFloat(entry.original);
    const scale = maxAbs(original);
    const photo = await s.photo({ file: entry.photo });
    expect(maxAbsDiff(photo.original, original)).toBeLessThan(REL_TOL * scale);

    const recon = await npyFloat(entry.reconstruction);
    expect(cosine(photo.reconstruction, recon)).toBeGreaterThanOrEqual(0.99999);
    expect(maxAbsDiff(photo.reconstruction, recon)).toBeLessThan(REL_TOL * scale);
    expect(photo.reconstructionCosine).toBeCloseTo(cosine(recon, original), 5);

    const results = await s.preview({ file: entry.photo }, entry.cases.map((c) => c.edits));
    expect(results).toHaveLength(entry.cases.length);
    for (const [i, c] of entry.cases.entries()) {
      const want = await npyFloat(c.embedding);
      const got = results[i]!;
      const msg = `${c.name}: ${JSON.stringify(c.edits)}`;
      expect(cosine(got.embedding, want), msg).toBeGreaterThanOrEqual(0.99999);
      expect(maxAbsDiff(got.embedding, want), msg).toBeLessThan(REL_TOL * scale);
      expect(got.cosine, msg).toBeCloseTo(cosine(got.embedding, photo.original), 9);
      if (isNoop(c)) {
        // No effective edit: x' = x, the embedding is the original to float tolerance.
        expect(got.cosine, msg).toBeGreaterThan(1 - 1e-6);
        expect(got.l2, msg).toBeLessThan(1e-5 * scale);
      } else {
        // The edit must move the reference by far more than the tolerance, or this check proves nothing.
        expect(maxAbsDiff(want, original), msg).toBeGreaterThan(10 * REL_TOL * scale);
      }
    }
  });
});

describe('steering batches and the photo cache', () => {
  const entry = steering.entries[0]!;

  it('gives each edit set the same result alone as in a batch, and reuses the prefix', async () => {
    const s = await Steering.open({ modelDir: modelDir(entry), sae: saePath(entry), provider: 'cpu', cacheDir: TEST_CACHE, photoCacheBytes: 1 });
    open.push(s);
    expect(s.info.layer).toBe(2); // the SAE's own layer by default
    const sets = entry.cases.map((c) => c.edits);
    const batch = await s.preview({ file: entry.photo }, sets);
    for (const [i, set] of sets.entries()) {
      const [alone] = await s.preview({ file: entry.photo }, [set]);
      expect(maxAbsDiff(alone!.embedding, batch[i]!.embedding)).toBeLessThan(1e-5);
    }
    // A budget of one byte still keeps the newest photo (and only it).
    expect(await s.cacheStats()).toMatchObject({ photos: 1 });
    await s.photo({ file: steering.entries[1]!.photo });
    expect((await s.cacheStats()).photos).toBe(1);
  });

  it('names the feature or token an edit cannot apply to', async () => {
    const s = await Steering.open({ modelDir: modelDir(entry), sae: saePath(entry), provider: 'cpu', cacheDir: TEST_CACHE });
    open.push(s);
    const src = { file: entry.photo };
    await expect(s.preview(src, [[{ feature: 1024, tokens: 'all', value: 1 }]])).rejects.toThrow(/feature 1024 does not exist: this SAE has features 0\.\.1023/);
    await expect(s.preview(src, [[{ feature: 3, tokens: [0, 257], value: 1 }]])).rejects.toThrow(/token 257 .*out of range.*0\.\.256/);
    await expect(s.preview(src, [[{ feature: 3, tokens: 'cls', scale: Number.NaN }]])).rejects.toThrow(/feature 3 has no finite scale/);
    await expect(s.photo({ file: '/nonexistent/photo.jpg' })).rejects.toThrow(/\/nonexistent\/photo\.jpg/);
  });
});
