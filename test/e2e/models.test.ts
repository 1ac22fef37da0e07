/**
 * Models on the start screen, end to end in chromium: a download from a Hugging Face hub on
 * 127.0.0.1 (`clipscope serve` with HF_ENDPOINT pointing at it) that first fails with the hub's
 * 401, is retried, cancelled mid-file and resumed to the end; importing an SAE file the user has;
 * removing it. The page's lists are compared with `models.list`.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { HubServer } from '../helpers/hub-server.js';
import { SCOPE, hubFiles } from '../engine/models/fixtures.js';
import { ROOT, hasChromium, startSession, type Session } from './harness.js';

declare const location: { hash: string };

const SAE_FILE = `${SCOPE}/2_resid/10280.pt`;

describe.skipIf(!hasChromium)('models on the start screen (clipscope serve, local hub)', () => {
  let hub: HubServer;
  let s: Session;
  let page: Page;
  const section = () => page.locator('[data-testid="models"]');
  const download = () => page.locator('[data-testid="download"]');
  const rows = () => page.locator('[data-testid="installed-model"]');
  const names = async () => (await rows().evaluateAll((els) => els.map((e) => e.getAttribute('data-name')))).sort();

  beforeAll(async () => {
    hub = await HubServer.start(hubFiles());
    s = await startSession({ env: { HF_ENDPOINT: hub.url } });
    page = s.page;
  });

  afterAll(async () => {
    await s?.close();
    await hub?.close();
  });

  it('shows the layers (22 chosen), the sizes before starting, and the built-in demo', async () => {
    await page.goto(s.url);
    await page.waitForFunction(() => location.hash === '#/setup');
    await section().waitFor();
    const pressed = await page.locator('[data-layer][aria-pressed="true"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-layer')));
    expect(pressed).toEqual(['22']);
    expect(await page.locator('[data-layer]').count()).toBe(8);
    expect(await page.locator('[data-testid="download-estimate"]').innerText()).toContain('About 2.2 GB');
    // Choose layer 2 only; the estimate follows.
    await page.locator('[data-layer="22"]').click();
    await page.locator('[data-layer="2"]').click();
    expect(await page.locator('[data-testid="download-estimate"]').innerText()).toMatch(/About 2\.2 GB.*layer 2\b/s);
    // Only the built-in demo at first, without a remove button.
    await expect.poll(() => rows().count()).toBe(2);
    expect(await rows().locator('button', { hasText: 'Remove' }).count()).toBe(0);
    expect(await section().innerText()).toContain('clipscope models download');
    expect(await s.a11y()).toEqual([]);
    await s.shot('models-01-setup');
  });

  it('says why a model failed (the hub answers 401) and retries; a cancelled download resumes to the end', async () => {
    hub.fault({ file: SAE_FILE, times: Infinity }, { type: 'status', status: 401 });
    await page.getByRole('button', { name: /^Download about/ }).click();
    await page.locator('[data-testid="download"][data-state="failed"]').waitFor();
    const reason = await page.locator('[data-testid="download-failed"]').innerText();
    expect(reason).toMatch(/401|token|access/i);
    expect(reason).toContain('clip-scope-l2');
    const status = (await s.api('models.downloadStatus')) as { failed: { error: string }[] };
    expect(reason).toContain(status.failed[0]!.error);
    await download().scrollIntoViewIfNeeded();
    await s.shot('models-02-failed');

    // The SAE's transfer hangs: cancel it mid-file.
    hub.clearFaults();
    hub.fault({ file: SAE_FILE, method: 'GET', times: Infinity }, { type: 'delay', ms: 30_000 });
    await download().getByRole('button', { name: 'Retry' }).click();
    await expect.poll(() => page.locator('[data-testid="download-current"]').textContent().catch(() => '')).toContain('2_resid/10280.pt');
    expect(await download().getAttribute('data-state')).toBe('running');
    await download().scrollIntoViewIfNeeded();
    await s.shot('models-03-running');
    await download().getByRole('button', { name: 'Cancel' }).click();
    await page.locator('[data-testid="download"][data-state="cancelled"]').waitFor();
    expect(await page.locator('[data-testid="download-resume"]').innerText()).toMatch(/carries on where it\s+stopped/);

    hub.clearFaults();
    await download().getByRole('button', { name: 'Resume' }).click();
    await page.locator('[data-testid="download"][data-state="done"]').waitFor();
    const bytes = await page.locator('[data-testid="download-bytes"]').innerText();
    expect(bytes).toMatch(/^\d+(\.\d)? (B|KB|MB|GB) of \d+(\.\d)? (B|KB|MB|GB) \(100 %\)$/);
    expect(await page.locator('[data-testid="download-installed"]').innerText()).toContain('clip-scope-l2');

    const listed = ((await s.api('models.list')) as { name: string }[]).map((m) => m.name).sort();
    expect(listed).toEqual(expect.arrayContaining(['clip-scope-l2', 'clip-vit-l-14-laion2b']));
    await expect.poll(names).toEqual(listed);
    await rows().last().scrollIntoViewIfNeeded();
    await s.shot('models-04-done');
  });

  it('imports an SAE file where it is, lists it, and removes it again', async () => {
    const file = path.join(ROOT, 'test/fixtures/saes/clipscope-gelu/2_resid/1000.pt');
    const before = await names();
    const field = page.getByRole('textbox', { name: 'Model folder or SAE file' });
    await field.fill(file);
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    const result = page.locator('[data-testid="import-result"]');
    await result.waitFor();
    const listed = (await s.api('models.list')) as { name: string; path: string }[];
    const imported = listed.find((m) => m.path === file)!;
    expect(imported).toBeTruthy();
    expect(await result.innerText()).toContain(`Imported: ${imported.name} (SAE, layer 2)`);
    await expect.poll(names).toEqual([...before, imported.name].sort());
    await result.scrollIntoViewIfNeeded();
    await s.shot('models-05-imported');

    // Checking the files: every installed model reads as OK (what models.verify says).
    await page.getByRole('button', { name: 'Check files' }).click();
    const row = page.locator(`[data-testid="installed-model"][data-name="${imported.name}"]`);
    await row.getByText('Files OK').waitFor();
    const verified = (await s.api('models.verify', {})) as { models: { name: string; ok: boolean }[] };
    expect(verified.models.every((m) => m.ok)).toBe(true);
    expect(await page.locator('[data-testid="verify-problems"]').count()).toBe(0);

    await page.getByRole('button', { name: `Remove ${imported.name}` }).click();
    const dialog = page.getByRole('dialog', { name: `Remove ${imported.name}?` });
    await dialog.waitFor();
    expect(await dialog.innerText()).toContain('were imported where they are and stay there');
    expect(await s.a11y()).toEqual([]);
    await s.shot('models-06-confirm');
    await dialog.getByRole('button', { name: 'Remove', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
    await expect.poll(names).toEqual(before);
    expect(((await s.api('models.list')) as { path: string }[]).some((m) => m.path === file)).toBe(false);
  });

  it('shows the engine\'s reason for a path with no models', async () => {
    const bad = path.join(s.tmp, 'no-models-here');
    s.expectUserError(/\/api\/models\.import$/);
    await page.getByRole('textbox', { name: 'Model folder or SAE file' }).fill(bad);
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    const error = page.locator('#model-path-error [role="alert"]');
    await error.waitFor();
    expect(await error.innerText()).toContain(bad);
    s.expectUserError(null);
  });

  it('had no page errors, console errors or failed requests', () => {
    expect(s.problems).toEqual([]);
  });
});
