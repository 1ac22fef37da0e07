/**
 * `npm run bench:ui` — how fast the app answers on bench:store's 100k-image library, measured
 * in Debian's chromium (playwright-core) against `clipscope serve --db LIB` from the built bin.
 *
 * From the click or navigation to data on screen, and to the first image drawn (checked every
 * animation frame), p50 / max over a few repeats (a different feature each repeat, each on a
 * fresh browser context: no HTTP cache, no query cache):
 *   - opening the library (page load to the photo grid), the first page of the indexing failures
 *     list (Features -> Library, after an index job that met broken files);
 *   - a feature's first gallery page at token CLS, any and a patch (137), on the most frequent
 *     features (the worst cases: the index bounds a patch's value only by the max over tokens);
 *   - opening the inspector (a gallery tile's click); the features table's first screen;
 *   - a 3-feature query (#/query?all=...), and the same and a 2-feature AND in a quarter of the
 *     grid as query.run calls from the page;
 *   - scrolling a gallery (its virtualised Top tab, loading pages near its end; up to
 *     --scroll-items photos) and the library's photo grid to their end: the most <img> elements
 *     in the page at once (target < 400);
 *   - the longest main-thread task (PerformanceObserver 'longtask') and long animation frame's
 *     blocking time during each scenario, and while an index job runs (a copy of the library, a
 *     folder of real and broken photos, the small test model).
 * Targets (issues 9 and 10): library open < 200 ms, failures page < 100 ms, first gallery page
 * < 200 ms, inspector < 100 ms, no task > 50 ms. No assertions: timings on shared machines vary.
 *
 * The library (images are hard links to a few hundred real JPEGs) is built once and cached under
 * bench/.work/ (bench/lib/ui-library.ts), thumbnails in bench/.work/ui-cache.
 *
 * Options: --images N (default 100000), --repeats N (default 3), --scroll-items N (gallery items
 * to load while scrolling, default 3000), --no-index (skip the index job: no 4 GB copy),
 * --out FILE (default bench/.work/ui-results.json), --renderer DIR (a renderer build whose script
 * the page runs instead of out/renderer's: e.g. an earlier commit's, for a before / after pair).
 */
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { ROOT, WORK } from './lib/full-size.js';
import { checkBuilt, serve, type Served } from './lib/serve.js';
import { ensureUiLibrary } from './lib/ui-library.js';

const { values: opt } = parseArgs({
  options: {
    images: { type: 'string', default: '100000' },
    repeats: { type: 'string', default: '3' },
    'scroll-items': { type: 'string', default: '3000' },
    'no-index': { type: 'boolean', default: false },
    // Where to write the results (default bench/.work/ui-results.json): a before / after pair.
    out: { type: 'string' },
    // A renderer build (its index.html's folder, e.g. of an earlier commit) whose script the page
    // runs in place of out/renderer's: a before / after pair on one machine state.
    renderer: { type: 'string' },
  },
});
const N = Number(opt.images);
const REPEATS = Math.max(1, Number(opt.repeats));
const SCROLL_ITEMS = Number(opt['scroll-items']);
const LAYER = 22;
const PATCH = 137;
const TIMEOUT = 60_000;
const CACHE = path.join(WORK, 'ui-cache');
const RESULTS = opt.out ? path.resolve(opt.out) : path.join(WORK, 'ui-results.json');
const TEST_MODEL = path.join(ROOT, 'test/fixtures/models/clip-tiny-gelu');
const TEST_SAE = path.join(ROOT, 'test/fixtures/saes/clipscope-gelu/2_resid/1000.pt');

const log = (msg: string) => process.stderr.write(`${msg}\n`);

/** --renderer's script (the one .js of its assets/), or undefined: the built bundle. */
function rendererScript(): string | undefined {
  if (!opt.renderer) return undefined;
  const dir = path.join(path.resolve(opt.renderer), 'assets');
  const js = readdirSync(dir).filter((f) => f.endsWith('.js'));
  if (js.length !== 1) throw new Error(`--renderer: expected one script in ${dir}, found ${js.length}`);
  return readFileSync(path.join(dir, js[0]!), 'utf8');
}
const SCRIPT = rendererScript();

