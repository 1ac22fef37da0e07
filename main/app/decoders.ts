/**
 * SAE decoders for `feature.similar`, kept between calls: reading a CLIP-Scope decoder (65,536 x
 * 1,024 float32, 256 MiB) from its checkpoint takes seconds, the cosine scan over it well under
 * one. One decoder per process (each query worker keeps its own): the size of one is already a
 * lot to hold twice. A changed file (new size or time) is read again.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { UserFacingError } from '../engine/errors.js';
import { readFloat32 } from '../engine/formats/tensor-read.js';
import { loadSae } from '../engine/sae/load-sae.js';
import type { ConfigRow } from '../engine/store/rows.js';

let cached: { key: string; decoder: Promise<Float32Array> } | null = null;

async function read(file: string, config: ConfigRow): Promise<Float32Array> {
  const sae = await loadSae(file);
  if (sae.nFeatures !== config.nFeatures || sae.dIn !== config.width) {
    throw new UserFacingError(`${sae.file} has ${sae.nFeatures} features of width ${sae.dIn}, configuration #${config.id} has ${config.nFeatures} of width ${config.width}`);
  }
  return readFloat32(sae.decoder);
}

/** The decoder [nFeatures, width] of a config, from its SAE file. */
export async function cachedDecoder(config: ConfigRow): Promise<Float32Array> {
  const file = path.resolve(config.saePath);
  let stat;
  try {
    stat = await fs.stat(file);
  } catch {
    throw new UserFacingError(`${file}: the SAE file of this library's results is missing; similar features need its decoder (import or download the SAE again)`).withCode('not-found');
  }
  const key = `${file}\0${stat.size}\0${stat.mtimeMs}\0${config.nFeatures}x${config.width}`;
  if (cached?.key !== key) {
    const decoder = read(file, config);
    cached = { key, decoder };
    // A failed read is not kept: the next call tries again (the file may be fixed meanwhile).
    decoder.catch(() => {
      if (cached?.decoder === decoder) cached = null;
    });
  }
  return cached.decoder;
}
