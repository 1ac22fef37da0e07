/**
 * Thumbnails in the web mode wait for a slot (renderer/src/ui/thumb-gate.ts), in chromium through
 * `clipscope serve` on the demo library: however many a view shows, at most three are in flight,
 * so the engine's calls always find one of the page's six HTTP/1.1 connections; every thumbnail
 * still arrives; and a view left before its thumbnails came fetches no more of them.
 * The demo library gets a folder of 120 more photos (copies of its own: each its own image id and
 * thumbnail URL), so that a screen holds dozens. Each case opens a fresh page (nothing cached) whose thumbnail answers are held back 150 ms (a
 * slow disk), so that many wait at once.
 */
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { DEMO_PHOTOS, hasChromium, startDemoSession, type Session } from './harness.js';

declare const location: { hash: string };
declare const document: { querySelectorAll(selector: string): { length: number } };
declare const performance: { getEntriesByType(type: string): { name: string; startTime: number; responseEnd: number }[] };

interface Watched {
  page: Page;
  /** When each thumbnail request left the page, and when each answer arrived (ms). */
  started: number[];
  finished: number[];
}

describe.skipIf(!hasChromium)('thumbnail requests in chromium (clipscope serve, demo library)', () => {
  let s: Session;
  const t0 = Date.now();

  beforeAll(async () => {
    ({ s } = await startDemoSession());
    const many = path.join(s.tmp, 'many');
    await mkdir(many);
    const photos = (await readdir(DEMO_PHOTOS)).filter((f) => /\.(png|jpe?g)$/i.test(f));
    for (let i = 0; i < 120; i++) {
      const f = photos[i % photos.length]!;
      await copyFile(path.join(DEMO_PHOTOS, f), path.join(many, `copy-${String(i).padStart(3, '0')}-${f}`));
    }
    const models = (await s.api('models.list')) as { kind: string; path: string }[];
    await s.api('index.start', { model: models.find((m) => m.kind === 'vision')!.path, sae: models.find((m) => m.kind === 'sae')!.path, folders: [many] });
    // (expect.poll works only inside a test.)
    for (let waited = 0; ; waited += 250) {
      const job = ((await s.api('index.status')) as { job: { state: string } | null }).job;
      if (job?.state === 'done') break;
      if (waited > 120_000) throw new Error(`indexing the copies did not finish: ${JSON.stringify(job)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }, 240_000);

  afterAll(async () => {
    await s?.close();
  });

  /** A fresh page (new context: no cache) on `hash`, its thumbnails slowed and recorded. */
  async function fresh(hash: string): Promise<Watched> {
    const context = await s.page.context().browser()!.newContext({ viewport: { width: 1360, height: 860 } });
    const page = await context.newPage();
    await page.route('**/media/thumb/**', async (route) => {
      await new Promise((r) => setTimeout(r, 150));
      await route.continue().catch(() => undefined);
    });
    const w: Watched = { page, started: [], finished: [] };
    page.on('request', (r) => {
      if (r.url().includes('/media/thumb/')) w.started.push(Date.now() - t0);
    });
    page.on('requestfinished', (r) => {
      if (r.url().includes('/media/thumb/')) w.finished.push(Date.now() - t0);
    });
    page.on('pageerror', (e) => s.problems.push(`page error: ${e.message}`));
    await page.goto(s.url.replace(/#.*$/, '') + hash);
    return w;
  }

  /** The most thumbnail requests in flight at once, from the page's own resource timings. */
  async function mostAtOnce(page: Page): Promise<number> {
    const spans = await page.evaluate(() =>
      performance.getEntriesByType('resource').filter((e) => e.name.includes('/media/thumb/')).map((e) => [e.startTime, e.responseEnd] as const),
    );
    let most = 0;
    for (const [start] of spans) most = Math.max(most, spans.filter(([a, b]) => a <= start && b > start).length);
    return most;
  }

  it('indexed the copies', async () => {
    expect(((await s.api('app.state')) as { library: { images: number } }).library.images).toBeGreaterThanOrEqual(120);
  });

  it('keeps at most three thumbnails in flight, and loads every one', async () => {
    const { page } = await fresh('#/features');
    await page.locator('[data-testid="thumbstrip"] img').first().waitFor();
    // More than a screenful of thumbnails: the table's first rows each show up to eight.
    expect(await page.locator('[data-testid="thumbstrip"] img').count()).toBeGreaterThan(12);
    // Every thumbnail arrives: those on screen first, then the rows kept just outside it.
    await page.waitForFunction(() => {
      const g = globalThis as unknown as { document: { querySelectorAll(s: string): Iterable<{ complete: boolean; naturalWidth: number }> } };
      return [...g.document.querySelectorAll('[data-testid="thumbstrip"] img')].every((i) => i.complete && i.naturalWidth > 0);
    }, undefined, { timeout: 60_000 });
    const most = await mostAtOnce(page);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(3);
    await page.screenshot({ path: 'test/e2e/.artifacts/thumbnails-features.png' });
    await page.context().close();
  }, 120_000);

  it('gives up the thumbnails of a view once it is left', async () => {
    const w = await fresh('#/library');
    // Leave the grid as soon as its first thumbnail is on its way: dozens are still waiting.
    await w.page.waitForRequest((r) => r.url().includes('/media/thumb/'));
    const waiting = await w.page.evaluate(() => document.querySelectorAll('[data-testid="photo-grid"] img:not([src])').length);
    expect(waiting).toBeGreaterThan(10);
    await w.page.evaluate(() => { location.hash = '#/metrics'; });
    await w.page.locator('[data-testid="photo-grid"]').waitFor({ state: 'detached' });
    const left = Date.now() - t0;
    await w.page.waitForTimeout(1200);
    // The few on their way may still arrive; none may start once the view is gone.
    expect(w.started.filter((at) => at > left + 50)).toEqual([]);
    expect(w.finished.filter((at) => at > left).length).toBeLessThanOrEqual(3);
    await w.page.context().close();
    expect(s.problems).toEqual([]);
  }, 60_000);
});
