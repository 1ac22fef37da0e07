import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';
import { UserFacingError } from '../../engine/errors.js';
import { writeOut } from '../exit.js';
import { COMMAND_INFO } from '../command-info.js';

interface ServeOptions {
  db?: string;
  demo?: boolean;
  port?: number;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is a whole number from 0 to 65535 (0: any free port)');
  return n;
}

/** out/renderer, built by `npm run build:app`, found above this module (sources or dist/). */
function rendererDir(): string {
  let d = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const c = path.join(d, 'out', 'renderer');
    if (fs.existsSync(path.join(c, 'index.html'))) return c;
    d = path.dirname(d);
  }
  throw new UserFacingError('the app is not built yet: run `npm run build:app` in the project folder (or `npm run serve`)');
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(COMMAND_INFO['serve'].description)
    .option('--db <file>', 'open this library (default: the start screen: recent libraries, new library, demo)')
    .option('--port <p>', 'port to listen on (default: any free port)', parsePort)
    .option('--demo', 'open the offline demo library (bundled random-weight model and sample photos), indexing it if needed')
    .action(async (opts: ServeOptions) => {
      if (opts.demo && opts.db !== undefined) throw new UserFacingError('--demo opens the demo library: leave out --db');
      if (opts.db !== undefined && !fs.existsSync(opts.db)) throw new UserFacingError(`${path.resolve(opts.db)}: no such library file`);
      // Loaded here, not at start: `clipscope --help` must not load the engine's native modules.
      const { startWebServer } = await import('../../transports/serve.js');
      const server = await startWebServer({
        rendererDir: rendererDir(),
        ...(opts.port === undefined ? {} : { port: opts.port }),
        ...(opts.db === undefined ? {} : { library: path.resolve(opts.db) }),
      });
      if (opts.demo) {
        const r = await server.engine.call('demo.setup', undefined);
        if (!r.ok) {
          await server.close();
          throw new UserFacingError(r.error.message);
        }
      }
      await writeOut(`Listening on ${server.url}\n`);
      process.stderr.write('Open that address in a browser; Ctrl-C stops the server (an indexing job pauses after its batch).\n');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      process.stderr.write('stopping\n');
      await server.close();
    });
}
