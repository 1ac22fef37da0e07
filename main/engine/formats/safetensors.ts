/**
 * safetensors: an 8-byte little-endian header length, a JSON header, then raw little-endian
 * tensor bytes. Only the header is read; tensors come back as FileTensor descriptors with
 * absolute offsets so the ONNX graph builder can point external data straight into the file.
 *
 * Every check here exists because the failure would otherwise surface much later and far from
 * the cause (an onnxruntime error about external data, or garbage weights): a file cut short by
 * an interrupted download, an HTML error page saved under a .safetensors name, and so on.
 */
import { resolve } from 'node:path';
import { ModelFileError } from '../errors.js';
import { openModelFile, readFully } from './file-io.js';
import { formatBytes, formatShape } from './format-size.js';
import { DTYPE_BYTES, elementCount, rowMajorStrides, type DType, type FileTensor } from './tensor.js';

/** safetensors dtype codes this app can use, mapped to our names. */
const SAFETENSORS_DTYPES: Readonly<Record<string, DType>> = {
  F32: 'float32', F16: 'float16', BF16: 'bfloat16', F64: 'float64',
  I64: 'int64', I32: 'int32', I16: 'int16', I8: 'int8', U8: 'uint8', BOOL: 'bool',
};

/** The format's own limit (the Rust reader refuses bigger headers): anything larger is not one. */
const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsFile {
  /** Tensors in header order. */
  readonly tensors: Map<string, FileTensor>;
  /** The optional `__metadata__` string map (empty when absent). */
  readonly metadata: Record<string, string>;
}

export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  const file = resolve(path);
  const fail = (reason: string): never => {
    throw new ModelFileError(path, reason);
  };
  const handle = await openModelFile(file, path);
  try {
    const size = (await handle.stat()).size;
    if (size === 0) fail('not a safetensors file (the file is empty)');
    if (size < 8) fail(`not a safetensors file (only ${formatBytes(size)}, shorter than the 8-byte header length)`);
    const prefix = Buffer.alloc(8);
    await readFully(handle, prefix, 0, path, 'the header length');
    const headerLength = prefix.readBigUInt64LE(0);
    if (headerLength > BigInt(size - 8)) {
      fail(`not a safetensors file (header length ${formatBytes(headerLength)} exceeds the file size of ${formatBytes(size)})`);
    }
    if (headerLength > BigInt(MAX_HEADER_BYTES)) {
      fail(`not a safetensors file (header length ${formatBytes(headerLength)} is over the format's 100 MB limit)`);
    }
    if (headerLength < 2n) fail('not a safetensors file (the header is too short to hold a JSON object)');
    const length = Number(headerLength);
    const raw = Buffer.alloc(length);
    await readFully(handle, raw, 8, path, 'the header');
    return parseHeader(raw, file, path, size - 8 - length, 8 + length);
  } finally {
    await handle.close();
  }
}

function parseHeader(raw: Buffer, file: string, displayName: string, dataBytes: number, dataStart: number): SafetensorsFile {
  const fail = (reason: string): never => {
    throw new ModelFileError(displayName, reason);
  };
  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    fail('not a safetensors file (the header is not UTF-8 text)');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    fail(`not a safetensors file (the header is not valid JSON: ${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    fail('not a safetensors file (the header is not a JSON object)');
  }

  const metadata: Record<string, string> = {};
  const tensors = new Map<string, FileTensor>();
  let maxEnd = 0;
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail('the header\'s __metadata__ is not an object');
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`the header's __metadata__ value for "${k}" is not a string`);
        Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    const t = parseEntry(name, entry, fail);
    const nbytes = elementCount(t.shape) * DTYPE_BYTES[t.dtype];
    if (t.end - t.begin !== nbytes) {
      fail(`tensor "${name}" has data_offsets spanning ${formatBytes(t.end - t.begin)} but shape ${formatShape(t.shape)} of ${t.dtype} needs ${formatBytes(nbytes)}`);
    }
    maxEnd = Math.max(maxEnd, t.end);
    tensors.set(name, Object.freeze({
      dtype: t.dtype,
      shape: Object.freeze(t.shape),
      strides: Object.freeze(rowMajorStrides(t.shape)),
      file,
      offset: dataStart + t.begin,
      available: nbytes,
    }));
  }
  if (maxEnd > dataBytes) {
    fail(`truncated: header says ${formatBytes(maxEnd)} of tensor data but the file holds ${formatBytes(dataBytes)}`);
  }
  return { tensors, metadata };
}

interface Entry {
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

function parseEntry(name: string, entry: unknown, fail: (reason: string) => never): Entry {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail(`the header entry for tensor "${name}" is not an object`);
  const e = entry as Record<string, unknown>;
  const code = e['dtype'];
  if (typeof code !== 'string') fail(`tensor "${name}" has no dtype in the header`);
  const dtype = Object.hasOwn(SAFETENSORS_DTYPES, code as string) ? SAFETENSORS_DTYPES[code as string] : undefined;
  if (!dtype) fail(`tensor "${name}" has dtype ${String(code)}, which is not supported (expected one of ${Object.keys(SAFETENSORS_DTYPES).join(', ')})`);
  const shape = e['shape'];
  if (!Array.isArray(shape) || !shape.every(isCount)) fail(`tensor "${name}" has an invalid shape in the header`);
  const offsets = e['data_offsets'];
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0]! > offsets[1]!) {
    fail(`tensor "${name}" has invalid data_offsets in the header`);
  }
  const [begin, end] = offsets as [number, number];
  return { dtype: dtype!, shape: shape as number[], begin, end };
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
