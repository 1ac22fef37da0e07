/**
 * Errors a user can act on. The CLI prints `message` alone (no stack) for these, so the message
 * must name the file and the cause in one sentence.
 */
export class UserFacingError extends Error {
  override readonly name: string = 'UserFacingError';
  /**
   * What kind of problem, for the front ends to act on (the contract's ApiErrorCode): the message
   * stays neutral, and the CLI adds its flag hints by code (cli/hints.ts), the app its own words.
   */
  code: ErrorCode = 'failed';
  /** Facts a front end may word a hint with (e.g. whether a layer was given). */
  details: Readonly<Record<string, string | number | boolean>> = {};

  withCode(code: ErrorCode, details: Readonly<Record<string, string | number | boolean>> = {}): this {
    this.code = code;
    this.details = details;
    return this;
  }
}

export type ErrorCode =
  | 'no-library' | 'busy' | 'not-found' | 'failed'
  /** The SAE does not say which layer it reads, and none was given. */
  | 'layer-required'
  /** The library holds no results (for this configuration) yet. */
  | 'not-indexed'
  /** Several configurations match; details.layerGiven tells whether a layer narrowed them. */
  | 'ambiguous-config'
  /** Per-feature statistics have not been computed. */
  | 'stats-missing'
  /** A photo's stored latents are damaged; indexing it again replaces them. */
  | 'damaged'
  /** A model libraries were indexed with; removing it needs a confirmation. */
  | 'model-in-use'
  /** A newer request from the same view replaced this one before it ran (nobody waits for it). */
  | 'superseded';

/** A model, SAE or weights file that cannot be used (missing, truncated, corrupt, incompatible). */
export class ModelFileError extends UserFacingError {
  override readonly name = 'ModelFileError';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

/**
 * A graph built from the user's weights that onnxruntime refuses to load on a provider that does
 * start (a truncated or damaged weight file, weights it cannot use): not a provider problem.
 */
export class GraphLoadError extends UserFacingError {
  override readonly name = 'GraphLoadError';
}

/** One image that cannot be read or decoded; the run goes on with the others. */
export class ImageError extends UserFacingError {
  override readonly name = 'ImageError';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
