/**
 * The local web mode's HTTP transport (hono): the renderer bundle, the contract's methods as
 * `POST /api/<method>`, the event stream as Server-Sent Events (`GET /events`) and photos by
 * image id (`GET /media/{thumb,photo}/<id>`). The same `fetch` handler can serve Electron's
 * custom protocol.
 *
 * Security, for a server any local process or web page could try to reach:
 * - the per-launch token is required on every request (query `?token=` once, then an HttpOnly
 *   SameSite=Strict cookie, or the `X-Clipscope-Token` header);
 * - the Host header must name this server (127.0.0.1:P or localhost:P): a DNS-rebinding page
 *   sends its own host name;
 * - only the bundle's own files and the library's photos by id are ever served; a path with
 *   `..` (encoded or not) is refused before anything else.
 */
import { timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Hono, type Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { streamSSE } from 'hono/streaming';
import { serveStatic } from '@hono/node-server/serve-static';
import { isApiMethod, type ApiEvent, type ApiErrorCode, type ApiResult } from '../../common/contract/index.js';
import type { MediaReply } from '../host/protocol.js';

export const TOKEN_COOKIE = 'clipscope_token';
export const TOKEN_HEADER = 'x-clipscope-token';
const SSE_KEEPALIVE_MS = 15_000;
/** Bodies past this are not API calls (the largest request is a few paths). */
const MAX_BODY_BYTES = 1 << 20;

/** What the server needs from the engine host. */
export interface HttpEngine {
  call(method: string, payload: unknown): Promise<ApiResult<unknown>>;
  media(kind: 'thumb' | 'photo', imageId: number): Promise<MediaReply>;
  onEvent(fn: (event: ApiEvent, payload: unknown) => void): () => void;
}

export interface HttpAppOptions {
  engine: HttpEngine;
  token: string;
  /** The port the server listens on (known once it listens), for the Host check. */
  port: () => number;
  /** The built renderer (index.html and assets). */
  rendererDir: string;
}

/** Each event's current state, sent first on every (re)connection. */
const INITIAL_STATES = [['app.state', 'app.state'], ['index.status', 'index.status'], ['models.download', 'models.downloadStatus']] as const;

const STATUS_BY_CODE: Partial<Record<ApiErrorCode, 400 | 404 | 409>> = { 'invalid-request': 400, 'unknown-method': 404, busy: 409, 'not-found': 404 };

export function statusOf(result: ApiResult<unknown>): 200 | 400 | 404 | 409 | 422 | 500 {
  // A superseded request was answered as asked (dropped for a newer one): not a failed request
  // the browser should log; its envelope still says ok: false.
  if (result.ok || result.error.code === 'superseded') return 200;
  if (result.error.kind === 'internal') return 500;
  return (result.error.code && STATUS_BY_CODE[result.error.code]) ?? 422;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** `..` as a path segment, however it is spelled (%2e, %2E, %252e, backslashes). */
export function hasTraversal(rawPath: string): boolean {
  let p = rawPath;
  for (let i = 0; i < 3; i++) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(p);
    } catch {
      return true;
    }
    if (decoded === p) break;
    p = decoded;
  }
  return /(^|[/\\])\.\.($|[/\\])/.test(p) || p.includes('\0');
}

