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
import { codesFromDense, codesFromTopK, sliceCodes, type SparseCodes } from '../sae/sparse-codes.js';
import { reconstruct } from '../sae/reconstruct.js';
import { openSession, type OpenedSession } from '../runtime/session.js';
import type { ProviderChoice, ProviderName } from '../runtime/providers.js';
import { cacheDir } from '../runtime/paths.js';
import { DecoderRows } from './decoder-rows.js';
import { latentChanges, scopeTokens, validateEdits, type EditSet } from './edits.js';
import { laterLayerResult, type LaterLayerResult } from './later-layers.js';
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
  /** SAEs of later layers of the same model: previews may report their features gained and lost. */
  readonly later?: readonly LaterSae[];
}

/** An SAE for a layer after the steered one, applied exactly as encode applies it. */
export interface LaterSae {
  readonly layer: number;
  readonly sae: string;
}

export interface PreviewOptions {
  /** Also report the features gained and lost at each later layer (default false). */
  readonly later?: boolean;
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
  /** The later layers previews can report on, in increasing order. */
  readonly laterLayers: readonly number[];
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
  /** Per later layer (only when asked for): features gained, lost and changed. */
  readonly later?: LaterLayerResult[];
}

interface PhotoState extends PhotoSummary {
  readonly x: Float32Array;
  /** Block L+1's per-photo projections (absent when L is the last layer). */
  readonly a: readonly Float32Array[] | null;
  /** Every token's codes at each later layer without edits, computed on first use. */
  later?: SparseCodes[];
}

interface Sessions {
  readonly prefix: OpenedSession;
  readonly sae: OpenedSession;
  readonly tail: OpenedSession;
  readonly prep: OpenedSession | null;
  readonly steer: OpenedSession;
  /** The steer graph that exposes the later layers' residuals (may be `steer` itself). */
  readonly steerLater: OpenedSession | null;
}

