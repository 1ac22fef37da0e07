import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoDir, demoEntries, isDemoPath, readDemoManifest } from '../../../main/engine/models/demo.js';
import { inspectModel } from '../../../main/engine/inspect.js';
import { ROOT } from '../../helpers/references.js';

describe('the shipped offline demo (resources/demo)', () => {
  it('is found from the sources and marked as a demo', async () => {
    expect(demoDir()).toBe(path.join(ROOT, 'resources', 'demo'));
    const m = await readDemoManifest(demoDir()!);
    expect(m).toMatchObject({ demo: true, note: expect.stringMatching(/random weights.*mean nothing/) });
    expect(await fs.readFile(path.join(ROOT, 'resources/demo/README.md'), 'utf8')).toMatch(/random weights, features mean nothing/);
    expect(isDemoPath(path.join(ROOT, 'resources/demo/clip'))).toBe(true);
    expect(isDemoPath(path.join(ROOT, 'resources/demo/sae/2_resid/10280.pt'))).toBe(true);
    expect(isDemoPath(path.join(ROOT, 'test/fixtures/models/clip-tiny-gelu'))).toBe(false);
  });

  it('is small, matches its pinned sha256 values and has the photos with their licences', async () => {
    const m = (await readDemoManifest(demoDir()!))!;
    let total = 0;
    for (const [rel, f] of Object.entries(m.files)) {
      const buf = await fs.readFile(path.join(demoDir()!, rel));
      expect(buf.length, rel).toBe(f.size);
      expect(createHash('sha256').update(buf).digest('hex'), rel).toBe(f.sha256);
      total += buf.length;
    }
    expect(total).toBeLessThan(3.1e6);
    const photos = await fs.readdir(path.join(demoDir()!, 'photos'));
    expect(photos.sort()).toEqual(['LICENSES.md', 'chelsea.png', 'coffee.png', 'coins.png', 'hubble_deep_field.jpg', 'rocket.jpg']);
    expect(await fs.readFile(path.join(demoDir()!, 'photos/LICENSES.md'), 'utf8')).toMatch(/CC0.*\n(.*\n)*.*public domain/);
  });

  it('has the real token geometry and a CLIP-Scope-format SAE that fits it', async () => {
    const v = await inspectModel(path.join(demoDir()!, 'clip'));
    expect(v).toMatchObject({ kind: 'vision', imageSize: 224, patchSize: 14, tokens: 257, width: 64, layers: 4 });
    const s = await inspectModel(path.join(demoDir()!, 'sae/2_resid/10280.pt'));
    expect(s).toMatchObject({ kind: 'sae', format: 'clipscope', architecture: 'topk', dIn: 64, nFeatures: 2048, k: 32, layer: 2 });
  });

  it('lists as two built-in demo entries', async () => {
    const e = await demoEntries();
    expect(e.map((x) => [x.name, x.kind, x.builtIn, x.demo, x.layer, x.baseModel])).toEqual([
      ['demo', 'vision', true, true, null, null],
      ['demo-sae', 'sae', true, true, 2, 'demo'],
    ]);
    expect(e[0]!.files.map((f) => path.basename(f.path)).sort()).toEqual(['config.json', 'model.safetensors', 'preprocessor_config.json']);
  });
});
