import { UserFacingError, errorMessage } from '../engine/errors.js';
import { withCliHint } from './hints.js';

export const EXIT_OK = 0;
/** Some inputs (images) failed; the others were processed. */
export const EXIT_SOME_FAILED = 1;
/** Unusable model, SAE or arguments: nothing was processed. */
export const EXIT_UNUSABLE = 2;
/** Interrupted by Ctrl-C (an indexing job is paused, a download kept: a re-run resumes). */
export const EXIT_INTERRUPTED = 130;

/** Prints an error as one sentence (a stack only with CLIPSCOPE_DEBUG=1) and sets the exit code. */
export function reportFatal(err: unknown): void {
  const msg = (err instanceof UserFacingError ? withCliHint(err) : errorMessage(err)).replace(/\s+$/, '');
  if (err instanceof UserFacingError || err instanceof RangeError) process.stderr.write(`clipscope: ${msg}\n`);
  else process.stderr.write(`clipscope: internal error: ${msg}\n`);
  if (process.env['CLIPSCOPE_DEBUG'] && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exitCode = EXIT_UNUSABLE;
}

/** Writes to stdout and resolves when flushed, so piped JSON lines are never cut short. */
export function writeOut(text: string): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.write(text)) resolve();
    else process.stdout.once('drain', resolve);
  });
}
