/**
 * Builds the app (electron-vite, into a temporary folder) and checks the shape Electron relies
 * on: a self-contained CommonJS preload that works under the sandbox's limited `require`, the
 * engine's worker files beside the code that starts them, native addons left external, and a
 * renderer page without inline scripts.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { build } from 'electron-vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let outDir = '';

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'clipscope-build-'));
  await build({ build: { outDir, emptyOutDir: true }, logLevel: 'error' });
});

afterAll(() => {
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

describe('built preload', () => {
  it('is one CommonJS file that requires only electron and exposes the engine bridge', async () => {
    const code = readFileSync(join(outDir, 'preload/index.cjs'), 'utf8');
    expect([...code.matchAll(/require\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1])).toEqual(['electron']);
    expect(code).not.toMatch(/^\s*(import|export)\s/m);

    // What a sandboxed preload gets: a `require` that knows `electron` and little else.
    const exposed = new Map<string, {
      invoke(m: string, p: unknown): Promise<unknown>;
      on(e: string, fn: (p: unknown) => void): () => void;
      pickFolder(): Promise<string | null>;
      pathForFile(f: unknown): string | null;
    }>();
    const sent: Array<[string, unknown]> = [];
    const listeners = new Map<string, (event: unknown, payload: unknown) => void>();
    let picked: string | null = null;
    const electron = {
      contextBridge: { exposeInMainWorld: (key: string, api: never) => exposed.set(key, api) },
      webUtils: { getPathForFile: (f: { name: string }) => `/dropped/${f.name}` },
      ipcRenderer: {
        invoke: async (channel: string, payload: unknown) => {
          sent.push([channel, payload]);
          return channel === 'dialog:pick-folder' ? picked : { ok: true, value: 'pong' };
        },
        on: (channel: string, fn: (event: unknown, payload: unknown) => void) => listeners.set(channel, fn),
        removeListener: (channel: string) => listeners.delete(channel),
      },
    };
    const require = (id: string) => {
      if (id === 'electron') return electron;
      throw new Error(`module not found in the sandbox: ${id}`);
    };
    runInNewContext(code, { require, module: { exports: {} }, exports: {} });

    const bridge = exposed.get('clipscope')!;
    await expect(bridge.invoke('models.inspect', { path: '/m' })).resolves.toEqual({ ok: true, value: 'pong' });
    expect(sent).toEqual([['api:models.inspect', { path: '/m' }]]);
    // An unknown method never reaches IPC: the page gets an envelope naming it.
    await expect(bridge.invoke('fs.delete', {})).resolves.toMatchObject({ ok: false, error: { code: 'unknown-method' } });
    expect(sent).toHaveLength(1);

    const got: unknown[] = [];
    const off = bridge.on('index.status', (p) => got.push(p));
    listeners.get('event:index.status')?.({}, { job: null, resumable: [] });
    expect(got).toEqual([{ job: null, resumable: [] }]);
    off();
    expect(listeners.has('event:index.status')).toBe(false);
    expect(() => bridge.on('shell.exec', () => undefined)).toThrow(/unknown event/);

    // The folder picker asks the main process on its own channel and hands back only a path.
    sent.length = 0;
    picked = '/home/u/Pictures';
    await expect(bridge.pickFolder()).resolves.toBe('/home/u/Pictures');
    picked = null;
    await expect(bridge.pickFolder()).resolves.toBeNull();
    expect(sent.map((x) => x[0])).toEqual(['dialog:pick-folder', 'dialog:pick-folder']);
    expect(bridge.pathForFile({ name: 'x' })).toBe('/dropped/x');

  });
});

describe('built main', () => {
  const mainFiles = () => readdirSync(join(outDir, 'main')).filter((f) => f.endsWith('.js'));

  it('puts every worker the engine starts beside the file that starts it', () => {
    const started: string[] = [];
    for (const file of mainFiles()) {
      const code = readFileSync(join(outDir, 'main', file), 'utf8');
      for (const [, name] of code.matchAll(/startWorker\(\s*import\.meta\.url\s*,\s*["']([\w-]+)["']\s*\)/g)) {
        started.push(name!);
        expect(existsSync(join(outDir, 'main', `${name}.js`)), `${name}.js beside ${file}`).toBe(true);
      }
    }
    expect(started).toEqual(expect.arrayContaining(['decode-worker', 'inference-worker', 'preprocess-worker']));
  });

  it("builds the indexer's decode worker and thumbnail process as their own files", () => {
    for (const name of ['decode-worker', 'thumbnail-child', 'engine-host']) {
      const code = readFileSync(join(outDir, 'main', `${name}.js`), 'utf8');
      expect(code, name).toMatch(/from ["']sharp["']|from ["']better-sqlite3["']|from ["']\.\/[\w-]+\.js["']/);
    }
    // thumbnail-process.ts forks `./thumbnail-child.js` beside itself: the same folder.
    const forks = mainFiles().filter((f) => /entryPoint\(\s*import\.meta\.url\s*,\s*["']thumbnail-child["']\s*\)/.test(readFileSync(join(outDir, 'main', f), 'utf8')));
    expect(forks.length).toBeGreaterThan(0);
  });

  it('imports native addons from node_modules instead of bundling them', () => {
    const code = mainFiles()
      .map((f) => readFileSync(join(outDir, 'main', f), 'utf8'))
      .join('\n');
    expect(code).toMatch(/from ["']onnxruntime-node["']/);
    expect(code).toMatch(/from ["']sharp["']/);
    expect(code).not.toMatch(/\.node["']\)/); // no bundled require of a .node binary
  });
});

describe('built renderer', () => {
  it('keeps the CSP and loads only its own files', () => {
    const html = readFileSync(join(outDir, 'renderer/index.html'), 'utf8');
    expect(html).toContain(`script-src 'self';`);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const assets = [...html.matchAll(/(?:src|href)="\.\/([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const asset of assets) expect(existsSync(join(outDir, 'renderer', asset)), asset).toBe(true);
  });
});
