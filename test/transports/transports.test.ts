/**
 * The contract through both transports, for real: one engine host (a worker thread running the
 * app service on real SQLite files, the bundled demo model and photos), reached by the IPC
 * adapter (handlers invoked with a fake event, payloads structured-cloned as Electron does) and
 * by the HTTP server on 127.0.0.1. The same calls give the same envelopes, errors included.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_METHODS, type IndexStatus } from '../../common/contract/index.js';
import type { EngineClient } from '../../main/host/engine-client.js';
import { gallery } from '../../main/engine/queries/gallery.js';
import { resolveConfig } from '../../main/engine/queries/config.js';
import { Library } from '../../main/engine/store/library.js';
import { TOKEN_HEADER } from '../../main/transports/http.js';
import { forwardEvents } from '../../main/transports/ipc.js';
import { envelope, startTransports, type MemoryIpc, type Transports } from './harness.js';

let t: Transports;
let tmp: string;
let engine: EngineClient;
let port: number;
let token: string;
let ipc: MemoryIpc;

beforeAll(async () => {
  t = await startTransports('clipscope-transports-');
  ({ tmp, engine, port, token, ipc } = t);
});
afterAll(async () => {
  await t?.close();
});

const viaIpc = (method: string, payload?: unknown) => t.viaIpc(method, payload);
const viaHttp = (method: string, payload?: unknown) => t.viaHttp(method, payload);
const both = (method: string, payload?: unknown) => t.both(method, payload);
const waitForStatus = (pred: (s: IndexStatus) => boolean) => t.waitForStatus(pred);

describe('the contract over IPC and HTTP', () => {
  it('registers one IPC channel per method and refuses other senders', async () => {
    expect([...ipc.handlers.keys()].sort()).toEqual(API_METHODS.map((m) => `api:${m}`).sort());
    expect(await ipc.invoke('api:app.state', undefined, { senderFrame: 'evil' })).toMatchObject({ ok: false, error: { kind: 'internal', message: expect.stringMatching(/untrusted/) } });
  });

  it('answers app.state identically, starting with no library', async () => {
    const r = await both('app.state');
    expect(envelope(r.http)).toEqual(r.ipc);
    expect(r.ipc).toMatchObject({ ok: true, value: { library: null, recent: [], demoAvailable: true } });
  });

  it('reports a malformed request as a validation message naming the field (400 over HTTP)', async () => {
    const r = await both('gallery.get', { feature: 'seven' });
    expect(envelope(r.http)).toEqual(r.ipc);
    expect(r.ipc).toMatchObject({ ok: false, error: { kind: 'user', code: 'invalid-request', message: expect.stringMatching(/^gallery\.get: invalid request: feature: /) } });
    expect(r.http.status).toBe(400);

    const extra = await both('library.open', { file: '/x.sqlite', fil: 1 });
    expect(extra.ipc).toMatchObject({ ok: false, error: { code: 'invalid-request', message: expect.stringContaining('fil') } });
    expect(envelope(extra.http)).toEqual(extra.ipc);
  });

  it('gives user errors as their message, with a code the UI can act on', async () => {
    const r = await both('gallery.get', { feature: 1 });
    expect(envelope(r.http)).toEqual(r.ipc);
    expect(r.ipc).toMatchObject({ ok: false, error: { kind: 'user', code: 'no-library', message: 'no library is open: open or create one first' } });
    expect(r.http.status).toBe(422);

    const missing = path.join(tmp, 'nope.sqlite');
    const open = await both('library.open', { file: missing });
    expect(open.ipc).toMatchObject({ ok: false, error: { kind: 'user', message: `${missing}: no such library file` } });
    expect(envelope(open.http)).toEqual(open.ipc);
  });

  it('refuses an unknown method on both transports', async () => {
    expect(await viaHttp('fs.delete', {})).toMatchObject({ ok: false, status: 404, error: { code: 'unknown-method' } });
    await expect(ipc.invoke('api:fs.delete', {})).rejects.toThrow(/no handler/);
  });

  it('creates a library, adds a folder (a bad one named in the error), indexes the demo and queries it', async () => {
    const file = path.join(tmp, 'libraries', 'mine.sqlite');
    const created = await viaHttp('library.create', { file });
    expect(created).toMatchObject({ ok: true, value: { library: { file, name: 'mine', images: 0, folders: [], demo: false } } });
    const again = await both('library.create', { file });
    expect(again.ipc).toMatchObject({ ok: false, error: { message: expect.stringContaining('already exists') } });

    const bad = path.join(tmp, 'no-such-folder');
    const addBad = await both('folders.add', { path: bad });
    expect(addBad.ipc).toMatchObject({ ok: false, error: { kind: 'user', message: `${bad}: no such folder` } });
    expect(envelope(addBad.http)).toEqual(addBad.ipc);

    // The demo library: its own file, indexed in the background; progress arrives as events.
    const events: IndexStatus[] = [];
    const off = forwardEvents(engine, (channel, payload) => {
      if (channel === 'event:index.status') events.push(payload as IndexStatus);
    });
    const done = waitForStatus((s) => s.job?.state === 'done');
    const demo = await viaIpc('demo.setup');
    expect(demo).toMatchObject({ ok: true, value: { library: { demo: true, name: 'demo-library' } } });
    const final = await done;
    off();
    expect(final.job).toMatchObject({ phase: 'done', summary: { scanned: 5, indexed: 5, failed: 0, unchanged: 0 } });
    expect(events.some((e) => e.job?.state === 'running')).toBe(true);

    const state = await both('app.state');
    expect(envelope(state.http)).toEqual(state.ipc);
    const lib = (state.ipc as { value: { library: { file: string; images: number; configs: { layer: number; images: number }[]; folders: { images: number; indexedAt: number | null }[] } } }).value.library;
    expect(lib.images).toBe(5);
    expect(lib.configs).toMatchObject([{ layer: 2, images: 5 }]);
    expect(lib.folders[0]).toMatchObject({ images: 5 });
    expect(lib.folders[0]!.indexedAt).toBeGreaterThan(0);

    // The same gallery as the engine's query on an independent read-only handle.
    const ro = Library.open(lib.file, { readonly: true });
    try {
      const config = resolveConfig(ro);
      const first = gallery(ro, config, 0, { token: 'cls', limit: 1 });
      const feature = (await viaIpc('image.get', { imageId: first.items[0]?.imageId ?? 1 })) as { value: { cls: { feature: number }[] } };
      const f = feature.value.cls[0]!.feature;
      const expected = gallery(ro, config, f, { token: 'cls', limit: 60 });
      const g = await both('gallery.get', { feature: f, token: 'cls' });
      expect(envelope(g.http)).toEqual(g.ipc);
      expect(g.ipc).toEqual({ ok: true, value: { feature: f, layer: 2, token: 'cls', total: expected.total, items: expected.items.map((i) => ({ imageId: i.imageId, file: i.file, act: i.act, token: i.token })), quantiles: [] } });
    } finally {
      ro.close();
    }

    const metrics = await both('metrics.get');
    expect(envelope(metrics.http)).toEqual(metrics.ipc);
    expect(metrics.ipc).toMatchObject({ ok: true, value: { layer: 2, images: 5, tokens: 5 * 257 } });
  });
});

describe('the HTTP server', () => {
  const get = (p: string, headers: Record<string, string> = {}) => fetch(`http://127.0.0.1:${port}${p}`, { headers, redirect: 'manual' });

  it('answers 401 to every request without the token: page, API, events, media', async () => {
    expect((await get('/')).status).toBe(401);
    expect((await fetch(`http://127.0.0.1:${port}/api/app.state`, { method: 'POST' })).status).toBe(401);
    expect((await get('/events')).status).toBe(401);
    expect((await get('/media/thumb/1')).status).toBe(401);
    expect((await get('/media/thumb/1', { [TOKEN_HEADER]: 'wrong-token-0123456789abcd' })).status).toBe(401);
  });

  it('keeps the token from the first load in an HttpOnly SameSite=Strict cookie', async () => {
    const first = await get(`/media/thumb/1?token=${token}`);
    expect(first.status).toBe(200);
    const cookie = first.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const again = await get('/media/thumb/1', { cookie: cookie.split(';')[0]! });
    expect(again.status).toBe(200);
  });

  it('serves thumbnails and full photos by image id as JPEG, with ETags', async () => {
    const thumb = await get('/media/thumb/1', { [TOKEN_HEADER]: token });
    expect(thumb.headers.get('content-type')).toBe('image/jpeg');
    const bytes = new Uint8Array(await thumb.arrayBuffer());
    expect([bytes[0], bytes[1]]).toEqual([0xff, 0xd8]);
    const etag = thumb.headers.get('etag')!;
    expect((await get('/media/thumb/1', { [TOKEN_HEADER]: token, 'if-none-match': etag })).status).toBe(304);
    const photo = await get('/media/photo/1', { [TOKEN_HEADER]: token });
    expect(photo.status).toBe(200);
    expect((await photo.arrayBuffer()).byteLength).toBeGreaterThan(bytes.byteLength);
    expect((await get('/media/thumb/999999', { [TOKEN_HEADER]: token })).status).toBe(404);
    expect((await get('/media/file/1', { [TOKEN_HEADER]: token })).status).toBe(404);
  });

  it('refuses a Host header that is not this server (DNS rebinding)', async () => {
    const http = await import('node:http');
    const status = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, path: '/api/app.state', method: 'POST', headers: { host, [TOKEN_HEADER]: token } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    expect(await status(`evil.example:${port}`)).toBe(403);
    expect(await status(`127.0.0.1:${port + 1}`)).toBe(403);
    expect(await status(`localhost:${port}`)).toBe(200);
    expect(await status(`127.0.0.1:${port}`)).toBe(200);
  });

  it('never serves a path outside the bundle, however `..` is spelled', async () => {
    const http = await import('node:http');
    const status = (p: string) =>
      new Promise<number>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, path: p, headers: { [TOKEN_HEADER]: token } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    for (const p of ['/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/%2E%2E%2Fetc%2Fpasswd', '/assets/..%2f..%2fpackage.json', '/%252e%252e/etc/passwd', '/media/..%2f..%2fetc/passwd']) {
      expect([400, 404], p).toContain(await status(p));
    }
  });
});
