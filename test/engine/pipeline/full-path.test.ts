import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EncodePipeline, type FileResult } from '../../../main/engine/pipeline/encode-pipeline.js';
import { fixture, manifest, npyFloat, npyIndices, relativeError, sameSetShare, TEST_CACHE } from '../../helpers/references.js';

// The whole path a user runs: image file -> our decoding + PIL-exact preprocessing -> ViT -> SAE,
// compared with the PyTorch reference run on PIL's preprocessing of the same files.
describe.each([
  ['clip-tiny-gelu', 'clipscope-gelu'],
  ['clip-tiny-quickgelu', 'clipscope-quickgelu'],
])('%s + %s from image files', (modelName, saeName) => {
  const model = manifest.models[modelName]!;
  const sae = manifest.saes[saeName]!;
  const refs = manifest.references.files[model.references]!;
  const photos = manifest.photos.filter((p) => refs[p.stem]);
  let pipeline: EncodePipeline;
  const results = new Map<string, FileResult>();

  beforeAll(async () => {
    pipeline = await EncodePipeline.open({ modelDir: fixture(model.dir), sae: fixture(sae.file), provider: 'cpu', cacheDir: TEST_CACHE, batchSize: 2 });
    for await (const r of pipeline.encodeFiles(photos.map((p) => fixture(p.path)))) results.set(r.file, r);
  });
  afterAll(async () => pipeline?.close());

  it('uses the layer recorded in the SAE file', () => {
    expect(pipeline.info.layer).toBe(sae.layer);
    expect(pipeline.info.provider).toBe('cpu');
  });

  it('returns one result per file, in input order', () => {
    expect([...results.keys()]).toEqual(photos.map((p) => fixture(p.path)));
  });

  it('gives the same top-k index sets on more than 99% of tokens', async () => {
    const shares: string[] = [];
    let same = 0;
    let total = 0;
    for (const p of photos) {
      const r = results.get(fixture(p.path))!;
      expect(r.ok, r.ok ? '' : r.error).toBe(true);
      if (!r.ok) continue;
      const want = await npyIndices(refs[p.stem]!.saes[saeName]!.idx!);
      const share = sameSetShare(r.image.codes!.idx, want, sae.k!);
      shares.push(`${p.stem} ${(share * 100).toFixed(1)}%`);
      same += share * model.tokens;
      total += model.tokens;
      expect(relativeError(r.image.embedding, await npyFloat(refs[p.stem]!.embedding))).toBeLessThan(2e-2);
    }
    console.log(`[${modelName}] identical top-k sets: ${shares.join(', ')}`);
    expect(same / total).toBeGreaterThan(0.99);
  });
});
