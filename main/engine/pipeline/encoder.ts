import ort from 'onnxruntime-node';
import { ModelFileError, UserFacingError } from '../errors.js';
import { readFloat32 } from '../formats/tensor-read.js';
import { tokenCount } from '../clip/config.js';
import { loadClipModel, type ClipModel } from '../clip/model-dir.js';
import { buildVisionGraph, EMBEDDING, PIXELS, residName } from '../clip/vision-graph.js';
import { loadSae } from '../sae/load-sae.js';
import type { SaeModel } from '../sae/sae-model.js';
import { buildSaeEncoderGraph, SAE_INDICES, SAE_INPUT, SAE_LATENT, SAE_SSE, SAE_SST, SAE_VALUES } from '../sae/sae-graph.js';
import { codesFromDense, codesFromTopK, sliceCodes, type SparseCodes } from '../sae/sparse-codes.js';
import { reconstruct } from '../sae/reconstruct.js';
import { metricsFromErrors, tokenErrors, type ReconstructionMetrics } from '../sae/metrics.js';
import { openSession, type OpenedSession } from '../runtime/session.js';
import type { ProviderChoice, ProviderName } from '../runtime/providers.js';
import { cacheDir } from '../runtime/paths.js';

/** Per-dimension statistics for standardised SAE inputs: (x - mean) / (std + 1e-6), as in training. */
export interface Standardization {
  readonly mean: Float32Array;
  readonly std: Float32Array;
}

export interface EncoderOptions {
  readonly modelDir: string;
  /** CLIP-Scope .pt or SAELens folder; without it only activations and embeddings are produced. */
  readonly sae?: string;
  /** The SAE's layer; defaults to the layer the SAE records. Required when there is no SAE. */
  readonly layer?: number;
  readonly provider?: ProviderChoice;
  /** Default: raw activations, the clipscope package's behaviour. */
  readonly standardization?: Standardization | null;
  readonly cacheDir?: string;
  readonly threads?: number;
}

export interface EncodedImage {
  readonly embedding: Float32Array;
  /** The layer's residual stream [tokens, width] (CLS first). */
  readonly activations: Float32Array;
  readonly codes: SparseCodes | null;
  readonly metrics: ReconstructionMetrics | null;
}

export interface EncoderInfo {
  readonly provider: ProviderName;
  readonly skippedProviders: readonly { provider: ProviderName; reason: string }[];
  readonly layer: number;
  readonly tokens: number;
  readonly width: number;
  readonly sae: Pick<SaeModel, 'file' | 'format' | 'architecture' | 'dIn' | 'nFeatures' | 'k'> | null;
}

/** The SAE's output for a batch of tokens: latents, and each token's errors for the metrics. */
export interface SaeResult {
  readonly codes: SparseCodes;
  /** Per token: SSE = sum_d (x - x^)^2 and SST = sum_d (x - mean_d x)^2, x as the SAE saw it. */
  readonly sse: Float32Array | Float64Array;
  readonly sst: Float32Array | Float64Array;
}

interface SaeRuntime {
  readonly model: SaeModel;
  readonly session: OpenedSession;
  /** Dense architectures only: their latents are decoded here, sparsely. TopK graphs decode themselves. */
  readonly decoder: { readonly dec: Float32Array; readonly bias: Float32Array } | null;
}

const STD_EPS = 1e-6;

/** Image pixels in, activations + embedding + SAE latents + metrics out, on one provider. */
export class Encoder {
  private constructor(
    readonly model: ClipModel,
    readonly info: EncoderInfo,
    private readonly vision: OpenedSession,
    private readonly sae: SaeRuntime | null,
    private readonly standardization: Standardization | null,
  ) {}

