/**
 * Runs a library's indexing jobs in the background for the app: one at a time, progress turned
 * into whole `IndexStatus` snapshots (throttled for the UI), pause / resume / cancel between
 * batches. The heavy work (decoding, inference, thumbnails) is in the indexer's own workers;
 * this object only starts and follows them.
 */
import type { IndexJob, IndexStatus } from '../../common/contract/index.js';
import { UserFacingError, errorMessage } from '../engine/errors.js';
import { Indexer, type IndexerOptions } from '../engine/library/indexer.js';
import type { JobRow } from '../engine/library/jobs.js';
import type { IndexProgress } from '../engine/library/progress.js';
import type { WritableLibrary } from '../engine/store/library.js';
import { throttleLatest } from './throttle.js';

const STATUS_EVENTS_PER_SECOND = 4;

export interface IndexRunnerOptions extends Pick<IndexerOptions, 'thumbDir' | 'provider' | 'decodeWorkers'> {
  /** Told every status change (throttled; state changes always arrive). */
  onStatus: (s: IndexStatus) => void;
  /** Told when a run ended with new results (the library's counts changed). */
  onFinished: () => void;
}

export class IndexRunner {
  private readonly indexer: Indexer;
  private running: Promise<void> | null = null;
  private progress: IndexProgress | null = null;
  private readonly events: { push(s: IndexStatus): void; flush(): void };

  constructor(
    private readonly lib: WritableLibrary,
    private readonly opts: IndexRunnerOptions,
  ) {
    this.events = throttleLatest(opts.onStatus, 1000 / STATUS_EVENTS_PER_SECOND);
    this.indexer = new Indexer(lib, {
      ...(opts.thumbDir === undefined ? {} : { thumbDir: opts.thumbDir }),
      ...(opts.provider === undefined ? {} : { provider: opts.provider }),
      ...(opts.decodeWorkers === undefined ? {} : { decodeWorkers: opts.decodeWorkers }),
      onProgress: (p) => {
        this.progress = p;
        this.events.push(this.status());
      },
    });
  }

  get busy(): boolean {
    return this.running !== null;
  }

  /** Starts (or resumes the identical unfinished) job for these parameters. */
  start(params: { folders: string[]; modelDir: string; sae: string; layer: number | null; retryFailed: boolean }): IndexStatus {
    this.refuseIfBusy();
    const { job } = this.indexer.jobFor(params);
    this.launch(job.id);
    return this.status();
  }

  resume(jobId: number): IndexStatus {
    this.refuseIfBusy();
    const job = this.indexer.queue.resumable().find((j) => j.id === jobId);
    if (!job) throw new UserFacingError(`indexing job ${jobId} cannot be resumed (it has finished, or is not in this library)`);
    if (job.state === 'paused') this.indexer.queue.resume(jobId);
    this.launch(jobId);
    return this.status();
  }

  pause(): IndexStatus {
    if (this.running) this.indexer.pause();
    return this.status();
  }

  cancel(): IndexStatus {
    const id = this.indexer.currentJob;
    if (id !== null) this.indexer.cancel();
    else {
      // A paused job can be cancelled without running it again.
      const paused = this.indexer.queue.resumable().at(-1);
      if (paused) this.indexer.queue.setState(paused.id, 'cancelled', { summary: this.indexer.queue.summary(paused.id) });
    }
    const s = this.status();
    this.events.push(s);
    return s;
  }

  /** Pauses a running job after its batch and waits for it; returns the paused job's id. */
  async stop(): Promise<number | null> {
    const id = this.indexer.currentJob;
    if (!this.running) return null;
    this.indexer.pause();
    await this.running;
    return id;
  }

  private refuseIfBusy(): void {
    if (this.running) throw new UserFacingError('an indexing job is already running in this library; pause or cancel it first').withCode('busy');
  }

  private launch(jobId: number): void {
    this.progress = { jobId, phase: 'scan', done: 0, total: null, failed: 0, rate: null, etaSeconds: null, current: null };
    this.running = this.indexer
      .run(jobId)
      .then(() => undefined, (e: unknown) => {
        // The job row records the reason (the model could not be used, ...); the UI shows it.
        if (!this.indexer.queue.get(jobId)?.error) console.error(`[index] job ${jobId} failed:`, errorMessage(e));
      })
      .finally(() => {
        this.running = null;
        this.progress = null;
        this.events.push(this.status());
        this.events.flush();
        this.opts.onFinished();
      });
    this.events.push(this.status());
  }

  status(): IndexStatus {
    const q = this.indexer.queue;
    const current = this.indexer.currentJob ?? this.progress?.jobId ?? null;
    const row = current !== null ? q.get(current) : q.list({ limit: 1 })[0];
    return {
      job: row ? this.describe(row) : null,
      resumable: this.running ? [] : q.resumable().map((j) => j.id),
    };
  }

  private describe(row: JobRow): IndexJob {
    const live = this.running && this.progress?.jobId === row.id ? this.progress : null;
    const config = row.configId === null ? undefined : this.lib.configById(row.configId);
    const summary = row.summary ?? (live ? null : row.state === 'paused' || row.state === 'queued' ? this.indexer.queue.summary(row.id) : null);
    return {
      id: row.id,
      // While our run has not claimed the row yet it still reads 'queued'.
      state: live ? 'running' : row.state,
      phase: live ? live.phase : row.state === 'done' ? 'done' : row.phase,
      done: live?.done ?? summary?.indexed ?? 0,
      total: live ? live.total : (summary?.indexed ?? null),
      failed: live?.failed ?? summary?.failed ?? 0,
      rate: live?.rate ?? null,
      etaSeconds: live?.etaSeconds ?? null,
      current: live?.current ?? null,
      folders: [...row.params.folders],
      layer: config?.layer ?? row.params.layer ?? null,
      summary: summary
        ? { scanned: summary.scanned, indexed: summary.indexed, unchanged: summary.unchanged, moved: summary.moved, removed: summary.removed, failed: summary.failed }
        : null,
      error: row.error,
    };
  }

  /** A job's failures (default the latest job's), or none. */
  failures(jobId?: number): { file: string; error: string }[] {
    const id = jobId ?? this.indexer.currentJob ?? this.indexer.queue.list({ limit: 1 })[0]?.id;
    if (id === undefined) return [];
    if (!this.indexer.queue.get(id)) throw new UserFacingError(`this library has no indexing job ${id}`);
    return this.indexer.queue.summary(id).failures.map((f) => ({ file: f.file, error: f.error }));
  }
}