export function createHttpApp(opts: HttpAppOptions): Hono {
  const app = new Hono();

  app.use('*', async (c, next) => {
    const host = c.req.header('host') ?? '';
    const port = opts.port();
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
      return c.text(`refused: this server answers only to 127.0.0.1:${port}`, 403);
    }
    const raw = new URL(c.req.url).pathname;
    if (hasTraversal(raw) || hasTraversal(c.req.raw.url)) return c.text('bad path', 400);

    const fromQuery = c.req.query('token');
    const given = fromQuery ?? c.req.header(TOKEN_HEADER) ?? getCookie(c, TOKEN_COOKIE);
    if (given === undefined || !sameSecret(given, opts.token)) {
      return c.text('unauthorised: open the address `clipscope serve` printed (it carries the token)', 401);
    }
    if (fromQuery !== undefined) {
      // The page keeps the token in a cookie scripts cannot read, and the URL loses it.
      setCookie(c, TOKEN_COOKIE, opts.token, { httpOnly: true, sameSite: 'Strict', path: '/' });
    }
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    await next();
  });

  app.post('/api/:method', async (c) => {
    const method = c.req.param('method');
    if (!isApiMethod(method)) {
      const r: ApiResult<never> = { ok: false, error: { kind: 'user', code: 'unknown-method', message: `unknown method "${method}"` } };
      return c.json(r, 404);
    }
    const text = await c.req.text();
    if (text.length > MAX_BODY_BYTES) return c.json({ ok: false, error: { kind: 'user', code: 'invalid-request', message: `${method}: request too large` } }, 400);
    let payload: unknown;
    try {
      payload = text.trim() === '' ? undefined : JSON.parse(text);
    } catch {
      return c.json({ ok: false, error: { kind: 'user', code: 'invalid-request', message: `${method}: the request body is not JSON` } }, 400);
    }
    const result = await opts.engine.call(method, payload);
    return c.json(result, statusOf(result));
  });

  app.get('/events', (c) =>
    streamSSE(c, async (stream) => {
      let id = 0;
      const queue: { event: ApiEvent; payload: unknown }[] = [];
      let wake: (() => void) | null = null;
      const off = opts.engine.onEvent((event, payload) => {
        queue.push({ event, payload });
        wake?.();
      });
      stream.onAbort(() => {
        off();
        wake?.();
      });
      // Resumable after a reload or a dropped connection: the current states come first.
      for (const [event, method] of INITIAL_STATES) {
        const r = await opts.engine.call(method, undefined);
        if (r.ok) queue.unshift({ event, payload: r.value });
      }
      while (!stream.aborted && !stream.closed) {
        while (queue.length > 0) {
          const e = queue.shift()!;
          await stream.writeSSE({ event: e.event, data: JSON.stringify(e.payload), id: String(++id) });
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, SSE_KEEPALIVE_MS).unref();
        });
        wake = null;
        if (queue.length === 0 && !stream.aborted) await stream.write(': keepalive\n\n');
      }
      off();
    }),
  );

  app.get('/media/:kind/:id', async (c) => {
    const kind = c.req.param('kind');
    const id = Number(c.req.param('id'));
    if ((kind !== 'thumb' && kind !== 'photo') || !Number.isInteger(id) || id <= 0) return c.text('no such media', 404);
    return mediaResponse(c, await opts.engine.media(kind, id));
  });

  // The page itself carries the app's state (a <meta>, data only: the CSP allows no inline
  // script), so its first render already knows the open library and asks for its photos at
  // once instead of after an app.state round trip (~0.1-0.2 s of a page load at 100k photos).
  const page = async (c: Context) => {
    let html: string;
    try {
      html = await readFile(path.join(opts.rendererDir, 'index.html'), 'utf8');
    } catch {
      return c.text('not found', 404);
    }
    const state = await opts.engine.call('app.state', undefined);
    if (state.ok) html = html.replace('</head>', `<meta name="clipscope-state" content="${escapeAttribute(JSON.stringify(state.value))}" />\n</head>`);
    c.header('Cache-Control', 'no-store');
    return c.html(html);
  };
  app.get('/', page);
  app.get('/index.html', page);
  // The build names every script and style sheet after its content hash: a reload or a second
  // tab takes them from the browser's cache without asking (the page itself is never cached).
  app.use('/assets/*', async (c, next) => {
    await next();
    if (c.res.status === 200) c.header('Cache-Control', 'private, max-age=31536000, immutable');
  });
  app.use('/*', serveStatic({ root: opts.rendererDir }));
  // Hash routes live in the fragment, so any other GET is a missing file.
  app.notFound((c) => c.text('not found', 404));
  return app;
}

/** Text safe inside a double-quoted HTML attribute. */
export function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function mediaResponse(c: Context, m: MediaReply): Response {
  if (!m.ok) return c.text(m.message, m.status);
  const etag = `"${m.etag}"`;
  if (c.req.header('if-none-match') === etag) return c.body(null, 304);
  c.header('Content-Type', m.contentType);
  c.header('ETag', etag);
  c.header('Cache-Control', 'private, max-age=3600');
  return c.body(m.bytes as Uint8Array<ArrayBuffer>, 200);
}