interface LaterEncoder {
  readonly layer: number;
  readonly sae: SaeModel;
  readonly session: OpenedSession;
  readonly dense: { dec: Float32Array; bias: Float32Array } | null;
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
    private readonly later: readonly LaterEncoder[],
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
    const laterSaes = await loadLaterSaes(opts.later ?? [], layer, cfg.num_hidden_layers, cfg.hidden_size, opts.modelDir);
    const expose = laterSaes.map((l) => l.layer);
    // Exposing a later residual costs nothing extra unless a block that runs for CLS alone would
    // then run for every token; only then is the graph without it kept for plain previews.
    const last = cfg.num_hidden_layers - 1;
    const costly = expose.length > 0 && (expose.includes(last) || layer + 1 === last);
    const steer = await openSession(await buildSteerGraph(cfg, model.weights, layer, costly ? [] : expose), on);
    const sessions: Sessions = {
      prefix,
      sae: await openSession(await buildSaeEncoderGraph(sae), on),
      tail: await openSession(await buildVisionGraph(cfg, model.weights, { layers: [], embedding: true, from: layer }), on),
      prep: hasTailBlocks(cfg, layer) ? await openSession(await buildPrepGraph(cfg, model.weights, layer), on) : null,
      steer,
      steerLater: expose.length === 0 ? null : costly ? await openSession(await buildSteerGraph(cfg, model.weights, layer, expose), on) : steer,
    };
    const later: LaterEncoder[] = [];
    for (const l of laterSaes) later.push({ layer: l.layer, sae: l.sae, session: await openSession(await buildSaeEncoderGraph(l.sae), on), dense: await denseParts(l.sae) });
    const info: SteererInfo = {
      provider: prefix.provider, layer, tokens: tokenCount(cfg), width: cfg.hidden_size, nFeatures: sae.nFeatures, k: sae.k,
      embeddingDim: cfg.projection_dim ?? cfg.hidden_size, modelDir: path.resolve(opts.modelDir), saeFile: path.resolve(sae.file), laterLayers: expose,
    };
    return new Steerer(info, model, sae, sessions, new DecoderRows(sae.decoder), await denseParts(sae), opts.photoCacheBytes ?? DEFAULT_CACHE_BYTES, later);
  }

  /** The photo's prefix state, computed on first use and kept while the cache has room. */
  async photo(source: PhotoSource): Promise<PhotoSummary> {
    return this.state(source);
  }

  /**
   * One steered embedding per edit set, run as one batch; validates every edit first. With
   * `later`, each result also reports the features gained and lost at every later layer.
   */
  async preview(source: PhotoSource, sets: readonly EditSet[], opts: PreviewOptions = {}): Promise<SteerResult[]> {
    const { tokens: T, width: D } = this.info;
    validateEdits(sets, this.info.nFeatures, T);
    if (sets.length === 0) return [];
    const st = await this.state(source);
    const { features, coeff } = latentChanges(st.codes, sets, T);
    const dirs = features.length ? this.decoder.gather(features) : new Float32Array(D);
    const withLater = opts.later === true && this.later.length > 0;
    const out = await this.runSteer(st, withLater ? this.sessions.steerLater! : this.sessions.steer, dirs, coeff, sets.length, withLater);
    const emb = out[EMBEDDING]!.data as Float32Array;
    const P = this.info.embeddingDim;
    const results = sets.map((_, b) => {
      const embedding = emb.slice(b * P, (b + 1) * P);
      return { embedding, cosine: cosine(embedding, st.original), l2: l2Distance(embedding, st.original) };
    });
    if (!withLater) return results;
    const base = await this.laterOriginal(source, st);
    // Rows encoded per set: CLS, then the tokens the set edits (the pooled view's tokens).
    const rows = sets.map((set) => [0, ...[...new Set(set.flatMap((e) => scopeTokens(e.tokens, T)))].sort((a, b) => a - b)]);
    const perLayer = await Promise.all(this.later.map(async (enc, i) => {
      const resid = out[residName(enc.layer)]!.data as Float32Array;
      const picked = new Float32Array(rows.reduce((n, r) => n + r.length, 0) * D);
      let at = 0;
      rows.forEach((r, b) => {
        for (const t of r) picked.set(resid.subarray((b * T + t) * D, (b * T + t + 1) * D), (at++) * D);
      });
      const codes = await encodeWith(enc, picked);
      let start = 0;
      return rows.map((r) => {
        const mine = sliceCodes(codes, start, start + r.length);
        start += r.length;
        return laterLayerResult(enc.layer, base[i]!, mine, r);
      });
    }));
    return results.map((r, b) => ({ ...r, later: perLayer.map((l) => l[b]!) }));
  }

  private async runSteer(st: PhotoState, s: OpenedSession, dirs: Float32Array, coeff: Float32Array, B: number, withLater: boolean): Promise<ort.InferenceSession.ReturnType> {
    const { tokens: T, width: D } = this.info;
    const E = dirs.length / D;
    const feeds: Record<string, ort.Tensor> = {
      [STEER_X]: new ort.Tensor('float32', st.x, [1, T, D]),
      [STEER_DIRS]: new ort.Tensor('float32', dirs, [E, D]),
      [STEER_COEFF]: new ort.Tensor('float32', coeff, [B, T, E]),
    };
    if (st.a) PREP_A.forEach((name, i) => (feeds[name] = new ort.Tensor('float32', st.a![i]!, [T, D])));
    // A graph that also exposes later residuals returns only what is fetched.
    return s.session.run(feeds, [EMBEDDING, ...(withLater ? this.later.map((l) => residName(l.layer)) : [])]);
  }

  /**
   * Every token's codes at each later layer without edits: the same steer graph with no change,
   * so an edit that changes nothing reports nothing gained or lost (not float noise between two
   * graphs). Kept with the photo's state.
   */
  private async laterOriginal(source: PhotoSource, st: PhotoState): Promise<SparseCodes[]> {
    if (st.later) return st.later;
    const { tokens: T, width: D } = this.info;
    const out = await this.runSteer(st, this.sessions.steerLater!, new Float32Array(D), new Float32Array(T), 1, true);
    st.later = await Promise.all(this.later.map((enc) => encodeWith(enc, out[residName(enc.layer)]!.data as Float32Array)));
    const key = this.keyOf(source);
    const extra = st.later.reduce((n, c) => n + 2 * c.val.length * 4, 0);
    if (this.photos.get(key) === st) this.photos.set(key, st, this.bytesOf(st) + extra);
    return st.later;
  }

  private keyOf(source: PhotoSource): string {
    return 'file' in source ? fileKey(source.file) : `pixels:${source.key}`;
  }

  private bytesOf(st: PhotoState): number {
    return (st.x.length + (st.a ? 3 * st.x.length : 0) + 2 * st.codes.val.length) * 4 + 2 * st.original.length * 4;
  }

  private async state(source: PhotoSource): Promise<PhotoState> {
    const key = this.keyOf(source);
    const hit = this.photos.get(key);
    if (hit) return hit;
    const pixels = 'file' in source ? await preprocessFile(source.file, this.model.processor) : source.pixels;
    const st = await this.prefix(pixels);
    this.photos.set(key, st, this.bytesOf(st));
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
    const { prefix, sae, tail, prep, steer, steerLater } = this.sessions;
    for (const s of [prefix, sae, tail, prep, steer, steerLater === steer ? null : steerLater, ...this.later.map((l) => l.session)]) await s?.session.release();
  }
}

