/** One image's stored encoding: every token's latents, its features, its reconstruction error. */
import path from 'node:path';
import { UserFacingError } from '../errors.js';
import { deriveEntries } from '../store/entries.js';
import type { ReadonlyLibrary } from '../store/library.js';
import { resultRow } from '../store/result-rows.js';
import { codesOfView, viewLatents } from '../store/latents-blob.js';
import { unpackFloat16, unpackSse } from '../store/packing.js';
import { describeConfig, type ConfigRow, type ImageRow } from '../store/rows.js';
import { tokenRow } from '../sae/sparse-codes.js';
import { halfValue, readingLatents } from './runs.js';

export interface ImageLatents {
  image: ImageRow;
  config: ConfigRow;
  /** Every token (CLS first), each row largest value first, as `clipscope encode --json` prints them. */
  tokens: { idx: number[][]; val: number[][] };
  embedding: Float32Array;
  /** Active (> 0) latents of the CLS token, strongest first. */
  cls: { feature: number; act: number }[];
  /** Every feature active on some token: its max over tokens and where, strongest first. */
  pooled: { feature: number; act: number; token: number }[];
  /** Per token: SSE = sum_d (x - x^)^2 (float16 precision). */
  tokenSse: number[];
  /** Per token: SSE / width, the card's "position MSE" for this image. */
  tokenMse: number[];
  mse: number;
  ev: number;
  l0: number;
}

/** An image by path (as given, resolved) or id. */
export function findImage(lib: ReadonlyLibrary, ref: string | number): ImageRow {
  const image = typeof ref === 'number' ? lib.imageById(ref) : lib.imageByPath(ref);
  if (!image) throw new UserFacingError(`${typeof ref === 'number' ? `image #${ref}` : path.resolve(ref)} is not in the library ${lib.file}`);
  return image;
}

export function imageLatents(lib: ReadonlyLibrary, config: ConfigRow, ref: string | number): ImageLatents {
  return lib.read(() => {
    const image = findImage(lib, ref);
    const row = resultRow(lib, config.id, image.id);
    if (!row) throw new UserFacingError(`${image.path} has no results for configuration ${describeConfig(config)}`).withCode('not-indexed');
    const view = readingLatents(lib, image.id, () => viewLatents(row.codes));
    const codes = codesOfView(view);
    const rows = Array.from({ length: codes.offsets.length - 1 }, (_, t) => tokenRow(codes, t));
    const entries = deriveEntries(view);
    const byAct = <T extends { act: number }>(a: T, b: T): number => b.act - a.act;
    const sse = Array.from(unpackSse(row.sse));
    return {
      image, config,
      tokens: { idx: rows.map((r) => r.idx), val: rows.map((r) => r.val) },
      embedding: unpackFloat16(row.embedding),
      cls: Array.from(entries.cls.feature, (feature, i) => ({ feature, act: halfValue(entries.cls.act[i]!) })).sort(byAct),
      pooled: Array.from(entries.pooled.feature, (feature, i) => ({
        feature, act: halfValue(entries.pooled.act[i]!), token: entries.pooled.token[i]!,
      })).sort(byAct),
      tokenSse: sse,
      tokenMse: sse.map((s) => s / config.width),
      mse: row.mse, ev: row.ev, l0: row.l0,
    };
  });
}
