/**
 * Models through the app's API: download from a hub on 127.0.0.1 with progress events and
 * cancel, import of files the user has, removal. One engine host (a worker thread), called the
 * way the transports call it.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiResult, DownloadStatus, InstalledModel } from '../../common/contract/index.js';
import { startEngineThread, type EngineClient } from '../../main/host/engine-client.js';
import { ModelManager } from '../../main/engine/models/manager.js';
import { ROOT } from '../helpers/references.js';
import { useLocalHub } from '../helpers/use-local-hub.js';
import { CLIP, SCOPE, hubFiles } from '../engine/models/fixtures.js';

const local = useLocalHub(hubFiles);
let tmp: string;
let engine: EngineClient;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'clipscope-app-models-'));
  // The host is a worker thread: it takes this environment as it is when it starts.
  process.env['CLIPSCOPE_DATA_DIR'] = path.join(tmp, 'data');
  process.env['HF_ENDPOINT'] = local.hub.url;
  engine = startEngineThread({ settingsFile: path.join(tmp, 'settings.json') });
  await engine.ready;
});
afterAll(async () => {
  await engine?.close();
  delete process.env['HF_ENDPOINT'];
  await fs.rm(tmp, { recursive: true, force: true });
});

async function value<T>(method: Parameters<EngineClient['call']>[0], payload?: unknown): Promise<T> {
  const r = (await engine.call(method, payload)) as ApiResult<T>;
  if (!r.ok) throw new Error(`${method}: ${r.error.message}`);
  return r.value;
}

function downloadEnds(): Promise<DownloadStatus[]> {
  const seen: DownloadStatus[] = [];
  return new Promise((resolve) => {
    const off = engine.onEvent((event, payload) => {
      if (event !== 'models.download') return;
      const s = payload as DownloadStatus;
      seen.push(s);
      if (s.state !== 'running') {
        off();
        resolve(seen);
      }
    });
  });
}

describe('models through the app API', () => {
  it('lists the built-in demo before anything is installed', async () => {
    const models = await value<InstalledModel[]>('models.list');
    expect(models.filter((m) => m.builtIn).map((m) => [m.kind, m.demo, m.present])).toEqual([['vision', true, true], ['sae', true, true]]);
  });

  it('downloads the vision model and one SAE layer, with progress events, and lists them', async () => {
    // Slow enough on one file for a progress event to name it (events are throttled to 4/s).
    local.hub.fault({ file: `${SCOPE}/2_resid/10280.pt`, method: 'GET' }, { type: 'delay', ms: 800 });
    const ended = downloadEnds();
    const started = await value<DownloadStatus>('models.download', { layers: [2] });
    expect(started.state).toBe('running');
    // A second download while one runs is refused with a reason.
    expect(await engine.call('models.download', { layers: [22] })).toMatchObject({ ok: false, error: { code: 'busy' } });
    const seen = await ended;
    const last = seen.at(-1)!;
    expect(last).toMatchObject({ state: 'done', failed: [], installed: ['clip-vit-l-14-laion2b', 'clip-scope-l2'], endpoint: local.hub.url });
    expect(seen.some((s) => s.state === 'running' && s.current === `${SCOPE}/2_resid/10280.pt`)).toBe(true);
    expect(last.bytes).toBe(last.total);
    const names = (await value<InstalledModel[]>('models.list')).filter((m) => !m.builtIn).map((m) => [m.name, m.kind, m.layer]);
    expect(names.sort()).toEqual([['clip-scope-l2', 'sae', 2], ['clip-vit-l-14-laion2b', 'vision', null]]);
    expect(await value<DownloadStatus>('models.downloadStatus')).toEqual(last);
  });

  it('verifies installed files and names a damaged one', async () => {
    const ok = await value<{ models: { name: string; ok: boolean; problems: string[] }[] }>('models.verify', {});
    expect(ok.models.find((m) => m.name === 'clip-scope-l2')).toMatchObject({ ok: true, problems: [] });
    const sae = (await value<InstalledModel[]>('models.list')).find((m) => m.name === 'clip-scope-l2')!;
    const bytes = await fs.readFile(sae.path);
    bytes[bytes.length - 10]! ^= 0xff;
    await fs.writeFile(sae.path, bytes);
    const bad = await value<{ models: { name: string; ok: boolean; problems: string[] }[] }>('models.verify', { name: 'clip-scope-l2' });
    expect(bad.models).toHaveLength(1);
    expect(bad.models[0]!.ok).toBe(false);
    expect(bad.models[0]!.problems.join(' ')).toMatch(/sha256|checksum/i);
    bytes[bytes.length - 10]! ^= 0xff;
    await fs.writeFile(sae.path, bytes);
  });

  it('cancels a download, and says why one failed (the hub refuses the token: 401)', async () => {
    local.hub.fault({ file: `${CLIP}/config.json`, times: Infinity }, { type: 'delay', ms: 3000 });
    await value<InstalledModel[]>('models.remove', { name: 'clip-vit-l-14-laion2b' });
    const ended = downloadEnds();
    await value('models.download', { layers: [], vision: true });
    await new Promise((r) => setTimeout(r, 300));
    await value('models.cancelDownload');
    expect((await ended).at(-1)!.state).toBe('cancelled');

    local.hub.reset();
    local.hub.fault({ file: `${CLIP}/config.json`, times: Infinity }, { type: 'status', status: 401 });
    const failed = downloadEnds();
    await value('models.download', { layers: [], vision: true });
    const last = (await failed).at(-1)!;
    expect(last.state).toBe('failed');
    expect(last.failed[0]?.error).toMatch(/401|token|access/i);
  });

  it('imports model files where they are and removes them again without touching them', async () => {
    const sae = path.join(ROOT, 'test/fixtures/saes/clipscope-gelu/2_resid/1000.pt');
    const before = await fs.stat(sae);
    const out = await value<{ imported: InstalledModel[]; skipped: unknown[] }>('models.import', { path: sae });
    expect(out.imported).toMatchObject([{ kind: 'sae', layer: 2, path: sae, builtIn: false, present: true }]);
    expect(out.imported[0]!.managed).toBe(false);
    // A model a library was indexed with is removed only when the user confirms (force).
    await new ModelManager().addUser(out.imported[0]!.name, path.join(tmp, 'photos.sqlite'));
    expect(await engine.call('models.remove', { name: out.imported[0]!.name })).toMatchObject({
      ok: false, error: { kind: 'user', code: 'model-in-use', message: expect.not.stringContaining('--force') },
    });
    const after = await value<InstalledModel[]>('models.remove', { name: out.imported[0]!.name, force: true });
    expect(after.some((m) => m.path === sae)).toBe(false);
    expect((await fs.stat(sae)).mtimeMs).toBe(before.mtimeMs);

    const bad = path.join(tmp, 'nothing-here');
    expect(await engine.call('models.import', { path: bad })).toMatchObject({ ok: false, error: { kind: 'user', message: expect.stringContaining(bad) } });
  });
});
