/**
 * What the CLI's read commands need besides the contract's read queries (read-queries.ts): a
 * photo named by its file rather than its id, and the gallery's page size when none is asked for.
 */
import { DEFAULT_GALLERY_LIMIT } from '../engine/queries/gallery.js';
import { findImage } from '../engine/queries/image.js';
import type { ReadonlyLibrary } from '../engine/store/library.js';

/** The engine's own default, so that `clipscope gallery` lists what the engine would. */
export const GALLERY_PAGE = DEFAULT_GALLERY_LIMIT;

/** The id of the library's photo at `file` (relative to the working folder); an error naming it when absent. */
export function imageIdByFile(lib: ReadonlyLibrary, file: string): number {
  return findImage(lib, file).id;
}
