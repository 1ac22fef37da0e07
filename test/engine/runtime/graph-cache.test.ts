import { describe, expect, it } from 'vitest';
import ort from 'onnxruntime-node';
import { GraphBuilder } from '../../../main/engine/onnx/graph-builder.js';
import { ExternalData } from '../../../main/engine/onnx/external-data.js';
import { bindTensor } from '../../../main/engine/onnx/bind-tensor.js';
import { loadSae } from '../../../main/engine/sae/load-sae.js';
import { readFloat32 } from '../../../main/engine/formats/tensor-read.js';
import { openSession } from '../../../main/engine/runtime/session.js';
import { fixture, manifest, TEST_CACHE } from '../../helpers/references.js';

describe('graphs whose weights mix linked files and converted tensors', () => {
  it('run: the strided decoder is materialised while pre_b stays a reference into the .pt', async () => {
    const sae = await loadSae(fixture(manifest.saes['clipscope-gelu']!.file));
    const g = new GraphBuilder('mixed');
    const ext = new ExternalData();
    const x = g.input('x', 'float32', [sae.nFeatures, sae.dIn]);
    const withDec = g.op('Add', [x, await bindTensor(g, ext, 'dec', sae.decoder)]);
    g.op('Add', [withDec, await bindTensor(g, ext, 'pre_b', sae.decoderBias)], {}, 'y');
    g.output('y', 'float32', [sae.nFeatures, sae.dIn]);
    const files = ext.files();
    expect(files.map((f) => f.kind).sort()).toEqual(['file', 'memory']);
    const opened = await openSession({ model: g.encode(), files, inputs: ['x'], outputs: ['y'] }, { provider: 'cpu', cacheDir: TEST_CACHE });
    const out = await opened.session.run({ x: new ort.Tensor('float32', new Float32Array(sae.nFeatures * sae.dIn), [sae.nFeatures, sae.dIn]) });
    await opened.session.release();
    const dec = await readFloat32(sae.decoder);
    const preB = await readFloat32(sae.decoderBias);
    const y = out['y']!.data as Float32Array;
    const want = dec.map((v, i) => Math.fround(v + preB[i % sae.dIn]!));
    expect(Array.from(y)).toEqual(Array.from(want));
  });
});
