/**
 * What the commands that work on a library share: the --db / --layer / --config options, opening
 * the library (for reading, or for writing when indexing), and number formatting. One module,
 * so no command borrows another's helpers.
 */
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { UserFacingError } from '../engine/errors.js';
import type { ConfigChoice } from '../engine/queries/config.js';
import type { ReadonlyLibrary, WritableLibrary } from '../engine/store/library.js';
import { defaultLibraryFile, withReadonlyLibrary, withWritableLibrary as withWritableLibraryFile } from '../app/library-files.js';
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

/** The configuration the --layer / --config options pick. */
export function configChoice(opts: LibraryOptions): ConfigChoice {
  return { ...(opts.layer === undefined ? {} : { layer: opts.layer }), ...(opts.config === undefined ? {} : { configId: opts.config }) };
}

/** Runs `fn` on a read-only handle of the library (never created, never migrated), then closes it. */
export function withLibrary<T>(opts: { db?: string }, fn: (lib: ReadonlyLibrary) => T | Promise<T>): Promise<T> {
  return withReadonlyLibrary(libraryFileOf(opts), fn);
}

/**
 * Runs `fn` on a writable handle (an older library is upgraded), then closes it. `create`: make
 * the file when missing (adding folders, indexing); otherwise a missing library is an error.
 */
export function withWritableLibrary<T>(opts: { db?: string }, how: { create: boolean }, fn: (lib: WritableLibrary) => T | Promise<T>): Promise<T> {
  return withWritableLibraryFile(libraryFileOf(opts), how, fn);
}

/**
 * Runs one of the app's read queries (the same function the app's query workers run) on the
 * library, the request checked against the contract as the transports check it: the CLI formats
 * what the app shows.
 */
export async function readQuery<M extends ReadMethod>(opts: LibraryOptions, method: M, input: (lib: ReadonlyLibrary) => ApiInput<M>): Promise<ApiOutput<M>> {
  return withLibrary(opts, async (lib) => {
    const choice = { ...(opts.layer === undefined ? {} : { layer: opts.layer }), ...(opts.config === undefined ? {} : { config: opts.config }) };
    const request = ApiContract[method].input.safeParse({ ...(input(lib) as object), ...choice });
    if (!request.success) throw new UserFacingError(describeIssues(request.error));
    // Awaited here: an asynchronous query must finish before the handle closes.
    return await (readQueries[method] as (lib: ReadonlyLibrary, input: unknown) => ApiOutput<M> | Promise<ApiOutput<M>>)(lib, request.data);
  });
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

