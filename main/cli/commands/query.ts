import { InvalidArgumentError, type Command } from 'commander';
import { UserFacingError } from '../../engine/errors.js';
import { queryImages, regionTokens, type FeatureTerm, type QuerySort } from '../../engine/queries/feature-query.js';
import { writeOut } from '../exit.js';
import { parsePositiveInt } from '../options.js';
import { addLibraryOptions, num, parseNonNegative, withConfig, type LibraryOptions } from '../library.js';
import { COMMAND_INFO } from '../command-info.js';

// ---- clipscope query

/** "12:0.5,99" -> feature 12 with activation >= 0.5, and feature 99 (active at all). */
export function parseTerms(value: string, previous: FeatureTerm[] = []): FeatureTerm[] {
  const terms = value.split(',').filter(Boolean).map((part) => {
    const m = /^(\d+)(?::(\d*\.?\d+(?:e-?\d+)?))?$/i.exec(part.trim());
    if (!m) throw new InvalidArgumentError(`"${part}" is not FEATURE or FEATURE:MIN_ACTIVATION (e.g. 12:0.5)`);
    return m[2] === undefined ? { feature: Number(m[1]) } : { feature: Number(m[1]), minAct: Number(m[2]) };
  });
  return [...previous, ...terms];
}

/** "R0-R1xC0-C1" (rows x columns of the patch grid, inclusive, 0-based); "8x8" is one patch. */
export function parseRegion(value: string, previous: [number, number, number, number][] = []): [number, number, number, number][] {
  const m = /^(\d+)(?:-(\d+))?x(\d+)(?:-(\d+))?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`"${value}" is not ROWSxCOLUMNS, e.g. 0-3x0-3 or 8x8`);
  const [r0, r1, c0, c1] = [Number(m[1]), Number(m[2] ?? m[1]), Number(m[3]), Number(m[4] ?? m[3])];
  return [...previous, [r0, r1, c0, c1]];
}

export function parseTokenList(value: string, previous: number[] = []): number[] {
  const tokens = value.split(',').filter(Boolean).map((t) => {
    if (t.trim() === 'cls') return 0;
    if (!/^\d+$/.test(t.trim())) throw new InvalidArgumentError(`"${t}" is not a token number (0 = CLS, 1..256 patches) or "cls"`);
    return Number(t);
  });
  return [...previous, ...tokens];
}

/** A date or date-time (ISO 8601, e.g. 2020-01-01 or 2020-01-01T12:00) -> ms since the epoch. */
export function parseDate(value: string): number {
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}(-\d{2})?/.test(value) || Number.isNaN(ms)) throw new InvalidArgumentError(`"${value}" is not a date (YYYY-MM-DD)`);
  return ms;
}

function parseSort(value: string): QuerySort {
  if (value !== 'activation' && value !== 'date' && value !== 'date-asc') throw new InvalidArgumentError('sort by activation, date (newest first) or date-asc');
  return value;
}

interface QueryOptions extends LibraryOptions {
  all?: FeatureTerm[];
  any?: FeatureTerm[];
  not?: FeatureTerm[];
  region?: [number, number, number, number][];
  tokens?: number[];
  folder?: string;
  after?: number;
  before?: number;
  sort?: QuerySort;
  limit: number;
  offset?: number;
  json?: boolean;
}

export function registerQuery(program: Command): void {
  addLibraryOptions(program
    .command('query')
    .description(COMMAND_INFO['query'].description)
    .option('--all <terms>', 'features that must all fire: F or F:MIN, comma-separated (repeatable)', parseTerms)
    .option('--any <terms>', 'at least one of these must fire (repeatable)', parseTerms)
    .option('--not <terms>', 'none of these may fire (repeatable)', parseTerms)
    .option('--region <RxC>', 'look only at these patches: rows x columns, e.g. 0-3x0-3 (repeatable; union)', parseRegion)
    .option('--tokens <list>', 'look only at these tokens, e.g. cls,137 (with --region: union)', parseTokenList)
    .option('--folder <dir>', 'only images under this folder')
    .option('--after <date>', 'captured on or after this date (else the file date)', parseDate)
    .option('--before <date>', 'captured before this date', parseDate)
    .option('--sort <how>', 'activation (sum of the matching features), date (newest first) or date-asc', parseSort, 'activation' as QuerySort)
    .option('--limit <n>', 'images to list', parsePositiveInt, 50)
    .option('--offset <n>', 'skip this many first', parseNonNegative)
    .option('--json', 'print a JSON array'))
    .action(async (opts: QueryOptions) => {
      if (!opts.all && !opts.any && !opts.not) throw new UserFacingError('a query needs at least one of --all, --any or --not');
      await withConfig(opts, async (lib, config) => {
        let tokens: number[] | undefined = opts.tokens;
        if (opts.region) tokens = [...(tokens ?? []), ...opts.region.flatMap(([r0, r1, c0, c1]) => regionTokens(config, [r0, r1], [c0, c1]))];
        const r = queryImages(lib, config, {
          ...(opts.all ? { all: opts.all } : {}), ...(opts.any ? { any: opts.any } : {}), ...(opts.not ? { not: opts.not } : {}),
          ...(tokens ? { tokens: [...new Set(tokens)] } : {}),
          ...(opts.folder ? { folder: opts.folder } : {}),
          ...(opts.after !== undefined ? { after: opts.after } : {}), ...(opts.before !== undefined ? { before: opts.before } : {}),
          sort: opts.sort ?? 'activation', limit: opts.limit, offset: opts.offset ?? 0,
        });
        if (opts.json) {
          await writeOut(`${JSON.stringify(r.items.map((h) => ({ file: h.file, score: h.score, date: new Date(h.date).toISOString(), features: h.features })))}\n`);
          return;
        }
        const lines = [`${r.total === null ? `${r.items.length}+` : r.total} images (layer ${config.layer}, configuration #${config.id})`];
        for (const h of r.items) {
          const feats = h.features.map((f) => `#${f.feature} ${num(f.act)}@${f.token}`).join(', ');
          lines.push(`${num(h.score).padStart(9)}  ${new Date(h.date).toISOString().slice(0, 10)}  ${h.file}${feats ? `  (${feats})` : ''}`);
        }
        await writeOut(`${lines.join('\n')}\n`);
      });
    });
}
