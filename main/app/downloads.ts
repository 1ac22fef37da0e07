/**
 * The models download for the app: one at a time, in the background, cancellable, its progress
 * as whole `DownloadStatus` snapshots. The model manager does the work (resumable transfers,
 * sha256 checks, disk-space preflight); an interrupted download resumes on the next start.
 */
import type { DownloadStatus } from '../../common/contract/index.js';
import { UserFacingError, errorMessage } from '../engine/errors.js';
import type { DownloadEvent, ModelManager } from '../engine/models/manager.js';
import { throttleLatest } from './throttle.js';

const EVENTS_PER_SECOND = 4;

const IDLE: DownloadStatus = {
  state: 'idle', endpoint: null, current: null, phase: null, bytes: 0, total: null, rate: null, etaSeconds: null, installed: [], failed: [], notes: [],
};

export class Downloads {
  private status: DownloadStatus = IDLE;
  private abort: AbortController | null = null;
  private readonly events: { push(s: DownloadStatus): void; flush(): void };

  constructor(
    private readonly manager: () => ModelManager,
    onStatus: (s: DownloadStatus) => void,
  ) {
    this.events = throttleLatest(onStatus, 1000 / EVENTS_PER_SECOND);
  }

  current(): DownloadStatus {
    return this.status;
  }

  start(layers: readonly number[], vision: boolean): DownloadStatus {
    if (this.abort) throw new UserFacingError('a download is already running; cancel it first').withCode('busy');
    const abort = new AbortController();
    this.abort = abort;
    this.set({ ...IDLE, state: 'running' });
    void this.manager()
      .download({ layers, vision, signal: abort.signal, onEvent: (e) => this.apply(e) })
      .then(
        (out) => this.set({
          ...this.status,
          state: abort.signal.aborted ? 'cancelled' : out.failed.length > 0 ? 'failed' : 'done',
          current: null, phase: null, rate: null, etaSeconds: null,
          installed: out.installed.map((m) => m.name),
          failed: out.failed.map((f) => ({ name: f.name, error: f.error.message })),
        }),
        (e: unknown) => this.set({
          ...this.status, state: abort.signal.aborted ? 'cancelled' : 'failed', current: null, phase: null, rate: null, etaSeconds: null,
          failed: abort.signal.aborted ? this.status.failed : [...this.status.failed, { name: 'download', error: errorMessage(e) }],
        }),
      )
      .finally(() => {
        this.abort = null;
        this.events.flush();
      });
    return this.status;
  }

  cancel(): DownloadStatus {
    this.abort?.abort();
    return this.status;
  }

  private apply(e: DownloadEvent): void {
    switch (e.type) {
      case 'plan':
        return this.set({ ...this.status, endpoint: e.endpoint, total: e.totalBytes, notes: [...e.notes] });
      case 'file-start':
        return this.set({ ...this.status, current: e.file, phase: 'download' });
      case 'progress':
        return this.set({
          ...this.status, current: e.progress.file, phase: e.progress.phase,
          bytes: e.progress.phase === 'download' ? e.overall.bytes : this.status.bytes,
          total: e.overall.total ?? this.status.total, rate: e.progress.rate, etaSeconds: e.progress.etaSeconds,
        });
      case 'model-done':
        return this.set({ ...this.status, installed: [...this.status.installed, e.entry.name] });
      case 'model-failed':
        return this.set({ ...this.status, failed: [...this.status.failed, { name: e.model, error: e.error }] });
      default:
        return undefined;
    }
  }

  private set(s: DownloadStatus): void {
    this.status = s;
    this.events.push(s);
  }
}
