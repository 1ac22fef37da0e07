/**
 * `clipscope serve --db FILE` from the built bin, and Debian's chromium on it through
 * playwright-core, for bench:ui (the same way test/e2e/harness.ts starts them).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PAGE_PROBE } from './page-probe.js';
import { ROOT } from './full-size.js';

export const CHROMIUM = '/usr/bin/chromium';
export const BIN = path.join(ROOT, 'bin/clipscope.js');

export interface Served {
  url: string;
  origin: string;
  browser: Browser;
  /** A fresh page (new context: no HTTP cache) with the probe installed, on the token's URL. */
  page(hash?: string): Promise<Page>;
  close(): Promise<void>;
}

/** The built bin and bundles must exist: the bench measures what users run. */
export function checkBuilt(): string | null {
  for (const f of ['bin/clipscope.js', 'dist/main/cli/index.js', 'out/renderer/index.html']) {
    if (!existsSync(path.join(ROOT, f))) return `${f} is missing: run npm run build:engine && npm run build:app first`;
  }
  return null;
}

/**
 * `script`: a renderer bundle's script to serve in place of the built one (a before / after pair
 * from one build of the engine: bench/ui.ts --renderer).
 */
export async function serve(db: string, env: Record<string, string>, opts: { script?: string } = {}): Promise<Served> {
  const server: ChildProcess = spawn(process.execPath, [BIN, 'serve', '--db', db], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  server.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: server.stdout! }).once('line', resolve);
    server.once('exit', (code) => reject(new Error(`clipscope serve exited (${code}) before listening: ${stderr}`)));
  });
  const m = /^Listening on (http:\/\/127\.0\.0\.1:\d+\/\?token=\S{16,})$/.exec(first);
  if (!m) throw new Error(`unexpected first line from clipscope serve: ${first}`);
  server.stdout!.resume();
  const url = m[1]!;
  const origin = new URL(url).origin;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    url,
    origin,
    browser,
    async page(hash = '') {
      const context = await browser.newContext({ viewport: { width: 1360, height: 860 } });
      await context.addInitScript({ content: PAGE_PROBE });
      if (opts.script !== undefined) {
        const body = opts.script;
        await context.route('**/assets/*.js', (route) => route.fulfill({ status: 200, contentType: 'text/javascript', body }));
      }
      const page = await context.newPage();
      page.on('pageerror', (e) => process.stderr.write(`  page error: ${e.message}\n`));
      await page.goto(`${url}${hash}`);
      return page;
    },
    async close() {
      await browser.close();
      if (server.exitCode === null) {
        server.kill('SIGINT');
        await new Promise((r) => {
          server.once('exit', r);
          setTimeout(r, 10_000);
        });
      }
    },
  };
}
