/**
 * The image inspector, end to end in chromium on the demo library: the patch grid's features and
 * values against `clipscope image --json`, keyboard moves in the grid, a feature's heat canvas
 * read back pixel by pixel against the CLI's values, CLS, pooled and image tabs, walking the
 * library and going back. Screenshots go to test/e2e/.artifacts/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { hasChromium, startSession, type Session } from './harness.js';

declare const location: { hash: string };

interface CliImage {
  file: string;
  tokens: { idx: number[][]; val: number[][] };
  mse: number;
  ev: number;
}

const fmt = (v: number) => v.toFixed(3);

describe.skipIf(!hasChromium)('image inspector in chromium (clipscope serve, demo library)', () => {
  let s: Session;
  let page: Page;
  let db: string;
  let images: { imageId: number; file: string }[];
  let img: CliImage;
  const panel = () => page.locator('[data-testid="token-features"]');
  const hash = () => page.evaluate(() => location.hash);
  const param = async (name: string) => new URLSearchParams((await hash()).split('?')[1] ?? '').get(name);
  /** The features the token panel lists: ids and values as shown. */
  const listed = async () =>
    panel().locator('li').evaluateAll((lis) => lis.map((li) => [Number(li.getAttribute('data-feature')), li.querySelector('.num')!.textContent]));
  const expectedFor = (t: number) => img.tokens.idx[t]!.map((f, i) => [f, fmt(img.tokens.val[t]![i]!)]);
  const focusedToken = () => page.evaluate<string | null>("document.activeElement && document.activeElement.getAttribute('data-token')");

  beforeAll(async () => {
    s = await startSession();
    page = s.page;
    await page.goto(s.url);
    await page.waitForFunction(() => location.hash === '#/setup');
    await page.getByRole('button', { name: 'Try the offline demo' }).click();
    await page.waitForFunction(() => location.hash.startsWith('#/library'));
    await page.locator('[data-testid="index-pill"][data-state="done"]').waitFor({ timeout: 90_000 });
    db = ((await s.api('app.state')) as { library: { file: string } }).library.file;
    images = ((await s.api('images.list', { limit: 100 })) as { items: { imageId: number; file: string }[] }).items;
    expect(images.length).toBe(5);
    img = await s.cli('image', images[0]!.file, '--db', db, '--json');
  });

  afterAll(async () => {
    await s?.close();
  });

  it('shows the model crop with a 16 × 16 grid of patch buttons and a CLS button, CLS features first', async () => {
    // The mouse stays where the demo button was: over the patch grid it would preview a patch.
    await page.mouse.move(5, 400);
    await page.goto(`${s.origin}/#/image/${images[0]!.imageId}`);
    const grid = page.getByRole('grid');
    await grid.waitFor();
    expect(await grid.getByRole('row').count()).toBe(16);
    expect(await grid.locator('[role="gridcell"] > button').count()).toBe(256);
    const tokens = await grid.locator('button').evaluateAll((bs) => bs.map((b) => [b.getAttribute('data-token'), b.getAttribute('aria-label')]));
    expect(tokens[0]).toEqual(['1', 'patch 0,0']);
    expect(tokens[16 * 3 + 5]).toEqual([String(1 + 16 * 3 + 5), 'patch 3,5']);
    expect(tokens[255]).toEqual(['256', 'patch 15,15']);
    expect(await page.locator('button[data-token="0"]').count()).toBe(1);
    await s.allDecoded('.model-crop img');
    expect(await panel().getAttribute('data-token')).toBe('0');
    expect(await listed()).toEqual(expectedFor(0));
    expect(await s.a11y()).toEqual([]);
    await s.shot('inspector-01-cls');
  });

  it('lists the features and values of `clipscope image --json` for the clicked patch', async () => {
    const t = 1 + 16 * 3 + 5;
    await page.getByRole('button', { name: 'patch 3,5', exact: true }).click();
    await page.locator(`[data-testid="token-features"][data-token="${t}"]`).waitFor();
    await expect.poll(() => param('token')).toBe(String(t));
    expect(await panel().innerText()).toContain('Pinned');
    expect(await listed()).toEqual(expectedFor(t));
    expect(await page.locator('[role="gridcell"][aria-selected="true"] button').getAttribute('data-token')).toBe(String(t));
  });

  it('moves through the grid with the arrow keys (roving focus), previews and pins with Enter', async () => {
    const t = 1 + 16 * 3 + 5;
    expect(await focusedToken()).toBe(String(t));
    await page.keyboard.press('ArrowRight');
    expect(await focusedToken()).toBe(String(t + 1));
    await page.keyboard.press('ArrowDown');
    expect(await focusedToken()).toBe(String(t + 1 + 16));
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowUp');
    expect(await focusedToken()).toBe(String(t - 16));
    // Only the focused cell is in the tab order.
    expect(await page.locator('[role="grid"] button[tabindex="0"]').evaluateAll((bs) => bs.map((b) => b.getAttribute('data-token')))).toEqual([String(t - 16)]);
    // The focused patch is previewed; Enter pins it. The photo did not change.
    await page.locator(`[data-testid="token-features"][data-token="${t - 16}"]`).waitFor();
    expect(await panel().innerText()).toContain('Preview');
    await page.keyboard.press('Enter');
    await expect.poll(() => param('token')).toBe(String(t - 16));
    expect(await listed()).toEqual(expectedFor(t - 16));
    expect(await hash()).toMatch(new RegExp(`^#/image/${images[0]!.imageId}\\?`));
  });

  it('draws a chosen feature\'s heat: the hottest canvas cell is where the CLI says it is strongest', async () => {
    // Pick the feature of the pinned patch's list whose values differ most across patches.
    const t = Number(await param('token'));
    const feature = img.tokens.idx[t]![0]!;
    await panel().locator(`li[data-feature="${feature}"] .feat-pick`).click();
    await expect.poll(() => param('feature')).toBe(String(feature));
    await page.locator(`[data-testid="overlay"][data-kind="heat"][data-feature="${feature}"]`).waitFor();

    // The CLI's value of that feature at each patch (0 where it is not in a patch's top k).
    const values = Array.from({ length: 256 }, (_, p) => {
      const i = img.tokens.idx[p + 1]!.indexOf(feature);
      return i < 0 ? 0 : img.tokens.val[p + 1]![i]!;
    });
    const max = Math.max(...values);
    const argmax = values.indexOf(max) + 1;
    expect(max).toBeGreaterThan(0);
    const pixels = await page.evaluate<number[]>(
      "Array.from(document.querySelector('[data-testid=\"overlay\"]').getContext('2d').getImageData(0, 0, 16, 16).data)",
    );
    const alpha = Array.from({ length: 256 }, (_, p) => pixels[p * 4 + 3]!);
    expect(alpha.some((a) => a > 0)).toBe(true);
    const top = Math.max(...alpha);
    const hottest = alpha.flatMap((a, p) => (a === top ? [p + 1] : []));
    expect(hottest).toContain(argmax);
    // Cells that tie at full opacity are exactly those within rounding of the maximum.
    expect(hottest).toEqual(values.flatMap((v, p) => (Math.round((v / max) * 255) === 255 ? [p + 1] : [])));
    // Zero stays clear; the legend names the strongest patch, which is marked on the grid.
    values.forEach((v, p) => {
      if (v === 0) expect(alpha[p], `patch token ${p + 1}`).toBe(0);
    });
    expect(await page.locator('[data-testid="legend"]').getAttribute('data-peak')).toBe(String(argmax));
    expect(await page.locator('[data-testid="legend"]').innerText()).toContain(fmt(max));
    expect(await page.locator('[role="grid"] button.peak').getAttribute('data-token')).toBe(String(argmax));
    await page.mouse.move(5, 400);
    await s.shot('inspector-02-heat');
    await page.emulateMedia({ colorScheme: 'dark' });
    await s.shot('inspector-02-heat-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('lists token 0\'s features for the CLS button', async () => {
    await page.locator('button[data-token="0"]').click();
    await expect.poll(() => param('token')).toBe('0');
    await page.mouse.move(5, 400);
    await page.locator('[data-testid="token-features"][data-token="0"]').waitFor();
    expect(await listed()).toEqual(expectedFor(0));
  });

  it('shows the error overlay, the pooled features and the photo\'s numbers', async () => {
    await page.locator('[data-overlay="error"]').click();
    await page.locator('[data-testid="overlay"][data-kind="error"]').waitFor();
    await s.shot('inspector-03-error');

    await page.getByRole('tab', { name: 'Pooled' }).click();
    const first = page.locator('[data-testid="pooled"] li').first();
    await first.waitFor();
    // The strongest activation anywhere on the photo, per the CLI.
    let best = { f: -1, t: -1, v: -Infinity };
    img.tokens.idx.forEach((row, t) => row.forEach((f, i) => {
      const v = img.tokens.val[t]![i]!;
      if (v > best.v) best = { f, t, v };
    }));
    expect(Number(await first.getAttribute('data-feature'))).toBe(best.f);
    expect(await first.locator('.num').innerText()).toBe(fmt(best.v));
    await first.locator('.feat-pick').click();
    await expect.poll(() => param('feature')).toBe(String(best.f));
    expect(await param('token')).toBe(String(best.t));
    await s.shot('inspector-04-pooled');

    await page.getByRole('tab', { name: 'Image' }).click();
    const numbers = page.locator('[data-testid="image-numbers"]');
    await numbers.waitFor();
    expect(await numbers.innerText()).toContain(img.mse.toFixed(4));
    expect(await s.a11y()).toEqual([]);
    await s.shot('inspector-05-image');
  });

  it('shows the whole photo with the unseen margins dimmed', async () => {
    await page.getByRole('button', { name: 'Full photo' }).click();
    await page.locator('.crop-full img[src*="/media/photo/"]').waitFor();
    await s.allDecoded('.model-crop img');
    await s.shot('inspector-06-full');
    await page.getByRole('button', { name: 'Model crop only' }).click();
    await page.locator('.model-crop img[src*="/media/thumb/"]').waitFor();
  });

  it('walks the library with ←/→ and goes back with Esc', async () => {
    await page.locator('h1').click();
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction((id) => location.hash.startsWith(`#/image/${id}?`) || location.hash === `#/image/${id}`, images[1]!.imageId);
    await page.locator('[data-testid="walk-position"]', { hasText: '2 of 5' }).waitFor();
    await page.getByRole('button', { name: 'Previous photo' }).click();
    await page.waitForFunction((id) => location.hash.startsWith(`#/image/${id}`), images[0]!.imageId);
    await page.locator('[data-testid="walk-position"]', { hasText: '1 of 5' }).waitFor();
    await page.locator('h1').click();
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => location.hash.startsWith('#/library'));
  });

  it("opens the steering screen on this photo's chosen feature and token, ablated", async () => {
    const feature = img.tokens.idx[0]![0]!;
    await page.goto(`${s.origin}/#/image/${images[0]!.imageId}?token=0&feature=${feature}`);
    await page.getByRole('link', { name: 'Steer', exact: true }).click();
    await page.locator(`[data-testid="edit-row"][data-feature="${feature}"]`).waitFor();
    expect(decodeURIComponent(await page.evaluate(() => location.hash))).toContain(`/steer/${images[0]!.imageId}`);
    const cosine = page.locator('[data-testid="steer-cosine"]');
    // The first preview opens the steering engine (builds its graphs): seconds on a loaded machine.
    await expect.poll(async () => Number(await cosine.getAttribute('data-value') || 'NaN'), { timeout: 90_000 }).toBeLessThan(1);
  });

  it('selects a region with shift + arrow keys and links to the query of its strongest features there', async () => {
    await page.goto(`${s.origin}/#/image/${images[0]!.imageId}`);
    await page.getByRole('button', { name: 'patch 2,3', exact: true }).click();
    await expect.poll(focusedToken).toBe(String(1 + 16 * 2 + 3));
    await page.keyboard.press('Shift+ArrowRight');
    await page.keyboard.press('Shift+ArrowRight');
    await page.keyboard.press('Shift+ArrowDown');
    await expect.poll(() => param('region')).toBe('2-3x3-5');
    const regionPanel = page.locator('[data-testid="region-panel"]');
    await regionPanel.waitFor();
    expect(await regionPanel.innerText()).toContain('rows 2–3 × columns 3–5');
    // Each feature at its largest value over the region's six patches, per the CLI; the strongest three.
    const best = new Map<number, number>();
    for (let r = 2; r <= 3; r++) for (let c = 3; c <= 5; c++) {
      const t = 1 + 16 * r + c;
      img.tokens.idx[t]!.forEach((f, i) => best.set(f, Math.max(best.get(f) ?? 0, img.tokens.val[t]![i]!)));
    }
    const top = [...best.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, 3);
    expect(await regionPanel.locator('[data-testid="region-features"] li').evaluateAll((lis) => lis.map((li) => Number(li.getAttribute('data-feature'))))).toEqual(top.map(([f]) => f));
    const href = (await page.locator('[data-testid="region-query"]').getAttribute('href'))!;
    const query = new URLSearchParams(href.split('?')[1]);
    expect(query.get('region')).toBe('2-3x3-5');
    expect(query.get('all')).toBe(top.map(([f]) => f).join(','));
    const steer = new URLSearchParams((await page.locator('[data-testid="region-steer"]').getAttribute('href'))!.split('?')[1]);
    expect(steer.get('tokens')).toBe([36, 37, 38, 52, 53, 54].join(','));
    expect(await page.locator('[data-testid="region-outline"]').count()).toBe(1);
    await page.mouse.move(5, 400);
    await s.shot('inspector-07-region');
    expect(await s.a11y()).toEqual([]);

    // The query it leads to finds this photo: each of the features fires in the region here.
    await page.locator('[data-testid="region-query"]').click();
    await page.waitForFunction(() => location.hash.startsWith('#/query?'));
    await page.locator(`[data-testid="query-results"] .query-item[data-image-id="${images[0]!.imageId}"]`).waitFor();

    // Esc on the grid clears a region (and does not leave the inspector).
    await page.goBack();
    await page.getByRole('button', { name: 'patch 2,3', exact: true }).focus();
    await page.keyboard.press('Escape');
    await expect.poll(() => param('region')).toBe(null);
    expect(await hash()).toMatch(new RegExp(`^#/image/${images[0]!.imageId}`));
  });

  it('selects a region by dragging across the patches', async () => {
    const grid = page.getByRole('grid');
    const box = (await grid.boundingBox())!;
    const cell = box.width / 16;
    await page.mouse.move(box.x + cell * 8.5, box.y + cell * 1.5);
    await page.mouse.down();
    await page.mouse.move(box.x + cell * 10.5, box.y + cell * 3.5, { steps: 5 });
    await page.mouse.move(box.x + cell * 12.5, box.y + cell * 4.5, { steps: 5 });
    await page.mouse.up();
    await expect.poll(() => param('region')).toBe('1-4x8-12');
    // A drag is not a click: the pinned token stays.
    expect(await param('token')).toBe(String(1 + 16 * 2 + 3));
  });

  it('walks the feature gallery it was opened from with ←/→, in the gallery\'s order', async () => {
    // A feature that fires on at least three photos (and not on all five: its gallery has an order to keep).
    const features = (await s.cli('features', 'search', '--db', db, '--json', '--limit', '200', '--sort', 'frequency')) as { feature: number; images: number }[];
    const top = features.find((f) => f.images >= 3 && f.images < 5) ?? features.find((f) => f.images >= 3);
    const gallery = (await s.cli('gallery', String(top!.feature), '--token', 'any', '--db', db, '--json')) as { file: string }[];
    expect(gallery.length).toBeGreaterThanOrEqual(3);
    const ids = gallery.map((g) => images.find((i) => i.file === g.file)!.imageId);
    await page.goto(`${s.origin}/#/feature/${top!.feature}?token=any`);
    await page.locator('[data-testid="gallery"] .gallery-item').nth(1).locator('a').click();
    await page.waitForFunction((id) => location.hash.startsWith(`#/image/${id}?`), ids[1]);
    expect(await param('from')).toBe(`feature:${top!.feature}:any`);
    await page.locator('[data-testid="walk-position"]', { hasText: `2 of ${gallery.length}` }).waitFor();
    expect(await page.locator('[data-testid="walk-source"]').innerText()).toContain(`feature ${top!.feature}`);
    await page.locator('h1').click();
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction((id) => location.hash.startsWith(`#/image/${id}?`), ids[2]);
    await page.locator('[data-testid="walk-position"]', { hasText: `3 of ${gallery.length}` }).waitFor();
    await page.getByRole('button', { name: 'Previous photo' }).click();
    await page.waitForFunction((id) => location.hash.startsWith(`#/image/${id}?`), ids[1]);
    await page.getByRole('button', { name: 'Previous photo' }).click();
    await page.waitForFunction((id) => location.hash.startsWith(`#/image/${id}?`), ids[0]);
    await page.locator('[data-testid="walk-position"]', { hasText: `1 of ${gallery.length}` }).waitFor();
    expect(await page.getByRole('button', { name: 'Previous photo' }).isDisabled()).toBe(true);
  });

  it('had no page errors, console errors or failed requests', () => {
    expect(s.problems).toEqual([]);
  });
});
