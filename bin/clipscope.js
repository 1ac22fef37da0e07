#!/usr/bin/env node
// The CLI ships compiled (dist/) so that `clipscope --help` starts instantly without a TS loader.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/main/cli/index.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('clipscope: the CLI is not built yet. Run `npm run build:engine` in the project folder.\n');
  process.exit(2);
}
await import(entry.href);
