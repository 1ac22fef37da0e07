/**
 * libvips reports a failure through ONE process-wide error buffer, and every sharp call clears it
 * when it ends. With sharp calls running at once in several threads, a broken photo's message can
 * come back empty ("Unknown error") or carry another photo's words (measured: 2 decode workers,
 * test/engine/library/decode-errors.test.ts). Threads that decode side by side share a VipsLock
 * (its SharedArrayBuffer travels to each worker): their sharp calls run together, and a call that
 * failed runs once more alone, so the reason stored for a photo is that photo's own.
 */
const INFLIGHT = 0;
const ALONE = 1;
/** Waits are re-checked this often (ms), in case a wake-up is missed. */
const RECHECK_MS = 200;

export class VipsLock {
  private readonly state: Int32Array;

  /** `shared`: another VipsLock's `buffer`, to lock across threads; none: a lock of its own. */
  constructor(shared?: SharedArrayBuffer) {
    this.buffer = shared ?? new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
    this.state = new Int32Array(this.buffer);
  }

  readonly buffer: SharedArrayBuffer;

  /** Runs `fn` alongside other shared calls, never while a call runs alone. */
  async shared<T>(fn: () => Promise<T>): Promise<T> {
    const s = this.state;
    for (;;) {
      Atomics.add(s, INFLIGHT, 1);
      if (Atomics.load(s, ALONE) === 0) break;
      this.leave(); // a call waits to run alone: step back until it has
      await wait(s, ALONE, 1);
    }
    try {
      return await fn();
    } finally {
      this.leave();
    }
  }

  /** Runs `fn` when no other call runs, holding the others back meanwhile. */
  async alone<T>(fn: () => Promise<T>): Promise<T> {
    const s = this.state;
    while (Atomics.compareExchange(s, ALONE, 0, 1) !== 0) await wait(s, ALONE, 1);
    try {
      for (let n = Atomics.load(s, INFLIGHT); n !== 0; n = Atomics.load(s, INFLIGHT)) await wait(s, INFLIGHT, n);
      return await fn();
    } finally {
      Atomics.store(s, ALONE, 0);
      Atomics.notify(s, ALONE);
    }
  }

  /** `fn` as a shared call; if it throws, `fn` once more alone, whose outcome is the answer. */
  async retryAloneOnError<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await this.shared(fn);
    } catch {
      return this.alone(fn);
    }
  }

  private leave(): void {
    if (Atomics.sub(this.state, INFLIGHT, 1) === 1) Atomics.notify(this.state, INFLIGHT);
  }
}

async function wait(s: Int32Array, index: number, value: number): Promise<void> {
  const r = Atomics.waitAsync(s, index, value, RECHECK_MS);
  if (r.async) await r.value;
}
