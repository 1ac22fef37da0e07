import { describe, expect, it } from 'vitest';
import { ModelFileError } from '../../../main/engine/errors.js';
import {
  CLIP_DEFAULTS,
  OPENAI_CLIP_MEAN,
  OPENAI_CLIP_STD,
  parseProcessorConfig,
} from '../../../main/engine/imaging/processor-config.js';
import { config } from './fixtures.js';

const FILE = '/models/x/preprocessor_config.json';

describe('parseProcessorConfig', () => {
  it('reads the LAION repo config (old CLIPFeatureExtractor style)', () => {
    const c = config('laion');
    expect(c.size).toEqual({ shortest_edge: 224 });
    expect(c.crop_size).toEqual({ height: 224, width: 224 });
    expect(c.image_mean).toEqual([0.5, 0.5, 0.5]);
    expect(c.image_std).toEqual([0.5, 0.5, 0.5]);
    expect(c.resample).toBe(3);
    // absent keys take CLIPImageProcessor's defaults
    expect(c.do_rescale).toBe(true);
    expect(c.rescale_factor).toBe(1 / 255);
    expect(c.do_convert_rgb).toBe(true);
  });

  it('reads the new dict style', () => {
    const c = config('openai96');
    expect(c.size).toEqual({ shortest_edge: 96 });
    expect(c.crop_size).toEqual({ height: 96, width: 96 });
    expect(c.image_mean).toEqual([...OPENAI_CLIP_MEAN]);
    expect(c.rescale_factor).toBe(0.00392156862745098);
  });

  it('an empty object is CLIPImageProcessor()', () => {
    expect(parseProcessorConfig({}, FILE)).toEqual(CLIP_DEFAULTS);
    expect(CLIP_DEFAULTS.image_std).toEqual([...OPENAI_CLIP_STD]);
  });

  it('height/width sizes, lists, scalar mean, use_square_size', () => {
    expect(parseProcessorConfig({ size: { height: 300, width: 200 } }, FILE).size).toEqual({ height: 300, width: 200 });
    expect(parseProcessorConfig({ size: [300, 200], crop_size: [100, 50] }, FILE)).toMatchObject({
      size: { height: 300, width: 200 },
      crop_size: { height: 100, width: 50 },
    });
    expect(parseProcessorConfig({ size: { shortest_edge: 256, longest_edge: 512 } }, FILE).size).toEqual({ shortest_edge: 256 });
    expect(parseProcessorConfig({ image_mean: 0.5, image_std: 0.25 }, FILE).image_std).toEqual([0.25, 0.25, 0.25]);
    expect(parseProcessorConfig({ size: 336, use_square_size: true }, FILE).size).toEqual({ height: 336, width: 336 });
    expect(parseProcessorConfig({ resample: 2 }, FILE).resample).toBe(2);
  });

  it('is deeply frozen', () => {
    const c = parseProcessorConfig({}, FILE);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.size)).toBe(true);
    expect(Object.isFrozen(c.image_mean)).toBe(true);
  });

  it.each([
    ['not an object', [1, 2], /expected a JSON object/],
    ['size string', { size: '224' }, /size must be an integer or an object/],
    ['size zero', { size: 0 }, /size must be a positive integer/],
    ['size fractional', { size: 22.5 }, /positive integer/],
    ['size dict without keys', { size: { longest_edge: 224 } }, /shortest_edge/],
    ['crop_size shortest_edge', { crop_size: { shortest_edge: 224 } }, /crop_size must have "height" and "width"/],
    ['resample lanczos', { resample: 1 }, /resample 1 \(PIL LANCZOS\) is not supported/],
    ['mean of two', { image_mean: [0.5, 0.5] }, /image_mean must be three numbers/],
    ['std zero', { image_std: [0.5, 0, 0.5] }, /image_std must not contain 0/],
    ['rescale negative', { rescale_factor: -1 }, /rescale_factor must be a positive number/],
    ['boolean as string', { do_resize: 'yes' }, /do_resize must be true or false/],
    ['other processor', { image_processor_type: 'SiglipImageProcessor' }, /only CLIP's image processor/],
  ])('rejects %s with an error naming the file', (_what, json, msg) => {
    let err: unknown;
    try {
      parseProcessorConfig(json, FILE);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelFileError);
    expect((err as ModelFileError).file).toBe(FILE);
    expect((err as Error).message).toContain(FILE);
    expect((err as Error).message).toMatch(msg);
  });
});
