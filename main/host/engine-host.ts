/**
 * The engine host: the app service in its own thread of execution (a worker thread under Node,
 * an Electron utility process in the app), so that SQLite, indexing and queries never block the
 * UI's or the HTTP server's event loop. Entry point built as `engine-host.js`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { API_METHODS, isApiMethod } from '../../common/contract/index.js';
import { createAppService } from '../app/app-service.js';
import { UserFacingError, errorMessage } from '../engine/errors.js';
import { dispatch } from './dispatch.js';
import type { FromHost, HostOptions, MediaReply, ToHost } from './protocol.js';

interface Port {
  post(msg: FromHost): void;
  onMessage(fn: (msg: ToHost) => void): void;
}

/** Electron's utility process exposes `process.parentPort`; a worker thread, worker_threads'. */
function hostPort(): { port: Port; options: HostOptions } {
  const electronPort = (process as unknown as { parentPort?: { postMessage(m: unknown): void; on(e: 'message', fn: (e: { data: unknown }) => void): void } }).parentPort;
  if (electronPort) {
    const options = JSON.parse(process.env['CLIPSCOPE_HOST_OPTIONS'] ?? '{}') as HostOptions;
    return {
      port: { post: (m) => electronPort.postMessage(m), onMessage: (fn) => electronPort.on('message', (e) => fn(e.data as ToHost)) },
      options,
    };
  }
  const p = parentPort;
  if (!p) throw new Error('internal: the engine host must run in a worker thread or a utility process');
  const data = workerData as { options?: HostOptions } | null;
  return {
    port: {
      post: (m) => p.postMessage(m, m.type === 'media' && m.reply.ok ? [m.reply.bytes.buffer as ArrayBuffer] : []),
      onMessage: (fn) => p.on('message', fn),
    },
    options: data?.options ?? {},
  };
}

const { port, options } = hostPort();
const service = createAppService((event, payload) => port.post({ type: 'event', event, payload }), options);

async function media(kind: 'thumb' | 'photo', imageId: number): Promise<MediaReply> {
  try {
    const m = await service.media(kind, imageId);
    // A Buffer may share a pooled ArrayBuffer: copy into one of its own before transferring it.
    const bytes = new Uint8Array(m.bytes.byteLength);
    bytes.set(m.bytes);
    return { ok: true, bytes, contentType: m.contentType, etag: m.etag };
  } catch (e) {
    return { ok: false, status: e instanceof UserFacingError ? 404 : 500, message: errorMessage(e) };
  }
}

port.onMessage((msg) => {
  switch (msg.type) {
    case 'call': {
      const method = isApiMethod(msg.method) ? msg.method : null;
      if (!method) {
        port.post({ type: 'reply', id: msg.id, result: { ok: false, error: { kind: 'user', message: `unknown method "${String(msg.method)}" (known: ${API_METHODS.join(', ')})` } } });
        return;
      }
      void dispatch(service, method, msg.payload, { onInternalError: (m, e) => console.error(`[engine] ${m} failed:`, e) })
        .then((result) => port.post({ type: 'reply', id: msg.id, result }));
      return;
    }
    case 'media':
      void media(msg.kind, msg.imageId).then((reply) => port.post({ type: 'media', id: msg.id, reply }));
      return;
    case 'close':
      void service.close().finally(() => port.post({ type: 'closed', id: msg.id }));
      return;
  }
});
port.post({ type: 'ready' });
