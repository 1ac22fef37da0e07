import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelManager } from '../../../main/engine/models/manager.js';
import { ModelFileError } from '../../../main/engine/errors.js';
import { ROOT } from '../../helpers/references.js';
import { sha256 } from '../../helpers/hub-server.js';

let tmp: string;
let dir: string;
let user: string;

const fx = (rel: string): string => path.join(ROOT, 'test/fixtures', rel);

async function copyInto(src: string, dest: string): Promise<void> {
  await fs.mkdir(path.dirname(dest), { recursive: true });
  await fs.cp(src, dest, { recursive: true });
}

async function snapshot(d: string): Promise<Record<string, { sha: string; mtime: number }>> {
  const out: Record<string, { sha: string; mtime: number }> = {};
  const walk = async (x: string): Promise<void> => {
    for (const e of await fs.readdir(x, { withFileTypes: true })) {
      const p = path.join(x, e.name);
      if (e.isDirectory()) await walk(p);
      else out[path.relative(d, p)] = { sha: sha256(await fs.readFile(p)), mtime: (await fs.stat(p)).mtimeMs };
    }
  };
  await walk(d);
  return out;
}

beforeEach(async () => {
  tmp = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'clipscope-local-')));
  dir = path.join(tmp, 'models');
  user = path.join(tmp, 'user');
  // a user's own folder: an HF-style tree with a CLIP model and CLIP-Scope checkpoints
  await copyInto(fx('models/clip-tiny-gelu'), path.join(user, 'hf/clip-tiny'));
  await copyInto(fx('saes/clipscope-gelu/2_resid/1000.pt'), path.join(user, 'hf/my-scope/2_resid/1000.pt'));
  await copyInto(fx('saes/clipscope-gelu/2_resid/1000.pt'), path.join(user, 'hf/my-scope/2_resid/500.pt'));
  await copyInto(fx('saes/saelens-topk-gelu'), path.join(user, 'hf/saelens-topk'));
  await fs.writeFile(path.join(user, 'hf/my-scope/notes.pt'), 'not a checkpoint');
});
afterEach(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('ModelManager.importModels', () => {
  it('registers a CLIP folder by reference, validated, without touching or copying the files', async () => {
    const before = await snapshot(user);
    const m = new ModelManager({ dir });
    const out = await m.importModels(path.join(user, 'hf/clip-tiny'));
    expect(out.skipped).toEqual([]);
    const e = out.imported[0]!;
    expect(e).toMatchObject({
      name: 'clip-tiny', kind: 'vision', path: path.join(user, 'hf/clip-tiny'), managed: false, demo: false, layer: null,
      source: { type: 'import', path: path.join(user, 'hf/clip-tiny'), copied: false },
      details: { kind: 'vision', width: 64, layers: 4, tokens: 257 },
      sha256: before[path.join('hf', 'clip-tiny', 'model.safetensors')]!.sha,
    });
    expect(e.files.map((f) => path.basename(f.path))).toEqual(['config.json', 'preprocessor_config.json', 'model.safetensors']);
    expect(await snapshot(user)).toEqual(before);
    expect(await fs.readdir(dir)).toEqual(['registry.json']);
  });

  it('names a CLIP-Scope checkpoint after its folder and layer, and reads the layer', async () => {
    const out = await new ModelManager({ dir }).importModels(path.join(user, 'hf/my-scope/2_resid/1000.pt'));
    expect(out.imported[0]).toMatchObject({ name: 'my-scope-l2', kind: 'sae', layer: 2, details: { kind: 'sae', format: 'clipscope', nFeatures: 1024, k: 32, dIn: 64 } });
  });

  it('imports every model under a folder: the final checkpoint per layer folder, reporting what it skipped', async () => {
    const out = await new ModelManager({ dir }).importModels(path.join(user, 'hf'));
    expect(out.imported.map((e) => [e.name, e.kind, path.relative(user, e.path)])).toEqual([
      ['clip-tiny', 'vision', path.join('hf', 'clip-tiny')],
      ['my-scope-l2', 'sae', path.join('hf', 'my-scope', '2_resid', '1000.pt')],
      ['saelens-topk', 'sae', path.join('hf', 'saelens-topk')],
    ]);
    expect(out.skipped.map((s) => [path.basename(s.path), s.reason])).toEqual([
      ['500.pt', 'an earlier checkpoint than 1000.pt'],
      ['notes.pt', expect.stringMatching(/notes\.pt: /)],
    ]);
  });

  it('--copy copies into <dir>/imported/<name>/ (keeping N_resid/), verified; the originals stay untouched', async () => {
    const before = await snapshot(user);
    const out = await new ModelManager({ dir }).importModels(path.join(user, 'hf/my-scope/2_resid/1000.pt'), { copy: true, name: 'scope2' });
    const e = out.imported[0]!;
    expect(e).toMatchObject({ name: 'scope2', managed: true, layer: 2, source: { type: 'import', copied: true, path: path.join(user, 'hf/my-scope/2_resid/1000.pt') } });
    expect(e.path).toBe(path.join(dir, 'imported', 'scope2', '2_resid', '1000.pt'));
    expect(sha256(await fs.readFile(e.path))).toBe(before[path.join('hf', 'my-scope', '2_resid', '1000.pt')]!.sha);
    expect(await snapshot(user)).toEqual(before);
    const v = await new ModelManager({ dir }).importModels(path.join(user, 'hf/clip-tiny'), { copy: true });
    expect(v.imported[0]!.path).toBe(path.join(dir, 'imported', 'clip-tiny'));
    expect((await fs.readdir(v.imported[0]!.path)).sort()).toEqual(['config.json', 'model.safetensors', 'preprocessor_config.json']);
  });

  it('refuses an unusable file with the inspect sentence, registering nothing', async () => {
    const bad = path.join(user, 'broken.pt');
    await fs.writeFile(bad, randomBytes(4000));
    const m = new ModelManager({ dir });
    const err = await m.importModels(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelFileError);
    expect((err as Error).message).toMatch(/broken\.pt: /);
    await expect(m.importModels(path.join(user, 'nothing-here'))).rejects.toThrow(/nothing-here: no such file or directory/);
    const empty = path.join(user, 'empty');
    await fs.mkdir(empty);
    await expect(m.importModels(empty)).rejects.toThrow(/empty: no CLIP model folder, CLIP-Scope checkpoint or SAELens folder found/);
    expect((await m.list()).filter((e) => !e.builtIn)).toEqual([]);
  });

  it('skips a path already registered; names collide only when asked for; layers must agree', async () => {
    const m = new ModelManager({ dir });
    const p = path.join(user, 'hf/clip-tiny');
    await m.importModels(p);
    expect((await m.importModels(p)).skipped).toEqual([{ path: p, reason: 'already registered as "clip-tiny"' }]);
    const twin = path.join(user, 'other/clip-tiny');
    await copyInto(p, twin);
    expect((await m.importModels(twin)).imported[0]!.name).toBe('clip-tiny-2');
    await copyInto(p, path.join(user, 'third/clip-tiny'));
    await expect(m.importModels(path.join(user, 'third/clip-tiny'), { name: 'clip-tiny' })).rejects.toThrow(/a model named "clip-tiny" is already registered; choose another --name/);
    await expect(m.importModels(path.join(user, 'third/clip-tiny'), { name: 'bad name!' })).rejects.toThrow(/"bad name!" is not a valid model name/);
    await expect(m.importModels(path.join(user, 'hf/my-scope/2_resid/1000.pt'), { layer: 5 })).rejects.toThrow(/the file says layer 2, not 5/);
    await expect(m.importModels(path.join(user, 'hf'), { name: 'all' })).rejects.toThrow(/holds 3 models; --name names one/);
  });
});

describe('ModelManager.verify / remove / usedBy', () => {
  it('verifies the built-in demo against its pinned manifest and every registered model', async () => {
    const m = new ModelManager({ dir });
    await m.importModels(path.join(user, 'hf'));
    const out = await m.verify();
    expect(out.models.map((r) => [r.name, r.ok])).toEqual([['demo', true], ['demo-sae', true], ['clip-tiny', true], ['my-scope-l2', true], ['saelens-topk', true]]);
    expect(out.models.every((r) => r.hashed > 0)).toBe(true);
    expect(out.partials).toEqual([]);
  });

  it('finds modified, truncated and missing files, and lists interrupted downloads', async () => {
    const m = new ModelManager({ dir });
    await m.importModels(path.join(user, 'hf'));
    const weights = path.join(user, 'hf/clip-tiny/model.safetensors');
    const buf = await fs.readFile(weights);
    buf[buf.length - 10] = buf[buf.length - 10]! ^ 0xff; // same size, other bytes
    await fs.writeFile(weights, buf);
    await fs.rm(path.join(user, 'hf/my-scope/2_resid/1000.pt'));
    const cfg = path.join(user, 'hf/saelens-topk/cfg.json');
    await fs.appendFile(cfg, ' ');
    await fs.mkdir(path.join(dir, 'x'), { recursive: true });
    await fs.writeFile(path.join(dir, 'x', 'model.safetensors.partial'), 'abc');

    const out = await m.verify();
    const by = Object.fromEntries(out.models.map((r) => [r.name, r]));
    expect(by['clip-tiny']).toMatchObject({ ok: false, problems: [expect.stringMatching(/model\.safetensors does not match its sha256 \(corrupt or modified\)/)] });
    expect(by['my-scope-l2']).toMatchObject({ ok: false, problems: [expect.stringMatching(/1000\.pt is missing/)] });
    expect(by['saelens-topk']!.problems[0]).toMatch(/cfg\.json has .*expected \(modified or truncated\)/);
    expect(by['demo']!.ok).toBe(true);
    expect(out.partials).toEqual([{ path: path.join(dir, 'x', 'model.safetensors.partial'), size: 3 }]);
    const quick = await m.verify({ name: 'clip-tiny', quick: true });
    expect(quick.models).toMatchObject([{ name: 'clip-tiny', ok: true, hashed: 0 }]);
    await expect(m.verify({ name: 'nope' })).rejects.toThrow(/no model named "nope" \(installed: demo, demo-sae, clip-tiny, my-scope-l2, saelens-topk\)/);
  });

  it('remove: never deletes imported files; deletes our copies and prunes their folders; keeps libraries', async () => {
    const m = new ModelManager({ dir });
    await m.importModels(path.join(user, 'hf/clip-tiny'));
    await m.importModels(path.join(user, 'hf/my-scope/2_resid/1000.pt'), { copy: true, name: 'copied' });
    const before = await snapshot(user);
    const lib = path.join(tmp, 'libs', 'photos.sqlite');
    await fs.mkdir(path.dirname(lib), { recursive: true });
    await fs.writeFile(lib, 'indexed results');

    const r1 = await m.remove('clip-tiny');
    expect(r1.deleted).toEqual([]);
    expect(r1.kept).toHaveLength(3);
    expect(await snapshot(user)).toEqual(before);

    await m.addUser('copied', lib);
    expect((await m.get('copied'))?.usedBy).toEqual([lib]);
    await expect(m.remove('copied')).rejects.toThrow(/"copied" is used by the library .*photos\.sqlite; their indexed results would stay, but re-indexing needs the model$/);
    await expect(m.remove('copied')).rejects.toMatchObject({ code: 'model-in-use' });
    const r2 = await m.remove('copied', { force: true });
    expect(r2.deleted).toEqual([path.join(dir, 'imported', 'copied', '2_resid', '1000.pt')]);
    expect(await fs.readdir(dir)).toEqual(['registry.json']); // imported/copied/2_resid pruned
    expect(await fs.readFile(lib, 'utf8')).toBe('indexed results');
    expect((await m.list()).map((e) => e.name)).toEqual(['demo', 'demo-sae']);
    await expect(m.remove('demo')).rejects.toThrow(/"demo" is built in .*cannot be removed/);
    await expect(m.remove('copied')).rejects.toThrow(/no model named "copied"/);
  });

  it('records library users of the built-in demo too', async () => {
    const m = new ModelManager({ dir });
    await m.addUser('demo-sae', path.join(tmp, 'a.sqlite'));
    expect((await m.get('demo-sae'))?.usedBy).toEqual([path.join(tmp, 'a.sqlite')]);
    await m.removeUser('demo-sae', path.join(tmp, 'a.sqlite'));
    expect((await m.get('demo-sae'))?.usedBy).toEqual([]);
    await expect(m.addUser('missing', 'x.sqlite')).rejects.toThrow(/no model named "missing"/);
  });
});
