import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { GraphBuilder } from '../onnx/graph-builder.js';
import { UserFacingError, errorMessage } from '../errors.js';

export const PROVIDERS = ['cuda', 'dml', 'coreml', 'webgpu', 'cpu'] as const;
export type ProviderName = (typeof PROVIDERS)[number];
export type ProviderChoice = ProviderName | 'auto';

export interface ProviderStatus {
  readonly name: ProviderName;
  readonly available: boolean;
  readonly reason?: string;
}

/** GPU providers worth trying on each platform, best first; cpu always closes the list. */
export function candidateProviders(platform: NodeJS.Platform = process.platform): ProviderName[] {
  switch (platform) {
    case 'win32':
      return ['cuda', 'dml', 'webgpu', 'cpu'];
    case 'darwin':
      return ['coreml', 'webgpu', 'cpu'];
    default:
      return ['cuda', 'webgpu', 'cpu'];
  }
}

export function parseProvider(value: string): ProviderChoice {
  const v = value.toLowerCase();
  if (v === 'auto' || (PROVIDERS as readonly string[]).includes(v)) return v as ProviderChoice;
  throw new UserFacingError(`unknown execution provider "${value}" (choose auto, ${PROVIDERS.join(', ')})`);
}

let tinyModel: Uint8Array | undefined;
function probeModel(): Uint8Array {
  if (!tinyModel) {
    const g = new GraphBuilder('probe');
    const x = g.input('x', 'float32', [1, 4]);
    g.op('MatMul', [x, g.constFloat([1, 0, 0, 1, 1, 0, 0, 1], [4, 2])], {}, 'y');
    g.output('y', 'float32', [1, 2]);
    tinyModel = g.encode();
  }
  return tinyModel;
}

/** onnxruntime's option for a provider; CUDA takes a device id. */
export function providerOption(name: ProviderName): ort.InferenceSession.ExecutionProviderConfig {
  return name === 'cuda' ? { name: 'cuda', deviceId: 0 } : name;
}

/** Folder of onnxruntime-node's native binding for this platform. */
function bindingDir(): string {
  const pkg = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  return path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
}

const LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/lib64', '/usr/local/lib'];

/**
 * Cheap checks that explain, in the user's terms, why a provider cannot start, before asking
 * onnxruntime (whose native loaders print noise on stderr when their libraries are missing).
 */
export function missingPrerequisite(name: ProviderName, platform: NodeJS.Platform = process.platform): string | null {
  if (name === 'cuda' && platform !== 'darwin') {
    const lib = platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
    if (!existsSync(path.join(bindingDir(), lib))) {
      return "onnxruntime-node's CUDA libraries are not installed (its install step downloads them on networked Linux and Windows machines)";
    }
  }
  if (name === 'webgpu' && platform === 'linux') {
    const dirs = [...(process.env['LD_LIBRARY_PATH'] ?? '').split(':').filter(Boolean), ...LIB_DIRS];
    if (!dirs.some((d) => existsSync(path.join(d, 'libvulkan.so.1')))) return 'no Vulkan loader (libvulkan.so.1) found: install your GPU driver and libvulkan1';
  }
  if (name === 'dml' && platform !== 'win32') return 'DirectML exists only on Windows';
  if (name === 'coreml' && platform !== 'darwin') return 'CoreML exists only on macOS';
  return null;
}

/**
 * Whether a provider can start here. onnxruntime throws (rather than falling back) when a
 * provider cannot start, so every provider is tried on a one-node model first.
 */
export async function probeProvider(name: ProviderName): Promise<ProviderStatus> {
  const missing = missingPrerequisite(name);
  if (missing) return { name, available: false, reason: missing };
  try {
    const session = await ort.InferenceSession.create(probeModel(), { executionProviders: [providerOption(name)], logSeverityLevel: 4 });
    const out = await session.run({ x: new ort.Tensor('float32', new Float32Array([1, 2, 3, 4]), [1, 4]) });
    await session.release();
    const y = out['y']?.data as Float32Array | undefined;
    if (!y || y[0] !== 4 || y[1] !== 6) return { name, available: false, reason: 'wrong result on the probe model' };
    return { name, available: true };
  } catch (e) {
    return { name, available: false, reason: firstLine(errorMessage(e)) };
  }
}

function firstLine(s: string): string {
  const line = s.split('\n')[0] ?? s;
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

export async function probeProviders(platform: NodeJS.Platform = process.platform): Promise<ProviderStatus[]> {
  const out: ProviderStatus[] = [];
  for (const name of candidateProviders(platform)) out.push(await probeProvider(name));
  return out;
}
