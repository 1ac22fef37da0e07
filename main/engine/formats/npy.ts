/**
 * NumPy .npy files (format versions 1.0, 2.0, 3.0), little-endian, C order. The CLI writes
 * activations with writeNpy so users can np.load them; tests read Python-written reference
 * arrays with readNpy. The header is a Python dict literal; a tiny literal parser reads it
 * (never eval).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { ModelFileError } from '../errors.js';
import { describeOpenError } from './file-io.js';
import { formatBytes, formatShape } from './format-size.js';
import { elementCount } from './tensor.js';

export type NpyDType = 'float32' | 'float64' | 'float16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'uint16' | 'uint32' | 'bool';

/** float16 arrays are carried as their Uint16 bit patterns, bool as Uint8 0 / 1. */
export type NpyData = Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array | Uint32Array;

export interface NpyArray {
  readonly dtype: NpyDType;
  readonly shape: number[];
  readonly data: NpyData;
}

const DESCR: Readonly<Record<NpyDType, string>> = {
  float32: '<f4', float64: '<f8', float16: '<f2', int64: '<i8', int32: '<i4', int16: '<i2', int8: '|i1',
  uint8: '|u1', uint16: '<u2', uint32: '<u4', bool: '|b1',
};
const BYTES: Readonly<Record<NpyDType, number>> = {
  float32: 4, float64: 8, float16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, uint16: 2, uint32: 4, bool: 1,
};
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

/** The dtype an array implies; Uint16Array / Uint8Array need `dtype` to mean float16 / bool. */
function dtypeOf(data: NpyData, override?: NpyDType): NpyDType {
  const natural: NpyDType =
    data instanceof Float32Array ? 'float32' : data instanceof Float64Array ? 'float64'
      : data instanceof BigInt64Array ? 'int64' : data instanceof Int32Array ? 'int32'
        : data instanceof Int16Array ? 'int16' : data instanceof Int8Array ? 'int8'
          : data instanceof Uint16Array ? 'uint16' : data instanceof Uint32Array ? 'uint32' : 'uint8';
  if (!override || override === natural) return natural;
  if ((override === 'float16' && natural === 'uint16') || (override === 'bool' && natural === 'uint8')) return override;
  throw new TypeError(`an ${data.constructor.name} cannot be written as ${override}`);
}

/** Encodes an array as .npy bytes (version 1.0, or 2.0 when the header needs it). */
export function encodeNpy(data: NpyData, shape: readonly number[], options: { dtype?: NpyDType } = {}): Buffer {
  const dtype = dtypeOf(data, options.dtype);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0) || elementCount(shape) !== data.length) {
    throw new TypeError(`shape ${formatShape(shape)} does not match ${data.length} elements`);
  }
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // numpy pads the header with spaces and a newline so the data starts on a 64-byte boundary.
  const version = header.length + 64 > 65535 ? 2 : 1;
  const prefix = version === 1 ? 10 : 12;
  header += ' '.repeat((64 - ((prefix + header.length + 1) % 64)) % 64) + '\n';
  const out = Buffer.alloc(prefix + header.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = version;
  out[7] = 0;
  if (version === 1) out.writeUInt16LE(header.length, 8);
  else out.writeUInt32LE(header.length, 8);
  out.write(header, prefix, 'latin1');
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), prefix + header.length);
  return out;
}

export async function writeNpy(path: string, data: NpyData, shape: readonly number[], options: { dtype?: NpyDType } = {}): Promise<void> {
  await writeFile(path, encodeNpy(data, shape, options));
}

/** Reads a .npy file (path) or its bytes; `name` labels a buffer in error messages. */
export async function readNpy(source: string | Uint8Array, name?: string): Promise<NpyArray> {
  if (typeof source !== 'string') return decodeNpy(source, name ?? 'the .npy data');
  let bytes: Buffer;
  try {
    bytes = await readFile(source);
  } catch (err) {
    throw new ModelFileError(source, describeOpenError(err));
  }
  return decodeNpy(bytes, name ?? source);
}

