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
import type { Library } from '../store/library.js';
import { UserFacingError } from '../errors.js';

export type JobState = 'queued' | 'running' | 'paused' | 'cancelled' | 'done' | 'failed';
export type JobPhase = 'scan' | 'encode' | 'finish';

export interface IndexJobParams {
  /** Absolute folder paths, sorted. */
  readonly folders: readonly string[];
  readonly modelDir: string;
  readonly sae: string;
  /** The layer asked for; null: the SAE's own. */
  readonly layer: number | null;
  /** Try files that failed before again even though they did not change. */
  readonly retryFailed: boolean;
}

export interface FileFailure {
  readonly file: string;
  readonly error: string;
}

/** What the reconcile step found (persisted, so a resumed job reports like an uninterrupted one). */
export interface ScanRecord {
  readonly scanned: number;
  readonly unchanged: number;
  /** Walk problems (dangling links, pipes, unreadable folders). */
  readonly problems: readonly FileFailure[];
  /** Unchanged files that failed before for this configuration (not retried). */
  readonly knownFailures: readonly FileFailure[];
}

/** The run summary (the CLI's --json line). */
export interface IndexSummary {
  readonly scanned: number;
  readonly indexed: number;
  readonly unchanged: number;
  readonly moved: number;
  readonly removed: number;
  readonly failed: number;
  readonly failures: readonly FileFailure[];
}

export interface JobRow {
  readonly id: number;
  readonly state: JobState;
  readonly request: 'pause' | 'cancel' | null;
  readonly params: IndexJobParams;
  readonly configId: number | null;
  readonly phase: JobPhase;
  readonly scan: ScanRecord | null;
  readonly removed: number;
  readonly ownerPid: number | null;
  readonly ownerHost: string | null;
  readonly heartbeatAt: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly finishedAt: number | null;
  readonly summary: IndexSummary | null;
  readonly error: string | null;
}

interface RawJob {
  id: number; state: JobState; request: 'pause' | 'cancel' | null; params: string; config_id: number | null; phase: JobPhase;
  scan: string | null; removed: number; owner_pid: number | null; owner_host: string | null; heartbeat_at: number | null;
  created_at: number; updated_at: number; finished_at: number | null; summary: string | null; error: string | null;
}

