/**
 * IEEE 754 half precision (float16) and bfloat16 <-> float32, bit-exact.
 *
 * Used to read float16 / bfloat16 weights and to pack float16 latent values in the store, so the
 * conversion must be the one numpy and torch perform: round to nearest, ties to even, subnormals
 * kept, overflow to infinity, NaN stays NaN. Everything works on bit patterns (Uint16 / Uint32)
 * because writing a NaN through a JS number may canonicalise its payload.
 */

// One shared scratch word to move between a float32 value and its bits.
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** float32 bit pattern -> float16 bit pattern, round-to-nearest-even. */
export function float32BitsToFloat16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const abs = x & 0x7fffffff;
  if (abs >= 0x7f800000) {
    // Inf stays Inf; NaN keeps the top of its payload and is made quiet (what F16C hardware and
    // torch do), which also guarantees a non-zero mantissa.
    return abs === 0x7f800000 ? sign | 0x7c00 : sign | 0x7e00 | ((abs >>> 13) & 0x3ff);
  }
  // 65520 is halfway between 65504 (largest half, odd mantissa) and 65536: ties go up to Inf.
  if (abs >= 0x477ff000) return sign | 0x7c00;
  if (abs < 0x38800000) {
    // Below the smallest normal half (2^-14): a subnormal half counts units of 2^-24.
    // Up to and including 2^-25 (half a unit, tie to the even 0) the result is a signed zero.
    if (abs <= 0x33000000) return sign;
    const e = abs >>> 23;
    const m = (abs & 0x7fffff) | 0x800000;
    const shift = 126 - e; // 14..24: value / 2^-24 = m * 2^(e - 126)
    let q = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (q & 1) === 1)) q++; // may carry into the smallest normal: correct
    return sign | q;
  }
  let h = (((abs >>> 23) - 112) << 10) | ((abs >>> 13) & 0x3ff); // rebias 127 -> 15
  const rem = abs & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++; // a carry into the exponent is correct
  return sign | h;
}

/** float16 bit pattern -> float32 bit pattern (exact: every half is a float32). */
export function float16BitsToFloat32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // Subnormal half: normalise the mantissa into a float32 normal.
  let e = 113;
  let m = mant;
  while ((m & 0x400) === 0) {
    m <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((m & 0x3ff) << 13)) >>> 0;
}

/** A number (first rounded to float32, as storing it in a Float32Array would) -> float16 bits. */
export function float32ToFloat16Bits(value: number): number {
  scratchF32[0] = value;
  return float32BitsToFloat16Bits(scratchU32[0]!);
}

export function float16BitsToFloat32(h: number): number {
  scratchU32[0] = float16BitsToFloat32Bits(h);
  return scratchF32[0]!;
}

/** bfloat16 is the top half of a float32: widening is a shift. */
export function bfloat16BitsToFloat32(b: number): number {
  scratchU32[0] = (b & 0xffff) << 16;
  return scratchF32[0]!;
}

/** float32 -> bfloat16 bits, round-to-nearest-even (torch's rounding); NaN stays a quiet NaN. */
export function float32ToBfloat16Bits(value: number): number {
  scratchF32[0] = value;
  const x = scratchU32[0]!;
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

let halfTable: Uint32Array | undefined;

/** float32 bits of all 65536 halves (256 KB), built once: bulk conversion becomes a lookup. */
function float16Table(): Uint32Array {
  if (!halfTable) {
    halfTable = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = float16BitsToFloat32Bits(h);
  }
  return halfTable;
}

/** Bulk float16 bits -> float32 (into `out` when given, which must have the same length). */
export function float16ToFloat32Array(src: Uint16Array, out: Float32Array = new Float32Array(src.length)): Float32Array {
  const table = float16Table();
  const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < src.length; i++) bits[i] = table[src[i]!]!;
  return out;
}

/** Bulk bfloat16 bits -> float32. */
export function bfloat16ToFloat32Array(src: Uint16Array, out: Float32Array = new Float32Array(src.length)): Float32Array {
  const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < src.length; i++) bits[i] = src[i]! << 16;
  return out;
}

/** Bulk float32 -> float16 bits (round-to-nearest-even), e.g. to pack latent values. */
export function float32ToFloat16Array(src: Float32Array, out: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) out[i] = float32BitsToFloat16Bits(bits[i]!);
  return out;
}