interface Longest { task: number; loaf: number }
/** A list scrolled to its end: items reached, its length when the page knew it, the most <img> at once. */
interface Scrolled { items: number; total: number | null; maxImgs: number; seconds: number; longest: Longest }
interface Measured { data: number | null; image: number | null; failed: string | null; longest: Longest }
interface Row { data: number[]; image: number[]; task: number[]; loaf: number[]; notes: Set<string>; target: string }

const rows = new Map<string, Row>();
function record(name: string, target: string, m: Measured, note?: string): void {
  let r = rows.get(name);
  if (!r) rows.set(name, (r = { data: [], image: [], task: [], loaf: [], notes: new Set(), target }));
  r.data.push(m.data ?? Infinity);
  if (m.image !== null || m.data === null) r.image.push(m.image ?? Infinity);
  r.task.push(m.longest.task);
  r.loaf.push(m.longest.loaf);
  if (m.failed) r.notes.add(`error shown: ${m.failed}`);
  if (note) r.notes.add(note);
  log(`  ${name.padEnd(40)} data ${fmt(m.data)}  image ${fmt(m.image)}  longest task ${m.longest.task.toFixed(0)} ms${m.failed ? `  (${m.failed})` : ''}`);
}

const fmt = (v: number | null | undefined): string => (v === null || v === undefined ? '   —   ' : !Number.isFinite(v) ? ' timeout' : `${v.toFixed(0).padStart(5)} ms`);

// The page's helpers (bench/lib/page-probe.ts), typed for the callbacks below.
interface Probe {
  measure(a: { action: { kind: 'none' } | { kind: 'hash'; hash: string } | { kind: 'click'; selector: string }; data: string; image?: string; fail?: string; timeoutMs: number }): Promise<Measured>;
  scrollToEnd(a: {
    item: string; more?: string; scroller?: string; scrollParentOf?: string; rank?: string; setSize?: string; maxItems?: number; settleFrames?: number; timeoutMs: number;
  }): Promise<Scrolled>;
  since(t0: number): Longest;
  now(): number;
}
declare const window: { __bench: Probe };

/** An error in the view's main part ends a scenario (an error in a side panel does not). */
const FAIL = 'main .feature-main .message-error, main .query-results .message-error, main [role="alert"].message-error:only-child';

let shots = 0;
async function measure(page: Page, args: Parameters<Probe['measure']>[0]): Promise<Measured> {
  const m = await page.evaluate((a) => window.__bench.measure(a), { fail: FAIL, ...args });
  if (m.data === null || m.failed) {
    // What the page showed instead, to look at.
    const file = path.join(WORK, `ui-missed-${++shots}.png`);
    await page.screenshot({ path: file });
    log(`  (no data: screenshot ${path.relative(ROOT, file)})`);
  }
  return m;
}

