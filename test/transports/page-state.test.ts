/**
 * The web mode's page carries the app state in a <meta> (data, no script: the CSP allows none),
 * equal to what app.state answers, and escaped so a library path with quotes or angle brackets
 * cannot break out of the attribute. The page is never cached; the build's content-hashed
 * assets are, for good.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTransports, valueOf, type Transports } from './harness.js';

let t: Transports;

beforeAll(async () => {
  t = await startTransports('clipscope-page-state-');
  await fs.mkdir(path.join(t.tmp, 'no-renderer'), { recursive: true });
  await fs.writeFile(path.join(t.tmp, 'no-renderer', 'index.html'), '<!doctype html><html><head><title>t</title></head><body><div id="root"></div></body></html>');
  await fs.mkdir(path.join(t.tmp, 'no-renderer', 'assets'));
  await fs.writeFile(path.join(t.tmp, 'no-renderer', 'assets', 'index-AbC123.js'), 'export {};\n');
}, 60_000);
afterAll(() => t?.close());

async function pageState(url: string): Promise<unknown> {
  const res = await fetch(url, { headers: { 'x-clipscope-token': t.token } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/text\/html/);
  const html = await res.text();
  const m = /<meta name="clipscope-state" content="([^"]*)" \/>\n<\/head>/.exec(html);
  expect(m, html).not.toBeNull();
  const text = m![1]!.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  return JSON.parse(text);
}

describe('the page', () => {
  it('carries app.state, escaped, at / and /index.html', async () => {
    // A library whose path has every character the attribute must escape.
    const file = path.join(t.tmp, 'odd "lib" <1> & more.sqlite');
    valueOf(await t.viaHttp('library.create', { file }));
    const state = valueOf<{ library: { file: string } }>(await t.viaHttp('app.state'));
    expect(state.library.file).toBe(file);
    expect(await pageState(`http://127.0.0.1:${t.port}/`)).toEqual(state);
    expect(await pageState(`http://127.0.0.1:${t.port}/index.html`)).toEqual(state);
  });

  it('is never cached, while the content-hashed scripts it loads are kept', async () => {
    const page = await fetch(`http://127.0.0.1:${t.port}/`, { headers: { 'x-clipscope-token': t.token } });
    expect(page.headers.get('cache-control')).toBe('no-store');
    const script = await fetch(`http://127.0.0.1:${t.port}/assets/index-AbC123.js`, { headers: { 'x-clipscope-token': t.token } });
    expect(script.status).toBe(200);
    expect(script.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
    const missing = await fetch(`http://127.0.0.1:${t.port}/assets/nothing-here.js`, { headers: { 'x-clipscope-token': t.token } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('cache-control')).toBeNull();
  });

  it('still needs the token', async () => {
    expect((await fetch(`http://127.0.0.1:${t.port}/`)).status).toBe(401);
  });
});
