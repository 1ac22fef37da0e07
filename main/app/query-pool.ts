/**
 * A small pool of query workers: each read query goes to the least busy one, so a slow gallery
 * does not hold up the next view's queries.
 */
import { startWorker } from '../engine/runtime/worker-rpc.js';
import type { QueryHandlers } from './query-worker.js';
import type { ReadMethod } from './read-queries.js';

/** Two: on small machines more readers only compete with indexing for the cores. */
const DEFAULT_WORKERS = 2;

interface Member {
  worker: ReturnType<typeof startWorker<QueryHandlers>>;
  busy: number;
}

export class QueryPool {
  private members: Member[] | null = null;

  constructor(private readonly size = DEFAULT_WORKERS) {}

  private pool(): Member[] {
    // Started on first use: an app that never opens a library starts no reader.
    this.members ??= Array.from({ length: this.size }, () => ({ worker: startWorker<QueryHandlers>(import.meta.url, 'query-worker'), busy: 0 }));
    return this.members;
  }

  async query(file: string, method: ReadMethod, input: unknown): Promise<unknown> {
    const m = this.pool().reduce((a, b) => (b.busy < a.busy ? b : a));
    m.busy++;
    try {
      return await m.worker.api.query({ file, method, input });
    } finally {
      m.busy--;
    }
  }

  /** Lets go of the library file (it is being closed). */
  async release(): Promise<void> {
    await Promise.all((this.members ?? []).map((m) => m.worker.api.close(undefined as never)));
  }

  async close(): Promise<void> {
    const ms = this.members ?? [];
    this.members = null;
    await Promise.all(ms.map((m) => m.worker.terminate()));
  }
}
