import { UserFacingError } from '../errors.js';

/**
 * Why a download failed, for callers that react differently (the app offers "set a token" for
 * `auth`, "retry" for `network` / `timeout`, "free some space" for `disk-space`).
 */
export type DownloadErrorKind =
  | 'not-found'
  | 'auth'
  | 'network'
  | 'timeout'
  | 'checksum'
  | 'disk-space'
  | 'http'
  | 'protocol'
  | 'cancelled'
  | 'busy'
  | 'listing';

/** A download that failed; `message` is one sentence naming the file and what to do. */
export class DownloadError extends UserFacingError {
  override readonly name = 'DownloadError';
  constructor(
    readonly kind: DownloadErrorKind,
    message: string,
    /** Worth another try (connection cut, 5xx, timeout): the download loop retries these. */
    readonly transient = false,
  ) {
    super(message);
  }
}

/** The registry, a model name or an import that cannot be used as asked. */
export class ModelRegistryError extends UserFacingError {
  override readonly name = 'ModelRegistryError';
}

export function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || (err as NodeJS.ErrnoException).code === 'ABORT_ERR');
}
