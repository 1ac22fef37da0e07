import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../helpers/references.js';

export interface CliResult { code: number | null; stdout: string; stderr: string }

/** Runs the real `clipscope` bin (the compiled CLI) as a user would. */
export function runCli(args: readonly string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/clipscope.js'), ...args], {
      cwd: ROOT,
      env: { ...process.env, CLIPSCOPE_CACHE_DIR: path.join(ROOT, 'node_modules/.cache/clipscope-test'), ...opts.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
