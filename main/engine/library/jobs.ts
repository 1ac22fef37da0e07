/**
 * The persisted indexing job queue (tables from store/migrations/002-jobs.ts).
 *
 * A job survives restarts and kill -9: its row says which phase it reached and its items say which
 * images are still to encode. A job whose owner process is gone ("running" with a dead pid, or a
 * heartbeat older than STALE_MS for another host) is interrupted and can be claimed again; it then
 * resumes where it stopped. Pause and cancel are requests any process may write; the runner
 * honours them between batches.
 */
import os from 'node:os';
import path from 'node:path';
import type { WritableLibrary } from '../store/library.js';
import {
  addJobRemoved, failedItems, insertJob, itemCounts, jobRequest, jobRow, jobRows, markItemDone, markItemFailed, markItemMoved, markJobRunning,
  movedItemIds, pendingItemIds, recordScan, requestJobCancel, requestJobPause, requeuePausedJob, setJobConfig, setJobPhase, setJobState,
  touchHeartbeat, type FileFailure, type IndexJobParams, type IndexSummary, type JobPhase, type JobRow, type JobState, type ScanRecord,
} from '../store/job-rows.js';
import { UserFacingError } from '../errors.js';

export type { FileFailure, IndexJobParams, IndexSummary, JobPhase, JobRow, JobState, ScanRecord } from '../store/job-rows.js';

/** A "running" job whose heartbeat is this old is interrupted, whatever its pid says. */
export const STALE_MS = 2 * 60_000;
/** How often a runner beats. */
export const HEARTBEAT_MS = 10_000;

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by someone else
  }
}

export function normalizeParams(p: { folders: readonly string[]; modelDir: string; sae: string; layer?: number | null; retryFailed?: boolean }): IndexJobParams {
  return {
    folders: [...new Set(p.folders.map((f) => path.resolve(f)))].sort(),
    modelDir: path.resolve(p.modelDir),
    sae: path.resolve(p.sae),
    layer: p.layer ?? null,
    retryFailed: p.retryFailed ?? false,
  };
}

function sameParams(a: IndexJobParams, b: IndexJobParams): boolean {
  return a.modelDir === b.modelDir && a.sae === b.sae && a.layer === b.layer && a.folders.length === b.folders.length && a.folders.every((f, i) => f === b.folders[i]);
}

export class JobQueue {
  private readonly host = os.hostname();

  constructor(
    readonly lib: WritableLibrary,
    private readonly now: () => number = Date.now,
  ) {}

  get(id: number): JobRow | undefined {
    return jobRow(this.lib, id);
  }

  /** Newest first. */
  list(opts: { states?: readonly JobState[]; limit?: number } = {}): JobRow[] {
    return jobRows(this.lib, opts.states ?? [], opts.limit ?? -1);
  }

  /**
   * "running" but its process is gone: a dead pid on this host, or no heartbeat for STALE_MS
   * (a runner beats every few seconds; this also covers a pid reused by another program and a
   * runner on another machine sharing the file).
   */
  isInterrupted(job: JobRow): boolean {
    if (job.state !== 'running') return false;
    if (job.heartbeatAt === null || this.now() - job.heartbeatAt > STALE_MS) return true;
    if (job.ownerHost === this.host && job.ownerPid !== null) return !isProcessAlive(job.ownerPid);
    return false;
  }

  /** Jobs that can run: queued, paused, or interrupted, oldest first. */
  resumable(): JobRow[] {
    return this.list({ states: ['queued', 'paused', 'running'] })
      .filter((j) => j.state !== 'running' || this.isInterrupted(j))
      .reverse();
  }

  /** The unfinished job with exactly these parameters, if any (the CLI resumes it). */
  findResumable(params: IndexJobParams): JobRow | undefined {
    return this.resumable().find((j) => sameParams(j.params, params));
  }

  enqueue(params: IndexJobParams): JobRow {
    return this.get(insertJob(this.lib, params, this.now()))!;
  }

