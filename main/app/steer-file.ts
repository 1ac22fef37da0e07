/**
 * Steering one photo file with a model and SAE named outright, for the CLI: the app's
 * steer-service.ts steers the open library's photos with its configurations and keeps its
 * engines warm; here one engine serves one call, and a library is only read for neighbours and
 * the SAE of a later layer.
 */
import path from 'node:path';
import { ImageError, UserFacingError } from '../engine/errors.js';
import { indexedConfigs } from '../engine/queries/config.js';
import { SimilarImagesIndex, type SimilarImage } from '../engine/queries/similar.js';
import { parseProvider } from '../engine/runtime/providers.js';
import type { Edit } from '../engine/steering/edits.js';
import { Steering, type LaterLayerResult, type LaterSae, type SteererInfo } from '../engine/steering/steering.js';
import { withReadonlyLibrary } from './library-files.js';

export interface SteerFileRequest {
  file: string;
  modelDir: string;
  sae: string;
  /** Default: the layer the SAE records. */
  layer?: number;
  /** An execution provider's name: auto, cpu, cuda, ... */
  provider: string;
  /** Applied in order, as one edit set. */
  edits: readonly Edit[];
  /** A library whose nearest photos to list before and after the edit. */
  db?: string;
  /** How many nearest photos (with `db`). */
  neighbours: number;
  /** Also the features gained and lost at this later layer, read with this SAE (default: `db`'s configuration of the model at that layer). */
  later?: { layer: number; sae?: string };
}

export interface SteerNeighbours { before: SimilarImage[]; after: SimilarImage[] }

export type SteerFileOutcome =
  | {
    ok: true;
    info: SteererInfo;
    embedding: Float32Array;
    /** Cosine and L2 distance of the edited embedding to the original one. */
    cosine: number;
    l2: number;
    original: Float32Array;
    reconstructionCosine: number;
    /** With `later`: the SAE read and what changed at that layer. */
    later: { sae: string; result: LaterLayerResult } | null;
    neighbours: SteerNeighbours | null;
  }
  /** The photo could not be read or decoded: `error` names it and why. */
  | { ok: false; error: string };

/**
 * The later layer's SAE: the one given, or the library's configuration of this model folder at
 * that layer. Asked before the model opens, so a missing one fails fast.
 */
async function laterSae(req: SteerFileRequest): Promise<LaterSae | null> {
  if (!req.later) return null;
  const { layer, sae } = req.later;
  if (sae !== undefined) return { layer, sae };
  if (req.db === undefined) throw new UserFacingError(`steering with later layer ${layer} needs its SAE or a library indexed at that layer`);
  const model = path.resolve(req.modelDir);
  const config = await withReadonlyLibrary(path.resolve(req.db), (lib) =>
    indexedConfigs(lib).filter((c) => c.layer === layer && c.normalization === 'raw' && path.resolve(c.modelDir) === model).sort((a, b) => a.id - b.id)[0]);
  if (!config) throw new UserFacingError(`${req.db} holds nothing indexed at layer ${layer} with ${req.modelDir}: give --later-sae PATH`);
  return { layer, sae: config.saePath };
}

/**
 * The photo's nearest library images before and after the edit. Any configuration of the same
 * model holds the same embeddings; the one of this model folder (and layer) is preferred.
 */
async function neighbours(db: string, info: SteererInfo, image: string, vectors: [Float32Array, Float32Array], limit: number): Promise<SteerNeighbours> {
  const { configId, exclude } = await withReadonlyLibrary(path.resolve(db), (lib) => {
    const fits = indexedConfigs(lib).filter((c) => c.embeddingDim === info.embeddingDim);
    const rank = (c: (typeof fits)[number]): number => (path.resolve(c.modelDir) === info.modelDir ? 2 : 0) + (c.layer === info.layer ? 1 : 0);
    const best = fits.sort((a, b) => rank(b) - rank(a) || a.id - b.id)[0];
    if (!best) throw new UserFacingError(`${lib.file} holds no indexed images with ${info.embeddingDim}-dim embeddings (index them with this model first)`);
    const self = lib.imageByPath(image);
    return { configId: best.id, exclude: self ? [self.id] : [] };
  });
  const index = SimilarImagesIndex.open();
  try {
    const [before, after] = await index.nearest({ db, configId, vectors, limit, exclude });
    return { before: before!, after: after! };
  } finally {
    await index.close();
  }
}

/** Runs the photo through the model with the edits at the SAE's layer, and compares. */
export async function steerFile(req: SteerFileRequest): Promise<SteerFileOutcome> {
  const later = await laterSae(req);
  const steering = await Steering.open({
    modelDir: req.modelDir, sae: req.sae, provider: parseProvider(req.provider),
    ...(req.layer === undefined ? {} : { layer: req.layer }), ...(later ? { later: [later] } : {}),
  });
  try {
    const source = { file: req.file };
    let result;
    let photo;
    try {
      [result] = await steering.preview(source, [req.edits], { later: later !== null });
      photo = await steering.photo(source);
    } catch (e) {
      if (e instanceof ImageError) return { ok: false, error: e.message };
      throw e;
    }
    const n = req.db !== undefined ? await neighbours(req.db, steering.info, req.file, [photo.original, result!.embedding], req.neighbours) : null;
    return {
      ok: true,
      info: steering.info,
      embedding: result!.embedding,
      cosine: result!.cosine,
      l2: result!.l2,
      original: photo.original,
      reconstructionCosine: photo.reconstructionCosine,
      later: later ? { sae: later.sae, result: result!.later![0]! } : null,
      neighbours: n,
    };
  } finally {
    await steering.close();
  }
}
