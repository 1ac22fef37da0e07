import path from 'node:path';
import type { EngineImpl } from '../../common/contract/index.js';
import { inspectModel } from './inspect.js';
import { EncodePipeline } from './pipeline/encode-pipeline.js';
import { parseProvider, probeProviders } from './runtime/providers.js';
import { UserFacingError } from './errors.js';
import { VERSION } from './version.js';
import { tokenRow } from './sae/sparse-codes.js';

/**
 * The engine behind the API contract, shared by every transport (Electron IPC, local HTTP).
 * Inference happens in the pipeline's workers; this object only routes and shapes results.
 */
/** The methods that need no library: engine facts, model inspection, one-off encoding. */
export type EngineService = Pick<EngineImpl, 'engine.info' | 'models.inspect' | 'encode.image'> & { close(): Promise<void> };

export function createEngineService(): EngineService {
  let pipeline: { key: string; p: Promise<EncodePipeline> } | null = null;

  const pipelineFor = async (model: string, sae: string, layer: number | undefined, provider: string | undefined): Promise<EncodePipeline> => {
    const key = JSON.stringify([path.resolve(model), path.resolve(sae), layer ?? null, provider ?? 'auto']);
    if (pipeline?.key !== key) {
      const old = pipeline;
      pipeline = {
        key,
        p: EncodePipeline.open({
          modelDir: model, sae,
          ...(layer === undefined ? {} : { layer }),
          provider: parseProvider(provider ?? 'auto'),
        }),
      };
      pipeline.p.catch(() => { pipeline = null; });
      if (old) void old.p.then((o) => o.close(), () => undefined);
    }
    return pipeline.p;
  };

  return {
    async 'engine.info'() {
      return { version: VERSION, providers: await probeProviders(), platform: `${process.platform}-${process.arch}` };
    },
    async 'models.inspect'({ path: p }) {
      return inspectModel(p);
    },
    async 'encode.image'({ file, model, sae, layer, provider }) {
      const pl = await pipelineFor(model, sae, layer, provider);
      for await (const r of pl.encodeFiles([file])) {
        if (!r.ok) throw new UserFacingError(r.error);
        const cls = tokenRow(r.image.codes!, 0);
        return {
          file,
          layer: pl.info.layer,
          provider: pl.info.provider,
          tokens: pl.info.tokens,
          clsTop: cls.idx.slice(0, 10).map((feature, i) => ({ feature, value: cls.val[i]! })),
          mse: r.image.metrics!.mse,
          ev: r.image.metrics!.ev,
        };
      }
      throw new Error('internal: the pipeline returned no result');
    },
    async close() {
      const p = pipeline;
      pipeline = null;
      if (p) await p.p.then((o) => o.close(), () => undefined);
    },
  };
}
