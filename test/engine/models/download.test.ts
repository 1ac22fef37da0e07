import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { downloadFile, partialPath, type FileDownloadRequest, type FileProgress } from '../../../main/engine/models/download.js';
import { DownloadError } from '../../../main/engine/models/errors.js';
import { resolveUrl } from '../../../main/engine/models/hub.js';
import { HubServer, sha256 } from '../../helpers/hub-server.js';
import { useLocalHub } from '../../helpers/use-local-hub.js';

const REPO = 'lewington/CLIP-ViT-L-scope';
const FILE = '22_resid/1200013184.pt';
const KEY = `${REPO}/${FILE}`;
const DATA = randomBytes(300_000);
const SMALL = Buffer.from('{"a": 1}\n');

let hub: HubServer;
let cdn: HubServer;
let tmp: string;
let dest: string;

const fastRetry = { maxRetries: 3, maxAttempts: 20, baseDelayMs: 1, maxDelayMs: 5 };

function request(over: Partial<FileDownloadRequest> = {}, file = FILE, server: HubServer = hub): FileDownloadRequest {
  return {
    url: resolveUrl(server.url, REPO, 'main', file), dest, display: `${REPO}/${file}`, endpoint: server.url,
    http: { timeoutMs: 2000, tokenOrigin: server.url }, retry: fastRetry, freeSpace: async () => 1e12, ...over,
  };
}

/** Nothing under the final name unless it is the verified file; no partial left after a failure. */
async function expectNothingInPlace(): Promise<void> {
  await expect(fs.stat(dest)).rejects.toMatchObject({ code: 'ENOENT' });
}

async function expectVerified(): Promise<void> {
  expect(sha256(await fs.readFile(dest))).toBe(sha256(DATA));
  await expect(fs.stat(partialPath(dest))).rejects.toMatchObject({ code: 'ENOENT' });
}

