/**
 * `preprocessor_config.json` -> a frozen CLIPImageProcessor configuration, with the defaults and
 * the key normalisation of transformers' `CLIPImageProcessor.__init__` (names kept snake_case as
 * upstream, so a config can be compared with the JSON at a glance).
 *
 * Accepted spellings, as transformers accepts them:
 * - old CLIPFeatureExtractor style: `"size": 224` (an int means shortest edge: get_size_dict with
 *   default_to_square=False) and `"crop_size": 224` (an int means a square crop:
 *   default_to_square=True);
 * - new style: `"size": {"shortest_edge": N}` or `{"height": H, "width": W}`, and
 *   `"crop_size": {"height": H, "width": W}`; a two-element list is (height, width).
 * `{"shortest_edge", "longest_edge"}` is accepted and `longest_edge` ignored, as
 * CLIPImageProcessor.resize ignores it. `use_square_size: true` turns shortest_edge into a square.
 */
import { ModelFileError } from '../errors.js';

/** transformers' OPENAI_CLIP_MEAN / OPENAI_CLIP_STD (image_utils / constants). */
export const OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

export type SizeSpec =
  | { readonly shortest_edge: number }
  | { readonly height: number; readonly width: number };

/** PIL resampling filters with exact parity here: 2 = BILINEAR, 3 = BICUBIC. */
export type PilResample = 2 | 3;

export interface ImageProcessorConfig {
  readonly do_resize: boolean;
  readonly size: SizeSpec;
  readonly resample: PilResample;
  readonly do_center_crop: boolean;
  readonly crop_size: { readonly height: number; readonly width: number };
  readonly do_rescale: boolean;
  readonly rescale_factor: number;
  readonly do_normalize: boolean;
  readonly image_mean: readonly [number, number, number];
  readonly image_std: readonly [number, number, number];
  readonly do_convert_rgb: boolean;
}

/** CLIPImageProcessor() with no arguments. */
export const CLIP_DEFAULTS: ImageProcessorConfig = deepFreeze({
  do_resize: true,
  size: { shortest_edge: 224 },
  resample: 3,
  do_center_crop: true,
  crop_size: { height: 224, width: 224 },
  do_rescale: true,
  rescale_factor: 1 / 255,
  do_normalize: true,
  image_mean: [...OPENAI_CLIP_MEAN],
  image_std: [...OPENAI_CLIP_STD],
  do_convert_rgb: true,
} satisfies ImageProcessorConfig);

/** Processor classes whose preprocessing is CLIPImageProcessor's. */
const CLIP_PROCESSOR_TYPES = new Set(['CLIPImageProcessor', 'CLIPFeatureExtractor', 'CLIPImageProcessorFast']);

const PIL_FILTER_NAMES: Record<number, string> = {
  0: 'NEAREST', 1: 'LANCZOS', 2: 'BILINEAR', 3: 'BICUBIC', 4: 'BOX', 5: 'HAMMING',
};

/**
 * Parses the JSON of a preprocessor_config.json (`json` already JSON.parse'd). `file` names the
 * file in errors (ModelFileError).
 */
