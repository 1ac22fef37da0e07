/**
 * The index runner: one job from the queue, end to end.
 *
 *   scan     walk the folders (stat only), reconcile rows (hash what changed, detect moves, mark
 *            removed), then enqueue every walked image that lacks results for this model / SAE /
 *            layer ("index what is missing": other configurations' results are never touched);
 *   encode   IndexPipeline (EncodePipeline's overlap of decoding and inference, with the engine's
 *            own decoding, preprocessing and inference worker; thumbnail, size and capture date
 *            from the same decode) over the pending items, and ONE write transaction per batch
 *            holding the results, the photos' metadata, the items' states and the failures;
 *   finish   thumbnails that went missing from the cache (or were written in an older format) are
 *            made again for the job's photos; per-feature statistics, summary.
 *
 * Everything is resumable: a job interrupted in the scan phase walks again (the walk is
 * idempotent), one interrupted in the encode phase continues with its pending items.
 */
import path from 'node:path';
import type { ProviderChoice } from '../runtime/providers.js';
import { errorMessage } from '../errors.js';
import type { ConfigRow, ImageRow, NewImage, ResultInput, WritableLibrary } from '../store/library.js';
import { resolveEncodingConfig } from './encoding-config.js';
import { HEARTBEAT_MS, JobQueue, normalizeParams, type FileFailure, type IndexSummary, type JobRow, type JobState, type ScanRecord } from './jobs.js';
import fs from 'node:fs/promises';
import { thumbnailDir, thumbnailPath } from './thumbnails.js';
import { ThumbnailProcess } from './thumbnail-process.js';
import { IndexPipeline, type IndexFileResult, type IndexPipelineOptions, type PipelineLike } from './index-pipeline.js';
import { RateMeter, type IndexPhase, type IndexProgress } from './progress.js';
import { reconcile } from './reconcile.js';
import { isUnder, scanFolders } from './scanner.js';

export interface IndexerOptions {
  /** Execution provider for the encoder (default auto). */
  readonly provider?: ProviderChoice;
  /** Images per inference call (default 1: what CPUs like). */
  readonly batchSize?: number;
  /** Images per write transaction (default 16; a batch is also closed after 1 s). */
  readonly writeBatch?: number;
  /** Thumbnails folder (default cacheDir()/thumbs); null: no thumbnails, no media metadata. */
  readonly thumbDir?: string | null;
  /** Decode workers (default: see defaultDecodeWorkers). */
  readonly decodeWorkers?: number;
  readonly onProgress?: (p: IndexProgress) => void;
  /** Replaces IndexPipeline.open (tests, benchmarks). */
  readonly openPipeline?: (opts: IndexPipelineOptions) => Promise<PipelineLike>;
}

export interface IndexRunResult extends IndexSummary {
  readonly jobId: number;
  /** 'done', or 'paused' / 'cancelled' when asked to stop. */
  readonly state: JobState;
  readonly configId: number;
}

const FLUSH_MS = 1000;
/** Thumbnails restored per round trip to the thumbnail process. */
const THUMBNAIL_RESTORE_BATCH = 8;

/** Strips the "file: " prefix the engine puts on its errors: the reason alone is stored. */
export function reasonOf(file: string, error: string): string {
  return error.startsWith(`${file}: `) ? error.slice(file.length + 2) : error;
}

export class Indexer {
  readonly queue: JobQueue;
  private stopRequest: 'pause' | 'cancel' | null = null;
  private runningJob: number | null = null;

  constructor(
    readonly lib: WritableLibrary,
    private readonly opts: IndexerOptions = {},
  ) {
    this.queue = new JobQueue(lib);
  }

  /** The unfinished job with these parameters, or a new one. */
  jobFor(params: Parameters<typeof normalizeParams>[0]): { job: JobRow; resumed: boolean } {
    const p = normalizeParams(params);
    const existing = this.queue.findResumable(p);
    if (existing) {
      if (existing.state === 'paused') this.queue.resume(existing.id);
      return { job: this.queue.get(existing.id)!, resumed: true };
    }
    return { job: this.queue.enqueue(p), resumed: false };
  }

  /** Index `folders` (adding them to the library): resumes an interrupted identical run. */
  async index(params: Parameters<typeof normalizeParams>[0]): Promise<IndexRunResult & { resumed: boolean }> {
    const { job, resumed } = this.jobFor(params);
    return { ...(await this.run(job.id)), resumed };
  }

  /** Pause the running job after its current batch (resume with run(jobId)). */
  pause(): void {
    this.stopRequest = 'pause';
  }