function fromRaw(r: RawJob): JobRow {
  return {
    id: r.id, state: r.state, request: r.request, params: JSON.parse(r.params) as IndexJobParams, configId: r.config_id, phase: r.phase,
    scan: r.scan ? (JSON.parse(r.scan) as ScanRecord) : null, removed: r.removed, ownerPid: r.owner_pid, ownerHost: r.owner_host,
    heartbeatAt: r.heartbeat_at, createdAt: r.created_at, updatedAt: r.updated_at, finishedAt: r.finished_at,
    summary: r.summary ? (JSON.parse(r.summary) as IndexSummary) : null, error: r.error,
  };
}

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
    readonly lib: Library,
    private readonly now: () => number = Date.now,
  ) {}

  private get db(): Library['db'] {
    return this.lib.db;
  }

  get(id: number): JobRow | undefined {
    const r = this.db.prepare('SELECT * FROM index_jobs WHERE id = ?').get(id) as RawJob | undefined;
    return r && fromRaw(r);
  }

  /** Newest first. */
  list(opts: { states?: readonly JobState[]; limit?: number } = {}): JobRow[] {
    const states = opts.states ?? [];
    const where = states.length ? `WHERE state IN (${states.map(() => '?').join(', ')})` : '';
    const rows = this.db.prepare(`SELECT * FROM index_jobs ${where} ORDER BY id DESC LIMIT ?`).all(...states, opts.limit ?? -1) as RawJob[];
    return rows.map(fromRaw);
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
    const t = this.now();
    const id = this.db
      .prepare("INSERT INTO index_jobs (state, params, created_at, updated_at) VALUES ('queued', ?, ?, ?)")
      .run(JSON.stringify(params), t, t).lastInsertRowid;
    return this.get(Number(id))!;
  }

  /**
   * Makes this process the job's runner. One job runs per library at a time: claiming fails while
   * another live process runs one.
   */
  claim(id: number): JobRow {
    const tx = this.db.transaction(() => {
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
      const t = this.now();
      this.db
        .prepare("UPDATE index_jobs SET state = 'running', request = NULL, owner_pid = ?, owner_host = ?, heartbeat_at = ?, updated_at = ? WHERE id = ?")
        .run(process.pid, this.host, t, t, id);
      return this.get(id)!;
    });
    return tx.immediate();
  }

  heartbeat(id: number): void {
    const t = this.now();
    this.db.prepare('UPDATE index_jobs SET heartbeat_at = ?, updated_at = ? WHERE id = ?').run(t, t, id);
  }

  /** The pending pause / cancel request, read fresh (another process may have written it). */
  pendingRequest(id: number): 'pause' | 'cancel' | null {
    const r = this.db.prepare('SELECT request FROM index_jobs WHERE id = ?').get(id) as { request: 'pause' | 'cancel' | null } | undefined;
    return r?.request ?? null;
  }

  /** Asks the job to pause after its current batch (a queued job pauses at once). */
  requestPause(id: number): void {
    const t = this.now();
    this.db.prepare("UPDATE index_jobs SET state = 'paused', updated_at = ? WHERE id = ? AND state = 'queued'").run(t, id);
    this.db.prepare("UPDATE index_jobs SET request = 'pause', updated_at = ? WHERE id = ? AND state = 'running'").run(t, id);
  }

  /** Asks the job to stop for good after its current batch; results written so far stay. */
  requestCancel(id: number): void {
    const t = this.now();
    this.db.prepare("UPDATE index_jobs SET state = 'cancelled', finished_at = ?, updated_at = ? WHERE id = ? AND state IN ('queued', 'paused')").run(t, t, id);
    this.db.prepare("UPDATE index_jobs SET request = 'cancel', updated_at = ? WHERE id = ? AND state = 'running'").run(t, id);
    this.db.prepare("DELETE FROM index_job_items WHERE job_id = ? AND (SELECT state FROM index_jobs WHERE id = ?) = 'cancelled'").run(id, id);
  }

  /** A paused job goes back to the queue. */
  resume(id: number): void {
    this.db.prepare("UPDATE index_jobs SET state = 'queued', request = NULL, updated_at = ? WHERE id = ? AND state = 'paused'").run(this.now(), id);
  }

  /** The runner stopped on request or finished: releases ownership. */
  setState(id: number, state: JobState, extra: { error?: string | null; summary?: IndexSummary | null } = {}): void {
    const t = this.now();
    const ended = state === 'done' || state === 'cancelled' || state === 'failed';
    this.db
      .prepare(`UPDATE index_jobs SET state = ?, request = NULL, owner_pid = NULL, owner_host = NULL, updated_at = ?,
                finished_at = CASE WHEN ? THEN ? ELSE finished_at END,
                summary = COALESCE(?, summary), error = COALESCE(?, error) WHERE id = ?`)
      .run(state, t, ended ? 1 : 0, t, extra.summary ? JSON.stringify(extra.summary) : null, extra.error ?? null, id);
    if (ended) this.db.prepare('DELETE FROM index_job_items WHERE job_id = ?').run(id);
  }

  setConfig(id: number, configId: number): void {
    this.db.prepare('UPDATE index_jobs SET config_id = ?, updated_at = ? WHERE id = ?').run(configId, this.now(), id);
  }

  /** Call inside the reconcile transaction: files marked removed by this job. */
  addRemoved(id: number, n: number): void {
    if (n > 0) this.db.prepare('UPDATE index_jobs SET removed = removed + ? WHERE id = ?').run(n, id);
  }

  /** Call inside the reconcile transaction: an image this job moved (renamed) without encoding. */
  markMoved(id: number, imageId: number): void {
    this.db
      .prepare("INSERT INTO index_job_items (job_id, image_id, state, moved) VALUES (?, ?, 'none', 1) ON CONFLICT (job_id, image_id) DO UPDATE SET moved = 1")
      .run(id, imageId);
  }

  /** Ends the scan phase: the images to encode become pending items, atomically with the scan record. */
  finishScan(id: number, scan: ScanRecord, toEncode: readonly number[]): void {
    const up = this.db.prepare(
      "INSERT INTO index_job_items (job_id, image_id, state) VALUES (?, ?, 'pending') ON CONFLICT (job_id, image_id) DO UPDATE SET state = 'pending', error = NULL",
    );
    this.lib.transaction(() => {
      for (const imageId of toEncode) up.run(id, imageId);
      this.db.prepare("UPDATE index_jobs SET phase = 'encode', scan = ?, updated_at = ? WHERE id = ?").run(JSON.stringify(scan), this.now(), id);
    });
  }

  setPhase(id: number, phase: JobPhase): void {
    this.db.prepare('UPDATE index_jobs SET phase = ?, updated_at = ? WHERE id = ?').run(phase, this.now(), id);
  }

  /** Image ids still to encode, in id order. */
  pendingItems(id: number): number[] {
    return (this.db.prepare("SELECT image_id FROM index_job_items WHERE job_id = ? AND state = 'pending' ORDER BY image_id").pluck().all(id) as number[]);
  }

  /** Ids of images this job moved (moved flag set). */
  movedItems(id: number): Set<number> {
    return new Set(this.db.prepare('SELECT image_id FROM index_job_items WHERE job_id = ? AND moved = 1').pluck().all(id) as number[]);
  }

  /** Call inside the batch's write transaction. */
  itemDone(id: number, imageId: number): void {
    this.db.prepare("UPDATE index_job_items SET state = 'done', error = NULL WHERE job_id = ? AND image_id = ?").run(id, imageId);
  }

  /** Call inside the batch's write transaction. */
  itemFailed(id: number, imageId: number, error: string): void {
    this.db.prepare("UPDATE index_job_items SET state = 'failed', error = ? WHERE job_id = ? AND image_id = ?").run(error, id, imageId);
  }

  counts(id: number): { pending: number; done: number; failed: number; movedOnly: number } {
    const rows = this.db.prepare('SELECT state, moved, COUNT(*) AS n FROM index_job_items WHERE job_id = ? GROUP BY state, moved').all(id) as { state: string; moved: number; n: number }[];
    const c = { pending: 0, done: 0, failed: 0, movedOnly: 0 };
    for (const r of rows) {
      if (r.state === 'pending') c.pending += r.n;
      else if (r.state === 'done') c.done += r.n;
      else if (r.state === 'failed') c.failed += r.n;
      else if (r.state === 'none' && r.moved) c.movedOnly += r.n;
    }
    return c;
  }

  /** Failures of this job's items, with the image paths. */
  itemFailures(id: number): FileFailure[] {
    return this.db
      .prepare("SELECT image_id AS imageId, error FROM index_job_items WHERE job_id = ? AND state = 'failed' ORDER BY image_id")
      .all(id)
      .map((r) => {
        const { imageId, error } = r as { imageId: number; error: string | null };
        return { file: this.lib.imageById(imageId)?.path ?? `#${imageId}`, error: error ?? 'failed' };
      });
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
