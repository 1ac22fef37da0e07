/**
 * The steering screen end to end in chromium through `clipscope serve` on the demo library: a
 * photo's strongest CLS feature left as it is (scale 1), set to 0 with the slider's keys and to
 * twice its value in the number box; the cosine and the nearest photos before | after must be
 * what `clipscope steer --db --json` prints for the same edit. Screenshots in test/e2e/.artifacts/.
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
    await page.getByRole('radio', { name: 'Selected patches' }).click();
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
    await page.getByRole('radio', { name: 'CLS' }).click();
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

  it('has no serious accessibility violation', async () => {
    expect(await s.a11y()).toEqual([]);
  });

  it('had no page errors, console errors or failed requests', () => {
    expect(s.problems).toEqual([]);
  });
});
