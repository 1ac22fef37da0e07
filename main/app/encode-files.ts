/**
 * Encoding image files outside any library, for the CLI's `encode` and `activations`: every
 * token's SAE latents, the embedding and the reconstruction metrics of each file, or one file's
 * residual stream written as .npy. The engine's `encode.image` (engine/service.ts) answers one
 * photo's CLS summary for the app; this keeps whole token rows.
 */
import { UserFacingError } from '../engine/errors.js';
import { writeNpy } from '../engine/formats/npy.js';
import { EncodePipeline } from '../engine/pipeline/encode-pipeline.js';
import type { EncoderInfo } from '../engine/pipeline/encoder.js';
import { readStandardization } from '../engine/pipeline/standardization.js';
import { parseProvider } from '../engine/runtime/providers.js';
import { tokenCountOf, tokenRow } from '../engine/sae/sparse-codes.js';

export interface FileEncoderOptions {
  modelDir: string;
  sae: string;
  /** Default: the layer the SAE records. */
  layer?: number;
  /** An execution provider's name: auto, cpu, cuda, ... */
  provider: string;
  /** Images per inference call. */
  batchSize?: number;
  /** A .npy of float32 [2, width] (means, stds) to standardise the SAE's inputs with; default raw activations. */
  statsFile?: string;
}

export type EncodedFile =
  | {
    ok: true;
    file: string;
    embedding: Float32Array;
    /** Every token's latents (CLS first), largest first per token. */
    tokens: { idx: number[]; val: number[] }[];
    mse: number;
    ev: number;
    l0: number;
  }
  | { ok: false; file: string; error: string };

export interface FileEncoder {
  readonly info: EncoderInfo;
  /** The files' results in input order; a file that cannot be read is one `ok: false` result. */
  encode(files: readonly string[]): AsyncGenerator<EncodedFile>;
  close(): Promise<void>;
}

/** Loads the model and SAE (in worker threads) for a run over files. */
export async function openFileEncoder(opts: FileEncoderOptions): Promise<FileEncoder> {
  const pipeline = await EncodePipeline.open({
    modelDir: opts.modelDir,
    sae: opts.sae,
    ...(opts.layer === undefined ? {} : { layer: opts.layer }),
    provider: parseProvider(opts.provider),
    ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
    ...(opts.statsFile ? { standardization: await readStandardization(opts.statsFile) } : {}),
  });
  return {
    info: pipeline.info,
    async *encode(files) {
      for await (const r of pipeline.encodeFiles(files)) {
        if (!r.ok) {
          yield r;
          continue;
        }
        // Opened with an SAE: every image has its codes and metrics.
        const codes = r.image.codes!;
        const metrics = r.image.metrics!;
        yield {
          ok: true,
          file: r.file,
          embedding: r.image.embedding,
          tokens: Array.from({ length: tokenCountOf(codes) }, (_, t) => tokenRow(codes, t)),
          mse: metrics.mse,
          ev: metrics.ev,
          l0: metrics.l0,
        };
      }
    },
    close: () => pipeline.close(),
  };
}

/** Writes one image's residual stream at `layer` to `out` as float32 [tokens, width]; what was written. */
export async function writeActivations(image: string, opts: { modelDir: string; layer: number; out: string; provider: string }): Promise<EncoderInfo> {
  const pipeline = await EncodePipeline.open({ modelDir: opts.modelDir, layer: opts.layer, provider: parseProvider(opts.provider) });
  try {
    for await (const r of pipeline.encodeFiles([image])) {
      if (!r.ok) throw new UserFacingError(r.error);
      await writeNpy(opts.out, r.image.activations, [pipeline.info.tokens, pipeline.info.width]);
    }
    return pipeline.info;
  } finally {
    await pipeline.close();
  }
}
