import fs from 'node:fs';
import path from 'node:path';
import { UserFacingError } from '../errors.js';

/** A photo folder as given by the user, made absolute; an error naming it when it is not a folder. */
export function checkFolder(folder: string): string {
  const abs = path.resolve(folder);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch {
    throw new UserFacingError(`${abs}: no such folder`);
  }
  if (!st.isDirectory()) throw new UserFacingError(`${abs}: not a folder`);
  return abs;
}
