/**
 * The command palette end to end in chromium through `clipscope serve` on the demo library:
 * Ctrl+K anywhere, a label set through labels.set lands on its feature, a file name on the
 * photo's inspector, a number on that feature; arrows choose; Esc closes; the `?` sheet lists
 * the keys.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { DEMO_PHOTOS, hasChromium, startDemoSession, type Session } from './harness.js';

declare const location: { hash: string };

describe.skipIf(!hasChromium)('command palette in chromium (clipscope serve)', () => {
  let s: Session;
  let page: Page;
  let db: string;
  let feature: number;

  beforeAll(async () => {
    ({ s, db } = await startDemoSession());
    page = s.page;
    const img = await s.cli('image', path.join(DEMO_PHOTOS, 'coffee.png'), '--db', db, '--json');
    feature = img.tokens.idx[0][1] as number;
    await s.api('labels.set', { feature, label: 'Steam over a cup' });
  });

  afterAll(async () => {
    await s?.close();
  });

  const palette = () => page.getByTestId('palette');
  const input = () => page.getByRole('combobox', { name: 'Go to a feature, a label or a photo' });
  const options = () => page.locator('[data-testid="palette"] [role="option"]');

  async function open(): Promise<void> {
    await page.locator('main').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('Control+k');
    await palette().waitFor();
    await expect.poll(() => input().evaluate((e) => e === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement)).toBe(true);
  }

  it('opens with Ctrl+K and goes to the feature whose label was typed', async () => {
    await page.goto(`${s.origin}/#/metrics`);
    await open();
    await page.keyboard.type('steam over');
    await expect.poll(() => options().first().innerText()).toContain(`Feature ${feature}`);
    expect(await options().first().innerText()).toContain('Steam over a cup');
    expect(await options().first().getAttribute('aria-selected')).toBe('true');
    expect(await input().getAttribute('aria-activedescendant')).toBe(await options().first().getAttribute('id'));
    await s.shot('palette-01-label');
    expect(await s.a11y()).toEqual([]);
    await page.keyboard.press('Enter');
    await page.waitForFunction((want) => location.hash.startsWith(want), `#/feature/${feature}?`);
    await expect.poll(() => palette().count()).toBe(0);
    expect(await page.getByTestId('feature-label').innerText()).toBe('Steam over a cup');
  });

  it("goes to a photo's inspector by its file name", async () => {
    const found = (await s.api('images.search', { text: 'hubble' })) as { imageId: number; file: string }[];
    expect(found.map((f) => path.basename(f.file))).toEqual(['hubble_deep_field.jpg']);
    await open();
    await page.keyboard.type('HUBBLE_deep');
    const photo = page.locator('[data-testid="palette"] [role="option"][data-kind="photo"]');
    await expect.poll(() => photo.count()).toBe(1);
    expect(await photo.innerText()).toContain('hubble_deep_field.jpg');
    await s.allDecoded('[data-testid="palette"] img');
    await s.shot('palette-02-photo');
    await page.keyboard.press('Enter');
    await page.waitForFunction((want) => location.hash.startsWith(want), `#/image/${found[0]!.imageId}`);
  });

  it('chooses with the arrow keys, goes to a feature by number, and closes with Esc', async () => {
    await open();
    await page.keyboard.type('.png');
    await expect.poll(() => options().count()).toBe(3);
    const names = await options().allInnerTexts();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowUp');
    expect(await options().nth(1).getAttribute('aria-selected')).toBe('true');
    const want = (await s.api('images.search', { text: '.png' })) as { imageId: number; file: string }[];
    expect(names.map((n) => n.split('\n')[0])).toEqual(want.map((w) => path.basename(w.file)));
    await page.keyboard.press('Enter');
    await page.waitForFunction((id) => location.hash.startsWith(`#/image/${id}`), want[1]!.imageId);

    await open();
    await page.keyboard.type('#7');
    await expect.poll(() => options().first().innerText()).toContain('Feature 7');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => location.hash.startsWith('#/feature/7?'));

    await open();
    await page.keyboard.type('zzz-nothing');
    await expect.poll(() => page.locator('[data-testid="palette"] [role="status"]').innerText()).toBe('Nothing matches "zzz-nothing".');
    await page.keyboard.press('Escape');
    await expect.poll(() => palette().count()).toBe(0);
    expect(await page.evaluate(() => location.hash)).toMatch(/^#\/feature\/7\?/);
    // A click outside closes it too, and the rail's "Go to" opens it for the mouse.
    await page.getByRole('button', { name: 'Go to' }).click();
    await palette().waitFor();
    await page.mouse.click(700, 820);
    await expect.poll(() => palette().count()).toBe(0);
  });

  it('is listed in the keyboard sheet with the feature keys', async () => {
    await page.locator('main').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('?');
    const sheet = page.locator('dialog[open]');
    await sheet.waitFor();
    const text = await sheet.innerText();
    expect(text).toContain('Ctrl+K');
    expect(text).toContain('Next feature');
    expect(text).toContain('Previous feature');
    await page.keyboard.press('Escape');
  });

  it('had no page errors, console errors or failed requests', () => {
    expect(s.problems).toEqual([]);
  });
});
