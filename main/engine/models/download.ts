import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { DownloadError, isAbortError } from './errors.js';
import { header, httpRequest, idleTimed, type HttpSettings } from './http.js';
import { contentLength, hashFileInto, hubSha256, isSha256 } from './checksum.js';
import { ensureFreeSpace, statfsFreeSpace, type FreeSpaceFn } from './space.js';

/** Bounded retries with exponential backoff for transient failures (cut connection, 5xx, timeout). */
export interface RetryPolicy {
  /** Failed attempts in a row, with no byte received, before giving up. */
  readonly maxRetries: number;
  /** Attempts in all for one file, progress or not (a server that cuts every few bytes). */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 5, maxAttempts: 50, baseDelayMs: 1000, maxDelayMs: 30_000 };

export interface FileProgress {
  /** The file as the user knows it: "<repo>/<path>". */
  readonly file: string;
  /** Bytes of the file now on disk (a resumed download starts above 0). */
  readonly bytes: number;
  readonly total: number | null;
  /** Bytes per second over the last few seconds; null at the start. */
  readonly rate: number | null;
  /** Seconds left at that rate; null when unknown. */
  readonly etaSeconds: number | null;
  readonly phase: 'download' | 'verify';
}

export interface FileRetry {
  readonly file: string;
  readonly attempt: number;
  readonly delayMs: number;
  readonly reason: string;
}

export interface FileDownloadRequest {
  /** `{endpoint}/{repo}/resolve/{revision}/{path}`. */
  readonly url: string;
  /** Where the file lands (atomically, after verification). */
  readonly dest: string;
  /** For messages: "<repo>/<path>". */
  readonly display: string;
  /** For the 404 message: "<repo>/<path> not found at <endpoint>". */
  readonly endpoint: string;
  /** A pinned or listed sha256; else the hub's ETag is used when it is one. */
  readonly sha256?: string | null;
  readonly http: HttpSettings;
  readonly retry?: RetryPolicy;
  readonly freeSpace?: FreeSpaceFn;
  readonly spaceMarginBytes?: number;
  readonly onProgress?: (p: FileProgress) => void;
  readonly onRetry?: (r: FileRetry) => void;
  /** Minimum ms between two progress events (the last one always comes). */
  readonly progressIntervalMs?: number;
}

export interface FileDownloadResult {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  /** The sha256 was checked against the hub's checksum or a pinned one (not only computed). */
  readonly verified: boolean;
  /** Bytes already on disk from an earlier, interrupted transfer. */
  readonly resumedFrom: number;
  /** Bytes this call received over the network. */
  readonly received: number;
}

const WRITE_BATCH = 1024 * 1024;

/** `<final>.partial`: where bytes accumulate; never used as a model. */
export const partialPath = (dest: string): string => `${dest}.partial`;
/** What the partial file belongs to (url, sha256), so a resume never mixes two versions. */
export const partialMetaPath = (dest: string): string => `${dest}.partial.json`;

interface PartialMeta { url: string; sha256: string | null; size: number | null }

async function readMeta(dest: string): Promise<PartialMeta | null> {
  try {
    return JSON.parse(await fs.readFile(partialMetaPath(dest), 'utf8')) as PartialMeta;
  } catch {
    return null;
  }
}

async function sizeOf(file: string): Promise<number> {
  return fs.stat(file).then((s) => s.size, () => 0);
}

export async function discardPartial(dest: string): Promise<void> {
  await fs.rm(partialPath(dest), { force: true });
  await fs.rm(partialMetaPath(dest), { force: true });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new DownloadError('cancelled', 'cancelled'));
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new DownloadError('cancelled', 'cancelled'));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Rate over a sliding window (samples kept every 100 ms at most, so millions of chunks stay cheap). */
class RateMeter {
  private samples: { t: number; bytes: number }[] = [];
  private current: { t: number; bytes: number } | null = null;
  constructor(private readonly windowMs = 5000) {}
  add(t: number, bytes: number): void {
    this.current = { t, bytes };
    const last = this.samples[this.samples.length - 1];
    if (last && t - last.t < 100) return;
    this.samples.push(this.current);
    while (this.samples.length > 2 && t - this.samples[0]!.t > this.windowMs) this.samples.shift();
  }
  rate(): number | null {
    const a = this.samples[0];
    const b = this.current;
    if (!a || !b || b.t - a.t < 200) return null;
    return ((b.bytes - a.bytes) * 1000) / (b.t - a.t);
  }
  reset(): void {
    this.samples = [];
    this.current = null;
  }
}

