import { Worker, parentPort, type TransferListItem } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UserFacingError, errorMessage } from '../errors.js';

type Handler = (arg: never) => Promise<unknown>;
export type Handlers = Record<string, Handler>;

interface Request { id: number; method: string; arg: unknown }
type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; message: string; userFacing: boolean; code?: UserFacingError['code'] };

/** Buffers inside a reply are moved, not copied, back to the caller. */
export function transferablesOf(value: unknown, out: TransferListItem[] = [], seen = new Set<unknown>()): TransferListItem[] {
  if (typeof value !== 'object' || value === null || seen.has(value)) return out;
  seen.add(value);
  if (ArrayBuffer.isView(value)) {
    const buf = value.buffer;
    if (buf instanceof ArrayBuffer && buf.byteLength === value.byteLength && !seen.has(buf)) {
      seen.add(buf);
      out.push(buf);
    }
    return out;
  }
  for (const v of Array.isArray(value) ? value : Object.values(value)) transferablesOf(v, out, seen);
  return out;
}

/** Worker side: answers requests with the handlers, one at a time in arrival order. */
export function serveInWorker(handlers: Handlers): void {
  const port = parentPort;
  if (!port) throw new Error('internal: serveInWorker called outside a worker thread');
  let queue = Promise.resolve();
  port.on('message', (req: Request) => {
    queue = queue.then(async () => {
      let reply: Reply;
      try {
        const fn = handlers[req.method];
        if (!fn) throw new Error(`internal: unknown worker method ${req.method}`);
        reply = { id: req.id, ok: true, value: await fn(req.arg as never) };
      } catch (e) {
        reply = e instanceof UserFacingError
          ? { id: req.id, ok: false, message: errorMessage(e), userFacing: true, code: e.code }
          : { id: req.id, ok: false, message: errorMessage(e), userFacing: false };
      }
      port.postMessage(reply, reply.ok ? transferablesOf(reply.value) : []);
    });
  });
}

type Api<H extends Handlers> = { [K in keyof H]: (arg: Parameters<H[K]>[0], transfer?: TransferListItem[]) => ReturnType<H[K]> };

/**
 * What runs entry point `name`: `<name>.js` beside `moduleUrl` (built code); from sources (tests,
 * tsx), ts-worker-bootstrap.mjs, which runs `tsEntry` through tsx's loader. Worker threads get
 * `tsEntry` as workerData, child processes as their first argument.
 */
export function entryPoint(moduleUrl: string, name: string): { script: URL; tsEntry: string | null } {
  const js = new URL(`./${name}.js`, moduleUrl);
  if (existsSync(fileURLToPath(js))) return { script: js, tsEntry: null };
  return { script: new URL('./ts-worker-bootstrap.mjs', import.meta.url), tsEntry: new URL(`./${name}.ts`, moduleUrl).href };
}

/** Starts entry point `name` (see entryPoint) in a worker thread. */
export function startWorker<H extends Handlers>(moduleUrl: string, name: string): { api: Api<H>; terminate: () => Promise<number> } {
  const entry = entryPoint(moduleUrl, name);
  const worker = entry.tsEntry === null ? new Worker(entry.script) : new Worker(entry.script, { workerData: { tsEntry: entry.tsEntry } });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let next = 0;
  const failAll = (err: Error): void => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.on('message', (r: Reply) => {
    const p = pending.get(r.id);
    if (!p) return;
    pending.delete(r.id);
    if (r.ok) p.resolve(r.value);
    else p.reject(r.userFacing ? new UserFacingError(r.message).withCode(r.code ?? 'failed') : new Error(r.message));
  });
  worker.on('error', (e) => failAll(e));
  worker.on('exit', (code) => failAll(new Error(`the ${name} worker stopped (exit code ${code})`)));
  // Idle workers must not keep the process alive; a pending call re-references it.
  worker.unref();
  const api = new Proxy({} as Api<H>, {
    get: (_t, method: string) => (arg: unknown, transfer: TransferListItem[] = []) =>
      new Promise((resolve, reject) => {
        const id = next++;
        if (pending.size === 0) worker.ref();
        pending.set(id, {
          resolve: (v) => { pending.delete(id); if (pending.size === 0) worker.unref(); resolve(v); },
          reject: (e) => { if (pending.size === 0) worker.unref(); reject(e); },
        });
        worker.postMessage({ id, method, arg }, transfer);
      }),
  });
  return { api, terminate: () => worker.terminate() };
}
