/** Installed models (vision models and SAEs) and the offline demo. */
import { z } from 'zod';

export const InstalledModelSchema = z.object({
  name: z.string(),
  kind: z.enum(['vision', 'sae']),
  /** What indexing takes: the model folder, the SAE file or folder. */
  path: z.string(),
  /** Bytes, all files. */
  size: z.number().nonnegative(),
  /** SAEs: the residual-stream layer they read. */
  layer: z.int().nonnegative().nullable(),
  /** A demonstration model: random weights, its features mean nothing. */
  demo: z.boolean(),
  /** Shipped with the app; cannot be removed. */
  builtIn: z.boolean(),
  /** Its files are the app's (downloaded or copied): removing it deletes them. Imported where they were: false. */
  managed: z.boolean(),
  /** False when some of its files are missing. */
  present: z.boolean(),
});
export type InstalledModel = z.infer<typeof InstalledModelSchema>;

export const ModelListSchema = z.array(InstalledModelSchema);

export const DownloadStateSchema = z.enum(['idle', 'running', 'done', 'failed', 'cancelled']);
export type DownloadState = z.infer<typeof DownloadStateSchema>;

export const DownloadStatusSchema = z.object({
  state: DownloadStateSchema,
  /** The hub (or mirror) the files come from. */
  endpoint: z.string().nullable(),
  /** The file being fetched or verified, "<repo>/<path>". */
  current: z.string().nullable(),
  phase: z.enum(['download', 'verify']).nullable(),
  /** Bytes on disk of the whole download, and its size when the listing gave every size. */
  bytes: z.number().nonnegative(),
  total: z.number().nonnegative().nullable(),
  /** Bytes per second over the last few seconds. */
  rate: z.number().nonnegative().nullable(),
  etaSeconds: z.number().nonnegative().nullable(),
  /** Models installed by this download so far. */
  installed: z.array(z.string()),
  /** Models that failed, each with the reason (no network, 401, disk full, checksum...). */
  failed: z.array(z.object({ name: z.string(), error: z.string() })),
  /** What the hub listing said worth knowing (e.g. a file with no published checksum). */
  notes: z.array(z.string()),
});
export type DownloadStatus = z.infer<typeof DownloadStatusSchema>;

export const DownloadRequestSchema = z.strictObject({
  /** SAE layers to fetch (CLIP-Scope publishes 2, 5, 8, 11, 14, 17, 20, 22). */
  layers: z.array(z.int().min(0).max(23)).max(8),
  /** Fetch the CLIP vision model too (default true). */
  vision: z.boolean().default(true),
});

export const ImportRequestSchema = z.strictObject({
  /** A model folder, an SAE file or a folder holding several; registered where they are. */
  path: z.string().trim().min(1, { error: 'expected a non-empty path' }),
  /** The layer of an SAE whose file does not record it. */
  layer: z.int().nonnegative().optional(),
});

export const ImportResultSchema = z.object({
  imported: z.array(InstalledModelSchema),
  skipped: z.array(z.object({ path: z.string(), reason: z.string() })),
});

export const VerifyRequestSchema = z.strictObject({
  /** One model; default all installed. */
  name: z.string().min(1).optional(),
  /** Sizes only, no sha256 (seconds instead of minutes for the 1.7 GB checkpoint). */
  quick: z.boolean().default(false),
});

export const VerifyResultSchema = z.object({
  models: z.array(z.object({
    name: z.string(),
    kind: z.enum(['vision', 'sae']),
    ok: z.boolean(),
    /** What is wrong, one line each (missing file, size or checksum differs, unusable). */
    problems: z.array(z.string()),
  })),
  /** Interrupted downloads kept for resuming. */
  partials: z.array(z.object({ path: z.string(), size: z.number().nonnegative() })),
});

export const ModelNameRequestSchema = z.strictObject({
  name: z.string().min(1),
  /** Remove it even though libraries were indexed with it (their results stay). */
  force: z.boolean().default(false),
});
