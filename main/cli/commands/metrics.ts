import type { Command } from 'commander';
import { writeOut } from '../exit.js';
import { addLibraryOptions, libraryFileOf, num, readQuery, type LibraryOptions } from '../library.js';
import { COMMAND_INFO } from '../command-info.js';

interface MetricsOptions extends LibraryOptions {
  json?: boolean;
}

export function registerMetrics(program: Command): void {
  addLibraryOptions(program
    .command('metrics')
    .description(COMMAND_INFO['metrics'].description)
    .option('--json', 'print {"images", "tokens", "mse", "ev", "dead_fraction", "l0", "position_mse"}'))
    .action(async (opts: MetricsOptions) => {
      const m = await readQuery(opts, 'metrics.get', () => ({}));
      if (opts.json) {
        await writeOut(`${JSON.stringify({
          images: m.images, tokens: m.tokens, mse: m.mse, ev: m.ev, dead_fraction: m.deadFraction, l0: m.l0, position_mse: m.positionMse,
        })}\n`);
        return;
      }
      const patches = m.positionMse.slice(1);
      const mean = patches.length ? patches.reduce((a, b) => a + b, 0) / patches.length : 0;
      await writeOut([
        `${libraryFileOf(opts)}, configuration #${m.configId}: layer ${m.layer}, ${m.normalization} inputs, SAE ${m.saePath}`,
        '| Layer | Images | Tokens | MSE | Explained variance | Dead feature proportion | L0 |',
        '|------:|-------:|-------:|----:|-------------------:|------------------------:|---:|',
        `| ${m.layer} | ${m.images} | ${m.tokens} | ${num(m.mse)} | ${num(m.ev)} | ${num(m.deadFraction)} | ${num(m.l0)} |`,
        `position MSE: CLS ${num(m.positionMse[0] ?? null)}, patches mean ${num(mean)} (min ${num(Math.min(...patches))}, max ${num(Math.max(...patches))})`,
        '',
      ].join('\n'));
    });
}