export function parseProcessorConfig(json: unknown, file: string): ImageProcessorConfig {
  const fail = (why: string): never => {
    throw new ModelFileError(file, `preprocessor_config.json: ${why}`);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('expected a JSON object');
  const o = json as Record<string, unknown>;

  for (const key of ['image_processor_type', 'feature_extractor_type'] as const) {
    const t = o[key];
    if (t !== undefined && (typeof t !== 'string' || !CLIP_PROCESSOR_TYPES.has(t))) {
      fail(`${key} is ${JSON.stringify(t)}; only CLIP's image processor (${[...CLIP_PROCESSOR_TYPES].join(', ')}) is supported`);
    }
  }

  const bool = (key: string, dflt: boolean): boolean => {
    const v = o[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'boolean') fail(`${key} must be true or false, got ${JSON.stringify(v)}`);
    return v as boolean;
  };
  const posInt = (what: string, v: unknown): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65536) {
      fail(`${what} must be a positive integer, got ${JSON.stringify(v)}`);
    }
    return v as number;
  };
  const hw = (what: string, v: Record<string, unknown>): { height: number; width: number } => ({
    height: posInt(`${what}.height`, v.height),
    width: posInt(`${what}.width`, v.width),
  });

  // size: get_size_dict(size, default_to_square=False)
  let size: SizeSpec = CLIP_DEFAULTS.size;
  const rawSize = o.size;
  if (typeof rawSize === 'number') {
    size = { shortest_edge: posInt('size', rawSize) };
  } else if (Array.isArray(rawSize)) {
    if (rawSize.length !== 2) fail(`size as a list must be [height, width], got ${JSON.stringify(rawSize)}`);
    size = { height: posInt('size[0]', rawSize[0]), width: posInt('size[1]', rawSize[1]) };
  } else if (typeof rawSize === 'object' && rawSize !== null) {
    const s = rawSize as Record<string, unknown>;
    // CLIPImageProcessor.resize: "shortest_edge" wins; else "height" and "width"; else error.
    if ('shortest_edge' in s) size = { shortest_edge: posInt('size.shortest_edge', s.shortest_edge) };
    else if ('height' in s && 'width' in s) size = hw('size', s);
    else fail(`size must have "shortest_edge" or "height" and "width", got ${JSON.stringify(rawSize)}`);
  } else if (rawSize !== undefined && rawSize !== null) {
    fail(`size must be an integer or an object, got ${JSON.stringify(rawSize)}`);
  }
  if (o.use_square_size === true && 'shortest_edge' in size) {
    size = { height: size.shortest_edge, width: size.shortest_edge };
  }

  // crop_size: get_size_dict(crop_size, default_to_square=True)
  let crop: { height: number; width: number } = CLIP_DEFAULTS.crop_size;
  const rawCrop = o.crop_size;
  if (typeof rawCrop === 'number') {
    const n = posInt('crop_size', rawCrop);
    crop = { height: n, width: n };
  } else if (Array.isArray(rawCrop)) {
    if (rawCrop.length !== 2) fail(`crop_size as a list must be [height, width], got ${JSON.stringify(rawCrop)}`);
    crop = { height: posInt('crop_size[0]', rawCrop[0]), width: posInt('crop_size[1]', rawCrop[1]) };
  } else if (typeof rawCrop === 'object' && rawCrop !== null) {
    const c = rawCrop as Record<string, unknown>;
    if (!('height' in c && 'width' in c)) fail(`crop_size must have "height" and "width", got ${JSON.stringify(rawCrop)}`);
    crop = hw('crop_size', c);
  } else if (rawCrop !== undefined && rawCrop !== null) {
    fail(`crop_size must be an integer or an object, got ${JSON.stringify(rawCrop)}`);
  }

  let resample: PilResample = CLIP_DEFAULTS.resample;
  if (o.resample !== undefined && o.resample !== null) {
    const r = o.resample;
    if (r !== 2 && r !== 3) {
      const name = typeof r === 'number' ? PIL_FILTER_NAMES[r] : undefined;
      fail(
        `resample ${JSON.stringify(r)}${name ? ` (PIL ${name})` : ''} is not supported; ` +
          'only 3 (BICUBIC, what CLIP uses) and 2 (BILINEAR) are reproduced exactly',
      );
    }
    resample = r as PilResample;
  }

  let rescale = CLIP_DEFAULTS.rescale_factor;
  if (o.rescale_factor !== undefined && o.rescale_factor !== null) {
    const r = o.rescale_factor;
    if (typeof r !== 'number' || !Number.isFinite(r) || r <= 0) {
      fail(`rescale_factor must be a positive number, got ${JSON.stringify(r)}`);
    }
    rescale = r as number;
  }

  const triple = (key: string, dflt: readonly [number, number, number], nonzero: boolean): [number, number, number] => {
    const v = o[key];
    if (v === undefined || v === null) return [...dflt];
    // transformers also accepts a single float, broadcast over channels.
    const arr = typeof v === 'number' ? [v, v, v] : v;
    if (!Array.isArray(arr) || arr.length !== 3 || !arr.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      fail(`${key} must be three numbers (R, G, B), got ${JSON.stringify(v)}`);
    }
    const t = arr as number[];
    if (nonzero && t.some((x) => x === 0)) fail(`${key} must not contain 0, got ${JSON.stringify(v)}`);
    return [t[0]!, t[1]!, t[2]!];
  };

  return deepFreeze({
    do_resize: bool('do_resize', CLIP_DEFAULTS.do_resize),
    size,
    resample,
    do_center_crop: bool('do_center_crop', CLIP_DEFAULTS.do_center_crop),
    crop_size: crop,
    do_rescale: bool('do_rescale', CLIP_DEFAULTS.do_rescale),
    rescale_factor: rescale,
    do_normalize: bool('do_normalize', CLIP_DEFAULTS.do_normalize),
    image_mean: triple('image_mean', OPENAI_CLIP_MEAN, false),
    image_std: triple('image_std', OPENAI_CLIP_STD, true),
    do_convert_rgb: bool('do_convert_rgb', CLIP_DEFAULTS.do_convert_rgb),
  });
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}