const local = useLocalHub(
  () => [{ repo: REPO, path: FILE, data: DATA }, { repo: REPO, path: 'config.json', data: SMALL }],
  () => [{ repo: REPO, path: FILE, data: DATA }],
);
beforeEach(async () => {
  ({ hub, cdn } = local);
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'clipscope-dl-'));
  dest = path.join(tmp, 'models', REPO, FILE);
});
afterEach(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('downloadFile', () => {
  it('downloads, verifies against the hub sha256 (ETag) and lands the file atomically', async () => {
    const progress: FileProgress[] = [];
    const r = await downloadFile(request({ onProgress: (p) => progress.push(p), progressIntervalMs: 0 }));
    expect(r).toMatchObject({ size: DATA.length, sha256: sha256(DATA), verified: true, resumedFrom: 0, received: DATA.length });
    await expectVerified();
    expect(progress.at(-1)).toMatchObject({ bytes: DATA.length, total: DATA.length });
    expect(progress.every((p, i) => i === 0 || p.bytes >= progress[i - 1]!.bytes)).toBe(true);
  });

  it('downloads a non-LFS file (git ETag, no sha256 to compare) and says it was not verified', async () => {
    dest = path.join(tmp, 'config.json');
    const r = await downloadFile(request({}, 'config.json'));
    expect(r.verified).toBe(false);
    expect(await fs.readFile(dest, 'utf8')).toBe(SMALL.toString());
  });

  it('resumes a cut connection with Range from the bytes it kept', async () => {
    hub.fault({ file: KEY, method: 'GET' }, { type: 'cut', afterBytes: 120_000 });
    const retries: string[] = [];
    const r = await downloadFile(request({ onRetry: (e) => retries.push(e.reason) }));
    await expectVerified();
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatch(/connection|closed|lost/);
    const gets = hub.requestsFor(KEY, 'GET');
    expect(gets).toHaveLength(2);
    // the bytes still buffered in the client when the cut came are lost; the rest is kept
    const kept = Number(/^bytes=(\d+)-$/.exec(gets[1]!.range ?? '')?.[1]);
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(120_000);
    expect(gets[1]!.status).toBe(206);
    expect(gets[1]!.bytesSent).toBe(DATA.length - kept);
    expect(r.received).toBe(DATA.length);
  });

  it('resumes a transfer interrupted in an earlier run (a .partial of the same version on disk)', async () => {
    hub.fault({ file: KEY, method: 'GET', times: 5 }, { type: 'cut', afterBytes: 100_000 });
    await expect(downloadFile(request({ retry: { ...fastRetry, maxRetries: 0, maxAttempts: 1 } }))).rejects.toThrow(/gave up after 1 attempt.*partial download is kept/);
    await expectNothingInPlace();
    const kept = (await fs.stat(partialPath(dest))).size;
    expect(kept).toBeGreaterThan(0);
    hub.clearFaults();
    hub.requests.length = 0;
    const r = await downloadFile(request());
    await expectVerified();
    expect(r.resumedFrom).toBe(kept);
    expect(r.received).toBe(DATA.length - kept);
    expect(hub.requestsFor(KEY, 'GET').map((g) => g.range)).toEqual([`bytes=${kept}-`]);
    expect(hub.bytesServed(KEY)).toBe(DATA.length - kept);
  });

  it('restarts from zero when the server ignores Range (200 instead of 206)', async () => {
    await fs.mkdir(path.dirname(dest), { recursive: true });
    await fs.writeFile(partialPath(dest), DATA.subarray(0, 50_000));
    await fs.writeFile(`${dest}.partial.json`, JSON.stringify({ url: request().url, sha256: sha256(DATA), size: DATA.length }));
    hub.fault({ file: KEY, method: 'GET' }, { type: 'ignore-range' });
    const r = await downloadFile(request());
    await expectVerified();
    expect(hub.requestsFor(KEY, 'GET')).toMatchObject([{ range: 'bytes=50000-', status: 200, bytesSent: DATA.length }]);
    expect(r.resumedFrom).toBe(0);
  });

  it('rejects a wrong checksum, discards the file and leaves nothing in place', async () => {
    hub.fault({ file: KEY, method: 'GET' }, { type: 'wrong-sha' });
    const err = await downloadFile(request()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as DownloadError).kind).toBe('checksum');
    expect((err as Error).message).toMatch(new RegExp(`${REPO}/${FILE}: the downloaded file does not match its checksum .* the file was discarded`));
    await expectNothingInPlace();
    await expect(fs.stat(partialPath(dest))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('rejects corrupted bytes against a pinned sha256', async () => {
    hub.fault({ file: KEY, method: 'GET' }, { type: 'corrupt', at: 1234 });
    await expect(downloadFile(request({ sha256: sha256(DATA) }))).rejects.toMatchObject({ kind: 'checksum' });
    await expectNothingInPlace();
  });

  it('after a resumed transfer fails its checksum, downloads once more from zero before giving up', async () => {
    // kept bytes of an earlier run, damaged (a torn write): the resumed file cannot verify
    const damaged = Buffer.from(DATA.subarray(0, 100_000));
    damaged.fill(0, 10, 14);
    await fs.mkdir(path.dirname(dest), { recursive: true });
    await fs.writeFile(partialPath(dest), damaged);
    await fs.writeFile(`${dest}.partial.json`, JSON.stringify({ url: request().url, sha256: sha256(DATA), size: DATA.length }));
    const r = await downloadFile(request());
    await expectVerified();
    const gets = hub.requestsFor(KEY, 'GET');
    expect(gets.map((g) => g.range)).toEqual(['bytes=100000-', null]);
    expect(gets.map((g) => g.bytesSent)).toEqual([DATA.length - 100_000, DATA.length]);
    expect(r.resumedFrom).toBe(0);
  });

  it('drops a partial file that belongs to another version of the file', async () => {
    await fs.mkdir(path.dirname(dest), { recursive: true });
    await fs.writeFile(partialPath(dest), randomBytes(1000));
    await fs.writeFile(`${dest}.partial.json`, JSON.stringify({ url: request().url, sha256: 'a'.repeat(64), size: 5000 }));
    const r = await downloadFile(request({ sha256: sha256(DATA) }));
    expect(r.resumedFrom).toBe(0);
    await expectVerified();
    expect(hub.requestsFor(KEY, 'GET')[0]!.range).toBeNull();
  });

  it('resumes a partial of the same sha256 even when the URL names another commit', async () => {
    await fs.mkdir(path.dirname(dest), { recursive: true });
    await fs.writeFile(partialPath(dest), DATA.subarray(0, 40_000));
    await fs.writeFile(`${dest}.partial.json`, JSON.stringify({ url: request().url.replace('/main/', '/0123abcd/'), sha256: sha256(DATA), size: DATA.length }));
    const r = await downloadFile(request({ sha256: sha256(DATA) }));
    expect(r.resumedFrom).toBe(40_000);
    await expectVerified();
  });

  it('verifies a partial file that is already complete (416) without downloading again', async () => {
    hub.fault({ file: KEY, method: 'GET' }, { type: 'cut', afterBytes: DATA.length });
    // the server "cut" after the last byte: complete partial, but the client saw no clean end
    await fs.mkdir(path.dirname(dest), { recursive: true });
    await fs.writeFile(partialPath(dest), DATA);
    await fs.writeFile(`${dest}.partial.json`, JSON.stringify({ url: request().url, sha256: sha256(DATA), size: DATA.length }));
    hub.clearFaults();
    const r = await downloadFile(request());
    await expectVerified();
    expect(hub.requestsFor(KEY, 'GET')).toMatchObject([{ range: `bytes=${DATA.length}-`, status: 416 }]);
    expect(r.received).toBe(0);
  });

  it('times out a stalled transfer, then resumes', async () => {
    hub.fault({ file: KEY, method: 'GET' }, { type: 'stall', afterBytes: 80_000, ms: 1500 });
    const retries: string[] = [];
    await downloadFile(request({ http: { timeoutMs: 300, tokenOrigin: hub.url }, onRetry: (e) => retries.push(e.reason) }));
    await expectVerified();
    expect(retries[0]).toMatch(/timed out \(no data from 127\.0\.0\.1:\d+ for 0\.3 s\)/);
    expect(hub.requestsFor(KEY, 'GET')[1]!.range).toBe('bytes=80000-');
  });

  it('gives up on a server that never answers, with a timeout message, and nothing in place', async () => {
    hub.fault({ file: KEY, method: 'GET', times: Infinity }, { type: 'delay', ms: 1000 });
    const err = await downloadFile(request({ http: { timeoutMs: 150, tokenOrigin: hub.url }, retry: { ...fastRetry, maxRetries: 2 } })).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'timeout' });
    expect((err as Error).message).toMatch(/timed out .*gave up after 3 attempts/);
    await expectNothingInPlace();
  });

  it('retries 5xx with backoff and succeeds', async () => {
    hub.fault({ file: KEY, method: 'GET', times: 2 }, { type: 'status', status: 503 });
    const retries: number[] = [];
    await downloadFile(request({ onRetry: (e) => retries.push(e.attempt) }));
    await expectVerified();
    expect(retries).toEqual([1, 2]);
  });

  it('gives up after a bounded number of 5xx', async () => {
    hub.fault({ file: KEY, method: 'GET', times: Infinity }, { type: 'status', status: 500 });
    await expect(downloadFile(request())).rejects.toThrow(/the server failed \(HTTP 500\); gave up after 4 attempts/);
    expect(hub.requestsFor(KEY, 'GET')).toHaveLength(4);
    await expectNothingInPlace();
  });

  it.each([
    [404, 'not-found', /lewington\/CLIP-ViT-L-scope\/22_resid\/1200013184\.pt not found at http:\/\/127\.0\.0\.1:\d+$/],
    [401, 'auth', /access denied .*HTTP 401.*gated or private; set HF_TOKEN/],
    [403, 'auth', /access denied .*HTTP 403.*set HF_TOKEN/],
  ] as const)('HTTP %i: a clear error (%s), no retry, nothing in place', async (status, kind, message) => {
    hub.fault({ file: KEY, method: 'GET', times: Infinity }, { type: 'status', status });
    const err = await downloadFile(request()).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind });
    expect((err as Error).message).toMatch(message);
    expect(hub.requestsFor(KEY, 'GET')).toHaveLength(1);
    await expectNothingInPlace();
  });

  it('no network: a refused connection is one clear sentence, not retried', async () => {
    const dead = await HubServer.start();
    const url = dead.url;
    await dead.close();
    const err = await downloadFile({ ...request(), url: `${url}/${REPO}/resolve/main/${FILE}`, endpoint: url }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'network' });
    expect((err as Error).message).toMatch(/refused the connection \(no network, or a wrong --endpoint\?\)/);
    await expectNothingInPlace();
  });

  it('follows the redirect to the CDN (another origin) without forwarding the token', async () => {
    hub.cdn = cdn;
    hub.requireToken = 'hf_secret';
    await downloadFile(request({ http: { timeoutMs: 2000, token: 'hf_secret', tokenOrigin: hub.url } }));
    await expectVerified();
    expect(hub.requestsFor(KEY, 'GET')).toMatchObject([{ status: 302, authorization: 'Bearer hf_secret' }]);
    const cdnGets = cdn.requestsFor(KEY, 'GET');
    expect(cdnGets).toMatchObject([{ status: 200, authorization: null }]);
  });

  it('takes the sha256 from X-Linked-Etag on the redirect, and resumes against the CDN', async () => {
    hub.cdn = cdn;
    cdn.fault({ file: KEY, method: 'GET' }, { type: 'cut', afterBytes: 70_000 });
    const r = await downloadFile(request());
    await expectVerified();
    expect(r.verified).toBe(true);
    const gets = cdn.requestsFor(KEY, 'GET');
    expect(gets.map((g) => g.range)).toEqual([null, expect.stringMatching(/^bytes=[1-9]\d*-$/)]);
    expect(gets[1]).toMatchObject({ status: 206, bytesSent: DATA.length - Number(/\d+/.exec(gets[1]!.range!)![0]) });
  });

  it('a 403 from the CDN (an expired signed URL) is retried through the hub, not blamed on HF_TOKEN', async () => {
    hub.cdn = cdn;
    cdn.fault({ file: KEY, method: 'GET' }, { type: 'status', status: 403 });
    const retries: string[] = [];
    await downloadFile(request({ onRetry: (e) => retries.push(e.reason) }));
    await expectVerified();
    expect(retries).toEqual([expect.stringMatching(/the file server 127\.0\.0\.1:\d+ refused the download \(HTTP 403\)/)]);
    expect(hub.requestsFor(KEY, 'GET')).toHaveLength(2);
  });

  it('rejects a wrong X-Linked-Etag from the hub although the CDN bytes are fine', async () => {
    hub.cdn = cdn;
    hub.fault({ file: KEY, method: 'GET' }, { type: 'wrong-sha' });
    await expect(downloadFile(request())).rejects.toMatchObject({ kind: 'checksum' });
    await expectNothingInPlace();
  });

  it('refuses to start when the disk is too small (injected statfs), writing nothing', async () => {
    const err = await downloadFile(request({ freeSpace: async () => 10_000 })).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'disk-space' });
    expect((err as Error).message).toMatch(/not enough free space in .*300,000 bytes.*10,000 bytes is free/);
    await expectNothingInPlace();
    await expect(fs.stat(partialPath(dest))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('cancel (AbortSignal) stops the transfer: no final file, the partial kept for a resume', async () => {
    hub.fault({ file: KEY, method: 'GET' }, { type: 'stall', afterBytes: 60_000, ms: 3000 });
    const ac = new AbortController();
    const p = downloadFile(request({
      http: { timeoutMs: 10_000, tokenOrigin: hub.url, signal: ac.signal },
      onProgress: (e) => { if (e.bytes >= 60_000) ac.abort(); },
      progressIntervalMs: 0,
    }));
    await expect(p).rejects.toMatchObject({ kind: 'cancelled' });
    await expectNothingInPlace();
    expect((await fs.stat(partialPath(dest))).size).toBe(60_000);
    const r = await downloadFile(request());
    expect(r.resumedFrom).toBe(60_000);
    await expectVerified();
  });

  it('one download per file: a live lock holder is refused, a dead one is taken over', async () => {
    await fs.mkdir(path.dirname(dest), { recursive: true });
    const lock = `${partialPath(dest)}.lock`;
    await fs.writeFile(lock, String(process.pid));
    await expect(downloadFile(request())).rejects.toMatchObject({ kind: 'busy', message: expect.stringMatching(/is being downloaded by another process/) });
    expect(hub.requestsFor(KEY)).toEqual([]);
    await fs.writeFile(lock, '2147483646'); // no such process
    await downloadFile(request());
    await expectVerified();
    await expect(fs.stat(lock)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('two downloads of one file at once in one process: the second is refused, the first lands', async () => {
    const [a, b] = await Promise.allSettled([downloadFile(request()), downloadFile(request())]);
    expect([a.status, b.status].sort()).toEqual(['fulfilled', 'rejected']);
    await expectVerified();
  });

  it('cancel before the start: nothing written', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(downloadFile(request({ http: { timeoutMs: 1000, signal: ac.signal } }))).rejects.toMatchObject({ kind: 'cancelled' });
    await expectNothingInPlace();
  });
});
