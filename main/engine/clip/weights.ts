import fs from 'node:fs/promises';
import path from 'node:path';
import { ModelFileError } from '../errors.js';
import type { FileTensor } from '../formats/tensor.js';
import { readSafetensors } from '../formats/safetensors.js';
import { readTorchCheckpoint } from '../formats/torch-checkpoint.js';
import { isFileTensor } from '../formats/tensor.js';

/** Weight files in the order transformers' from_pretrained prefers them. */
export const WEIGHT_FILES = ['model.safetensors', 'model.safetensors.index.json', 'pytorch_model.bin'] as const;

/**
 * A checkpoint's tensors, addressed relative to the vision tower. CLIPModel files also hold the
 * text tower; those tensors are simply never asked for.
 */
export class ClipWeights {
  constructor(
    private readonly tensors: ReadonlyMap<string, FileTensor>,
    readonly file: string,
    private readonly visionPrefix: string,
  ) {}

  get(name: string): FileTensor {
    return this.getRoot(this.visionPrefix + name);
  }

  getRoot(name: string): FileTensor {
    const t = this.tensors.get(name);
    if (!t) throw new ModelFileError(this.file, `weight "${name}" is missing from the checkpoint`);
    return t;
  }

  /** The storage precision of the vision weights (for `models inspect`). */
  get dtype(): string {
    return this.get('embeddings.patch_embedding.weight').dtype;
  }
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(() => true, () => false);
}

async function readSharded(indexFile: string): Promise<Map<string, FileTensor>> {
  let index: { weight_map?: Record<string, string> };
  try {
    index = JSON.parse(await fs.readFile(indexFile, 'utf8')) as typeof index;
  } catch (e) {
    throw new ModelFileError(indexFile, `cannot read the shard index (${(e as Error).message})`);
  }
  const shards = new Set(Object.values(index.weight_map ?? {}));
  if (shards.size === 0) throw new ModelFileError(indexFile, 'the shard index lists no weight files');
  const all = new Map<string, FileTensor>();
  for (const shard of shards) {
    const { tensors } = await readSafetensors(path.join(path.dirname(indexFile), path.basename(shard)));
    for (const [k, v] of tensors) all.set(k, v);
  }
  return all;
}

function flattenStateDict(file: string, obj: unknown): Map<string, FileTensor> {
  const dict = obj instanceof Map ? Object.fromEntries(obj) : obj;
  if (typeof dict !== 'object' || dict === null) throw new ModelFileError(file, 'the checkpoint does not hold a state dict');
  const root = (dict as Record<string, unknown>)['state_dict'] ?? dict;
  const out = new Map<string, FileTensor>();
  for (const [k, v] of Object.entries(root as Record<string, unknown>)) if (isFileTensor(v)) out.set(k, v);
  if (out.size === 0) throw new ModelFileError(file, 'the checkpoint holds no tensors');
  return out;
}

export async function loadClipWeights(dir: string): Promise<ClipWeights> {
  let file: string | undefined;
  for (const name of WEIGHT_FILES) {
    if (await exists(path.join(dir, name))) {
      file = path.join(dir, name);
      break;
    }
  }
  if (!file) throw new ModelFileError(dir, `no weights found (looked for ${WEIGHT_FILES.join(', ')})`);
  const tensors = file.endsWith('.safetensors') ? (await readSafetensors(file)).tensors
    : file.endsWith('.index.json') ? await readSharded(file)
      : flattenStateDict(file, await readTorchCheckpoint(file));
  const probe = 'embeddings.patch_embedding.weight';
  const prefix = ['vision_model.', ''].find((p) => tensors.has(p + probe));
  if (prefix === undefined) throw new ModelFileError(file, 'no CLIP vision tower weights found (expected vision_model.embeddings.patch_embedding.weight)');
  return new ClipWeights(tensors, file, prefix);
}
