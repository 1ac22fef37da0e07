/**
 * The steering screen end to end in chromium through `clipscope serve` on the demo library: a
 * photo's strongest CLS feature left as it is (scale 1), set to 0 with the slider's keys and to
 * twice its value in the number box; the cosine and the nearest photos before | after must be
 * what `clipscope steer --db --json` prints for the same edit. Then per-row token scopes, the
 * feature box's search by label, and, once the library is indexed at layer 3 too, the "At layer 3"
 * panel with the features `clipscope steer --later-layer 3` and steer.preview report.
 * Screenshots in test/e2e/.artifacts/.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { DEMO_PHOTOS, hasChromium, startDemoSession, type Session } from './harness.js';

declare const location: { hash: string };
declare const document: { querySelector(s: string): { getAttribute(a: string): string | null } | null };

interface CliSteer {
  cosine: number;
  reconstruction_cosine: number;
  neighbours: { before: { file: string; score: number }[]; after: { file: string; score: number }[] };
}

describe.skipIf(!hasChromium)('steering screen in chromium (clipscope serve)', () => {
  let s: Session;
  let page: Page;
  let db: string;
  let model: string;
  let sae: string;
  let imageId: number;
  let file: string;
  let feature: number;
  let act: number;

  beforeAll(async () => {
    ({ s, db } = await startDemoSession());
    page = s.page;
    const models = (await s.api('models.list')) as { kind: string; path: string }[];
    model = models.find((m) => m.kind === 'vision')!.path;
    sae = models.find((m) => m.kind === 'sae')!.path;
    const list = (await s.api('images.list', { limit: 10 })) as { items: { imageId: number; file: string }[] };
    const chelsea = list.items.find((i) => path.basename(i.file) === 'chelsea.png')!;
    imageId = chelsea.imageId;
    file = chelsea.file;
    expect(file).toBe(path.join(DEMO_PHOTOS, 'chelsea.png'));
    const image = (await s.api('image.get', { imageId })) as { cls: { feature: number; act: number }[] };
    feature = image.cls[0]!.feature;
    act = image.cls[0]!.act;
  });

  afterAll(async () => {
    await s?.close();
  });

  const steerCli = (...edit: string[]): Promise<CliSteer> =>
    s.cli('steer', file, '--model', model, '--sae', sae, ...edit, '--db', db, '--neighbours', '10', '--json');

  /** Waits until the results shown are those of `edits` (not a previous, kept-up result). */
  async function resultFor(edits: string, tokens = 'cls'): Promise<void> {
    const want = `${imageId}|${tokens}|${edits}`;
    await page.waitForFunction(
      (w) => {
        const el = document.querySelector('[data-testid="steer-results"]');
        return el?.getAttribute('data-for') === w && el.getAttribute('data-state') === 'fresh';
      },
      want,
      { timeout: 60_000 },
    );
  }

  const files = (list: 'before' | 'after') => page.locator(`[data-testid="neighbours-${list}"] li`).evaluateAll((els) => els.map((e) => (e as unknown as { dataset: { file: string } }).dataset.file));

  async function expectSameAsCli(cli: CliSteer): Promise<void> {
    const cosine = page.locator('[data-testid="steer-cosine"]');
    expect(await cosine.innerText()).toBe(cli.cosine.toFixed(4));
    expect(Number(await cosine.getAttribute('data-value'))).toBeCloseTo(cli.cosine, 5);
    expect(Number(await page.locator('[data-testid="steer-recon"]').getAttribute('data-value'))).toBeCloseTo(cli.reconstruction_cosine, 5);
    expect(await files('before')).toEqual(cli.neighbours.before.map((n) => n.file));
    expect(await files('after')).toEqual(cli.neighbours.after.map((n) => n.file));
  }

  it('opens a photo with its strongest CLS feature prefilled as a no-op: cosine 1.0000, the same lists', async () => {
    await page.goto(`${s.origin}/#/steer/${imageId}`);
    await page.waitForFunction((want) => decodeURIComponent(location.hash).includes(want), `edits=${feature}:*1`);
    expect(new URL(page.url()).hash).toContain('tokens=cls');
    await resultFor(`${feature}:*1`);
    expect(await page.locator('[data-testid="steer-cosine"]').innerText()).toBe('1.0000');
    const before = await files('before');
    expect(before.length).toBe(4);
    expect(await files('after')).toEqual(before);
    await expectSameAsCli(await steerCli('--scale', `${feature}=1@cls`));
    await expect.poll(() => page.locator('[data-testid="sweep-chart"]').getAttribute('data-points')).toBe('8');
    await s.allDecoded('.steer img');
    await s.shot('steer-01-noop');
  });

  it('sets the feature to 0 with the slider\'s keys and shows what `clipscope steer --set F=0@cls` gives', async () => {
    await page.getByRole('radio', { name: '= set' }).click();
    const slider = page.getByRole('slider', { name: 'Value of edit 1 (slider)' });
    await slider.focus();
    await page.keyboard.press('Home');
    await page.waitForFunction((want) => decodeURIComponent(location.hash).includes(want), `edits=${feature}:=0`);
    await resultFor(`${feature}:=0`);
    const cli = await steerCli('--set', `${feature}=0@cls`);
    expect(cli.cosine).toBeLessThan(1);
    await expectSameAsCli(cli);
    await s.allDecoded('.steer img');
    await s.shot('steer-02-ablate');
  });

  it('sets it to twice its value in the number box and matches the CLI again', async () => {
    const twice = Number((2 * act).toPrecision(6));
    const box = page.getByRole('spinbutton', { name: 'Value of edit 1', exact: true });
    await box.fill(String(twice));
    await resultFor(`${feature}:=${twice}`);
    const cli = await steerCli('--set', `${feature}=${twice}@cls`);
    await expectSameAsCli(cli);
    // The slider followed the typed value.
    expect(Number(await page.getByRole('slider', { name: 'Value of edit 1 (slider)' }).inputValue())).toBeGreaterThan(0);
    await s.allDecoded('.steer img');
    await s.shot('steer-03-twice');
  });

  it('edits selected patches from the photo\'s grid, as `--set F=V@tokens` does', async () => {
    await page.getByRole('radiogroup', { name: 'Tokens to edit' }).getByRole('radio', { name: 'Selected patches' }).click();
    // The centre 2 x 2 patches to start with.
    await page.waitForFunction(() => decodeURIComponent(location.hash).includes('tokens=120,121,136,137&'));
    await page.locator('.patch-grid [data-token="138"]').click();
    await page.waitForFunction(() => decodeURIComponent(location.hash).includes('tokens=120,121,136,137,138&'));
    await page.getByRole('spinbutton', { name: 'Value of edit 1', exact: true }).fill('5');
    await resultFor(`${feature}:=5`, '120,121,136,137,138');
    await expectSameAsCli(await steerCli('--set', `${feature}=5@120,121,136,137,138`));
    await s.shot('steer-04-patches');
  });

  it('adds a second feature: both edits go to the engine in one set, as two --set options do', async () => {
    const image = (await s.api('image.get', { imageId })) as { cls: { feature: number }[] };
    const second = image.cls[1]!.feature;
    await page.getByRole('radiogroup', { name: 'Tokens to edit' }).getByRole('radio', { name: 'CLS' }).click();
    await page.getByRole('button', { name: 'Add a feature' }).click();
    await expect.poll(() => page.locator('[data-testid="edit-row"]').count()).toBe(2);
    expect(await page.locator('[data-testid="edit-row"]').nth(1).getAttribute('data-feature')).toBe(String(second));
    await resultFor(`${feature}:=5,${second}:=0`);
    await expectSameAsCli(await steerCli('--set', `${feature}=5@cls`, '--set', `${second}=0@cls`));
    await page.emulateMedia({ colorScheme: 'dark' });
    await s.shot('steer-05-two-edits-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('reaches the screen from a feature\'s gallery with Steer, and without a photo offers the library', async () => {
    await page.goto(`${s.origin}/#/feature/${feature}?token=cls`);
    const steer = page.locator(`[data-testid="gallery"] .gallery-item[data-image-id="${imageId}"]`).getByRole('button', { name: /Steer/ });
    await steer.click();
    await page.waitForFunction((want) => location.hash.startsWith(want), `#/steer/${imageId}?`);
    await resultFor(`${feature}:=0`);
    await page.goto(`${s.origin}/#/steer`);
    const tiles = page.locator('[data-testid="steer-pick"] a.tile');
    await expect.poll(() => tiles.count()).toBe(5);
    await s.allDecoded('[data-testid="steer-pick"] img');
    await s.shot('steer-06-pick');
    await tiles.first().click();
    await page.waitForFunction(() => /^#\/steer\/\d+\?.*edits=/.test(location.hash));
  });

  it('gives each edit row its own tokens (CLS / all / the selected patches), as --set F=V@TOKENS per edit', async () => {
    const image = (await s.api('image.get', { imageId })) as { cls: { feature: number }[] };
    const second = image.cls[1]!.feature;
    await page.goto(`${s.origin}/#/steer/${imageId}?tokens=cls&edits=${feature}:=5@all,${second}:=0`);
    await resultFor(`${feature}:=5@all,${second}:=0`);
    await expectSameAsCli(await steerCli('--set', `${feature}=5@all`, '--set', `${second}=0@cls`));
    const scopeOf = (n: number) => page.getByRole('radiogroup', { name: `Tokens of edit ${n}` });
    expect(await scopeOf(1).getByRole('radio', { name: 'All' }).getAttribute('aria-checked')).toBe('true');
    expect(await scopeOf(2).getByRole('radio', { name: 'CLS' }).getAttribute('aria-checked')).toBe('true');
    // Row 2 to the selected patches: the screen's tokens become the centre patches, row 1 keeps all.
    await scopeOf(2).getByRole('radio', { name: 'Patches' }).click();
    await page.waitForFunction(() => decodeURIComponent(location.hash).includes('tokens=120,121,136,137&'));
    await resultFor(`${feature}:=5@all,${second}:=0`, '120,121,136,137');
    await expectSameAsCli(await steerCli('--set', `${feature}=5@all`, '--set', `${second}=0@120,121,136,137`));
    // Row 1 back to CLS: its own scope, shown checked; the photo panel's chips reset every row.
    await scopeOf(1).getByRole('radio', { name: 'CLS' }).click();
    await resultFor(`${feature}:=5@cls,${second}:=0`, '120,121,136,137');
    expect(await scopeOf(1).getByRole('radio', { name: 'CLS' }).getAttribute('aria-checked')).toBe('true');
    await s.shot('steer-07-row-scopes');
    await page.getByRole('radiogroup', { name: 'Tokens to edit' }).getByRole('radio', { name: 'All tokens' }).click();
    await resultFor(`${feature}:=5,${second}:=0`, 'all');
  });

  it('finds a feature for an edit row by its label, with the keyboard', async () => {
    const list = (await s.api('features.search', { sort: 'frequency', limit: 40 })) as { items: { feature: number }[] };
    const labelled = list.items.map((i) => i.feature).find((f) => f !== feature)!;
    await s.api('labels.set', { feature: labelled, label: 'striped tabby fur' });
    await page.goto(`${s.origin}/#/steer/${imageId}?tokens=cls&edits=${feature}:=0`);
    await resultFor(`${feature}:=0`);
    const box = page.getByRole('combobox', { name: 'Feature of edit 1' });
    await box.focus();
    await page.keyboard.type('tabby');
    const option = page.getByRole('listbox', { name: 'Matching features' }).getByRole('option');
    await expect.poll(() => option.evaluateAll((els) => els.map((e) => (e as unknown as { dataset: { feature: string } }).dataset.feature))).toEqual([String(labelled)]);
    await s.shot('steer-08-label-search');
    await page.keyboard.press('Enter');
    await page.waitForFunction((want) => decodeURIComponent(location.hash).includes(want), `edits=${labelled}:=0`);
    await expect.poll(() => page.getByTestId('edit-feature-link').innerText()).toContain('striped tabby fur');
    await resultFor(`${labelled}:=0`);
    // By number too.
    await box.focus();
    await page.keyboard.type(String(feature));
    await expect.poll(() => option.evaluateAll((els) => els.map((e) => (e as unknown as { dataset: { feature: string } }).dataset.feature))).toEqual([String(feature)]);
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await page.waitForFunction((want) => decodeURIComponent(location.hash).includes(want), `edits=${feature}:=0`);
  });

  it('with the library indexed at layer 3 too, shows "At layer 3" with the features the API and `clipscope steer --later-layer 3` report', async () => {
    expect(await page.locator('[data-testid="later-layer"]').count()).toBe(0); // one layer: no panel
    await s.api('index.start', { model, sae, layer: 3 });
    await expect.poll(async () => ((await s.api('index.status')) as { job: { state: string; layer: number | null } }).job, { timeout: 120_000 })
      .toMatchObject({ state: 'done', layer: 3 });
    const strong = Number((8 * act).toPrecision(6));
    const edits = `${feature}:=${strong}@all`;
    // No layer in the URL: with two layers the screen steers at the earliest (2).
    await page.goto(`${s.origin}/#/steer/${imageId}?tokens=cls&edits=${edits}`);
    await resultFor(edits);
    const panel = page.locator('[data-testid="later-layer"][data-layer="3"]');
    await panel.waitFor();
    const api = (await s.api('steer.preview', { imageId, layer: 2, neighbours: 0, sets: [[{ feature, tokens: 'all', value: strong }]] })) as {
      results: { later: { layer: number; cls: Record<string, { feature: number; after: number }[]>; edited: Record<string, { feature: number }[]> | null }[] }[];
    };
    const later = api.results[0]!.later[0]!;
    const cli = (await s.cli('steer', file, '--model', model, '--sae', sae, '--layer', '2', '--set', `${feature}=${strong}@all`, '--later-layer', '3', '--db', db, '--json')) as {
      later_layer: { cls: Record<string, { feature: number }[]>; edited: Record<string, { feature: number }[]> };
    };
    const shown = (id: string) => page.locator(`[data-testid="${id}"] li`).evaluateAll((els) => els.map((e) => Number((e as unknown as { dataset: { feature: string } }).dataset.feature)));
    let listed = 0;
    for (const view of ['cls', 'edited'] as const) {
      for (const kind of ['gained', 'lost', 'changed'] as const) {
        const want = later[view]![kind]!.map((c) => c.feature);
        expect(cli.later_layer[view][kind]!.map((c) => c.feature)).toEqual(want);
        expect(await shown(`later-${view}-${kind}`)).toEqual(want.slice(0, 8));
        listed += want.length;
      }
    }
    expect(listed).toBeGreaterThan(0);
    // Each listed feature links to its page at layer 3.
    const first = panel.locator('a.later-feature').first();
    expect(await first.getAttribute('href')).toMatch(/#\/feature\/\d+\?.*layer=3/);
    await s.allDecoded('.steer img');
    await s.shot('steer-09-later-layer');
    await page.locator('[data-testid="steer-later"]').scrollIntoViewIfNeeded();
    await s.shot('steer-10-later-layer-panel');
  });

  it('has no serious accessibility violation', async () => {
    expect(await s.a11y()).toEqual([]);
  });

  it('had no page errors, console errors or failed requests', () => {
    expect(s.problems).toEqual([]);
  });
});
