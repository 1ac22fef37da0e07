import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { similarImages, SimilarImagesIndex } from '../../../main/engine/queries/similar.js';
import { connection } from '../../../main/engine/store/connection.js';
import { Library, type ConfigRow, type WritableLibrary } from '../../../main/engine/store/library.js';
import { packFloat16, unpackFloat16 } from '../../../main/engine/store/packing.js';
import { addSyntheticImages, rng, SYNTH, syntheticResult, tempDir } from '../store/helpers.js';

let lib: WritableLibrary;
let config: ConfigRow;
let ids: number[];

beforeAll(async () => {
  lib = Library.open(path.join(await tempDir('clipscope-similar-'), 'library.sqlite'));
  config = lib.ensureConfig(SYNTH);
  ids = [...addSyntheticImages(lib, config, 300, 41).keys()];
  lib.markRemoved(ids.slice(0, 10));
});
afterAll(async () => {
  lib?.close();
  await index?.close();
});

let index: SimilarImagesIndex | undefined;

function embedding(id: number): Float32Array {
  return unpackFloat16(connection(lib).db.prepare('SELECT l.embedding FROM results r JOIN latents l ON l.result_id = r.id WHERE r.config_id = ? AND r.image_id = ?')
    .pluck().get(config.id, id) as Buffer);
}

function brute(q: Float32Array, exclude: number) {
  const cos = (a: Float32Array, b: Float32Array) => {
    let d = 0, na = 0, nb = 0;
    for (let i = 0; i < a.length; i++) {
      d += a[i]! * b[i]!;
      na += a[i]! * a[i]!;
      nb += b[i]! * b[i]!;
    }
    return d / Math.sqrt(na * nb);
  };
  const present = ids.filter((id) => lib.imageById(id)!.status === 'present' && id !== exclude);
  return present.map((id) => ({ imageId: id, score: cos(q, embedding(id)) })).sort((a, b) => b.score - a.score || a.imageId - b.imageId);
}

describe('similar images', () => {
  it('rank present images by cosine of their stored embeddings, excluding the query image', () => {
    const q = ids[50]!;
    const want = brute(embedding(q), q).slice(0, 20);
    const got = similarImages(lib, config, { imageId: q }, { limit: 20 });
    expect(got.map((g) => g.imageId)).toEqual(want.map((w) => w.imageId));
    got.forEach((g, i) => expect(g.score).toBeCloseTo(want[i]!.score, 5));
    expect(got[0]!.file).toBe(lib.imageById(got[0]!.imageId)!.path);
    expect(similarImages(lib, config, { imageId: q }, { limit: 5, offset: 5 }).map((g) => g.imageId)).toEqual(want.slice(5, 10).map((w) => w.imageId));
  });

  it('accept a vector, and see new images once written (the cache follows the generation)', () => {
    const v = Float32Array.from({ length: SYNTH.embeddingDim }, (_, i) => Math.sin(i));
    expect(similarImages(lib, config, { vector: v }, { limit: 3 }).map((g) => g.imageId)).toEqual(brute(v, -1).slice(0, 3).map((w) => w.imageId));
    const folder = lib.addFolder('/photos/new');
    const img = lib.insertImage({ path: '/photos/new/twin.jpg', folderId: folder.id, size: 1, mtimeMs: 1, hash: 'twin', width: null, height: null, capturedAt: null });
    lib.writeResults(config.id, [{ ...syntheticResult(rng(1), img.id, config), embedding: unpackFloat16(packFloat16(v.map((x) => x * 3))) }]);
    const top = similarImages(lib, config, { vector: v }, { limit: 1 })[0]!;
    expect(top).toMatchObject({ imageId: img.id, file: '/photos/new/twin.jpg' });
    expect(top.score).toBeCloseTo(1, 3);
    expect(() => similarImages(lib, config, { vector: new Float32Array(3) })).toThrow(/3-dim vector/);
  });
});

describe('the similar-images index (worker, warm matrix, one MatMul)', () => {
  it('ranks as brute force does, for several vectors at once, leaving out the excluded images', async () => {
    index = SimilarImagesIndex.open();
    const q = ids[60]!;
    const v = Float32Array.from({ length: SYNTH.embeddingDim }, (_, i) => Math.cos(3 * i));
    const [a, b] = await index.nearest({ db: lib.file, configId: config.id, vectors: [embedding(q), v], limit: 15, exclude: [q] });
    const wantA = brute(embedding(q), q).slice(0, 15);
    expect(a!.map((g) => g.imageId)).toEqual(wantA.map((w) => w.imageId));
    a!.forEach((g, i) => expect(g.score).toBeCloseTo(wantA[i]!.score, 5));
    expect(a![0]!.file).toBe(lib.imageById(a![0]!.imageId)!.path);
    expect(b!.map((g) => g.imageId)).toEqual(brute(v, -1).slice(0, 15).map((w) => w.imageId));
    // The same answer as the synchronous path, which the other queries use.
    expect(a).toEqual(similarImages(lib, config, { imageId: q }, { limit: 15 }).map((g) => ({ ...g, score: expect.closeTo(g.score, 5) as unknown as number })));
  });

  it('follows writes (the generation) and rejects vectors of the wrong width', async () => {
    index ??= SimilarImagesIndex.open();
    const before = await index.warm(lib.file, config.id);
    const v = Float32Array.from({ length: SYNTH.embeddingDim }, (_, i) => Math.sin(7 * i + 1));
    const folder = lib.addFolder('/photos/newer');
    const img = lib.insertImage({ path: '/photos/newer/twin.jpg', folderId: folder.id, size: 1, mtimeMs: 1, hash: 'twin2', width: null, height: null, capturedAt: null });
    lib.writeResults(config.id, [{ ...syntheticResult(rng(2), img.id, config), embedding: unpackFloat16(packFloat16(v.map((x) => x * -2))) }]);
    expect(await index.warm(lib.file, config.id)).toBe(before + 1);
    const [near] = await index.nearest({ db: lib.file, configId: config.id, vectors: [v.map((x) => -x)], limit: 2 });
    expect(near![0]).toMatchObject({ imageId: img.id, file: '/photos/newer/twin.jpg' });
    expect(near![0]!.score).toBeCloseTo(1, 3);
    await expect(index.nearest({ db: lib.file, configId: config.id, vectors: [new Float32Array(3)], limit: 2 })).rejects.toThrow(/3-dim vector/);
  });
});
