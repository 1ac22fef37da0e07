import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelManager, type DownloadEvent, type ModelManagerOptions } from '../../../main/engine/models/manager.js';
import { COMMIT, HubServer, sha256 } from '../../helpers/hub-server.js';
import { useLocalHub } from '../../helpers/use-local-hub.js';
import { CLIP, SCOPE, binModel, demoSae, demoWeights, hubFiles } from './fixtures.js';

let hub: HubServer;
let cdn: HubServer;
let tmp: string;
let dir: string;

const fast = { maxRetries: 2, maxAttempts: 10, baseDelayMs: 1, maxDelayMs: 5 };

function mgr(over: Partial<ModelManagerOptions> = {}): ModelManager {
  return new ModelManager({ dir, endpoint: hub.url, token: null, timeoutMs: 2000, retry: fast, freeSpace: async () => 1e12, spaceMarginBytes: 0, env: {}, ...over });
}

async function filesUnder(d: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (x: string): Promise<void> => {
    for (const e of await fs.readdir(x, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(x, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(path.relative(d, p));
    }
  };
  await walk(d);
  return out.sort();
}

const local = useLocalHub(hubFiles);
beforeEach(async () => {
  ({ hub, cdn } = local);
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'clipscope-mgr-'));
  dir = path.join(tmp, 'models');
});
afterEach(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('ModelManager.download', () => {
  it('downloads the default bundle from the listing, pinned to its commit, verified, and registers it', async () => {
    const events: DownloadEvent[] = [];
    const out = await mgr().download({ layers: [22, 2], onEvent: (e) => events.push(e) });
    expect(out.failed).toEqual([]);
    expect(out.installed.map((m) => m.name)).toEqual(['clip-vit-l-14-laion2b', 'clip-scope-l22', 'clip-scope-l2']);
    expect(await filesUnder(dir)).toEqual([
      `${CLIP}/config.json`, `${CLIP}/model.safetensors`, `${CLIP}/preprocessor_config.json`,
      `${SCOPE}/22_resid/1200013184.pt`, `${SCOPE}/2_resid/10280.pt`, 'registry.json',
    ].map((f) => f.split('/').join(path.sep)).sort());
    // never the open_clip duplicates, nor pytorch_model.bin when model.safetensors is there
    const fetched = hub.requests.filter((r) => r.method === 'GET' && !r.file.startsWith('listing:')).map((r) => r.file);
    expect(fetched.sort()).toEqual([`${CLIP}/config.json`, `${CLIP}/model.safetensors`, `${CLIP}/preprocessor_config.json`, `${SCOPE}/22_resid/1200013184.pt`, `${SCOPE}/2_resid/10280.pt`].sort());
    expect(hub.requests.filter((r) => r.file.startsWith(`${CLIP}/`) || r.file.startsWith(`${SCOPE}/`)).every((r) => r.revision === COMMIT)).toBe(true);

    const vision = out.installed[0]!;
    expect(vision).toMatchObject({
      kind: 'vision', path: path.join(dir, ...CLIP.split('/')), managed: true, demo: false, builtIn: false, layer: null, sha256: sha256(demoWeights),
      source: { type: 'hub', endpoint: hub.url, repo: CLIP, revision: 'main', commit: COMMIT, files: ['config.json', 'preprocessor_config.json', 'model.safetensors'] },
      details: { kind: 'vision', width: 64, layers: 4, tokens: 257 },
    });
    const l22 = out.installed[1]!;
    expect(l22).toMatchObject({ kind: 'sae', sha256: sha256(demoSae), size: demoSae.length, baseModel: 'clip-vit-l-14-laion2b', details: { kind: 'sae', nFeatures: 2048, k: 32, dIn: 64 } });
    expect(l22.path).toBe(path.join(dir, ...SCOPE.split('/'), '22_resid', '1200013184.pt'));

    const reg = JSON.parse(await fs.readFile(path.join(dir, 'registry.json'), 'utf8')) as { models: { name: string }[] };
    expect(reg.models.map((m) => m.name).sort()).toEqual(['clip-scope-l2', 'clip-scope-l22', 'clip-vit-l-14-laion2b']);
    const names = (await mgr().list()).map((m) => [m.name, m.present]);
    expect(names).toEqual([['demo', true], ['demo-sae', true], ['clip-scope-l2', true], ['clip-scope-l22', true], ['clip-vit-l-14-laion2b', true]]);

    const plan = events.find((e) => e.type === 'plan');
    expect(plan).toMatchObject({ type: 'plan', totalBytes: expect.any(Number) });
    const done = events.filter((e) => e.type === 'file-done');
    expect(done.filter((e) => e.type === 'file-done' && e.file.endsWith('.pt')).every((e) => e.type === 'file-done' && e.verified)).toBe(true);
    const last = events.filter((e) => e.type === 'progress').at(-1);
    expect(last?.type === 'progress' && last.overall.bytes === last.overall.total).toBe(true);
  });

  it('a second run finds everything in place and downloads nothing large', async () => {
    await mgr().download({ layers: [22] });
    hub.requests.length = 0;
    const events: DownloadEvent[] = [];
    const out = await mgr().download({ layers: [22], onEvent: (e) => events.push(e) });
    expect(out.installed).toHaveLength(2);
    const gets = hub.requests.filter((r) => r.method === 'GET' && !r.file.startsWith('listing:')).map((r) => r.file);
    expect(gets.sort()).toEqual([`${CLIP}/config.json`, `${CLIP}/preprocessor_config.json`]); // small non-LFS files: no sha256 to compare
    expect(events.filter((e) => e.type === 'file-done' && e.skipped)).toHaveLength(2);
  });

  it('without the listing API: tries model.safetensors then pytorch_model.bin, and knows the layer-22 name only', async () => {
    hub.listing = false;
    hub.files.delete(`${CLIP}/model.safetensors`);
    hub.add({ repo: CLIP, path: 'config.json', data: binModel.config });
    hub.add({ repo: CLIP, path: 'preprocessor_config.json', data: binModel.preproc });
    const events: DownloadEvent[] = [];
    const out = await mgr().download({ layers: [22, 11], onEvent: (e) => events.push(e) });
    expect(out.installed.map((m) => m.name)).toEqual(['clip-vit-l-14-laion2b', 'clip-scope-l22']);
    expect(out.installed[0]!.sha256).toBe(sha256(binModel.weights));
    expect(out.installed[0]!.files.map((f) => path.basename(f.path))).toEqual(['config.json', 'preprocessor_config.json', 'pytorch_model.bin']);
    expect(hub.requestsFor(`${CLIP}/model.safetensors`).map((r) => [r.method, r.status])).toEqual([['HEAD', 404]]);
    expect(out.failed.map((f) => [f.name, f.error.message])).toEqual([
      ['clip-scope-l11', expect.stringMatching(/cannot tell the file name of the layer-11 SAE: the file listing of lewington\/CLIP-ViT-L-scope@main is unavailable at .* \(HTTP 404\); without that listing only layer 22 \(22_resid\/1200013184\.pt\) can be downloaded/)],
    ]);
    expect(events.find((e) => e.type === 'plan')).toMatchObject({ notes: expect.arrayContaining([expect.stringMatching(/trying model\.safetensors, then pytorch_model\.bin/)]) });
  });

  it('a missing file (404) fails its model only, with "<repo>/<path> not found at <endpoint>"', async () => {
    hub.fault({ file: `${SCOPE}/2_resid/10280.pt`, times: Infinity }, { type: 'status', status: 404 });
    const out = await mgr().download({ layers: [2, 22] });
    expect(out.installed.map((m) => m.name)).toEqual(['clip-vit-l-14-laion2b', 'clip-scope-l22']);
    expect(out.failed.map((f) => f.error.message)).toEqual([`${SCOPE}/2_resid/10280.pt not found at ${hub.url}`]);
    await expect(fs.stat(path.join(dir, ...SCOPE.split('/'), '2_resid'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a wrong checksum discards the file and fails that model; the rest installs', async () => {
    hub.fault({ file: `${SCOPE}/22_resid/1200013184.pt`, method: 'GET' }, { type: 'corrupt', at: 5000 });
    const out = await mgr().download({ layers: [22] });
    expect(out.installed.map((m) => m.name)).toEqual(['clip-vit-l-14-laion2b']);
    expect(out.failed[0]!.error.message).toMatch(/22_resid\/1200013184\.pt: the downloaded file does not match its checksum .*discarded/);
    const left = await filesUnder(dir);
    expect(left.filter((f) => f.includes('22_resid'))).toEqual([]);
    expect((await mgr().list()).map((m) => m.name)).not.toContain('clip-scope-l22');
  });

  it('gated repo: 401 without a token names HF_TOKEN; with HF_TOKEN it downloads, and the CDN never sees the token', async () => {
    hub.requireToken = 'hf_abc';
    hub.cdn = cdn;
    const denied = await mgr().download({ layers: [22] });
    expect(denied.installed).toEqual([]);
    expect(denied.failed.map((f) => f.error.message)).toEqual([
      expect.stringMatching(/laion\/CLIP-ViT-L-14-laion2B-s32B-b82K\/config\.json: access denied by .* \(HTTP 401\): the repository is gated or private; set HF_TOKEN/),
      expect.stringMatching(/lewington\/CLIP-ViT-L-scope\/22_resid\/1200013184\.pt: access denied .*set HF_TOKEN/),
    ]);
    hub.requests.length = 0;
    const out = await mgr({ token: undefined, env: { HF_TOKEN: 'hf_abc' } }).download({ layers: [22] });
    expect(out.failed).toEqual([]);
    expect(hub.requests.every((r) => r.authorization === 'Bearer hf_abc')).toBe(true);
    expect(cdn.requests.length).toBeGreaterThan(0);
    expect(cdn.requests.every((r) => r.authorization === null)).toBe(true);
    // HEAD stops at the hub's redirect (X-Linked-Size / X-Linked-Etag), like huggingface_hub
    expect(cdn.requests.filter((r) => r.method === 'HEAD')).toEqual([]);
    expect(hub.requests.filter((r) => r.method === 'HEAD' && r.file.endsWith('.pt'))).toMatchObject([{ status: 302 }]);
    expect(out.installed[1]!.sha256).toBe(sha256(demoSae));
  });

  it('refuses before any transfer when the disk is too small', async () => {
    const err = await mgr({ freeSpace: async () => 100_000 }).download({ layers: [22] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'disk-space' });
    expect((err as Error).message).toMatch(/not enough free space in .*models: the download needs 1\.6 MB \(1,\d{3},\d{3} bytes\), 100 KB \(100,000 bytes\) is free$/);
    expect(hub.requests.filter((r) => r.method === 'GET' && !r.file.startsWith('listing:'))).toEqual([]);
    expect(await filesUnder(dir)).toEqual([]);
  });

  it('counts kept partial bytes as already there in the space check, and resumes them', async () => {
    const dest = path.join(dir, ...SCOPE.split('/'), '22_resid', '1200013184.pt');
    await fs.mkdir(path.dirname(dest), { recursive: true });
    await fs.writeFile(`${dest}.partial`, demoSae.subarray(0, 600_000));
    const url = `${hub.url}/${SCOPE}/resolve/${COMMIT}/22_resid/1200013184.pt`;
    await fs.writeFile(`${dest}.partial.json`, JSON.stringify({ url, sha256: sha256(demoSae), size: demoSae.length }));
    const events: DownloadEvent[] = [];
    const out = await mgr().download({ layers: [22], vision: false, onEvent: (e) => events.push(e) });
    expect(out.installed.map((m) => m.name)).toEqual(['clip-scope-l22']);
    expect(events.find((e) => e.type === 'file-start')).toMatchObject({ resumeFrom: 600_000 });
    expect(hub.requestsFor(`${SCOPE}/22_resid/1200013184.pt`, 'GET')).toMatchObject([{ range: 'bytes=600000-', bytesSent: demoSae.length - 600_000 }]);
  });

  it('cancel: rejects with "cancelled", no final file, nothing registered; the next run resumes', async () => {
    hub.fault({ file: `${CLIP}/model.safetensors`, method: 'GET' }, { type: 'stall', afterBytes: 200_000, ms: 2000 });
    const ac = new AbortController();
    const p = mgr().download({
      layers: [22], signal: ac.signal,
      onEvent: (e) => { if (e.type === 'progress' && e.progress.bytes >= 200_000) ac.abort(); },
    });
    await expect(p).rejects.toMatchObject({ kind: 'cancelled' });
    const weights = path.join(dir, ...CLIP.split('/'), 'model.safetensors');
    await expect(fs.stat(weights)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await fs.stat(`${weights}.partial`)).size).toBe(200_000);
    expect((await mgr().list()).filter((m) => !m.builtIn)).toEqual([]);
    hub.requests.length = 0;
    const out = await mgr().download({ layers: [22] });
    expect(out.failed).toEqual([]);
    expect(hub.requestsFor(`${CLIP}/model.safetensors`, 'GET')).toMatchObject([{ range: 'bytes=200000-' }]);
  });

  it('no network: one sentence, nothing written', async () => {
    const dead = await HubServer.start();
    const url = dead.url;
    await dead.close();
    const err = await mgr({ endpoint: url }).download({ layers: [22] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'network' });
    expect((err as Error).message).toMatch(/refused the connection \(no network, or a wrong --endpoint\?\)/);
    expect(await filesUnder(dir)).toEqual([]);
  });

  it('endpoint: --endpoint, else HF_ENDPOINT, else the public hub', async () => {
    const out = await new ModelManager({ dir, env: { HF_ENDPOINT: hub.url }, retry: fast, freeSpace: async () => 1e12, timeoutMs: 2000 }).download({ layers: [2], vision: false });
    expect(out.installed[0]!.source).toMatchObject({ type: 'hub', endpoint: hub.url });
    await expect(new ModelManager({ dir, endpoint: 'ftp://example.org' }).download()).rejects.toThrow(/invalid hub endpoint "ftp:\/\/example\.org" \(http or https only\)/);
  });
});
