import { ModelFileError } from '../errors.js';

/**
 * The vision tower's hyper-parameters, named as transformers' CLIPVisionConfig names them so a
 * config.json maps onto it without translation.
 */
export interface ClipVisionConfig {
  readonly architecture: 'CLIPModel' | 'CLIPVisionModel' | 'CLIPVisionModelWithProjection';
  readonly hidden_size: number;
  readonly intermediate_size: number;
  readonly num_hidden_layers: number;
  readonly num_attention_heads: number;
  readonly num_channels: number;
  readonly image_size: number;
  readonly patch_size: number;
  readonly hidden_act: 'gelu' | 'quick_gelu';
  readonly layer_norm_eps: number;
  /** Width of the image embedding; null when the checkpoint has no visual projection. */
  readonly projection_dim: number | null;
}

/** transformers' CLIPVisionConfig defaults, applied to absent keys as transformers does. */
const VISION_DEFAULTS = {
  hidden_size: 768,
  intermediate_size: 3072,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  num_channels: 3,
  image_size: 224,
  patch_size: 32,
  hidden_act: 'quick_gelu',
  layer_norm_eps: 1e-5,
  projection_dim: 512,
} as const;

const SUPPORTED_ACTS = new Set(['gelu', 'quick_gelu']);

function num(file: string, obj: Record<string, unknown>, key: keyof typeof VISION_DEFAULTS, opts: { int: boolean }): number {
  const v = obj[key] ?? VISION_DEFAULTS[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (opts.int && !Number.isInteger(v))) {
    throw new ModelFileError(file, `"${key}" must be a positive ${opts.int ? 'integer' : 'number'}, found ${JSON.stringify(v)}`);
  }
  return v;
}

function architectureOf(file: string, json: Record<string, unknown>): ClipVisionConfig['architecture'] {
  const archs = Array.isArray(json['architectures']) ? (json['architectures'] as unknown[]) : [];
  for (const a of archs) {
    if (a === 'CLIPModel' || a === 'CLIPVisionModel' || a === 'CLIPVisionModelWithProjection') return a;
  }
  if (json['model_type'] === 'clip' || typeof json['vision_config'] === 'object') return 'CLIPModel';
  if (json['model_type'] === 'clip_vision_model') return 'CLIPVisionModelWithProjection';
  throw new ModelFileError(file, `not a CLIP model config (architectures ${JSON.stringify(archs)}, model_type ${JSON.stringify(json['model_type'])})`);
}

export function parseClipConfig(file: string, json: unknown): ClipVisionConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ModelFileError(file, 'config.json is not a JSON object');
  const top = json as Record<string, unknown>;
  const architecture = architectureOf(file, top);
  const vision = (architecture === 'CLIPModel' ? (top['vision_config'] ?? {}) : top) as Record<string, unknown>;
  if (typeof vision !== 'object' || vision === null) throw new ModelFileError(file, '"vision_config" is not an object');

  const hidden_act = String(vision['hidden_act'] ?? VISION_DEFAULTS.hidden_act);
  if (!SUPPORTED_ACTS.has(hidden_act)) {
    throw new ModelFileError(file, `unsupported hidden_act "${hidden_act}" (supported: gelu, quick_gelu)`);
  }
  const cfg: ClipVisionConfig = {
    architecture,
    hidden_size: num(file, vision, 'hidden_size', { int: true }),
    intermediate_size: num(file, vision, 'intermediate_size', { int: true }),
    num_hidden_layers: num(file, vision, 'num_hidden_layers', { int: true }),
    num_attention_heads: num(file, vision, 'num_attention_heads', { int: true }),
    num_channels: num(file, vision, 'num_channels', { int: true }),
    image_size: num(file, vision, 'image_size', { int: true }),
    patch_size: num(file, vision, 'patch_size', { int: true }),
    hidden_act: hidden_act as ClipVisionConfig['hidden_act'],
    layer_norm_eps: num(file, vision, 'layer_norm_eps', { int: false }),
    // CLIPModel keeps projection_dim at the top level; the vision-only classes inside their own config.
    projection_dim: architecture === 'CLIPVisionModel' ? null
      : num(file, architecture === 'CLIPModel' ? top : vision, 'projection_dim', { int: true }),
  };
  if (cfg.hidden_size % cfg.num_attention_heads !== 0) {
    throw new ModelFileError(file, `hidden_size ${cfg.hidden_size} is not divisible by num_attention_heads ${cfg.num_attention_heads}`);
  }
  if (cfg.image_size % cfg.patch_size !== 0) {
    throw new ModelFileError(file, `image_size ${cfg.image_size} is not a multiple of patch_size ${cfg.patch_size}`);
  }
  return Object.freeze(cfg);
}

/** Patches per side of the token grid (16 for ViT-L/14 at 224). */
export function gridSize(cfg: ClipVisionConfig): number {
  return cfg.image_size / cfg.patch_size;
}

/** Tokens per image: CLS + grid * grid patches. */
export function tokenCount(cfg: ClipVisionConfig): number {
  return gridSize(cfg) ** 2 + 1;
}
