#!/usr/bin/env node
// The README's main job, offline: index the bundled sample photos with the bundled demo model
// (random weights: a demonstration of the pipeline, its features mean nothing), then show what
// a user sees first: the indexing summary, a gallery of one feature and the library metrics.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'clipscope.js');
const demo = path.join(root, 'resources', 'demo');
const db = path.join(mkdtempSync(path.join(os.tmpdir(), 'clipscope-demo-')), 'demo-library.sqlite');

function clipscope(title, args, { capture = false } = {}) {
  process.stdout.write(`\n== ${title}\n$ clipscope ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, stdio: capture ? ['ignore', 'pipe', 'inherit'] : 'inherit', encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(`demo: clipscope ${args[0]} failed (exit ${r.status})\n`);
    process.exit(r.status ?? 1);
  }
  return r.stdout;
}

const model = ['--model', path.join(demo, 'clip'), '--sae', path.join(demo, 'sae', '2_resid', '10280.pt')];
process.stdout.write('CLIP-Scope Desktop demo: the bundled random-weight demo model (features mean nothing) on five sample photos.\n');
clipscope('index the sample photos', ['index', path.join(demo, 'photos'), '--db', db, ...model, '--no-thumbnails']);
const lines = clipscope('the strongest CLS feature of the first photo', ['image', path.join(demo, 'photos', 'chelsea.png'), '--db', db, '--json'], { capture: true });
const image = JSON.parse(lines.trim().split('\n').pop());
const feature = image.tokens.idx[0][0];
process.stdout.write(`feature #${feature} (activation ${image.tokens.val[0][0].toFixed(3)} on the CLS token of chelsea.png)\n`);
clipscope(`gallery: photos where feature #${feature} fires`, ['gallery', String(feature), '--db', db, '--token', 'any', '--limit', '5']);
clipscope('library metrics (the model card table on these photos)', ['metrics', '--db', db]);
process.stdout.write(`\nThe demo library is ${db}; try \`clipscope query --help\` or \`clipscope features --help\` on it.\n`);
