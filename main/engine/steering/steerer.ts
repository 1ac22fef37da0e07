/**
 * Steering previews for one model + SAE + layer. The prefix (pixels -> x at layer L, the SAE's
 * latents, the original and the reconstruction embeddings, the tail's per-photo projections) is
 * computed once per photo and kept in a bounded LRU; a preview then runs only the steer graph,
 * and a batch of edit sets (a slider sweep) is one run of it. Runs where inference may block
 * (the steering worker): every call here waits on onnxruntime.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { ModelFileError, UserFacingError } from '../errors.js';
import { tokenCount } from '../clip/config.js';
import { loadClipModel, type ClipModel } from '../clip/model-dir.js';
import { buildVisionGraph, EMBEDDING, PIXELS, residName } from '../clip/vision-graph.js';
import { readFloat32 } from '../formats/tensor-read.js';
import { preprocessFile } from '../imaging/preprocess.js';
import { loadSae } from '../sae/load-sae.js';
import type { SaeModel } from '../sae/sae-model.js';
import { buildSaeEncoderGraph, SAE_INDICES, SAE_INPUT, SAE_LATENT, SAE_RECON, SAE_VALUES } from '../sae/sae-graph.js';
import { codesFromDense, codesFromTopK, type SparseCodes } from '../sae/sparse-codes.js';
import { reconstruct } from '../sae/reconstruct.js';
import { openSession, type OpenedSession } from '../runtime/session.js';
import type { ProviderChoice, ProviderName } from '../runtime/providers.js';
import { cacheDir } from '../runtime/paths.js';
import { DecoderRows } from './decoder-rows.js';
import { latentChanges, validateEdits, type EditSet } from './edits.js';
import { ByteLru } from './photo-cache.js';
import { buildPrepGraph, buildSteerGraph, hasTailBlocks, PREP_A, STEER_COEFF, STEER_DIRS, STEER_X } from './steer-graph.js';
import { cosine, l2Distance } from './vectors.js';

export interface SteererOptions {
  readonly modelDir: string;
  readonly sae: string;
  /** Default: the layer the SAE records, as encode. */
  readonly layer?: number;
  readonly provider?: ProviderChoice;
  readonly cacheDir?: string;
  readonly threads?: number;
  /** Bytes of per-photo state kept (default 256 MB: ~60 photos with ViT-L/14). */
  readonly photoCacheBytes?: number;
}

export interface SteererInfo {
  readonly provider: ProviderName;
  readonly layer: number;
  readonly tokens: number;
  readonly width: number;
  readonly nFeatures: number;
  readonly k: number | null;
  readonly embeddingDim: number;
  readonly modelDir: string;
  readonly saeFile: string;
}

/** A photo as the steerer sees it: a file, or pixels the caller preprocessed, under its own key. */
export type PhotoSource = { readonly file: string } | { readonly key: string; readonly pixels: Float32Array };

export interface PhotoSummary {
  /** The unedited image embedding (not normalised), as encode computes it. */
  readonly original: Float32Array;
  /** The embedding with x replaced by the SAE's reconstruction on every token. */
  readonly reconstruction: Float32Array;
  readonly reconstructionCosine: number;
  /** The SAE's latents of every token (CLS first), largest first per token. */
  readonly codes: SparseCodes;
}

export interface SteerResult {
  readonly embedding: Float32Array;
  readonly cosine: number;
  /** ||steered - original||. */
  readonly l2: number;
}

interface PhotoState extends PhotoSummary {
  readonly x: Float32Array;
  /** Block L+1's per-photo projections (absent when L is the last layer). */
  readonly a: readonly Float32Array[] | null;
}

interface Sessions {
  readonly prefix: OpenedSession;
  readonly sae: OpenedSession;
  readonly tail: OpenedSession;
  readonly prep: OpenedSession | null;
  readonly steer: OpenedSession;
}

const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;

export class Steerer {
  private readonly photos: ByteLru<PhotoState>;

