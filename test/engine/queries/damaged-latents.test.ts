import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserFacingError } from '../../../main/engine/errors.js';
import { gallery } from '../../../main/engine/queries/gallery.js';
import { imageLatents } from '../../../main/engine/queries/image.js';
import { queryImages, regionTokens } from '../../../main/engine/queries/feature-query.js';
import { connection } from '../../../main/engine/store/connection.js';
import { Library, type ConfigRow, type WritableLibrary } from '../../../main/engine/store/library.js';
import type { SparseCodes } from '../../../main/engine/sae/sparse-codes.js';
import { addSyntheticImages, maxPerFeature, SYNTH, tempDir } from '../store/helpers.js';

let lib: WritableLibrary;
let config: ConfigRow;
let images: Map<number, SparseCodes>;
let damagedId: number;
let damagedPath: string;

beforeAll(async () => {
  lib = Library.open(path.join(await tempDir('clipscope-damaged-'), 'library.sqlite'));
  config = lib.ensureConfig(SYNTH);
  images = addSyntheticImages(lib, config, 12, 5);
  damagedId = [...images.keys()][4]!;
  damagedPath = lib.imageById(damagedId)!.path;
  // A damaged row, as a bad disk or a damaged copy of the file would leave it: its first bytes
  // overwritten, so that every read of it fails (a row read only decodes what it needs).
  connection(lib).db.prepare("UPDATE latents SET codes = X'09ff' || substr(codes, 3) WHERE result_id = (SELECT id FROM results WHERE image_id = ?)").run(damagedId);
});
afterAll(() => lib?.close());

const damaged = (): RegExp => new RegExp(`the stored latents of ${damagedPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} are damaged \\(latents blob: .+\\); index the photo again`);

function expectDamaged(fn: () => unknown): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(UserFacingError);
  expect((err as Error).message).toMatch(damaged());
  expect((err as Error).message.startsWith(lib.file)).toBe(true);
}

describe('damaged stored latents', () => {
  it('are reported naming the library and the photo, by every query that reads them', () => {
    expectDamaged(() => imageLatents(lib, config, damagedId));
    // A feature of the damaged image, at the token where it fires most.
    const [feature, where] = [...maxPerFeature(images.get(damagedId)!)].find(([, m]) => m.act > 0 && m.token > 0)!;
    // At another token: the index holds only the strongest token's value, the latents must be read.
    expectDamaged(() => gallery(lib, config, feature, { token: where.token === 1 ? 2 : 1, limit: 10_000 }));
    // A region without that token: the index cannot decide it, the latents must be read.
    const elsewhere = regionTokens(config, [0, 3], [0, 3]).filter((t) => t !== where.token);
    expectDamaged(() => queryImages(lib, config, { all: [{ feature }], tokens: elsewhere, limit: 10_000 }));
  });

  it('leave the other photos readable', () => {
    for (const id of images.keys()) {
      if (id === damagedId) continue;
      expect(imageLatents(lib, config, id).tokens.idx).toHaveLength(config.tokens);
    }
    // Queries that use only the index still answer.
    const [feature] = [...maxPerFeature(images.get(damagedId)!)].find(([, m]) => m.act > 0)!;
    expect(gallery(lib, config, feature, { token: 'any', limit: 100 }).items.map((i) => i.imageId)).toContain(damagedId);
  });
});
