import { InvalidArgumentError, type Command } from 'commander';
import type { GalleryItem, GalleryToken } from '../../../common/contract/index.js';
import { GALLERY_PAGE } from '../../app/cli-reads.js';
import { writeOut } from '../exit.js';
import { parsePositiveInt } from '../options.js';
import { addLibraryOptions, num, parseFeature, parseNonNegative, readQuery, type LibraryOptions } from '../library.js';
import { COMMAND_INFO } from '../command-info.js';

function parseToken(value: string): GalleryToken {
  if (value === 'cls' || value === 'any') return value;
  if (/^\d+$/.test(value)) return Number(value);
  throw new InvalidArgumentError('a token is cls, any or a token number (0 = CLS, 1..256 the patches)');
}

function parseQuantiles(value: string): number[] {
  const qs = value.split(',').map(Number);
  if (qs.some((q) => !(q >= 0 && q <= 1))) throw new InvalidArgumentError('quantiles are numbers between 0 and 1, e.g. 0.9,0.5,0.1');
  return qs;
}

const DEFAULT_QUANTILES = [0.99, 0.9, 0.75, 0.5, 0.25, 0.1];

interface GalleryOptions extends LibraryOptions {
  token: GalleryToken;
  limit: number;
  offset?: number;
  quantiles?: number[] | true;
  json?: boolean;
}

export function registerGallery(program: Command): void {
  addLibraryOptions(program
    .command('gallery')
    .description(COMMAND_INFO['gallery'].description)
    .argument('<feature>', 'feature number', parseFeature)
    .option('--token <t>', 'cls, any (the strongest token) or a token number', parseToken, 'any' as GalleryToken)
    .option('--limit <n>', 'images to list', parsePositiveInt, GALLERY_PAGE)
    .option('--offset <n>', 'skip this many first', parseNonNegative)
    .option('--quantiles [q,...]', `instead of the top, sample these quantiles of the activations (default ${DEFAULT_QUANTILES.join(',')}); --limit per quantile`, parseQuantiles)
    .option('--json', 'print [{"file", "act", "token"}]'))
    .action(async (feature: number, opts: GalleryOptions) => {
      const quantiles = opts.quantiles === true ? DEFAULT_QUANTILES : opts.quantiles;
      const g = await readQuery(opts, 'gallery.get', () => ({
        feature, token: opts.token, offset: opts.offset ?? 0,
        ...(quantiles ? { limit: 0, quantiles, perQuantile: opts.limit } : { limit: opts.limit }),
      }));
      if (opts.json) {
        const rows = quantiles
          ? g.quantiles.flatMap((q) => q.items.map((i) => ({ file: i.file, act: i.act, token: i.token, quantile: q.quantile })))
          : g.items.map((i) => ({ file: i.file, act: i.act, token: i.token }));
        await writeOut(`${JSON.stringify(rows)}\n`);
        return;
      }
      const where = opts.token === 'any' ? 'on any token' : opts.token === 'cls' || opts.token === 0 ? 'on the CLS token' : `on token ${opts.token}`;
      const lines = [`feature ${feature} ${where}, layer ${g.layer}: ${g.total ?? 'at least ' + g.items.length} images`];
      const row = (i: GalleryItem) => `${num(i.act).padStart(10)}  ${String(i.token).padStart(3)}  ${i.file}`;
      if (quantiles) {
        for (const q of g.quantiles) lines.push(`quantile ${q.quantile} (rank ${q.rank + 1}):`, ...q.items.map(row));
      } else {
        lines.push(...g.items.map(row));
      }
      await writeOut(`${lines.join('\n')}\n`);
    });
}
