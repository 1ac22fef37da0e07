/**
 * WebAssembly SIMD kernels for the two passes of pil-resize.ts. The module is assembled here
 * from readable instructions (no binary blob, no build step). Both kernels do the same exact
 * integer arithmetic as Pillow's Resample.c (32-bit fixed-point weights, accumulator seeded with
 * 1 << 21, `clip8(sum >> 22)`), so their output equals the scalar TypeScript path byte for byte;
 * the tests run both.
 *
 * hpass (horizontal): RGB rows are interleaved, 3 bytes a pixel. Four taps = 12 bytes, loaded as
 * one v128 and widened to three i32x4 vectors whose lanes hold
 *     a = [R0 G0 B0 R1]  b = [G1 B1 R2 G2]  c = [B2 R3 G3 B3]
 * multiplied by weight vectors laid out the same way
 *     [k0 k0 k0 k1]      [k1 k1 k2 k2]      [k2 k3 k3 k3]
 * and accumulated. The fourth byte of each 16-byte load is ignored (weight 0 where no tap).
 * At the end  R = a0+a3+b2+c1, G = a1+b0+b3+c2, B = a2+b1+c0+c3, built with three shuffles.
 *
 * vpass (vertical): 16 output bytes at a time, one splatted weight per input row.
 */

// ---------------------------------------------------------------- a tiny wasm assembler

const enum Op {
  Block = 0x02, Loop = 0x03, End = 0x0b, Br = 0x0c, BrIf = 0x0d,
  LocalGet = 0x20, LocalSet = 0x21, LocalTee = 0x22,
  I32Load = 0x28, I32Const = 0x41,
  I32Eqz = 0x45, I32GeU = 0x4f,
  I32Add = 0x6a, I32Mul = 0x6c, I32ShrU = 0x76,
  Simd = 0xfd,
}