async function denseParts(sae: SaeModel): Promise<{ dec: Float32Array; bias: Float32Array } | null> {
  return sae.architecture === 'topk' ? null : { dec: await readFloat32(sae.decoder), bias: await readFloat32(sae.decoderBias) };
}

/** The later layers' SAEs, checked against the model and the steered layer; one per layer, in order. */
async function loadLaterSaes(later: readonly LaterSae[], layer: number, layers: number, width: number, modelDir: string): Promise<{ layer: number; sae: SaeModel }[]> {
  const out: { layer: number; sae: SaeModel }[] = [];
  for (const l of [...later].sort((a, b) => a.layer - b.layer)) {
    if (!Number.isInteger(l.layer) || l.layer <= layer || l.layer >= layers) {
      throw new UserFacingError(`later layer ${l.layer} is not after the steered layer ${layer} in ${modelDir} (layers 0..${layers - 1})`);
    }
    if (out.some((o) => o.layer === l.layer)) throw new UserFacingError(`later layer ${l.layer} is given twice`);
    const sae = await loadSae(l.sae);
    if (sae.dIn !== width) throw new ModelFileError(sae.file, `the SAE's input width ${sae.dIn} does not fit the model's width ${width}`);
    out.push({ layer: l.layer, sae });
  }
  return out;
}

/** Codes of `x` [rows, dIn] exactly as encode computes them. */
async function encodeWith(enc: LaterEncoder, x: Float32Array): Promise<SparseCodes> {
  const { dIn, k, nFeatures } = enc.sae;
  const feeds = { [SAE_INPUT]: new ort.Tensor('float32', x, [x.length / dIn, dIn]) };
  if (!enc.dense) {
    const out = await enc.session.session.run(feeds, [SAE_VALUES, SAE_INDICES]);
    return codesFromTopK(out[SAE_VALUES]!.data as Float32Array, out[SAE_INDICES]!.data as BigInt64Array, k!);
  }
  const out = await enc.session.session.run(feeds, [SAE_LATENT]);
  return codesFromDense(out[SAE_LATENT]!.data as Float32Array, nFeatures);
}

/** A file's cache key: its path, size and time, so a photo edited on disk is computed again. */
function fileKey(file: string): string {
  const abs = path.resolve(file);
  const st = statSync(abs, { throwIfNoEntry: false });
  return st ? `file:${abs}:${st.size}:${st.mtimeMs}` : `file:${abs}`;
}
