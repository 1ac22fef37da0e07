/**
 * The engine API in one place: method name -> request and result schemas. The IPC handlers,
 * the preload client, the HTTP routes and the renderer's clients are all generated from these
 * keys; `satisfies` below makes a method missing here, or one too many, a compile error.
 */
import type { z } from 'zod';
import type { ApiMethod } from './methods.js';
import {
  EncodeImageRequestSchema,
  EncodeImageResultSchema,
  EngineInfoRequestSchema,
  EngineInfoSchema,
  InspectModelRequestSchema,
  ModelInspectionSchema,
} from './schemas.js';
import { AppStateSchema, FolderRequestSchema, LibraryFileRequestSchema, NoInputSchema } from './library-schemas.js';
import { AppSettingsPatchSchema, AppSettingsSchema } from './library-schemas.js';
import {
  FailuresRequestSchema,
  FailuresSchema,
  IndexStartRequestSchema,
  IndexStatusSchema,
  JobRequestSchema,
} from './indexing-schemas.js';
import {
  DownloadRequestSchema,
  DownloadStatusSchema,
  ImportRequestSchema,
  ImportResultSchema,
  ModelListSchema,
  ModelNameRequestSchema,
  VerifyRequestSchema,
  VerifyResultSchema,
} from './models-schemas.js';
import {
  FeatureDetailsSchema,
  FeatureHeatRequestSchema,
  FeatureHeatSchema,
  FeatureInfoSchema,
  FeatureRequestSchema,
  FeatureSearchRequestSchema,
  FeatureSearchResultSchema,
  LabelRequestSchema,
  GalleryRequestSchema,
  GalleryResultSchema,
  ImageDetailsSchema,
  ImageListSchema,
  ImageRequestSchema,
  ImagesRequestSchema,
  LibraryMetricsSchema,
  MetricsRequestSchema,
} from './explore-schemas.js';
import { SteerRequestSchema, SteerResultSchema } from './steering-schemas.js';
import {
  FeaturePreviewsRequestSchema,
  FeaturePreviewsSchema,
  FeatureSimilarRequestSchema,
  FeatureSimilarSchema,
  ImageSearchRequestSchema,
  ImageSearchSchema,
} from './feature-schemas.js';
import { QueryRequestSchema, QueryResultSchema } from './query-schemas.js';

export interface MethodSchemas {
  readonly input: z.ZodType;
  readonly output: z.ZodType;
}