/** "bytes 100-199/1000" -> {start, end, total} */
export function parseContentRange(v: string | undefined): { start: number; end: number; total: number | null } | null {
  const m = v ? /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(v.trim()) : null;
  if (!m) return null;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) };
}

function statusError(status: number, req: FileDownloadRequest, from: string): DownloadError {
  const fromEndpoint = new URL(from).origin === new URL(req.endpoint).origin;
  if (status === 404) return new DownloadError('not-found', `${req.display} not found at ${req.endpoint}`);
  if ((status === 401 || status === 403) && !fromEndpoint) {
    // the CDN the hub redirected to (a signed URL that expired, say): a fresh resolve fixes it
    return new DownloadError('http', `${req.display}: the file server ${new URL(from).host} refused the download (HTTP ${status})`, true);
  }
  if (status === 401 || status === 403) {
    const hasToken = Boolean(req.http.token);
    return new DownloadError('auth', `${req.display}: access denied by ${req.endpoint} (HTTP ${status}): the repository is gated or private; ${hasToken ? 'check that HF_TOKEN is valid and has been granted access' : 'set HF_TOKEN to an access token that has been granted access'}`);
  }
  if (status === 429) return new DownloadError('http', `${req.display}: ${req.endpoint} is rate-limiting requests (HTTP 429)`, true);
  if (status >= 500) return new DownloadError('http', `${req.display}: the server failed (HTTP ${status})`, true);
  return new DownloadError('http', `${req.display}: unexpected HTTP ${status} from ${req.endpoint}`);
}

/**
 * Downloads one file into `<dest>.partial`, resuming with HTTP Range when a partial file of the
 * same version is there, verifies its sha256, then renames it to `dest`. Retries transient
 * failures with backoff. Nothing is ever written under `dest` until the bytes are verified; a
 * failure or a cancel leaves at most the `.partial` file (a checksum failure not even that).
 */
export async function downloadFile(req: FileDownloadRequest): Promise<FileDownloadResult> {
  const retry = req.retry ?? DEFAULT_RETRY;
  const free = req.freeSpace ?? statfsFreeSpace;
  const partial = partialPath(req.dest);
  const signal = req.http.signal;
  const interval = req.progressIntervalMs ?? 100;
  const endpointOrigin = new URL(req.endpoint).origin;
  const cancelled = (): DownloadError => new DownloadError('cancelled', `${req.display}: cancelled`);
  await fs.mkdir(path.dirname(req.dest), { recursive: true });
  const unlock = await lockDownload(req.dest, req.display);
  try {
    return await downloadLocked(req, retry, free, partial, signal, interval, endpointOrigin, cancelled);
  } finally {
    await unlock();
  }
}

