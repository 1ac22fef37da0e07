/**
 * The contract's read queries over a library handle: what the explorer views ask for, shaped as
 * the contract says. Run by the query workers on read-only handles (query-worker.ts).
 */
import type { ApiOutput, ApiParsedInput } from '../../common/contract/index.js';
import { resolveConfig } from '../engine/queries/config.js';
import { featureDetails, searchFeatures } from '../engine/queries/features.js';
import { gallery } from '../engine/queries/gallery.js';
import { featureHeat } from '../engine/queries/heat.js';
import { imageLatents } from '../engine/queries/image.js';
import { libraryMetrics } from '../engine/queries/metrics.js';
import type { Library } from '../engine/store/library.js';
import { imagePage } from '../engine/store/overview.js';

const configFor = (lib: Library, layer: number | undefined, configId?: number) =>
  resolveConfig(lib, { ...(layer === undefined ? {} : { layer }), ...(configId === undefined ? {} : { configId }) });

export const readQueries = {
  'images.list'(lib: Library, { limit, offset, folder }: ApiParsedInput<'images.list'>): ApiOutput<'images.list'> {
    return imagePage(lib, { limit, offset, ...(folder === undefined ? {} : { folder }) });
  },

  'image.get'(lib: Library, { imageId, layer, config: configId }: ApiParsedInput<'image.get'>): ApiOutput<'image.get'> {
    const config = configFor(lib, layer, configId);
    const r = imageLatents(lib, config, imageId);
    return {
      imageId: r.image.id, file: r.image.path, width: r.image.width, height: r.image.height, capturedAt: r.image.capturedAt,
      layer: config.layer, removed: r.image.status === 'removed', tokens: r.tokens, cls: r.cls, pooled: r.pooled,
      tokenMse: r.tokenMse, tokenSse: r.tokenSse, embedding: Array.from(r.embedding), mse: r.mse, ev: r.ev, l0: r.l0,
    };
  },

  'gallery.get'(lib: Library, { feature, token, limit, offset, quantiles, perQuantile, layer, config: configId }: ApiParsedInput<'gallery.get'>): ApiOutput<'gallery.get'> {
    const config = configFor(lib, layer, configId);
    const g = gallery(lib, config, feature, { token, limit, offset, ...(quantiles ? { quantiles, perQuantile } : {}) });
    const item = (i: (typeof g.items)[number]) => ({ imageId: i.imageId, file: i.file, act: i.act, token: i.token });
    return {
      feature, layer: config.layer, token, total: g.total, items: g.items.map(item),
      quantiles: g.quantiles.map((q) => ({ quantile: q.quantile, rank: q.rank, items: q.items.map(item) })),
    };
  },

  'metrics.get'(lib: Library, input: ApiParsedInput<'metrics.get'>): ApiOutput<'metrics.get'> {
    const config = configFor(lib, input?.layer, input?.config);
    const m = libraryMetrics(lib, config);
    return {
      configId: config.id, saePath: config.saePath, layer: m.layer, normalization: m.normalization, images: m.images, tokens: m.tokens, mse: m.mse, ev: m.ev,
      deadFraction: m.deadFraction, l0: m.l0, positionMse: m.positionMse,
    };
  },

  'features.search'(lib: Library, { layer, config: configId, features, text, minFrequency, maxFrequency, dead, dense, sort, ascending, limit, offset }: ApiParsedInput<'features.search'>): ApiOutput<'features.search'> {
    const config = configFor(lib, layer, configId);
    const opt = <K extends string, V>(k: K, v: V | undefined) => (v === undefined ? {} : { [k]: v }) as Partial<Record<K, V>>;
    const r = searchFeatures(lib, config, {
      sort, limit, offset,
      ...opt('features', features), ...opt('text', text), ...opt('minFrequency', minFrequency), ...opt('maxFrequency', maxFrequency),
      ...opt('dead', dead), ...opt('dense', dense), ...opt('ascending', ascending),
    });
    return { layer: config.layer, nFeatures: config.nFeatures, stale: r.stale, libraryImages: r.libraryImages, libraryTokens: r.libraryTokens, total: r.total, items: r.items };
  },

  'feature.details'(lib: Library, { feature, layer, config: configId }: ApiParsedInput<'feature.details'>): ApiOutput<'feature.details'> {
    const config = configFor(lib, layer, configId);
    return { ...featureDetails(lib, config, feature), layer: config.layer, nFeatures: config.nFeatures };
  },

  'feature.heat'(lib: Library, { feature, imageIds, layer, config: configId }: ApiParsedInput<'feature.heat'>): ApiOutput<'feature.heat'> {
    const config = configFor(lib, layer, configId);
    return { feature, layer: config.layer, images: featureHeat(lib, config, feature, imageIds) };
  },
};

export type ReadMethod = keyof typeof readQueries;