const enum SimdOp {
  V128Load = 0x00, V128Load32Splat = 0x09, V128Store = 0x0b, I8x16Shuffle = 0x0d,
  I32x4Splat = 0x11, V128Store32Lane = 0x5a,
  I8x16NarrowI16x8U = 0x66, I16x8NarrowI32x4S = 0x85,
  I16x8ExtendLowI8x16U = 0x89, I16x8ExtendHighI8x16U = 0x8a,
  I32x4ExtendLowI16x8U = 0xa9, I32x4ExtendHighI16x8U = 0xaa,
  I32x4ShrS = 0xac, I32x4Add = 0xae, I32x4Mul = 0xb5,
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

/** Function body builder: each method appends one instruction. */
class Code {
  readonly bytes: number[] = [];
  private emit(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }
  get(l: number): this { return this.emit(Op.LocalGet, ...uleb(l)); }
  set(l: number): this { return this.emit(Op.LocalSet, ...uleb(l)); }
  tee(l: number): this { return this.emit(Op.LocalTee, ...uleb(l)); }
  i32(v: number): this { return this.emit(Op.I32Const, ...sleb(v)); }
  add(): this { return this.emit(Op.I32Add); }
  mul(): this { return this.emit(Op.I32Mul); }
  shrU(): this { return this.emit(Op.I32ShrU); }
  geU(): this { return this.emit(Op.I32GeU); }
  eqz(): this { return this.emit(Op.I32Eqz); }
  load(offset = 0): this { return this.emit(Op.I32Load, 2, ...uleb(offset)); }
  block(): this { return this.emit(Op.Block, 0x40); }
  loop(): this { return this.emit(Op.Loop, 0x40); }
  end(): this { return this.emit(Op.End); }
  br(depth: number): this { return this.emit(Op.Br, ...uleb(depth)); }
  brIf(depth: number): this { return this.emit(Op.BrIf, ...uleb(depth)); }
  simd(op: SimdOp, ...imm: number[]): this { return this.emit(Op.Simd, ...uleb(op), ...imm); }
  v128Load(offset = 0): this { return this.simd(SimdOp.V128Load, 0, ...uleb(offset)); }
  v128Store(): this { return this.simd(SimdOp.V128Store, 0, 0); }
  store32Lane0(): this { return this.simd(SimdOp.V128Store32Lane, 0, 0, 0); }
  splatLoad32(): this { return this.simd(SimdOp.V128Load32Splat, 2, 0); }
  shuffle(lanes: readonly number[]): this { return this.simd(SimdOp.I8x16Shuffle, ...lanes); }
  /** Local `l` += 1 * `by` (i32). */
  inc(l: number, by: number): this { return this.get(l).i32(by).add().set(l); }
  /** Local `l` += local `byLocal` (i32). */
  incBy(l: number, byLocal: number): this { return this.get(l).get(byLocal).add().set(l); }
  /**
   * for (counter = 0; counter < limit; counter++) { body }  with `counter`, `limit` locals.
   */
  forRange(counter: number, limit: number, body: (c: this) => void): this {
    this.i32(0).set(counter);
    this.block().loop();
    this.get(counter).get(limit).geU().brIf(1);
    body(this);
    this.inc(counter, 1).br(0);
    return this.end().end();
  }
}

/** Byte-lane indices of an i8x16.shuffle that picks i32 lanes `l` from [x0..x3, y0..y3]. */
function lanes32(l: readonly [number, number, number, number]): number[] {
  return l.flatMap((i) => [i * 4, i * 4 + 1, i * 4 + 2, i * 4 + 3]);
}

const I32 = 0x7f;
const V128 = 0x7b;
const HALF = 1 << 21;

/**
 * hpass(src, stride, rows, outW, params, weights, wstride, dst)
 * params: per output x, [byte offset of first tap within the row, number of 4-tap groups]
 * weights: per output x, `wstride` bytes: groups of three i32x4 (see the file comment)
 */
function hpassBody(): { locals: number[][]; code: number[] } {
  // params 0..7: src stride rows outW params weights wstride dst
  const [src, stride, rows, outW, params, weights, wstride, dst] = [0, 1, 2, 3, 4, 5, 6, 7];
  // i32 locals
  const y = 8, x = 9, g = 10, ng = 11, p = 12, wp = 13, row = 14, pp = 15;
  // v128 locals
  const a = 16, b = 17, v = 19, acc0 = 20, acc1 = 21, acc2 = 22, s = 23; // 18: spare
  const k = new Code();
  k.forRange(y, rows, (k) => {
    k.get(src).get(y).get(stride).mul().add().set(row);
    k.get(params).set(pp);
    k.get(weights).set(wp);
    k.forRange(x, outW, (k) => {
      k.get(row).get(pp).load(0).add().set(p);
      k.get(pp).load(4).set(ng);
      k.i32(0).simd(SimdOp.I32x4Splat).tee(acc0).tee(acc1).set(acc2);
      k.forRange(g, ng, (k) => {
        k.get(p).v128Load().set(v);
        k.get(v).simd(SimdOp.I16x8ExtendLowI8x16U).tee(a).simd(SimdOp.I32x4ExtendLowI16x8U).set(b);
        // acc0 += widen(bytes 0..3) * w[0]
        k.get(acc0).get(b).get(wp).v128Load(0).simd(SimdOp.I32x4Mul).simd(SimdOp.I32x4Add).set(acc0);
        // acc1 += widen(bytes 4..7) * w[1]
        k.get(acc1).get(a).simd(SimdOp.I32x4ExtendHighI16x8U).get(wp).v128Load(16)
          .simd(SimdOp.I32x4Mul).simd(SimdOp.I32x4Add).set(acc1);
        // acc2 += widen(bytes 8..11) * w[2]
        k.get(acc2).get(v).simd(SimdOp.I16x8ExtendHighI8x16U).simd(SimdOp.I32x4ExtendLowI16x8U)
          .get(wp).v128Load(32).simd(SimdOp.I32x4Mul).simd(SimdOp.I32x4Add).set(acc2);
        k.inc(p, 12).inc(wp, 48);
      });
      // Skip unused weight groups of this output pixel: wp = weights + (x + 1) * wstride.
      k.get(weights).get(x).i32(1).add().get(wstride).mul().add().set(wp);
      // s = HALF + acc0 + [a3 b0 b1 .] + [b2 b3 c0 .] + [c1 c2 c3 .]
      k.i32(HALF).simd(SimdOp.I32x4Splat).get(acc0).simd(SimdOp.I32x4Add);
      k.get(acc0).get(acc1).shuffle(lanes32([3, 4, 5, 0])).simd(SimdOp.I32x4Add);
      k.get(acc1).get(acc2).shuffle(lanes32([2, 3, 4, 0])).simd(SimdOp.I32x4Add);
      k.get(acc2).get(acc2).shuffle(lanes32([1, 2, 3, 0])).simd(SimdOp.I32x4Add);
      k.i32(22).simd(SimdOp.I32x4ShrS).tee(s);
      // clip8 via saturating narrows, then store R G B (+1 byte overwritten by the next pixel).
      k.get(s).simd(SimdOp.I16x8NarrowI32x4S).tee(s).get(s).simd(SimdOp.I8x16NarrowI16x8U).set(s);
      k.get(dst).get(s).store32Lane0();
      k.inc(dst, 3).inc(pp, 8);
    });
  });
  return { locals: [[8, I32], [8, V128]], code: k.bytes };
}

/**
 * vpass(src, rowLen, outH, params, weights, ksize, dst)
 * params: per output row, [first input row, number of taps]; weights: `ksize` i32 per row.
 */
function vpassBody(): { locals: number[][]; code: number[] } {
  const [src, rowLen, outH, params, weights, ksize, dst] = [0, 1, 2, 3, 4, 5, 6];
  const y = 7, x = 8, i = 9, n = 10, p = 11, q = 12, base = 13, wrow = 14, chunks = 15, o = 16;
  const v = 17, lo = 18, hi = 19, kv = 20, acc0 = 21, acc1 = 22, acc2 = 23, acc3 = 24;
  const k = new Code();
  // chunks = ceil(rowLen / 16)
  k.get(rowLen).i32(15).add().i32(4).shrU().set(chunks);
  k.get(dst).set(o);
  k.forRange(y, outH, (k) => {
    // base = src + params[2y] * rowLen ; n = params[2y + 1] ; wrow = weights + y * ksize * 4
    k.get(params).get(y).i32(8).mul().add().tee(p).load(0).get(rowLen).mul().get(src).add().set(base);
    k.get(p).load(4).set(n);
    k.get(weights).get(y).get(ksize).mul().i32(4).mul().add().set(wrow);
    k.forRange(x, chunks, (k) => {
      k.i32(HALF).simd(SimdOp.I32x4Splat).tee(acc0).tee(acc1).tee(acc2).set(acc3);
      k.get(base).get(x).i32(16).mul().add().set(p);
      k.get(wrow).set(q);
      k.forRange(i, n, (k) => {
        k.get(p).v128Load().set(v);
        k.get(q).splatLoad32().set(kv);
        k.get(v).simd(SimdOp.I16x8ExtendLowI8x16U).set(lo);
        k.get(v).simd(SimdOp.I16x8ExtendHighI8x16U).set(hi);
        k.get(acc0).get(lo).simd(SimdOp.I32x4ExtendLowI16x8U).get(kv).simd(SimdOp.I32x4Mul).simd(SimdOp.I32x4Add).set(acc0);
        k.get(acc1).get(lo).simd(SimdOp.I32x4ExtendHighI16x8U).get(kv).simd(SimdOp.I32x4Mul).simd(SimdOp.I32x4Add).set(acc1);
        k.get(acc2).get(hi).simd(SimdOp.I32x4ExtendLowI16x8U).get(kv).simd(SimdOp.I32x4Mul).simd(SimdOp.I32x4Add).set(acc2);
        k.get(acc3).get(hi).simd(SimdOp.I32x4ExtendHighI16x8U).get(kv).simd(SimdOp.I32x4Mul).simd(SimdOp.I32x4Add).set(acc3);
        k.incBy(p, rowLen).inc(q, 4);
      });
      k.get(o);
      k.get(acc0).i32(22).simd(SimdOp.I32x4ShrS).get(acc1).i32(22).simd(SimdOp.I32x4ShrS).simd(SimdOp.I16x8NarrowI32x4S);
      k.get(acc2).i32(22).simd(SimdOp.I32x4ShrS).get(acc3).i32(22).simd(SimdOp.I32x4ShrS).simd(SimdOp.I16x8NarrowI32x4S);
      k.simd(SimdOp.I8x16NarrowI16x8U).v128Store();
      k.inc(o, 16);
    });
    // Next output row starts at dst + (y + 1) * rowLen (the last chunk may have run over).
    k.get(dst).get(y).i32(1).add().get(rowLen).mul().add().set(o);
  });
  return { locals: [[10, I32], [8, V128]], code: k.bytes };
}

function section(id: number, payload: number[]): number[] {
  return [id, ...uleb(payload.length), ...payload];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function str(s: string): number[] {
  const b = [...Buffer.from(s, 'utf8')];
  return [...uleb(b.length), ...b];
}

function funcBody(f: { locals: number[][]; code: number[] }): number[] {
  const locals = vec(f.locals.map(([count, type]) => [...uleb(count!), type!]));
  const body = [...locals, ...f.code, Op.End];
  return [...uleb(body.length), ...body];
}

function assemble(): Uint8Array {
  const h = hpassBody();
  const v = vpassBody();
  const types = vec([
    [0x60, ...vec(Array.from({ length: 8 }, () => [I32])), 0],
    [0x60, ...vec(Array.from({ length: 7 }, () => [I32])), 0],
  ]);
  const imports = vec([[...str('env'), ...str('mem'), 0x02, 0x00, ...uleb(1)]]);
  const funcs = vec([[0], [1]]);
  const exports = vec([
    [...str('hpass'), 0x00, 0],
    [...str('vpass'), 0x00, 1],
  ]);
  const code = vec([funcBody(h), funcBody(v)]);
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, types),
    ...section(2, imports),
    ...section(3, funcs),
    ...section(7, exports),
    ...section(10, code),
  ]);
}

