/**
 * Thumbnails from a separate process at the lowest CPU priority (thumbnail-child.ts). On a
 * laptop's few cores, encoding them in-process took ~20% of the indexer's throughput; at low
 * priority they use the cores decoding and inference leave idle. The pixels sent are already at
 * thumbnail size (the model's resized view, ~150 KB), so the copy through the pipe is cheap.
 *
 * If the process cannot start or keeps dying, thumbnails are made in this process instead:
 * thumbnails never decide whether a photo gets indexed.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RgbImage } from '../imaging/decode.js';
import { entryPoint } from '../runtime/worker-rpc.js';
import { thumbnailFromFile, thumbnailFromRgb, type ThumbnailResult } from './thumbnails.js';

export type ThumbnailRequest =
  | { id: number; hash: string; dir: string; width: number; height: number; data: Uint8Array }
  | { id: number; hash: string; dir: string; file: string };
export type ThumbnailReply = ThumbnailResult & { id: number };
/** The child's first message: it is up, priority lowered. */
export interface ThumbnailReady { ready: true }

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Start attempts before thumbnails fall back to this process. */
const MAX_STARTS = 3;

export class ThumbnailProcess {
  private child: ChildProcess | null = null;
  private starts = 0;
  private next = 0;
  private readonly pending = new Map<number, (r: ThumbnailResult) => void>();

  /** `guard` wraps thumbnails made in this process (the fallback), e.g. in a VipsLock. */
  private constructor(private readonly guard: <T>(fn: () => Promise<T>) => Promise<T>) {}

  /** Starts the process and waits until it is ready, so its start-up overlaps the model's. */
  static async open(guard: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn()): Promise<ThumbnailProcess> {
    const t = new ThumbnailProcess(guard);
    const child = t.start();
    if (child) {
      // Waiting for it is pending work: it keeps this process alive until the child is ready.
      t.hold(child, true);
      await new Promise<void>((resolve) => {
        const done = (): void => {
          child.off('message', onMessage);
          child.off('exit', done);
          if (t.pending.size === 0) t.hold(child, false);
          resolve();
        };
        const onMessage = (m: unknown): void => {
          if ((m as ThumbnailReady).ready === true) done();
        };
        child.on('message', onMessage);
        child.on('exit', done);
      });
    }
    return t;
  }

  /** The process's id while it runs (tests check its priority). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Writes the thumbnail of content `hash` from pixels at thumbnail size. Never throws. */
  write(rgb: RgbImage, hash: string, dir: string): Promise<ThumbnailResult> {
    return this.request({ hash, dir, width: rgb.width, height: rgb.height, data: rgb.data }, () => thumbnailFromRgb(rgb, hash, dir));
  }

  /** Writes the thumbnail of content `hash` from the photo `file` (read and decoded there). Never throws. */
  writeFromFile(file: string, hash: string, dir: string): Promise<ThumbnailResult> {
    return this.request({ hash, dir, file }, () => thumbnailFromFile(file, hash, dir));
  }

  private request(req: DistributiveOmit<ThumbnailRequest, 'id'>, here: () => Promise<ThumbnailResult>): Promise<ThumbnailResult> {
    const child = this.child ?? this.start();
    if (!child) return this.guard(here);
    return new Promise((resolve) => {
      const id = this.next++;
      this.pending.set(id, resolve);
      if (this.pending.size === 1) this.hold(child, true);
      child.send({ ...req, id } as ThumbnailRequest, (err) => {
        if (err && this.pending.delete(id)) resolve({ thumbnail: 'failed', thumbnailError: `thumbnail process: ${err.message}` });
      });
    });
  }

  /** Lets the process finish what it was sent, then stops it. */
  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    await new Promise<void>((resolve) => {
      const settle = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        settle();
      }, 5000);
      child.once('exit', settle);
      const drain = (): void => {
        if (this.pending.size > 0) setTimeout(drain, 10);
        else if (child.connected) child.disconnect();
      };
      drain();
    });
    this.child = null;
  }

  private start(): ChildProcess | null {
    if (this.starts >= MAX_STARTS) return null;
    this.starts++;
    const entry = entryPoint(import.meta.url, 'thumbnail-child');
    let child: ChildProcess;
    try {
      child = fork(fileURLToPath(entry.script), entry.tsEntry === null ? [] : [entry.tsEntry], {
        serialization: 'advanced',
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        execArgv: [],
        // Inside Electron, process.execPath is the app: run it as plain Node.
        env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      });
    } catch {
      return null;
    }
    child.on('message', (r: ThumbnailReply | ThumbnailReady) => {
      if ('ready' in r) return;
      const done = this.pending.get(r.id);
      if (!done) return;
      this.pending.delete(r.id);
      if (this.pending.size === 0) this.hold(child, false);
      done({ thumbnail: r.thumbnail, ...(r.thumbnailError === undefined ? {} : { thumbnailError: r.thumbnailError }) });
    });
    const fail = (why: string): void => {
      if (this.child === child) this.child = null;
      for (const done of this.pending.values()) done({ thumbnail: 'failed', thumbnailError: why });
      this.pending.clear();
    };
    child.on('error', (e) => fail(`thumbnail process: ${e.message}`));
    child.on('exit', (code, signal) => fail(`the thumbnail process stopped (${signal ?? `exit code ${code}`})`));
    this.hold(child, false);
    this.child = child;
    return child;
  }

  /** An idle thumbnail process must not keep the indexer's process alive. */
  private hold(child: ChildProcess, on: boolean): void {
    const channel = child.channel as { ref?: () => void; unref?: () => void } | null | undefined;
    if (on) {
      child.ref();
      channel?.ref?.();
    } else {
      child.unref();
      channel?.unref?.();
    }
  }
}
