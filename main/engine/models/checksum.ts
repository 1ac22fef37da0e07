import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { header, type Hop } from './http.js';

const SHA256 = /^[0-9a-f]{64}$/;

export function isSha256(s: unknown): s is string {
  return typeof s === 'string' && SHA256.test(s);
}

/** An ETag as the hub sends it (`"…"`, `W/"…"`) reduced to its value, lower case. */
export function normalizeEtag(v: string | undefined): string | null {
  if (!v) return null;
  return v.trim().replace(/^W\//i, '').replace(/^"|"$/g, '').toLowerCase() || null;
}

/**
 * The sha256 the hub reports for an LFS file: `X-Linked-Etag` on the resolve response (the one
 * that redirects to the CDN), else that response's own `ETag`, when it is 64 hex digits. A
 * non-LFS file's ETag is a git blob id (40 hex): no sha256 then. Only the endpoint's own
 * responses count: a CDN's ETag means something else.
 */
export function hubSha256(hops: readonly Hop[], endpointOrigin: string): string | null {
  for (const hop of hops) {
    const linked = normalizeEtag(header(hop.headers, 'x-linked-etag'));
    if (isSha256(linked)) return linked;
  }
  for (const hop of hops) {
    if (new URL(hop.url).origin !== endpointOrigin) continue;
    const etag = normalizeEtag(header(hop.headers, 'etag'));
    if (isSha256(etag)) return etag;
  }
  return null;
}

/** The size the hub reports: `X-Linked-Size` on the resolve response, else the final Content-Length. */
export function hubSize(hops: readonly Hop[]): number | null {
  for (const hop of hops) {
    const n = Number(header(hop.headers, 'x-linked-size'));
    if (Number.isSafeInteger(n) && n >= 0 && header(hop.headers, 'x-linked-size') !== undefined) return n;
  }
  const last = hops[hops.length - 1];
  return last && last.status === 200 ? contentLength(last.headers) : null;
}

export function contentLength(h: IncomingHttpHeaders): number | null {
  const v = header(h, 'content-length');
  if (v === undefined || !/^\d+$/.test(v)) return null;
  return Number(v);
}

const CHUNK = 4 * 1024 * 1024;

/**
 * Feeds the first `length` bytes of a file (all of it by default) into `hash`; `onBytes` is
 * called as it goes (for a progress bar on multi-GB files). Returns the bytes read.
 */
export async function hashFileInto(
  hash: Hash,
  file: string,
  opts: { length?: number; signal?: AbortSignal; onBytes?: (done: number) => void } = {},
): Promise<number> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    let done = 0;
    const limit = opts.length ?? Infinity;
    while (done < limit) {
      opts.signal?.throwIfAborted();
      const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, limit - done), done);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      done += bytesRead;
      opts.onBytes?.(done);
    }
    return done;
  } finally {
    await fh.close();
  }
}

export async function sha256File(file: string, opts: { signal?: AbortSignal; onBytes?: (done: number) => void } = {}): Promise<string> {
  const h = createHash('sha256');
  await hashFileInto(h, file, opts);
  return h.digest('hex');
}
