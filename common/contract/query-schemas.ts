/**
 * `query.run`: photos by the features that fire on them (ALL / ANY / NOT terms with minimum
 * activations, optionally within regions of the patch grid), filtered by folder and date, as
 * `clipscope query` answers. The text grammar the CLI and the `#/query` URL share is in
 * query-grammar.ts (zod-free, for the page).
 */
import { z } from 'zod';

const nonNegativeInt = z.int().nonnegative();

export const QueryTermSchema = z.strictObject({
  feature: nonNegativeInt,
  /** Minimum activation (SAE latent value); default: active at all (> 0). */
  minAct: z.number().nonnegative().optional(),
});
export type QueryTerm = z.infer<typeof QueryTermSchema>;

/** Rows r0..r1 x columns c0..c1 of the patch grid, inclusive and 0-based: `[r0, r1, c0, c1]`. */
export const QueryRegionSchema = z.tuple([nonNegativeInt, nonNegativeInt, nonNegativeInt, nonNegativeInt]);
export type QueryRegion = z.infer<typeof QueryRegionSchema>;

export const QuerySortSchema = z.enum(['activation', 'date', 'date-asc']);
export type QuerySortOrder = z.infer<typeof QuerySortSchema>;

const terms = z.array(QueryTermSchema).max(64);

export const QueryRequestSchema = z.strictObject({
  /** Every one of these must fire (at least at its minimum). */
  all: terms.optional(),
  /** At least one of these must fire. */
  any: terms.optional(),
  /** None of these may fire. */
  not: terms.optional(),
  /** Look only at these patches (their union, with `tokens`); default every token. */
  regions: z.array(QueryRegionSchema).max(64).optional(),
  /** Look only at these tokens (0 = CLS, 1..256 patches row-major), with `regions`. */
  tokens: z.array(nonNegativeInt).max(1024).optional(),
  /** Only photos under this folder (at any depth). */
  folder: z.string().min(1).optional(),
  /** Capture date (else the file's date), ms since the epoch: after <= date < before. */
  after: z.number().optional(),
  before: z.number().optional(),
  /** activation: the sum of the matching ALL / ANY terms' activations, strongest first; date: newest first. */
  sort: QuerySortSchema.default('activation'),
  limit: z.int().positive().max(10_000).default(50),
  offset: nonNegativeInt.default(0),
  /**
   * A region query reads photos' latents one by one: at most this many in this call. A scan that
   * stops early answers the photos already certain and a `cursor` to go on with.
   */
  maxReads: z.int().positive().max(1_000_000).optional(),
  /**
   * A bounded scan also stops after about this many milliseconds (checked between reads, at
   * least one read a call): a worker is never held for seconds when the disk is slow.
   */
  maxMs: z.int().positive().max(60_000).optional(),
  /** The `cursor` of the previous answer to the same query: its next photos. */
  cursor: z.string().max(1_000_000).optional(),
  /**
   * The view asking (e.g. "query-results"): a newer request of the same view replaces this one
   * while it still waits for a query worker.
   */
  channel: z.string().max(100).optional(),
  layer: nonNegativeInt.optional(),
  config: z.int().positive().optional(),
}).refine((q) => (q.all?.length ?? 0) + (q.any?.length ?? 0) + (q.not?.length ?? 0) > 0, {
  message: 'a query needs at least one ALL, ANY or NOT term',
  path: ['all'],
});
export type QueryRequest = z.input<typeof QueryRequestSchema>;

export const QueryHitSchema = z.object({
  imageId: z.int().positive(),
  file: z.string(),
  /** Sum of the activations of the ALL / ANY terms that fire (SAE latent values). */
  score: z.number(),
  /** Capture date, else the file's modification time (ms since the epoch). */
  date: z.number(),
  /** The ALL / ANY terms that fire, with their activation and strongest token (in the region). */
  features: z.array(z.object({ feature: nonNegativeInt, act: z.number(), token: nonNegativeInt })),
});
export type QueryHit = z.infer<typeof QueryHitSchema>;

export const QueryResultSchema = z.object({
  layer: nonNegativeInt,
  configId: z.int().positive(),
  /** Matching photos; null when a region query stopped once it had the page it needed, or early (maxReads). */
  total: nonNegativeInt.nullable(),
  items: z.array(QueryHitSchema),
  /**
   * Only when a bounded region query (maxReads) stopped early: pass it back with the same query
   * for its next photos. The items of all the answers, in order, are the unbounded page.
   */
  cursor: z.string().optional(),
});
export type QueryResult = z.infer<typeof QueryResultSchema>;

export * from './query-grammar.js';
