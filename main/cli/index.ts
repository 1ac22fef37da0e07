import { Command, CommanderError } from 'commander';
import { VERSION } from '../engine/version.js';
import { COMMAND_INFO } from './command-info.js';
import { isCommand, LOADERS } from './commands.js';
import { EXIT_UNUSABLE, reportFatal } from './exit.js';

// `clipscope gallery 7 --json | head`: the reader went away, so there is nobody left to tell.
// Stop quietly, as Unix tools do, instead of an unhandled EPIPE stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(0);
});

const program = new Command('clipscope')
  .description('CLIP-Scope sparse autoencoder features for your own photos')
  .version(VERSION)
  .showHelpAfterError()
  .exitOverride();

// The command being run (`clipscope gallery ...`, `clipscope help gallery`) is declared by its
// module; for the overview (`clipscope --help`, a typo) the table's words are enough, and no
// engine module (onnxruntime, sharp, SQLite: half a second) is loaded.
const [first, second] = process.argv.slice(2);
const wanted = first === 'help' ? second : first;
if (isCommand(wanted)) {
  (await LOADERS[wanted]())(program);
} else {
  for (const [name, info] of Object.entries(COMMAND_INFO)) {
    program.command(info.args ? `${name} ${info.args}` : name).description(info.description);
  }
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // commander already printed the message (or the help / version text).
    process.exitCode = err.exitCode === 0 ? 0 : EXIT_UNUSABLE;
  } else {
    reportFatal(err);
  }
}
