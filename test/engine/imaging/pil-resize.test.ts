import { describe, expect, it } from 'vitest';
import { loadImageRgb, type RgbImage } from '../../../main/engine/imaging/decode.js';
import { pilResize, type ResampleFilter } from '../../../main/engine/imaging/pil-resize.js';
import { resizeOutputSize } from '../../../main/engine/imaging/preprocess.js';
import { wasmResampleAvailable } from '../../../main/engine/imaging/resample-wasm.js';
import { config, diffStats, fixturePath, fmt, manifest, readNpy, readPngRgb } from './fixtures.js';

const BACKENDS = ['js', 'wasm'] as const;
const FILTER: Record<number, ResampleFilter> = { 2: 'bilinear', 3: 'bicubic' };

/** The fixture script's noise: byte i = ((i + seed) * 2654435761 mod 2^32) >> 24. */
function noise(w: number, h: number, seed: number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.imul(i + seed, 2654435761) >>> 24;
  return { data, width: w, height: h };
}

it('WebAssembly SIMD is available in this runtime (the fast path)', () => {
  expect(wasmResampleAvailable()).toBe(true);
});

describe.each(BACKENDS)('pilResize (%s) equals PIL Image.resize', (backend) => {
  it.each(manifest.resize_cases.map((c, i) => [i, c] as const))('noise case %i', (_i, c) => {
    const ref = readNpy(fixturePath(c.resized));
    const [w, h] = c.in_size;
    const [ow, oh] = c.out_size;
    const out = pilResize(noise(w, h, c.seed), ow, oh, FILTER[c.resample], { backend });
    expect([out.height, out.width, 3]).toEqual(ref.shape);
    const s = diffStats(out.data, ref.data);
    if (s.max > 0) console.log(`resize ${w}x${h} -> ${ow}x${oh} (${FILTER[c.resample]}): ${fmt(s)}`);
    expect(s.max).toBe(0);
  });

  const photoRefs = manifest.cases.flatMap((c) =>
    Object.entries(c.refs ?? {})
      .filter(([, r]) => r.resized)
      .map(([cfg, r]) => [`${c.id} / ${cfg}`, c, cfg, r] as const),
  );
  it.each(photoRefs)('%s', async (_name, c, cfg, r) => {
    const img = await loadImageRgb(fixturePath(c.input));
    const [h, w] = resizeOutputSize(img.height, img.width, config(cfg).size);
    expect([h, w]).toEqual(r.resized_size);
    const out = pilResize(img, w, h, 'bicubic', { backend });
    const ref = await readPngRgb(fixturePath(r.resized!));
    const s = diffStats(out.data, ref.data);
    console.log(`resize[${backend}] ${c.id} ${img.width}x${img.height} -> ${w}x${h}: ${fmt(s)} (8-bit levels)`);
    expect(s.max).toBe(0);
  });
});

describe('wasm and js backends agree byte for byte', () => {
  it('on 300 random shapes, both filters', () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return 1 + (seed % n);
    };
    for (let t = 0; t < 300; t++) {
      const w = rnd(t % 10 === 0 ? 900 : 120), h = rnd(t % 7 === 0 ? 900 : 120);
      const ow = rnd(160), oh = rnd(160);
      const img = noise(w, h, t);
      const filter = t % 3 === 0 ? 'bilinear' : 'bicubic';
      const a = pilResize(img, ow, oh, filter, { backend: 'js' });
      const b = pilResize(img, ow, oh, filter, { backend: 'wasm' });
      expect([b.width, b.height]).toEqual([ow, oh]);
      if (!Buffer.from(a.data).equals(Buffer.from(b.data))) {
        throw new Error(`backends differ for ${w}x${h} -> ${ow}x${oh} ${filter}`);
      }
    }
  });
});

describe('edge cases', () => {
  it('same size returns a copy, like PIL', () => {
    const img = noise(5, 4, 1);
    const out = pilResize(img, 5, 4);
    expect(out.data).not.toBe(img.data);
    expect(Array.from(out.data)).toEqual(Array.from(img.data));
  });

  it('rejects non-positive or fractional sizes', () => {
    expect(() => pilResize(noise(5, 4, 1), 0, 4)).toThrow(RangeError);
    expect(() => pilResize(noise(5, 4, 1), 2.5, 4)).toThrow(RangeError);
  });
});

describe('a 12 MP photo', () => {
  // Speed belongs to benchmarks (noisy shared machines); here both backends must agree at full size.
  it('resizes 4000x3000 to 298x224 identically with the WASM and JS backends', () => {
    const img = noise(4000, 3000, 3);
    const wasm = pilResize(img, 298, 224, 'bicubic', { backend: 'wasm' });
    const js = pilResize(img, 298, 224, 'bicubic', { backend: 'js' });
    expect(wasm.width).toBe(298);
    expect(wasm.height).toBe(224);
    expect(Buffer.from(wasm.data).equals(Buffer.from(js.data))).toBe(true);
  });
});
