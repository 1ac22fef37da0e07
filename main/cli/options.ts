import { InvalidArgumentError, type Command } from 'commander';

export function parseLayer(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('a layer is a whole number (0-based)');
  return n;
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}

/** What `encode` and `index` run: a model, an SAE, the layer and how. */
export interface ModelOptions {
  model: string;
  sae: string;
  layer?: number;
  provider: string;
  batch?: number;
}

/** Declares the ModelOptions on a command, with the same names and help everywhere. */
export function withModelOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--model <dir>', 'Hugging Face CLIP model folder (config.json, weights, preprocessor_config.json)')
    .requiredOption('--sae <path>', 'CLIP-Scope .pt checkpoint or SAELens folder')
    .option('--layer <L>', 'residual-stream layer (default: the layer the SAE records)', parseLayer)
    .option('--provider <name>', 'execution provider: auto, cpu, webgpu, cuda, dml, coreml', 'auto')
    .option('--batch <n>', 'images per inference call', parsePositiveInt);
}
