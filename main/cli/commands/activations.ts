import type { Command } from 'commander';
import { writeActivations } from '../../app/encode-files.js';
import { parseLayer } from '../options.js';
import { COMMAND_INFO } from '../command-info.js';

export function registerActivations(program: Command): void {
  program
    .command('activations')
    .description(COMMAND_INFO['activations'].description)
    .argument('<image>', 'image file')
    .requiredOption('--model <dir>', 'Hugging Face CLIP model folder')
    .requiredOption('--layer <L>', 'residual-stream layer, 0-based (the output of encoder block L)', parseLayer)
    .requiredOption('--out <file.npy>', 'output .npy file')
    .option('--provider <name>', 'execution provider: auto, cpu, webgpu, cuda, dml, coreml', 'auto')
    .action(async (image: string, opts: { model: string; layer: number; out: string; provider: string }) => {
      const info = await writeActivations(image, { modelDir: opts.model, layer: opts.layer, out: opts.out, provider: opts.provider });
      process.stderr.write(`wrote ${opts.out}: float32 [${info.tokens}, ${info.width}] at layer ${opts.layer} (${info.provider})\n`);
    });
}
