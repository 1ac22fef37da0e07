import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { readSafetensors } from '../../../main/engine/formats/safetensors.js';
import { expectModelFileError, expectTensor, fixture, manifest, tempDir, writeBytes } from './fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const source = fixture('weights.safetensors');
const exp = manifest.safetensors['weights.safetensors']!;

/** A safetensors file from a header object and data bytes (for malformed variants). */
function build(header: unknown, data: Uint8Array = new Uint8Array(0)): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

describe('readSafetensors', () => {
  it('reads metadata, dtypes, shapes and absolute offsets; values match torch', async () => {
    const { tensors, metadata } = await readSafetensors(source);
    expect(metadata).toEqual(exp.metadata);
    expect([...tensors.keys()]).toEqual(Object.keys(exp.tensors));
    for (const [name, e] of Object.entries(exp.tensors)) {
      const t = tensors.get(name)!;
      expect(t.offset, name).toBe(8 + exp.header_length + e.data_offsets[0]);
      expect(t.available, name).toBe(e.data_offsets[1] - e.data_offsets[0]);
      expect(t.file).toBe(source);
      await expectTensor(t, e, name);
    }
  });

  it('accepts a file without __metadata__', async () => {
    const data = new Uint8Array(new Float32Array([1, 2]).buffer);
    const file = build({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, data);
    const path = writeBytes(tmp.path('nometa.safetensors'), file);
    const { tensors, metadata } = await readSafetensors(path);
    expect(metadata).toEqual({});
    expect(tensors.get('x')!.offset).toBe(8 + Number(file.readBigUInt64LE(0)));
    expect(tensors.get('x')!.strides).toEqual([1]);
  });
});

describe('readSafetensors: unusable files give a ModelFileError naming the file', () => {
  const bytes = readFileSync(source);
  const headerEnd = 8 + exp.header_length;

  it.each([
    [0, /the file is empty/],
    [5, /shorter than the 8-byte header length/],
    [8, /header length .* exceeds the file size/],
    [40, /header length .* exceeds the file size/],
    [headerEnd - 1, /header length .* exceeds the file size/],
    [headerEnd, /truncated: header says .* of tensor data but the file holds 0 bytes/],
    [headerEnd + 1, /truncated: header says .* of tensor data but the file holds 1 byte/],
    [headerEnd + 30, /truncated: header says/],
    [bytes.length - 1, /truncated: header says \d+ bytes of tensor data but the file holds \d+ bytes/],
  ])('file cut to %i bytes', async (n, pattern) => {
    const path = writeBytes(tmp.path(`cut-${n}.safetensors`), bytes.subarray(0, n));
    await expectModelFileError(readSafetensors(path), path, pattern);
  });

  it('a missing file', async () => {
    const path = tmp.path('missing.safetensors');
    await expectModelFileError(readSafetensors(path), path, /does not exist/);
  });

  it('a huge header length (random bytes, an HTML page, a zip)', async () => {
    const eightGb = Buffer.alloc(64);
    eightGb.writeBigUInt64LE(8n * 1024n ** 3n);
    for (const [name, data] of [
      ['8gb', eightGb],
      ['html', Buffer.from('<!DOCTYPE html><html><body>404 Not Found</body></html>')],
      ['pt', readFileSync(fixture('1200013184.pt'))],
    ] as const) {
      const path = writeBytes(tmp.path(`${name}.safetensors`), data);
      await expectModelFileError(readSafetensors(path), path, /not a safetensors file \(header length .* exceeds the file size/);
    }
  });

  it('a header that is not JSON, or not an object', async () => {
    const bad = Buffer.alloc(8 + 16, 0x7a);
    bad.writeBigUInt64LE(16n);
    const a = writeBytes(tmp.path('notjson.safetensors'), bad);
    await expectModelFileError(readSafetensors(a), a, /not valid JSON/);
    const b = writeBytes(tmp.path('array.safetensors'), build([1, 2]));
    await expectModelFileError(readSafetensors(b), b, /not a JSON object/);
  });

  it('an unknown dtype', async () => {
    const path = writeBytes(tmp.path('f8.safetensors'), build({ x: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2)));
    await expectModelFileError(readSafetensors(path), path, /tensor "x" has dtype F8_E4M3, which is not supported/);
  });

  it('data_offsets inconsistent with the shape', async () => {
    const path = writeBytes(tmp.path('offsets.safetensors'), build({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)));
    await expectModelFileError(readSafetensors(path), path, /data_offsets spanning 8 bytes but shape \[3\] of float32 needs 12 bytes/);
    const rev = writeBytes(tmp.path('reversed.safetensors'), build({ x: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, new Uint8Array(8)));
    await expectModelFileError(readSafetensors(rev), rev, /invalid data_offsets/);
    const shape = writeBytes(tmp.path('shape.safetensors'), build({ x: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }));
    await expectModelFileError(readSafetensors(shape), shape, /invalid shape/);
  });

  it('non-string metadata', async () => {
    const path = writeBytes(tmp.path('meta.safetensors'), build({ __metadata__: { n: 3 } }));
    await expectModelFileError(readSafetensors(path), path, /__metadata__ value for "n" is not a string/);
  });
});