/** An engine call from the page (its cookie carries the token), timed there. */
async function apiCall(page: Page, method: string, input: unknown): Promise<{ ms: number; status: number; value: unknown }> {
  return page.evaluate(async ([m, body]) => {
    const t = performance.now();
    const r = await fetch(`/api/${m}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const j = (await r.json()) as { value?: unknown; error?: unknown };
    return { ms: performance.now() - t, status: r.status, value: j.value ?? j.error };
  }, [method, input] as const);
}

async function api<T>(page: Page, method: string, input: unknown): Promise<T> {
  const r = await apiCall(page, method, input);
  if (r.status !== 200) throw new Error(`${method}: HTTP ${r.status} ${JSON.stringify(r.value)}`);
  return r.value as T;
}

const GALLERY_DATA = '[data-testid="gallery-total"]';
// A photo, not a tile's heat overlay (an image too).
const GALLERY_IMG = '[data-testid="gallery"] img:not(.heat-overlay)';

async function readScenarios(s: Served, frequent: number[], three: number[][]): Promise<void> {
  for (let r = 0; r < REPEATS; r++) {
    log(`repeat ${r + 1} / ${REPEATS}`);
    const page = await s.page('#/library');
    record('open the library (page load)', '< 200 ms', await measure(page, {
      action: { kind: 'none' }, data: '[data-testid="photo-grid"] [data-image-id]', image: '[data-testid="photo-grid"] img', timeoutMs: TIMEOUT,
    }));
    const f = frequent[r % frequent.length]!;
    for (const [name, token] of [['cls', 'cls'], ['any', 'any'], [`patch ${PATCH}`, String(PATCH)]] as const) {
      record(`gallery first page, token ${name}`, '< 200 ms', await measure(page, {
        action: { kind: 'hash', hash: `#/feature/${f}?token=${token}&layer=${LAYER}` }, data: GALLERY_DATA, image: GALLERY_IMG, timeoutMs: TIMEOUT,
      }));
    }
    // The inspector, from the last gallery that has a tile (the patch one may be empty).
    await measure(page, { action: { kind: 'hash', hash: `#/feature/${f}?token=any&layer=${LAYER}` }, data: '[data-testid="gallery"] li a', timeoutMs: TIMEOUT });
    record('open the inspector (tile click)', '< 100 ms', await measure(page, {
      action: { kind: 'click', selector: '[data-testid="gallery"] li a' }, data: '[data-testid="token-features"]', image: '.model-crop img', timeoutMs: TIMEOUT,
    }));
    record('features table, first screen', '< 200 ms', await measure(page, {
      // No ?layer= here: the library has one configuration (and the view's layer parameter is read as text).
      action: { kind: 'hash', hash: '#/features' }, data: '[data-testid="feature-row"]', image: '[data-testid="thumbstrip"] img', timeoutMs: TIMEOUT,
    }));
    const q = three[r % three.length]!;
    record('3-feature query view (#/query)', '< 200 ms', await measure(page, {
      action: { kind: 'hash', hash: `#/query?all=${q.join(',')}&layer=${LAYER}` }, data: '[data-testid="query-results"] [data-image-id]', image: '[data-testid="query-results"] img', timeoutMs: TIMEOUT,
    }));
    const timed = async (name: string, target: string, input: unknown) => {
      const t0 = await page.evaluate(() => window.__bench.now());
      const c = await apiCall(page, 'query.run', input);
      const longest = await page.evaluate((t) => window.__bench.since(t), t0);
      record(name, target, { data: c.status === 200 ? c.ms : null, image: null, failed: c.status === 200 ? null : JSON.stringify(c.value).slice(0, 160), longest });
    };
    await timed('query.run: 3 features of a photo', '< 200 ms', { all: q.map((feature) => ({ feature })), layer: LAYER });
    await timed('query.run: the 3 most frequent', '< 1 s', { all: frequent.slice(0, 3).map((feature) => ({ feature })), layer: LAYER });
    await timed('query.run: 2 features, quarter region', '< 1 s', { all: q.slice(0, 2).map((feature) => ({ feature })), regions: [[0, 7, 0, 7]], limit: 24, layer: LAYER });
    await page.context().close();
  }
}

const scroll: Record<string, Scrolled> = {};

