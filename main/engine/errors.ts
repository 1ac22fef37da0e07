/**
 * Errors a user can act on. The CLI prints `message` alone (no stack) for these, so the message
 * must name the file and the cause in one sentence.
 */
export class UserFacingError extends Error {
  override readonly name: string = 'UserFacingError';
  /** What kind of problem, for the UI to act on (see the contract's ApiErrorCode). */
  code: 'no-library' | 'busy' | 'not-found' | 'failed' = 'failed';

  withCode(code: UserFacingError['code']): this {
    this.code = code;
    return this;
  }
}

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
