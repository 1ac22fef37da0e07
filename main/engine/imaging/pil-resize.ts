/**
 * Pillow's `Image.resize` for 8-bit RGB images (libImaging/Resample.c, unchanged in semantics
 * from Pillow 7 to 11), ported to TypeScript so its output is bit-identical to PIL's:
 *
 * - separable convolution: a horizontal pass into an 8-bit intermediate, then a vertical pass
 *   (each only if that dimension changes); the horizontal pass only covers the input rows the
 *   vertical pass will read (`ybox_first .. ybox_last`);
 * - filters: BICUBIC = Keys cubic with a = -0.5, support 2; BILINEAR = triangle, support 1;
 *   pixel centres at +0.5; when downscaling, the support widens by the scale factor;
 * - per output pixel the window is [trunc(center - support + 0.5), trunc(center + support + 0.5))
 *   clipped to the image, weights computed in double and normalised by their sum;
 * - weights then become fixed point with PRECISION_BITS = 22 (round half away from zero), the
 *   accumulator starts at 1 << 21 (rounding), and the result is `clip8(sum >> 22)`.
 *
 * Integer accumulation is exact and order-independent, so the loops below may be arranged for
 * speed without changing a single output value.
 */
import type { RgbImage } from './decode.js';
import { WasmArena, arenaSize, wasmResampleAvailable } from './resample-wasm.js';

export type ResampleFilter = 'bicubic' | 'bilinear';

/** PIL.Image.Resampling values transformers stores in `resample`. */
export const PIL_RESAMPLE: Readonly<Record<number, ResampleFilter | undefined>> = {
  2: 'bilinear',
  3: 'bicubic',
};

const PRECISION_BITS = 32 - 8 - 2;
const HALF = 1 << (PRECISION_BITS - 1);
const ONE = 1 << PRECISION_BITS;
/** Input bytes the WebAssembly horizontal pass handles per call (fits in L2). */
const BAND_BYTES = 192 * 1024;

