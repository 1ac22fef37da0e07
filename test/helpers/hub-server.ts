import { createHash } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A local stand-in for the Hugging Face hub on 127.0.0.1 (random port), for download tests:
 *   GET/HEAD /{owner}/{name}/resolve/{revision}/{path}   files, with Range (206 / 416)
 *   GET      /api/models/{owner}/{name}/revision/{rev}   the listing (`?blobs=true`: sizes, LFS sha256)
 * LFS files answer with `X-Linked-Etag` / `ETag` = sha256 and `X-Linked-Size`; other files with a
 * git blob id ETag (40 hex), like the real hub. With `cdn`, LFS resolves redirect (302) to
 * another server (another origin) that serves the bytes, like the hub's CDN.
 * Faults are injected per request (`fault()`), and every request is logged with the bytes sent.
 */

export interface HubFile {
  readonly repo: string;
  readonly path: string;
  readonly data: Buffer;
  /** Stored in LFS (sha256 ETag); default: files over 1 KB. */
  readonly lfs?: boolean;
}

export type Fault =
  /** Sends this many body bytes, then closes the connection. */
  | { readonly type: 'cut'; readonly afterBytes: number }
  /** Sends this many body bytes, then goes silent for `ms` (a stalled transfer). */
  | { readonly type: 'stall'; readonly afterBytes: number; readonly ms: number }
  /** Waits `ms` before sending the response headers (a slow server). */
  | { readonly type: 'delay'; readonly ms: number }
  /** Answers with this status and a short body. */
  | { readonly type: 'status'; readonly status: number }
  /** Reports a sha256 that is not the file's (X-Linked-Etag / ETag). */
  | { readonly type: 'wrong-sha' }
  /** Flips one byte of the body at this file offset. */
  | { readonly type: 'corrupt'; readonly at: number }
  /** Ignores the Range header: always 200 with the whole file. */
  | { readonly type: 'ignore-range' };

export interface FaultMatch {
  /** "<repo>/<path>" of a file, or "listing:<repo>" for the revision API. */
  readonly file: string;
  readonly method?: 'GET' | 'HEAD';
  /** How many matching requests get the fault (default 1; Infinity for all). */
  readonly times?: number;
}

export interface LoggedRequest {
  readonly method: string;
  readonly url: string;
  /** "<repo>/<path>" or "listing:<repo>" or "cdn:<sha>". */
  file: string;
  revision: string | null;
  readonly range: string | null;
  readonly authorization: string | null;
  status: number;
  bytesSent: number;
}

