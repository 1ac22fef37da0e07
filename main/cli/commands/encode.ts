import type { Command } from 'commander';
import { openFileEncoder } from '../../app/encode-files.js';
import { EXIT_SOME_FAILED, writeOut } from '../exit.js';
import { withModelOptions, type ModelOptions } from '../options.js';
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
      const encoder = await openFileEncoder({
        modelDir: opts.model,
        sae: opts.sae,
        ...(opts.layer === undefined ? {} : { layer: opts.layer }),
        provider: opts.provider,
        ...(opts.batch ? { batchSize: opts.batch } : {}),
        ...(opts.stats ? { statsFile: opts.stats } : {}),
      });
      if (!opts.json) process.stderr.write(`encoding on ${encoder.info.provider}, layer ${encoder.info.layer}\n`);
      let failed = 0;
      try {
        for await (const r of encoder.encode(images)) {
          if (!r.ok) {
            failed++;
            if (opts.json) await writeOut(`${JSON.stringify({ file: r.file, error: r.error })}\n`);
            else process.stderr.write(`error: ${r.error}\n`);
            continue;
          }
          if (opts.json) {
            await writeOut(`${JSON.stringify({
              file: r.file,
              layer: encoder.info.layer,
              embedding: Array.from(r.embedding),
              tokens: { idx: r.tokens.map((x) => x.idx), val: r.tokens.map((x) => x.val) },
              mse: r.mse,
              ev: r.ev,
            })}\n`);
          } else {
            const cls = r.tokens[0]!;
            const top = cls.idx.slice(0, 8).map((f, i) => `#${f} (${cls.val[i]!.toFixed(2)})`).join(', ');
            await writeOut(`${r.file}\n  EV ${r.ev.toFixed(3)}  MSE ${r.mse.toFixed(2)}  L0 ${r.l0.toFixed(1)}\n  top CLS features: ${top}\n`);
          }
        }
      } finally {
        await encoder.close();
      }
      if (failed > 0) process.exitCode = EXIT_SOME_FAILED;
    });
}