// ---------------------------------------------------------------- runtime

// The project compiles against ES2023 + @types/node, which do not declare the WebAssembly JS
// API; the few members used here, typed locally (no global declarations to clash with DOM libs).
interface WasmMemory { readonly buffer: ArrayBuffer }
type WasmModule = object;
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Memory: new (desc: { initial: number }) => WasmMemory;
  Instance: new (mod: WasmModule, imports: object) => { readonly exports: object };
}
const Wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

interface Kernels {
  hpass(src: number, stride: number, rows: number, outW: number, params: number, weights: number, wstride: number, dst: number): void;
  vpass(src: number, rowLen: number, outH: number, params: number, weights: number, ksize: number, dst: number): void;
}

let compiled: WasmModule | null | undefined;

function module(): WasmModule | null {
  if (compiled === undefined) {
    compiled = null;
    try {
      const bytes = assemble();
      if (Wasm?.validate(bytes)) compiled = new Wasm.Module(bytes);
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** True when this runtime has WebAssembly SIMD (Node >= 16.4, every Electron we ship). */
export function wasmResampleAvailable(): boolean {
  return module() !== null;
}

const PAGE = 65536;

/** Bump allocator over one fresh memory per call (nothing stays allocated after a huge image). */
export class WasmArena {
  private readonly memory: WasmMemory;
  readonly kernels: Kernels;
  private top = 0;

  constructor(bytes: number) {
    const mod = module();
    if (!mod || !Wasm) throw new Error('WebAssembly SIMD is not available');
    const pages = Math.ceil((bytes + 1024) / PAGE);
    this.memory = new Wasm.Memory({ initial: pages });
    const instance = new Wasm.Instance(mod, { env: { mem: this.memory } });
    this.kernels = instance.exports as unknown as Kernels;
  }

  /** Reserves `bytes` (+16 bytes of slack for over-reading/over-writing SIMD), 16-aligned. */
  alloc(bytes: number): number {
    const at = this.top;
    this.top = (at + bytes + 16 + 15) & ~15;
    if (this.top > this.memory.buffer.byteLength) throw new Error('WasmArena: reservation too small');
    return at;
  }

  u8(at: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, at, length);
  }

  i32(at: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, at, length);
  }
}

/** Bytes an arena needs for `sizes` allocations (each padded as alloc pads it). */
export function arenaSize(sizes: readonly number[]): number {
  return sizes.reduce((sum, s) => sum + ((s + 16 + 15) & ~15), 0);
}
