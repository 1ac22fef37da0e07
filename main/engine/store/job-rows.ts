/**
 * The indexing job tables (store/migrations/002-jobs.ts) as rows: index_jobs (one per job: its
 * state, parameters, the phase it reached, its scan record and summary as JSON) and
 * index_job_items (the images a job still has to encode, or has encoded / failed / moved).
 * The queue's rules (who may claim a job, when it is interrupted) are library/jobs.ts's.
 */
import { statement } from './connection.js';
import type { ReadonlyLibrary, WritableLibrary } from './library.js';

export type JobState = 'queued' | 'running' | 'paused' | 'cancelled' | 'done' | 'failed';
export type JobPhase = 'scan' | 'encode' | 'finish';
export type JobRequest = 'pause' | 'cancel';

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
  readonly request: JobRequest | null;
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

interface JobSqlRow {
  id: number; state: JobState; request: JobRequest | null; params: string; config_id: number | null; phase: JobPhase;
  scan: string | null; removed: number; owner_pid: number | null; owner_host: string | null; heartbeat_at: number | null;
  created_at: number; updated_at: number; finished_at: number | null; summary: string | null; error: string | null;
}

// The JSON columns hold what this module wrote (JSON.stringify of the same types).
const parse = <T>(text: string): T => JSON.parse(text) as T;

function fromSql(r: JobSqlRow): JobRow {
  return {
    id: r.id, state: r.state, request: r.request, params: parse<IndexJobParams>(r.params), configId: r.config_id, phase: r.phase,
    scan: r.scan ? parse<ScanRecord>(r.scan) : null, removed: r.removed, ownerPid: r.owner_pid, ownerHost: r.owner_host,
    heartbeatAt: r.heartbeat_at, createdAt: r.created_at, updatedAt: r.updated_at, finishedAt: r.finished_at,
    summary: r.summary ? parse<IndexSummary>(r.summary) : null, error: r.error,
  };
}

// ---- reads

export function jobRow(lib: ReadonlyLibrary, id: number): JobRow | undefined {
  const r = statement<JobSqlRow>(lib, 'SELECT * FROM index_jobs WHERE id = ?').get(id);
  return r && fromSql(r);
}

/** Newest first; every state when `states` is empty; all of them without a limit. */
export function jobRows(lib: ReadonlyLibrary, states: readonly JobState[], limit = -1): JobRow[] {
  const where = states.length ? `WHERE state IN (${states.map(() => '?').join(', ')})` : '';
  return statement<JobSqlRow>(lib, `SELECT * FROM index_jobs ${where} ORDER BY id DESC LIMIT ?`).all(...states, limit).map(fromSql);
}

export function jobRequest(lib: ReadonlyLibrary, id: number): JobRequest | null {
  return statement<{ request: JobRequest | null }>(lib, 'SELECT request FROM index_jobs WHERE id = ?').get(id)?.request ?? null;
}

/** Image ids still to encode, in id order. */
export function pendingItemIds(lib: ReadonlyLibrary, jobId: number): number[] {
  return statement<number>(lib, "SELECT image_id FROM index_job_items WHERE job_id = ? AND state = 'pending' ORDER BY image_id").pluck().all(jobId);
}

/** Ids of images the job moved (renamed) rather than encoded. */
export function movedItemIds(lib: ReadonlyLibrary, jobId: number): number[] {
  return statement<number>(lib, 'SELECT image_id FROM index_job_items WHERE job_id = ? AND moved = 1').pluck().all(jobId);
}

/** Item counts by (state, moved). */
export function itemCounts(lib: ReadonlyLibrary, jobId: number): { state: string; moved: number; n: number }[] {
  return statement<{ state: string; moved: number; n: number }>(lib, 'SELECT state, moved, COUNT(*) AS n FROM index_job_items WHERE job_id = ? GROUP BY state, moved')
    .all(jobId);
}

/** The job's failed items with their image's path (null if the image row is gone). */
export function failedItems(lib: ReadonlyLibrary, jobId: number): { imageId: number; path: string | null; error: string | null }[] {
  return statement<{ imageId: number; path: string | null; error: string | null }>(lib, `SELECT it.image_id AS imageId, i.path, it.error
      FROM index_job_items it LEFT JOIN images i ON i.id = it.image_id
      WHERE it.job_id = ? AND it.state = 'failed' ORDER BY it.image_id`).all(jobId);
}

// ---- writes (each one statement; callers group them in the library's transactions)

export function insertJob(lib: WritableLibrary, params: IndexJobParams, at: number): number {
  return Number(statement(lib, "INSERT INTO index_jobs (state, params, created_at, updated_at) VALUES ('queued', ?, ?, ?)")
    .run(JSON.stringify(params), at, at).lastInsertRowid);
}

