import { mkdtemp, writeFile, copyFile, stat, readFile, truncate } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readNpy } from '../../main/engine/formats/npy.js';
import { fixture, manifest, npyFloat, npyIndices, relativeError, sameSetShare } from '../helpers/references.js';
import { runCli } from './run-cli.js';

const model = manifest.models['clip-tiny-gelu']!;
const sae = manifest.saes['clipscope-gelu']!;
const refs = manifest.references.files[model.references]!;
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'clipscope-cli-'));
});

describe('clipscope encode', () => {
  it('prints one JSON line per image in order, errors included, and exits 1 when one failed', async () => {
    const broken = path.join(tmp, 'notes.jpg');
    await writeFile(broken, 'this is a text file, not a JPEG\n');
    const missing = path.join(tmp, 'gone.png');
    const files = ['test/fixtures/photos/chelsea.png', broken, 'test/fixtures/photos/rocket.jpg', missing];
    const r = await runCli(['encode', ...files, '--model', model.dir, '--sae', sae.file, '--json', '--provider', 'cpu']);
    expect(r.code, r.stderr).toBe(1);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l['file'])).toEqual(files);
    expect(lines[1]!['error']).toMatch(/notes\.jpg: .*unsupported or unrecognised image format/);
    expect(lines[3]!['error']).toMatch(/gone\.png/);
    for (const [i, stem] of [[0, 'chelsea'], [2, 'rocket']] as const) {
      const line = lines[i] as { layer: number; embedding: number[]; tokens: { idx: number[][]; val: number[][] }; mse: number; ev: number };
      expect(line.layer).toBe(2);
      expect(line.tokens.idx).toHaveLength(model.tokens);
      expect(line.tokens.val.every((row) => row.length === 32 && row.every((v, j) => j === 0 || v <= row[j - 1]!))).toBe(true);
      const want = await npyIndices(refs[stem]!.saes['clipscope-gelu']!.idx!);
      expect(sameSetShare(Int32Array.from(line.tokens.idx.flat()), want, 32)).toBeGreaterThan(0.99);
      expect(relativeError(line.embedding, await npyFloat(refs[stem]!.embedding))).toBeLessThan(1e-2);
      const metrics = JSON.parse(await readFile(fixture(refs[stem]!.saes['clipscope-gelu']!.metrics), 'utf8')) as { ev: number };
      expect(line.ev).toBeCloseTo(metrics.ev, 2);
    }
  });

  it('prints a short human summary without --json', async () => {
    const r = await runCli(['encode', 'test/fixtures/photos/coffee.png', '--model', model.dir, '--sae', sae.file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/coffee\.png\n\s+EV -?\d\.\d{3}\s+MSE [\d.]+\s+L0 [\d.]+\n\s+top CLS features: #\d+ \(/);
  });

  it.each([
    ['a missing model folder', ['--model', 'no/such/model', '--sae', sae.file], /no\/such\/model: no such model folder/],
    ['an SAE whose width does not fit the model', ['--model', model.dir, '--sae', manifest.saes['clipscope-quickgelu']!.file], /input width 48 does not fit the model's width 64/],
    ['a layer out of range', ['--model', model.dir, '--sae', sae.file, '--layer', '9'], /layer 9 is out of range/],
  ])('refuses %s in one sentence with exit status 2', async (_what, args, message) => {
    const r = await runCli(['encode', 'test/fixtures/photos/chelsea.png', ...args, '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
  });

  it('refuses a truncated SAE checkpoint with a clear reason, exit status 2', async () => {
    const cut = path.join(tmp, '2_resid', 'cut.pt');
    await writeFile(path.join(tmp, 'placeholder'), '');
    await import('node:fs/promises').then((fs) => fs.mkdir(path.dirname(cut), { recursive: true }));
    await copyFile(fixture(sae.file), cut);
    await truncate(cut, Math.floor((await stat(cut)).size * 0.6));
    const r = await runCli(['encode', 'test/fixtures/photos/chelsea.png', '--model', model.dir, '--sae', cut]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cut\.pt: .*(truncated|corrupt)/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('clipscope activations', () => {
  it('writes float32 [tokens, width] .npy equal to the reference activations', async () => {
    const out = path.join(tmp, 'acts.npy');
    const r = await runCli(['activations', 'test/fixtures/photos/chelsea.png', '--model', model.dir, '--layer', '1', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const a = await readNpy(out);
    expect(a.shape).toEqual([model.tokens, model.width]);
    expect(relativeError(a.data as Float32Array, await npyFloat(refs['chelsea']!.resid['1']!))).toBeLessThan(1e-3);
  });
});

describe('clipscope models inspect', () => {
  it('describes a vision model, a CLIP-Scope .pt and a SAELens folder', async () => {
    const v = await runCli(['models', 'inspect', model.dir, '--json']);
    expect(JSON.parse(v.stdout)).toMatchObject({ kind: 'vision', width: 64, layers: 4, tokens: 257, projectionDim: 32, hiddenAct: 'gelu' });
    const c = await runCli(['models', 'inspect', sae.file]);
    expect(c.stdout).toMatch(/CLIP-Scope SAE, topk k=32\n\s+d_in 64, 1024 features, layer 2/);
    const s = await runCli(['models', 'inspect', manifest.saes['saelens-jumprelu-quickgelu']!.dir, '--json']);
    expect(JSON.parse(s.stdout)).toMatchObject({ kind: 'sae', format: 'saelens', architecture: 'jumprelu', dIn: 48, nFeatures: 256, k: null, layer: 1 });
  });

  it('exits 2 with one sentence for a path that is neither', async () => {
    const r = await runCli(['models', 'inspect', 'test/fixtures/photos/chelsea.png']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('clipscope encode --stats (standardised SAE inputs)', () => {
  it('encodes (x - mean) / (std + 1e-6) instead of the raw activations', async () => {
    const { writeNpy } = await import('../../main/engine/formats/npy.js');
    const resid = await npyFloat(refs['chelsea']!.resid['2']!);
    const d = model.width;
    const t = resid.length / d;
    const mean = new Float32Array(d);
    const std = new Float32Array(d);
    for (let i = 0; i < d; i++) {
      let s = 0;
      for (let j = 0; j < t; j++) s += resid[j * d + i]!;
      mean[i] = s / t;
      let v = 0;
      for (let j = 0; j < t; j++) v += (resid[j * d + i]! - mean[i]!) ** 2;
      std[i] = Math.sqrt(v / t);
    }
    const stats = path.join(tmp, 'stats.npy');
    const both = new Float32Array(2 * d);
    both.set(mean);
    both.set(std, d);
    await writeNpy(stats, both, [2, d]);
    const r = await runCli(['encode', 'test/fixtures/photos/chelsea.png', '--model', model.dir, '--sae', sae.file, '--json', '--stats', stats]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { tokens: { idx: number[][] }; embedding: number[] };
    // Oracle: plain-JS top-k of (xs - pre_b) @ enc on the standardised reference activations.
    const { loadSae } = await import('../../main/engine/sae/load-sae.js');
    const { readFloat32 } = await import('../../main/engine/formats/tensor-read.js');
    const s = await loadSae(fixture(sae.file));
    const enc = await readFloat32(s.encoder);
    const preB = await readFloat32(s.inputBias!);
    const want = new Int32Array(t * 32);
    for (let j = 0; j < t; j++) {
      const pre = new Float64Array(s.nFeatures);
      for (let i = 0; i < d; i++) {
        const xs = (resid[j * d + i]! - mean[i]!) / (std[i]! + 1e-6) - preB[i]!;
        for (let f = 0; f < s.nFeatures; f++) pre[f]! += xs * enc[i * s.nFeatures + f]!;
      }
      const order = Array.from(pre.keys()).sort((a, b) => pre[b]! - pre[a]!).slice(0, 32);
      want.set(order, j * 32);
    }
    const got = Int32Array.from(out.tokens.idx.flat());
    expect(sameSetShare(got, want, 32)).toBeGreaterThan(0.99);
    // ...and it really differs from the raw encoding.
    expect(sameSetShare(got, await npyIndices(refs['chelsea']!.saes['clipscope-gelu']!.idx!), 32)).toBeLessThan(0.5);
    expect(relativeError(out.embedding, await npyFloat(refs['chelsea']!.embedding))).toBeLessThan(1e-2);
  });

  it('refuses statistics of the wrong width in one sentence', async () => {
    const { writeNpy } = await import('../../main/engine/formats/npy.js');
    const stats = path.join(tmp, 'bad-stats.npy');
    await writeNpy(stats, new Float32Array(2 * 10), [2, 10]);
    const r = await runCli(['encode', 'test/fixtures/photos/chelsea.png', '--model', model.dir, '--sae', sae.file, '--stats', stats]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/statistics have width 10, the model's width is 64/);
  });
});
