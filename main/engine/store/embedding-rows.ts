/**
 * A config's stored image embeddings (float16 blobs, decoded by packing.ts) as similar-image
 * search reads them: every present image's, streamed in image order, or one image's.
 */
import { statement } from './connection.js';
import type { ReadonlyLibrary } from './library.js';

/** [image id, float16 embedding] of every present image with a result for the config, by image id, streamed. */
export function presentEmbeddings(lib: ReadonlyLibrary, configId: number): IterableIterator<[number, Buffer]> {
  return statement<[number, Buffer]>(lib, `SELECT r.image_id, l.embedding FROM results r JOIN images i ON i.id = r.image_id
      JOIN latents l ON l.result_id = r.id WHERE r.config_id = ? AND i.status = 'present' ORDER BY r.image_id`).raw().iterate(configId);
}

/** One image's stored embedding for the config (present or not), if it has a result. */
export function embeddingOf(lib: ReadonlyLibrary, configId: number, imageId: number): Buffer | undefined {
  return statement<Buffer>(lib, 'SELECT l.embedding FROM results r JOIN latents l ON l.result_id = r.id WHERE r.config_id = ? AND r.image_id = ?')
    .pluck().get(configId, imageId);
}
