import fs from 'node:fs/promises';
import path from 'node:path';
import { ModelFileError } from '../errors.js';
import { parseClipConfig, type ClipVisionConfig } from './config.js';
import { loadClipWeights, type ClipWeights } from './weights.js';
import { parseProcessorConfig, type ImageProcessorConfig } from '../imaging/processor-config.js';

/** A Hugging Face CLIP checkpoint folder: config.json, weights, preprocessor_config.json. */
export interface ClipModel {
  readonly dir: string;
  readonly config: ClipVisionConfig;
  readonly processor: ImageProcessorConfig;
  readonly weights: ClipWeights;
}

async function readJson(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelFileError(file, code === 'ENOENT' ? `${what} is missing` : `cannot read ${what} (${code ?? (e as Error).message})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ModelFileError(file, `${what} is not valid JSON (${(e as Error).message})`);
  }
}

export async function loadClipModel(dir: string): Promise<ClipModel> {
  const st = await fs.stat(dir).catch(() => null);
  if (!st) throw new ModelFileError(dir, 'no such model folder');
  if (!st.isDirectory()) throw new ModelFileError(dir, 'a CLIP model is a folder (config.json, model.safetensors, preprocessor_config.json)');
  const configFile = path.join(dir, 'config.json');
  const config = parseClipConfig(configFile, await readJson(configFile, 'config.json'));
  const procFile = path.join(dir, 'preprocessor_config.json');
  const processor = parseProcessorConfig(await readJson(procFile, 'preprocessor_config.json'), procFile);
  const weights = await loadClipWeights(dir);
  return { dir, config, processor, weights };
}
