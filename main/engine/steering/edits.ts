/**
 * Feature edits for steering, and how they turn into changes of the latents. Plain data: edit
 * sets cross the worker boundary as they are, and the CLI parses them from `F=V@TOKENS`.
 */
import { UserFacingError } from '../errors.js';
import type { SparseCodes } from '../sae/sparse-codes.js';

/** `cls` (token 0), `all`, or explicit token indices (0 = CLS, 1.. patches, row-major). */
export type TokenScope = 'cls' | 'all' | readonly number[];

/** SET a feature's latent to `value` (0 ablates), or SCALE its current activation. */
export type Edit =
  | { readonly feature: number; readonly tokens: TokenScope; readonly value: number }
  | { readonly feature: number; readonly tokens: TokenScope; readonly scale: number };

/** Edits applied together, in order (a later edit of the same latent sees the earlier result). */
export type EditSet = readonly Edit[];

/** Throws a UserFacingError naming the first edit that cannot apply to this SAE and model. */
export function validateEdits(sets: readonly EditSet[], nFeatures: number, tokens: number): void {
  for (const set of sets) {
    for (const e of set) {
      if (!Number.isInteger(e.feature) || e.feature < 0 || e.feature >= nFeatures) {
        throw new UserFacingError(`feature ${e.feature} does not exist: this SAE has features 0..${nFeatures - 1}`);
      }
      const amount = 'value' in e ? e.value : e.scale;
      if (typeof amount !== 'number' || !Number.isFinite(amount)) {
        throw new UserFacingError(`the edit of feature ${e.feature} has no finite ${'value' in e ? 'value' : 'scale'}`);
      }
      if (Array.isArray(e.tokens)) {
        if (e.tokens.length === 0) throw new UserFacingError(`the edit of feature ${e.feature} names no tokens`);
        for (const t of e.tokens as readonly number[]) {
          if (!Number.isInteger(t) || t < 0 || t >= tokens) {
            throw new UserFacingError(`token ${t} (edit of feature ${e.feature}) is out of range: this model has tokens 0..${tokens - 1} (0 = CLS)`);
          }
        }
      } else if (e.tokens !== 'cls' && e.tokens !== 'all') {
        throw new UserFacingError(`the edit of feature ${e.feature} has tokens ${JSON.stringify(e.tokens)}: use "cls", "all" or token indices`);
      }
    }
  }
}

export function scopeTokens(scope: TokenScope, tokens: number): readonly number[] {
  if (scope === 'cls') return [0];
  if (scope === 'all') return Array.from({ length: tokens }, (_, t) => t);
  return scope as readonly number[];
}

/** Token t's latent of `feature` in the codes (0 where it is not among the kept latents). */
function latentOf(codes: SparseCodes, t: number, feature: number): number {
  for (let j = codes.offsets[t]!; j < codes.offsets[t + 1]!; j++) if (codes.idx[j] === feature) return codes.val[j]!;
  return 0;
}

export interface LatentChanges {
  /** The edited features, in first-use order: the rows of the decoder the change needs. */
  readonly features: readonly number[];
  /** [sets, tokens, features] of z' - z: x' = x + coeff @ W_dec[features]. */
  readonly coeff: Float32Array;
}

/**
 * z' - z for every edit set, per token and edited feature. Only the edited latents can change,
 * so the residual change is this small matrix times a few decoder rows (the decoder bias and the
 * SAE's reconstruction error cancel out of x' - x).
 */
export function latentChanges(codes: SparseCodes, sets: readonly EditSet[], tokens: number): LatentChanges {
  const features: number[] = [];
  const column = new Map<number, number>();
  for (const set of sets) for (const e of set) if (!column.has(e.feature)) column.set(e.feature, features.push(e.feature) - 1);
  // One column at least: the graph's shapes stay valid for an edit set with no edits (a no-op).
  const E = Math.max(1, features.length);
  const coeff = new Float32Array(sets.length * tokens * E);
  sets.forEach((set, b) => {
    // Current values of the latents this set touched, keyed by token * E + column; compute in
    // float64 and store the difference once, so a no-op edit (scale 1, set to the same value) is exactly 0.
    const current = new Map<number, { z: number; now: number }>();
    for (const e of set) {
      const c = column.get(e.feature)!;
      for (const t of scopeTokens(e.tokens, tokens)) {
        const key = t * E + c;
        let cell = current.get(key);
        if (!cell) {
          const z = latentOf(codes, t, e.feature);
          cell = { z, now: z };
          current.set(key, cell);
        }
        cell.now = 'value' in e ? e.value : cell.now * e.scale;
      }
    }
    for (const [key, cell] of current) coeff[b * tokens * E + key] = cell.now - cell.z;
  });
  return { features, coeff };
}