function bicubic(x: number): number {
  // Keys cubic convolution, a = -0.5 (the expressions mirror Pillow's bicubic_filter).
  const a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

function bilinear(x: number): number {
  if (x < 0.0) x = -x;
  if (x < 1.0) return 1.0 - x;
  return 0.0;
}

const FILTERS: Readonly<Record<ResampleFilter, { fn: (x: number) => number; support: number }>> = {
  bicubic: { fn: bicubic, support: 2.0 },
  bilinear: { fn: bilinear, support: 1.0 },
};

/** Fixed-point weights for one axis: output i reads `count[i]` inputs from `start[i]`. */
interface AxisCoeffs {
  readonly ksize: number;
  readonly start: Int32Array;
  readonly count: Int32Array;
  /** `ksize` weights per output index, fixed point (1 << 22 = 1.0); unused tail entries are 0. */
  readonly weights: Int32Array;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for the box [0, inSize). */
function precomputeCoeffs(inSize: number, outSize: number, filter: ResampleFilter): AxisCoeffs {
  const { fn, support: baseSupport } = FILTERS[filter];
  const in0 = 0;
  const in1 = inSize;
  const scale = (in1 - in0) / outSize;
  const filterscale = scale < 1.0 ? 1.0 : scale;
  const support = baseSupport * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  const ss = 1.0 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = in0 + (xx + 0.5) * scale;
    // C's (int) cast truncates toward zero.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0.0;
    for (let x = 0; x < xmax; x++) {
      const w = fn((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    const base = xx * ksize;
    for (let x = 0; x < xmax; x++) {
      const w = ww !== 0.0 ? k[x]! / ww : k[x]!;
      // normalize_coeffs_8bpc: round half away from zero, then truncate (C int cast).
      weights[base + x] = w < 0 ? Math.trunc(-0.5 + w * ONE) : Math.trunc(0.5 + w * ONE);
    }
    start[xx] = xmin;
    count[xx] = xmax;
  }
  return { ksize, start, count, weights };
}

export interface ResizeOptions {
  /**
   * 'wasm': WebAssembly SIMD kernels (about 4x faster); 'js': plain TypeScript; 'auto' (default):
   * wasm where the runtime has SIMD. Both give identical bytes.
   */
  readonly backend?: 'auto' | 'wasm' | 'js';
}

/**
 * Resizes an RGB image exactly as PIL's `Image.resize((outWidth, outHeight), resample)` (with
 * `reducing_gap=None`, the default and what transformers passes) does for mode "RGB".
 */
export function pilResize(
  img: RgbImage,
  outWidth: number,
  outHeight: number,
  filter: ResampleFilter = 'bicubic',
  options: ResizeOptions = {},
): RgbImage {
  const { width: inW, height: inH, data } = img;
  if (!Number.isInteger(outWidth) || !Number.isInteger(outHeight) || outWidth < 1 || outHeight < 1) {
    throw new RangeError(`resize target must be positive integers, got ${outWidth}x${outHeight}`);
  }
  if (data.length !== inW * inH * 3) throw new RangeError('RgbImage data length does not match its size');
  // Image.resize: same size and full box -> a copy.
  if (outWidth === inW && outHeight === inH) return { data: data.slice(), width: inW, height: inH };

  const needHorizontal = outWidth !== inW;
  const needVertical = outHeight !== inH;
  const vert = precomputeCoeffs(inH, outHeight, filter);
  const horiz = needHorizontal ? precomputeCoeffs(inW, outWidth, filter) : undefined;
  const backend = options.backend ?? 'auto';
  if (backend === 'wasm' || (backend === 'auto' && wasmResampleAvailable())) {
    return resizeWasm(img, outWidth, outHeight, horiz, needVertical ? vert : undefined);
  }

  let src: Uint8Array = data;
  let srcW = inW;
  let vStart = vert.start;
  if (needHorizontal) {
    // Only the rows the vertical pass reads (ybox_first .. ybox_last) are resampled.
    const first = vert.start[0]!;
    const last = vert.start[outHeight - 1]! + vert.count[outHeight - 1]!;
    src = resampleHorizontal(data, inW, first, last - first, outWidth, horiz!);
    srcW = outWidth;
    if (needVertical) vStart = vert.start.map((s) => s - first);
  }
  if (!needVertical) return { data: src, width: srcW, height: inH };
  const out = resampleVertical(src, srcW, outHeight, vStart, vert);
  return { data: out, width: srcW, height: outHeight };
}

function resampleHorizontal(
  data: Uint8Array,
  inW: number,
  firstRow: number,
  rows: number,
  outW: number,
  c: AxisCoeffs,
): Uint8Array {
  // Uint8ClampedArray stores clip8() of an integer for free.
  const out = new Uint8ClampedArray(outW * rows * 3);
  const { ksize, start, count, weights } = c;
  const stride = inW * 3;
  let o = 0;
  let y = 0;
  // Two rows at a time share each weight load.
  for (; y + 1 < rows; y += 2) {
    const row0 = (firstRow + y) * stride;
    const row1 = row0 + stride;
    const o1base = o + outW * 3;
    for (let xx = 0; xx < outW; xx++) {
      const n = count[xx]!;
      const kb = xx * ksize;
      let p = start[xx]! * 3;
      let a0 = HALF, a1 = HALF, a2 = HALF, b0 = HALF, b1 = HALF, b2 = HALF;
      for (let i = 0; i < n; i++, p += 3) {
        const k = weights[kb + i]!;
        a0 = (a0 + Math.imul(data[row0 + p]!, k)) | 0;
        a1 = (a1 + Math.imul(data[row0 + p + 1]!, k)) | 0;
        a2 = (a2 + Math.imul(data[row0 + p + 2]!, k)) | 0;
        b0 = (b0 + Math.imul(data[row1 + p]!, k)) | 0;
        b1 = (b1 + Math.imul(data[row1 + p + 1]!, k)) | 0;
        b2 = (b2 + Math.imul(data[row1 + p + 2]!, k)) | 0;
      }
      const q = xx * 3;
      out[o + q] = a0 >> PRECISION_BITS;
      out[o + q + 1] = a1 >> PRECISION_BITS;
      out[o + q + 2] = a2 >> PRECISION_BITS;
      out[o1base + q] = b0 >> PRECISION_BITS;
      out[o1base + q + 1] = b1 >> PRECISION_BITS;
      out[o1base + q + 2] = b2 >> PRECISION_BITS;
    }
    o += outW * 6;
  }
  for (; y < rows; y++) {
    const row0 = (firstRow + y) * stride;
    for (let xx = 0; xx < outW; xx++) {
      const n = count[xx]!;
      const kb = xx * ksize;
      let p = row0 + start[xx]! * 3;
      let a0 = HALF, a1 = HALF, a2 = HALF;
      for (let i = 0; i < n; i++, p += 3) {
        const k = weights[kb + i]!;
        a0 = (a0 + Math.imul(data[p]!, k)) | 0;
        a1 = (a1 + Math.imul(data[p + 1]!, k)) | 0;
        a2 = (a2 + Math.imul(data[p + 2]!, k)) | 0;
      }
      out[o++] = a0 >> PRECISION_BITS;
      out[o++] = a1 >> PRECISION_BITS;
      out[o++] = a2 >> PRECISION_BITS;
    }
  }
  return new Uint8Array(out.buffer);
}

function resampleVertical(
  src: Uint8Array,
  width: number,
  outH: number,
  start: Int32Array,
  c: AxisCoeffs,
): Uint8Array {
  const out = new Uint8ClampedArray(width * outH * 3);
  const { ksize, count, weights } = c;
  const rowLen = width * 3;
  // Accumulate whole output rows: row-wise access, one weight per input row.
  const acc = new Int32Array(rowLen);
  for (let yy = 0; yy < outH; yy++) {
    acc.fill(HALF);
    const n = count[yy]!;
    const kb = yy * ksize;
    const s0 = start[yy]!;
    for (let i = 0; i < n; i++) {
      const k = weights[kb + i]!;
      const row = (s0 + i) * rowLen;
      for (let j = 0; j < rowLen; j++) acc[j] = (acc[j]! + Math.imul(src[row + j]!, k)) | 0;
    }
    const o = yy * rowLen;
    for (let j = 0; j < rowLen; j++) out[o + j] = acc[j]! >> PRECISION_BITS;
  }
  return new Uint8Array(out.buffer);
}

/** The same two passes with the WebAssembly SIMD kernels (see resample-wasm.ts). */
function resizeWasm(
  img: RgbImage,
  outW: number,
  outH: number,
  horiz: AxisCoeffs | undefined,
  vert: AxisCoeffs | undefined,
): RgbImage {
  const { width: inW, data } = img;
  const inH = img.height;
  // Rows of the input the vertical pass reads (all of them when there is no vertical pass).
  const first = vert ? vert.start[0]! : 0;
  const last = vert ? vert.start[outH - 1]! + vert.count[outH - 1]! : inH;
  const rows = last - first;
  const midW = horiz ? outW : inW;
  const groups = horiz ? Math.ceil(horiz.ksize / 4) : 0;
  const rowBytes = inW * 3;
  // The horizontal pass streams the input through a small band buffer (cache-resident, and no
  // allocation the size of the photo); without one, the vertical pass reads the rows in place.
  const bandRows = horiz ? Math.max(1, Math.min(rows, Math.floor(BAND_BYTES / rowBytes))) : 0;
  const srcBytes = horiz ? bandRows * rowBytes : rows * rowBytes;
  const midBytes = horiz ? rows * outW * 3 : 0;
  const hParamBytes = horiz ? outW * 8 : 0;
  const hWeightBytes = horiz ? outW * groups * 48 : 0;
  const vParamBytes = vert ? outH * 8 : 0;
  const vWeightBytes = vert ? outH * vert.ksize * 4 : 0;
  const outBytes = vert ? midW * outH * 3 : 0;
  const arena = new WasmArena(
    arenaSize([srcBytes, midBytes, hParamBytes, hWeightBytes, vParamBytes, vWeightBytes, outBytes]),
  );
  const src = arena.alloc(srcBytes);
  let cur = src;
  if (horiz) {
    const mid = arena.alloc(midBytes);
    const params = arena.alloc(hParamBytes);
    const weights = arena.alloc(hWeightBytes);
    const p = arena.i32(params, outW * 2);
    const w = arena.i32(weights, outW * groups * 12);
    for (let x = 0; x < outW; x++) {
      const n = horiz.count[x]!;
      p[2 * x] = horiz.start[x]! * 3;
      p[2 * x + 1] = Math.ceil(n / 4);
      // Lanes: [k0 k0 k0 k1] [k1 k1 k2 k2] [k2 k3 k3 k3] per group of four taps; 0 past n.
      const wb = x * groups * 12;
      const kb = x * horiz.ksize;
      for (let t = 0; t < n; t++) {
        const k = horiz.weights[kb + t]!;
        const at = wb + t * 3;
        w[at] = k;
        w[at + 1] = k;
        w[at + 2] = k;
      }
    }
    const band = arena.u8(src, srcBytes);
    for (let r = 0; r < rows; r += bandRows) {
      const n = Math.min(bandRows, rows - r);
      band.set(data.subarray((first + r) * rowBytes, (first + r + n) * rowBytes));
      arena.kernels.hpass(src, rowBytes, n, outW, params, weights, groups * 48, mid + r * outW * 3);
    }
    cur = mid;
  } else {
    arena.u8(src, srcBytes).set(data.subarray(first * rowBytes, last * rowBytes));
  }
  if (!vert) return { data: arena.u8(cur, midW * rows * 3).slice(), width: midW, height: rows };

  const out = arena.alloc(outBytes);
  const params = arena.alloc(vParamBytes);
  const weights = arena.alloc(vWeightBytes);
  const p = arena.i32(params, outH * 2);
  for (let y = 0; y < outH; y++) {
    p[2 * y] = vert.start[y]! - first;
    p[2 * y + 1] = vert.count[y]!;
  }
  arena.i32(weights, outH * vert.ksize).set(vert.weights);
  arena.kernels.vpass(cur, midW * 3, outH, params, weights, vert.ksize, out);
  return { data: arena.u8(out, midW * outH * 3).slice(), width: midW, height: outH };
}
