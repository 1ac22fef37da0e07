import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  API_METHODS,
  ApiContract,
  apiResultSchema,
  EncodeImageResultSchema,
  ipcChannel,
  isApiMethod,
  type ApiInput,
  type ApiMethod,
  type ApiOutput,
  type ApiResult,
  type EngineApi,
  type ModelInspection,
} from '../../common/contract/index.js';

const visionInspection = {
  kind: 'vision',
  path: '/models/clip-vit-b-16',
  architecture: 'CLIPVisionModelWithProjection',
  width: 768,
  layers: 12,
  heads: 12,
  patchSize: 16,
  imageSize: 224,
  tokens: 197,
  projectionDim: 512,
  hiddenAct: 'quick_gelu',
  weightsFile: 'model.safetensors',
  dtype: 'float32',
} as const;

const saeInspection = {
  kind: 'sae',
  path: '/saes/layer11.pt',
  format: 'clipscope',
  architecture: 'topk',
  dIn: 768,
  nFeatures: 16384,
  k: 32,
  layer: 11,
} as const;

const encodeResult = {
  file: '/photos/cat.jpg',
  layer: 11,
  provider: 'cpu',
  tokens: 197,
  clsTop: [
    { feature: 1234, value: 3.5 },
    { feature: 7, value: 0.25 },
  ],
  mse: 0.012,
  ev: 0.87,
};

describe('ApiContract', () => {
  it('has exactly the methods in API_METHODS, each on channel api:<method>', () => {
    expect(Object.keys(ApiContract).sort()).toEqual([...API_METHODS].sort());
    expect(API_METHODS.map(ipcChannel).slice(0, 3)).toEqual(['api:engine.info', 'api:models.inspect', 'api:encode.image']);
    expect(new Set(API_METHODS).size).toBe(API_METHODS.length);
    expect(isApiMethod('models.inspect')).toBe(true);
    expect(isApiMethod('models.delete')).toBe(false);
    expect(isApiMethod('toString')).toBe(false);
  });

  it('types each method from its schemas', () => {
    expectTypeOf<'engine.info' | 'gallery.get' | 'index.start'>().toExtend<ApiMethod>();
    expectTypeOf<ApiInput<'engine.info'>>().toEqualTypeOf<void>();
    expectTypeOf<ApiInput<'models.inspect'>>().toEqualTypeOf<{ path: string }>();
    expectTypeOf<ApiOutput<'models.inspect'>>().toEqualTypeOf<ModelInspection>();
    expectTypeOf<ApiInput<'encode.image'>>().toEqualTypeOf<{
      file: string;
      model: string;
      sae: string;
      layer?: number | undefined;
      provider?: string | undefined;
    }>();
    expectTypeOf<EngineApi['encode.image']>().returns.resolves.toHaveProperty('clsTop');
    // engine.info takes no argument.
    expectTypeOf<EngineApi['engine.info']>().toBeCallableWith();
  });
});

describe('engine.info', () => {
  const { input, output } = ApiContract['engine.info'];

  it('takes no input', () => {
    expect(input.safeParse(undefined).success).toBe(true);
    expect(input.safeParse({ verbose: true }).success).toBe(false);
  });

  it('accepts providers with and without a reason, and rejects unknown providers', () => {
    const info = {
      version: '0.1.0',
      platform: 'linux-x64',
      providers: [
        { name: 'cpu', available: true },
        { name: 'cuda', available: false, reason: 'CUDA libraries are not installed' },
      ],
    };
    expect(output.parse(info)).toEqual(info);
    expect(output.safeParse({ ...info, providers: [{ name: 'metal', available: true }] }).success).toBe(false);
    expect(output.safeParse({ ...info, providers: [{ name: 'cpu' }] }).success).toBe(false);
    expect(output.safeParse({ version: '0.1.0', providers: [] }).success).toBe(false);
  });
});

