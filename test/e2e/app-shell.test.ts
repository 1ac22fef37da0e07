/**
 * The desktop app's first run, library and a first look at the explorer, end to end in a real
 * browser: `clipscope serve` from the built bin, Debian's chromium driven by playwright-core with
 * real clicks and keys. What the page shows is compared with the CLI's `--json` output on the
 * same library file. Screenshots go to test/e2e/.artifacts/.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { DEMO_PHOTOS, hasChromium, startSession, type Session } from './harness.js';

declare const location: { hash: string };

describe.skipIf(!hasChromium)('app shell in chromium (clipscope serve)', () => {
  let s: Session;
  let page: Page;
  let url: string;
  let origin: string;
  let tmp: string;
  const cli = (...args: string[]) => s.cli(...args);
  const api = (method: string) => s.api(method);
  const shot = (name: string) => s.shot(name);
  const allDecoded = (selector: string) => s.allDecoded(selector);
  const hash = () => new URL(page.url()).hash;

  beforeAll(async () => {
    s = await startSession();
    ({ page, url, origin, tmp } = s);
  });

  afterAll(async () => {
    await s?.close();
  });

  it('opens on the first-run screen, with what the app needs and the three ways to start', async () => {
    await page.goto(url);
    await page.waitForFunction(() => location.hash === '#/setup');
    await expect.poll(() => page.getByRole('heading', { name: 'Welcome to CLIP-Scope' }).isVisible()).toBe(true);
    const text = await page.locator('main').innerText();
    expect(text).toContain('1.7 GB');
    expect(text).toContain('0.5 GB');
    expect(text).toContain('clipscope models download');
    expect(text).toContain('clipscope models import DIR');
    expect(text).toMatch(/random weights/i);
    await shot('01-setup');
  });

  it('runs the demo: indexing progress to the end, the summary the CLI prints, 5 thumbnails', async () => {
    await page.getByRole('button', { name: 'Try the offline demo' }).click();
    await page.waitForFunction(() => location.hash.startsWith('#/library'));
    // The job appears (running, or already finished on a fast machine), then ends.
    await page.locator('[data-testid="job"]').waitFor();
    const running = await page.locator('[data-testid="job"][data-state="running"]').count();
    if (running > 0) await shot('02-indexing');
    await page.locator('[data-testid="summary"]').waitFor({ timeout: 60_000 });
    await expect.poll(() => page.locator('[data-testid="index-pill"]').getAttribute('data-state')).toBe('done');
    expect(await page.locator('[data-testid="summary-title"]').innerText()).toBe('Last run finished');

    // The same run through the CLI on a fresh library of the same photos and model.
    const models = (await api('models.list')) as { kind: string; path: string }[];
    const model = models.find((m) => m.kind === 'vision')!.path;
    const sae = models.find((m) => m.kind === 'sae')!.path;
    const cliRun = await cli('index', DEMO_PHOTOS, '--db', path.join(tmp, 'cli.sqlite'), '--model', model, '--sae', sae, '--json');
    for (const k of ['indexed', 'unchanged', 'moved', 'removed', 'failed'] as const) {
      expect(Number(await page.locator(`[data-testid="summary-${k}"]`).getAttribute('data-value')), k).toBe(cliRun[k]);
    }
    expect(cliRun.indexed).toBe(5);

    // Five tiles, each thumbnail decoded.
    const tiles = page.locator('[data-testid="photo-grid"] .tile img');
    await expect.poll(() => tiles.count()).toBe(5);
    await allDecoded('[data-testid="photo-grid"] img');
    // Every number explains itself (a Radix tooltip: must work under the page's CSP).
    await page.locator('[data-testid="summary-indexed"] .stat').hover();
    expect(await page.getByRole('tooltip').innerText()).toContain('encoded in this run');
    await shot('03-library');
    await page.mouse.move(5, 400);
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot('03-library-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('shows the folder and configuration counts of the CLI for the same library file', async () => {
    const state = (await api('app.state')) as { library: { file: string } };
    const db = state.library.file;
    const folders = (await cli('folders', 'list', '--db', db, '--json')) as { path: string; images: number; failed: number }[];
    const rows = page.locator('[data-testid="folder-row"]');
    expect(await rows.count()).toBe(folders.length);
    expect(await rows.first().locator('.folder-path').innerText()).toBe(folders[0]!.path);
    expect(await rows.first().locator('[data-testid="folder-images"]').innerText()).toBe(`${folders[0]!.images} photos`);
    expect(await rows.first().locator('[data-testid="folder-failed"]').count()).toBe(folders[0]!.failed === 0 ? 0 : 1);
    const metrics = await cli('metrics', '--db', db, '--json');
    expect(await page.locator('[data-testid="config-images"]').first().innerText()).toBe(String(metrics.images));
  });

  it('lands on the same view after a reload', async () => {
    await page.reload();
    await page.waitForFunction(() => location.hash.startsWith('#/library'));
    await expect.poll(() => page.locator('[data-testid="photo-grid"] .tile img').count()).toBe(5);
    await page.locator('[data-testid="summary"]').waitFor();
  });

  it('opens a photo from the grid with the strongest CLS features of `clipscope image`', async () => {
    const tile = page.locator('[data-testid="photo-grid"] a.tile').first();
    const file = (await tile.getAttribute('title'))!.split('\n')[0]!;
    const id = await tile.getAttribute('data-image-id');
    await tile.focus();
    await page.keyboard.press('Enter');
    // The link also names the list it came from (the inspector's walk order): `?from=...&at=...`.
    await page.waitForFunction((want) => location.hash.split('?')[0] === want, `#/image/${id}`);
    const state = (await api('app.state')) as { library: { file: string } };
    const img = await cli('image', file, '--db', state.library.file, '--json');
    const first = page.locator('.feature-list li').first();
    await first.waitFor();
    expect(await first.locator('a').innerText()).toBe(`Feature ${img.tokens.idx[0][0]}`);
    expect(Number(await first.locator('.num').innerText())).toBeCloseTo(img.tokens.val[0][0], 3);
    await allDecoded('.model-crop img');
    await shot('04-image');
    await page.goBack();
    await page.waitForFunction(() => location.hash.startsWith('#/library'));
    await expect.poll(() => page.locator('[data-testid="photo-grid"] .tile img').count()).toBe(5);
  });

  it('shows the engine\'s message naming a bad folder path', async () => {
    const bad = path.join(tmp, 'no-such-photos');
    s.expectUserError(/\/api\/folders\.add$/);
    const field = page.getByRole('textbox', { name: 'Add a folder' });
    await field.click();
    await field.fill(bad);
    await page.keyboard.press('Enter');
    const error = page.locator('[data-testid="folder-error"] [role="alert"]');
    await error.waitFor();
    expect(await error.innerText()).toContain(bad);
    await shot('05-bad-folder');
    s.expectUserError(null);
    expect(await page.locator('[data-testid="folder-row"]').count()).toBe(1);
  });

  it('goes to the metrics with the keyboard and shows the CLI\'s numbers', async () => {
    await page.locator('main').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('g');
    await page.keyboard.press('m');
    await page.waitForFunction(() => location.hash.startsWith('#/metrics'));
    await page.locator('[data-testid="metrics-table"]').waitFor();
    const state = (await api('app.state')) as { library: { file: string } };
    const m = await cli('metrics', '--db', state.library.file, '--json');
    const value = async (id: string) => Number(await page.locator(`[data-testid="metric-${id}"]`).getAttribute('data-value'));
    expect(await value('mse')).toBeCloseTo(m.mse, 9);
    expect(await value('ev')).toBeCloseTo(m.ev, 9);
    expect(await value('dead')).toBeCloseTo(m.dead_fraction, 9);
    expect(await value('l0')).toBeCloseTo(m.l0, 9);
    expect(await value('images')).toBe(m.images);
    expect(await page.locator('[data-testid="metric-mse"] td').innerText()).toBe(m.mse.toFixed(4));
    await shot('06-metrics');
  });

  it('shows a feature\'s CLS gallery in the order and with the values of `clipscope gallery`', async () => {
    const state = (await api('app.state')) as { library: { file: string } };
    const db = state.library.file;
    const img = await cli('image', path.join(DEMO_PHOTOS, 'chelsea.png'), '--db', db, '--json');
    const feature = img.tokens.idx[0][0] as number;
    const expected = (await cli('gallery', String(feature), '--db', db, '--token', 'cls', '--limit', '60', '--json')) as { file: string; act: number }[];
    expect(expected.length).toBeGreaterThan(0);
    await page.goto(`${origin}/#/feature/${feature}?token=cls`);
    await page.locator('[data-testid="gallery-total"]').waitFor();
    const items = page.locator('[data-testid="gallery"] .gallery-item');
    await expect.poll(() => items.count()).toBe(expected.length);
    for (let i = 0; i < expected.length; i++) {
      expect(await items.nth(i).locator('a').getAttribute('title')).toBe(expected[i]!.file);
      expect(Number(await items.nth(i).getAttribute('data-act'))).toBe(expected[i]!.act);
    }
    await allDecoded('[data-testid="gallery"] img');
    await shot('07-feature');
  });

  it('navigates to the features table from the rail, and shows the keyboard sheet', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Features', exact: true }).click();
    await page.locator('[data-testid="features-table"]').waitFor();
    expect(hash()).toMatch(/^#\/features/);
    await page.keyboard.press('?');
    const sheet = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await sheet.waitFor();
    await shot('08-keys');
    await page.keyboard.press('Escape');
    await sheet.waitFor({ state: 'hidden' });
  });

  it('answers an unknown address and a bad feature id with a way on', async () => {
    await page.goto(`${origin}/#/nowhere`);
    await page.getByRole('heading', { name: 'Nothing here' }).waitFor();
    await page.goto(`${origin}/#/feature/99999999?token=cls`);
    expect(await page.getByRole('alert').innerText()).toContain('There is no feature "99999999"');
  });

  it('lists the demo among the recent libraries on the start screen', async () => {
    await page.goto(`${origin}/#/setup`);
    const recent = page.locator('#recent-title').locator('..');
    await recent.getByText('demo-library').first().waitFor();
    await shot('09-setup-recent');
  });

  it('had no page errors, console errors or failed requests', () => {
    expect(s.problems).toEqual([]);
  });
});
