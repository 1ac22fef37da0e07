import { writeFile } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import type { ApiOutput } from '../../../common/contract/index.js';
import { exportFeatureLabels, importFeatureLabels, refreshFeatureStats, setFeatureText, similarFeaturesFrom } from '../../app/library-edits.js';
import { writeOut } from '../exit.js';
import { parsePositiveInt } from '../options.js';
import {
  addLibraryOptions, configChoice, num, parseFeature, parseNonNegative, readQuery, withLibrary, withWritableLibrary, type LibraryOptions,
} from '../library.js';
import { COMMAND_INFO } from '../command-info.js';

type FeatureInfo = ApiOutput<'features.search'>['items'][number];

/** The most features one `features.search` call returns (the contract's limit). */
const SEARCH_PAGE = 1000;

function parseFraction(value: string): number {
  const v = Number(value);
  if (value.trim() === '' || !(v >= 0 && v <= 1)) throw new InvalidArgumentError('a frequency is a share of tokens between 0 and 1, e.g. 0.001');
  return v;
}

function parseIds(value: string): number[] {
  return value.split(',').filter(Boolean).map((v) => parseFeature(v.trim()));
}

function parseSort(value: string): 'frequency' | 'max' | 'id' {
  if (value !== 'frequency' && value !== 'max' && value !== 'id') throw new InvalidArgumentError('sort by frequency, max or id');
  return value;
}

function featureLine(f: FeatureInfo): string {
  const label = [f.label, f.note && `(${f.note})`].filter(Boolean).join(' ');
  return `#${String(f.feature).padEnd(6)} freq ${num(f.frequency).padEnd(9)} images ${String(f.images).padEnd(7)} max ${num(f.maxAct).padEnd(8)} mean ${num(f.meanAct).padEnd(8)}${f.dead ? ' dead' : ''}${f.dense ? ' dense' : ''}${label ? `  ${label}` : ''}`;
}

interface SearchOptions extends LibraryOptions {
  text?: string;
  ids?: number[];
  minFreq?: number;
  maxFreq?: number;
  dead?: boolean;
  dense?: boolean;
  sort: 'frequency' | 'max' | 'id';
  asc?: boolean;
  limit: number;
  offset?: number;
  json?: boolean;
}

