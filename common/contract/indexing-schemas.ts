/** Indexing jobs: starting, steering and following them; their failures. */
import { z } from 'zod';

const nonEmptyPath = z.string().trim().min(1, { error: 'expected a non-empty path' });
const nonNegativeInt = z.int().nonnegative();

export const IndexPhaseSchema = z.enum(['scan', 'hash', 'encode', 'thumbnails', 'finish', 'done']);
export type IndexPhase = z.infer<typeof IndexPhaseSchema>;

export const JobStateSchema = z.enum(['queued', 'running', 'paused', 'cancelled', 'done', 'failed']);
export type JobState = z.infer<typeof JobStateSchema>;

export const FileFailureSchema = z.object({ file: z.string(), error: z.string() });
export type FileFailure = z.infer<typeof FileFailureSchema>;

export const IndexSummarySchema = z.object({
  scanned: nonNegativeInt,
  indexed: nonNegativeInt,
  unchanged: nonNegativeInt,
  moved: nonNegativeInt,
  removed: nonNegativeInt,
  failed: nonNegativeInt,
});
export type IndexSummary = z.infer<typeof IndexSummarySchema>;

export const IndexJobSchema = z.object({
  id: z.int().positive(),
  state: JobStateSchema,
  phase: IndexPhaseSchema,
  /** Items finished in this phase. */
  done: nonNegativeInt,
  /** Items in this phase; null while the walk is still counting. */
  total: nonNegativeInt.nullable(),
  /** Photos that failed so far in this run. */
  failed: nonNegativeInt,
  /** Recent throughput in photos (or files) per second; null until measurable. */
  rate: z.number().nonnegative().nullable(),
  /** Seconds left at the recent rate; null when unknown. */
  etaSeconds: z.number().nonnegative().nullable(),
  /** The file being worked on (or the last finished). */
  current: z.string().nullable(),
  folders: z.array(z.string()),
  layer: nonNegativeInt.nullable(),
  /** The run's totals once it has ended (done, paused, cancelled). */
  summary: IndexSummarySchema.nullable(),
  /** Why the job failed as a whole (e.g. the model cannot be used). */
  error: z.string().nullable(),
});
export type IndexJob = z.infer<typeof IndexJobSchema>;

export const IndexStatusSchema = z.object({
  /** The running job, else the most recent one; null when the library was never indexed. */
  job: IndexJobSchema.nullable(),
  /** Paused or interrupted jobs the user can resume. */
  resumable: z.array(z.int().positive()),
});
export type IndexStatus = z.infer<typeof IndexStatusSchema>;

export const IndexStartRequestSchema = z.strictObject({
  /** CLIP model folder. */
  model: nonEmptyPath,
  /** SAE file or folder. */
  sae: nonEmptyPath,
  /** Residual-stream layer; defaults to the SAE's own. */
  layer: nonNegativeInt.optional(),
  /** Folders to index; default every folder of the library. */
  folders: z.array(nonEmptyPath).optional(),
  /** Try files that failed before again, even if unchanged. */
  retryFailed: z.boolean().optional(),
});
export type IndexStartRequest = z.infer<typeof IndexStartRequestSchema>;

export const JobRequestSchema = z.strictObject({ jobId: z.int().positive() });
export type JobRequest = z.infer<typeof JobRequestSchema>;

export const FailuresRequestSchema = z.strictObject({
  /** A job's failures; default the library's current failures (latest reason per file). */
  jobId: z.int().positive().optional(),
});

export const FailuresSchema = z.array(FileFailureSchema);
