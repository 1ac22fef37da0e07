#!/usr/bin/env node
// `npm start`: build the app, make sure SQLite has its Electron build, launch the desktop app.
// Where Electron cannot start (no display, no Electron binary), `npm run serve` is the same app
// in a browser.
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
const run = (args) => {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  return r.stdout;
};

run([require.resolve('electron-vite/bin/electron-vite.js'), 'build']);
const binding = run([path.join(root, 'scripts', 'electron-native.mjs')]).trim();
// `electron` (the npm package) resolves to the binary's path, fetching it on first use.
const electron = require('electron');
const child = spawn(electron, ['.', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, CLIPSCOPE_SQLITE_BINDING: binding },
});
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 0)));
child.on('error', (e) => {
  process.stderr.write(`could not start Electron: ${e.message}\nOn a machine without a display, use \`npm run serve\` (the same app in a browser).\n`);
  process.exit(1);
});