  /** Stop the running job for good after its current batch. */
  cancel(): void {
    this.stopRequest = 'cancel';
  }

  get currentJob(): number | null {
    return this.runningJob;
  }

  private stopWanted(jobId: number): 'pause' | 'cancel' | null {
    return this.stopRequest ?? this.queue.pendingRequest(jobId);
  }

  private emit(p: Omit<IndexProgress, 'rate' | 'etaSeconds'> & { rate?: number | null; etaSeconds?: number | null }): void {
    this.opts.onProgress?.({ rate: null, etaSeconds: null, ...p });
  }

  /** Runs (or resumes) job `jobId` until it is done, paused or cancelled. */
  async run(jobId: number): Promise<IndexRunResult> {
    if (this.runningJob !== null) throw new Error(`internal: this indexer already runs job ${this.runningJob}`);
    let job = this.queue.claim(jobId);
    this.runningJob = jobId;
    this.stopRequest = null;
    // The heartbeat says "still alive" through long walks, hashing and model loading too.
    const beat = setInterval(() => {
      try {
        this.queue.heartbeat(jobId);
      } catch {
        // busy database: the next beat will do
      }
    }, HEARTBEAT_MS);
    beat.unref();
    try {
      let config: ConfigRow;
      try {
        config = this.lib.ensureConfig(await resolveEncodingConfig(job.params));
      } catch (e) {
        this.queue.setState(jobId, 'failed', { error: errorMessage(e) });
        throw e;
      }
      this.queue.setConfig(jobId, config.id);
      if (job.phase === 'scan') {
        const stopped = await this.scanPhase(job, config);
        if (stopped) return this.stop(jobId, stopped, config.id);
        job = this.queue.get(jobId)!;
      }
      if (job.phase === 'encode') {
        const stopped = await this.encodePhase(job, config);
        if (stopped) return this.stop(jobId, stopped, config.id);
        this.queue.setPhase(jobId, 'finish');
      }
      const stopped = await this.restoreThumbnails(job, config);
      if (stopped) return this.stop(jobId, stopped, config.id);
      this.emit({ jobId, phase: 'finish', done: 0, total: null, failed: 0, current: null });
      this.lib.refreshFeatureStats(config.id);
      const summary = this.queue.summary(jobId);
      this.queue.setState(jobId, 'done', { summary });
      this.emit({ jobId, phase: 'done', done: summary.indexed, total: summary.indexed, failed: summary.failed, current: null });
      return { ...summary, jobId, state: 'done', configId: config.id };
    } catch (e) {
      // Anything unexpected: the job stays resumable (state 'running', owner released by death or here).
      const j = this.queue.get(jobId);
      if (j && j.state === 'running') this.queue.setState(jobId, 'queued', { error: errorMessage(e) });
      throw e;
    } finally {
      clearInterval(beat);
      this.runningJob = null;
      this.stopRequest = null;
    }
  }

  private stop(jobId: number, how: 'pause' | 'cancel', configId: number): IndexRunResult {
    const summary = this.queue.summary(jobId);
    this.queue.setState(jobId, how === 'pause' ? 'paused' : 'cancelled', how === 'cancel' ? { summary } : {});
    return { ...summary, jobId, state: how === 'pause' ? 'paused' : 'cancelled', configId };
  }

  private thumbDir(): string | null {
    return this.opts.thumbDir === undefined ? thumbnailDir() : this.opts.thumbDir;
  }

  /**
   * Thumbnails are a cache (the OS or the user may clear it, and older versions wrote another
   * format): photos of the job's folders whose thumbnail is missing get it back, read from the
   * file by the low-priority thumbnail process. Those encoded in this run have theirs already.
   */
  private async restoreThumbnails(job: JobRow, config: ConfigRow): Promise<'pause' | 'cancel' | null> {
    const dir = this.thumbDir();
    if (dir === null) return null;
    const have = new Set(await fs.readdir(dir).catch(() => [] as string[]));
    const missing = new Map<string, ImageRow>();
    for (const folder of job.params.folders) {
      for (const r of this.lib.presentImagesUnder(this.folderId(folder))) {
        // Indexed photos only: a file that failed to decode would fail here again on every run.
        if (!have.has(path.basename(thumbnailPath(r.hash, dir))) && this.lib.hasResult(r.id, config.id)) missing.set(r.hash, r);
      }
    }
    if (missing.size === 0) return null;
    const rows = [...missing.values()];
    const total = rows.length;
    let done = 0;
    let failed = 0;
    this.emit({ jobId: job.id, phase: 'thumbnails', done, total, failed, current: null });
    const writer = await ThumbnailProcess.open();
    try {
      // A few in flight keep the thumbnail process busy while replies travel.
      for (let i = 0; i < rows.length; i += THUMBNAIL_RESTORE_BATCH) {
        const stop = this.stopWanted(job.id);
        if (stop) return stop;
        const chunk = rows.slice(i, i + THUMBNAIL_RESTORE_BATCH);
        const results = await Promise.all(chunk.map((r) => writer.writeFromFile(r.path, r.hash, dir)));
        done += chunk.length;
        failed += results.filter((t) => t.thumbnail === 'failed').length;
        this.emit({ jobId: job.id, phase: 'thumbnails', done, total, failed, current: chunk[chunk.length - 1]!.path });
      }
    } finally {
      await writer.close();
    }
    return null;
  }