export const ApiContract = {
  'engine.info': { input: EngineInfoRequestSchema, output: EngineInfoSchema },
  'models.inspect': { input: InspectModelRequestSchema, output: ModelInspectionSchema },
  'encode.image': { input: EncodeImageRequestSchema, output: EncodeImageResultSchema },

  // The open library and the recent list. Each change answers with the whole new state.
  'app.state': { input: NoInputSchema, output: AppStateSchema },
  'settings.get': { input: NoInputSchema, output: AppSettingsSchema },
  /** Changes some settings; answers with all of them. */
  'settings.set': { input: AppSettingsPatchSchema, output: AppSettingsSchema },
  'library.open': { input: LibraryFileRequestSchema, output: AppStateSchema },
  'library.create': { input: LibraryFileRequestSchema, output: AppStateSchema },
  'library.close': { input: NoInputSchema, output: AppStateSchema },
  /** Drops a file from the recent list (the file itself is untouched). */
  'library.forget': { input: LibraryFileRequestSchema, output: AppStateSchema },
  'folders.add': { input: FolderRequestSchema, output: AppStateSchema },
  /** Stops indexing a folder; its photos' results stay until the library is purged. */
  'folders.remove': { input: FolderRequestSchema, output: AppStateSchema },

  // Indexing: one job at a time per library, run off the main thread; progress as events.
  'index.start': { input: IndexStartRequestSchema, output: IndexStatusSchema },
  'index.status': { input: NoInputSchema, output: IndexStatusSchema },
  'index.pause': { input: NoInputSchema, output: IndexStatusSchema },
  'index.resume': { input: JobRequestSchema, output: IndexStatusSchema },
  'index.cancel': { input: NoInputSchema, output: IndexStatusSchema },
  'index.failures': { input: FailuresRequestSchema, output: FailuresSchema },

  'models.list': { input: NoInputSchema, output: ModelListSchema },
  /** Starts fetching the CLIP-Scope files in the background (progress: `models.download` events). */
  'models.download': { input: DownloadRequestSchema, output: DownloadStatusSchema },
  'models.downloadStatus': { input: NoInputSchema, output: DownloadStatusSchema },
  /** Stops the download; what was fetched stays and the next download resumes it. */
  'models.cancelDownload': { input: NoInputSchema, output: DownloadStatusSchema },
  /** Registers model files the user already has, where they are (never moved or changed). */
  'models.import': { input: ImportRequestSchema, output: ImportResultSchema },
  /** Forgets a model; deletes its files only if the app downloaded or copied them. */
  'models.remove': { input: ModelNameRequestSchema, output: ModelListSchema },
  /** Checks installed models' files against their recorded sizes and sha256. */
  'models.verify': { input: VerifyRequestSchema, output: VerifyResultSchema },
  /** Creates (or reopens) the demo library on the bundled sample photos and starts indexing it. */
  'demo.setup': { input: NoInputSchema, output: AppStateSchema },

  // Read queries (never run a model).
  'images.list': { input: ImagesRequestSchema, output: ImageListSchema },
  'image.get': { input: ImageRequestSchema, output: ImageDetailsSchema },
  'gallery.get': { input: GalleryRequestSchema, output: GalleryResultSchema },
  'metrics.get': { input: MetricsRequestSchema, output: LibraryMetricsSchema },
  'features.search': { input: FeatureSearchRequestSchema, output: FeatureSearchResultSchema },
  'feature.details': { input: FeatureRequestSchema, output: FeatureDetailsSchema },
  /** One feature's per-token activations on a page of photos (the gallery tiles' heatmaps). */
  'feature.heat': { input: FeatureHeatRequestSchema, output: FeatureHeatSchema },
  /** Features whose decoder directions are closest (cosine), as `clipscope features similar`; reads the SAE file. */
  'feature.similar': { input: FeatureSimilarRequestSchema, output: FeatureSimilarSchema },
  /** Histogram and top photos of each feature of a table page: one call per visible page. */
  'features.previews': { input: FeaturePreviewsRequestSchema, output: FeaturePreviewsSchema },
  /** Indexed photos by file name (the command palette). */
  'images.search': { input: ImageSearchRequestSchema, output: ImageSearchSchema },
  /** Sets a feature's label and / or note (kept per SAE, exported as JSON by the CLI). */
  'labels.set': { input: LabelRequestSchema, output: FeatureInfoSchema },
  /** Photos by the features that fire on them (ALL / ANY / NOT, regions, folder, dates), as `clipscope query`. */
  'query.run': { input: QueryRequestSchema, output: QueryResultSchema },

  /** Runs the rest of CLIP on the photo with its features edited (the model runs: a worker). */
  'steer.preview': { input: SteerRequestSchema, output: SteerResultSchema },
} as const satisfies { readonly [M in ApiMethod]: MethodSchemas };

/** What a caller passes (defaults may be left out). */
export type ApiInput<M extends ApiMethod> = z.input<(typeof ApiContract)[M]['input']>;
/** What the engine receives, after validation filled the defaults in. */
export type ApiParsedInput<M extends ApiMethod> = z.output<(typeof ApiContract)[M]['input']>;
export type ApiOutput<M extends ApiMethod> = z.infer<(typeof ApiContract)[M]['output']>;

/** What every transport's client exposes to the UI. */
export type EngineApi = {
  [M in ApiMethod]: (input: ApiInput<M>) => Promise<ApiOutput<M>>;
};

/** What the engine implements: requests arrive validated, with their defaults filled in. */
export type EngineImpl = {
  [M in ApiMethod]: (input: ApiParsedInput<M>) => Promise<ApiOutput<M>>;
};
