import type { Command } from 'commander';
import { EncodePipeline } from '../../engine/pipeline/encode-pipeline.js';
import { parseProvider } from '../../engine/runtime/providers.js';
import { tokenCountOf, tokenRow } from '../../engine/sae/sparse-codes.js';
import { EXIT_SOME_FAILED, writeOut } from '../exit.js';
import { withModelOptions, type ModelOptions } from '../options.js';
import { readStandardization } from '../../engine/pipeline/standardization.js';
import { COMMAND_INFO } from '../command-info.js';

interface EncodeOptions extends ModelOptions {
  json?: boolean;
  stats?: string;
}

export function registerEncode(program: Command): void {
  withModelOptions(program
    .command('encode')
    .description(COMMAND_INFO['encode'].description)
    .argument('<images...>', 'image files'))
    .option('--stats <file.npy>', 'standardise SAE inputs per dimension with these statistics: float32 [2, width] (means, stds); default: raw activations, as the clipscope package does')
    .option('--json', 'one JSON line per image')
    .action(async (images: string[], opts: EncodeOptions) => {
      const pipeline = await EncodePipeline.open({
        modelDir: opts.model,
        sae: opts.sae,
        ...(opts.layer === undefined ? {} : { layer: opts.layer }),
        provider: parseProvider(opts.provider),
        ...(opts.batch ? { batchSize: opts.batch } : {}),
        ...(opts.stats ? { standardization: await readStandardization(opts.stats) } : {}),
      });
      if (!opts.json) process.stderr.write(`encoding on ${pipeline.info.provider}, layer ${pipeline.info.layer}\n`);
      let failed = 0;
      try {
        for await (const r of pipeline.encodeFiles(images)) {
          if (!r.ok) {
            failed++;
            if (opts.json) await writeOut(`${JSON.stringify({ file: r.file, error: r.error })}\n`);
            else process.stderr.write(`error: ${r.error}\n`);
            continue;
          }
          const { codes, metrics, embedding } = r.image;
          if (opts.json) {
            const rows = Array.from({ length: tokenCountOf(codes!) }, (_, t) => tokenRow(codes!, t));
            await writeOut(`${JSON.stringify({
              file: r.file,
              layer: pipeline.info.layer,
              embedding: Array.from(embedding),
              tokens: { idx: rows.map((x) => x.idx), val: rows.map((x) => x.val) },
              mse: metrics!.mse,
              ev: metrics!.ev,
            })}\n`);
          } else {
            const cls = tokenRow(codes!, 0);
            const top = cls.idx.slice(0, 8).map((f, i) => `#${f} (${cls.val[i]!.toFixed(2)})`).join(', ');
            await writeOut(`${r.file}\n  EV ${metrics!.ev.toFixed(3)}  MSE ${metrics!.mse.toFixed(2)}  L0 ${metrics!.l0.toFixed(1)}\n  top CLS features: ${top}\n`);
          }
        }
      } finally {
        await pipeline.close();
      }
      if (failed > 0) process.exitCode = EXIT_SOME_FAILED;
    });
}
