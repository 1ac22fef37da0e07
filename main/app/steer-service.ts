/**
 * Steering previews for the app: one Steering engine per configuration (model, SAE, layer),
 * kept open (its worker caches each photo's prefix, so a slider's next value costs the tail
 * only), and the nearest library photos from a warm embedding index. Both run in worker
 * threads of their own.
 */
import path from 'node:path';
import type { ApiOutput, ApiParsedInput } from '../../common/contract/index.js';
import { UserFacingError } from '../engine/errors.js';
import { indexedConfigs, resolveConfig } from '../engine/queries/config.js';
import { SimilarImagesIndex, type SimilarImage } from '../engine/queries/similar.js';
import { Steering } from '../engine/steering/steering.js';
import type { Library } from '../engine/store/library.js';
import type { ConfigRow } from '../engine/store/rows.js';

export class SteerService {
  private steering: { key: string; s: Promise<Steering> } | null = null;
  private similar: SimilarImagesIndex | null = null;

  private steeringFor(config: ConfigRow, later: readonly ConfigRow[]): Promise<Steering> {
    const key = JSON.stringify([config.modelDir, config.saePath, config.layer, later.map((c) => [c.layer, c.saePath])]);
    if (this.steering?.key !== key) {
      const old = this.steering;
      const s = Steering.open({ modelDir: config.modelDir, sae: config.saePath, layer: config.layer, later: later.map((c) => ({ layer: c.layer, sae: c.saePath })) });
      this.steering = { key, s };
      s.catch(() => {
        if (this.steering?.s === s) this.steering = null;
      });
      if (old) void old.s.then((o) => o.close(), () => undefined);
    }
    return this.steering.s;
  }

  async preview(lib: Library, { imageId, sets, neighbours, layer, later }: ApiParsedInput<'steer.preview'>): Promise<ApiOutput<'steer.preview'>> {
    const config = resolveConfig(lib, layer === undefined ? {} : { layer });
    if (config.normalization !== 'raw') throw new UserFacingError(`steering reads raw activations; configuration #${config.id} was indexed with standardized inputs`);
    const image = lib.imageById(imageId);
    if (!image) throw new UserFacingError(`image #${imageId} is not in the library ${lib.file}`).withCode('not-found');
    const laterConfigs = laterConfigsOf(lib, config);
    const steering = await this.steeringFor(config, laterConfigs);
    const source = { file: image.path };
    const results = await steering.preview(source, sets, { later });
    const photo = await steering.photo(source);
    let lists: SimilarImage[][] = [];
    if (neighbours > 0) {
      this.similar ??= SimilarImagesIndex.open();
      lists = await this.similar.nearest({ db: lib.file, configId: config.id, vectors: [photo.original, ...results.map((r) => r.embedding)], limit: neighbours, exclude: [imageId] });
    }
    const shape = (xs: SimilarImage[] | undefined) => (xs ?? []).map((x) => ({ imageId: x.imageId, file: x.file, score: x.score }));
    return {
      imageId,
      layer: config.layer,
      reconstructionCosine: photo.reconstructionCosine,
      before: shape(lists[0]),
      results: results.map((r, i) => ({
        cosine: r.cosine,
        l2: r.l2,
        after: shape(lists[i + 1]),
        ...(r.later ? { later: r.later.map((l, j) => ({ ...l, configId: laterConfigs[j]!.id })) } : {}),
      })),
    };
  }

  async close(): Promise<void> {
    const s = this.steering;
    this.steering = null;
    await Promise.all([s?.s.then((o) => o.close(), () => undefined), this.similar?.close()]);
    this.similar = null;
  }
}

/**
 * The library's configurations at later layers of the same model folder, one per layer (the
 * oldest), raw inputs only: what steering at `config` can report features gained and lost on.
 */
function laterConfigsOf(lib: Library, config: ConfigRow): ConfigRow[] {
  const model = path.resolve(config.modelDir);
  const byLayer = new Map<number, ConfigRow>();
  for (const c of indexedConfigs(lib).sort((a, b) => a.id - b.id)) {
    if (c.layer > config.layer && c.normalization === 'raw' && path.resolve(c.modelDir) === model && !byLayer.has(c.layer)) byLayer.set(c.layer, c);
  }
  return [...byLayer.values()].sort((a, b) => a.layer - b.layer);
}
