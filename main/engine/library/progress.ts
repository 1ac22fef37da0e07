/** Progress of an indexing run, as events for the CLI's bar and the app's status line. */

export type IndexPhase = 'scan' | 'hash' | 'encode' | 'thumbnails' | 'finish' | 'done';

export interface IndexProgress {
  readonly jobId: number;
  readonly phase: IndexPhase;
  /** Items finished in this phase (files walked, hashed, images encoded, thumbnails restored). */
  readonly done: number;
  /** Items in this phase; null while unknown (during the walk). */
  readonly total: number | null;
  /** Images that failed so far in this run. */
  readonly failed: number;
  /** Recent throughput, images (or files) per second; null until measurable. */
  readonly rate: number | null;
  /** Seconds left at the recent rate; null when unknown. */
  readonly etaSeconds: number | null;
  /** The file being worked on (or last finished). */
  readonly current: string | null;
}

/**
 * Throughput over a sliding window (default 10 s), so the rate follows the current speed (a
 * resumed run, a folder of huge photos) instead of the average since the start.
 */
export class RateMeter {
  private readonly samples: { t: number; n: number }[] = [];

  constructor(
    private readonly windowMs = 10_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Records the running total `done`. */
  mark(done: number): void {
    const t = this.now();
    this.samples.push({ t, n: done });
    while (this.samples.length > 2 && t - this.samples[1]!.t > this.windowMs) this.samples.shift();
  }

  /** Items per second over the window, null with fewer than two samples or no elapsed time. */
  rate(): number | null {
    if (this.samples.length < 2) return null;
    const a = this.samples[0]!;
    const b = this.samples[this.samples.length - 1]!;
    const dt = (b.t - a.t) / 1000;
    return dt > 0 ? (b.n - a.n) / dt : null;
  }

  eta(remaining: number): number | null {
    const r = this.rate();
    return r && r > 0 ? remaining / r : null;
  }
}