describe('models.inspect', () => {
  const { input, output } = ApiContract['models.inspect'];

  it('takes a non-empty path and nothing else', () => {
    expect(input.parse({ path: '/models/clip' })).toEqual({ path: '/models/clip' });
    expect(input.safeParse({}).success).toBe(false);
    expect(input.safeParse({ path: '' }).success).toBe(false);
    expect(input.safeParse({ path: 42 }).success).toBe(false);
    expect(input.safeParse({ path: '/models/clip', recursive: true }).success).toBe(false);
    expect(input.safeParse('/models/clip').success).toBe(false);
  });

  it('accepts both kinds of inspection', () => {
    expect(output.parse(visionInspection)).toEqual(visionInspection);
    expect(output.parse({ ...visionInspection, projectionDim: null }).kind).toBe('vision');
    expect(output.parse(saeInspection)).toEqual(saeInspection);
    expect(output.parse({ ...saeInspection, format: 'saelens', architecture: 'jumprelu', k: null, layer: null }).kind).toBe('sae');
  });

  it('rejects an unknown kind, fields of the other kind, and impossible sizes', () => {
    expect(output.safeParse({ ...saeInspection, kind: 'text' }).success).toBe(false);
    // An SAE's fields under kind 'vision' miss every vision field.
    expect(output.safeParse({ ...saeInspection, kind: 'vision' }).success).toBe(false);
    expect(output.safeParse({ ...visionInspection, width: 0 }).success).toBe(false);
    expect(output.safeParse({ ...visionInspection, patchSize: 14.5 }).success).toBe(false);
    expect(output.safeParse({ ...visionInspection, projectionDim: undefined }).success).toBe(false);
    expect(output.safeParse({ ...saeInspection, format: 'npz' }).success).toBe(false);
    expect(output.safeParse({ ...saeInspection, architecture: 'gated' }).success).toBe(false);
    expect(output.safeParse({ ...saeInspection, layer: -1 }).success).toBe(false);
  });
});

describe('encode.image', () => {
  const { input, output } = ApiContract['encode.image'];
  const request = { file: '/photos/cat.jpg', model: '/models/clip', sae: '/saes/l11.pt' };

  it('takes file, model and sae, with an optional layer and provider', () => {
    expect(input.parse(request)).toEqual(request);
    expect(input.parse({ ...request, layer: 0, provider: 'webgpu' })).toEqual({ ...request, layer: 0, provider: 'webgpu' });
  });

  it('rejects missing paths, bad layers, empty providers and unknown keys', () => {
    expect(input.safeParse({ file: '/photos/cat.jpg', model: '/models/clip' }).success).toBe(false);
    expect(input.safeParse({ ...request, file: '' }).success).toBe(false);
    expect(input.safeParse({ ...request, layer: -1 }).success).toBe(false);
    expect(input.safeParse({ ...request, layer: 1.5 }).success).toBe(false);
    expect(input.safeParse({ ...request, layer: '11' }).success).toBe(false);
    expect(input.safeParse({ ...request, provider: '' }).success).toBe(false);
    expect(input.safeParse({ ...request, layr: 11 }).success).toBe(false);
  });

  it('accepts a result and rejects a malformed one', () => {
    expect(output.parse(encodeResult)).toEqual(encodeResult);
    expect(output.parse({ ...encodeResult, clsTop: [], ev: -0.5 }).ev).toBe(-0.5);
    expect(output.safeParse({ ...encodeResult, clsTop: [{ feature: -1, value: 1 }] }).success).toBe(false);
    expect(output.safeParse({ ...encodeResult, clsTop: [{ feature: 1 }] }).success).toBe(false);
    expect(output.safeParse({ ...encodeResult, mse: -0.1 }).success).toBe(false);
    expect(output.safeParse({ ...encodeResult, ev: Number.NaN }).success).toBe(false);
    expect(output.safeParse({ ...encodeResult, tokens: 0 }).success).toBe(false);
  });

  it('strips keys the contract does not name from a result', () => {
    expect(EncodeImageResultSchema.parse({ ...encodeResult, activations: [1, 2, 3] })).toEqual(encodeResult);
  });
});

describe('apiResultSchema', () => {
  const schema = apiResultSchema(EncodeImageResultSchema);

  it('accepts a value or an error of a known kind', () => {
    const ok: ApiResult<ApiOutput<'encode.image'>> = { ok: true, value: encodeResult };
    const failed: ApiResult<never> = { ok: false, error: { kind: 'user', message: 'cat.jpg: not an image' } };
    expect(schema.parse(ok)).toEqual(ok);
    expect(schema.parse(failed)).toEqual(failed);
  });

  it('rejects an unknown error kind, a missing message and a mixed envelope', () => {
    expect(schema.safeParse({ ok: false, error: { kind: 'fatal', message: 'x' } }).success).toBe(false);
    expect(schema.safeParse({ ok: false, error: { kind: 'user' } }).success).toBe(false);
    expect(schema.safeParse({ ok: true, error: { kind: 'user', message: 'x' } }).success).toBe(false);
  });
});