export const COMMIT = 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00';

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function gitBlobId(b: Buffer): string {
  return createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class HubServer {
  readonly requests: LoggedRequest[] = [];
  /** Files by "<repo>/<path>". */
  readonly files = new Map<string, HubFile>();
  /** Answer the listing API (false: 404, like a mirror without it). */
  listing = true;
  /** Requests to the hub (not the CDN) need `Authorization: Bearer <token>`. */
  requireToken: string | null = null;
  /** Redirect LFS resolves to this server's /cdn/<sha256>. */
  cdn: HubServer | null = null;
  private faults: { match: FaultMatch; fault: Fault; left: number }[] = [];
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  private constructor() {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(err));
        else res.destroy();
      });
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  private initial: readonly HubFile[] = [];

  static async start(files: readonly HubFile[] = []): Promise<HubServer> {
    const s = new HubServer();
    s.initial = files;
    for (const f of files) s.add(f);
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    s.port = (s.server.address() as AddressInfo).port;
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  add(f: HubFile): void {
    this.files.set(`${f.repo}/${f.path}`, f);
  }

  fault(match: FaultMatch, fault: Fault): void {
    this.faults.push({ match, fault, left: match.times ?? 1 });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** As start() left it: its files only, no faults, no CDN, no token, listing on, an empty log. */
  reset(): void {
    this.clearFaults();
    this.cdn = null;
    this.requireToken = null;
    this.listing = true;
    this.requests.length = 0;
    this.files.clear();
    for (const f of this.initial) this.add(f);
  }

  /** Body bytes sent for a file (GET only), over all requests. */
  bytesServed(file: string): number {
    return this.requests.filter((r) => r.file === file || r.file === `cdn:${this.cdnKey(file)}`).reduce((a, r) => a + r.bytesSent, 0);
  }

  requestsFor(file: string, method?: string): LoggedRequest[] {
    return this.requests.filter((r) => (r.file === file || r.file === `cdn:${this.cdnKey(file)}`) && (!method || r.method === method));
  }

  private cdnKey(file: string): string | null {
    const f = this.files.get(file);
    return f ? sha256(f.data) : null;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private takeFault(file: string, method: string): Fault | null {
    const i = this.faults.findIndex((f) => f.left > 0 && f.match.file === file && (!f.match.method || f.match.method === method));
    if (i < 0) return null;
    const f = this.faults[i]!;
    f.left--;
    return f.fault;
  }

  private isLfs(f: HubFile): boolean {
    return f.lfs ?? f.data.length > 1024;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', this.url);
    const seg = u.pathname.split('/').slice(1).map(decodeURIComponent);
    const log: LoggedRequest = {
      method: req.method ?? 'GET', url: u.toString(), file: '', revision: null,
      range: req.headers.range ?? null, authorization: req.headers.authorization ?? null, status: 0, bytesSent: 0,
    };
    this.requests.push(log);

    if (seg[0] === 'cdn' && seg[1]) {
      log.file = `cdn:${seg[1]}`;
      const f = [...this.files.values()].find((x) => sha256(x.data) === seg[1]);
      const fault = f ? this.takeFault(`${f.repo}/${f.path}`, log.method) : null;
      if (!f) return this.status(res, log, 404);
      if (fault?.type === 'delay') await sleep(fault.ms);
      if (fault?.type === 'status') return this.status(res, log, fault.status);
      return this.serve(req, res, log, f, fault, false);
    }
    if (seg[0] === 'api' && seg[1] === 'models' && seg[4] === 'revision') {
      const repo = `${seg[2]}/${seg[3]}`;
      log.file = `listing:${repo}`;
      log.revision = seg[5] ?? null;
      const fault = this.takeFault(log.file, log.method);
      if (fault?.type === 'delay') await sleep(fault.ms);
      if (fault?.type === 'status') return this.status(res, log, fault.status);
      if (!this.listing) return this.status(res, log, 404);
      if (!this.authorized(req)) return this.status(res, log, 401);
      const blobs = u.searchParams.get('blobs') === 'true';
      const siblings = [...this.files.values()].filter((f) => f.repo === repo).map((f) => ({
        rfilename: f.path,
        ...(blobs ? { size: f.data.length, blobId: gitBlobId(f.data) } : {}),
        ...(blobs && this.isLfs(f) ? { lfs: { sha256: sha256(f.data), size: f.data.length, pointerSize: 134 } } : {}),
      }));
      if (siblings.length === 0) return this.status(res, log, 404);
      const body = Buffer.from(JSON.stringify({ id: repo, sha: COMMIT, siblings }));
      log.status = 200;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
      return;
    }
    if (seg[2] === 'resolve' && seg.length >= 5) {
      const repo = `${seg[0]}/${seg[1]}`;
      const file = seg.slice(4).join('/');
      log.file = `${repo}/${file}`;
      log.revision = seg[3]!;
      const fault = this.takeFault(log.file, log.method);
      if (fault?.type === 'delay') await sleep(fault.ms);
      if (fault?.type === 'status') return this.status(res, log, fault.status);
      if (!this.authorized(req)) return this.status(res, log, 401);
      const f = this.files.get(log.file);
      if (!f || (log.revision !== 'main' && log.revision !== COMMIT)) return this.status(res, log, 404);
      if (this.cdn && this.isLfs(f)) {
        const sum = fault?.type === 'wrong-sha' ? sha256(Buffer.from('something else')) : sha256(f.data);
        log.status = 302;
        res.writeHead(302, {
          location: `${this.cdn.url}/cdn/${sha256(f.data)}`,
          'x-linked-etag': `"${sum}"`, 'x-linked-size': String(f.data.length), etag: `"${gitBlobId(Buffer.from('pointer'))}"`,
          'content-length': 0,
        });
        res.end();
        return;
      }
      return this.serve(req, res, log, f, fault, true);
    }
    return this.status(res, log, 404);
  }

  private authorized(req: IncomingMessage): boolean {
    return !this.requireToken || req.headers.authorization === `Bearer ${this.requireToken}`;
  }

  private status(res: ServerResponse, log: LoggedRequest, status: number): void {
    log.status = status;
    const body = Buffer.from(status === 404 ? 'Entry not found' : status === 401 ? 'Invalid credentials' : `status ${status}`);
    res.writeHead(status, { 'content-type': 'text/plain', 'content-length': body.length, 'x-error-code': status === 404 ? 'EntryNotFound' : 'Error' });
    res.end(body);
  }

  private async serve(req: IncomingMessage, res: ServerResponse, log: LoggedRequest, f: HubFile, fault: Fault | null, hubHeaders: boolean): Promise<void> {
    const size = f.data.length;
    const lfs = this.isLfs(f);
    const sum = fault?.type === 'wrong-sha' ? sha256(Buffer.from('something else')) : sha256(f.data);
    const headers: Record<string, string | number> = { 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
    if (hubHeaders) {
      headers['etag'] = `"${lfs ? sum : gitBlobId(f.data)}"`;
      if (lfs) {
        headers['x-linked-etag'] = `"${sum}"`;
        headers['x-linked-size'] = String(size);
      }
    } else {
      headers['etag'] = `"${createHash('md5').update(f.data).digest('hex')}"`; // a CDN's own ETag
    }
    let start = 0;
    let status = 200;
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (m && fault?.type !== 'ignore-range') {
      start = Number(m[1]);
      if (start >= size) {
        log.status = 416;
        res.writeHead(416, { ...headers, 'content-range': `bytes */${size}`, 'content-length': 0 });
        res.end();
        return;
      }
      status = 206;
      headers['content-range'] = `bytes ${start}-${size - 1}/${size}`;
    }
    let body = f.data.subarray(start);
    if (fault?.type === 'corrupt' && fault.at >= start && fault.at < size) {
      body = Buffer.from(body);
      body[fault.at - start] = body[fault.at - start]! ^ 0xff;
    }
    headers['content-length'] = body.length;
    log.status = status;
    res.writeHead(status, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const limit = fault?.type === 'cut' || fault?.type === 'stall' ? Math.min(fault.afterBytes, body.length) : body.length;
    const CHUNK = 16 * 1024;
    for (let off = 0; off < limit; off += CHUNK) {
      const chunk = body.subarray(off, Math.min(limit, off + CHUNK));
      if (res.destroyed) return;
      await new Promise<void>((resolve) => res.write(chunk, () => resolve()));
      log.bytesSent += chunk.length;
    }
    if (fault?.type === 'cut') {
      // Let the client drain what was sent (as over a real network, where the cut comes later
      // than the last byte), then close before Content-Length bytes.
      await sleep(100);
      res.socket?.end();
      return;
    }
    if (fault?.type === 'stall') {
      await sleep(fault.ms);
      if (res.destroyed) return;
      for (let off = limit; off < body.length; off += CHUNK) {
        const chunk = body.subarray(off, Math.min(body.length, off + CHUNK));
        if (res.destroyed) return;
        await new Promise<void>((resolve) => res.write(chunk, () => resolve()));
        log.bytesSent += chunk.length;
      }
    }
    res.end();
  }
}
