import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { float32ToBfloat16Bits, float32ToFloat16Bits } from '../../../main/engine/formats/float16.js';
import { readFloat32, readRawBytes, readTensor } from '../../../main/engine/formats/tensor-read.js';
import { DTYPE_BYTES, elementCount, rowMajorStrides, type DType, type FileTensor } from '../../../main/engine/formats/tensor.js';
import { expectModelFileError, tempDir } from './fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** A file holding `header` junk bytes then a float32 storage 0, 1, 2, ... (n elements). */
function storageFile(name: string, n: number, header = 24): string {
  const path = tmp.path(name);
  const buf = Buffer.alloc(header + n * 4, 0xee);
  const f = new Float32Array(n).map((_, i) => i * 0.5 - 3);
  Buffer.from(f.buffer).copy(buf, header);
  writeFileSync(path, buf);
  return path;
}

/** The obvious (slow) definition of a strided read, as the oracle. */
function naive(storage: (i: number) => number, shape: number[], strides: number[], offset: number): number[] {
  const out: number[] = [];
  const idx = shape.map(() => 0);
  for (let k = 0; k < elementCount(shape); k++) {
    out.push(storage(offset + idx.reduce((a, v, d) => a + v * strides[d]!, 0)));
    for (let d = shape.length - 1; d >= 0; d--) if (++idx[d]! < shape[d]!) break; else idx[d] = 0;
  }
  return out;
}

const tensor = (file: string, dtype: DType, shape: number[], strides: number[], offsetEl: number, storageEl: number, header = 24): FileTensor => ({
  dtype, shape, strides, file, offset: header + offsetEl * DTYPE_BYTES[dtype], available: (storageEl - offsetEl) * DTYPE_BYTES[dtype],
});

describe('readFloat32 honours strides and offsets', () => {
  const N = 10000;
  const file = storageFile('storage.bin', N);
  const value = (i: number) => Math.fround(i * 0.5 - 3);
  const layouts: [string, number[], number[], number][] = [
    ['contiguous 2-D', [7, 9], [9, 1], 0],
    ['contiguous with offset', [4, 6], [6, 1], 18],
    ['transposed 2-D (dec)', [16, 8], [1, 16], 0],
    ['transposed, ragged tiles', [130, 67], [1, 130], 3],
    ['column view', [10], [6], 2],
    ['stepped slice', [3, 3], [18, 2], 7],
    ['broadcast (stride 0)', [4, 3], [0, 1], 5],
    ['all stride 0', [3, 2], [0, 0], 11],
    ['3-D permute', [4, 2, 3], [1, 12, 4], 0],
    ['4-D permute with size-1 dims', [2, 1, 3, 5], [1, 99, 10, 2], 1],
    ['scalar', [], [], 42],
    ['empty', [0, 3], [3, 1], 0],
  ];
  for (const [name, shape, strides, offset] of layouts) {
    it(name, async () => {
      const got = await readFloat32(tensor(file, 'float32', shape, strides, offset, N));
      expect(Array.from(got)).toEqual(naive(value, shape, strides, offset));
    });
  }

  it('converts float16, bfloat16, float64 and int64 storages', async () => {
    const vals = [0, 1, -2.5, 65504, 2 ** -24, 0.1, -7, 3e-5];
    const write = (name: string, bytes: Uint8Array) => {
      writeFileSync(tmp.path(name), Buffer.concat([Buffer.alloc(24), bytes]));
      return tmp.path(name);
    };
    const u8 = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const cases: [DType, Uint8Array, (v: number) => number][] = [
      ['float16', u8(Uint16Array.from(vals, float32ToFloat16Bits)), (v) => v],
      ['bfloat16', u8(Uint16Array.from(vals, float32ToBfloat16Bits)), (v) => v],
      ['float64', u8(Float64Array.from(vals)), (v) => v],
      ['int64', u8(BigInt64Array.from(vals.map((v) => BigInt(Math.trunc(v))))), (v) => Math.trunc(v)],
    ];
    for (const [dtype, bytes, model] of cases) {
      const file = write(`${dtype}.bin`, bytes);
      // A transposed 4 x 2 view of the 8 values, to exercise the strided path per dtype.
      const got = await readFloat32(tensor(file, dtype, [4, 2], [1, 4], 0, 8));
      const t = [0, 4, 1, 5, 2, 6, 3, 7].map((i) => vals[i]!);
      const expected = dtype === 'float16' ? [0, 1, -2.5, 65504, 2 ** -24, 0.0999755859375, -7, 0.0000299811363220215]
        : dtype === 'bfloat16' ? [0, 1, -2.5, 65536, 2 ** -24, 0.10009765625, -7, 0.0000300407409667969] : vals.map(model);
      expect(Array.from(got), dtype).toEqual(t.map((_, k) => Math.fround(expected[[0, 4, 1, 5, 2, 6, 3, 7][k]!]!)));
    }
    const ints = await readTensor(tensor(tmp.path('int64.bin'), 'int64', [8], [1], 0, 8));
    expect(ints).toBeInstanceOf(BigInt64Array);
  });
});

