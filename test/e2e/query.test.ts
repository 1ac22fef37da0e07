/**
 * The query view end to end in chromium through `clipscope serve` on the demo library: a query
 * built by clicking (a feature picked by number, a minimum activation, a region dragged on the
 * grid) shows the photos, order and scores of `clipscope query --json`; a reload lands on the
 * same query; Enter opens a result in the inspector, whose → walks the results; a pasted query
 * with no match says what to change, and an unreadable parameter is named.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { hasChromium, startDemoSession, type Session } from './harness.js';

declare const location: { hash: string };

interface ApiHit { imageId: number; file: string; score: number }
interface CliHit { file: string; score: number }

describe.skipIf(!hasChromium)('query view in chromium (clipscope serve, demo library)', () => {
  let s: Session;
  let page: Page;
  let db: string;
  let feature: number;
  let min: number;
  let want: CliHit[];
  let idOf: Map<string, number>;
  const REGION = '0-7x0-7';
  const hash = () => page.evaluate(() => location.hash);
  const param = async (name: string) => new URLSearchParams((await hash()).split('?')[1] ?? '').get(name);
  /** The result tiles as shown: image ids and scores, in order. */
  const shown = () =>
    page.locator('[data-testid="query-results"] .query-item').evaluateAll((els) =>
      els.map((e) => [Number(e.getAttribute('data-image-id')), Number(e.getAttribute('data-score'))]));

  beforeAll(async () => {
    ({ s, db } = await startDemoSession());
    page = s.page;
    const images = (await s.api('images.list', { limit: 100 })) as { items: { imageId: number; file: string }[] };
    idOf = new Map(images.items.map((i) => [i.file, i.imageId]));
    // The feature that fires in the top-left quarter on the most photos; a minimum that keeps at least two.
    const region = [0, 7, 0, 7];
    const img = (await s.api('image.get', { imageId: images.items[0]!.imageId })) as { tokens: { idx: number[][] } };
    const candidates = new Set<number>();
    for (let r = 0; r <= 7; r++) for (let c = 0; c <= 7; c++) img.tokens.idx[1 + 16 * r + c]!.slice(0, 3).forEach((f) => candidates.add(f));
    let best: { feature: number; hits: ApiHit[] } | null = null;
    for (const f of [...candidates].slice(0, 20)) {
      const r = (await s.api('query.run', { all: [{ feature: f }], regions: [region] })) as { items: ApiHit[] };
      if (!best || r.items.length > best.hits.length) best = { feature: f, hits: r.items };
    }
    expect(best!.hits.length).toBeGreaterThanOrEqual(2);
    feature = best!.feature;
    min = Math.floor(best!.hits[1]!.score * 0.9 * 100) / 100;
    want = await s.cli('query', '--all', `${feature}:${min}`, '--region', REGION, '--db', db, '--json');
    expect(want.length).toBeGreaterThanOrEqual(2);
  });

  afterAll(async () => {
    await s?.close();
  });

  it('builds a query by clicking: a feature chip with a minimum activation, and a dragged region', async () => {
    await page.goto(`${s.origin}/#/query`);
    await page.getByText('Build a query').waitFor();
    const picker = page.getByRole('combobox', { name: 'Find a feature' });
    await picker.click();
    await picker.fill(String(feature));
    await page.locator(`[role="option"][data-feature="${feature}"]`).click();
    await page.locator('[data-testid="picked"]').waitFor();
    await page.getByRole('spinbutton', { name: 'Minimum activation (optional)' }).fill(String(min));
    await page.getByRole('button', { name: /^Add to/ }).click();
    await page.locator(`.term-chip.term-all[data-feature="${feature}"][data-min="${min}"]`).waitFor();
    await expect.poll(() => param('all')).toBe(`${feature}:${min}`);

    // Drag from patch 0,0 to patch 7,7 of the 16 × 16 picker.
    const grid = page.locator('.region-grid');
    const box = (await grid.boundingBox())!;
    const cell = box.width / 16;
    await page.mouse.move(box.x + cell * 0.5, box.y + cell * 0.5);
    await page.mouse.down();
    await page.mouse.move(box.x + cell * 4, box.y + cell * 4, { steps: 4 });
    await page.mouse.move(box.x + cell * 7.5, box.y + cell * 7.5, { steps: 4 });
    await page.mouse.up();
    await expect.poll(() => param('region')).toBe(REGION);
    expect(await grid.getAttribute('data-region')).toBe('0,7,0,7');
    expect(await page.locator('[data-testid="region-text"]').innerText()).toContain('rows 0–7 × columns 0–7');
  });

  it('shows the photos, order and scores of `clipscope query --json`', async () => {
    const expected = want.map((h) => [idOf.get(h.file)!, h.score]);
    await expect.poll(shown).toEqual(expected);
    const total = page.locator('[data-testid="query-total"]');
    expect(await total.innerText()).toMatch(new RegExp(`${want.length} photos|At least ${want.length} photos`));
    await s.allDecoded('[data-testid="query-results"] img');
    await page.mouse.move(5, 5);
    await s.shot('query-01-results');
    expect(await s.a11y()).toEqual([]);
  });

  it('lands on the same query after a reload', async () => {
    await page.reload();
    await page.locator(`.term-chip.term-all[data-feature="${feature}"][data-min="${min}"]`).waitFor();
    expect(await page.locator('.region-grid').getAttribute('data-region')).toBe('0,7,0,7');
    await expect.poll(shown).toEqual(want.map((h) => [idOf.get(h.file)!, h.score]));
  });

  it('opens a result with Enter and walks the results with → in the inspector', async () => {
    const focused = () => page.evaluate<string | null>("document.activeElement && document.activeElement.getAttribute('data-index')");
    await page.locator('[data-testid="query-results"] [data-index="0"]').focus();
    await page.keyboard.press('ArrowRight');
    await expect.poll(focused).toBe('1');
    await page.keyboard.press('ArrowLeft');
    await expect.poll(focused).toBe('0');
    await page.keyboard.press('Enter');
    const ids = want.map((h) => idOf.get(h.file)!);
    await page.waitForFunction((id) => location.hash.startsWith(`#/image/${id}?`), ids[0]);
    expect(await param('from')).toMatch(/^query:/);
    await page.locator('[data-testid="walk-position"]', { hasText: /^1 of / }).waitFor();
    expect(await page.locator('[data-testid="walk-source"]').innerText()).toContain('query results');
    await page.locator('h1').click();
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction((id) => location.hash.startsWith(`#/image/${id}?`), ids[1]);
    await page.locator('[data-testid="walk-position"]', { hasText: /^2 of / }).waitFor();
    await s.shot('query-02-inspector-walk');
    // Esc goes back to the same results.
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => location.hash.startsWith('#/query?'));
    await expect.poll(shown).toEqual(want.map((h) => [idOf.get(h.file)!, h.score]));
  });

  it('says what to change when nothing matches, and names a parameter it cannot read', async () => {
    await page.goto(`${s.origin}/#/query?all=${feature}&not=${feature}`);
    await page.getByText('No photo matches this query').waitFor();
    expect(await page.locator('.empty').innerText()).toContain('remove a "none of" feature');
    await s.shot('query-03-empty');
    await page.goto(`${s.origin}/#/query?all=12:x`);
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toContain('all: "12:x" is not FEATURE or FEATURE:MIN_ACTIVATION');
    expect(await s.a11y()).toEqual([]);
  });

  it('follows the cursors of bounded region calls of its channel, and reads the address `clipscope serve` prints with a layer', async () => {
    const calls: { maxReads?: number; channel?: string; cursor?: string; layer?: unknown }[] = [];
    const onRequest = (req: { url(): string; postData(): string | null }) => {
      if (req.url().endsWith('/api/query.run')) calls.push(JSON.parse(req.postData() ?? '{}'));
    };
    page.on('request', onRequest);
    try {
      // The server's own address carries ?token=: the layer must still read as a number.
      await page.goto(`${s.url}#/query?all=${feature}:${min}&region=${REGION}&layer=2`);
      await expect.poll(shown).toEqual(want.map((h) => [idOf.get(h.file)!, h.score]));
      expect(await page.evaluate(() => (globalThis as unknown as { location: { search: string } }).location.search)).toBe('');
      const mine = calls.filter((c) => c.channel === 'query-results');
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.every((c) => c.layer === 2 && typeof c.maxReads === 'number')).toBe(true);
      // Without a region the query is answered whole: no bound, no cursor.
      calls.length = 0;
      await page.goto(`${s.url}#/query?all=${feature}&layer=2`);
      await page.locator('[data-testid="query-results"] .query-item').first().waitFor();
      expect(calls.filter((c) => c.channel === 'query-results').every((c) => c.maxReads === undefined && c.cursor === undefined)).toBe(true);
      expect(await page.locator('[data-testid="query-total"]').innerText()).not.toContain('No results');
    } finally {
      page.off('request', onRequest);
    }
  });

  it('had no page errors, console errors or failed requests', () => {
    expect(s.problems).toEqual([]);
  });
});
