#!/usr/bin/env node
// better-sqlite3 is a V8-ABI addon: the CLI under Node and the app under Electron need different
// builds of it from one checkout. This builds a second copy for the installed Electron in
// node_modules/.electron-native/ (once per Electron version) and prints the path of its binary,
// which the app hands to better-sqlite3 (`nativeBinding`). The Node build is left untouched.
// (onnxruntime-node and sharp use Node-API, which is ABI-stable: one build serves both.)
// Needs the network once (Electron's headers); see Electron's "Native Node Modules" guide.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
const electronVersion = require('electron/package.json').version;
const dir = path.join(root, 'node_modules', '.electron-native', `electron-${electronVersion}`);
const binary = path.join(dir, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');

if (!fs.existsSync(binary)) {
  process.stderr.write(`building better-sqlite3 for Electron ${electronVersion} (once; needs the network for Electron's headers)...\n`);
  const source = path.dirname(require.resolve('better-sqlite3/package.json'));
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
  fs.cpSync(source, path.join(dir, 'node_modules', 'better-sqlite3'), { recursive: true, filter: (p) => !p.includes(`${path.sep}build${path.sep}`) });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'electron-native', private: true, dependencies: { 'better-sqlite3': '*' } }));
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['rebuild', 'better-sqlite3', '--build-from-source', '--foreground-scripts'], {
    cwd: dir,
    stdio: ['ignore', 'inherit', 'inherit'],
    shell: process.platform === 'win32',
    env: {
      ...process.env,
      npm_config_runtime: 'electron',
      npm_config_target: electronVersion,
      npm_config_disturl: 'https://electronjs.org/headers',
      npm_config_build_from_source: 'true',
    },
  });
  if (r.status !== 0 || !fs.existsSync(binary)) {
    process.stderr.write('could not build better-sqlite3 for Electron: see the messages above (a C++ toolchain and the network are needed once)\n');
    process.exit(1);
  }
}
process.stdout.write(`${binary}\n`);
