/**
 * The installer configuration (package.json's `build`, for electron-builder) cannot be run here (it downloads
 * Electron), so its promises are checked: what the app loads at run time is in the package,
 * native binaries sit outside the asar archive, the demo ships as a resource where the app looks.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/references.js';

interface BuilderConfig {
  files: string[];
  asarUnpack: string[];
  extraResources: { from: string; to: string }[];
  npmRebuild: boolean;
}

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { main: string; dependencies: Record<string, string>; build: BuilderConfig };
const config = pkg.build;

describe('the installer configuration', () => {
  it("packages the built app, whose entry is package.json's main", () => {
    expect(config.files).toContain('out/**');
    expect(pkg.main.startsWith('out/')).toBe(true);
  });

  it('unpacks every native dependency from the archive and rebuilds them for Electron', () => {
    for (const native of ['onnxruntime-node', 'sharp', 'better-sqlite3']) {
      expect(Object.keys(pkg.dependencies)).toContain(native);
      expect(config.asarUnpack).toContain(`node_modules/${native}/**`);
    }
    expect(config.npmRebuild).toBe(true);
  });

  it('ships the demo where the packaged app looks for it', () => {
    expect(config.extraResources).toContainEqual({ from: 'resources/demo', to: 'demo' });
    const process = readFileSync(path.join(ROOT, 'main/electron/engine-process.ts'), 'utf8');
    expect(process).toMatch(/CLIPSCOPE_DEMO_DIR: path\.join\(process\.resourcesPath, 'demo'\)/);
  });
});
