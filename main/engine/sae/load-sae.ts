import fs from 'node:fs/promises';
import path from 'node:path';
import { ModelFileError } from '../errors.js';
import type { FileTensor } from '../formats/tensor.js';
import { isFileTensor } from '../formats/tensor.js';
import { readSafetensors } from '../formats/safetensors.js';
import { readTorchCheckpoint } from '../formats/torch-checkpoint.js';
import type { SaeArchitecture, SaeModel } from './sae-model.js';

function expectShape(file: string, name: string, t: FileTensor | undefined, shape: readonly number[]): FileTensor {
  if (!t) throw new ModelFileError(file, `tensor "${name}" is missing`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new ModelFileError(file, `tensor "${name}" has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  return t;
}

/** CLIP-Scope's layer is only in the path ("22_resid/…") and in log_id ("22_resid-3a4511bd"). */
export function layerFromClipscopeNames(file: string, logId: unknown): number | null {
  const fromLog = typeof logId === 'string' ? /^(\d+)_resid\b/.exec(logId) : null;
  if (fromLog) return Number(fromLog[1]);
  for (const part of path.resolve(file).split(path.sep).reverse()) {
    const m = /^(\d+)_resid$/.exec(part);
    if (m) return Number(m[1]);
  }
  return null;
}

/** SAELens hook names: "blocks.8.hook_resid_post", "vision_model.encoder.layers.22" … */
export function layerFromHookName(hook: unknown): number | null {
  if (typeof hook !== 'string') return null;
  const m = /(?:blocks|layers)\.(\d+)/.exec(hook);
  return m ? Number(m[1]) : null;
}

async function loadClipscope(file: string): Promise<SaeModel> {
  const root = await readTorchCheckpoint(file);
  const obj = (root instanceof Map ? Object.fromEntries(root) : root) as Record<string, unknown> | null;
  const sd = obj && typeof obj === 'object' ? (obj['model_state_dict'] as Record<string, unknown> | undefined) : undefined;
  if (!obj || !sd || typeof sd !== 'object') throw new ModelFileError(file, 'not a CLIP-Scope SAE checkpoint (no model_state_dict)');
  const tensor = (k: string): FileTensor | undefined => (isFileTensor(sd[k]) ? sd[k] : undefined);
  const enc = tensor('enc');
  if (!enc || enc.shape.length !== 2) throw new ModelFileError(file, 'not a CLIP-Scope SAE checkpoint (no 2-D "enc" tensor)');
  const [dIn, nFeatures] = enc.shape as [number, number];
  const k = obj['k'];
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > nFeatures) throw new ModelFileError(file, `invalid k ${JSON.stringify(k)}`);
  for (const [key, expected] of [['d_in', dIn], ['n_features', nFeatures]] as const) {
    if (obj[key] !== undefined && obj[key] !== expected) throw new ModelFileError(file, `${key} = ${String(obj[key])} does not match the enc tensor [${dIn}, ${nFeatures}]`);
  }
  const preB = expectShape(file, 'pre_b', tensor('pre_b'), [dIn]);
  return {
    file, format: 'clipscope', architecture: 'topk', dIn, nFeatures, k,
    layer: layerFromClipscopeNames(file, obj['log_id']),
    encoder: enc,
    decoder: expectShape(file, 'dec', tensor('dec'), [nFeatures, dIn]),
    inputBias: preB, encoderBias: null, decoderBias: preB, threshold: null,
    reluAfterTopk: false,
  };
}

async function loadSaeLens(dir: string): Promise<SaeModel> {
  const cfgFile = path.join(dir, 'cfg.json');
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(await fs.readFile(cfgFile, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new ModelFileError(cfgFile, `cannot read the SAELens config (${(e as Error).message})`);
  }
  const weightsFile = path.join(dir, 'sae_weights.safetensors');
  const { tensors } = await readSafetensors(weightsFile);
  // SAELens before v6 stored TopK SAEs as "standard" with activation_fn_str "topk".
  const fnKwargs = (cfg['activation_fn_kwargs'] ?? {}) as Record<string, unknown>;
  const arch = cfg['activation_fn_str'] === 'topk' ? 'topk' : String(cfg['architecture'] ?? 'standard');
  if (arch !== 'topk' && arch !== 'standard' && arch !== 'jumprelu') {
    throw new ModelFileError(cfgFile, `SAELens architecture "${arch}" is not supported (topk, standard, jumprelu)`);
  }
  const norm = cfg['normalize_activations'];
  if (norm !== undefined && norm !== null && norm !== 'none') {
    throw new ModelFileError(cfgFile, `normalize_activations "${String(norm)}" is not supported (only "none")`);
  }
  const dIn = Number(cfg['d_in']);
  const nFeatures = Number(cfg['d_sae']);
  if (!Number.isInteger(dIn) || !Number.isInteger(nFeatures) || dIn < 1 || nFeatures < 1) throw new ModelFileError(cfgFile, 'd_in and d_sae must be positive integers');
  const k = arch === 'topk' ? Number(cfg['k'] ?? fnKwargs['k']) : null;
  if (k !== null && (!Number.isInteger(k) || k < 1 || k > nFeatures)) throw new ModelFileError(cfgFile, 'a topk SAE needs an integer k between 1 and d_sae');
  const bDec = expectShape(weightsFile, 'b_dec', tensors.get('b_dec'), [dIn]);
  const meta = (cfg['metadata'] ?? {}) as Record<string, unknown>;
  return {
    file: dir, format: 'saelens', architecture: arch as SaeArchitecture, dIn, nFeatures, k,
    layer: layerFromHookName(meta['hook_name'] ?? cfg['hook_name']),
    encoder: expectShape(weightsFile, 'W_enc', tensors.get('W_enc'), [dIn, nFeatures]),
    decoder: expectShape(weightsFile, 'W_dec', tensors.get('W_dec'), [nFeatures, dIn]),
    inputBias: cfg['apply_b_dec_to_input'] === false ? null : bDec,
    encoderBias: expectShape(weightsFile, 'b_enc', tensors.get('b_enc'), [nFeatures]),
    decoderBias: bDec,
    threshold: arch === 'jumprelu' ? expectShape(weightsFile, 'threshold', tensors.get('threshold'), [nFeatures]) : null,
    reluAfterTopk: true,
  };
}

/** Loads a CLIP-Scope .pt checkpoint, or a SAELens directory (or its cfg.json / weights file). */
export async function loadSae(p: string): Promise<SaeModel> {
  const st = await fs.stat(p).catch(() => null);
  if (!st) throw new ModelFileError(p, 'no such file or directory');
  if (st.isDirectory()) {
    if (await fs.access(path.join(p, 'cfg.json')).then(() => true, () => false)) return loadSaeLens(p);
    throw new ModelFileError(p, 'not an SAE: a folder needs cfg.json and sae_weights.safetensors (SAELens format)');
  }
  const base = path.basename(p);
  if (base === 'cfg.json' || base === 'sae_weights.safetensors') return loadSaeLens(path.dirname(p));
  return loadClipscope(p);
}
