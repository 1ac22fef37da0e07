import type { Command } from 'commander';
import { imageIdByFile } from '../../app/cli-reads.js';
import { writeOut } from '../exit.js';
import { addLibraryOptions, num, readQuery, type LibraryOptions } from '../library.js';
import { COMMAND_INFO } from '../command-info.js';

interface ImageOptions extends LibraryOptions {
  json?: boolean;
}

export function registerImage(program: Command): void {
  addLibraryOptions(program
    .command('image')
    .description(COMMAND_INFO['image'].description)
    .argument('<file>', 'an image of the library')
    .option('--json', 'print {"file", "layer", "embedding", "tokens": {"idx", "val"}, "mse", "ev"} like encode --json'))
    .action(async (file: string, opts: ImageOptions) => {
      const r = await readQuery(opts, 'image.get', (lib) => ({ imageId: imageIdByFile(lib, file) }));
      if (opts.json) {
        await writeOut(`${JSON.stringify({ file: r.file, layer: r.layer, embedding: r.embedding, tokens: r.tokens, mse: r.mse, ev: r.ev })}\n`);
        return;
      }
      const top = (xs: { feature: number; act: number; token?: number }[]) =>
        xs.slice(0, 8).map((x) => `#${x.feature} (${num(x.act)}${x.token === undefined ? '' : ` @${x.token}`})`).join(', ') || 'none';
      await writeOut([
        `${r.file}${r.removed ? ' (removed from the library)' : ''}`,
        `  layer ${r.layer}: EV ${r.ev.toFixed(3)}  MSE ${num(r.mse)}  L0 ${r.l0.toFixed(1)}  CLS error ${num(r.tokenSse[0] ?? 0)}`,
        `  top CLS features: ${top(r.cls)}`,
        `  top features (max over ${r.tokens.idx.length} tokens, @token): ${top(r.pooled)}`,
        '',
      ].join('\n'));
    });
}