  /** Walk + reconcile + enqueue. Returns the stop request that interrupted it, if any. */
  private async scanPhase(job: JobRow, config: ConfigRow): Promise<'pause' | 'cancel' | null> {
    const jobId = job.id;
    const { folders } = job.params;
    const folderIds = new Map<string, number>();
    for (const f of folders) folderIds.set(f, this.folderId(f));
    const folderIdOf = (root: string): number => folderIds.get(root) ?? this.folderId(root);

    let stop: 'pause' | 'cancel' | null = null;
    const shouldStop = (): boolean => (stop ??= this.stopWanted(jobId)) !== null;
    this.emit({ jobId, phase: 'scan', done: 0, total: null, failed: 0, current: folders[0] ?? null });
    const scan = await scanFolders(folders, {
      shouldStop,
      onProgress: (found, dir) => this.emit({ jobId, phase: 'scan', done: found, total: null, failed: 0, current: dir || null }),
    });
    if (stop) return stop;

    const meter = new RateMeter();
    const rec = await reconcile(this.lib, scan, folderIdOf, folders, {
      onMoved: (imageId) => this.queue.markMoved(jobId, imageId),
      onRemoved: (n) => this.queue.addRemoved(jobId, n),
      shouldStop,
      onProgress: (done, total, current) => {
        meter.mark(done);
        this.emit({ jobId, phase: 'hash', done, total, failed: 0, current, rate: meter.rate(), etaSeconds: meter.eta(total - done) });
      },
    });
    if (stop) return stop;
    if (!rec.complete) return this.stopWanted(jobId) ?? 'pause';

    // Walk problems and unreadable files are listed, never fatal.
    const problems: FileFailure[] = [...scan.problems.map((p) => ({ file: p.path, error: p.error })), ...rec.failures];
    // Failures recorded under these folders for entries that are gone or no longer a problem
    // (a dangling link deleted, a file removed) are stale: cleared. Files still present keep
    // theirs until they change or index.
    const current = new Set([...problems.map((p) => p.file), ...scan.files.map((f) => f.path)]);
    const stale = this.lib.failures().filter((f) => !current.has(f.path)
      && folders.some((root) => isUnder(f.path, root)) && !scan.unknownDirs.some((d) => isUnder(f.path, d)));
    this.lib.transaction(() => {
      for (const f of stale) this.lib.clearFailure(f.path);
      for (const p of problems) this.lib.recordFailure(p.file, null, p.error);
    });

    // Images to encode: walked, present, without results for this configuration.
    const known = new Map<string, string>();
    for (const f of this.lib.failures()) if (f.configId === config.id) known.set(f.path, f.error);
    const missing = new Set(this.lib.imagesMissingResults(config.id).map((r) => r.id));
    const moved = this.queue.movedItems(jobId);
    const toEncode: number[] = [];
    const knownFailures: FileFailure[] = [];
    let unchanged = 0;
    for (const f of scan.files) {
      const id = rec.ids.get(f.path);
      if (id === undefined) continue; // could not be hashed: among the problems
      if (missing.has(id)) {
        const err = known.get(f.path);
        if (err !== undefined && !job.params.retryFailed) knownFailures.push({ file: f.path, error: err });
        else toEncode.push(id);
      } else if (!moved.has(id)) {
        unchanged++;
      }
    }
    const record: ScanRecord = { scanned: scan.files.length, unchanged, problems, knownFailures };
    this.queue.finishScan(jobId, record, toEncode);
    return null;
  }