async function scrollScenarios(s: Served, frequent: number[]): Promise<void> {
  const page = await s.page(`#/feature/${frequent[0]}?token=any&layer=${LAYER}`);
  await measure(page, { action: { kind: 'none' }, data: '[data-testid="gallery"] li', timeoutMs: TIMEOUT });
  log('scrolling a gallery (the Top tab loads pages as it nears its end)...');
  // The grid is virtualised in the view's scroll area: its tiles carry their rank and, once the
  // last page says it, the gallery's length (aria-setsize). Up to --scroll-items photos.
  scroll['feature gallery (token any)'] = await page.evaluate((max) => window.__bench.scrollToEnd({
    item: '[data-testid="gallery"] li', scrollParentOf: '[data-testid="gallery"]', rank: 'data-rank', setSize: 'aria-setsize',
    maxItems: max, settleFrames: 600, timeoutMs: 180_000,
  }), SCROLL_ITEMS);
  await page.context().close();
  const lib = await s.page('#/library');
  await measure(lib, { action: { kind: 'none' }, data: '[data-testid="photo-grid"] [data-image-id]', timeoutMs: TIMEOUT });
  log('scrolling the library grid...');
  // Its tiles carry their rank and the grid's length too; up to --scroll-items photos.
  scroll['library photo grid'] = await lib.evaluate((max) => window.__bench.scrollToEnd({
    item: '[data-testid="photo-grid"] [role="listitem"]', scroller: '[data-testid="photo-grid"]', rank: 'data-rank', setSize: 'aria-setsize',
    maxItems: max, timeoutMs: 120_000,
  }), SCROLL_ITEMS);
  await lib.context().close();
  for (const [k, v] of Object.entries(scroll)) log(`  ${k}: ${v.items}${v.total ? ` of ${v.total}` : ''} items, max ${v.maxImgs} <img>, longest task ${v.longest.task.toFixed(0)} ms`);
}

let indexJob: { seconds: number; images: number; failed: number; longest: Longest; state: string } | null = null;

/** An index job on a copy of the library (a folder of real and broken photos), then the failures list. */
async function indexScenario(db: string, env: Record<string, string>): Promise<void> {
  const copy = path.join(WORK, 'ui-index-copy.sqlite');
  const photos = mkdtempSync(path.join(WORK, 'ui-index-photos-'));
  log('index job: copying the library...');
  copyFileSync(db, copy);
  try {
    for (let i = 0; i < 200; i++) linkSync(path.join(WORK, 'ui-photos-distinct', `photo-${i}.jpg`), path.join(photos, `new-${i}.jpg`));
    for (let i = 0; i < 1000; i++) writeFileSync(path.join(photos, `broken-${String(i).padStart(4, '0')}.jpg`), `not a photo ${i}\n`);
    const s = await serve(copy, env, { script: SCRIPT });
    try {
      const page = await s.page('#/library');
      await measure(page, { action: { kind: 'none' }, data: '[data-testid="photo-grid"] [data-image-id]', timeoutMs: TIMEOUT });
      const t0 = await page.evaluate(() => window.__bench.now());
      const started = Date.now();
      await api(page, 'index.start', { model: TEST_MODEL, sae: TEST_SAE, folders: [photos] });
      let status: { job: { state: string; done?: number; failed?: number } | null } = { job: null };
      while (Date.now() - started < 600_000) {
        await page.waitForTimeout(500);
        status = await api(page, 'index.status', undefined);
        if (status.job && !['running', 'queued', 'starting'].includes(status.job.state)) break;
      }
      const longest = await page.evaluate((t) => window.__bench.since(t), t0);
      const failures = await api<unknown[]>(page, 'index.failures', {});
      indexJob = { seconds: (Date.now() - started) / 1000, images: 1200, failed: failures.length, longest, state: status.job?.state ?? 'none' };
      log(`  index job: ${indexJob.state} in ${indexJob.seconds.toFixed(0)} s, ${failures.length} failures, longest task ${longest.task.toFixed(0)} ms`);
      for (let r = 0; r < REPEATS; r++) {
        // From another view (the library has two configurations now: name the layer).
        await measure(page, { action: { kind: 'hash', hash: `#/feature/0?token=cls&layer=${LAYER}` }, data: GALLERY_DATA, timeoutMs: TIMEOUT });
        record('failures list, first page (nav to Library)', '< 100 ms', await measure(page, {
          action: { kind: 'hash', hash: '#/library' }, data: '[data-testid="failures"] li.failure', timeoutMs: TIMEOUT,
        }));
      }
      await page.context().close();
    } finally {
      await s.close();
    }
  } finally {
    for (const sfx of ['', '-wal', '-shm']) rmSync(copy + sfx, { force: true });
    rmSync(photos, { recursive: true, force: true });
  }
}

