import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../helpers/references.js';
import type { HubFile } from '../../helpers/hub-server.js';

/** Small real models served under the real repos' names: the demo CLIP + SAE, the tiny .bin model. */
export const CLIP = 'laion/CLIP-ViT-L-14-laion2B-s32B-b82K';
export const SCOPE = 'lewington/CLIP-ViT-L-scope';

const read = (rel: string): Buffer => readFileSync(path.join(ROOT, rel));

export const demoConfig = read('resources/demo/clip/config.json');
export const demoPreproc = read('resources/demo/clip/preprocessor_config.json');
export const demoWeights = read('resources/demo/clip/model.safetensors');
export const demoSae = read('resources/demo/sae/2_resid/10280.pt');
export const binModel = {
  config: read('test/fixtures/models/clip-tiny-gelu-bin/config.json'),
  preproc: read('test/fixtures/models/clip-tiny-gelu-bin/preprocessor_config.json'),
  weights: read('test/fixtures/models/clip-tiny-gelu-bin/pytorch_model.bin'),
};
export const otherSae = read('test/fixtures/saes/clipscope-gelu/2_resid/1000.pt');

/**
 * The hub's view of both repos: transformers files and the open_clip duplicates (never to be
 * fetched) for CLIP; for CLIP-Scope, layer 2 with an earlier and a final checkpoint, and layer 22
 * under the model card's name.
 */
export function hubFiles(): HubFile[] {
  return [
    { repo: CLIP, path: 'config.json', data: demoConfig },
    { repo: CLIP, path: 'preprocessor_config.json', data: demoPreproc },
    { repo: CLIP, path: 'model.safetensors', data: demoWeights },
    { repo: CLIP, path: 'pytorch_model.bin', data: binModel.weights },
    { repo: CLIP, path: 'open_clip_pytorch_model.bin', data: Buffer.alloc(5000, 1) },
    { repo: CLIP, path: 'open_clip_model.safetensors', data: Buffer.alloc(5000, 2) },
    { repo: CLIP, path: 'README.md', data: Buffer.from('# CLIP ViT-L/14 - LAION-2B\n') },
    { repo: SCOPE, path: '2_resid/5000.pt', data: otherSae },
    { repo: SCOPE, path: '2_resid/10280.pt', data: demoSae },
    { repo: SCOPE, path: '22_resid/1200013184.pt', data: demoSae },
    { repo: SCOPE, path: '22_resid/900000000.pt', data: otherSae },
    { repo: SCOPE, path: 'README.md', data: Buffer.from('# CLIP-Scope\n') },
  ];
}
