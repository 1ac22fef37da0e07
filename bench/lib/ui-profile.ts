/**
 * Where the page's main thread spends its long tasks: bench:ui's scenarios (on its small
 * library) run once each under the CDP CPU profiler, and each long task (a busy span of 50 ms
 * or more) is listed with the functions that took its time (bench/lib/cpu-profile.ts).
 *
 *   npx tsx bench/lib/ui-profile.ts [--images 2000] [--only NAME,...] [--minified] [--no-index]
 *
 * By default the page runs an unminified build of the renderer (built into
 * bench/.work/ui-profile-renderer, served in place of the shipped bundle's script) so that the
 * profile names the app's functions; --minified profiles the shipped bundle as is. Writes the
 * spans to bench/.work/ui-profile.json and prints the longest of each scenario.
 */
import { copyFileSync, linkSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import react from '@vitejs/plugin-react';
import type { Page } from 'playwright-core';
import { build } from 'vite';
import { longSpans, sourceMapResolver, startProfile, stopProfile, type Resolver, type Span } from './cpu-profile.js';
import { longTasks, startTrace, type TracedTask } from './trace-tasks.js';
import { ROOT, WORK } from './full-size.js';
import { checkBuilt, serve, type Served } from './serve.js';
import { ensureUiLibrary } from './ui-library.js';

const { values: opt } = parseArgs({
  options: {
    images: { type: 'string', default: '2000' },
    only: { type: 'string' },
    minified: { type: 'boolean', default: false },
    'no-index': { type: 'boolean', default: false },
  },
});
const N = Number(opt.images);
const ONLY = opt.only ? new Set(opt.only.split(',')) : null;
const LAYER = 22;
const BUNDLE_DIR = path.join(WORK, 'ui-profile-renderer');
const OUT = path.join(WORK, 'ui-profile.json');
const TEST_MODEL = path.join(ROOT, 'test/fixtures/models/clip-tiny-gelu');
const TEST_SAE = path.join(ROOT, 'test/fixtures/saes/clipscope-gelu/2_resid/1000.pt');
const log = (msg: string) => process.stderr.write(`${msg}\n`);

interface Probe {
  measure(a: { action: { kind: 'none' } | { kind: 'hash'; hash: string } | { kind: 'click'; selector: string }; data: string; image?: string; timeoutMs: number }): Promise<{ data: number | null; image: number | null; longest: { task: number; loaf: number } }>;
  scrollToEnd(a: {
    item: string; more?: string; scroller?: string; scrollParentOf?: string; rank?: string; setSize?: string; maxItems?: number; settleFrames?: number; timeoutMs: number;
  }): Promise<{ items: number; longest: { task: number; loaf: number } }>;
  since(t0: number): { task: number; loaf: number };
  now(): number;
}
declare const window: { __bench: Probe };

/** The renderer without minification (same production React), for readable profiles. */
async function buildUnminified(): Promise<string> {
  await build({
    root: path.join(ROOT, 'renderer'),
    configFile: false,
    logLevel: 'warn',
    plugins: [react()],
    // One script (the app loads its views as chunks): one source map names every function.
    build: { outDir: BUNDLE_DIR, emptyOutDir: true, minify: false, sourcemap: true, rolldownOptions: { output: { codeSplitting: false } } },
  });
  const js = readdirSync(path.join(BUNDLE_DIR, 'assets')).filter((f) => f.endsWith('.js'));
  if (js.length !== 1) throw new Error(`expected one script in the unminified build, found ${js.join(', ')}`);
  resolver = sourceMapResolver(JSON.parse(readFileSync(path.join(BUNDLE_DIR, 'assets', `${js[0]!}.map`), 'utf8')) as { sources: string[]; mappings: string });
  // Without its sourceMappingURL comment: the page never asks for the map.
  return readFileSync(path.join(BUNDLE_DIR, 'assets', js[0]!), 'utf8').replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n');
}

let resolver: Resolver | undefined;

let script: string | null = null;

async function openPage(s: Served, hash: string): Promise<Page> {
  const page = await s.page(hash);
  if (script !== null) {
    const body = script;
    await page.route('**/assets/*.js', (route) => route.fulfill({ status: 200, contentType: 'text/javascript', body }));
    await page.reload();
  }
  return page;
}

const results: Record<string, { probeTask: number; spans: Span[]; tasks: TracedTask[] }> = {};

async function profiled(page: Page, name: string, run: () => Promise<{ longest: { task: number } }>): Promise<void> {
  if (ONLY && !ONLY.has(name)) return;
  const cdp = await page.context().newCDPSession(page);
  const stopTrace = await startTrace(cdp);
  await startProfile(cdp);
  const r = await run();
  const spans = longSpans(await stopProfile(cdp), 50, 14, resolver);
  const tasks = longTasks(await stopTrace());
  await cdp.detach();
  results[name] = { probeTask: r.longest.task, spans, tasks };
  log(`\n== ${name}: longest task (PerformanceObserver) ${r.longest.task.toFixed(0)} ms; traced tasks >= 50 ms: ${tasks.map((x) => x.ms).join(', ') || 'none'}`);
  for (const t of tasks.slice(0, 3)) log(`   task of ${t.ms} ms at ${t.start} ms: ${t.parts.map(([k, ms]) => `${k} ${ms}`).join(' | ')}`);
  log(`   profiled busy spans >= 50 ms: ${spans.map((x) => x.ms).join(', ') || 'none'}`);
  for (const sp of spans.slice(0, 3)) {
    log(`   span of ${sp.ms} ms at ${sp.start} ms`);
    log(`     self:    ${sp.self.slice(0, 8).map(([f, ms]) => `${f} ${ms}`).join(' | ')}`);
    log(`     modules: ${sp.modules.slice(0, 8).map(([f, ms]) => `${f} ${ms}`).join(' | ')}`);
    log(`     app:     ${sp.app.slice(0, 10).map(([f, ms]) => `${f} ${ms}`).join(' | ')}`);
  }
}

async function api<T>(page: Page, method: string, input: unknown): Promise<T> {
  return page.evaluate(async ([m, body]) => {
    const r = await fetch(`/api/${m}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const j = (await r.json()) as { value?: unknown };
    return j.value;
  }, [method, input] as const) as Promise<T>;
}

const GRID = '[data-testid="photo-grid"] [data-image-id]';

async function main(): Promise<void> {
  const missing = checkBuilt();
  if (missing) throw new Error(missing);
  if (!opt.minified) {
    log('building the unminified renderer...');
    script = await buildUnminified();
  }
  const db = await ensureUiLibrary(N, log);
  const data = mkdtempSync(path.join(tmpdir(), 'clipscope-ui-profile-'));
  const env = { CLIPSCOPE_DATA_DIR: data, CLIPSCOPE_CACHE_DIR: path.join(WORK, 'ui-cache') };
  try {
    const s = await serve(db, env);
    try {
      let page = await openPage(s, '#/library');
      await page.evaluate((sel) => window.__bench.measure({ action: { kind: 'none' }, data: sel, timeoutMs: 60_000 }), GRID);
      const top = await api<{ items: { feature: number }[] }>(page, 'features.search', { layer: LAYER, sort: 'frequency', limit: 3 });
      const f = top.items[0]!.feature;
      const im = await api<{ pooled: { feature: number }[] }>(page, 'image.get', { imageId: 1, layer: LAYER });
      const q = [im.pooled[3]!.feature, im.pooled[Math.floor(im.pooled.length / 3)]!.feature, im.pooled[Math.floor(im.pooled.length / 2)]!.feature];
      await page.context().close();

      page = await s.page('#/library');
      if (script !== null) await page.route('**/assets/*.js', (route) => route.fulfill({ status: 200, contentType: 'text/javascript', body: script! }));
      const load = async () => {
        await page.reload();
        return page.evaluate((sel) => window.__bench.measure({ action: { kind: 'none' }, data: sel, image: '[data-testid="photo-grid"] img', timeoutMs: 60_000 }), GRID);
      };
      if (ONLY && !ONLY.has('library')) await load();
      else await profiled(page, 'library', load);
      const nav = (hash: string, dataSel: string, image?: string) => () =>
        page.evaluate((a) => window.__bench.measure({ action: { kind: 'hash', hash: a.hash }, data: a.dataSel, ...(a.image ? { image: a.image } : {}), timeoutMs: 60_000 }), { hash, dataSel, image });
      const G = '[data-testid="gallery-total"]';
      const GI = '[data-testid="gallery"] img:not(.heat-overlay)';
      await profiled(page, 'gallery-cls', nav(`#/feature/${f}?token=cls&layer=${LAYER}`, G, GI));
      await profiled(page, 'gallery-any', nav(`#/feature/${f}?token=any&layer=${LAYER}`, G, GI));
      await profiled(page, 'gallery-patch', nav(`#/feature/${f}?token=137&layer=${LAYER}`, G, GI));
      await page.evaluate((h) => window.__bench.measure({ action: { kind: 'hash', hash: h }, data: '[data-testid="gallery"] li a', timeoutMs: 60_000 }), `#/feature/${f}?token=any&layer=${LAYER}`);
      await profiled(page, 'inspector', () => page.evaluate(() => window.__bench.measure({
        action: { kind: 'click', selector: '[data-testid="gallery"] li a' }, data: '[data-testid="token-features"]', image: '.model-crop img', timeoutMs: 60_000,
      })));
      await profiled(page, 'features', nav('#/features', '[data-testid="feature-row"]', '[data-testid="thumbstrip"] img'));
      await profiled(page, 'query', nav(`#/query?all=${q.join(',')}&layer=${LAYER}`, '[data-testid="query-results"] [data-image-id]', '[data-testid="query-results"] img'));
      await profiled(page, 'scroll-gallery', async () => {
        await page.evaluate((h) => window.__bench.measure({ action: { kind: 'hash', hash: h }, data: '[data-testid="gallery"] li', timeoutMs: 60_000 }), `#/feature/${f}?token=any&layer=${LAYER}`);
        // The Top tab: a grid virtualised in the view's scroll area, loading pages near its end (as bench/ui.ts).
        return page.evaluate(() => window.__bench.scrollToEnd({
          item: '[data-testid="gallery"] li', scrollParentOf: '[data-testid="gallery"]', rank: 'data-rank', setSize: 'aria-setsize', maxItems: 600, settleFrames: 600, timeoutMs: 60_000,
        }));
      });
      await profiled(page, 'scroll-library', async () => {
        await page.evaluate((sel) => window.__bench.measure({ action: { kind: 'hash', hash: '#/library' }, data: sel, timeoutMs: 60_000 }), GRID);
        return page.evaluate(() => window.__bench.scrollToEnd({
          item: '[data-testid="photo-grid"] [role="listitem"]', scroller: '[data-testid="photo-grid"]', rank: 'data-rank', setSize: 'aria-setsize', maxItems: 2000, timeoutMs: 60_000,
        }));
      });
      await page.context().close();
    } finally {
      await s.close();
    }
    if (!opt['no-index'] && (!ONLY || ONLY.has('index'))) await indexJob(db, env);
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
  writeFileSync(OUT, `${JSON.stringify(results, null, 1)}\n`);
  log(`\nspans: ${path.relative(ROOT, OUT)}`);
}

/** bench:ui's index job (a copy of the library, real and broken photos), watched from the Library view. */
async function indexJob(db: string, env: Record<string, string>): Promise<void> {
  const copy = path.join(WORK, 'ui-profile-index.sqlite');
  const photos = mkdtempSync(path.join(WORK, 'ui-profile-photos-'));
  copyFileSync(db, copy);
  try {
    for (let i = 0; i < 200; i++) linkSync(path.join(WORK, 'ui-photos-distinct', `photo-${i}.jpg`), path.join(photos, `new-${i}.jpg`));
    for (let i = 0; i < 1000; i++) writeFileSync(path.join(photos, `broken-${String(i).padStart(4, '0')}.jpg`), `not a photo ${i}\n`);
    const s = await serve(copy, env);
    try {
      const page = await openPage(s, '#/library');
      await page.evaluate((sel) => window.__bench.measure({ action: { kind: 'none' }, data: sel, timeoutMs: 60_000 }), GRID);
      await profiled(page, 'index', async () => {
        const t0 = await page.evaluate(() => window.__bench.now());
        await api(page, 'index.start', { model: TEST_MODEL, sae: TEST_SAE, folders: [photos] });
        const started = Date.now();
        while (Date.now() - started < 300_000) {
          await page.waitForTimeout(500);
          const st = await api<{ job: { state: string } | null }>(page, 'index.status', undefined);
          if (st.job && !['running', 'queued', 'starting'].includes(st.job.state)) break;
        }
        return { longest: await page.evaluate((t) => window.__bench.since(t), t0) };
      });
      await page.context().close();
    } finally {
      await s.close();
    }
  } finally {
    for (const sfx of ['', '-wal', '-shm']) rmSync(copy + sfx, { force: true });
    rmSync(photos, { recursive: true, force: true });
  }
}

await main();
