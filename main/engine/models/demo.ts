import { existsSync, readFileSync, realpathSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelEntry } from './registry.js';

/** The `resources/demo/demo.json` marker: what the demo holds and the pinned size/sha256 of each file. */
export interface DemoManifest {
  readonly demo: true;
  readonly note: string;
  readonly model: {
    readonly name: string; readonly path: string; readonly architecture: string; readonly layers: number; readonly width: number;
    readonly heads: number; readonly tokens: number; readonly projection_dim: number | null; readonly dtype: string;
  };
  readonly sae: { readonly name: string; readonly path: string; readonly layer: number; readonly features: number; readonly k: number };
  readonly photos: string;
  readonly files: Readonly<Record<string, { readonly size: number; readonly sha256: string }>>;
}

export const DEMO_MARKER = 'demo.json';

let override: string | null = null;

/** For a packaged app whose resources live elsewhere (Electron's process.resourcesPath). */
export function setDemoDir(dir: string | null): void {
  override = dir;
}

/**
 * The shipped demo folder: CLIPSCOPE_DEMO_DIR, else `resources/demo` found above this module
 * (the same from main/engine/models/ in the sources and dist/main/engine/models/ once built).
 */
export function demoDir(): string | null {
  const env = override ?? process.env['CLIPSCOPE_DEMO_DIR'];
  if (env) return existsSync(path.join(env, DEMO_MARKER)) ? path.resolve(env) : null;
  let d = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const c = path.join(d, 'resources', 'demo');
    if (existsSync(path.join(c, DEMO_MARKER))) return c;
    const up = path.dirname(d);
    if (up === d) break;
    d = up;
  }
  return null;
}

export async function readDemoManifest(dir: string): Promise<DemoManifest | null> {
  try {
    const m = JSON.parse(await fs.readFile(path.join(dir, DEMO_MARKER), 'utf8')) as DemoManifest;
    return m.demo === true ? m : null;
  } catch {
    return null;
  }
}

function real(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/**
 * Whether a model path is a demo model: it lies in a folder (or below one, up to three levels)
 * whose demo.json says `"demo": true`. `models inspect` and the registry show it.
 */
export function isDemoPath(p: string): boolean {
  let d = real(p);
  for (let i = 0; i < 4; i++) {
    const marker = path.join(d, DEMO_MARKER);
    if (existsSync(marker)) {
      try {
        return (JSON.parse(readFileSync(marker, 'utf8')) as { demo?: unknown }).demo === true;
      } catch {
        return false;
      }
    }
    const up = path.dirname(d);
    if (up === d) break;
    d = up;
  }
  return false;
}

/** The demo as two built-in registry entries: `demo` (vision) and `demo-sae`. */
export async function demoEntries(builtInUsers: Readonly<Record<string, readonly string[]>> = {}): Promise<ModelEntry[]> {
  const dir = demoDir();
  if (!dir) return [];
  const m = await readDemoManifest(dir);
  if (!m) return [];
  const filesUnder = (rel: string): ModelEntry['files'] =>
    Object.entries(m.files)
      .filter(([f]) => f === rel || f.startsWith(`${rel}/`))
      .map(([f, v]) => ({ path: path.join(dir, ...f.split('/')), size: v.size, sha256: v.sha256 }));
  const visionFiles = filesUnder(m.model.path);
  const saeFiles = filesUnder(m.sae.path);
  const weights = visionFiles.find((f) => /\.(safetensors|bin)$/.test(f.path));
  const common = { source: { type: 'builtin' } as const, managed: false, demo: true, builtIn: true, addedAt: '' };
  return [
    {
      ...common, name: m.model.name, kind: 'vision', path: path.join(dir, m.model.path), files: visionFiles,
      size: visionFiles.reduce((a, f) => a + f.size, 0), sha256: weights?.sha256 ?? null, layer: null, baseModel: null,
      details: { kind: 'vision', architecture: m.model.architecture, width: m.model.width, layers: m.model.layers, tokens: m.model.tokens, projectionDim: m.model.projection_dim, dtype: m.model.dtype },
      usedBy: [...(builtInUsers[m.model.name] ?? [])],
    },
    {
      ...common, name: m.sae.name, kind: 'sae', path: path.join(dir, ...m.sae.path.split('/')), files: saeFiles,
      size: saeFiles.reduce((a, f) => a + f.size, 0), sha256: saeFiles[0]?.sha256 ?? null, layer: m.sae.layer, baseModel: m.model.name,
      details: { kind: 'sae', format: 'clipscope', architecture: 'topk', dIn: m.model.width, nFeatures: m.sae.features, k: m.sae.k },
      usedBy: [...(builtInUsers[m.sae.name] ?? [])],
    },
  ];
}
