/**
 * The library's folders and the user's feature labels: what the app's service and the CLI both
 * change and list, over a library handle (the app's open one, or one the CLI opens for a
 * command). The CLI's `folders` and `features` commands only format what these return.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserFacingError, errorMessage } from '../engine/errors.js';
import { checkFolder } from '../engine/library/folders.js';
import { resolveConfig, type ConfigChoice } from '../engine/queries/config.js';
import { similarFeatures, type SimilarFeature } from '../engine/queries/features.js';
import { exportLabels, importLabels, setLabel, type FeatureLabel, type ImportOptions, type LabelsFile } from '../engine/queries/labels.js';
import { readFloat32 } from '../engine/formats/tensor-read.js';
import { loadSae } from '../engine/sae/load-sae.js';
import type { FolderRow, ReadonlyLibrary, WritableLibrary } from '../engine/store/library.js';
import { folderStats } from '../engine/store/overview.js';
import type { ConfigRow } from '../engine/store/rows.js';

// ---- folders

/** Checks every folder first (nothing is added when one is missing), then adds those not there yet. */
export function addFolders(lib: WritableLibrary, dirs: readonly string[]): FolderRow[] {
  const abs = dirs.map(checkFolder);
  return abs.map((d) => lib.listFolders().find((f) => f.path === d) ?? lib.addFolder(d));
}

/** Stops indexing these folders (their photos' results stay until purged); each must be one of the library's. */
export function removeFolders(lib: WritableLibrary, dirs: readonly string[]): string[] {
  const known = new Set(lib.listFolders().map((f) => f.path));
  return dirs.map((d) => {
    const abs = path.resolve(d);
    if (!known.has(abs)) throw new UserFacingError(`${abs}: not a folder of ${lib.file}`).withCode('not-found');
    lib.removeFolder(abs);
    return abs;
  });
}

export interface FolderSummary {
  path: string;
  addedAt: number;
  /** Image files present in the library (those that could not be decoded included). */
  images: number;
  /** Files (and unreadable entries) under the folder whose last indexing failed. */
  failed: number;
}

/** The library's folders with their counts, as the app's library screen shows them. */
export function folderSummaries(lib: ReadonlyLibrary): FolderSummary[] {
  return lib.read(() => folderStats(lib)).map((f) => ({ path: f.path, addedAt: f.addedAt, images: f.images, failed: f.failed }));
}

/** Every file whose last indexing failed, with the reason. */
export function indexingFailures(lib: ReadonlyLibrary): { file: string; error: string }[] {
  return lib.failures().map((f) => ({ file: f.path, error: f.error }));
}

// ---- feature labels (kept per SAE: every config with that SAE shows them)

const configOf = (lib: ReadonlyLibrary, choice: ConfigChoice): ConfigRow => resolveConfig(lib, choice);

/** Sets a feature's label and / or note (undefined keeps the current one; both empty removes it). */
export function setFeatureText(lib: WritableLibrary, choice: ConfigChoice, feature: number, edit: { label?: string; note?: string }): FeatureLabel {
  return setLabel(lib, configOf(lib, choice), feature, edit);
}

export function exportFeatureLabels(lib: ReadonlyLibrary, choice: ConfigChoice): LabelsFile {
  return exportLabels(lib, configOf(lib, choice));
}

/** Reads labels exported by `exportFeatureLabels` (the file's JSON text). */
export function importFeatureLabels(lib: WritableLibrary, choice: ConfigChoice, file: string, opts: ImportOptions): { imported: number; kept: number } {
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserFacingError(`${file}: cannot read the labels (${errorMessage(e)})`);
  }
  return importLabels(lib, configOf(lib, choice), data, opts);
}

/** Recomputes the per-feature statistics (indexing does it after each run); the config it did. */
export function refreshFeatureStats(lib: WritableLibrary, choice: ConfigChoice): ConfigRow {
  const config = configOf(lib, choice);
  lib.refreshFeatureStats(config.id);
  return config;
}

/** Features whose decoder directions are closest to `feature`'s, reading the decoder from `saeFile` (default: the config's SAE). */
export async function similarFeaturesFrom(lib: ReadonlyLibrary, choice: ConfigChoice, feature: number, limit: number, saeFile?: string): Promise<SimilarFeature[]> {
  const config = configOf(lib, choice);
  return similarFeatures(lib, config, feature, async (c) => {
    const sae = await loadSae(saeFile ?? c.saePath);
    if (sae.nFeatures !== c.nFeatures || sae.dIn !== c.width) {
      throw new UserFacingError(`${sae.file} has ${sae.nFeatures} features of width ${sae.dIn}, configuration #${c.id} has ${c.nFeatures} of width ${c.width}`);
    }
    return readFloat32(sae.decoder);
  }, limit);
}
