import type { Command } from 'commander';
import { addFolders, folderSummaries, indexingFailures, removeFolders } from '../../app/library-edits.js';
import { writeOut } from '../exit.js';
import { defaultDbPath, withLibrary, withWritableLibrary } from '../library.js';
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
      const rows = await withWritableLibrary(opts, { create: true }, (lib) => addFolders(lib, dirs));
      await writeOut(rows.map((r) => `${r.path}\n`).join(''));
    });

  folders
    .command('remove')
    .description('remove folders from the library (their photos are untouched on disk)')
    .argument('<folders...>', 'folders as listed by `clipscope folders list`')
    .option('--db <file>', `library file (default: ${defaultDbPath()})`)
    .action(async (dirs: string[], opts: DbOption) => {
      // One folder at a time, so that those removed before an unknown one are reported.
      await withWritableLibrary(opts, { create: true }, async (lib) => {
        for (const d of dirs) await writeOut(`removed ${removeFolders(lib, [d])[0]!}\n`);
      });
    });

  folders
    .command('list')
    .description("the library's folders with their photo counts")
    .option('--db <file>', `library file (default: ${defaultDbPath()})`)
    .option('--json', 'one JSON array')
    .action(async (opts: DbOption) => {
      const rows = await withLibrary(opts, folderSummaries);
      if (opts.json) await writeOut(`${JSON.stringify(rows)}\n`);
      else if (rows.length === 0) await writeOut('no folders\n');
      else await writeOut(rows.map((r) => `${r.path}  ${r.images} files${r.failed ? `, ${r.failed} could not be indexed` : ''}\n`).join(''));
    });

  folders
    .command('failures')
    .description('files that could not be indexed, with the reason')
    .option('--db <file>', `library file (default: ${defaultDbPath()})`)
    .option('--json', 'one JSON array of {"file", "error"}')
    .action(async (opts: DbOption) => {
      const rows = await withLibrary(opts, indexingFailures);
      if (opts.json) await writeOut(`${JSON.stringify(rows)}\n`);
      else await writeOut(rows.map((r) => `${r.file}: ${r.error}\n`).join(''));
    });
}
