/**
 * A small real engine (its answers are computed from its inputs) and an in-memory stand-in for
 * Electron's IPC, which structured-clones payloads both ways as Electron does.
 */
import type { ApiInput, EngineApi, ModelInspection } from '../../common/contract/index.js';
import { ModelFileError, UserFacingError } from '../../main/engine/errors.js';
import type { IpcHandleRegistry } from '../../main/transports/ipc.js';

export class MemoryIpc implements IpcHandleRegistry {
  readonly handlers = new Map<string, (event: unknown, payload: unknown) => unknown>();

  handle(channel: string, fn: (event: unknown, payload: unknown) => unknown): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, fn);
  }

  /** What `ipcRenderer.invoke` does, minus the process boundary. */
  async invoke(channel: string, payload: unknown, event: unknown = { sender: 'test' }): Promise<unknown> {
    const fn = this.handlers.get(channel);
    if (!fn) throw new Error(`No handler registered for '${channel}'`);
    return structuredClone(await fn(event, structuredClone(payload)));
  }
}

/**
 * models.inspect: a path containing `sae` is an SAE whose feature count and k are read from the
 * name (`sae-f4096-k32`); any other path is a ViT whose patch size is the name's last number
 * (`ViT-B-16`). Paths containing `missing` throw a ModelFileError, `crash` a plain Error,
 * `garbage` return a result the contract rejects.
 */
export function createTestEngine(): EngineApi {
  return {
    async 'engine.info'() {
      return {
        version: '9.8.7',
        platform: `${process.platform}-${process.arch}`,
        providers: [
          { name: 'cpu', available: true },
          { name: 'cuda', available: false, reason: 'CUDA libraries are not installed' },
        ],
      };
    },

    async 'models.inspect'({ path }: ApiInput<'models.inspect'>): Promise<ModelInspection> {
      if (path.includes('missing')) throw new ModelFileError(path, 'no such file or directory');
      if (path.includes('crash')) throw new TypeError(`cannot read properties of undefined (${path})`);
      if (path.includes('garbage')) return { kind: 'vision', path } as unknown as ModelInspection;
      if (path.includes('sae')) {
        const features = Number(/f(\d+)/.exec(path)?.[1] ?? 1024);
        const k = /k(\d+)/.exec(path)?.[1];
        return {
          kind: 'sae',
          path,
          format: 'clipscope',
          architecture: k ? 'topk' : 'standard',
          dIn: 768,
          nFeatures: features,
          k: k ? Number(k) : null,
          layer: null,
        };
      }
      const patchSize = Number(/(\d+)$/.exec(path)?.[1] ?? 32);
      const imageSize = 224;
      return {
        kind: 'vision',
        path,
        architecture: 'CLIPVisionModel',
        width: 768,
        layers: 12,
        heads: 12,
        patchSize,
        imageSize,
        tokens: 1 + (imageSize / patchSize) ** 2,
        projectionDim: null,
        hiddenAct: 'quick_gelu',
        weightsFile: 'model.safetensors',
        dtype: 'float32',
      };
    },

    async 'encode.image'({ file, model, sae, layer, provider }: ApiInput<'encode.image'>) {
      if (file.endsWith('.txt')) throw new UserFacingError(`${file}: not an image`);
      // Feature ids and values derived from the request, so a test notices a mixed-up field.
      const mse = 1 / (file.length + 1);
      return {
        file,
        layer: layer ?? 11,
        provider: provider ?? 'cpu',
        tokens: 197,
        clsTop: [
          { feature: model.length, value: 2 },
          { feature: sae.length, value: 1 },
        ],
        mse,
        ev: 1 - mse,
        debugTensor: [1, 2, 3], // not in the contract: must be stripped
      };
    },
  };
}
