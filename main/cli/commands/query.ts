import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import {
  parseQueryDate, parseRegion as parseRegionText, parseTermList, parseTokenList as parseTokenText,
  type QueryRegion, type QuerySortOrder, type QueryTerm,
} from '../../../common/contract/index.js';
import { UserFacingError } from '../../engine/errors.js';
import { writeOut } from '../exit.js';
import { parsePositiveInt } from '../options.js';
import { addLibraryOptions, num, parseNonNegative, readQuery, type LibraryOptions } from '../library.js';
import { COMMAND_INFO } from '../command-info.js';

// ---- clipscope query: a formatter over the app's `query.run` read query (the grammar is the contract's).

/** Commander wants InvalidArgumentError; the grammar's messages name the bad part. */
function option<T>(parse: (value: string) => T): (value: string) => T {
  return (value) => {
    try {
      return parse(value);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
  };
}

/** "12:0.5,99" -> feature 12 with activation >= 0.5, and feature 99 (active at all). */
export function parseTerms(value: string, previous: QueryTerm[] = []): QueryTerm[] {
  return [...previous, ...option(parseTermList)(value)];
}

/** "R0-R1xC0-C1" (rows x columns of the patch grid, inclusive, 0-based); "8x8" is one patch. */
export function parseRegion(value: string, previous: QueryRegion[] = []): QueryRegion[] {
  return [...previous, option(parseRegionText)(value)];
}

export function parseTokenList(value: string, previous: number[] = []): number[] {
  return [...previous, ...option(parseTokenText)(value)];
}

/** A date or date-time (ISO 8601, e.g. 2020-01-01 or 2020-01-01T12:00) -> ms since the epoch. */
export const parseDate = option(parseQueryDate);

function parseSort(value: string): QuerySortOrder {
  if (value !== 'activation' && value !== 'date' && value !== 'date-asc') throw new InvalidArgumentError('sort by activation, date (newest first) or date-asc');
  return value;
}

interface QueryOptions extends LibraryOptions {
  all?: QueryTerm[];
  any?: QueryTerm[];
  not?: QueryTerm[];
  region?: QueryRegion[];
  tokens?: number[];
  folder?: string;
  after?: number;
  before?: number;
  sort?: QuerySortOrder;
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
    .option('--sort <how>', 'activation (sum of the matching features), date (newest first) or date-asc', parseSort, 'activation' as QuerySortOrder)
    .option('--limit <n>', 'images to list', parsePositiveInt, 50)
    .option('--offset <n>', 'skip this many first', parseNonNegative)
    .option('--json', 'print a JSON array'))
    .action(async (opts: QueryOptions) => {
      if (!opts.all && !opts.any && !opts.not) throw new UserFacingError('a query needs at least one of --all, --any or --not');
      const r = await readQuery(opts, 'query.run', () => ({
        ...(opts.all ? { all: opts.all } : {}), ...(opts.any ? { any: opts.any } : {}), ...(opts.not ? { not: opts.not } : {}),
        ...(opts.region ? { regions: opts.region } : {}), ...(opts.tokens ? { tokens: opts.tokens } : {}),
        // The app's query runs elsewhere: a relative folder is the caller's.
        ...(opts.folder ? { folder: path.resolve(opts.folder) } : {}),
        ...(opts.after !== undefined ? { after: opts.after } : {}), ...(opts.before !== undefined ? { before: opts.before } : {}),
        sort: opts.sort ?? 'activation', limit: opts.limit, offset: opts.offset ?? 0,
      }));
      if (opts.json) {
        await writeOut(`${JSON.stringify(r.items.map((h) => ({ file: h.file, score: h.score, date: new Date(h.date).toISOString(), features: h.features })))}\n`);
        return;
      }
      const lines = [`${r.total === null ? `${r.items.length}+` : r.total} images (layer ${r.layer}, configuration #${r.configId})`];
      for (const h of r.items) {
        const feats = h.features.map((f) => `#${f.feature} ${num(f.act)}@${f.token}`).join(', ');
        lines.push(`${num(h.score).padStart(9)}  ${new Date(h.date).toISOString().slice(0, 10)}  ${h.file}${feats ? `  (${feats})` : ''}`);
      }
      await writeOut(`${lines.join('\n')}\n`);
    });
}
