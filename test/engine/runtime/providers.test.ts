import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { candidateProviders, missingPrerequisite, parseProvider, probeProvider, probeProviders } from '../../../main/engine/runtime/providers.js';
import { openSession, ortReason } from '../../../main/engine/runtime/session.js';
import { GraphLoadError } from '../../../main/engine/errors.js';
import { GraphBuilder } from '../../../main/engine/onnx/graph-builder.js';
import { TEST_CACHE } from '../../helpers/references.js';

function addOneGraph() {
  const g = new GraphBuilder('add_one');
  const x = g.input('x', 'float32', ['n']);
  g.op('Add', [x, g.constFloat([1], [])], {}, 'y');
  g.output('y', 'float32', ['n']);
  return { model: g.encode(), files: [], inputs: ['x'], outputs: ['y'] };
}

describe('execution providers', () => {
  it('lists GPU candidates per platform with cpu last', () => {
    expect(candidateProviders('linux')).toEqual(['cuda', 'webgpu', 'cpu']);
    expect(candidateProviders('win32')).toEqual(['cuda', 'dml', 'webgpu', 'cpu']);
    expect(candidateProviders('darwin')).toEqual(['coreml', 'webgpu', 'cpu']);
  });

  it('explains platform-bound providers without starting them', () => {
    expect(missingPrerequisite('dml', 'linux')).toMatch(/only on Windows/);
    expect(missingPrerequisite('coreml', 'win32')).toMatch(/only on macOS/);
  });

  it('probes cpu as available and reports a reason for every unavailable provider', async () => {
    expect(await probeProvider('cpu')).toEqual({ name: 'cpu', available: true });
    for (const s of await probeProviders()) if (!s.available) expect(s.reason).toBeTruthy();
  });

  it('auto falls back to a provider that runs, recording why the others were skipped', async () => {
    const statuses = await probeProviders();
    const firstWorking = statuses.find((s) => s.available)!.name;
    const opened = await openSession(addOneGraph(), { provider: 'auto', cacheDir: TEST_CACHE });
    expect(opened.provider).toBe(firstWorking);
    expect(opened.skipped.map((s) => s.provider)).toEqual(statuses.slice(0, statuses.findIndex((s) => s.available)).map((s) => s.name));
    await opened.session.release();
  });

  it('a forced provider that cannot start is an error, not a silent fallback', async () => {
    const unavailable = (await probeProviders()).find((s) => !s.available);
    if (!unavailable) return; // every provider starts on this machine: nothing to refuse
    await expect(openSession(addOneGraph(), { provider: unavailable.name, cacheDir: TEST_CACHE })).rejects.toThrow(`the ${unavailable.name} execution provider cannot start here`);
  });

  it('parses provider names and rejects unknown ones clearly', () => {
    expect(parseProvider('CPU')).toBe('cpu');
    expect(() => parseProvider('tpu')).toThrow(/unknown execution provider "tpu"/);
  });
});

describe('a graph that cannot load on a provider that starts', () => {
  let dir: string;
  let weights: string;
  /** y = x + w, w: 4 floats (16 bytes) that the weight file, truncated to 8 bytes, does not hold. */
  const truncatedGraph = () => {
    const g = new GraphBuilder('truncated');
    const x = g.input('x', 'float32', [4]);
    g.op('Add', [x, g.externalInitializer('w', 'float32', [4], { location: 'w0-weights.bin', offset: 0, length: 16 })], {}, 'y');
    g.output('y', 'float32', [4]);
    return { model: g.encode(), files: [{ location: 'w0-weights.bin', kind: 'file' as const, path: weights }], inputs: ['x'], outputs: ['y'] };
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'clipscope-truncated-'));
    weights = path.join(dir, 'weights.bin');
    await writeFile(weights, new Uint8Array(8));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it.each(['cpu', 'auto'] as const)('is reported as the weights\' problem, naming the file, not the provider\'s (%s)', async (provider) => {
    const err = await openSession(truncatedGraph(), { provider, cacheDir: TEST_CACHE }).then(() => null, (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(GraphLoadError);
    expect(err!.message).toContain(weights);
    expect(err!.message).toMatch(/cannot be loaded \(cpu: External initializer: w .*out of bounds/);
    expect(err!.message).not.toMatch(/cannot start|could start/);
  });

  it("keeps onnxruntime's reason without its source locations", () => {
    const raw = 'Exception during initialization: /src/initializer.cc:51 onnxruntime::Initializer::Initializer(const onnx::TensorProto&) [ONNXRuntimeError] : 1 : FAIL : tensorprotoutils.cc:1763 GetExtDataFromTensorProto External initializer: w is out of bounds.\nmore';
    expect(ortReason(raw)).toBe('External initializer: w is out of bounds.');
    expect(ortReason('plain message\nsecond line')).toBe('plain message');
  });
});
