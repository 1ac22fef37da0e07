/**
 * `clipscope --help` lists every command without loading the engine's native modules
 * (onnxruntime, sharp, better-sqlite3: half a second), and the overview says what each command
 * module itself declares.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMAND_INFO } from '../../main/cli/command-info.js';
import { LOADERS } from '../../main/cli/commands.js';
import { ROOT } from '../helpers/references.js';

/** Runs the built CLI in-process with these arguments and reports which native modules got loaded. */
function nativesLoadedBy(args: string[]): { natives: string[]; stdout: string } {
  const script = `
    import { createRequire } from 'node:module';
    process.argv = [process.argv[0], 'clipscope', ...${JSON.stringify(args)}];
    await import(${JSON.stringify(path.join(ROOT, 'dist/main/cli/index.js'))});
    const cache = Object.keys(createRequire(import.meta.url).cache);
    const natives = ['onnxruntime-node', 'sharp', 'better-sqlite3'].filter((n) => cache.some((k) => k.includes('node_modules/' + n + '/')));
    process.stderr.write('NATIVES=' + JSON.stringify(natives) + '\\n');
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  const m = /NATIVES=(.*)/.exec(r.stderr);
  if (!m) throw new Error(`no report: ${r.stderr}`);
  return { natives: JSON.parse(m[1]!) as string[], stdout: r.stdout };
}

describe('clipscope startup', () => {
  it('--help lists every command and loads no native module', () => {
    const r = nativesLoadedBy(['--help']);
    expect(r.natives).toEqual([]);
    for (const [name, info] of Object.entries(COMMAND_INFO)) {
      expect(r.stdout).toContain(name);
      expect(r.stdout.replace(/\s+/g, ' ')).toContain(info.description.slice(0, 40));
    }
  });

  it('a command loads what it needs (the probe sees natives when they are loaded)', () => {
    expect(nativesLoadedBy(['gallery', '--help']).natives).toContain('better-sqlite3');
  });

  it("the overview's names, arguments and descriptions are what each command module registers", async () => {
    for (const [name, info] of Object.entries(COMMAND_INFO)) {
      const program = new Command('clipscope');
      (await LOADERS[name as keyof typeof LOADERS]())(program);
      const cmd = program.commands.find((c) => c.name() === name);
      expect(cmd, name).toBeDefined();
      expect(cmd!.description()).toBe(info.description);
      const args = cmd!.registeredArguments.map((a) => (a.required ? `<${a.name()}${a.variadic ? '...' : ''}>` : `[${a.name()}${a.variadic ? '...' : ''}]`));
      expect(args.join(' '), name).toBe(info.args);
    }
  });
});
