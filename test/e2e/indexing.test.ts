/**
 * A new library from the start screen, a folder of real photos with a broken file among them,
 * indexing watched to the end through pause, resume and a reload mid-run; the failed file with
 * its reason; removing the folder. Compared with the CLI's `--json` on the same library file.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { hasChromium, startSession, type Session } from './harness.js';

declare const location: { hash: string };

const PHOTOS = 240;

describe.skipIf(!hasChromium)('indexing in chromium (clipscope serve)', () => {
  let s: Session;
  let page: Page;
  let photos: string;
  let db: string;
  const job = () => page.locator('[data-testid="job"]');

  beforeAll(async () => {
    s = await startSession();
    page = s.page;
    photos = path.join(s.tmp, 'photos');
    db = path.join(s.tmp, 'libraries', 'mine.sqlite');
    mkdirSync(photos, { recursive: true });
    for (let i = 0; i < PHOTOS; i++) {
      const background = { r: (i * 37) % 256, g: (i * 91) % 256, b: (i * 53) % 256 };
      await sharp({ create: { width: 320, height: 240, channels: 3, background } }).jpeg().toFile(path.join(photos, `p${String(i).padStart(3, '0')}.jpg`));
    }
    writeFileSync(path.join(photos, 'broken.jpg'), 'not a jpeg at all');
  });

  afterAll(async () => {
    await s?.close();
  });

  it('creates a library from the start screen and says what to do next', async () => {
    await page.goto(s.url);
    await page.waitForFunction(() => location.hash === '#/setup');
    await page.getByRole('button', { name: 'Create new' }).click();
    expect(await page.locator('.field-error').first().innerText()).toContain('Type the path');
    await page.getByRole('textbox', { name: 'Library file' }).fill(db);
    await page.getByRole('button', { name: 'Create new' }).click();
    await page.waitForFunction(() => location.hash.startsWith('#/library'));
    await page.getByRole('heading', { name: 'Add a folder of photos' }).waitFor();
  });

  it('adds a folder by its path', async () => {
    const field = page.getByRole('textbox', { name: 'Add a folder' });
    await field.fill(photos);
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.locator('[data-testid="folder-row"]').waitFor();
    expect(await page.locator('[data-testid="folder-row"] .folder-path').innerText()).toBe(photos);
    expect(await page.locator('[data-testid="folder-images"]').innerText()).toBe('0 photos');
    await s.shot('10-new-library');
  });

  it('indexes with progress, pauses, resumes, and follows the run across a reload', async () => {
    await page.getByRole('button', { name: 'Index', exact: true }).click();
    await page.locator('[data-testid="job"][data-state="running"][data-phase="encode"]').waitFor({ timeout: 30_000 });
    await s.shot('11-indexing');
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.locator('[data-testid="job"][data-state="paused"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-testid="index-pill"]').getAttribute('data-state')).toBe('paused');
    await s.shot('12-paused');
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.locator('[data-testid="job"][data-state="running"]').waitFor();
    await page.reload();
    await page.waitForFunction(() => location.hash.startsWith('#/library'));
    await job().waitFor();
    await page.locator('[data-testid="summary"]').waitFor({ timeout: 60_000 });
    expect(await job().getAttribute('data-state')).toBe('done');
    expect(await page.locator('[data-testid="index-pill"]').getAttribute('data-state')).toBe('done');
  });

  it('shows the folder counts and the failed file with the reason the CLI gives', async () => {
    const folders = (await s.cli('folders', 'list', '--db', db, '--json')) as { path: string; images: number; failed: number }[];
    expect(folders).toHaveLength(1);
    // The unreadable file is one of the folder's files too (listed, with its failure).
    expect(folders[0]!.images).toBe(PHOTOS + 1);
    await expect.poll(() => page.locator('[data-testid="folder-images"]').innerText()).toBe(`${folders[0]!.images} photos`);
    expect(await page.locator('[data-testid="folder-failed"]').innerText()).toBe(`${folders[0]!.failed} failed`);
    expect(await page.locator('[data-testid="photo-grid"]').getAttribute('data-total')).toBe(String(folders[0]!.images));

    const failures = (await s.cli('folders', 'failures', '--db', db, '--json')) as { file: string; error: string }[];
    expect(failures.map((f) => f.file)).toEqual([path.join(photos, 'broken.jpg')]);
    const list = page.locator('[data-testid="failures"]');
    await list.waitFor();
    expect(await list.locator('.failure .path').allInnerTexts()).toEqual(failures.map((f) => f.file));
    expect(await list.locator('.failure .text-error').allInnerTexts()).toEqual(failures.map((f) => f.error));
    const filter = page.getByRole('searchbox', { name: 'Filter failed files' });
    await filter.fill('nothing-like-this');
    expect(await list.locator('.failure').count()).toBe(0);
    await filter.fill('broken');
    expect(await list.locator('.failure').count()).toBe(1);
    await s.allDecoded('[data-testid="photo-grid"] img');
    await s.shot('13-indexed-with-failure');
  });

  it('keeps the tiles in the page bounded while scrolling the grid', async () => {
    const grid = page.locator('[data-testid="photo-grid"]');
    const before = await grid.locator('.tile').count();
    expect(before).toBeLessThan(PHOTOS);
    await grid.evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await expect.poll(() => grid.locator(`[data-image-id]`).last().getAttribute('data-image-id')).not.toBeNull();
    expect(await grid.locator('.tile').count()).toBeLessThan(PHOTOS);
  });

  it('removes a folder after confirmation', async () => {
    await page.getByRole('button', { name: `Remove folder ${photos}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Remove this folder?' });
    await dialog.waitFor();
    expect(await dialog.innerText()).toContain('keep their results until the library is purged');
    await s.shot('14-remove-folder');
    await dialog.getByRole('button', { name: 'Keep it' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await page.locator('[data-testid="folder-row"]').count()).toBe(1);
    await page.getByRole('button', { name: `Remove folder ${photos}` }).click();
    await dialog.getByRole('button', { name: 'Remove folder' }).click();
    // Marking 241 photos removed (and their index entries) can take seconds on a loaded machine.
    await expect.poll(() => page.locator('[data-testid="folder-row"]').count(), { timeout: 60_000 }).toBe(0);
    expect(await s.cli('folders', 'list', '--db', db, '--json')).toEqual([]);
  });

  it('had no page errors, console errors or failed requests', () => {
    expect(s.problems).toEqual([]);
  });
});