  private folderId(folder: string): number {
    const abs = path.resolve(folder);
    return this.lib.listFolders().find((f) => f.path === abs)?.id ?? this.lib.addFolder(abs).id;
  }

  /** Encodes the job's pending items. Returns the stop request that interrupted it, if any. */
  private async encodePhase(job: JobRow, config: ConfigRow): Promise<'pause' | 'cancel' | null> {
    const jobId = job.id;
    const pending = this.queue.pendingItems(jobId);
    const c0 = this.queue.counts(jobId);
    const total = c0.pending + c0.done + c0.failed;
    let done = c0.done + c0.failed;
    let failed = 0;
    this.emit({ jobId, phase: 'encode', done, total, failed, current: null });
    if (pending.length === 0) return null;

    const rows: ImageRow[] = [];
    for (const id of pending) {
      const r = this.lib.imageById(id);
      if (r) rows.push(r);
    }
    const byPath = new Map(rows.map((r) => [r.path, r]));
    const thumbDir = this.thumbDir();
    const open = this.opts.openPipeline ?? ((o: IndexPipelineOptions) => IndexPipeline.open(o));
    const pipeline = await open({
      modelDir: config.modelDir,
      sae: config.saePath,
      layer: config.layer,
      provider: this.opts.provider ?? 'auto',
      batchSize: this.opts.batchSize ?? 1,
      thumbDir,
      ...(this.opts.decodeWorkers ? { decodeWorkers: this.opts.decodeWorkers } : {}),
    });
    const writeBatch = Math.max(1, this.opts.writeBatch ?? 16);
    const meter = new RateMeter();
    meter.mark(0);
    let encodedHere = 0;

    type Item = { row: ImageRow; r: IndexFileResult };
    let batch: Item[] = [];
    let batchStarted = performance.now();
    let flushing: Promise<void> = Promise.resolve();
    let inFlight = 0;

    const write = (items: Item[]): void => {
      const results: ResultInput[] = [];
      this.lib.transaction(() => {
        for (const it of items) {
          if (!it.r.ok) continue;
          const info = it.r.info;
          if (info && (info.width !== it.row.width || info.height !== it.row.height || info.capturedAt !== it.row.capturedAt)) {
            this.lib.updateImageFile(it.row.id, { ...fileOf(it.row), width: info.width, height: info.height, capturedAt: info.capturedAt });
          }
          const { codes, embedding, metrics } = it.r.image;
          results.push({ imageId: it.row.id, codes: codes!, embedding, metrics: metrics! });
        }
        if (results.length) this.lib.writeResults(config.id, results);
        for (const it of items) {
          if (it.r.ok) {
            this.queue.itemDone(jobId, it.row.id);
            this.lib.clearFailure(it.row.path);
          } else {
            const reason = reasonOf(it.row.path, it.r.error);
            this.queue.itemFailed(jobId, it.row.id, reason);
            this.lib.recordFailure(it.row.path, config.id, reason);
          }
        }
        this.queue.heartbeat(jobId);
      });
    };
    const flush = (): void => {
      if (batch.length === 0) return;
      const items = batch;
      batch = [];
      inFlight++;
      flushing = flushing.then(() => write(items)).finally(() => inFlight--);
    };

    let stop: 'pause' | 'cancel' | null = null;
    let completed = false;
    try {
      for await (const r of pipeline.encode(rows.map((x) => ({ file: x.path, hash: x.hash })))) {
        const row = byPath.get(r.file)!;
        batch.push({ row, r });
        done++;
        encodedHere++;
        if (!r.ok) failed++;
        meter.mark(encodedHere);
        this.emit({ jobId, phase: 'encode', done, total, failed, current: r.file, rate: meter.rate(), etaSeconds: meter.eta(total - done) });
        if (batch.length >= writeBatch || performance.now() - batchStarted >= FLUSH_MS) {
          flush();
          batchStarted = performance.now();
          // Back-pressure: never more than two batches waiting on their writes.
          if (inFlight > 1) await flushing;
          stop = this.stopWanted(jobId);
          if (stop) break;
        }
      }
      flush();
      await flushing;
      completed = stop === null;
    } finally {
      await flushing.catch(() => undefined);
      await pipeline.close();
    }
    return completed ? null : stop;
  }
}

function fileOf(r: ImageRow): NewImage {
  return { path: r.path, folderId: r.folderId, size: r.size, mtimeMs: r.mtimeMs, hash: r.hash, width: r.width, height: r.height, capturedAt: r.capturedAt };
}

export type { IndexPhase, IndexProgress, PipelineLike };
