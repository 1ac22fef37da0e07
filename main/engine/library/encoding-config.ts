/**
 * What produced a library's results: the vision model, the SAE, the layer and the input
 * normalisation, with content fingerprints, so results are never mixed up between models and a
 * moved model folder is still recognised. Everything here reads headers only (milliseconds), so
 * an unusable model or SAE is refused before any photo is touched, and a re-run with nothing to
 * encode never loads the network.
 */
import path from 'node:path';
import { loadClipModel } from '../clip/model-dir.js';
import { tokenCount } from '../clip/config.js';
import { loadSae } from '../sae/load-sae.js';
import { ModelFileError, UserFacingError } from '../errors.js';
import type { EncodingConfigInput } from '../store/library.js';
import { fingerprintModelDir, fingerprintSae } from './hashing.js';

export interface EncodingTarget {
  readonly modelDir: string;
  /** CLIP-Scope .pt checkpoint or SAELens folder. */
  readonly sae: string;
  /** Defaults to the layer the SAE records. */
  readonly layer?: number | null;
}

export async function resolveEncodingConfig(target: EncodingTarget): Promise<EncodingConfigInput> {
  const modelDir = path.resolve(target.modelDir);
  const saePath = path.resolve(target.sae);
  const model = await loadClipModel(modelDir);
  const sae = await loadSae(saePath);
  const cfg = model.config;
  const layer = target.layer ?? sae.layer;
  if (layer === null || layer === undefined) throw new UserFacingError(`${sae.file}: the SAE does not record its layer`).withCode('layer-required');
  if (!Number.isInteger(layer) || layer < 0 || layer >= cfg.num_hidden_layers) {
    throw new UserFacingError(`layer ${layer} is out of range: ${modelDir} has layers 0..${cfg.num_hidden_layers - 1}`);
  }
  if (sae.dIn !== cfg.hidden_size) {
    throw new ModelFileError(sae.file, `the SAE's input width ${sae.dIn} does not fit the model's width ${cfg.hidden_size}`);
  }
  const [modelFingerprint, saeFingerprint] = await Promise.all([fingerprintModelDir(modelDir), fingerprintSae(saePath)]);
  return {
    modelDir,
    modelFingerprint,
    saePath,
    saeFingerprint,
    layer,
    normalization: 'raw',
    tokens: tokenCount(cfg),
    width: cfg.hidden_size,
    nFeatures: sae.nFeatures,
    k: sae.k,
    embeddingDim: cfg.projection_dim ?? cfg.hidden_size,
  };
}