  static async open(opts: EncoderOptions): Promise<Encoder> {
    const model = await loadClipModel(opts.modelDir);
    const cfg = model.config;
    const sae = opts.sae === undefined ? null : await loadSae(opts.sae);
    const layer = opts.layer ?? sae?.layer ?? null;
    if (layer === null) {
      throw new UserFacingError(sae ? `${sae.file}: the SAE does not record its layer` : 'a layer is required when no SAE is given').withCode('layer-required');
    }
    if (!Number.isInteger(layer) || layer < 0 || layer >= cfg.num_hidden_layers) {
      throw new UserFacingError(`layer ${layer} is out of range: ${opts.modelDir} has layers 0..${cfg.num_hidden_layers - 1}`);
    }
    if (sae && sae.dIn !== cfg.hidden_size) {
      throw new ModelFileError(sae.file, `the SAE's input width ${sae.dIn} does not fit the model's width ${cfg.hidden_size}`);
    }
    const std = opts.standardization ?? null;
    if (std && (std.mean.length !== cfg.hidden_size || std.std.length !== cfg.hidden_size)) {
      throw new UserFacingError(`standardisation statistics have width ${std.mean.length}, the model's width is ${cfg.hidden_size}`);
    }
    const sessionOpts = { provider: opts.provider ?? 'auto', cacheDir: opts.cacheDir ?? cacheDir(), ...(opts.threads ? { threads: opts.threads } : {}) } as const;
    const vision = await openSession(await buildVisionGraph(cfg, model.weights, { layers: [layer], embedding: true }), sessionOpts);
    let saeRt: Encoder['sae'] = null;
    if (sae) {
      // The SAE runs where the ViT runs: forced onto the provider the ViT got.
      const session = await openSession(await buildSaeEncoderGraph(sae), { ...sessionOpts, provider: vision.provider });
      const decoder = sae.architecture === 'topk' ? null : { dec: await readFloat32(sae.decoder), bias: await readFloat32(sae.decoderBias) };
      saeRt = { model: sae, session, decoder };
    }
    const info: EncoderInfo = {
      provider: vision.provider,
      skippedProviders: vision.skipped,
      layer,
      tokens: tokenCount(cfg),
      width: cfg.hidden_size,
      sae: sae && { file: sae.file, format: sae.format, architecture: sae.architecture, dIn: sae.dIn, nFeatures: sae.nFeatures, k: sae.k },
    };
    return new Encoder(model, info, vision, saeRt, std);
  }

  /** Runs the ViT alone: `resid.<layer>` [n, tokens, width] and embeddings [n, dim]. */
  async runVision(pixels: Float32Array, n: number): Promise<{ resid: Float32Array; embedding: Float32Array }> {
    const s = this.model.config.image_size;
    const feeds = { [PIXELS]: new ort.Tensor('float32', pixels, [n, this.model.config.num_channels, s, s]) };
    const out = await this.vision.session.run(feeds);
    return { resid: out[residName(this.info.layer)]!.data as Float32Array, embedding: out[EMBEDDING]!.data as Float32Array };
  }

  /** Runs the SAE on [tokens, width] rows (already standardised if requested). */
  async runSae(x: Float32Array): Promise<SaeResult> {
    const sae = this.sae;
    if (!sae) throw new Error('internal: no SAE loaded');
    const { dIn, k, nFeatures } = sae.model;
    const feeds = { [SAE_INPUT]: new ort.Tensor('float32', x, [x.length / dIn, dIn]) };
    if (!sae.decoder) {
      // The reconstruction stays inside onnxruntime: only what the codes and metrics need comes back.
      const out = await sae.session.session.run(feeds, [SAE_VALUES, SAE_INDICES, SAE_SSE, SAE_SST]);
      const codes = codesFromTopK(out[SAE_VALUES]!.data as Float32Array, out[SAE_INDICES]!.data as BigInt64Array, k!);
      return { codes, sse: out[SAE_SSE]!.data as Float32Array, sst: out[SAE_SST]!.data as Float32Array };
    }
    const out = await sae.session.session.run(feeds);
    const codes = codesFromDense(out[SAE_LATENT]!.data as Float32Array, nFeatures);
    return { codes, ...tokenErrors(x, reconstruct(codes, sae.decoder.dec, sae.decoder.bias), dIn) };
  }

  standardize(x: Float32Array): Float32Array {
    const st = this.standardization;
    if (!st) return x;
    const d = st.mean.length;
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = (x[i]! - st.mean[i % d]!) / (st.std[i % d]! + STD_EPS);
    return out;
  }

  async encodeBatch(pixels: Float32Array, n: number): Promise<EncodedImage[]> {
    const { resid, embedding } = await this.runVision(pixels, n);
    const { tokens: T, width: D } = this.info;
    const embDim = embedding.length / n;
    const x = this.standardize(resid);
    const sae = this.sae ? await this.runSae(x) : null;
    const results: EncodedImage[] = [];
    for (let i = 0; i < n; i++) {
      let imgCodes: SparseCodes | null = null;
      let metrics: ReconstructionMetrics | null = null;
      if (sae) {
        const [a, b] = [i * T, (i + 1) * T];
        imgCodes = sliceCodes(sae.codes, a, b);
        metrics = metricsFromErrors({ sse: sae.sse.subarray(a, b), sst: sae.sst.subarray(a, b) }, imgCodes, D);
      }
      results.push({
        embedding: embedding.slice(i * embDim, (i + 1) * embDim),
        activations: resid.slice(i * T * D, (i + 1) * T * D),
        codes: imgCodes,
        metrics,
      });
    }
    return results;
  }

  async release(): Promise<void> {
    await this.vision.session.release();
    await this.sae?.session.session.release();
  }
}
