import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { HubServer, sha256 } from '../helpers/hub-server.js';
import { useLocalHub } from '../helpers/use-local-hub.js';
import { ROOT } from '../helpers/references.js';
import { CLIP, SCOPE, demoSae, hubFiles } from '../engine/models/fixtures.js';
import { runCli, type CliResult } from './run-cli.js';

let hub: HubServer;
let tmp: string;
let data: string;

/** The real bin, with a fresh app-data folder and no hub settings from the environment. */
const cli = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> =>
  runCli(args, { env: { CLIPSCOPE_DATA_DIR: data, HF_TOKEN: '', HF_ENDPOINT: '', HUGGING_FACE_HUB_TOKEN: '', CI: '1', ...env } });

const oneSentence = (r: CliResult): void => {
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(/^clipscope: /);
  expect(r.stderr).not.toMatch(/\n\s+at /);
};

const local = useLocalHub(hubFiles);
beforeEach(async () => {
  hub = local.hub;
  tmp = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'clipscope-cli-models-')));
  data = path.join(tmp, 'data');
});

describe('clipscope models list', () => {
  it('shows the built-in demo, clearly labelled, on a fresh machine', async () => {
    const r = await cli(['models', 'list']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^NAME\s+KIND\s+LAYER\s+SIZE\s+PATH\n/);
    expect(r.stdout).toMatch(/\ndemo\s+vision\s+-\s+\S+ KB\s+.*resources\/demo\/clip\n/);
    expect(r.stdout).toMatch(/\ndemo-sae\s+sae\s+2\s+1\.1 MB\s+.*resources\/demo\/sae\/2_resid\/10280\.pt\n/);
    expect(r.stdout).toMatch(/demo: CLIP vision, width 64, 4 layers, 257 tokens; DEMO: random weights, meaningless features; built in/);
    expect(r.stdout).toMatch(/Only the demo is installed\. Get the real models with `clipscope models download`/);
    const json = await cli(['models', 'list', '--json']);
    const list = JSON.parse(json.stdout) as { name: string; demo: boolean; builtIn: boolean; present: boolean }[];
    expect(list.map((m) => [m.name, m.demo, m.builtIn, m.present])).toEqual([['demo', true, true, true], ['demo-sae', true, true, true]]);
  });
});

