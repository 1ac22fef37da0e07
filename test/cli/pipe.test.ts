import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/references.js';

describe('clipscope writing into a closed pipe (`clipscope ... | head`)', () => {
  it('stops quietly with status 0, no stack trace', async () => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/clipscope.js'), 'query', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader is gone before the first byte
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
