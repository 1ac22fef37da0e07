/** Reading the feature index: entries of one feature in activation order, and their images. */
import type { EntryKind } from '../store/entries.js';
import type { EntryRun } from '../store/feature-index.js';
import { halfTable } from '../store/feature-stats.js';
import { float32ToFloat16Bits } from '../formats/float16.js';
import type { ReadonlyLibrary } from '../store/library.js';
import { entryRuns, imagePaths, latentsBlobOf } from '../store/result-rows.js';
import { UserFacingError } from '../errors.js';
import { CorruptBlobError } from '../store/latents-blob.js';

/**
 * Walks several runs, each sorted by (act desc, image asc), in that global order. Few runs (one
 * per 4096 images, plus the recent rows): picking the best head by a linear scan is enough.
 */
export class RunMerger {
  private readonly pos: number[];
  constructor(private readonly runs: readonly EntryRun[]) {
    this.pos = runs.map(() => 0);
  }

  /** The next entry (act as float16 bits), or null when every run is exhausted. */
  next(): { image: number; actBits: number; token: number } | null {
    let best = -1;
    for (let r = 0; r < this.runs.length; r++) {
      const run = this.runs[r]!;
      const i = this.pos[r]!;
      if (i >= run.n) continue;
      if (best < 0) {
        best = r;
        continue;
      }
      const b = this.runs[best]!;
      const j = this.pos[best]!;
      if (run.act[i]! > b.act[j]! || (run.act[i] === b.act[j] && run.base + run.offset[i]! < b.base + b.offset[j]!)) best = r;
    }
    if (best < 0) return null;
    const run = this.runs[best]!;
    const i = this.pos[best]!++;
    return { image: run.base + run.offset[i]!, actBits: run.act[i]!, token: run.token[i]! };
  }
}

export function totalEntries(runs: readonly EntryRun[]): number {
  return runs.reduce((s, r) => s + r.total, 0);
}

/** A feature's entries: all of them, or (with `first`) enough for its `first` strongest. */
export function featureRuns(lib: ReadonlyLibrary, configId: number, kind: EntryKind, feature: number, first?: number): EntryRun[] {
  return entryRuns(lib, configId, kind, feature, first);
}

export function halfValue(bits: number): number {
  return halfTable()[bits]!;
}

/** The smallest float16 bit pattern of a value >= min (1, the smallest positive half, for min <= 0). */
export function minActBits(min: number | undefined): number {
  if (min === undefined || !(min > 0)) return 1;
  const h = float32ToFloat16Bits(min);
  if (h >= 0x7c00) return 0x7c00;
  return halfValue(h) < min ? h + 1 : h;
}

/** Paths of image ids (one statement per id: pages are small). */
export function pathsOf(lib: ReadonlyLibrary, ids: readonly number[]): Map<number, string> {
  return imagePaths(lib, ids);
}

/** The stored latents blob of one image for one config. */
export function latentsBlob(lib: ReadonlyLibrary, configId: number, imageId: number): Buffer | undefined {
  return latentsBlobOf(lib, configId, imageId);
}

/**
 * Runs `read` on an image's stored latents; a damaged blob (a damaged file, a bad disk) becomes an
 * error that names the library and the photo, and what to do, rather than a decoder's message.
 */
export function readingLatents<T>(lib: ReadonlyLibrary, imageId: number, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (!(e instanceof CorruptBlobError)) throw e;
    const image = lib.imageById(imageId);
    const what = image ? image.path : `image #${imageId}`;
    throw new UserFacingError(`${lib.file}: the stored latents of ${what} are damaged (${e.message}); index the photo again to replace them`).withCode('damaged');
  }
}

export function checkFeature(feature: number, nFeatures: number): void {
  if (!Number.isInteger(feature) || feature < 0 || feature >= nFeatures) {
    throw new UserFacingError(`feature ${feature} is out of range: this SAE has features 0..${nFeatures - 1}`);
  }
}
