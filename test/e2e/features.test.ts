/**
 * The features table and a feature's page end to end in chromium through `clipscope serve` on the
 * demo library: the table's first rows are `clipscope features search --json`'s (default order,
 * hide dead, sort by max, search by id and by label); each gallery tile's heat overlay is hottest
 * at the patch where `clipscope image --json` has the feature strongest; hovering a tile marks
 * its value on the histogram; j / k and ] / [ walk the features; a label saved here is the CLI's.
 * The table's rows carry an activation sparkline and their strongest photos (one previews call
 * per block of visible rows); the Quantiles tab shows the photos of `clipscope gallery
 * --quantiles`; the similar features are `clipscope features similar`'s.
 */
import { copyFile, mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { DEMO_PHOTOS, ROOT, hasChromium, startDemoSession, type Session } from './harness.js';

declare const location: { hash: string };

interface CliFeature {
  feature: number;
  images: number;
  frequency: number;
  maxAct: number;
}

describe.skipIf(!hasChromium)('features table and feature page in chromium (clipscope serve)', () => {
  let s: Session;
  let page: Page;
  let db: string;
  let feature: number;

  /** The bodies of the page's features.previews calls (each asks for one block of rows). */
  const previewCalls: number[][] = [];

  beforeAll(async () => {
    ({ s, db } = await startDemoSession());
    page = s.page;
    page.on('request', (req) => {
      if (req.url().endsWith('/api/features.previews')) previewCalls.push((JSON.parse(req.postData() ?? '{}') as { features: number[] }).features);
    });
    const img = await s.cli('image', path.join(DEMO_PHOTOS, 'chelsea.png'), '--db', db, '--json');
    feature = img.tokens.idx[0][0] as number;
  });

  afterAll(async () => {
    await s?.close();
  });

  const rows = () => page.locator('[data-testid="feature-row"]');

  /** The table's first `n` rows equal the CLI's answer for the same filters. */
  async function expectFirstRows(cliArgs: string[], n = 15): Promise<void> {
    const want = (await s.cli('features', 'search', '--db', db, '--json', '--limit', String(n), ...cliArgs)) as CliFeature[];
    expect(want.length).toBeGreaterThan(0);
    await expect.poll(async () => (await rows().count()) >= Math.min(n, want.length)).toBe(true);
    await expect
      .poll(() => rows().evaluateAll((els, k) => els.slice(0, k).map((e) => Number((e as unknown as { dataset: { feature: string } }).dataset.feature)), n))
      .toEqual(want.map((f) => f.feature));
    for (let i = 0; i < Math.min(5, want.length); i++) {
      const row = rows().nth(i);
      expect(Number(await row.locator('.ft-freq').getAttribute('data-value'))).toBe(want[i]!.frequency);
      expect(Number(await row.locator('.ft-max').getAttribute('data-value'))).toBe(want[i]!.maxAct);
      expect(Number(await row.locator('.ft-images').getAttribute('data-value'))).toBe(want[i]!.images);
    }
  }

  it('lists the features in the order and with the numbers of `clipscope features search`', async () => {
    await page.getByRole('link', { name: 'Features' }).click();
    await page.waitForFunction(() => location.hash.startsWith('#/features'));
    await expectFirstRows([]);
    await s.shot('features-01-table');
  });

  it("shows each visible row's activation sparkline and strongest photos, one previews call per block of rows", async () => {
    await page.goto(`${s.origin}/#/features?dead=hide`);
    // A fresh page: nothing cached, every preview on screen is asked for now.
    previewCalls.length = 0;
    await page.reload();
    await expect.poll(() => rows().count()).toBeGreaterThan(5);
    await expect.poll(() => page.locator('[data-testid="feature-row"] [data-testid="thumbstrip"]').count()).toBe(await rows().count());
    const visible = await rows().evaluateAll((els) => els.map((e) => Number((e as unknown as { dataset: { feature: string } }).dataset.feature)));
    // Rows come in blocks of 25: a screen of rows takes one or two calls, never one per row.
    expect(previewCalls.length).toBeGreaterThan(0);
    expect(previewCalls.length).toBeLessThanOrEqual(Math.ceil(visible.length / 25) + 1);
    expect(previewCalls.flat().sort((a, b) => a - b)).toEqual([...new Set(previewCalls.flat())].sort((a, b) => a - b));
    for (const f of visible.slice(0, 6)) {
      const row = page.locator(`[data-testid="feature-row"][data-feature="${f}"]`);
      const top = (await s.cli('gallery', String(f), '--token', 'any', '--limit', '4', '--db', db, '--json')) as { file: string; act: number }[];
      const strip = row.locator('[data-testid="thumbstrip"]');
      expect(Number(await strip.getAttribute('data-count'))).toBe(top.length);
      const label = (await strip.getAttribute('aria-label'))!;
      expect(label).toBe(`Strongest photos: ${top.map((t) => `${path.basename(t.file)} (activation ${t.act.toFixed(2)})`).join(', ')}`);
      const show = (await s.cli('features', 'show', String(f), '--db', db, '--json')) as { histogram: unknown[] };
      expect(Number(await row.locator('[data-testid="sparkline"]').getAttribute('data-bins'))).toBe(show.histogram.length);
      expect(await row.locator('[data-testid="sparkline"] rect').count()).toBe(show.histogram.length);
    }
    await s.allDecoded('[data-testid="thumbstrip"] img');
    await s.shot('features-05-previews');
  });

  it('hides dead features, sorts by max activation and finds a feature by id, as the CLI does', async () => {
    await page.getByRole('checkbox', { name: 'Hide dead' }).check();
    await page.waitForFunction(() => location.hash.includes('dead=hide'));
    await expectFirstRows(['--no-dead']);
    await page.getByRole('combobox', { name: 'Sort by' }).selectOption('max');
    await page.waitForFunction(() => location.hash.includes('sort=max'));
    await expectFirstRows(['--no-dead', '--sort', 'max']);
    await page.getByRole('searchbox', { name: 'Search features' }).fill(String(feature));
    await expect.poll(() => rows().count()).toBe(1);
    expect(await rows().first().getAttribute('data-feature')).toBe(String(feature));
    await rows().first().locator('.ft-label').click();
    await page.waitForFunction((want) => location.hash.startsWith(want), `#/feature/${feature}?`);
  });

  it('draws each tile\'s heat hottest at the patch where `clipscope image` has the feature strongest', async () => {
    await page.goto(`${s.origin}/#/feature/${feature}?token=any`);
    await page.locator('[data-testid="gallery-total"]').waitFor();
    const items = page.locator('[data-testid="gallery"] .gallery-item');
    const n = await items.count();
    expect(n).toBeGreaterThan(0);
    await expect.poll(() => page.locator('[data-testid="gallery"] img.heat-overlay').count()).toBeGreaterThan(0);
    let checked = 0;
    for (let i = 0; i < n; i++) {
      const item = items.nth(i);
      const file = (await item.locator('a').getAttribute('title'))!;
      const img = await s.cli('image', file, '--db', db, '--json');
      let best = -1;
      let bestValue = 0;
      for (let t = 1; t <= 256; t++) {
        const k = (img.tokens.idx[t] as number[]).indexOf(feature);
        const v = k >= 0 ? (img.tokens.val[t][k] as number) : 0;
        if (v > bestValue) [best, bestValue] = [t, v];
      }
      const overlay = item.locator('img.heat-overlay');
      if (best < 0) continue; // fires on CLS only: no patch to check on this tile
      // The overlay's own 16 × 16 pixels, read back through a canvas.
      const alpha = await overlay.evaluate(async (el) => {
        type Ctx = { drawImage(i: unknown, x: number, y: number): void; getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
        const img = el as unknown as { decode(): Promise<void>; naturalWidth: number };
        await img.decode();
        const c = (globalThis as unknown as { document: { createElement(t: 'canvas'): { width: number; height: number; getContext(k: '2d'): Ctx } } }).document.createElement('canvas');
        c.width = 16;
        c.height = 16;
        const ctx = c.getContext('2d');
        ctx.drawImage(img, 0, 0);
        const d = ctx.getImageData(0, 0, 16, 16).data;
        return img.naturalWidth === 16 ? Array.from({ length: 256 }, (_, p) => d[p * 4 + 3]!) : [];
      });
      const max = Math.max(...alpha);
      expect(max, file).toBeGreaterThan(0);
      expect(alpha[best - 1], `${file}: token ${best}`).toBe(max);
      expect(await overlay.getAttribute('data-peak')).toBe(String(best));
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
    // One colour scale for the page: the legend's top is the largest patch value of the page's feature.heat answer.
    const ids = await items.evaluateAll((els) => els.map((e) => Number((e as unknown as { dataset: { imageId: string } }).dataset.imageId)));
    const heat = (await s.api('feature.heat', { feature, imageIds: ids })) as { images: { tokens: number[]; values: number[] }[] };
    const top = Math.max(...heat.images.flatMap((im) => im.values.filter((_, i) => im.tokens[i]! >= 1)));
    expect(Number(await page.locator('[data-testid="heat-legend"]').getAttribute('data-max'))).toBe(top);
    await s.allDecoded('[data-testid="gallery"] img');
    await s.shot('features-02-feature-heat');
  });

  it('marks the hovered tile\'s activation on the histogram and shows the CLI\'s statistics', async () => {
    const details = (await s.cli('features', 'show', String(feature), '--db', db, '--json')) as { maxAct: number; meanAct: number };
    const first = page.locator('[data-testid="gallery"] .gallery-item').first();
    await first.hover();
    const marker = page.locator('[data-testid="histogram-marker"]');
    await marker.waitFor();
    expect(Number(await marker.getAttribute('data-value'))).toBe(Number(await first.getAttribute('data-act')));
    const stats = await page.locator('[data-testid="feature-stats"]').innerText();
    expect(stats).toContain(details.maxAct.toFixed(3));
    expect(stats).toContain(details.meanAct.toFixed(3));
    await s.shot('features-03-hover');
  });

  it("shows a patch token's gallery as `clipscope gallery --token N` has it, from bounded calls of the view's channel", async () => {
    // The patch where the feature is strongest on chelsea: its gallery has that photo at least.
    const img = await s.cli('image', path.join(DEMO_PHOTOS, 'chelsea.png'), '--db', db, '--json');
    let token = 1;
    let best = 0;
    for (let t = 1; t <= 256; t++) {
      const k = (img.tokens.idx[t] as number[]).indexOf(feature);
      if (k >= 0 && (img.tokens.val[t][k] as number) > best) [token, best] = [t, img.tokens.val[t][k] as number];
    }
    expect(best).toBeGreaterThan(0);
    const want = (await s.cli('gallery', String(feature), '--token', String(token), '--limit', '1000', '--db', db, '--json')) as { file: string; act: number; token: number }[];
    expect(want.length).toBeGreaterThan(0);
    const calls: { maxReads?: number; channel?: string; token?: unknown }[] = [];
    const onRequest = (req: { url(): string; postData(): string | null }) => {
      if (req.url().endsWith('/api/gallery.get')) calls.push(JSON.parse(req.postData() ?? '{}'));
    };
    page.on('request', onRequest);
    try {
      await page.goto(`${s.origin}/#/feature/${feature}?token=${token}`);
      const items = page.locator('[data-testid="gallery"] .gallery-item');
      await expect.poll(() => items.count()).toBe(want.length);
      const shown = await items.evaluateAll((els) => els.map((e) => {
        const el = e as unknown as { dataset: { act: string; token: string }; querySelector(sel: string): { title: string } };
        return { file: el.querySelector('a').title, act: Number(el.dataset.act), token: Number(el.dataset.token) };
      }));
      expect(shown).toEqual(want.map((w) => ({ file: w.file, act: w.act, token: w.token })));
      expect(await page.locator('[data-testid="gallery-total"]').innerText()).toContain(`${want.length} photo`);
      const top = calls.filter((c) => c.channel === 'feature-top');
      expect(top.length).toBeGreaterThan(0);
      expect(top.every((c) => c.token === token && typeof c.maxReads === 'number' && c.maxReads > 0)).toBe(true);
      await s.allDecoded('[data-testid="gallery"] img');
      await s.shot('features-07-patch-token');
    } finally {
      page.off('request', onRequest);
    }
  });

  it('moves between tiles with the arrow keys, and Esc from the inspector comes back to the same scroll position', async () => {
    // A short window: the page scrolls even with the demo's few photos.
    await page.setViewportSize({ width: 1100, height: 520 });
    try {
      await page.goto(`${s.origin}/#/feature/${feature}?token=any`);
      const links = page.locator('[data-testid="gallery"] .gallery-item a.gallery-tile');
      await expect.poll(() => links.count()).toBeGreaterThan(1);
      const rankOfFocus = () => page.evaluate(() => (globalThis as unknown as { document: { activeElement: { closest(s: string): { getAttribute(a: string): string } | null } | null } })
        .document.activeElement?.closest('li')?.getAttribute('data-rank') ?? null);
      await links.first().focus();
      await page.keyboard.press('ArrowRight');
      await expect.poll(rankOfFocus).toBe('1');
      await page.keyboard.press('ArrowLeft');
      await expect.poll(rankOfFocus).toBe('0');
      await page.keyboard.press('ArrowRight');
      await expect.poll(rankOfFocus).toBe('1');
      const main = page.locator('main#main');
      const scrollTop = () => main.evaluate((el) => (el as unknown as { scrollTop: number }).scrollTop);
      // Scrolled part way: the focused tile still on screen.
      await main.evaluate((el) => {
        const m = el as unknown as { scrollTop: number; scrollHeight: number; clientHeight: number };
        m.scrollTop = Math.min(120, m.scrollHeight - m.clientHeight);
      });
      const before = await scrollTop();
      expect(before).toBeGreaterThan(0);
      const id = await links.nth(1).evaluate((a) => (a as unknown as { closest(s: string): { getAttribute(a: string): string } }).closest('li').getAttribute('data-image-id'));
      await page.keyboard.press('Enter');
      await page.waitForFunction((want) => location.hash.startsWith(`#/image/${want}?`), id);
      await page.locator('[data-testid="walk-position"]').waitFor();
      await page.keyboard.press('Escape');
      await page.waitForFunction((want) => location.hash.startsWith(want), `#/feature/${feature}?`);
      await expect.poll(() => links.count()).toBeGreaterThan(1);
      await expect.poll(scrollTop).toBe(before);
      await s.shot('features-08-back-from-inspector');
    } finally {
      await page.setViewportSize({ width: 1360, height: 860 });
    }
  });

  it('shows on the Quantiles tab the photos and values of `clipscope gallery --quantiles`, with their heat', async () => {
    await page.goto(`${s.origin}/#/feature/${feature}?token=any`);
    await page.getByRole('tab', { name: 'Quantiles' }).click();
    await page.waitForFunction(() => location.hash.includes('view=quantiles'));
    const want = (await s.cli('gallery', String(feature), '--token', 'any', '--quantiles', '0.99,0.9,0.5,0.1', '--limit', '6', '--db', db, '--json')) as
      { file: string; act: number; token: number; quantile: number }[];
    expect(want.length).toBeGreaterThan(0);
    const bands = page.locator('[data-testid="quantile-band"]');
    await expect.poll(() => bands.count()).toBe(4);
    const shown = await page.locator('[data-testid="quantile-band"] .gallery-item').evaluateAll((els) => els.map((e) => {
      const el = e as unknown as { dataset: { act: string; token: string }; closest(sel: string): { dataset: { quantile: string } }; querySelector(sel: string): { title: string } };
      return { file: el.querySelector('a').title, act: Number(el.dataset.act), token: Number(el.dataset.token), quantile: Number(el.closest('[data-testid="quantile-band"]').dataset.quantile) };
    }));
    expect(shown).toEqual(want);
    await expect.poll(() => page.locator('[data-testid="quantiles"] img.heat-overlay').count()).toBeGreaterThan(0);
    // The tab is in the URL: a reload lands on it.
    await page.reload();
    await expect.poll(() => bands.count()).toBe(4);
    expect(await page.getByRole('tab', { name: 'Quantiles' }).getAttribute('aria-selected')).toBe('true');
    await s.allDecoded('[data-testid="quantiles"] img');
    await s.shot('features-06-quantiles');
    expect(await s.a11y()).toEqual([]);
  });

  it('lists the similar features of `clipscope features similar`, each a link, with its cosine', async () => {
    const want = (await s.cli('features', 'similar', String(feature), '--db', db, '--json')) as { feature: number; cosine: number }[];
    const items = page.locator('[data-testid="similar-features"] li');
    await expect.poll(() => items.count()).toBe(want.length);
    const shown = await items.evaluateAll((els) => els.map((e) => {
      const el = e as unknown as { dataset: { feature: string; cosine: string } };
      return { feature: Number(el.dataset.feature), cosine: Number(el.dataset.cosine) };
    }));
    expect(shown).toEqual(want.map((w) => ({ feature: w.feature, cosine: w.cosine })));
    expect(await items.first().locator('.num').innerText()).toBe(want[0]!.cosine.toFixed(3));
    await items.first().getByRole('link').click();
    await page.waitForFunction((want) => location.hash.startsWith(want) && location.hash.includes('view=quantiles'), `#/feature/${want[0]!.feature}?`);
    await page.goBack();
    await page.waitForFunction((want) => location.hash.startsWith(want), `#/feature/${feature}?`);
    expect(await page.getByTestId('find-with').getAttribute('href')).toBe(`#/query?all=${feature}`);
  });

  it('walks to the next and previous feature with ] and [', async () => {
    await page.locator('main').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press(']');
    await page.waitForFunction((want) => location.hash.startsWith(want), `#/feature/${feature + 1}?`);
    await page.locator('[data-testid="quantile-band"], .empty').first().waitFor();
    await page.keyboard.press('[');
    await page.waitForFunction((want) => location.hash.startsWith(want), `#/feature/${feature}?`);
  });

  it('walks to the next and previous feature with j and k', async () => {
    await page.locator('main').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('j');
    await page.waitForFunction((want) => location.hash.startsWith(want), `#/feature/${feature + 1}?`);
    await page.keyboard.press('k');
    await page.waitForFunction((want) => location.hash.startsWith(want), `#/feature/${feature}?`);
  });

  it('saves a label the CLI then reads, and the table finds it', async () => {
    await page.getByRole('textbox', { name: 'Label' }).fill('whiskers, maybe');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('[data-testid="feature-label"]').waitFor();
    expect(await page.locator('[data-testid="feature-label"]').innerText()).toBe('whiskers, maybe');
    const cli = (await s.cli('features', 'search', '--db', db, '--json', '--text', 'whisk')) as CliFeature[];
    expect(cli.map((f) => f.feature)).toEqual([feature]);
    await page.goto(`${s.origin}/#/features?q=whisk`);
    await expect.poll(() => rows().count()).toBe(1);
    expect(await rows().first().locator('.ft-label').innerText()).toContain('whiskers, maybe');
    await s.shot('features-04-label');
  });

  it('has no serious accessibility violation on the table and on a feature page', async () => {
    expect(await s.a11y()).toEqual([]);
    await page.goto(`${s.origin}/#/feature/${feature}?token=any`);
    await page.locator('[data-testid="gallery"] img.heat-overlay').first().waitFor();
    expect(await s.a11y()).toEqual([]);
  });

  it("reads ?layer= on the address `clipscope serve` prints (with its ?token=), and drops the token from it", async () => {
    const bodies: { layer?: unknown }[] = [];
    const onRequest = (req: { url(): string; postData(): string | null }) => {
      if (req.url().endsWith('/api/features.search')) bodies.push(JSON.parse(req.postData() ?? '{}'));
    };
    page.on('request', onRequest);
    try {
      await page.goto(`${s.url}#/features?layer=2`);
      await expect.poll(() => rows().count()).toBeGreaterThan(5);
      expect(bodies.length).toBeGreaterThan(0);
      expect(bodies.every((b) => b.layer === 2)).toBe(true);
      expect(await page.evaluate(() => (globalThis as unknown as { location: { search: string } }).location.search)).toBe('');
      expect(await page.evaluate(() => location.hash)).toBe('#/features?layer=2');
    } finally {
      page.off('request', onRequest);
    }
  });

  it("says in the Similar features section alone that the SAE file is missing, and shows the rest of the page", async () => {
    // A second configuration (layer 3) from a copy of the demo SAE, which then goes away (moved).
    const sae = path.join(s.tmp, 'sae-copy', '10280.pt');
    await mkdir(path.dirname(sae), { recursive: true });
    await copyFile(path.join(ROOT, 'resources/demo/sae/2_resid/10280.pt'), sae);
    await s.api('index.start', { model: path.join(ROOT, 'resources/demo/clip'), sae, layer: 3 });
    await expect.poll(async () => {
      const st = (await s.api('index.status')) as { job: { state: string; layer: number | null } | null };
      return st.job?.layer === 3 ? st.job.state : null;
    }, { timeout: 90_000 }).toBe('done');
    await rename(sae, `${sae}.moved`);
    s.expectUserError(/\/api\/feature\.similar$/);
    try {
      await page.goto(`${s.origin}/#/feature/${feature}?token=any&layer=3`);
      const note = page.locator('[data-testid="similar-unavailable"]');
      await note.waitFor();
      expect(await note.innerText()).toContain("this library's SAE file is missing");
      expect(await note.getAttribute('title')).toContain(sae);
      // Only there: no alert anywhere, the gallery and the statistics are shown.
      expect(await page.getByRole('alert').count()).toBe(0);
      await expect.poll(() => page.locator('[data-testid="gallery"] .gallery-item').count()).toBeGreaterThan(0);
      await page.locator('[data-testid="feature-stats"]').waitFor();
      await s.shot('features-09-sae-missing');
    } finally {
      s.expectUserError(null);
    }
  });

  it('had no page errors, console errors or failed requests', () => {
    expect(s.problems).toEqual([]);
  });
});
