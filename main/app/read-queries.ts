/**
 * The contract's read queries over a library handle: what the explorer views ask for, shaped as
 * the contract says. Run by the query workers on read-only handles (query-worker.ts).
 */
import type { ApiOutput, ApiParsedInput } from '../../common/contract/index.js';
import { resolveConfig } from '../engine/queries/config.js';
import { featureDetails, searchFeatures, similarFeatures } from '../engine/queries/features.js';
import { gallery } from '../engine/queries/gallery.js';
import { featureHeat } from '../engine/queries/heat.js';
import { queryImages, regionTokens } from '../engine/queries/feature-query.js';
import { imageLatents } from '../engine/queries/image.js';
import { libraryMetrics } from '../engine/queries/metrics.js';
import type { Library } from '../engine/store/library.js';
import { imagePage } from '../engine/store/overview.js';
import { featurePreviews } from '../engine/queries/previews.js';
import { searchImagesByName } from '../engine/store/image-search.js';
import { cachedDecoder } from './decoders.js';

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

  'gallery.get'(lib: Library, { feature, token, limit, offset, quantiles, perQuantile, maxReads, maxMs, cursor, layer, config: configId }: ApiParsedInput<'gallery.get'>): ApiOutput<'gallery.get'> {
    const config = configFor(lib, layer, configId);
    const g = gallery(lib, config, feature, {
      token, limit, offset, ...(quantiles ? { quantiles, perQuantile } : {}),
      ...(maxReads === undefined ? {} : { maxReads }), ...(maxMs === undefined ? {} : { maxMs }), ...(cursor === undefined ? {} : { cursor }),
    });
    const item = (i: (typeof g.items)[number]) => ({ imageId: i.imageId, file: i.file, act: i.act, token: i.token });
    return {
      feature, layer: config.layer, token, total: g.total, items: g.items.map(item),
      quantiles: g.quantiles.map((q) => ({ quantile: q.quantile, rank: q.rank, items: q.items.map(item) })),
      ...(g.cursor === undefined ? {} : { cursor: g.cursor }),
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

  async 'feature.similar'(lib: Library, { feature, limit, layer, config: configId }: ApiParsedInput<'feature.similar'>): Promise<ApiOutput<'feature.similar'>> {
    return similarFeatures(lib, configFor(lib, layer, configId), feature, cachedDecoder, limit);
  },

  'features.previews'(lib: Library, { features, thumbs, layer, config: configId }: ApiParsedInput<'features.previews'>): ApiOutput<'features.previews'> {
    const config = configFor(lib, layer, configId);
    const items = featurePreviews(lib, config, features, thumbs).map((p) => ({
      feature: p.feature, histogram: p.histogram, top: p.top.map((i) => ({ imageId: i.imageId, file: i.file, act: i.act, token: i.token })),
    }));
    return { layer: config.layer, items };
  },

  'images.search'(lib: Library, { text, limit }: ApiParsedInput<'images.search'>): ApiOutput<'images.search'> {
    return searchImagesByName(lib, text, limit);
  },

  'query.run'(lib: Library, q: ApiParsedInput<'query.run'>): ApiOutput<'query.run'> {
    const config = configFor(lib, q.layer, q.config);
    // Regions and tokens together are one token set (their union), as `clipscope query` takes them.
    const regionTokenList = (q.regions ?? []).flatMap(([r0, r1, c0, c1]) => regionTokens(config, [r0, r1], [c0, c1]));
    const tokens = q.tokens || q.regions ? [...new Set([...(q.tokens ?? []), ...regionTokenList])] : undefined;
    const r = queryImages(lib, config, {
      ...(q.all ? { all: q.all } : {}), ...(q.any ? { any: q.any } : {}), ...(q.not ? { not: q.not } : {}),
      ...(tokens ? { tokens } : {}),
      ...(q.folder !== undefined ? { folder: q.folder } : {}),
      ...(q.after !== undefined ? { after: q.after } : {}), ...(q.before !== undefined ? { before: q.before } : {}),
      sort: q.sort, limit: q.limit, offset: q.offset,
      ...(q.maxReads !== undefined ? { maxReads: q.maxReads } : {}), ...(q.maxMs !== undefined ? { maxMs: q.maxMs } : {}),
      ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
    });
    return {
      layer: config.layer, configId: config.id, total: r.total,
      items: r.items.map((h) => ({ imageId: h.imageId, file: h.file, score: h.score, date: h.date, features: h.features })),
      ...(r.cursor === undefined ? {} : { cursor: r.cursor }),
    };
  },
};

export type ReadMethod = keyof typeof readQueries;
