import { describe, expect, it } from 'vitest';
import { loadImageRgb } from '../../../main/engine/imaging/decode.js';
import {
  centerCrop,
  preprocess,
  preprocessFile,
  preprocessTensor,
  resizeOutputSize,
} from '../../../main/engine/imaging/preprocess.js';
import { parseProcessorConfig } from '../../../main/engine/imaging/processor-config.js';
import { config, diffStats, fixturePath, fmt, manifest, readNpy } from './fixtures.js';

const cases = manifest.cases.flatMap((c) =>
  Object.entries(c.refs ?? {}).map(([cfg, r]) => [`${c.id} / ${cfg}`, c, cfg, r] as const),
);

describe('preprocessFile equals the Python load_image + CLIPImageProcessor reference', () => {
  const summary: { name: string; max: number; mean: number }[] = [];

  it.each(cases)('%s', async (name, c, cfgName, r) => {
    const cfg = config(cfgName);
    const ref = readNpy(fixturePath(r.pixel_values));
    expect(ref.shape).toEqual(r.pixel_values_shape);
    const got = await preprocessFile(fixturePath(c.input), cfg);
    expect(got.length).toBe(ref.data.length);
    // Differences expressed in 8-bit levels: |d| * std * 255 (per channel).
    const plane = ref.shape[1]! * ref.shape[2]!;
    const levels = diffStats(got, ref.data, (i) => cfg.image_std[Math.floor(i / plane)]! * 255);
    summary.push({ name, max: levels.max, mean: levels.mean });
    console.log(`pixel_values ${name}: ${fmt(levels)} (8-bit levels)`);
    // Bit-identical float32: the same uint8 pixels and numpy's exact float op order.
    expect(levels.max).toBe(0);
  });

  it('summary', () => {
    const worst = summary.reduce((a, b) => (b.max > a.max ? b : a), { name: '-', max: 0, mean: 0 });
    const mean = summary.reduce((a, b) => a + b.mean, 0) / Math.max(1, summary.length);
    console.log(`pixel_values over ${summary.length} cases: worst max ${worst.max} (${worst.name}), average mean ${mean}`);
  });
});

describe('EXIF orientation end to end', () => {
  it('orientations 1..8 give the tensor of orientation 1 (up to JPEG re-encoding)', async () => {
    const cfg = config('laion');
    const ref = await preprocessFile(fixturePath('inputs/orient-1.jpg'), cfg);
    for (let o = 2; o <= 8; o++) {
      const t = await preprocessFile(fixturePath(`inputs/orient-${o}.jpg`), cfg);
      expect(t.length).toBe(ref.length);
      const s = diffStats(t, ref, () => 0.5 * 255);
      console.log(`orientation ${o} vs 1, LAION tensor: ${fmt(s)} (8-bit levels)`);
      expect(s.mean).toBeLessThan(3);
    }
  });
});

describe('transformers semantics', () => {
  it('get_resize_output_image_size(default_to_square=False)', () => {
    expect(resizeOutputSize(300, 451, { shortest_edge: 224 })).toEqual([224, 336]);
    expect(resizeOutputSize(451, 300, { shortest_edge: 224 })).toEqual([336, 224]);
    expect(resizeOutputSize(60, 1000, { shortest_edge: 224 })).toEqual([224, 3733]);
    expect(resizeOutputSize(1, 1, { shortest_edge: 224 })).toEqual([224, 224]);
    // int(224 * 301 / 45) = int(1498.3111...) = 1498
    expect(resizeOutputSize(301, 45, { shortest_edge: 224 })).toEqual([1498, 224]);
    expect(resizeOutputSize(300, 451, { height: 100, width: 50 })).toEqual([100, 50]);
  });

  it('center_crop offsets use floor division; too-small images are zero-padded at ceil', () => {
    const img = { width: 5, height: 4, data: new Uint8Array(60).map((_, i) => i + 1) };
    const c = centerCrop(img, 2, 3); // top = (4-2)//2 = 1, left = (5-3)//2 = 1
    expect(Array.from(c.data.subarray(0, 3))).toEqual([(1 * 5 + 1) * 3 + 1, (1 * 5 + 1) * 3 + 2, (1 * 5 + 1) * 3 + 3]);
    const p = centerCrop({ width: 1, height: 1, data: new Uint8Array([9, 8, 7]) }, 4, 3);
    expect([p.height, p.width]).toEqual([4, 3]);
    // new 4x3, top_pad = ceil(3/2) = 2, left_pad = ceil(2/2) = 1 -> the pixel lands at (2, 1)
    const at = (2 * 3 + 1) * 3;
    expect(Array.from(p.data.subarray(at, at + 3))).toEqual([9, 8, 7]);
    expect(p.data.reduce((a, b) => a + b, 0)).toBe(24);
  });

  it('padding becomes (0 - mean) / std after normalisation', () => {
    const cfg = parseProcessorConfig({ size: 2, crop_size: 4, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5] }, 'p.json');
    const t = preprocessTensor({ width: 2, height: 2, data: new Uint8Array(12).fill(255) }, cfg);
    expect([t.height, t.width]).toEqual([4, 4]);
    expect(t.data[0]).toBe(-1); // padded corner
    expect(t.data[1 * 4 + 1]).toBe(1); // image pixel
  });

  it('do_center_crop false keeps the resized size; no rescale / no normalise paths', () => {
    const img = { width: 6, height: 3, data: new Uint8Array(54).fill(51) };
    const cfg = parseProcessorConfig({ size: 2, do_center_crop: false, do_normalize: false }, 'p.json');
    const t = preprocessTensor(img, cfg);
    expect([t.height, t.width]).toEqual([2, 4]);
    expect(t.data[0]).toBe(Math.fround(51 / 255));
    const raw = preprocess(img, parseProcessorConfig({ do_resize: false, do_center_crop: false, do_rescale: false, do_normalize: false }, 'p.json'));
    expect(raw.length).toBe(54);
    expect(raw[0]).toBe(51);
  });

  it('float32 arithmetic mirrors numpy: ((x * s).astype(f32) - mean_f32) / std_f32', () => {
    const cfg = config('openai96');
    const img = { width: 1, height: 1, data: new Uint8Array([0, 128, 255]) };
    const t = preprocessTensor(img, parseProcessorConfig({ ...cfg, size: { height: 1, width: 1 }, crop_size: 1 }, 'x.json'));
    const f = Math.fround;
    const expected = [0, 128, 255].map((v, c) => f(f(f(v * cfg.rescale_factor) - f(cfg.image_mean[c]!)) / f(cfg.image_std[c]!)));
    expect(Array.from(t.data)).toEqual(expected);
  });

  it('preprocess of a decoded image equals preprocessFile', async () => {
    const cfg = config('laion');
    const file = fixturePath('inputs/small-150x100.png');
    const a = preprocess(await loadImageRgb(file), cfg);
    const b = await preprocessFile(file, cfg);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
  });
});
