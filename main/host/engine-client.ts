/**
 * The transports' side of the engine host: calls that answer with the contract's envelopes,
 * media by image id, and the event stream. The channel under it is a worker thread
 * (`startEngineThread`, the web mode and tests) or an Electron utility process (main/electron).
 */
import { Worker } from 'node:worker_threads';
import type { ApiEvent, ApiMethod, ApiResult } from '../../common/contract/index.js';
import { entryPoint } from '../engine/runtime/worker-rpc.js';
import type { FromHost, HostOptions, MediaReply, ToHost } from './protocol.js';

/** Something that carries messages to and from the host. */
export interface HostChannel {
  post(msg: ToHost): void;
  onMessage(fn: (msg: FromHost) => void): void;
  /** Called once if the host stops on its own (a crash). */
  onExit(fn: (reason: string) => void): void;
  terminate(): Promise<void>;
}

export type EventListener = (event: ApiEvent, payload: unknown) => void;

const CLOSE_TIMEOUT_MS = 15_000;

export class EngineClient {
  private next = 0;
  private readonly pending = new Map<number, (msg: FromHost) => void>();
  private readonly listeners = new Set<EventListener>();
  private exited: string | null = null;
  readonly ready: Promise<void>;

  constructor(private readonly channel: HostChannel) {
    let markReady!: () => void;
    this.ready = new Promise((resolve) => (markReady = resolve));
    channel.onMessage((msg) => {
      if (msg.type === 'ready') return markReady();
      if (msg.type === 'event') {
        for (const l of this.listeners) l(msg.event, msg.payload);
        return;
      }
      const done = this.pending.get(msg.id);
      if (done) {
        this.pending.delete(msg.id);
        done(msg);
      }
    });
    channel.onExit((reason) => {
      this.exited = reason;
      const answers = [...this.pending.values()];
      this.pending.clear();
      for (const a of answers) a({ type: 'closed', id: -1 });
    });
  }

  private request(make: (id: number) => ToHost): Promise<FromHost> {
    if (this.exited) return Promise.resolve({ type: 'closed', id: -1 });
    const id = this.next++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.channel.post(make(id));
    });
  }

  /** Calls a contract method; never rejects (a dead host is an `internal` error). */
  async call(method: ApiMethod, payload: unknown): Promise<ApiResult<unknown>> {
    const r = await this.request((id) => ({ type: 'call', id, method, payload }));
    if (r.type === 'reply') return r.result;
    return { ok: false, error: { kind: 'internal', message: `the engine stopped (${this.exited ?? 'closed'}); restart the app` } };
  }

  async media(kind: 'thumb' | 'photo', imageId: number): Promise<MediaReply> {
    const r = await this.request((id) => ({ type: 'media', id, kind, imageId }));
    if (r.type === 'media') return r.reply;
    return { ok: false, status: 500, message: `the engine stopped (${this.exited ?? 'closed'})` };
  }

  onEvent(fn: EventListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Lets the host pause its job after the batch and close the library, then stops it. */
  async close(): Promise<void> {
    if (!this.exited) {
      const closing = this.request((id) => ({ type: 'close', id }));
      const timeout = new Promise((resolve) => setTimeout(resolve, CLOSE_TIMEOUT_MS).unref());
      await Promise.race([closing, timeout]);
    }
    await this.channel.terminate();
  }
}

/** The engine host in a worker thread of this process. */
export function startEngineThread(options: HostOptions = {}): EngineClient {
  const entry = entryPoint(import.meta.url, 'engine-host');
  const workerData = entry.tsEntry === null ? { options } : { options, tsEntry: entry.tsEntry };
  const worker = new Worker(entry.script, { workerData });
  let exitFn: ((reason: string) => void) | null = null;
  let terminated = false;
  worker.on('error', (e) => exitFn?.(e.message));
  worker.on('exit', (code) => {
    if (!terminated) exitFn?.(`exit code ${code}`);
  });
  return new EngineClient({
    post: (m) => worker.postMessage(m),
    onMessage: (fn) => worker.on('message', fn),
    onExit: (fn) => (exitFn = fn),
    terminate: async () => {
      terminated = true;
      await worker.terminate();
    },
  });
}
