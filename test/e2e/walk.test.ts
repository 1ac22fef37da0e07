/**
 * The inspector's walk order and several regions in the query view, end to end in chromium on the
 * demo library. ← / → in the inspector walk a patch token's gallery and a region query's results
 * photo by photo in the order `clipscope gallery --token N --json` and `clipscope query --region
 * ... --json` list them, asking through the same bounded, cursor-paged calls as the grids (on the
 * walk's own channel). A query with two regions shows both (on the grid and as chips), adds a
 * region by dragging with "Add a region", and shows the photos and scores of the CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { hasChromium, startDemoSession, type Session } from './harness.js';

declare const location: { hash: string };

interface Call { channel?: string; maxReads?: number; cursor?: string; offset?: number; limit?: number; regions?: unknown[]; token?: unknown }

describe.skipIf(!hasChromium)('walk order and regions in chromium (clipscope serve, demo library)', () => {
  let s: Session;
  let page: Page;
  let db: string;
  let idOf: Map<string, number>;
  const hash = () => page.evaluate(() => location.hash);
  const param = async (name: string) => new URLSearchParams((await hash()).split('?')[1] ?? '').get(name);
  const shownId = async () => Number(/^#\/image\/(\d+)/.exec(await hash())?.[1]);

  beforeAll(async () => {
    ({ s, db } = await startDemoSession());
    page = s.page;
    const images = (await s.api('images.list', { limit: 100 })) as { items: { imageId: number; file: string }[] };
    idOf = new Map(images.items.map((i) => [i.file, i.imageId]));
  });
  afterAll(async () => {
    await s?.close();
  });

  /** The calls of `method` the page makes while `act` runs. */
  async function recording(method: string, act: () => Promise<void>): Promise<Call[]> {
    const calls: Call[] = [];
    const onRequest = (req: { url(): string; postData(): string | null }) => {
      if (req.url().endsWith(`/api/${method}`)) calls.push(JSON.parse(req.postData() ?? '{}') as Call);
    };
    page.on('request', onRequest);
    try {
      await act();
    } finally {
      page.off('request', onRequest);
    }
    return calls;
  }

  /** From the first photo, → to the last (and once more: it stays), then ← back to the first. */
  async function walk(ids: number[]): Promise<void> {
    const position = page.locator('[data-testid="walk-position"]');
    await position.filter({ hasText: new RegExp(`^1 of ${ids.length}\\+?$`) }).waitFor();
    await page.locator('h1').click();
    for (let i = 1; i < ids.length; i++) {
      await page.keyboard.press('ArrowRight');
      await expect.poll(shownId).toBe(ids[i]);
      await position.filter({ hasText: new RegExp(`^${i + 1} of `) }).waitFor();
    }
    await expect.poll(() => position.innerText()).toBe(`${ids.length} of ${ids.length}`);
    await page.keyboard.press('ArrowRight');
    await page.waitForTimeout(300);
    expect(await shownId()).toBe(ids[ids.length - 1]);
    for (let i = ids.length - 2; i >= 0; i--) {
      await page.keyboard.press('ArrowLeft');
      await expect.poll(shownId).toBe(ids[i]);
      await position.filter({ hasText: new RegExp(`^${i + 1} of `) }).waitFor();
    }
  }

  it("walks a patch token's gallery in the order of `clipscope gallery --token N`, through bounded calls of its own channel", async () => {
    // The (feature, patch) active on the most photos: the longest such gallery.
    const count = new Map<string, number>();
    for (const id of idOf.values()) {
      const img = (await s.api('image.get', { imageId: id })) as { tokens: { idx: number[][]; val: number[][] } };
      for (let t = 1; t <= 256; t++) img.tokens.idx[t]!.forEach((f, i) => img.tokens.val[t]![i]! > 0 && count.set(`${f}:${t}`, (count.get(`${f}:${t}`) ?? 0) + 1));
    }
    const [pair, n] = [...count].reduce((a, b) => (b[1] > a[1] ? b : a));
    expect(n).toBeGreaterThanOrEqual(3);
    const best = { feature: Number(pair.split(':')[0]), token: Number(pair.split(':')[1]) };
    const { feature, token } = best!;
    const want = (await s.cli('gallery', String(feature), '--token', String(token), '--limit', '1000', '--db', db, '--json')) as { file: string }[];
    const ids = want.map((w) => idOf.get(w.file)!);
    const calls = await recording('gallery.get', async () => {
      await page.goto(`${s.origin}/#/image/${ids[0]}?from=feature:${feature}:${token}&at=0`);
      await walk(ids);
    });
    const mine = calls.filter((c) => c.channel === 'inspector-walk' || c.channel === 'inspector-walk-ahead');
    expect(mine.length).toBeGreaterThan(0);
    // Bounded as the grid's: a patch token's scan, in pages of the grid's kind.
    expect(mine.every((c) => c.token === token && typeof c.maxReads === 'number' && c.offset === 0 && c.limit === 300)).toBe(true);
    expect(calls.filter((c) => c.channel === undefined && c.token === token)).toEqual([]);
    await s.shot('walk-01-patch-gallery');
  });

  let feature: number;
  let want: { file: string; score: number }[];
  const TWO = '0-3x0-3,8-15x8-15';

  it('shows both regions of a 2-region query, and the photos and scores of `clipscope query --region A --region B`', async () => {
    // A feature that fires in the two regions on the most photos.
    const regions = [[0, 3, 0, 3], [8, 15, 8, 15]];
    const first = [...idOf.values()][0]!;
    const img = (await s.api('image.get', { imageId: first })) as { tokens: { idx: number[][] } };
    const candidates = [...new Set([1, 18, 52, 137, 171, 256].map((t) => img.tokens.idx[t]![0]!))];
    let best: { feature: number; n: number } | null = null;
    for (const f of candidates) {
      const r = (await s.api('query.run', { all: [{ feature: f }], regions })) as { items: unknown[] };
      if (!best || r.items.length > best.n) best = { feature: f, n: r.items.length };
    }
    expect(best!.n).toBeGreaterThanOrEqual(2);
    feature = best!.feature;
    want = await s.cli('query', '--all', String(feature), '--region', '0-3x0-3', '--region', '8-15x8-15', '--db', db, '--json');
    expect(want.length).toBe(best!.n);

    // One region from the address, the second added by dragging with "Add a region".
    await page.goto(`${s.origin}/#/query?all=${feature}&region=0-3x0-3`);
    const grid = page.locator('.region-grid');
    await expect.poll(() => grid.getAttribute('data-regions')).toBe('0,3,0,3');
    await page.getByRole('button', { name: 'Add a region' }).click();
    const box = (await grid.boundingBox())!;
    const cell = box.width / 16;
    await page.mouse.move(box.x + cell * 8.5, box.y + cell * 8.5);
    await page.mouse.down();
    await page.mouse.move(box.x + cell * 12, box.y + cell * 12, { steps: 4 });
    await page.mouse.move(box.x + cell * 15.5, box.y + cell * 15.5, { steps: 4 });
    await page.mouse.up();
    await expect.poll(() => param('region')).toBe(TWO);
    expect(await grid.getAttribute('data-regions')).toBe('0,3,0,3;8,15,8,15');
    expect(await page.locator('.region-grid .region-box').count()).toBe(2);
    const chips = page.locator('[data-testid="region-text"] .region-chip');
    expect(await chips.evaluateAll((els) => els.map((e) => e.getAttribute('data-region')))).toEqual(['0-3x0-3', '8-15x8-15']);
    expect(await page.locator('[data-testid="region-text"]').innerText()).toContain('rows 8–15 × columns 8–15');

    const shown = () => page.locator('[data-testid="query-results"] .query-item').evaluateAll((els) =>
      els.map((e) => [Number(e.getAttribute('data-image-id')), Number(e.getAttribute('data-score'))]));
    await expect.poll(shown).toEqual(want.map((h) => [idOf.get(h.file)!, h.score]));
    expect(await page.locator('[data-testid="query-total"]').innerText()).toContain('rows 0–3 × columns 0–3 or rows 8–15 × columns 8–15');
    await s.allDecoded('[data-testid="query-results"] img');
    await page.mouse.move(5, 5);
    await s.shot('walk-02-two-regions');
    expect(await s.a11y()).toEqual([]);

    // Removing one region leaves the other.
    await page.getByRole('button', { name: 'Remove the region rows 0–3 × columns 0–3' }).click();
    await expect.poll(() => param('region')).toBe('8-15x8-15');
    expect(await grid.getAttribute('data-regions')).toBe('8,15,8,15');
  });

  it('walks the 2-region results in the order of `clipscope query --json`, through bounded calls of its own channel', async () => {
    const ids = want.map((h) => idOf.get(h.file)!);
    const calls = await recording('query.run', async () => {
      await page.goto(`${s.origin}/#/query?all=${feature}&region=${TWO}`);
      await page.locator('[data-testid="query-results"] [data-index="0"]').focus();
      await page.keyboard.press('Enter');
      await expect.poll(shownId).toBe(ids[0]);
      expect(await param('from')).toMatch(/^query:/);
      await walk(ids);
    });
    const mine = calls.filter((c) => c.channel === 'inspector-walk' || c.channel === 'inspector-walk-ahead');
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((c) => typeof c.maxReads === 'number' && c.offset === 0 && c.limit === 300 && c.regions?.length === 2)).toBe(true);
    await s.shot('walk-03-query-walk');
  });

  it('had no page errors, console errors or failed requests', () => {
    expect(s.problems).toEqual([]);
  });
});
