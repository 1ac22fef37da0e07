/** The model manager: download, import, verify, remove, and the registry of installed models. */
export { ModelManager, defaultModelsDir } from './manager.js';
export type {
  ModelManagerOptions, InstalledModel, DownloadEvent, DownloadOptions, DownloadOutcome, ImportOptions, ImportOutcome,
  VerifyReport, VerifyOutcome, RemoveOutcome,
} from './manager.js';
export { ModelRegistry, checkModelName } from './registry.js';
export type { ModelEntry, ModelFileRecord, ModelSource, ModelDetails, ModelKind } from './registry.js';
export { DownloadError, ModelRegistryError } from './errors.js';
export type { DownloadErrorKind } from './errors.js';
export { downloadFile, partialPath, DEFAULT_RETRY } from './download.js';
export type { FileProgress, FileRetry, FileDownloadRequest, FileDownloadResult, RetryPolicy } from './download.js';
export { HubClient, resolveEndpoint, resolveUrl, revisionUrl, tokenFromEnv, DEFAULT_ENDPOINT } from './hub.js';
export {
  CLIP_REPO, SAE_REPO, SAE_LAYERS, DEFAULT_LAYERS, DEFAULT_REVISION, KNOWN_SAE_FILES, VISION_NAME, saeName, parseLayers, pickSaeCheckpoint,
} from './bundle.js';
export { demoDir, demoEntries, isDemoPath, setDemoDir } from './demo.js';
export { statfsFreeSpace } from './space.js';
export type { FreeSpaceFn } from './space.js';
