/**
 * What an edit at layer L does to the SAE features of a later layer L2 (where the library has an
 * SAE for it): the features gained, lost and changed most, on the CLS token and pooled over the
 * edited tokens. Plain functions over sparse codes, so the PyTorch references can be checked
 * against the same definitions:
 *
 * - a token's features are its nonzero latents as encode keeps them (the top k for TopK SAEs,
 *   ReLU'd zeros left out; every positive latent for dense SAEs);
 * - pooled: per feature, the mean of its latent over the edited tokens (0 on a token where it is
 *   not kept); the pooled features are the POOLED_TOP largest means by magnitude (nonzero only).
 *   Pooling over the edited tokens asks "what did the edited region turn into", which the CLS token
 *   alone cannot say for a patch edit; for an edit of CLS only it is the CLS view and is left out;
 * - gained: in the steered features, not in the original ones; lost: the reverse; changed: in
 *   both, the CHANGED_TOP largest |after - before|. Values are the latents (pooled: the means),
 *   0 where a feature is not kept.
 */
import type { SparseCodes } from '../sae/sparse-codes.js';

export const POOLED_TOP = 32;
export const CHANGED_TOP = 10;

export interface FeatureChange {
  readonly feature: number;
  readonly before: number;
  readonly after: number;
}

export interface LayerDiff {
  /** Features in the steered set only, largest |after| first. */
  readonly gained: FeatureChange[];
  /** Features in the original set only, largest |before| first. */
  readonly lost: FeatureChange[];
  /** Features in both, largest |after - before| first (at most CHANGED_TOP). */
  readonly changed: FeatureChange[];
}

export interface LaterLayerResult {
  readonly layer: number;
  /** The CLS token's features. */
  readonly cls: LayerDiff;
  /** Pooled over the edited tokens; null when the set edits no token or CLS alone. */
  readonly edited: LayerDiff | null;
  /** How many tokens `edited` pools over. */
  readonly editedTokens: number;
}

/** Token t's kept (nonzero) latents. */
export function tokenFeatures(codes: SparseCodes, t: number): Map<number, number> {
  const out = new Map<number, number>();
  for (let j = codes.offsets[t]!; j < codes.offsets[t + 1]!; j++) if (codes.val[j] !== 0) out.set(codes.idx[j]!, codes.val[j]!);
  return out;
}

/** Per feature, the mean latent over `tokens` (rows of `codes`), the POOLED_TOP largest by magnitude. */
export function pooledFeatures(codes: SparseCodes, tokens: readonly number[]): Map<number, number> {
  const sum = new Map<number, number>();
  for (const t of tokens) {
    for (let j = codes.offsets[t]!; j < codes.offsets[t + 1]!; j++) sum.set(codes.idx[j]!, (sum.get(codes.idx[j]!) ?? 0) + codes.val[j]!);
  }
  const top = [...sum].map(([f, s]) => [f, s / tokens.length] as const).filter(([, m]) => m !== 0)
    .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]) || a[0] - b[0]).slice(0, POOLED_TOP);
  return new Map(top);
}

/**
 * Gained / lost / changed between two feature sets. `beforeOf` / `afterOf` give a feature's value
 * outside its set (the pooled mean below the cut; 0 for a token's sparse code).
 */
export function diffFeatures(
  before: ReadonlyMap<number, number>,
  after: ReadonlyMap<number, number>,
  beforeOf: (f: number) => number = () => 0,
  afterOf: (f: number) => number = () => 0,
): LayerDiff {
  const gained: FeatureChange[] = [];
  const lost: FeatureChange[] = [];
  const both: FeatureChange[] = [];
  for (const [feature, a] of after) {
    const b = before.get(feature);
    if (b === undefined) gained.push({ feature, before: beforeOf(feature), after: a });
    else both.push({ feature, before: b, after: a });
  }
  for (const [feature, b] of before) if (!after.has(feature)) lost.push({ feature, before: b, after: afterOf(feature) });
  const by = (key: (c: FeatureChange) => number) => (x: FeatureChange, y: FeatureChange) => key(y) - key(x) || x.feature - y.feature;
  gained.sort(by((c) => Math.abs(c.after)));
  lost.sort(by((c) => Math.abs(c.before)));
  const changed = both.filter((c) => c.after !== c.before).sort(by((c) => Math.abs(c.after - c.before))).slice(0, CHANGED_TOP);
  return { gained, lost, changed };
}

/** The mean of one feature's latent over `tokens` (0 where it is not kept). */
function meanOf(codes: SparseCodes, tokens: readonly number[], feature: number): number {
  let s = 0;
  for (const t of tokens) {
    for (let j = codes.offsets[t]!; j < codes.offsets[t + 1]!; j++) if (codes.idx[j] === feature) s += codes.val[j]!;
  }
  return s / tokens.length;
}

/**
 * The later-layer report of one edit set. `original` holds every token's codes at L2 unedited;
 * `steered` the steered codes of `rows` (CLS first, then the edited tokens in `rows` order).
 */
export function laterLayerResult(layer: number, original: SparseCodes, steered: SparseCodes, rows: readonly number[]): LaterLayerResult {
  const cls = diffFeatures(tokenFeatures(original, 0), tokenFeatures(steered, 0));
  const edited = rows.slice(1);
  if (edited.length === 0 || (edited.length === 1 && edited[0] === 0)) return { layer, cls, edited: null, editedTokens: edited.length };
  const local = edited.map((_, i) => i + 1); // their rows in `steered`
  const before = pooledFeatures(original, edited);
  const after = pooledFeatures(steered, local);
  return {
    layer,
    cls,
    edited: diffFeatures(before, after, (f) => meanOf(original, edited, f), (f) => meanOf(steered, local, f)),
    editedTokens: edited.length,
  };
}
