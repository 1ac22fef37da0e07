// Steering inference runs here, off the caller's event loop: session.run blocks the thread it runs on.
import { ImageError } from '../errors.js';
import { serveInWorker } from '../runtime/worker-rpc.js';
import type { EditSet } from './edits.js';
import { Steerer, type PhotoSource, type PreviewOptions, type SteererOptions } from './steerer.js';

let steerer: Steerer | null = null;

function opened(): Steerer {
  if (!steerer) throw new Error('internal: steering call before open');
  return steerer;
}

/**
 * Errors cross the thread as plain messages; an unreadable photo is returned as a value instead,
 * so the caller can tell it (exit 1 in the CLI) from an unusable model or edit.
 */
export type Guarded<T> = { ok: T } | { imageError: { file: string; reason: string } };

async function guard<T>(fn: () => Promise<T>): Promise<Guarded<T>> {
  try {
    return { ok: await fn() };
  } catch (e) {
    if (e instanceof ImageError) return { imageError: { file: e.file, reason: e.reason } };
    throw e;
  }
}

const handlers = {
  async open(opts: SteererOptions) {
    await steerer?.release();
    steerer = null;
    steerer = await Steerer.open(opts);
    return steerer.info;
  },
  async photo(source: PhotoSource) {
    return guard(async () => {
      // Copies: the cached state must not be transferred (moved) out of this thread with the reply.
      const s = await opened().photo(source);
      return { original: s.original.slice(), reconstruction: s.reconstruction.slice(), reconstructionCosine: s.reconstructionCosine, codes: { offsets: s.codes.offsets.slice(), idx: s.codes.idx.slice(), val: s.codes.val.slice() } };
    });
  },
  async preview(arg: { source: PhotoSource; sets: readonly EditSet[]; opts?: PreviewOptions }) {
    return guard(() => opened().preview(arg.source, arg.sets, arg.opts));
  },
  async cacheStats() {
    return opened().cacheStats();
  },
  async close() {
    await steerer?.release();
    steerer = null;
    return null;
  },
};

export type SteeringHandlers = typeof handlers;
serveInWorker(handlers);
