/**
 * The page's scripts in chromium through `clipscope serve`: the first load runs only the startup
 * chain (index.html preloads it), every other view is a chunk of its own, and those chunks are
 * fetched once the first screen is painted, so going to another view asks for no script.
 * Watched through the page's own resource timing entries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { hasChromium, startSession, type Session } from './harness.js';

declare const location: { hash: string };
// The few page globals the browser-side callbacks use (the tests compile without the DOM lib).
declare const performance: { getEntriesByType(type: 'resource'): { name: string }[] };
declare const document: { querySelectorAll(selector: string): Iterable<{ getAttribute(name: string): string | null }> };

/** The script files the page has fetched so far, by name (`Metrics-<hash>.js`). */
const scripts = (page: Page) =>
  page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name).filter((n) => /\/assets\/[^/]+\.js$/.test(n)).map((n) => n.split('/').pop()!));

describe.skipIf(!hasChromium)('view chunks in chromium (clipscope serve)', () => {
  let s: Session;
  let page: Page;

  beforeAll(async () => {
    s = await startSession();
    page = s.page;
  });

  afterAll(async () => {
    await s?.close();
  });

  it('preloads the startup chain from index.html, with no inline script', async () => {
    await page.goto(s.url);
    await page.waitForFunction(() => location.hash === '#/setup');
    const preloaded = await page.evaluate(() => [...document.querySelectorAll('link[rel="modulepreload"]')].map((l) => l.getAttribute('href') ?? ''));
    expect(preloaded.some((h) => /\/mount-[\w-]+\.js$/.test(h)), preloaded.join(', ')).toBe(true);
    expect(preloaded.some((h) => /\/App-[\w-]+\.js$/.test(h)), preloaded.join(', ')).toBe(true);
    const inline = await page.evaluate(() => [...document.querySelectorAll('script')].filter((e) => !e.getAttribute('src')).length);
    expect(inline).toBe(0);
  });

  it('fetches the other views after the first screen, so opening one fetches no script', async () => {
    await page.goto(s.url);
    await page.waitForFunction(() => location.hash === '#/setup');
    await expect.poll(() => page.getByRole('heading', { name: 'Welcome to CLIP-Scope' }).isVisible()).toBe(true);
    // Views not shown yet: their chunks arrive without being asked for.
    await expect.poll(async () => (await scripts(page)).filter((n) => /^(Metrics|Feature|Features|Image|Query|Steer)-/.test(n)).length, { timeout: 10_000 }).toBe(6);
    const before = await scripts(page);
    await page.getByRole('link', { name: 'Metrics' }).click();
    await page.waitForFunction(() => location.hash.startsWith('#/metrics'));
    await expect.poll(() => page.getByRole('heading', { name: 'No library is open' }).isVisible()).toBe(true);
    await page.getByRole('link', { name: 'Features' }).click();
    await page.waitForFunction(() => location.hash.startsWith('#/features'));
    await expect.poll(() => page.getByRole('heading', { name: 'No library is open' }).isVisible()).toBe(true);
    expect(await scripts(page)).toEqual(before);
  });

  it('had no page errors, console errors or failed requests', () => {
    expect(s.problems).toEqual([]);
  });
});
