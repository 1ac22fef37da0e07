import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../helpers/references.js';

export interface CliResult { code: number | null; stdout: string; stderr: string }

export interface CliOptions {
  /** Added to this process's environment, or with `inheritEnv: false` the whole environment. */
  env?: NodeJS.ProcessEnv;
  inheritEnv?: boolean;
  cwd?: string;
  /** Run as another user (the tests run as root): permissions then apply as they do to users. */
  uid?: number;
  gid?: number;
}

/** Runs the real `clipscope` bin (the compiled CLI) as a user would. */
export function runCli(args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  const base = opts.inheritEnv === false ? {} : process.env;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/clipscope.js'), ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...base, CLIPSCOPE_CACHE_DIR: path.join(ROOT, 'node_modules/.cache/clipscope-test'), ...opts.env },
      ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
      ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