describe('bounds', () => {
  const file = storageFile('small.bin', 100);

  it('a stride reaching past the storage is "truncated"', async () => {
    const t = tensor(file, 'float32', [10, 10], [1, 11], 0, 100);
    await expectModelFileError(readFloat32(t), file, /truncated: a float32 tensor of shape \[10, 10\] with strides \[1, 11\] needs 436 bytes .* but its storage holds 400 bytes/);
  });

  it('a file shorter than its header claims is "truncated"', async () => {
    const t = { ...tensor(file, 'float32', [200], [1], 0, 200) };
    await expectModelFileError(readFloat32(t), file, /truncated: the tensor data needs bytes 24 to 824 but the file ends after 424 bytes/);
  });

  it('a missing file', async () => {
    const missing = tmp.path('gone.bin');
    await expectModelFileError(readFloat32(tensor(missing, 'float32', [2], [1], 0, 2)), missing, /does not exist/);
  });
});

describe('readRawBytes', () => {
  const file = storageFile('raw.bin', 64);
  it('returns the stored bytes of a contiguous tensor', async () => {
    const bytes = await readRawBytes(tensor(file, 'float32', [2, 3], [3, 1], 5, 64));
    expect(Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, 6))).toEqual([5, 6, 7, 8, 9, 10].map((i) => i * 0.5 - 3));
  });
  it('refuses a non-contiguous tensor', async () => {
    await expectModelFileError(readRawBytes(tensor(file, 'float32', [3, 2], [1, 3], 0, 64)), file, /not contiguous/);
  });
});

describe('full-size CLIP-Scope decoder layout', () => {
  it('materialises a 65536 x 1024 float32 tensor stored with strides (1, 65536)', async () => {
    const F = 65536;
    const D = 1024;
    const path = tmp.path('dec.bin');
    // storage[k] = k mod 16777213 (exact in float32); dec[f][d] = storage[f + d * F].
    const storage = new Float32Array(F * D);
    for (let k = 0; k < storage.length; k++) storage[k] = k % 16777213;
    writeFileSync(path, new Uint8Array(storage.buffer));
    const t: FileTensor = { dtype: 'float32', shape: [F, D], strides: [1, F], file: path, offset: 0, available: storage.byteLength };
    // Speed is measured by `npm run bench:encode`, never asserted here (noisy shared machines).
    const dec = await readFloat32(t);
    let bad = 0;
    for (let f = 0; f < F; f++) for (let d = 0; d < D; d++) if (dec[f * D + d] !== (f + d * F) % 16777213) bad++;
    expect(bad).toBe(0);
    expect(rowMajorStrides(t.shape)).toEqual([D, 1]);
  });
});
