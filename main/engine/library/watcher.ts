/**
 * Watches library folders while the app runs and feeds changes, debounced, into the same
 * incremental index path as a manual run (a re-walk of the affected folders: stat only for what
 * did not change, hashes for what did, moves detected, deletions marked).
 */
import path from 'node:path';
import { EventEmitter } from 'node:events';
import type { Stats } from 'node:fs';
import { watch, type FSWatcher } from 'chokidar';
import { isHiddenName, isImageName, isUnder } from './scanner.js';
import type { Indexer, IndexRunResult } from './indexer.js';

export interface WatchOptions {
  /** Quiet time after the last change before a batch is delivered (default 1500 ms). */
  readonly debounceMs?: number;
  /** A steady stream of changes is still delivered at least this often (default 30 s). */
  readonly maxWaitMs?: number;
  /** Polling instead of native events (network shares). */
  readonly usePolling?: boolean;
}

export interface FolderChanges {
  /** The watched roots that saw changes. */
  readonly folders: string[];
  /** The changed paths (files and folders). */
  readonly paths: string[];
}

/** Debounced change batches for a set of folders (images and folders only; hidden entries ignored). */
export class FolderWatcher {
  private pending = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private firstAt = 0;

  private constructor(
    private readonly roots: readonly string[],
    private readonly fsw: FSWatcher,
    private readonly onBatch: (c: FolderChanges) => void,
    private readonly debounceMs: number,
    private readonly maxWaitMs: number,
  ) {}

  /** Resolves once the initial listing is done (changes after that are reported). */
  static async start(folders: readonly string[], onBatch: (c: FolderChanges) => void, opts: WatchOptions = {}): Promise<FolderWatcher> {
    const roots = folders.map((f) => path.resolve(f));
    const ignored = (p: string, stats?: Stats): boolean => {
      const root = roots.find((r) => isUnder(p, r));
      if (!root) return false;
      const rel = path.relative(root, p);
      if (rel && rel.split(path.sep).some(isHiddenName)) return true;
      // Files that are not images are ignored; folders (and entries not yet stat'ed) are kept.
      return stats !== undefined && stats.isFile() && !isImageName(p);
    };
    const fsw = watch([...roots], {
      ignoreInitial: true,
      followSymlinks: true,
      ignored,
      ignorePermissionErrors: true,
      usePolling: opts.usePolling ?? false,
      interval: 1000,
      binaryInterval: 2000,
    });
    const w = new FolderWatcher(roots, fsw, onBatch, opts.debounceMs ?? 1500, opts.maxWaitMs ?? 30_000);
    fsw.on('all', (event, p) => {
      if ((event === 'add' || event === 'change' || event === 'unlink') && !isImageName(p)) return;
      w.note(p);
    });
    fsw.on('error', () => undefined); // unreadable folders: the next walk reports them
    await new Promise<void>((resolve) => fsw.once('ready', () => resolve()));
    return w;
  }

  private note(p: string): void {
    if (this.pending.size === 0) this.firstAt = Date.now();
    this.pending.add(p);
    if (this.timer) clearTimeout(this.timer);
    const wait = Math.max(0, Math.min(this.debounceMs, this.firstAt + this.maxWaitMs - Date.now()));
    this.timer = setTimeout(() => this.deliver(), wait);
  }

  private deliver(): void {
    this.timer = null;
    const paths = [...this.pending];
    this.pending.clear();
    if (paths.length === 0) return;
    const folders = this.roots.filter((r) => paths.some((p) => isUnder(p, r)));
    this.onBatch({ folders: folders.length ? folders : [...this.roots], paths });
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending.clear();
    await this.fsw.close();
  }
}

export interface LibraryWatchTarget {
  readonly folders: readonly string[];
  readonly modelDir: string;
  readonly sae: string;
  readonly layer?: number | null;
}

/**
 * Keeps a library up to date while it runs: each change batch re-indexes the affected folders
 * with `indexer`. Runs never overlap; changes that arrive during a run start another one after it.
 * Events: 'indexed' (IndexRunResult), 'error' (Error), 'idle' (no run pending).
 */
export class LibraryWatch extends EventEmitter {
  private running: Promise<void> | null = null;
  private queued = new Set<string>();

  private constructor(
    private readonly indexer: Indexer,
    private readonly target: LibraryWatchTarget,
    private watcher: FolderWatcher | null = null,
  ) {
    super();
  }

  static async start(indexer: Indexer, target: LibraryWatchTarget, opts: WatchOptions = {}): Promise<LibraryWatch> {
    const lw = new LibraryWatch(indexer, target);
    lw.watcher = await FolderWatcher.start(target.folders, (c) => lw.changed(c.folders), opts);
    return lw;
  }

  /** Also callable by hand (e.g. "rescan now"). */
  changed(folders: readonly string[]): void {
    for (const f of folders) this.queued.add(path.resolve(f));
    if (!this.running) this.running = this.drain();
  }

  private async drain(): Promise<void> {
    while (this.queued.size > 0) {
      const folders = [...this.queued];
      this.queued.clear();
      try {
        const r: IndexRunResult = (await this.indexer.index({ ...this.target, folders })) as IndexRunResult;
        this.emit('indexed', r);
      } catch (e) {
        // An 'error' event without a listener would throw here; the failed run stays resumable.
        if (this.listenerCount('error') > 0) this.emit('error', e);
      }
    }
    this.running = null;
    this.emit('idle');
  }

  /** Resolves when no run is in progress or queued. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async close(): Promise<void> {
    await this.watcher?.close();
    this.queued.clear();
    await this.idle();
  }
}
