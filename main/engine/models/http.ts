import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { DownloadError, isAbortError } from './errors.js';
import { VERSION } from '../version.js';

/** How to talk to one hub endpoint. */
export interface HttpSettings {
  /** Sent as `Authorization: Bearer …`, only to `tokenOrigin` (never to a CDN we are redirected to). */
  readonly token?: string | null;
  readonly tokenOrigin?: string | null;
  /** No response or no bytes for this long = a timeout (ms). */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly maxRedirects?: number;
}

/** One response of a redirect chain (the first is the endpoint's own answer). */
export interface Hop {
  readonly url: string;
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
}

export interface HttpResponse {
  readonly url: string;
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Every response, redirects included, in order; the last is this one. */
  readonly hops: readonly Hop[];
  readonly body: IncomingMessage;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

function hostOf(url: string): string {
  return new URL(url).host;
}

/** Turns a failed socket into a sentence and decides whether it is worth retrying. */
export function networkError(err: unknown, url: string, what: string): DownloadError {
  if (err instanceof DownloadError) return err;
  if (isAbortError(err)) return new DownloadError('cancelled', `${what}: cancelled`);
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  const host = hostOf(url);
  switch (code) {
    case 'ENOTFOUND':
      return new DownloadError('network', `${what}: cannot resolve ${new URL(url).hostname} (no network, or a wrong --endpoint?)`);
    case 'EAI_AGAIN':
      return new DownloadError('network', `${what}: cannot resolve ${new URL(url).hostname} right now (no network?)`, true);
    case 'ECONNREFUSED':
      return new DownloadError('network', `${what}: ${host} refused the connection (no network, or a wrong --endpoint?)`);
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
    case 'ENETDOWN':
      return new DownloadError('network', `${what}: ${host} is unreachable (no network?)`);
    case 'CERT_HAS_EXPIRED':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return new DownloadError('network', `${what}: the TLS certificate of ${host} is not trusted (${code})`);
    default:
      // ECONNRESET, EPIPE, ETIMEDOUT, "socket hang up", "aborted", a premature close ...
      return new DownloadError('network', `${what}: the connection to ${host} was lost (${code || (err as Error)?.message || String(err)})`, true);
  }
}

export function timeoutError(url: string, what: string, ms: number): DownloadError {
  return new DownloadError('timeout', `${what}: timed out (no data from ${hostOf(url)} for ${Math.round(ms / 100) / 10} s)`, true);
}

function once(url: string, method: string, headers: Record<string, string>, s: HttpSettings, what: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const lib = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : null;
    if (!lib) {
      reject(new DownloadError('protocol', `${what}: unsupported URL ${url} (http or https only)`));
      return;
    }
    const req = lib.request(u, { method, headers, ...(s.signal ? { signal: s.signal } : {}) });
    const timer = setTimeout(() => req.destroy(timeoutError(url, what, s.timeoutMs)), s.timeoutMs);
    req.on('response', (res) => {
      clearTimeout(timer);
      resolve(res);
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(networkError(err, url, what));
    });
    req.end();
  });
}

/**
 * GET or HEAD with redirects followed by hand, so that the token goes only to its own origin and
 * every hop's headers stay visible (the hub puts the sha256 on the redirect, not on the CDN's answer).
 */
export async function httpRequest(
  url: string,
  opts: { method?: 'GET' | 'HEAD'; headers?: Record<string, string>; what: string; sameOriginRedirectsOnly?: boolean },
  s: HttpSettings,
): Promise<HttpResponse> {
  const hops: Hop[] = [];
  let method = opts.method ?? 'GET';
  let current = url;
  for (let i = 0; ; i++) {
    if (s.signal?.aborted) throw new DownloadError('cancelled', `${opts.what}: cancelled`);
    const headers: Record<string, string> = { 'user-agent': `clipscope-desktop/${VERSION}`, ...opts.headers };
    if (s.token && s.tokenOrigin && new URL(current).origin === s.tokenOrigin) headers['authorization'] = `Bearer ${s.token}`;
    const res = await once(current, method, headers, s, opts.what);
    const status = res.statusCode ?? 0;
    hops.push({ url: current, status, headers: res.headers });
    const location = header(res.headers, 'location');
    if (REDIRECTS.has(status) && location) {
      if (opts.sameOriginRedirectsOnly && new URL(location, current).origin !== new URL(url).origin) {
        return { url: current, status, headers: res.headers, hops, body: res };
      }
      res.resume();
      if (i >= (s.maxRedirects ?? 10)) {
        throw new DownloadError('protocol', `${opts.what}: too many redirects (last to ${location})`);
      }
      current = new URL(location, current).toString();
      if (status === 303) method = 'GET';
      continue;
    }
    return { url: current, status, headers: res.headers, hops, body: res };
  }
}

/** Reads a small body (JSON listings) with the idle timeout and a size cap. */
export async function readBody(res: HttpResponse, s: HttpSettings, what: string, maxBytes = 64 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of idleTimed(res.body, res.url, s.timeoutMs, what)) {
    n += chunk.length;
    if (n > maxBytes) {
      res.body.destroy();
      throw new DownloadError('protocol', `${what}: the response is larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Iterates a response body, failing with a timeout when no bytes arrive for `ms`. */
export async function* idleTimed(body: IncomingMessage, url: string, ms: number, what: string): AsyncGenerator<Buffer> {
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => body.destroy(timeoutError(url, what, ms)), ms);
  };
  arm();
  try {
    for await (const chunk of body) {
      arm();
      yield chunk as Buffer;
    }
    // A body cut short by the server without an error event: IncomingMessage marks it incomplete.
    if (!body.complete) throw new DownloadError('network', `${what}: the connection to ${hostOf(url)} was closed before the end of the file`, true);
  } catch (err) {
    throw networkError(err, url, what);
  } finally {
    clearTimeout(timer);
  }
}
