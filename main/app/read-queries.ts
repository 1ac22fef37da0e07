/**
 * The contract's read queries over a library handle: what the explorer views ask for, shaped as
 * the contract says. Run by the query workers on read-only handles (query-worker.ts).
 */
import type { ApiOutput, ApiParsedInput } from '../../common/contract/index.js';
import { resolveConfig } from '../engine/queries/config.js';
import { gallery } from '../engine/queries/gallery.js';
import { imageLatents } from '../engine/queries/image.js';
import { libraryMetrics } from '../engine/queries/metrics.js';
import type { Library } from '../engine/store/library.js';
import { imagePage } from '../engine/store/overview.js';

const configFor = (lib: Library, layer: number | undefined) => resolveConfig(lib, layer === undefined ? {} : { layer });

export const readQueries = {
  'images.list'(lib: Library, { limit, offset, folder }: ApiParsedInput<'images.list'>): ApiOutput<'images.list'> {
    return imagePage(lib, { limit, offset, ...(folder === undefined ? {} : { folder }) });
  },

  'image.get'(lib: Library, { imageId, layer }: ApiParsedInput<'image.get'>): ApiOutput<'image.get'> {
    const config = configFor(lib, layer);
    const r = imageLatents(lib, config, imageId);
    return {
      imageId: r.image.id, file: r.image.path, width: r.image.width, height: r.image.height, capturedAt: r.image.capturedAt,
      layer: config.layer, removed: r.image.status === 'removed', tokens: r.tokens, cls: r.cls, pooled: r.pooled,
      tokenMse: r.tokenMse, mse: r.mse, ev: r.ev, l0: r.l0,
    };
  },

  'gallery.get'(lib: Library, { feature, token, limit, offset, layer }: ApiParsedInput<'gallery.get'>): ApiOutput<'gallery.get'> {
    const config = configFor(lib, layer);
    const g = gallery(lib, config, feature, { token, limit, offset });
    return { feature, layer: config.layer, token, total: g.total, items: g.items.map((i) => ({ imageId: i.imageId, file: i.file, act: i.act, token: i.token })) };
  },

  'metrics.get'(lib: Library, input: ApiParsedInput<'metrics.get'>): ApiOutput<'metrics.get'> {
    const m = libraryMetrics(lib, configFor(lib, input?.layer));
    return {
      layer: m.layer, normalization: m.normalization, images: m.images, tokens: m.tokens, mse: m.mse, ev: m.ev,
      deadFraction: m.deadFraction, l0: m.l0, positionMse: m.positionMse,
    };
  },
};

export type ReadMethod = keyof typeof readQueries;
