/**
 * The steering API for the CLI and the app: a Steerer in its own worker thread, so previews never
 * block the caller's event loop. Calls are answered in order; a slider sweep is one `preview`
 * call with one edit set per value.
 */
import { ImageError } from '../errors.js';
import { startWorker } from '../runtime/worker-rpc.js';
import type { EditSet } from './edits.js';
import type { Guarded, SteeringHandlers } from './steering-worker.js';
import type { PhotoSource, PhotoSummary, PreviewOptions, SteerResult, SteererInfo, SteererOptions } from './steerer.js';

export class Steering {
  private constructor(
    readonly info: SteererInfo,
    private readonly worker: ReturnType<typeof startWorker<SteeringHandlers>>,
  ) {}

  static async open(opts: SteererOptions): Promise<Steering> {
    const worker = startWorker<SteeringHandlers>(import.meta.url, 'steering-worker');
    try {
      return new Steering(await worker.api.open(opts), worker);
    } catch (e) {
      await worker.terminate();
      throw e;
    }
  }

  /** The photo's original and reconstruction embeddings and latents (computes its prefix once). */
  async photo(source: PhotoSource): Promise<PhotoSummary> {
    return unguard(await this.worker.api.photo(source));
  }

  /** One result per edit set, in order, from one batched run of the tail (`later`: see PreviewOptions). */
  async preview(source: PhotoSource, sets: readonly EditSet[], opts: PreviewOptions = {}): Promise<SteerResult[]> {
    return unguard(await this.worker.api.preview({ source, sets, opts }));
  }

  cacheStats(): Promise<{ photos: number; bytes: number }> {
    return this.worker.api.cacheStats(undefined as never);
  }

  async close(): Promise<void> {
    await this.worker.api.close(undefined as never).catch(() => undefined);
    await this.worker.terminate();
  }
}

/** An unreadable photo comes back as ImageError (the type is lost crossing the thread otherwise). */
function unguard<T>(r: Guarded<T>): T {
  if ('imageError' in r) throw new ImageError(r.imageError.file, r.imageError.reason);
  return r.ok;
}

export type { Edit, EditSet, TokenScope } from './edits.js';
export type { LaterSae, PhotoSource, PhotoSummary, PreviewOptions, SteerResult, SteererInfo, SteererOptions } from './steerer.js';
export type { FeatureChange, LaterLayerResult, LayerDiff } from './later-layers.js';
