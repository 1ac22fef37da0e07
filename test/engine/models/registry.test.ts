import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelRegistry, type ModelEntry } from '../../../main/engine/models/registry.js';

let dir: string;

const entry = (name: string, over: Partial<ModelEntry> = {}): ModelEntry => ({
  name, kind: 'sae', path: `/models/${name}.pt`, files: [{ path: `/models/${name}.pt`, size: 10, sha256: 'a'.repeat(64) }], size: 10,
  sha256: 'a'.repeat(64), source: { type: 'import', path: `/models/${name}.pt`, copied: false }, managed: false, layer: 22,
  baseModel: null, details: null, demo: false, builtIn: false, usedBy: [], addedAt: '2026-01-01T00:00:00.000Z', ...over,
});

beforeEach(async () => {
  dir = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'clipscope-reg-')), 'models');
});
afterEach(async () => {
  await fs.rm(path.dirname(dir), { recursive: true, force: true });
});

describe('ModelRegistry', () => {
  it('starts empty without creating anything, then writes registry.json atomically', async () => {
    const reg = new ModelRegistry(dir);
    expect(await reg.list()).toEqual([]);
    await expect(fs.stat(dir)).rejects.toMatchObject({ code: 'ENOENT' });
    await reg.put(entry('b'));
    await reg.put(entry('a'));
    expect((await reg.list()).map((e) => e.name)).toEqual(['a', 'b']);
    expect(await fs.readdir(dir)).toEqual(['registry.json']); // no temp or lock files left
    const json = JSON.parse(await fs.readFile(path.join(dir, 'registry.json'), 'utf8')) as { version: number };
    expect(json.version).toBe(1);
    await reg.put(entry('a', { layer: 11 }));
    expect((await reg.get('a'))?.layer).toBe(11);
    expect(await reg.delete('a')).toBe(true);
    expect(await reg.delete('a')).toBe(false);
    expect((await reg.list()).map((e) => e.name)).toEqual(['b']);
  });

  it('loses no update when two registries (two processes) write at the same time', async () => {
    const r1 = new ModelRegistry(dir);
    const r2 = new ModelRegistry(dir);
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? r1 : r2).put(entry(`m${String(i).padStart(2, '0')}`))));
    expect((await r1.list()).map((e) => e.name)).toEqual(Array.from({ length: 20 }, (_, i) => `m${String(i).padStart(2, '0')}`));
    expect(await fs.readdir(dir)).toEqual(['registry.json']);
  });

  it('keeps usedBy per model (idempotent add, remove), built-in models included', async () => {
    const reg = new ModelRegistry(dir);
    await reg.put(entry('l22'));
    await reg.addUser('l22', '/libs/a.sqlite');
    await reg.addUser('l22', '/libs/b.sqlite');
    await reg.addUser('l22', '/libs/a.sqlite');
    expect((await reg.get('l22'))?.usedBy).toEqual(['/libs/a.sqlite', '/libs/b.sqlite']);
    await reg.removeUser('l22', '/libs/a.sqlite');
    expect((await reg.get('l22'))?.usedBy).toEqual(['/libs/b.sqlite']);
    await reg.addUser('demo', '/libs/a.sqlite', true);
    expect((await reg.read()).builtInUsers).toEqual({ demo: ['/libs/a.sqlite'] });
    await reg.removeUser('demo', '/libs/a.sqlite', true);
    expect((await reg.read()).builtInUsers).toEqual({});
    await expect(reg.addUser('nope', '/libs/a.sqlite')).rejects.toThrow(/no model named "nope"/);
  });

  it('refuses a corrupt registry with one sentence instead of overwriting it', async () => {
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'registry.json'), '{"version": 1, "models": [');
    const reg = new ModelRegistry(dir);
    await expect(reg.list()).rejects.toThrow(/registry\.json: the model registry is not valid JSON .*move it aside/);
    await expect(reg.put(entry('x'))).rejects.toThrow(/not valid JSON/);
    expect(await fs.readFile(path.join(dir, 'registry.json'), 'utf8')).toBe('{"version": 1, "models": [');
  });

  it('takes over a stale lock left by a crashed process', async () => {
    await fs.mkdir(dir, { recursive: true });
    const lock = path.join(dir, 'registry.json.lock');
    await fs.writeFile(lock, '99999');
    const old = new Date(Date.now() - 60_000);
    await fs.utimes(lock, old, old);
    await new ModelRegistry(dir).put(entry('a'));
    expect(await fs.readdir(dir)).toEqual(['registry.json']);
  });
});
