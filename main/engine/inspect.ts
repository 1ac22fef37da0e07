import fs from 'node:fs/promises';
import path from 'node:path';
import type { ModelInspection } from '../../common/contract/index.js';
import { ModelFileError } from './errors.js';
import { loadClipModel } from './clip/model-dir.js';
import { tokenCount } from './clip/config.js';
import { loadSae } from './sae/load-sae.js';

/** What a path holds: a CLIP vision model folder, or an SAE (CLIP-Scope .pt or SAELens folder). */
export async function inspectModel(p: string): Promise<ModelInspection> {
  const st = await fs.stat(p).catch(() => null);
  if (!st) throw new ModelFileError(p, 'no such file or directory');
  if (st.isDirectory() && (await fs.access(path.join(p, 'config.json')).then(() => true, () => false))) {
    const m = await loadClipModel(p);
    const c = m.config;
    return {
      kind: 'vision',
      path: p,
      architecture: c.architecture,
      width: c.hidden_size,
      layers: c.num_hidden_layers,
      heads: c.num_attention_heads,
      patchSize: c.patch_size,
      imageSize: c.image_size,
      tokens: tokenCount(c),
      projectionDim: c.projection_dim,
      hiddenAct: c.hidden_act,
      weightsFile: m.weights.file,
      dtype: m.weights.dtype,
    };
  }
  const sae = await loadSae(p);
  return { kind: 'sae', path: p, format: sae.format, architecture: sae.architecture, dIn: sae.dIn, nFeatures: sae.nFeatures, k: sae.k, layer: sae.layer };
}
