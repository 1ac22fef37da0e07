import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeNpy, encodeNpy, readNpy, writeNpy, type NpyData, type NpyDType } from '../../../main/engine/formats/npy.js';
import { expectModelFileError, fixture, manifest, tempDir, writeBytes } from './fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const NUMPY_NAMES: Record<string, NpyDType> = {
  float32: 'float32', float64: 'float64', float16: 'float16', int64: 'int64', int32: 'int32', uint8: 'uint8', bool: 'bool',
};

describe('readNpy reads Python-written files', () => {
  for (const [name, exp] of Object.entries(manifest.npy)) {
    it(`${name} (format version ${exp.version})`, async () => {
      const arr = await readNpy(fixture('npy', name));
      expect(arr.dtype).toBe(NUMPY_NAMES[exp.dtype]);
      expect(arr.shape).toEqual(exp.shape);
      const values = arr.data instanceof BigInt64Array ? [...arr.data].map(String) : [...arr.data].map(Number);
      expect(values).toEqual(exp.dtype === 'float32' ? exp.values.map((v) => Math.fround(Number(v))) : exp.values);
    });
  }

  it('reads from a Buffer too', async () => {
    const arr = await readNpy(readFileSync(fixture('npy', 'f32_2d.npy')));
    expect(arr.shape).toEqual([3, 4]);
  });
});

describe('writeNpy', () => {
  const cases: [string, NpyData, number[], NpyDType?][] = [
    ['f32', new Float32Array([1.5, -2, 3.25, NaN, Infinity, -0]), [2, 3]],
    ['f64', new Float64Array([0.1, 5e-324]), [2]],
    ['i64', new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]), [1, 2]],
    ['i32', new Int32Array([-1, 7]), [2, 1]],
    ['u8', new Uint8Array([0, 255]), [2]],
    ['bool', new Uint8Array([1, 0, 1]), [3], 'bool'],
    ['f16', new Uint16Array([0x3c00, 0x7bff]), [2], 'float16'],
    ['scalar', new Float32Array([3]), []],
    ['empty', new Float32Array(0), [0, 1024]],
  ];
  it.each(cases)('round-trips %s', async (name, data, shape, dtype) => {
    const path = tmp.path(`${name}.npy`);
    await writeNpy(path, data, shape, dtype ? { dtype } : {});
    const bytes = readFileSync(path);
    const headerLength = bytes.readUInt16LE(8);
    expect((10 + headerLength) % 64).toBe(0); // numpy's alignment, so np.load can memory-map it
    expect(bytes.subarray(10, 10 + headerLength).toString('latin1')).toMatch(/^\{'descr': '[<|][a-z]\d', 'fortran_order': False, 'shape': \([\d, ]*\), \} *\n$/);
    const back = await readNpy(path);
    expect(back.shape).toEqual(shape);
    expect(back.data.constructor).toBe(data.constructor);
    expect(Buffer.from(back.data.buffer, back.data.byteOffset, back.data.byteLength)).toEqual(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    if (dtype) expect(back.dtype).toBe(dtype);
  });

  it('writes exactly the bytes numpy writes', () => {
    const ours = encodeNpy(new Float32Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((v) => v / 3)), [3, 4]);
    expect(ours).toEqual(readFileSync(fixture('npy', 'f32_2d.npy')));
  });

  it('refuses a shape that does not match the data', () => {
    expect(() => encodeNpy(new Float32Array(5), [2, 3])).toThrow(/does not match 5 elements/);
  });
});

describe('readNpy: unusable files give a ModelFileError naming the file', () => {
  it('Fortran order', async () => {
    const path = fixture('npy', 'fortran.npy');
    await expectModelFileError(readNpy(path), path, /Fortran-order/);
  });

  it('big-endian data', async () => {
    const path = fixture('npy', 'big_endian.npy');
    await expectModelFileError(readNpy(path), path, /big-endian \.npy data \(>f4\)/);
  });

  it('truncated copies, garbage, a missing file', async () => {
    const bytes = readFileSync(fixture('npy', 'f32_2d.npy'));
    for (const n of [0, 6, 9, 50, 128, bytes.length - 1]) {
      const path = writeBytes(tmp.path(`cut-${n}.npy`), bytes.subarray(0, n));
      await expectModelFileError(readNpy(path), path, n < 10 ? /not a \.npy file/ : /truncated/);
    }
    const garbage = writeBytes(tmp.path('garbage.npy'), Buffer.from('hello world, not numpy'));
    await expectModelFileError(readNpy(garbage), garbage, /not a \.npy file/);
    const missing = tmp.path('missing.npy');
    await expectModelFileError(readNpy(missing), missing, /does not exist/);
  });

  it('a malformed header dict', () => {
    const bytes = Buffer.from(readFileSync(fixture('npy', 'f32_2d.npy')));
    bytes.write("{'descr': '<f4', 'fortran_order': Maybe", 10, 'latin1');
    expect(() => decodeNpy(bytes, 'x.npy')).toThrow(/x\.npy: the \.npy header is malformed/);
  });
});