  /**
   * Makes this process the job's runner. One job runs per library at a time: claiming fails while
   * another live process runs one.
   */
  claim(id: number): JobRow {
    return this.lib.transaction(() => {
      const job = this.get(id);
      if (!job) throw new UserFacingError(`indexing job ${id} does not exist`);
      if (job.state === 'done' || job.state === 'cancelled' || job.state === 'failed') {
        throw new UserFacingError(`indexing job ${id} has ended (${job.state})`);
      }
      for (const other of this.list({ states: ['running'] })) {
        if (other.id === id && other.ownerPid === process.pid && other.ownerHost === this.host) continue;
        if (!this.isInterrupted(other)) {
          throw new UserFacingError(`${this.lib.file}: another indexer is running on this library (job ${other.id}, process ${other.ownerPid ?? '?'}${other.ownerHost && other.ownerHost !== this.host ? ` on ${other.ownerHost}` : ''})`);
        }
      }
      markJobRunning(this.lib, id, { pid: process.pid, host: this.host }, this.now());
      return this.get(id)!;
    });
  }

  heartbeat(id: number): void {
    touchHeartbeat(this.lib, id, this.now());
  }

  /** The pending pause / cancel request, read fresh (another process may have written it). */
  pendingRequest(id: number): 'pause' | 'cancel' | null {
    return jobRequest(this.lib, id);
  }

  /** Asks the job to pause after its current batch (a queued job pauses at once). */
  requestPause(id: number): void {
    requestJobPause(this.lib, id, this.now());
  }

  /** Asks the job to stop for good after its current batch; results written so far stay. */
  requestCancel(id: number): void {
    requestJobCancel(this.lib, id, this.now());
  }

  /** A paused job goes back to the queue. */
  resume(id: number): void {
    requeuePausedJob(this.lib, id, this.now());
  }

  /** The runner stopped on request or finished: releases ownership. */
  setState(id: number, state: JobState, extra: { error?: string | null; summary?: IndexSummary | null } = {}): void {
    setJobState(this.lib, id, state, this.now(), extra);
  }

  setConfig(id: number, configId: number): void {
    setJobConfig(this.lib, id, configId, this.now());
  }

  /** Call inside the reconcile transaction: files marked removed by this job. */
  addRemoved(id: number, n: number): void {
    if (n > 0) addJobRemoved(this.lib, id, n);
  }

  /** Call inside the reconcile transaction: an image this job moved (renamed) without encoding. */
  markMoved(id: number, imageId: number): void {
    markItemMoved(this.lib, id, imageId);
  }

  /** Ends the scan phase: the images to encode become pending items, atomically with the scan record. */
  finishScan(id: number, scan: ScanRecord, toEncode: readonly number[]): void {
    this.lib.transaction(() => recordScan(this.lib, id, scan, toEncode, this.now()));
  }

  setPhase(id: number, phase: JobPhase): void {
    setJobPhase(this.lib, id, phase, this.now());
  }

  /** Image ids still to encode, in id order. */
  pendingItems(id: number): number[] {
    return pendingItemIds(this.lib, id);
  }

  /** Ids of images this job moved (moved flag set). */
  movedItems(id: number): Set<number> {
    return new Set(movedItemIds(this.lib, id));
  }

  /** Call inside the batch's write transaction. */
  itemDone(id: number, imageId: number): void {
    markItemDone(this.lib, id, imageId);
  }

  /** Call inside the batch's write transaction. */
  itemFailed(id: number, imageId: number, error: string): void {
    markItemFailed(this.lib, id, imageId, error);
  }

  counts(id: number): { pending: number; done: number; failed: number; movedOnly: number } {
    const c = { pending: 0, done: 0, failed: 0, movedOnly: 0 };
    for (const r of itemCounts(this.lib, id)) {
      if (r.state === 'pending') c.pending += r.n;
      else if (r.state === 'done') c.done += r.n;
      else if (r.state === 'failed') c.failed += r.n;
      else if (r.state === 'none' && r.moved) c.movedOnly += r.n;
    }
    return c;
  }

  /** Failures of this job's items, with the image paths. */
  itemFailures(id: number): FileFailure[] {
    return failedItems(this.lib, id).map((r) => ({ file: r.path ?? `#${r.imageId}`, error: r.error ?? 'failed' }));
  }

  /** The summary a run of this job reports (also while it runs). */
  summary(id: number): IndexSummary {
    const job = this.get(id);
    if (!job) throw new Error(`internal: no job ${id}`);
    if (job.summary) return job.summary;
    const scan = job.scan ?? { scanned: 0, unchanged: 0, problems: [], knownFailures: [] };
    const c = this.counts(id);
    const failures = [...this.itemFailures(id), ...scan.knownFailures, ...scan.problems].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
    return {
      scanned: scan.scanned,
      indexed: c.done,
      unchanged: scan.unchanged,
      moved: c.movedOnly,
      removed: job.removed,
      failed: failures.length,
      failures,
    };
  }
}