  private constructor(
    readonly info: SteererInfo,
    private readonly model: ClipModel,
    private readonly sae: SaeModel,
    private readonly sessions: Sessions,
    private readonly decoder: DecoderRows,
    /** Dense SAEs only: their reconstruction is decoded here (TopK graphs return it). */
    private readonly denseDecoder: { dec: Float32Array; bias: Float32Array } | null,
    cacheBytes: number,
  ) {
    this.photos = new ByteLru(cacheBytes);
  }

  static async open(opts: SteererOptions): Promise<Steerer> {
    const model = await loadClipModel(opts.modelDir);
    const cfg = model.config;
    const sae = await loadSae(opts.sae);
    const layer = opts.layer ?? sae.layer;
    if (layer === null) throw new UserFacingError(`${sae.file}: the SAE does not record its layer`).withCode('layer-required');
    if (!Number.isInteger(layer) || layer < 0 || layer >= cfg.num_hidden_layers) {
      throw new UserFacingError(`layer ${layer} is out of range: ${opts.modelDir} has layers 0..${cfg.num_hidden_layers - 1}`);
    }
    if (sae.dIn !== cfg.hidden_size) throw new ModelFileError(sae.file, `the SAE's input width ${sae.dIn} does not fit the model's width ${cfg.hidden_size}`);
    const sessionOpts = { provider: opts.provider ?? 'auto', cacheDir: opts.cacheDir ?? cacheDir(), ...(opts.threads ? { threads: opts.threads } : {}) } as const;
    // The prefix is encode's own graph (same cache entry): the original embedding is encode's.
    const prefix = await openSession(await buildVisionGraph(cfg, model.weights, { layers: [layer], embedding: true }), sessionOpts);
    const on = { ...sessionOpts, provider: prefix.provider };
    const sessions: Sessions = {
      prefix,
      sae: await openSession(await buildSaeEncoderGraph(sae), on),
      tail: await openSession(await buildVisionGraph(cfg, model.weights, { layers: [], embedding: true, from: layer }), on),
      prep: hasTailBlocks(cfg, layer) ? await openSession(await buildPrepGraph(cfg, model.weights, layer), on) : null,
      steer: await openSession(await buildSteerGraph(cfg, model.weights, layer), on),
    };
    const dense = sae.architecture === 'topk' ? null : { dec: await readFloat32(sae.decoder), bias: await readFloat32(sae.decoderBias) };
    const info: SteererInfo = {
      provider: prefix.provider, layer, tokens: tokenCount(cfg), width: cfg.hidden_size, nFeatures: sae.nFeatures, k: sae.k,
      embeddingDim: cfg.projection_dim ?? cfg.hidden_size, modelDir: path.resolve(opts.modelDir), saeFile: path.resolve(sae.file),
    };
    return new Steerer(info, model, sae, sessions, new DecoderRows(sae.decoder), dense, opts.photoCacheBytes ?? DEFAULT_CACHE_BYTES);
  }

  /** The photo's prefix state, computed on first use and kept while the cache has room. */
  async photo(source: PhotoSource): Promise<PhotoSummary> {
    return this.state(source);
  }

  /** One steered embedding per edit set, run as one batch; validates every edit first. */
  async preview(source: PhotoSource, sets: readonly EditSet[]): Promise<SteerResult[]> {
    const { tokens: T, width: D } = this.info;
    validateEdits(sets, this.info.nFeatures, T);
    if (sets.length === 0) return [];
    const st = await this.state(source);
    const { features, coeff } = latentChanges(st.codes, sets, T);
    const E = Math.max(1, features.length);
    const dirs = features.length ? this.decoder.gather(features) : new Float32Array(D);
    const feeds: Record<string, ort.Tensor> = {
      [STEER_X]: new ort.Tensor('float32', st.x, [1, T, D]),
      [STEER_DIRS]: new ort.Tensor('float32', dirs, [E, D]),
      [STEER_COEFF]: new ort.Tensor('float32', coeff, [sets.length, T, E]),
    };
    if (st.a) PREP_A.forEach((name, i) => (feeds[name] = new ort.Tensor('float32', st.a![i]!, [T, D])));
    const out = (await this.sessions.steer.session.run(feeds))[EMBEDDING]!.data as Float32Array;
    const P = this.info.embeddingDim;
    return sets.map((_, b) => {
      const embedding = out.slice(b * P, (b + 1) * P);
      return { embedding, cosine: cosine(embedding, st.original), l2: l2Distance(embedding, st.original) };
    });
  }

