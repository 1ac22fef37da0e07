/**
 * Materialises FileTensors as contiguous row-major arrays. Needed whenever the bytes in the file
 * cannot be used in place: CLIP-Scope's decoder is stored transposed (strides (1, 65536)), a JS
 * oracle needs float32 values, half-precision weights must be widened, and so on.
 *
 * The byte span the strides cover is read once (sequential I/O is what disks are good at) and
 * permuted in memory: a 65536 x 1024 float32 transpose is one 256 MB read plus a cache-blocked
 * copy, well under two seconds. Reads are bounds-checked against the tensor's `available` bytes
 * and the real file length, so a truncated file is reported rather than read as garbage.
 */
import { endianness } from 'node:os';
import { ModelFileError } from '../errors.js';
import { openModelFile, readFully } from './file-io.js';
import { bfloat16ToFloat32Array, float16ToFloat32Array } from './float16.js';
import { formatBytes, formatShape } from './format-size.js';
import { DTYPE_BYTES, elementCount, isContiguous, spanElements, type DType, type FileTensor } from './tensor.js';

/** Native element arrays; float16 / bfloat16 come back as their Uint16 bit patterns. */
export type TensorArray = Float32Array | Float64Array | Uint16Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;

/** The tensor's values as float32, contiguous row-major (a fresh array the caller may keep). */
export async function readFloat32(t: FileTensor): Promise<Float32Array> {
  return toFloat32(await readTensor(t), t.dtype);
}

/** The tensor's values in their own dtype, contiguous row-major. */
export async function readTensor(t: FileTensor): Promise<TensorArray> {
  const n = elementCount(t.shape);
  const itemsize = DTYPE_BYTES[t.dtype];
  const span = await readSpan(t);
  // A contiguous tensor's span is exactly its elements: nothing to permute.
  if (span.byteLength === n * itemsize && isContiguous(t)) return typedView(t.dtype, span.buffer, n);
  const out = new ArrayBuffer(n * itemsize);
  // Permute raw words, never values: integer copies are exact (a float copy through a JS number
  // may quieten a signalling NaN) and measurably faster. An 8-byte element is two 4-byte words,
  // i.e. one more innermost dimension of size 2.
  if (itemsize === 8) gather(new Int32Array(span.buffer), new Int32Array(out), [...t.shape, 2], [...t.strides.map((s) => s * 2), 1]);
  else if (itemsize === 4) gather(new Int32Array(span.buffer), new Int32Array(out), t.shape, t.strides);
  else if (itemsize === 2) gather(new Uint16Array(span.buffer), new Uint16Array(out), t.shape, t.strides);
  else gather(new Uint8Array(span.buffer), new Uint8Array(out), t.shape, t.strides);
  return typedView(t.dtype, out, n);
}

/** The tensor's bytes exactly as stored; only for contiguous tensors (the layout is then implied). */
export async function readRawBytes(t: FileTensor): Promise<Uint8Array> {
  if (!isContiguous(t)) {
    throw new ModelFileError(t.file, `tensor of shape ${formatShape(t.shape)} is not contiguous (strides ${formatShape(t.strides)}); its raw bytes are not row-major (use readFloat32)`);
  }
  return readSpan(t);
}

/** Reads the bytes from element [0, ...] through the furthest element the strides reach. */
async function readSpan(t: FileTensor): Promise<Uint8Array> {
  if (endianness() !== 'LE') throw new ModelFileError(t.file, 'tensor files are little-endian and this machine is not');
  if (t.shape.length !== t.strides.length || ![...t.shape, ...t.strides].every((v) => Number.isSafeInteger(v) && v >= 0)) {
    throw new ModelFileError(t.file, `invalid tensor layout (shape ${formatShape(t.shape)}, strides ${formatShape(t.strides)})`);
  }
  const bytes = spanElements(t.shape, t.strides) * DTYPE_BYTES[t.dtype];
  if (bytes > t.available) {
    throw new ModelFileError(t.file, `truncated: a ${t.dtype} tensor of shape ${formatShape(t.shape)} with strides ${formatShape(t.strides)} needs ${formatBytes(bytes)} from byte ${t.offset.toLocaleString('en-US')} but its storage holds ${formatBytes(t.available)}`);
  }
  // A fresh ArrayBuffer (not Node's pooled Buffer memory), so typed views are always aligned.
  const out = new Uint8Array(new ArrayBuffer(bytes));
  if (bytes === 0) return out;
  const handle = await openModelFile(t.file);
  try {
    await readFully(handle, out, t.offset, t.file, 'the tensor data');
  } finally {
    await handle.close();
  }
  return out;
}

