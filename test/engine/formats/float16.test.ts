import { describe, expect, it } from 'vitest';
import {
  bfloat16BitsToFloat32, float16BitsToFloat32, float16BitsToFloat32Bits, float16ToFloat32Array, float32BitsToFloat16Bits,
  float32ToBfloat16Bits, float32ToFloat16Array, float32ToFloat16Bits,
} from '../../../main/engine/formats/float16.js';
import { readNpy } from '../../../main/engine/formats/npy.js';
import { fixture } from './fixtures.js';

const bitsOf = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

describe('float16 conversion (against numpy)', () => {
  it('float32 -> float16 rounds to nearest even exactly like numpy, on edge cases and random bits', async () => {
    const input = (await readNpy(fixture('npy', 'f16_from_f32_in.npy'))).data as Float32Array;
    const expected = (await readNpy(fixture('npy', 'f16_from_f32_out.npy'))).data as Uint16Array;
    expect(input.length).toBeGreaterThan(3000);
    const got = float32ToFloat16Array(input);
    const mismatches = [...got.keys()].filter((i) => got[i] !== expected[i]).slice(0, 5)
      .map((i) => `0x${bitsOf(input)[i]!.toString(16)} -> 0x${got[i]!.toString(16)}, numpy 0x${expected[i]!.toString(16)}`);
    expect(mismatches).toEqual([]);
  });

  it('float16 -> float32 is exact like numpy (subnormals, inf, max)', async () => {
    const input = (await readNpy(fixture('npy', 'f16_to_f32_in.npy'))).data as Uint16Array;
    const expected = (await readNpy(fixture('npy', 'f16_to_f32_out.npy'))).data as Float32Array;
    expect(bitsOf(float16ToFloat32Array(input))).toEqual(bitsOf(expected));
  });

  it('round-trips every float16 bit pattern; NaN stays NaN with its sign', () => {
    for (let h = 0; h < 65536; h++) {
      const back = float32BitsToFloat16Bits(float16BitsToFloat32Bits(h));
      if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) {
        expect(back & 0x7c00).toBe(0x7c00);
        expect(back & 0x3ff).not.toBe(0);
        expect(back & 0x8000).toBe(h & 0x8000);
      } else if (back !== h) {
        expect.fail(`0x${h.toString(16)} came back as 0x${back.toString(16)}`);
      }
    }
  });

  it('handles the named edge cases', () => {
    expect(float32ToFloat16Bits(0)).toBe(0);
    expect(float32ToFloat16Bits(-0)).toBe(0x8000);
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff);
    expect(float32ToFloat16Bits(65519.99)).toBe(0x7bff);
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00); // tie with an odd mantissa: up to Inf
    expect(float32ToFloat16Bits(-Infinity)).toBe(0xfc00);
    expect(float32ToFloat16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(float32ToFloat16Bits(2 ** -25)).toBe(0x0000); // tie to even: zero
    expect(float32ToFloat16Bits(1.5 * 2 ** -25)).toBe(0x0001);
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie, even mantissa stays
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie, odd mantissa rounds up
    expect(float16BitsToFloat32(0x0001)).toBe(2 ** -24);
    expect(float16BitsToFloat32(0x03ff)).toBe(1023 * 2 ** -24);
    expect(float16BitsToFloat32(0x7c00)).toBe(Infinity);
    expect(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(NaN)))).toBe(true);
    expect(float32BitsToFloat16Bits(0x7f800001) & 0x3ff).not.toBe(0); // signalling NaN stays NaN
  });

  it('bfloat16: widening is exact and narrowing rounds to nearest even', () => {
    expect(bfloat16BitsToFloat32(0x3f80)).toBe(1);
    expect(bfloat16BitsToFloat32(0xc049)).toBe(-3.140625);
    expect(float32ToBfloat16Bits(1 + 2 ** -8)).toBe(0x3f80);
    expect(float32ToBfloat16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(float32ToBfloat16Bits(-3.140625)).toBe(0xc049);
    expect(float32ToBfloat16Bits(3.4e38)).toBe(0x7f80);
    expect(Number.isNaN(bfloat16BitsToFloat32(float32ToBfloat16Bits(NaN)))).toBe(true);
  });
});
