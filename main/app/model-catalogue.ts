/**
 * The installed models as the CLI lists and changes them: every registry entry with its details,
 * sources and users, downloads with each event reported as it happens, a chosen models folder
 * and hub endpoint. The app's service shows a shorter listing of the default folder (`models.*`
 * in app-service.ts, downloads in the background in downloads.ts); both use the model manager.
 */
import type { ModelInspection } from '../../common/contract/index.js';
import { inspectModel } from '../engine/inspect.js';
import { parseLayers } from '../engine/models/bundle.js';
import { isDemoPath } from '../engine/models/demo.js';
import { DownloadError, type DownloadErrorKind } from '../engine/models/errors.js';
import {
  ModelManager,
  type DownloadOptions, type DownloadOutcome, type ImportOptions, type ImportOutcome, type InstalledModel,
  type RemoveOutcome, type VerifyOutcome,
} from '../engine/models/manager.js';

export interface CatalogueOptions {
  /** Models folder (default: the app-data models folder). */
  dir?: string;
  /** Hub endpoint (default: $HF_ENDPOINT, else https://huggingface.co). */
  endpoint?: string;
}

export interface ModelCatalogue {
  /** The models folder in use. */
  readonly dir: string;
  list(): Promise<InstalledModel[]>;
  download(opts: DownloadOptions): Promise<DownloadOutcome>;
  importModels(file: string, opts: ImportOptions): Promise<ImportOutcome>;
  verify(opts: Parameters<ModelManager['verify']>[0]): Promise<VerifyOutcome>;
  remove(name: string, opts: { force: boolean }): Promise<RemoveOutcome>;
}

export function modelCatalogue(o: CatalogueOptions = {}): ModelCatalogue {
  return new ModelManager({ ...(o.dir ? { dir: o.dir } : {}), ...(o.endpoint ? { endpoint: o.endpoint } : {}) });
}

/** What a model folder or SAE file holds (the engine's `models.inspect`), and whether it is the bundled random-weight demo. */
export async function inspectModelFile(p: string): Promise<{ model: ModelInspection; demo: boolean }> {
  const model = await inspectModel(p);
  return { model, demo: isDemoPath(p) };
}

/** "2,5,22" -> the CLIP-Scope SAE layers; an error naming a layer without an SAE. */
export function parseSaeLayers(value: string): number[] {
  return parseLayers(value);
}

/** A download failure's kind ('cancelled', 'network', ...), or null for other errors. */
export function downloadErrorKind(err: unknown): DownloadErrorKind | null {
  return err instanceof DownloadError ? err.kind : null;
}