function typedView(dtype: DType, buffer: ArrayBufferLike, length: number): TensorArray {
  switch (dtype) {
    case 'float32': return new Float32Array(buffer, 0, length);
    case 'float64': return new Float64Array(buffer, 0, length);
    case 'float16': case 'bfloat16': return new Uint16Array(buffer, 0, length);
    case 'int64': return new BigInt64Array(buffer, 0, length);
    case 'int32': return new Int32Array(buffer, 0, length);
    case 'int16': return new Int16Array(buffer, 0, length);
    case 'int8': return new Int8Array(buffer, 0, length);
    case 'uint8': case 'bool': return new Uint8Array(buffer, 0, length);
  }
}

/** Widens any native array to float32 (exact for float16 / bfloat16, rounded for the rest). */
export function toFloat32(src: TensorArray, dtype: DType): Float32Array {
  if (src instanceof Float32Array) return src;
  if (dtype === 'float16') return float16ToFloat32Array(src as Uint16Array);
  if (dtype === 'bfloat16') return bfloat16ToFloat32Array(src as Uint16Array);
  const out = new Float32Array(src.length);
  if (src instanceof BigInt64Array) for (let i = 0; i < src.length; i++) out[i] = Number(src[i]!);
  else out.set(src); // TypedArray.set converts each value with float32 round-to-nearest-even
  return out;
}

/** Word arrays the permutation runs on (same element width as the dtype). */
type Elems = Int32Array | Uint16Array | Uint8Array;
// 64 x 64 words of 4 bytes: one tile of each side fits in L1; measured best of 16..128.
const TILE = 64;

/** dst (contiguous row-major) <- src[Σ idx_i * strides_i], with dims merged where possible. */
function gather(src: Elems, dst: Elems, shape0: readonly number[], strides0: readonly number[]): void {
  const { shape, strides } = simplify(shape0, strides0);
  const nd = shape.length;
  if (nd === 0) {
    dst[0] = src[0]!;
    return;
  }
  if (nd === 1) {
    copyStrided(src, 0, strides[0]!, dst, 0, shape[0]!);
    return;
  }
  const rows = shape[nd - 2]!;
  const cols = shape[nd - 1]!;
  const sr = strides[nd - 2]!;
  const sc = strides[nd - 1]!;
  // Odometer over the leading dims; each step copies one rows x cols plane.
  const outer = shape.slice(0, nd - 2);
  const index = new Array<number>(outer.length).fill(0);
  const planes = elementCount(outer);
  let base = 0;
  for (let p = 0, o = 0; p < planes; p++, o += rows * cols) {
    copyPlane(src, base, sr, sc, dst, o, rows, cols);
    for (let d = outer.length - 1; d >= 0; d--) {
      base += strides[d]!;
      if (++index[d]! < outer[d]!) break;
      base -= strides[d]! * outer[d]!;
      index[d] = 0;
    }
  }
}

/** Drops size-1 dims and merges neighbours that are laid out as one (fewer, longer loops). */
function simplify(shape: readonly number[], strides: readonly number[]): { shape: number[]; strides: number[] } {
  const s: number[] = [];
  const st: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const last = s.length - 1;
    if (last >= 0 && st[last] === strides[i]! * shape[i]!) {
      s[last] = s[last]! * shape[i]!;
      st[last] = strides[i]!;
    } else {
      s.push(shape[i]!);
      st.push(strides[i]!);
    }
  }
  return { shape: s, strides: st };
}

function copyStrided(src: Elems, from: number, stride: number, dst: Elems, to: number, n: number): void {
  if (stride === 1) {
    dst.set(src.subarray(from, from + n), to);
    return;
  }
  for (let i = 0; i < n; i++) dst[to + i] = src[from + i * stride]!;
}

/** One 2-D plane; a transposed layout is copied in TILE x TILE blocks so both sides stay cached. */
function copyPlane(src: Elems, base: number, sr: number, sc: number, dst: Elems, o: number, rows: number, cols: number): void {
  if (sc === 1) {
    for (let r = 0; r < rows; r++) dst.set(src.subarray(base + r * sr, base + r * sr + cols), o + r * cols);
    return;
  }
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(rows, r0 + TILE);
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = Math.min(cols, c0 + TILE);
      for (let r = r0; r < r1; r++) {
        const srow = base + r * sr;
        const drow = o + r * cols;
        for (let c = c0; c < c1; c++) dst[drow + c] = src[srow + c * sc]!;
      }
    }
  }
}
