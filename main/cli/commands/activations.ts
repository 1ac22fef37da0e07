import type { Command } from 'commander';
import { EncodePipeline } from '../../engine/pipeline/encode-pipeline.js';
import { parseProvider } from '../../engine/runtime/providers.js';
import { writeNpy } from '../../engine/formats/npy.js';
import { UserFacingError } from '../../engine/errors.js';
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
      const pipeline = await EncodePipeline.open({ modelDir: opts.model, layer: opts.layer, provider: parseProvider(opts.provider) });
      try {
        for await (const r of pipeline.encodeFiles([image])) {
          if (!r.ok) throw new UserFacingError(r.error);
          await writeNpy(opts.out, r.image.activations, [pipeline.info.tokens, pipeline.info.width]);
          process.stderr.write(`wrote ${opts.out}: float32 [${pipeline.info.tokens}, ${pipeline.info.width}] at layer ${opts.layer} (${pipeline.info.provider})\n`);
        }
      } finally {
        await pipeline.close();
      }
    });
}