function q(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}

function report(): string {
  const out = ['', `UI benchmark: ${N.toLocaleString()} images, chromium headless, ${REPEATS} repeats (p50 / max)${opt.renderer ? `, renderer ${opt.renderer}` : ''}`, ''];
  out.push(`  ${'scenario'.padEnd(44)} ${'to data'.padStart(17)} ${'to first image'.padStart(17)} ${'longest task'.padStart(14)}  target`);
  for (const [name, r] of rows) {
    const pair = (xs: number[]) => (xs.length ? `${fmt(q(xs, 0.5))} / ${fmt(Math.max(...xs)).trim()}` : '—');
    out.push(`  ${name.padEnd(44)} ${pair(r.data).padStart(17)} ${pair(r.image).padStart(17)} ${`${Math.max(...r.task).toFixed(0)} ms`.padStart(14)}  ${r.target}; task < 50 ms`);
    for (const n of r.notes) out.push(`      note: ${n}`);
  }
  for (const [k, v] of Object.entries(scroll)) {
    out.push(`  scroll to the end, ${k}: ${v.items}${v.total ? ` of ${v.total}` : ''} items in ${v.seconds.toFixed(1)} s, at most ${v.maxImgs} <img> in the page (target < 400), longest task ${v.longest.task.toFixed(0)} ms, long frame ${v.longest.loaf.toFixed(0)} ms`);
  }
  if (indexJob) out.push(`  while an index job runs (${indexJob.images} files, ${indexJob.failed} failed, ${indexJob.seconds.toFixed(0)} s, ${indexJob.state}): longest task ${indexJob.longest.task.toFixed(0)} ms, long frame ${indexJob.longest.loaf.toFixed(0)} ms (target < 50 ms)`);
  out.push('', '  "longest task": PerformanceObserver longtask entries overlapping the scenario (0: none over 50 ms).', `  results: ${path.relative(ROOT, RESULTS)}`, '');
  return out.join('\n');
}

async function main(): Promise<void> {
  const missing = checkBuilt();
  if (missing) throw new Error(missing);
  mkdirSync(CACHE, { recursive: true });
  const db = await ensureUiLibrary(N, log);
  const data = mkdtempSync(path.join(tmpdir(), 'clipscope-bench-ui-'));
  const env = { CLIPSCOPE_DATA_DIR: data, CLIPSCOPE_CACHE_DIR: CACHE };
  try {
    const s = await serve(db, env, { script: SCRIPT });
    try {
      const page = await s.page('#/library');
      await measure(page, { action: { kind: 'none' }, data: '[data-testid="photo-grid"] [data-image-id]', timeoutMs: TIMEOUT });
      const top = await api<{ items: { feature: number }[] }>(page, 'features.search', { layer: LAYER, sort: 'frequency', limit: REPEATS + 3 });
      const frequent = top.items.map((i) => i.feature);
      // Three features of each of a few photos: a query with answers.
      const three: number[][] = [];
      for (let r = 0; r < REPEATS; r++) {
        const im = await api<{ pooled: { feature: number }[] }>(page, 'image.get', { imageId: 1 + ((r * 7919) % N), layer: LAYER });
        const p = im.pooled;
        three.push([p[3]!.feature, p[Math.floor(p.length / 3)]!.feature, p[Math.floor(p.length / 2)]!.feature]);
      }
      await page.context().close();
      log(`most frequent features: ${frequent.join(', ')}`);
      await readScenarios(s, frequent, three);
      await scrollScenarios(s, frequent);
    } finally {
      await s.close();
    }
    if (!opt['no-index']) await indexScenario(db, env);
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
  writeFileSync(RESULTS, `${JSON.stringify({
    images: N, repeats: REPEATS,
    scenarios: Object.fromEntries([...rows].map(([k, r]) => [k, { ...r, notes: [...r.notes] }])),
    scroll, indexJob,
  }, (_k, v: unknown) => (v === Infinity ? null : v), 2)}\n`);
  process.stdout.write(report());
}

await main();
