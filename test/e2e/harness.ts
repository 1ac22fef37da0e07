/**
 * What the browser tests share: `clipscope serve` from the built bin on temp data and cache
 * dirs, Debian's chromium through playwright-core, a record of everything that must not happen
 * (page errors, console errors, failed or refused requests), the CLI for comparisons, and
 * screenshots under test/e2e/.artifacts/.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';

export const CHROMIUM = '/usr/bin/chromium';
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin/clipscope.js');
export const ARTIFACTS = path.join(ROOT, 'test/e2e/.artifacts');
export const DEMO_PHOTOS = path.join(ROOT, 'resources/demo/photos');
export const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`Skipping the browser tests: ${CHROMIUM} is missing (apt-get install chromium).`);

const run = promisify(execFile);

// The few page globals the browser-side callbacks use (the tests compile without the DOM lib).
declare const document: { querySelectorAll(selector: string): Iterable<{ complete: boolean; naturalWidth: number }> };

export interface Session {
  tmp: string;
  url: string;
  origin: string;
  page: Page;
  /** Page errors, console errors, failed requests and 4xx/5xx answers seen so far. */
  problems: string[];
  /** While set, 4xx answers to matching URLs (and their console lines) are expected user errors. */
  expectUserError(pattern: RegExp | null): void;
  /** The CLI's `--json` answer (its last stdout line), on this session's data dirs. */
  cli(...args: string[]): Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** An engine call from the page (its cookie carries the token). */
  api(method: string, input?: unknown): Promise<unknown>;
  shot(name: string): Promise<void>;
  /** axe-core's serious and critical violations on the page as it is now ("rule: target"). */
  a11y(): Promise<string[]>;
  /** Waits until every image the selector matches has loaded with pixels. */
  allDecoded(selector: string): Promise<void>;
  close(): Promise<void>;
}

/** `env`: more environment for `clipscope serve` and the CLI (e.g. HF_ENDPOINT of a local hub). */
export async function startSession(opts: { env?: Record<string, string> } = {}): Promise<Session> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const tmp = mkdtempSync(path.join(tmpdir(), 'clipscope-e2e-'));
  const env = { ...process.env, CLIPSCOPE_DATA_DIR: path.join(tmp, 'data'), CLIPSCOPE_CACHE_DIR: path.join(tmp, 'cache'), ...opts.env };
  const server: ChildProcess = spawn(process.execPath, [BIN, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  server.stderr!.resume();
  const first = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: server.stdout! });
    lines.once('line', resolve);
    server.once('exit', (code) => reject(new Error(`clipscope serve exited (${code}) before listening`)));
  });
  const m = /^Listening on (http:\/\/127\.0\.0\.1:\d+\/\?token=\S{16,})$/.exec(first);
  if (!m) throw new Error(`unexpected first line from clipscope serve: ${first}`);
  const url = m[1]!;
  server.stdout!.resume();

  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close();
    if (server.exitCode === null) {
      server.kill('SIGINT');
      await new Promise((r) => {
        server.once('exit', r);
        setTimeout(r, 5000);
      });
    }
    rmSync(tmp, { recursive: true, force: true });
  };
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const context = await browser.newContext({ viewport: { width: 1360, height: 860 } });
    const page = await context.newPage();
    const problems: string[] = [];
    let expected: RegExp | null = null;
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      if (expected && /status of 4\d\d/.test(msg.text())) return;
      problems.push(`console error: ${msg.text()}`);
    });
    page.on('requestfailed', (req) => {
      const failure = req.failure()?.errorText ?? '';
      // ERR_ABORTED is the page cancelling a request itself: the event stream and calls in flight
      // when it reloads, an image whose tile left the page. A server that fails answers with an
      // HTTP error (counted below) or drops the connection (ERR_CONNECTION_*, counted here).
      if (failure.includes('ERR_ABORTED')) return;
      problems.push(`request failed: ${req.method()} ${req.url()} ${failure}`);
    });
    page.on('response', (res) => {
      if (res.status() < 400) return;
      if (expected?.test(res.url()) && res.status() < 500) return;
      problems.push(`HTTP ${res.status()}: ${res.request().method()} ${res.url()}`);
    });
    return {
      tmp,
      url,
      origin: new URL(url).origin,
      page,
      problems,
      expectUserError: (p) => (expected = p),
      cli: async (...args) => JSON.parse((await run(process.execPath, [BIN, ...args], { env, maxBuffer: 64 << 20 })).stdout.trim().split('\n').pop()!),
      api: (method, input) =>
        page.evaluate(
          async ([m, body]) =>
            ((await (await fetch(`/api/${m}`, { method: 'POST', ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) })).json()) as { value: unknown }).value,
          [method, input] as const,
        ),
      shot: async (name) => {
        await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
      },
      a11y: async () => {
        const result = await new AxeBuilder({ page }).analyze();
        return result.violations
          .filter((v) => v.impact === 'serious' || v.impact === 'critical')
          .flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}): ${n.target.join(' ')} — ${n.failureSummary ?? v.help}`));
      },
      allDecoded: async (selector) => {
        await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].every((i) => i.complete && i.naturalWidth > 0), selector);
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * A session on the indexed demo library, the page on the library view: what the explorer and
 * steering tests start from. Returns the library file.
 */
export async function startDemoSession(): Promise<{ s: Session; db: string }> {
  const s = await startSession();
  await s.page.goto(s.url);
  // A function, not a string: the page's CSP forbids evaluating strings.
  await s.page.waitForFunction(() => (globalThis as unknown as { location: { hash: string } }).location.hash === '#/setup');
  await s.api('demo.setup');
  await s.page.goto(`${s.origin}/#/library`);
  await s.page.locator('[data-testid="index-pill"][data-state="done"]').waitFor({ timeout: 90_000 });
  const state = (await s.api('app.state')) as { library: { file: string } };
  return { s, db: state.library.file };
}