describe('clipscope models download', () => {
  it('downloads the bundle from --endpoint into the app-data models folder, then list / verify / remove', async () => {
    const r = await cli(['models', 'download', '--endpoint', hub.url, '--layers', '22,2']);
    expect(r.code, r.stderr).toBe(0);
    const models = path.join(data, 'models');
    expect(r.stdout).toBe([
      `clip-vit-l-14-laion2b\t${path.join(models, ...CLIP.split('/'))}`,
      `clip-scope-l22\t${path.join(models, ...SCOPE.split('/'), '22_resid', '1200013184.pt')}`,
      `clip-scope-l2\t${path.join(models, ...SCOPE.split('/'), '2_resid', '10280.pt')}`,
      '',
    ].join('\n'));
    expect(r.stderr).toMatch(/downloading lewington\/CLIP-ViT-L-scope\/22_resid\/1200013184\.pt \(1\.1 MB\)\n\s+1\.1 MB, sha256 verified\n/);
    expect(r.stderr).toMatch(/installed clip-scope-l22: /);
    expect(sha256(await fs.readFile(path.join(models, ...SCOPE.split('/'), '22_resid', '1200013184.pt')))).toBe(sha256(demoSae));

    const list = JSON.parse((await cli(['models', 'list', '--json'])).stdout) as { name: string; sha256: string; source: { type: string; repo?: string } }[];
    expect(list.map((m) => m.name)).toEqual(['demo', 'demo-sae', 'clip-scope-l2', 'clip-scope-l22', 'clip-vit-l-14-laion2b']);
    expect(list.find((m) => m.name === 'clip-scope-l22')).toMatchObject({ sha256: sha256(demoSae), source: { type: 'hub', repo: SCOPE } });

    const v = await cli(['models', 'verify']);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout.trim().split('\n')).toEqual(['ok      demo', 'ok      demo-sae', 'ok      clip-scope-l2', 'ok      clip-scope-l22', 'ok      clip-vit-l-14-laion2b']);

    // damage a downloaded file: verify fails (exit 1), a second download repairs it
    const l2 = path.join(models, ...SCOPE.split('/'), '2_resid', '10280.pt');
    const buf = await fs.readFile(l2);
    buf[1000] = buf[1000]! ^ 1;
    await fs.writeFile(l2, buf);
    const bad = await cli(['models', 'verify', 'clip-scope-l2']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^FAILED {2}clip-scope-l2\n\s+.*10280\.pt does not match its sha256/);
    expect((await cli(['models', 'download', '--endpoint', hub.url, '--layers', '2', '--no-vision'])).code).toBe(0);
    expect((await cli(['models', 'verify', 'clip-scope-l2'])).code).toBe(0);

    const rm = await cli(['models', 'remove', 'clip-scope-l22']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stdout).toBe('removed clip-scope-l22\n  deleted 1 file (1.1 MB)\n');
    await expect(fs.stat(path.join(models, ...SCOPE.split('/'), '22_resid'))).rejects.toMatchObject({ code: 'ENOENT' });
    const gone = await cli(['models', 'remove', 'clip-scope-l22']);
    expect(gone.code).toBe(2);
    oneSentence(gone);
    expect(gone.stderr).toMatch(/no model named "clip-scope-l22"/);
  });

  it('--dir puts files and registry in another folder; --json prints the outcome', async () => {
    const dir = path.join(tmp, 'elsewhere');
    const r = await cli(['models', 'download', '--endpoint', hub.url, '--layers', '2', '--no-vision', '--dir', dir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { installed: { name: string; path: string }[]; failed: unknown[] };
    expect(out.failed).toEqual([]);
    expect(out.installed.map((m) => m.name)).toEqual(['clip-scope-l2']);
    expect(out.installed[0]!.path.startsWith(dir)).toBe(true);
    expect(JSON.parse(await fs.readFile(path.join(dir, 'registry.json'), 'utf8'))).toMatchObject({ models: [{ name: 'clip-scope-l2' }] });
    await expect(fs.stat(path.join(data, 'models'))).rejects.toMatchObject({ code: 'ENOENT' });
    const v = await cli(['models', 'verify', '--dir', dir]);
    expect(v.stdout).toMatch(/ok {6}clip-scope-l2/);
  });

  it('exit 1 when one model fails (404) and the others install; the failure is one sentence', async () => {
    hub.fault({ file: `${SCOPE}/2_resid/10280.pt`, times: Infinity }, { type: 'status', status: 404 });
    const r = await cli(['models', 'download', '--endpoint', hub.url, '--layers', '2,22', '--no-vision']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^clip-scope-l22\t/);
    expect(r.stderr).toMatch(new RegExp(`\\nclipscope: lewington/CLIP-ViT-L-scope/2_resid/10280\\.pt not found at ${hub.url.replace(/\./g, '\\.')}\\n$`));
  });

  it('exit 2 with one sentence: no network, a gated repo without HF_TOKEN, a layer without an SAE', async () => {
    const dead = await HubServer.start();
    const url = dead.url;
    await dead.close();
    const r = await cli(['models', 'download', '--endpoint', url]);
    expect(r.code).toBe(2);
    oneSentence(r);
    expect(r.stderr).toMatch(/refused the connection \(no network, or a wrong --endpoint\?\)/);

    hub.requireToken = 'hf_x';
    try {
      const g = await cli(['models', 'download', '--endpoint', hub.url, '--layers', '22', '--no-vision']);
      expect(g.code).toBe(2);
      expect(g.stderr).toMatch(/clipscope: lewington\/CLIP-ViT-L-scope\/22_resid\/1200013184\.pt: access denied .*HTTP 401.*set HF_TOKEN/);
      const ok = await cli(['models', 'download', '--endpoint', hub.url, '--layers', '22', '--no-vision'], { HF_TOKEN: 'hf_x' });
      expect(ok.code, ok.stderr).toBe(0);
    } finally {
      hub.requireToken = null;
    }

    const l = await cli(['models', 'download', '--endpoint', hub.url, '--layers', '3']);
    expect(l.code).toBe(2);
    expect(l.stderr).toMatch(/layer 3 has no CLIP-Scope SAE \(layers: 2, 5, 8, 11, 14, 17, 20, 22\)/);
  });

  it('Ctrl-C cancels: exit 130, a resume hint, no final file; the same command resumes', async () => {
    hub.fault({ file: `${SCOPE}/22_resid/1200013184.pt`, method: 'GET' }, { type: 'stall', afterBytes: 300_000, ms: 5000 });
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/clipscope.js'), 'models', 'download', '--endpoint', hub.url, '--no-vision'], {
      cwd: ROOT, env: { ...process.env, CLIPSCOPE_DATA_DIR: data, HF_TOKEN: '', CI: '1' },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (/downloading .*1200013184\.pt/.test(stderr)) setTimeout(() => child.kill('SIGINT'), 300);
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(130);
    expect(stderr).toMatch(/clipscope: download cancelled; what was downloaded so far is kept as \.partial files, run the same command to resume\n$/);
    const dest = path.join(data, 'models', ...SCOPE.split('/'), '22_resid', '1200013184.pt');
    await expect(fs.stat(dest)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await fs.stat(`${dest}.partial`)).size).toBe(300_000);
    const v = await cli(['models', 'verify']);
    expect(v.stdout).toMatch(/partial .*1200013184\.pt\.partial \(300 KB\): an interrupted download/);
    const again = await cli(['models', 'download', '--endpoint', hub.url, '--no-vision']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/resuming lewington\/CLIP-ViT-L-scope\/22_resid\/1200013184\.pt \(1\.1 MB\) from 300 KB/);
    expect(sha256(await fs.readFile(dest))).toBe(sha256(demoSae));
  });
});

