/**
 * The names of the engine API's methods, and the IPC channel each travels on.
 *
 * Kept free of zod (free of any import) so that the sandboxed preload can build its client from
 * this list alone; `api.ts` checks at compile time that `ApiContract` has exactly these keys.
 */
export const API_METHODS = [
  'engine.info',
  'models.inspect',
  'encode.image',
  'app.state',
  'settings.get',
  'settings.set',
  'library.open',
  'library.create',
  'library.close',
  'library.forget',
  'folders.add',
  'folders.remove',
  'index.start',
  'index.status',
  'index.pause',
  'index.resume',
  'index.cancel',
  'index.failures',
  'models.list',
  'models.download',
  'models.downloadStatus',
  'models.cancelDownload',
  'models.import',
  'models.remove',
  'models.verify',
  'demo.setup',
  'images.list',
  'image.get',
  'gallery.get',
  'metrics.get',
  'features.search',
  'feature.details',
  'feature.heat',
  'feature.similar',
  'features.previews',
  'images.search',
  'labels.set',
  'query.run',
  'steer.preview',
] as const;

export type ApiMethod = (typeof API_METHODS)[number];

export function isApiMethod(name: string): name is ApiMethod {
  return (API_METHODS as readonly string[]).includes(name);
}

/** Every method travels on its own channel, `api:<method>` (e.g. `api:models.inspect`). */
export const IPC_CHANNEL_PREFIX = 'api:';

export function ipcChannel(method: ApiMethod): `api:${ApiMethod}` {
  return `${IPC_CHANNEL_PREFIX}${method}`;
}
