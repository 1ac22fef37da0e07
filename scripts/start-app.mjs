#!/usr/bin/env node
// `npm start`: build the app, make sure SQLite has its Electron build, launch the desktop app.
// Where Electron cannot start (no display, no Electron binary, no network for its first setup),
// it runs the same app in the browser instead (`clipscope serve`) and says so.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
const node = (args, capture = false) =>
  spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'], encoding: 'utf8' });
const must = (r) => {
  if (r.status !== 0) process.exit(r.status ?? 1);
  return r.stdout;
};

must(node([require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json']));
must(node([path.join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build', '--logLevel', 'warn']));

function whyNoElectron() {
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return 'there is no display (DISPLAY / WAYLAND_DISPLAY unset)';
  let binary;
  try {
    // The `electron` package resolves to its binary's path; npm fetched it at install when it could.
    binary = require('electron');
  } catch (e) {
    return `the Electron binary is not installed (${e.message.split('\n')[0]})`;
  }
  if (typeof binary !== 'string' || !fs.existsSync(binary)) return 'the Electron binary is not installed (its download failed at npm install)';
  return null;
}

function webMode(reason) {
  process.stderr.write(`The desktop window cannot open here: ${reason}.\nStarting the same app in your browser instead (web mode); open the address below. Ctrl-C stops it.\n`);
  const child = spawn(process.execPath, [path.join(root, 'bin', 'clipscope.js'), 'serve', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
  process.on('SIGINT', () => child.kill('SIGINT'));
  child.on('exit', (code) => process.exit(code ?? 0));
}

const reason = whyNoElectron();
if (reason) {
  webMode(reason);
} else {
  const native = node([path.join(root, 'scripts', 'electron-native.mjs')], true);
  if (native.status !== 0) {
    webMode('better-sqlite3 could not be built for Electron (see above)');
  } else {
    const child = spawn(require('electron'), ['.', ...process.argv.slice(2)], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, CLIPSCOPE_SQLITE_BINDING: native.stdout.trim() },
    });
    child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 0)));
    child.on('error', (e) => webMode(`Electron did not start (${e.message})`));
  }
}