describe('clipscope models import / inspect', () => {
  it('imports by reference (exit 0), refuses an unusable file (exit 2, one sentence)', async () => {
    const r = await cli(['models', 'import', 'test/fixtures/saes/clipscope-gelu/2_resid/1000.pt']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`imported clipscope-gelu-l2 (sae, layer 2, 530 KB, by reference): ${path.join(ROOT, 'test/fixtures/saes/clipscope-gelu/2_resid/1000.pt')}\n`);
    const again = await cli(['models', 'import', 'test/fixtures/saes/clipscope-gelu/2_resid/1000.pt']);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/skipped .*1000\.pt: already registered as "clipscope-gelu-l2"/);
    const bad = path.join(tmp, 'bad.pt');
    await fs.writeFile(bad, 'hello');
    const b = await cli(['models', 'import', bad]);
    expect(b.code).toBe(2);
    oneSentence(b);
    expect(b.stderr).toMatch(/bad\.pt: /);
    const rm = await cli(['models', 'remove', 'clipscope-gelu-l2']);
    expect(rm.stdout).toMatch(/left in place \(not ours\): .*1000\.pt/);
    await fs.access(path.join(ROOT, 'test/fixtures/saes/clipscope-gelu/2_resid/1000.pt'));
  });

  it('inspect marks the demo, and is unchanged for other models', async () => {
    const d = await cli(['models', 'inspect', 'resources/demo/clip']);
    expect(d.code).toBe(0);
    expect(d.stdout).toMatch(/CLIP vision model .*\n(.*\n){3}\s+DEMO model: random weights, its features mean nothing/);
    expect(JSON.parse((await cli(['models', 'inspect', 'resources/demo/sae/2_resid/10280.pt', '--json'])).stdout)).toMatchObject({ kind: 'sae', demo: true, layer: 2 });
    const o = await cli(['models', 'inspect', 'test/fixtures/models/clip-tiny-gelu', '--json']);
    expect(JSON.parse(o.stdout)).not.toHaveProperty('demo');
  });
});

describe('the offline demo runs through `clipscope encode`', () => {
  it('encodes the demo photos with the demo model and SAE', async () => {
    const photos = ['chelsea.png', 'coffee.png', 'coins.png', 'hubble_deep_field.jpg', 'rocket.jpg'].map((p) => `resources/demo/photos/${p}`);
    const r = await cli(['encode', ...photos, '--model', 'resources/demo/clip', '--sae', 'resources/demo/sae/2_resid/10280.pt', '--json', '--provider', 'cpu']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { file: string; layer: number; tokens: { idx: number[][] }; ev: number });
    expect(lines.map((l) => l.file)).toEqual(photos);
    for (const l of lines) {
      expect(l.layer).toBe(2);
      expect(l.tokens.idx).toHaveLength(257);
      expect(l.tokens.idx[0]).toHaveLength(32);
      expect(l.ev).toBeGreaterThan(0.5);
    }
  });
});
