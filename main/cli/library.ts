/**
 * What the commands that work on a library share: the --db / --layer / --config options, opening
 * the library (for reading, or for writing when indexing), and number formatting. One module,
 * so no command borrows another's helpers.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { UserFacingError } from '../engine/errors.js';
import { openLibrary, resolveConfig } from '../engine/queries/config.js';
import { defaultLibraryFile, Library } from '../engine/store/library.js';
import type { ConfigRow } from '../engine/store/rows.js';
import { parseLayer, parsePositiveInt } from './options.js';
import { ApiContract, type ApiInput, type ApiOutput } from '../../common/contract/index.js';
import { readQueries, type ReadMethod } from '../app/read-queries.js';
import { describeIssues } from '../host/dispatch.js';

export interface LibraryOptions {
  db?: string;
  layer?: number;
  config?: number;
}

export function addLibraryOptions(cmd: Command): Command {
  return cmd
    .option('--db <file>', `library file (default: ${defaultLibraryFile()})`)
    .option('--layer <L>', 'read the results of this layer', parseLayer)
    .option('--config <id>', 'read the results of this configuration (when several share a layer)', parsePositiveInt);
}

/** Opens the library, picks the configuration, runs `fn`, closes. */
export async function withConfig<T>(opts: LibraryOptions, fn: (lib: Library, config: ConfigRow) => T | Promise<T>): Promise<T> {
  const lib = openLibrary(opts.db);
  try {
    const config = resolveConfig(lib, { ...(opts.layer === undefined ? {} : { layer: opts.layer }), ...(opts.config === undefined ? {} : { configId: opts.config }) });
    return await fn(lib, config);
  } finally {
    lib.close();
  }
}

/**
 * Runs one of the app's read queries (the same function the app's query workers run) on the
 * library, the request checked against the contract as the transports check it: the CLI formats
 * what the app shows.
 */
export async function readQuery<M extends ReadMethod>(opts: LibraryOptions, method: M, input: (lib: Library) => ApiInput<M>): Promise<ApiOutput<M>> {
  const lib = openLibrary(opts.db);
  try {
    const choice = { ...(opts.layer === undefined ? {} : { layer: opts.layer }), ...(opts.config === undefined ? {} : { config: opts.config }) };
    const request = ApiContract[method].input.safeParse({ ...(input(lib) as object), ...choice });
    if (!request.success) throw new UserFacingError(describeIssues(request.error));
    return (readQueries[method] as (lib: Library, input: unknown) => ApiOutput<M>)(lib, request.data);
  } finally {
    lib.close();
  }
}

export function parseFeature(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('a feature is a whole number (0-based)');
  return Number(value);
}

export function parseNonNegative(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number');
  return Number(value);
}

/** Numbers as people read them: 3 significant digits, no exponent for everyday sizes. */
export function num(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return String(v);
  if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e6)) return v.toExponential(2);
  return Number(v.toPrecision(4)).toString();
}

/** The library file the options name, as the commands open it. */
export function libraryFileOf(opts: { db?: string }): string {
  return path.resolve(opts.db ?? defaultDbPath());
}

/** dataDir()/library.sqlite (the store's default library). */
export function defaultDbPath(): string {
  return defaultLibraryFile();
}

/** Opens (creating) the library file, making its folder. */
export function openLibraryFile(file: string | undefined, opts: { readonly?: boolean } = {}): Library {
  const db = path.resolve(file ?? defaultDbPath());
  if (!opts.readonly) fs.mkdirSync(path.dirname(db), { recursive: true });
  else if (!fs.existsSync(db)) throw new UserFacingError(`${db}: no such library file`);
  return Library.open(db, opts);
}

export { checkFolder } from '../engine/library/folders.js';

