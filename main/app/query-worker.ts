/**
 * A query worker: read queries on a read-only handle of the open library, in a thread of its
 * own. better-sqlite3 is synchronous and a token gallery over 100k photos can take seconds;
 * here it blocks neither the engine host (indexing, events) nor another query. Read-only
 * handles never create or migrate a library. Entry point built as `query-worker.js`.
 */
import { serveInWorker } from '../engine/runtime/worker-rpc.js';
import { Library } from '../engine/store/library.js';
import { readQueries, type ReadMethod } from './read-queries.js';

let open: Library | null = null;

function library(file: string): Library {
  if (open?.file !== file) {
    open?.close();
    open = null;
    open = Library.open(file, { readonly: true });
  }
  return open;
}

const handlers = {
  async query({ file, method, input }: { file: string; method: ReadMethod; input: unknown }) {
    const run = readQueries[method] as (lib: Library, input: unknown) => unknown;
    return run(library(file), input);
  },
  async close() {
    open?.close();
    open = null;
    return null;
  },
};

export type QueryHandlers = typeof handlers;
serveInWorker(handlers);
