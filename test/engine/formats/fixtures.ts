/** Shared helpers for the formats tests: fixture paths, temp files, zip building, assertions. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { expect } from 'vitest';
import yauzl from 'yauzl';
import { ModelFileError } from '../../../main/engine/errors.js';
import { readFloat32, readTensor } from '../../../main/engine/formats/tensor-read.js';
import { isFileTensor } from '../../../main/engine/formats/tensor.js';

export const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'formats');
export const fixture = (...parts: string[]): string => join(FIXTURES, ...parts);

/** What scripts/fixtures/formats.py recorded from torch / numpy. */
export const manifest = JSON.parse(readFileSync(fixture('manifest.json'), 'utf8')) as {
  checkpoints: Record<string, { value: unknown; prefix: string }>;
  safetensors: Record<string, { metadata: Record<string, string>; header_length: number; tensors: Record<string, ExpectedTensor & { data_offsets: [number, number] }> }>;
  npy: Record<string, { dtype: string; shape: number[]; values: (number | string)[]; version: number }>;
  pickles: Record<string, unknown>;
};

export interface ExpectedTensor {
  $tensor: true;
  dtype: string;
  shape: number[];
  stride: number[];
  storage_offset: number;
  values: (number | string)[];
}

/** A fresh temp directory, removed by the returned cleanup. */
export function tempDir(): { dir: string; path: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'formats-test-'));
  return { dir, path: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Asserts a ModelFileError whose one-sentence message starts with the file's name. */
export async function expectModelFileError(promise: Promise<unknown>, file: string, pattern?: RegExp): Promise<ModelFileError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected a ModelFileError').toBeInstanceOf(ModelFileError);
  const err = caught as ModelFileError;
  expect(err.message.startsWith(`${file}: `)).toBe(true);
  expect(err.message).not.toContain('\n');
  if (pattern) expect(err.reason).toMatch(pattern);
  return err;
}

export interface ZipEntry {
  name: string;
  data: Uint8Array;
  /** 0 = STORED (default), 8 = DEFLATE. */
  method?: 0 | 8;
}

/** A minimal zip writer (no zip64) for building malformed checkpoints at test time. */
export function buildZip(entries: ZipEntry[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const method = e.method ?? 0;
    const body = method === 8 ? deflateRawSync(e.data) : Buffer.from(e.data);
    const crc = crc32(e.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(method, 10);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(body.length, 20);
    cd.writeUInt32LE(e.data.length, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(offset, 42);
    parts.push(local, name, body);
    central.push(cd, name);
    offset += 30 + name.length + body.length;
  }
  const cdBytes = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cdBytes.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cdBytes, eocd]);
}

/** All entries of a zip file, decompressed (for re-packing a real checkpoint differently). */
export async function readZipEntries(path: string): Promise<ZipEntry[]> {
  const zip = await yauzl.openPromise(path, { autoClose: false });
  const out: ZipEntry[] = [];
  try {
    for await (const entry of zip.eachEntry()) {
      const chunks: Buffer[] = [];
      for await (const c of await zip.openReadStreamPromise(entry)) chunks.push(c as Buffer);
      out.push({ name: entry.fileName, data: Buffer.concat(chunks) });
    }
  } finally {
    zip.close();
  }
  return out;
}

export function writeBytes(path: string, data: Uint8Array): string {
  writeFileSync(path, data);
  return path;
}

/** Compares a tensor's layout and (read back) values with what torch recorded. */
export async function expectTensor(actual: unknown, exp: ExpectedTensor, where: string): Promise<void> {
  expect(isFileTensor(actual), `${where} is a FileTensor`).toBe(true);
  if (!isFileTensor(actual)) return;
  expect(actual.dtype, where).toBe(exp.dtype);
  expect([...actual.shape], where).toEqual(exp.shape);
  expect([...actual.strides], where).toEqual(exp.stride);
  if (exp.dtype === 'int64') {
    const data = (await readTensor(actual)) as BigInt64Array;
    expect([...data], where).toEqual(exp.values.map((v) => BigInt(v)));
  } else if (['int32', 'int16', 'int8', 'uint8', 'bool'].includes(exp.dtype)) {
    expect([...(await readTensor(actual))].map(Number), where).toEqual(exp.values);
  } else {
    // Every float16 / bfloat16 / float32 value is exact as a double; float64 goes through float32.
    const got = await readFloat32(actual);
    expect(Array.from(got), where).toEqual(exp.values.map((v) => Math.fround(Number(v))));
    if (exp.dtype === 'float64') {
      const f64 = (await readTensor(actual)) as Float64Array;
      expect(Array.from(f64), where).toEqual(exp.values);
    }
  }
}

/** Walks the manifest's encoding of a Python value ($dict / $map / $bigint / $bytes / tensors). */
export async function expectValue(actual: unknown, exp: unknown, where = 'value'): Promise<void> {
  if (Array.isArray(exp)) {
    expect(Array.isArray(actual), `${where} is an array`).toBe(true);
    expect((actual as unknown[]).length, where).toBe(exp.length);
    for (let i = 0; i < exp.length; i++) await expectValue((actual as unknown[])[i], exp[i], `${where}[${i}]`);
    return;
  }
  if (exp === null || typeof exp !== 'object') {
    expect(actual, where).toBe(exp);
    return;
  }
  const e = exp as Record<string, unknown>;
  if (e['$tensor']) return expectTensor(actual, exp as ExpectedTensor, where);
  if ('$bigint' in e) return void expect(actual, where).toBe(BigInt(e['$bigint'] as string));
  if ('$bytes' in e) return void expect(Array.from(actual as Uint8Array), where).toEqual(e['$bytes']);
  if ('$map' in e) {
    expect(actual, where).toBeInstanceOf(Map);
    const pairs = [...(actual as Map<unknown, unknown>)];
    const expPairs = e['$map'] as [unknown, unknown][];
    expect(pairs.length, where).toBe(expPairs.length);
    for (let i = 0; i < pairs.length; i++) {
      await expectValue(pairs[i]![0], expPairs[i]![0], `${where} key ${i}`);
      await expectValue(pairs[i]![1], expPairs[i]![1], `${where}[${String(pairs[i]![0])}]`);
    }
    return;
  }
  const dict = e['$dict'] as Record<string, unknown>;
  expect(Object.getPrototypeOf(actual), `${where} is a plain object`).toBe(Object.prototype);
  expect(Object.keys(actual as object), where).toEqual(Object.keys(dict));
  for (const [k, v] of Object.entries(dict)) await expectValue((actual as Record<string, unknown>)[k], v, `${where}.${k}`);
}