export function decodeNpy(bytes: Uint8Array, name = 'the .npy data'): NpyArray {
  const fail = (reason: string): never => {
    throw new ModelFileError(name, reason);
  };
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) fail('not a .npy file (no \\x93NUMPY signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6]!;
  if (major < 1 || major > 3) fail(`unsupported .npy format version ${major}.${bytes[7]}`);
  const prefix = major === 1 ? 10 : 12;
  if (bytes.length < prefix) fail('truncated: the .npy header is incomplete');
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (prefix + headerLength > bytes.length) fail(`truncated: the .npy header says ${formatBytes(headerLength)} but the file is ${formatBytes(bytes.length)}`);
  const raw = Buffer.from(bytes.buffer, bytes.byteOffset + prefix, headerLength);
  const header = parseHeader(major === 3 ? raw.toString('utf8') : raw.toString('latin1'), fail);

  const dtype = (Object.keys(DESCR) as NpyDType[]).find((k) => sameDescr(DESCR[k], header.descr));
  if (!dtype) {
    fail(header.descr.startsWith('>') ? `big-endian .npy data (${header.descr}) is not supported` : `unsupported .npy dtype ${header.descr}`);
  }
  if (header.fortranOrder) fail('Fortran-order .npy arrays are not supported (save with np.ascontiguousarray)');
  const n = elementCount(header.shape);
  const start = prefix + headerLength;
  const nbytes = n * BYTES[dtype!];
  if (start + nbytes > bytes.length) fail(`truncated: shape ${formatShape(header.shape)} needs ${formatBytes(nbytes)} of data but the file holds ${formatBytes(bytes.length - start)}`);
  // Copy into a fresh buffer: the typed view must be aligned and must not alias the input.
  const copy = new ArrayBuffer(nbytes);
  new Uint8Array(copy).set(bytes.subarray(start, start + nbytes));
  return { dtype: dtype!, shape: header.shape, data: makeArray(dtype!, copy, n) };
}

/** '<f4' matches '<f4'; single-byte types may be written with '|', '<' or '='. */
function sameDescr(ours: string, theirs: string): boolean {
  if (ours === theirs) return true;
  const body = ours.slice(1);
  if (theirs.slice(1) !== body) return false;
  return theirs[0] === '=' || (ours[0] === '|' && theirs[0] === '<');
}

function makeArray(dtype: NpyDType, buffer: ArrayBufferLike, n: number): NpyData {
  switch (dtype) {
    case 'float32': return new Float32Array(buffer, 0, n);
    case 'float64': return new Float64Array(buffer, 0, n);
    case 'float16': case 'uint16': return new Uint16Array(buffer, 0, n);
    case 'int64': return new BigInt64Array(buffer, 0, n);
    case 'int32': return new Int32Array(buffer, 0, n);
    case 'int16': return new Int16Array(buffer, 0, n);
    case 'int8': return new Int8Array(buffer, 0, n);
    case 'uint32': return new Uint32Array(buffer, 0, n);
    case 'uint8': case 'bool': return new Uint8Array(buffer, 0, n);
  }
}

interface Header {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
}

/** Parses `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`: strings, bools, int tuples. */
function parseHeader(text: string, fail: (reason: string) => never): Header {
  let i = 0;
  const bad = (): never => fail(`the .npy header is malformed (${JSON.stringify(text.trim().slice(0, 80))})`);
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const expect = (c: string) => {
    ws();
    if (text[i] !== c) bad();
    i++;
  };
  const value = (): unknown => {
    ws();
    const c = text[i];
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) bad();
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    if (c === '(' || c === '[') {
      const close = c === '(' ? ')' : ']';
      i++;
      const items: unknown[] = [];
      for (;;) {
        ws();
        if (text[i] === close) {
          i++;
          return items;
        }
        items.push(value());
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== close) bad();
      }
    }
    const m = /^(True|False|None|-?\d+L?)/.exec(text.slice(i));
    if (!m) return bad();
    i += m[0].length;
    return m[0] === 'True' ? true : m[0] === 'False' ? false : m[0] === 'None' ? null : Number(m[0].replace('L', ''));
  };
  const dict = new Map<string, unknown>();
  expect('{');
  for (;;) {
    ws();
    if (text[i] === '}') break;
    const key = value();
    if (typeof key !== 'string') bad();
    expect(':');
    dict.set(key as string, value());
    ws();
    if (text[i] === ',') i++;
    else if (text[i] !== '}') bad();
  }
  const descr = dict.get('descr');
  const fortranOrder = dict.get('fortran_order');
  const shape = dict.get('shape');
  if (typeof descr !== 'string' || typeof fortranOrder !== 'boolean' || !Array.isArray(shape)) bad();
  if (!(shape as unknown[]).every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) bad();
  return { descr: descr as string, fortranOrder: fortranOrder as boolean, shape: shape as number[] };
}