export function markJobRunning(lib: WritableLibrary, id: number, owner: { pid: number; host: string }, at: number): void {
  statement(lib, "UPDATE index_jobs SET state = 'running', request = NULL, owner_pid = ?, owner_host = ?, heartbeat_at = ?, updated_at = ? WHERE id = ?")
    .run(owner.pid, owner.host, at, at, id);
}

export function touchHeartbeat(lib: WritableLibrary, id: number, at: number): void {
  statement(lib, 'UPDATE index_jobs SET heartbeat_at = ?, updated_at = ? WHERE id = ?').run(at, at, id);
}

/** A queued job pauses at once; a running one is asked to. */
export function requestJobPause(lib: WritableLibrary, id: number, at: number): void {
  statement(lib, "UPDATE index_jobs SET state = 'paused', updated_at = ? WHERE id = ? AND state = 'queued'").run(at, id);
  statement(lib, "UPDATE index_jobs SET request = 'pause', updated_at = ? WHERE id = ? AND state = 'running'").run(at, id);
}

/** A queued or paused job is cancelled at once (its items dropped); a running one is asked to stop. */
export function requestJobCancel(lib: WritableLibrary, id: number, at: number): void {
  statement(lib, "UPDATE index_jobs SET state = 'cancelled', finished_at = ?, updated_at = ? WHERE id = ? AND state IN ('queued', 'paused')").run(at, at, id);
  statement(lib, "UPDATE index_jobs SET request = 'cancel', updated_at = ? WHERE id = ? AND state = 'running'").run(at, id);
  statement(lib, "DELETE FROM index_job_items WHERE job_id = ? AND (SELECT state FROM index_jobs WHERE id = ?) = 'cancelled'").run(id, id);
}

export function requeuePausedJob(lib: WritableLibrary, id: number, at: number): void {
  statement(lib, "UPDATE index_jobs SET state = 'queued', request = NULL, updated_at = ? WHERE id = ? AND state = 'paused'").run(at, id);
}

/** Sets the state and releases ownership; an ended job records its end and loses its items. */
export function setJobState(lib: WritableLibrary, id: number, state: JobState, at: number, extra: { error?: string | null; summary?: IndexSummary | null }): void {
  const ended = state === 'done' || state === 'cancelled' || state === 'failed';
  statement(lib, `UPDATE index_jobs SET state = ?, request = NULL, owner_pid = NULL, owner_host = NULL, updated_at = ?,
            finished_at = CASE WHEN ? THEN ? ELSE finished_at END,
            summary = COALESCE(?, summary), error = COALESCE(?, error) WHERE id = ?`)
    .run(state, at, ended ? 1 : 0, at, extra.summary ? JSON.stringify(extra.summary) : null, extra.error ?? null, id);
  if (ended) statement(lib, 'DELETE FROM index_job_items WHERE job_id = ?').run(id);
}

export function setJobConfig(lib: WritableLibrary, id: number, configId: number, at: number): void {
  statement(lib, 'UPDATE index_jobs SET config_id = ?, updated_at = ? WHERE id = ?').run(configId, at, id);
}

export function addJobRemoved(lib: WritableLibrary, id: number, n: number): void {
  statement(lib, 'UPDATE index_jobs SET removed = removed + ? WHERE id = ?').run(n, id);
}

export function markItemMoved(lib: WritableLibrary, jobId: number, imageId: number): void {
  statement(lib, "INSERT INTO index_job_items (job_id, image_id, state, moved) VALUES (?, ?, 'none', 1) ON CONFLICT (job_id, image_id) DO UPDATE SET moved = 1")
    .run(jobId, imageId);
}

/** The images to encode become pending items, and the job moves to its encode phase with its scan record. */
export function recordScan(lib: WritableLibrary, jobId: number, scan: ScanRecord, toEncode: readonly number[], at: number): void {
  const up = statement(lib, 
    "INSERT INTO index_job_items (job_id, image_id, state) VALUES (?, ?, 'pending') ON CONFLICT (job_id, image_id) DO UPDATE SET state = 'pending', error = NULL",
  );
  for (const imageId of toEncode) up.run(jobId, imageId);
  statement(lib, "UPDATE index_jobs SET phase = 'encode', scan = ?, updated_at = ? WHERE id = ?").run(JSON.stringify(scan), at, jobId);
}

export function setJobPhase(lib: WritableLibrary, id: number, phase: JobPhase, at: number): void {
  statement(lib, 'UPDATE index_jobs SET phase = ?, updated_at = ? WHERE id = ?').run(phase, at, id);
}

export function markItemDone(lib: WritableLibrary, jobId: number, imageId: number): void {
  statement(lib, "UPDATE index_job_items SET state = 'done', error = NULL WHERE job_id = ? AND image_id = ?").run(jobId, imageId);
}

export function markItemFailed(lib: WritableLibrary, jobId: number, imageId: number, error: string): void {
  statement(lib, "UPDATE index_job_items SET state = 'failed', error = ? WHERE job_id = ? AND image_id = ?").run(error, jobId, imageId);
}
