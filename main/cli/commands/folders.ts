import path from 'node:path';
import type { Command } from 'commander';
import { UserFacingError } from '../../engine/errors.js';
import { isUnder } from '../../engine/library/scanner.js';
import { writeOut } from '../exit.js';
import { checkFolder, defaultDbPath, openLibraryFile } from '../library.js';
import { COMMAND_INFO } from '../command-info.js';

interface DbOption {
  db?: string;
  json?: boolean;
}

export function registerFolders(program: Command): void {
  const folders = program.command('folders').description(COMMAND_INFO['folders'].description);

  folders
    .command('add')
    .description('add folders to the library (index them with `clipscope index`)')
    .argument('<folders...>', 'photo folders')
    .option('--db <file>', `library file (default: ${defaultDbPath()})`)
    .action(async (dirs: string[], opts: DbOption) => {
      const abs = dirs.map(checkFolder);
      const lib = openLibraryFile(opts.db);
      try {
        for (const d of abs) {
          const row = lib.listFolders().find((f) => f.path === d) ?? lib.addFolder(d);
          await writeOut(`${row.path}\n`);
        }
      } finally {
        lib.close();
      }
    });

  folders
    .command('remove')
    .description('remove folders from the library (their photos are untouched on disk)')
    .argument('<folders...>', 'folders as listed by `clipscope folders list`')
    .option('--db <file>', `library file (default: ${defaultDbPath()})`)
    .action(async (dirs: string[], opts: DbOption) => {
      const lib = openLibraryFile(opts.db, { readonly: false });
      try {
        const known = new Set(lib.listFolders().map((f) => f.path));
        for (const d of dirs) {
          const abs = path.resolve(d);
          if (!known.has(abs)) throw new UserFacingError(`${abs}: not a folder of ${lib.file}`);
          lib.removeFolder(abs);
          await writeOut(`removed ${abs}\n`);
        }
      } finally {
        lib.close();
      }
    });

  folders
    .command('list')
    .description("the library's folders with their photo counts")
    .option('--db <file>', `library file (default: ${defaultDbPath()})`)
    .option('--json', 'one JSON array')
    .action(async (opts: DbOption) => {
      const lib = openLibraryFile(opts.db, { readonly: true });
      try {
        const failures = lib.failures();
        const rows = lib.listFolders().map((f) => ({
          path: f.path,
          addedAt: f.addedAt,
          // Image files present in the library (those that could not be decoded included).
          images: lib.presentImagesUnder(f.id).length,
          // Files (and unreadable entries) under the folder whose last indexing failed.
          failed: failures.filter((x) => isUnder(x.path, f.path)).length,
        }));
        if (opts.json) await writeOut(`${JSON.stringify(rows)}\n`);
        else if (rows.length === 0) await writeOut('no folders\n');
        else for (const r of rows) await writeOut(`${r.path}  ${r.images} files${r.failed ? `, ${r.failed} could not be indexed` : ''}\n`);
      } finally {
        lib.close();
      }
    });

  folders
    .command('failures')
    .description('files that could not be indexed, with the reason')
    .option('--db <file>', `library file (default: ${defaultDbPath()})`)
    .option('--json', 'one JSON array of {"file", "error"}')
    .action(async (opts: DbOption) => {
      const lib = openLibraryFile(opts.db, { readonly: true });
      try {
        const rows = lib.failures().map((f) => ({ file: f.path, error: f.error }));
        if (opts.json) await writeOut(`${JSON.stringify(rows)}\n`);
        else for (const r of rows) await writeOut(`${r.file}: ${r.error}\n`);
      } finally {
        lib.close();
      }
    });
}
