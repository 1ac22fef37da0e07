import { Command, CommanderError } from 'commander';
import { VERSION } from '../engine/version.js';
import { registerEncode } from './commands/encode.js';
import { registerActivations } from './commands/activations.js';
import { registerModels } from './commands/models.js';
import { registerIndex } from './commands/index.js';
import { registerFolders } from './commands/folders.js';
import { registerGallery } from './commands/gallery.js';
import { registerImage } from './commands/image.js';
import { registerMetrics } from './commands/metrics.js';
import { registerQuery } from './commands/query.js';
import { registerFeatures } from './commands/features.js';
import { registerSteer } from './commands/steer.js';
import { registerServe } from './commands/serve.js';
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

registerEncode(program);
registerActivations(program);
registerModels(program);
registerIndex(program);
registerFolders(program);
registerGallery(program);
registerImage(program);
registerMetrics(program);
registerQuery(program);
registerFeatures(program);
registerSteer(program);
registerServe(program);

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