export function registerFeatures(program: Command): void {
  const features = program.command('features').description(COMMAND_INFO['features'].description);

  addLibraryOptions(features
    .command('search')
    .description('features by id, label / note text, firing frequency (share of tokens), dead or dense; sorted by frequency or max activation')
    .option('--text <text>', 'label or note contains this')
    .option('--ids <list>', 'these features, e.g. 12,99', parseIds)
    .option('--min-freq <f>', 'active on at least this share of tokens', parseFraction)
    .option('--max-freq <f>', 'active on at most this share of tokens', parseFraction)
    .option('--dead', 'never active in this library')
    .option('--no-dead', 'active at least once')
    .option('--dense', 'active on at least 10% of tokens')
    .option('--no-dense', 'active on less than 10% of tokens')
    .option('--sort <by>', 'frequency, max or id', parseSort, 'frequency' as const)
    .option('--asc', 'ascending order')
    .option('--limit <n>', 'features to list', parsePositiveInt, 50)
    .option('--offset <n>', 'skip this many first', parseNonNegative)
    .option('--json', 'print a JSON array'))
    .action(async (opts: SearchOptions) => {
      const page = (offset: number, limit: number) => readQuery(opts, 'features.search', () => ({
        ...(opts.text ? { text: opts.text } : {}), ...(opts.ids ? { features: opts.ids } : {}),
        ...(opts.minFreq !== undefined ? { minFrequency: opts.minFreq } : {}), ...(opts.maxFreq !== undefined ? { maxFrequency: opts.maxFreq } : {}),
        ...(opts.dead !== undefined ? { dead: opts.dead } : {}), ...(opts.dense !== undefined ? { dense: opts.dense } : {}),
        sort: opts.sort, ascending: opts.asc ?? false, limit, offset,
      }));
      // The app asks for a page at a time (at most SEARCH_PAGE); a longer --limit reads several.
      const first = opts.offset ?? 0;
      const r = await page(first, Math.min(opts.limit, SEARCH_PAGE));
      while (r.items.length < opts.limit && first + r.items.length < r.total) {
        const more = await page(first + r.items.length, Math.min(opts.limit - r.items.length, SEARCH_PAGE));
        if (more.items.length === 0) break;
        r.items.push(...more.items);
      }
      if (r.stale) process.stderr.write('note: statistics predate the latest indexing (clipscope features refresh updates them)\n');
      if (opts.json) return writeOut(`${JSON.stringify(r.items)}\n`);
      return writeOut(`${[`${r.total} features (layer ${r.layer}, ${r.libraryImages} images)`, ...r.items.map(featureLine)].join('\n')}\n`);
    });

  addLibraryOptions(features
    .command('show')
    .description("one feature's statistics, activation histogram and label")
    .argument('<feature>', 'feature number', parseFeature)
    .option('--json', 'print JSON'))
    .action(async (feature: number, opts: LibraryOptions & { json?: boolean }) => {
      // The app's answer also names the layer and the SAE's size; the CLI prints the feature's own fields.
      const { layer: _layer, nFeatures: _nFeatures, ...d } = await readQuery(opts, 'feature.details', () => ({ feature }));
      if (opts.json) return writeOut(`${JSON.stringify(d)}\n`);
      const peak = Math.max(1, ...d.histogram.map((b) => b.count));
      return writeOut(`${[
        featureLine(d),
        ...d.histogram.map((b) => `  [${num(b.lo)}, ${num(b.hi)})`.padEnd(24) + `${'#'.repeat(Math.ceil((40 * b.count) / peak))} ${b.count}`),
      ].join('\n')}\n`);
    });

  for (const field of ['label', 'note'] as const) {
    addLibraryOptions(features
      .command(field)
      .description(field === 'label' ? 'name a feature (an empty text removes the name)' : 'write a note about a feature (an empty text removes it)')
      .argument('<feature>', 'feature number', parseFeature)
      .argument('<text>', field === 'label' ? 'the name' : 'the note'))
      .action(async (feature: number, text: string, opts: LibraryOptions) => {
        const l = await withWritableLibrary(opts, { create: false }, (lib) => setFeatureText(lib, configChoice(opts), feature, { [field]: text }));
        await writeOut(`#${l.feature}: ${l.label || '(no label)'}${l.note ? ` (${l.note})` : ''}\n`);
      });
  }

  addLibraryOptions(features
    .command('similar')
    .description('features whose decoder directions are closest (cosine); reads the SAE file')
    .argument('<feature>', 'feature number', parseFeature)
    .option('--sae <path>', "the SAE file (default: the configuration's)")
    .option('--limit <n>', 'features to list', parsePositiveInt, 10)
    .option('--json', 'print a JSON array'))
    .action(async (feature: number, opts: LibraryOptions & { sae?: string; limit: number; json?: boolean }) => {
      const r = await withLibrary(opts, (lib) => similarFeaturesFrom(lib, configChoice(opts), feature, opts.limit, opts.sae));
      if (opts.json) return writeOut(`${JSON.stringify(r)}\n`);
      return writeOut(`${r.map((s) => `#${String(s.feature).padEnd(6)} cosine ${s.cosine.toFixed(3)}${s.label ? `  ${s.label}` : ''}`).join('\n')}\n`);
    });

  addLibraryOptions(features
    .command('export')
    .description('write the labels and notes of this SAE as JSON')
    .option('--out <file>', 'write here (default: standard output)'))
    .action(async (opts: LibraryOptions & { out?: string }) => {
      const labels = await withLibrary(opts, (lib) => exportFeatureLabels(lib, configChoice(opts)));
      const text = `${JSON.stringify(labels, null, 2)}\n`;
      if (opts.out) await writeFile(opts.out, text);
      else await writeOut(text);
    });

  addLibraryOptions(features
    .command('import')
    .description('read labels and notes from a JSON export (by default the newer of two versions of a label wins)')
    .argument('<file>', 'a file written by clipscope features export')
    .option('--replace', 'the file wins over labels edited here')
    .option('--any-sae', 'accept labels exported for another SAE'))
    .action(async (file: string, opts: LibraryOptions & { replace?: boolean; anySae?: boolean }) => {
      const r = await withWritableLibrary(opts, { create: false }, (lib) =>
        importFeatureLabels(lib, configChoice(opts), file, { mode: opts.replace ? 'replace' : 'merge', anySae: opts.anySae ?? false }));
      await writeOut(`imported ${r.imported} labels${r.kept ? `, kept ${r.kept} edited here more recently` : ''}\n`);
    });

  addLibraryOptions(features
    .command('refresh')
    .description('recompute the per-feature statistics (indexing does it after each run)'))
    .action(async (opts: LibraryOptions) => {
      const config = await withWritableLibrary(opts, { create: false }, (lib) => refreshFeatureStats(lib, configChoice(opts)));
      await writeOut(`statistics of configuration #${config.id} (layer ${config.layer}) are up to date\n`);
    });
}