  private async state(source: PhotoSource): Promise<PhotoState> {
    const key = 'file' in source ? fileKey(source.file) : `pixels:${source.key}`;
    const hit = this.photos.get(key);
    if (hit) return hit;
    const pixels = 'file' in source ? await preprocessFile(source.file, this.model.processor) : source.pixels;
    const st = await this.prefix(pixels);
    const bytes = (st.x.length + (st.a ? 3 * st.x.length : 0) + 2 * st.codes.val.length) * 4 + 2 * st.original.length * 4;
    this.photos.set(key, st, bytes);
    return st;
  }

  private async prefix(pixels: Float32Array): Promise<PhotoState> {
    const cfg = this.model.config;
    const { tokens: T, width: D, layer } = this.info;
    const s = cfg.image_size;
    if (pixels.length !== cfg.num_channels * s * s) throw new Error(`internal: expected ${cfg.num_channels}x${s}x${s} pixels, got ${pixels.length} values`);
    const vision = await this.sessions.prefix.session.run({ [PIXELS]: new ort.Tensor('float32', pixels, [1, cfg.num_channels, s, s]) });
    const x = vision[residName(layer)]!.data as Float32Array;
    const original = Float32Array.from(vision[EMBEDDING]!.data as Float32Array);
    const { codes, recon } = await this.encodeSae(x);
    const tail = await this.sessions.tail.session.run({ [residName(layer)]: new ort.Tensor('float32', recon, [1, T, D]) });
    const reconstruction = Float32Array.from(tail[EMBEDDING]!.data as Float32Array);
    let a: Float32Array[] | null = null;
    if (this.sessions.prep) {
      const out = await this.sessions.prep.session.run({ [STEER_X]: new ort.Tensor('float32', x, [T, D]) });
      a = PREP_A.map((name) => out[name]!.data as Float32Array);
    }
    return { x, a, codes, original, reconstruction, reconstructionCosine: cosine(reconstruction, original) };
  }

  /** z exactly as encode computes it (raw top-k for CLIP-Scope files), and x's reconstruction. */
  private async encodeSae(x: Float32Array): Promise<{ codes: SparseCodes; recon: Float32Array }> {
    const { dIn, k, nFeatures } = this.sae;
    const feeds = { [SAE_INPUT]: new ort.Tensor('float32', x, [x.length / dIn, dIn]) };
    if (!this.denseDecoder) {
      const out = await this.sessions.sae.session.run(feeds, [SAE_VALUES, SAE_INDICES, SAE_RECON]);
      return {
        codes: codesFromTopK(out[SAE_VALUES]!.data as Float32Array, out[SAE_INDICES]!.data as BigInt64Array, k!),
        recon: out[SAE_RECON]!.data as Float32Array,
      };
    }
    const out = await this.sessions.sae.session.run(feeds, [SAE_LATENT]);
    const codes = codesFromDense(out[SAE_LATENT]!.data as Float32Array, nFeatures);
    return { codes, recon: reconstruct(codes, this.denseDecoder.dec, this.denseDecoder.bias) };
  }

  /** Photos whose prefix state is kept, and its bytes. */
  cacheStats(): { photos: number; bytes: number } {
    return { photos: this.photos.size, bytes: this.photos.bytes };
  }

  async release(): Promise<void> {
    this.photos.clear();
    const { prefix, sae, tail, prep, steer } = this.sessions;
    for (const s of [prefix, sae, tail, prep, steer]) await s?.session.release();
  }
}

/** A file's cache key: its path, size and time, so a photo edited on disk is computed again. */
function fileKey(file: string): string {
  const abs = path.resolve(file);
  const st = statSync(abs, { throwIfNoEntry: false });
  return st ? `file:${abs}:${st.size}:${st.mtimeMs}` : `file:${abs}`;
}
