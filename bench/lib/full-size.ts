/**
 * The full-size random-weight ViT-L/14 + layer-22 SAE that bench/make_full_size.py writes once
 * into bench/.work/ (shared by bench:encode, bench:index and bench:steer).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const WORK = path.join(ROOT, 'bench', '.work');
export const MODEL_DIR = path.join(WORK, 'clip-vit-l-14-random');
export const SAE_FILE = path.join(WORK, 'sae', '22_resid', 'bench.pt');
export const MARKER = path.join(WORK, 'full-size.json');
export const PYTHON = '/usr/bin/python3';

export function fullSizeComplete(): boolean {
  try {
    const m = JSON.parse(readFileSync(MARKER, 'utf8')) as { files: Record<string, number> };
    return Object.entries(m.files).every(([rel, size]) => statSync(path.join(WORK, rel)).size === size);
  } catch {
    return false;
  }
}

export function pythonHasTorch(): { ok: true } | { ok: false; why: string } {
  if (!existsSync(PYTHON)) return { ok: false, why: `${PYTHON} does not exist` };
  const r = spawnSync(PYTHON, ['-c', 'import torch, numpy, PIL'], { encoding: 'utf8' });
  if (r.status === 0) return { ok: true };
  return { ok: false, why: `${PYTHON} cannot import torch/numpy/PIL (${(r.stderr || '').trim().split('\n').pop() ?? ''})` };
}

/** Generates the model + SAE unless the marker says they are complete. */
export function ensureFullSize(log: (msg: string) => void): void {
  if (fullSizeComplete()) {
    log(`full-size model + SAE present in ${path.relative(ROOT, WORK)} (marker ok)`);
    return;
  }
  const py = pythonHasTorch();
  if (!py.ok) throw new Error(`cannot generate the full-size benchmark model: ${py.why}`);
  log('generating the full-size model + SAE (once, ~1.75 GB) ...');
  const r = spawnSync(PYTHON, [path.join(ROOT, 'bench', 'make_full_size.py')], { stdio: 'inherit' });
  if (r.status !== 0 || !fullSizeComplete()) throw new Error('bench/make_full_size.py failed');
}
