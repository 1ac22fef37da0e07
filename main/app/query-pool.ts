/**
 * A small pool of query workers. Each worker runs one query at a time; the rest wait here, so
 * that a query still waiting can be dropped when a newer one from the same view replaces it
 * (the user clicked on: the old answer would only be thrown away), and a slow gallery does not
 * hold up the queries behind it while another worker is free.
 */
import { UserFacingError } from '../engine/errors.js';
import { startWorker } from '../engine/runtime/worker-rpc.js';
import type { QueryHandlers } from './query-worker.js';
import type { ReadMethod } from './read-queries.js';

/** Two: on small machines more readers only compete with indexing for the cores. */
const DEFAULT_WORKERS = 2;

/**
 * Requests that arrive within this long of each other are one burst (a view's first screen:
 * its page, heatmaps, previews). The newest burst runs first, in its own order: the view on
 * screen does not wait behind the queued calls of the one the user just left.
 */
const BURST_MS = 100;

export interface QueryPoolOptions {
  /** The clock bursts are told apart by (ms). */
  now?: () => number;
}

interface Member {
  worker: ReturnType<typeof startWorker<QueryHandlers>>;
  busy: boolean;
}

interface Waiting {
  file: string;
  method: ReadMethod;
  input: unknown;
  /** Requests with the same key replace each other while they wait. */
  key: string | null;
  /** When it arrived (QueryPoolOptions.now). */
  at: number;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/**
 * The view a request comes from, when it names one (the contract's optional `channel`): a newer
 * request of the same method and channel supersedes it.
 */
export function supersedeKey(method: ReadMethod, input: unknown): string | null {
  const channel = typeof input === 'object' && input !== null ? (input as { channel?: unknown }).channel : undefined;
  return typeof channel === 'string' && channel !== '' ? `${method}\u0000${channel}` : null;
}

export function supersededError(): UserFacingError {
  return new UserFacingError('a newer request from the same view replaced this one before it ran').withCode('superseded');
}

export class QueryPool {
  private members: Member[] | null = null;
  private readonly waiting: Waiting[] = [];

  private readonly now: () => number;

  constructor(
    private readonly size = DEFAULT_WORKERS,
    opts: QueryPoolOptions = {},
  ) {
    this.now = opts.now ?? (() => performance.now());
  }

  private pool(): Member[] {
    // Started on first use: an app that never opens a library starts no reader.
    this.members ??= Array.from({ length: this.size }, () => ({ worker: startWorker<QueryHandlers>(import.meta.url, 'query-worker'), busy: false }));
    return this.members;
  }

  /** Requests waiting for a worker (not started yet). */
  get queued(): number {
    return this.waiting.length;
  }

  query(file: string, method: ReadMethod, input: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const key = supersedeKey(method, input);
      if (key !== null) {
        for (let i = this.waiting.length - 1; i >= 0; i--) {
          if (this.waiting[i]!.key === key) this.waiting.splice(i, 1)[0]!.reject(supersededError());
        }
      }
      this.waiting.push({ file, method, input, key, at: this.now(), resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    const members = this.pool();
    for (const m of members) {
      if (m.busy) continue;
      const next = this.takeNext();
      if (!next) return;
      m.busy = true;
      m.worker.api.query({ file: next.file, method: next.method, input: next.input }).then(next.resolve, next.reject).finally(() => {
        m.busy = false;
        if (this.members === members) this.dispatch();
      });
    }
  }

  /** The first request of the newest burst (the waiting list is in arrival order). */
  private takeNext(): Waiting | undefined {
    const newest = this.waiting[this.waiting.length - 1];
    if (!newest) return undefined;
    const i = this.waiting.findIndex((w) => w.at >= newest.at - BURST_MS);
    return this.waiting.splice(i, 1)[0];
  }

  /** Lets go of the library file (it is being closed). */
  async release(): Promise<void> {
    await Promise.all((this.members ?? []).map((m) => m.worker.api.close(undefined as never)));
  }

  async close(): Promise<void> {
    const ms = this.members ?? [];
    this.members = null;
    for (const w of this.waiting.splice(0)) w.reject(new UserFacingError('the library was closed before this query ran'));
    await Promise.all(ms.map((m) => m.worker.terminate()));
  }
}
