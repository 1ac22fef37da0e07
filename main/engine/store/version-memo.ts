/**
 * Answers that cost a scan of the whole library (counts, the library grid's order) kept per
 * handle until the library changes. The version is SQLite's `data_version` (moves when another
 * connection commits) with this connection's own `total_changes()` (moves when it writes): the
 * query workers see the indexer's commits, and the engine host its own writes.
 */
import { statement } from './connection.js';
import type { ReadonlyLibrary } from './library.js';

interface Memo { version: string; values: Map<string, unknown> }

const memos = new WeakMap<ReadonlyLibrary, Memo>();

export function libraryVersion(lib: ReadonlyLibrary): string {
  const data = statement<number>(lib, 'PRAGMA data_version').pluck().get();
  const own = statement<number>(lib, 'SELECT total_changes()').pluck().get();
  return `${data}:${own}`;
}

/** `compute()`'s answer for `key`, computed again only after the library changed. */
export function memoByVersion<T>(lib: ReadonlyLibrary, key: string, compute: () => T): T {
  const version = libraryVersion(lib);
  let memo = memos.get(lib);
  if (memo?.version !== version) {
    memo = { version, values: new Map() };
    memos.set(lib, memo);
  }
  if (memo.values.has(key)) return memo.values.get(key) as T;
  const value = compute();
  memo.values.set(key, value);
  return value;
}
