/** Photos by file name: the command palette's "jump to a photo". */
import { statement } from './connection.js';
import type { ReadonlyLibrary } from './library.js';

/** A LIKE pattern for text as typed (its % and _ literal). */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export interface NamedImage { imageId: number; file: string }

/**
 * Present photos with a result whose file name (not a folder above it) contains `text`: names
 * that start with it first, then by name. A scan of the images table (on a query worker): the
 * whole path is matched first, natively, and only the paths that match are cut to their names.
 */
export function searchImagesByName(lib: ReadonlyLibrary, text: string, limit: number): NamedImage[] {
  // The name is what follows the last separator: rtrim strips every character but the separators
  // from the right, leaving the folder; what is past its length is the name.
  const norm = "replace(i.path, '\\', '/')";
  const name = `substr(${norm}, length(rtrim(${norm}, replace(${norm}, '/', ''))) + 1)`;
  return statement<NamedImage>(lib, `SELECT id AS imageId, path AS file FROM (
        SELECT i.id, i.path, ${name} AS name FROM images i
        WHERE i.path LIKE @contains ESCAPE '\\' AND i.status = 'present' AND EXISTS (SELECT 1 FROM results r WHERE r.image_id = i.id))
      WHERE name LIKE @contains ESCAPE '\\'
      ORDER BY name LIKE @prefix ESCAPE '\\' DESC, name COLLATE NOCASE, id LIMIT @limit`)
    .all({ contains: `%${escapeLike(text)}%`, prefix: `${escapeLike(text)}%`, limit });
}
