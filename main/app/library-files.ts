/**
 * A library file opened for one task and closed after it: what a one-shot front end (the CLI)
 * runs each command on, where the app keeps one library open for the whole session.
 */
import { openLibrary, type ReadonlyLibrary, type WritableLibrary } from '../engine/store/library.js';

/** dataDir()/library.sqlite: the library a command uses when none is named. */
export { defaultLibraryFile } from '../engine/store/library.js';

/** Runs `fn` on a read-only handle (never created, never migrated), then closes it. */
export async function withReadonlyLibrary<T>(file: string, fn: (lib: ReadonlyLibrary) => T | Promise<T>): Promise<T> {
  const lib = openLibrary(file);
  try {
    // Awaited here: asynchronous work must finish before the handle closes.
    return await fn(lib);
  } finally {
    lib.close();
  }
}

/**
 * Runs `fn` on a writable handle (an older library is upgraded), then closes it. `create`: make
 * the file when missing; otherwise a missing library is an error naming it.
 */
export async function withWritableLibrary<T>(file: string, how: { create: boolean }, fn: (lib: WritableLibrary) => T | Promise<T>): Promise<T> {
  const lib = openLibrary(file, { write: true, create: how.create });
  try {
    return await fn(lib);
  } finally {
    lib.close();
  }
}
