/**
 * The explorer's screens in small windows (900 × 700 and 1280 × 800), in chromium on the demo
 * library indexed at layers 2 and 3: the query view with two regions, the Ctrl+K palette, the
 * feature page (Top, Quantiles, similar features), the steering screen with its "At layer 3" panel
 * and the inspector. Nothing may widen the page past the window (a horizontal scroll bar) or
 * stick out of its card; screenshots of each go to test/e2e/.artifacts/narrow-*.png.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { hasChromium, startDemoSession, type Session } from './harness.js';

/** Elements wider than the window, or sticking out of the right edge of their card or side panel. */
async function overflows(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const doc = (globalThis as unknown as { document: any; innerWidth: number }).document; // eslint-disable-line @typescript-eslint/no-explicit-any
    const width = (globalThis as unknown as { innerWidth: number }).innerWidth;
    const out: string[] = [];
    if (doc.documentElement.scrollWidth > width) out.push(`the page is ${doc.documentElement.scrollWidth}px wide in a ${width}px window`);
    const main = doc.querySelector('main#main');
    if (main && main.scrollWidth > main.clientWidth + 1) out.push(`the view scrolls sideways (${main.scrollWidth}px in ${main.clientWidth}px)`);
    const name = (el: any) => `${el.tagName.toLowerCase()}${el.className && typeof el.className === 'string' ? `.${el.className.trim().split(/\s+/).join('.')}` : ''}`; // eslint-disable-line @typescript-eslint/no-explicit-any
    for (const box of doc.querySelectorAll('.card, .query-side, .query-fieldset, [role="dialog"]')) {
      const right = box.getBoundingClientRect().right;
      for (const el of box.querySelectorAll('*')) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.height === 0) continue;
        // Inside something that clips or scrolls sideways, it is seen through it.
        let clipped = false;
        for (let p = el.parentElement; p && p !== box; p = p.parentElement) {
          if (getComputedStyle(p).overflowX !== 'visible') clipped = true;
        }
        if (!clipped && r.right > right + 1) out.push(`${name(el)} sticks out of ${name(box)} by ${Math.round(r.right - right)}px`);
      }
    }
    return [...new Set(out)].slice(0, 10);
  });
}

declare function getComputedStyle(el: unknown): { overflowX: string };

describe.skipIf(!hasChromium)('small windows in chromium (clipscope serve, demo library at layers 2 and 3)', () => {
  let s: Session;
  let page: Page;
  let imageId: number;
  let feature: number;

  beforeAll(async () => {
    ({ s } = await startDemoSession());
    page = s.page;
    const models = (await s.api('models.list')) as { kind: string; path: string }[];
    const model = models.find((m) => m.kind === 'vision')!.path;
    const sae = models.find((m) => m.kind === 'sae')!.path;
    await s.api('index.start', { model, sae, layer: 3 });
    // (expect.poll works only inside a test.)
    for (let waited = 0; ; waited += 200) {
      const job = ((await s.api('index.status')) as { job: { state: string; layer: number | null } | null }).job;
      if (job?.state === 'done' && job.layer === 3) break;
      if (waited > 120_000) throw new Error(`indexing at layer 3 did not finish: ${JSON.stringify(job)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const list = (await s.api('images.list', { limit: 10 })) as { items: { imageId: number; file: string }[] };
    imageId = list.items.find((i) => i.file.endsWith('chelsea.png'))!.imageId;
    const image = (await s.api('image.get', { imageId, layer: 2 })) as { cls: { feature: number }[] };
    feature = image.cls[0]!.feature;
  });
  afterAll(async () => {
    await s?.close();
  });

  for (const [width, height] of [[900, 700], [1280, 800]] as const) {
    describe(`${width} × ${height}`, () => {
      /** `top`: the view scrolled back to its top first (a view may scroll a focused control into sight). */
      const shot = async (name: string, top = true) => {
        await page.mouse.move(2, height - 2);
        if (top) await page.locator('main#main').evaluate((el) => (el as unknown as { scrollTop: number }).scrollTop = 0);
        await s.shot(`narrow-${width}-${name}`);
        expect(await overflows(page)).toEqual([]);
      };
      beforeAll(async () => {
        await page.setViewportSize({ width, height });
      });

      it('query view with two regions, and the Ctrl+K palette over it', async () => {
        await page.goto(`${s.origin}/#/query?layer=2&all=${feature}&any=${feature + 1},${feature + 2}:0.5&region=0-3x0-3,8-15x8-15`);
        await page.locator('[data-testid="query-total"]').waitFor();
        await expect.poll(() => page.locator('[data-testid="query-total"]').innerText()).not.toContain('Searching');
        await shot('query');
        await page.locator('main').click({ position: { x: 5, y: 5 } });
        await page.keyboard.press('Control+k');
        await page.getByTestId('palette').waitFor();
        await page.keyboard.type('1');
        await page.locator('[data-testid="palette"] [role="option"]').first().waitFor();
        await shot('palette');
        await page.keyboard.press('Escape');
      });

      it('feature page: Top, Quantiles and similar features', async () => {
        await page.goto(`${s.origin}/#/feature/${feature}?layer=2&token=any`);
        await page.locator('[data-testid="gallery"] .gallery-item').first().waitFor();
        await s.allDecoded('[data-testid="gallery"] img');
        await shot('feature-top');
        await page.goto(`${s.origin}/#/feature/${feature}?layer=2&token=any&view=quantiles`);
        await page.locator('[data-testid="quantiles"] img').first().waitFor();
        await s.allDecoded('[data-testid="quantiles"] img');
        await shot('feature-quantiles');
        const similar = page.locator('[data-testid="similar-features"]');
        await similar.locator('li').first().waitFor();
        await similar.scrollIntoViewIfNeeded();
        await shot('feature-similar', false);
      });

      it('steering screen with its "At layer 3" panel', async () => {
        await page.goto(`${s.origin}/#/steer/${imageId}?layer=2&tokens=cls&edits=${feature}:=8@all`);
        const panel = page.locator('[data-testid="later-layer"][data-layer="3"]');
        await panel.waitFor({ timeout: 60_000 });
        await s.allDecoded('.steer img');
        await shot('steer');
        await panel.scrollIntoViewIfNeeded();
        await shot('steer-later', false);
      });

      it('inspector', async () => {
        await page.goto(`${s.origin}/#/image/${imageId}?layer=2&feature=${feature}&region=2-5x3-7`);
        await page.getByRole('grid').waitFor();
        await page.locator('[data-testid="token-features"] li').first().waitFor();
        await shot('inspector');
      });
    });
  }

  it('had no page errors, console errors or failed requests', () => {
    expect(s.problems).toEqual([]);
  });
});