/** One process per file: `<final>.partial.lock` holds the pid; a dead process's lock is taken over. */
async function lockDownload(dest: string, display: string): Promise<() => Promise<void>> {
  const lock = `${partialPath(dest)}.lock`;
  for (let i = 0; i < 3; i++) {
    try {
      await fs.writeFile(lock, String(process.pid), { flag: 'wx' });
      return () => fs.rm(lock, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(await fs.readFile(lock, 'utf8').catch(() => ''));
      let alive = false;
      if (pid === process.pid) alive = true; // another download of this file in this process
      else if (Number.isSafeInteger(pid) && pid > 0) {
        try {
          process.kill(pid, 0);
          alive = true;
        } catch (e) {
          alive = (e as NodeJS.ErrnoException).code === 'EPERM';
        }
      }
      if (alive) throw new DownloadError('busy', `${display} is being downloaded by another process (pid ${pid}); wait for it or stop it`);
      await fs.rm(lock, { force: true });
    }
  }
  throw new DownloadError('busy', `${display}: cannot take the download lock ${lock}`);
}

async function downloadLocked(
  req: FileDownloadRequest, retry: RetryPolicy, free: FreeSpaceFn, partial: string, signal: AbortSignal | undefined,
  interval: number, endpointOrigin: string, cancelled: () => DownloadError,
): Promise<FileDownloadResult> {
  let expected: string | null = isSha256(req.sha256) ? req.sha256 : null;
  // What the partial file on disk belongs to; a partial of another file or version is dropped.
  // The same sha256 is the same file even if the URL names another commit (the repo moved on).
  let meta = await readMeta(req.dest);
  const sameFile = (m: PartialMeta): boolean => (expected && m.sha256 ? m.sha256 === expected : m.url === req.url);
  if (meta && !sameFile(meta)) {
    await discardPartial(req.dest);
    meta = null;
  } else if (!meta && (await sizeOf(partial)) > 0) {
    await discardPartial(req.dest); // bytes of unknown origin
  }
  const writeMeta = async (m: PartialMeta): Promise<void> => {
    meta = m;
    await fs.writeFile(partialMetaPath(req.dest), JSON.stringify(m));
  };

  const rate = new RateMeter();
  let hash: Hash | null = null;
  let hashed = 0;
  let received = 0;
  let resumedFrom = -1;
  let failuresInARow = 0;
  let attempts = 0;
  let freshRestartDone = false;
  let lastEmit = 0;

  // Throttled progress with a trailing event, so the last state before a stall is always shown.
  let trailing: NodeJS.Timeout | null = null;
  let latest: { bytes: number; total: number | null } = { bytes: 0, total: null };
  const send = (): void => {
    if (trailing) clearTimeout(trailing);
    trailing = null;
    lastEmit = Date.now();
    const r = rate.rate();
    const { bytes, total } = latest;
    req.onProgress?.({
      file: req.display, bytes, total, rate: r, phase: 'download',
      etaSeconds: r && r > 0 && total !== null ? Math.max(0, (total - bytes) / r) : null,
    });
  };
  const emit = (bytes: number, total: number | null, force = false): void => {
    rate.add(Date.now(), bytes);
    latest = { bytes, total };
    if (!req.onProgress) return;
    const wait = interval - (Date.now() - lastEmit);
    if (force || wait <= 0) send();
    else trailing ??= setTimeout(send, wait);
  };
  const stopTrailing = (): void => {
    if (trailing) clearTimeout(trailing);
    trailing = null;
  };

  /** The bytes are all in `.partial`: verify, then land them; 'again' = one clean download first. */
  const land = async (actual: string, size: number): Promise<FileDownloadResult | 'again'> => {
    if (expected && actual !== expected) {
      await discardPartial(req.dest);
      meta = null;
      if (resumedFrom > 0 && !freshRestartDone) {
        // the earlier bytes may be what is wrong (a torn write before a crash): retry once from zero
        freshRestartDone = true;
        resumedFrom = 0;
        return 'again';
      }
      throw new DownloadError('checksum', `${req.display}: the downloaded file does not match its checksum (sha256 ${actual}, expected ${expected}); the file was discarded`);
    }
    await fs.rename(partial, req.dest);
    await fs.rm(partialMetaPath(req.dest), { force: true });
    return { path: req.dest, size, sha256: actual, verified: expected !== null, resumedFrom: Math.max(0, resumedFrom), received };
  };

  try {
    return await attempt();
  } finally {
    stopTrailing();
  }

  async function attempt(): Promise<FileDownloadResult> {
    for (;;) {
      if (signal?.aborted) throw cancelled();
      attempts++;
      let offset = await sizeOf(partial);
      if (resumedFrom < 0) resumedFrom = offset;
      let gotBytes = false;
      try {
        const res = await httpRequest(req.url, { headers: offset > 0 ? { range: `bytes=${offset}-` } : {}, what: req.display }, req.http);
        if (res.status === 404 || res.status === 401 || res.status === 403) {
          res.body.resume();
          if (res.status === 404) await discardPartial(req.dest);
          throw statusError(res.status, req, res.url);
        }
        const hubSum = hubSha256(res.hops, endpointOrigin);
        if (!expected && hubSum) expected = hubSum;
        if (offset > 0 && meta?.sha256 && expected && meta.sha256 !== expected) {
          // the file changed on the hub since the interrupted transfer: start over
          res.body.resume();
          await discardPartial(req.dest);
          meta = null;
          attempts--;
          continue;
        }

        let total: number | null;
        let flags: 'a' | 'w' = 'a';
        if (res.status === 206) {
          const raw = header(res.headers, 'content-range');
          const cr = parseContentRange(raw);
          if (!cr || cr.start !== offset) {
            res.body.resume();
            await discardPartial(req.dest); // an answer for other bytes: do not guess, start over
            meta = null;
            throw new DownloadError('protocol', `${req.display}: the server answered a resume with the wrong byte range (${raw ?? 'no Content-Range'})`, true);
          }
          total = cr.total;
        } else if (res.status === 200) {
          total = contentLength(res.headers);
          if (offset > 0) {
            // Range ignored: the body is the whole file, so the partial bytes are rewritten from zero.
            flags = 'w';
            offset = 0;
            resumedFrom = 0;
            hash = null;
            rate.reset();
          }
        } else if (res.status === 416 && offset > 0) {
          res.body.resume();
          const m = /\*\/(\d+)/.exec(header(res.headers, 'content-range') ?? '');
          if (m && Number(m[1]) === offset) {
            // the partial file already holds every byte: verify it
            const h = createHash('sha256');
            const size = await hashFileInto(h, partial, signal ? { signal } : {});
            const done = await land(h.digest('hex'), size);
            if (done === 'again') continue;
            return done;
          }
          await discardPartial(req.dest);
          meta = null;
          continue;
        } else {
          res.body.resume();
          throw statusError(res.status, req, res.url);
        }

        if (total !== null) await ensureFreeSpace(path.dirname(req.dest), total - offset, free, req.spaceMarginBytes ?? 0);
        await writeMeta({ url: req.url, sha256: expected, size: total });

        // The running hash covers exactly the bytes on disk; after a cut it is rebuilt from the file.
        if (!hash || hashed !== offset) {
          hash = createHash('sha256');
          hashed = offset > 0 ? await hashFileInto(hash, partial, { length: offset, ...(signal ? { signal } : {}) }) : 0;
        }
        const fh = await fs.open(partial, flags);
        let bytes = offset;
        // Chunks are gathered into ~1 MiB writes; the hash follows exactly what reached the file.
        const pending: Buffer[] = [];
        let pendingBytes = 0;
        const flush = async (): Promise<void> => {
          if (pendingBytes === 0) return;
          const buf = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
          pending.length = 0;
          pendingBytes = 0;
          await fh.write(buf);
          hash!.update(buf);
          hashed += buf.length;
          bytes += buf.length;
        };
        try {
          emit(bytes, total, true);
          try {
            for await (const chunk of idleTimed(res.body, res.url, req.http.timeoutMs, req.display)) {
              pending.push(chunk);
              pendingBytes += chunk.length;
              received += chunk.length;
              gotBytes = true;
              if (pendingBytes >= WRITE_BATCH) await flush();
              emit(bytes + pendingBytes, total);
            }
          } finally {
            await flush(); // keep every byte that arrived, even when the transfer was cut
          }
          await fh.sync();
        } finally {
          await fh.close();
        }
        if (total !== null && bytes !== total) {
          throw new DownloadError('network', `${req.display}: the transfer ended at ${bytes} of ${total} bytes`, true);
        }
        emit(bytes, total ?? bytes, true);
        const actual = hash.digest('hex');
        hash = null;
        const done = await land(actual, bytes);
        if (done === 'again') continue;
        return done;
      } catch (err) {
        if (signal?.aborted || isAbortError(err) || (err instanceof DownloadError && err.kind === 'cancelled')) throw cancelled();
        const e = err instanceof DownloadError ? err
          : (err as NodeJS.ErrnoException).code === 'ENOSPC' ? new DownloadError('disk-space', `${req.display}: the disk is full (${path.dirname(req.dest)})`)
            : err;
        if (!(e instanceof DownloadError) || !e.transient) throw e;
        hash = null; // rebuilt from what actually reached the disk
        failuresInARow = gotBytes ? 1 : failuresInARow + 1;
        if (failuresInARow > retry.maxRetries || attempts >= retry.maxAttempts) {
          const kept = (await sizeOf(partial)) > 0 ? ' (the partial download is kept: run the download again to resume)' : '';
          throw new DownloadError(e.kind, `${e.message}; gave up after ${attempts} attempt${attempts === 1 ? '' : 's'}${kept}`);
        }
        const delayMs = Math.round(Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (failuresInARow - 1)) * (0.75 + Math.random() * 0.5));
        req.onRetry?.({ file: req.display, attempt: attempts, delayMs, reason: e.message });
        await sleep(delayMs, signal).catch(() => {
          throw cancelled();
        });
      }
    }
  }
}
