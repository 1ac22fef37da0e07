/**
 * Indexing in the foreground, for the CLI: one job run to its end in this process with every
 * progress step reported (the app's IndexRunner runs jobs in the background and reports throttled
 * snapshots instead), then, when asked, a watch that indexes changes as they happen.
 */
import { UserFacingError } from '../engine/errors.js';
import { checkFolder } from '../engine/library/folders.js';
import { Indexer, type IndexRunResult } from '../engine/library/indexer.js';
import type { IndexProgress } from '../engine/library/progress.js';
import { LibraryWatch } from '../engine/library/watcher.js';
import { parseProvider } from '../engine/runtime/providers.js';
import { withWritableLibrary } from './library-files.js';

export interface IndexingRequest {
  /** The library file (created when missing). */
  db: string;
  /** Photo folders to index (added to the library); none: every folder of the library. */
  folders: readonly string[];
  modelDir: string;
  sae: string;
  /** null: the layer the SAE records. */
  layer: number | null;
  /** An execution provider's name: auto, cpu, cuda, ... */
  provider: string;
  batchSize?: number;
  thumbnails: boolean;
  retryFailed: boolean;
  onProgress: (p: IndexProgress) => void;
}

export interface IndexingWatch {
  /** Stops watching; a run in progress pauses after its batch first. */
  close(): Promise<void>;
}

export interface IndexingSession {
  readonly jobId: number;
  /** The job is an interrupted one of the same parameters, taken up where it stopped. */
  readonly resumed: boolean;
  /** The folders indexed, absolute. */
  readonly folders: readonly string[];
  /** Runs the job until it is done or paused. */
  run(): Promise<IndexRunResult>;
  /** Asks the running job to stop after its current batch (it stays resumable). */
  pause(): void;
  /** Then keeps indexing the folders' changes, one run per batch of changes. */
  watch(onIndexed: (r: IndexRunResult) => void, onError: (e: unknown) => void): Promise<IndexingWatch>;
}

/** Opens the library for writing, prepares the job (new or resumed), runs `fn` on it, closes the library. */
export async function withIndexing<T>(req: IndexingRequest, fn: (session: IndexingSession) => Promise<T>): Promise<T> {
  const provider = parseProvider(req.provider);
  return withWritableLibrary(req.db, { create: true }, async (lib) => {
    let folders = req.folders.map(checkFolder);
    if (folders.length === 0) {
      folders = lib.listFolders().map((f) => f.path);
      if (folders.length === 0) throw new UserFacingError(`${lib.file}: the library has no folders yet; name the folders to index`);
    }
    const indexer = new Indexer(lib, {
      provider,
      ...(req.batchSize ? { batchSize: req.batchSize } : {}),
      ...(req.thumbnails ? {} : { thumbDir: null }),
      onProgress: req.onProgress,
    });
    const target = { folders, modelDir: req.modelDir, sae: req.sae, layer: req.layer };
    const { job, resumed } = indexer.jobFor({ ...target, retryFailed: req.retryFailed });
    return fn({
      jobId: job.id,
      resumed,
      folders,
      run: () => indexer.run(job.id),
      pause: () => indexer.pause(),
      async watch(onIndexed, onError) {
        const w = await LibraryWatch.start(indexer, target);
        w.on('indexed', onIndexed);
        w.on('error', onError);
        return {
          async close() {
            indexer.pause();
            await w.close();
          },
        };
      },
    });
  });
}
