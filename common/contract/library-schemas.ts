/**
 * Libraries, their folders and their encoding configurations, as the app sees them.
 * Paths here are the user's own (folders, library files); photos are addressed by image id only.
 */
import { z } from 'zod';

const nonEmptyPath = z.string().trim().min(1, { error: 'expected a non-empty path' });
const nonNegativeInt = z.int().nonnegative();
/** Milliseconds since the epoch. */
const timestamp = z.number().nonnegative();

export const NoInputSchema = z.void({ error: 'expected no input' });

export const ConfigInfoSchema = z.object({
  id: z.int().positive(),
  layer: nonNegativeInt,
  modelDir: z.string(),
  saePath: z.string(),
  normalization: z.enum(['raw', 'standardized']),
  nFeatures: z.int().positive(),
  tokens: z.int().positive(),
  /** Present photos with results for this configuration. */
  images: nonNegativeInt,
});
export type ConfigInfo = z.infer<typeof ConfigInfoSchema>;

export const FolderInfoSchema = z.object({
  path: z.string(),
  /** Present photos under the folder. */
  images: nonNegativeInt,
  /** Photos under the folder whose last indexing failed. */
  failed: nonNegativeInt,
  /** Whether the folder is still there on disk (an unplugged drive is not). */
  available: z.boolean(),
  addedAt: timestamp,
  /** When an indexing job covering this folder last finished; null if never. */
  indexedAt: timestamp.nullable(),
});
export type FolderInfo = z.infer<typeof FolderInfoSchema>;

export const LibraryInfoSchema = z.object({
  file: z.string(),
  /** The file name without its extension, for titles. */
  name: z.string(),
  /** Present photos. */
  images: nonNegativeInt,
  folders: z.array(FolderInfoSchema),
  configs: z.array(ConfigInfoSchema),
  /** True for the offline demo library (random-weight model: its features mean nothing). */
  demo: z.boolean(),
});
export type LibraryInfo = z.infer<typeof LibraryInfoSchema>;

export const RecentLibrarySchema = z.object({
  file: z.string(),
  name: z.string(),
  openedAt: timestamp,
  /** False when the file is gone since (moved, deleted). */
  exists: z.boolean(),
});
export type RecentLibrary = z.infer<typeof RecentLibrarySchema>;

export const AppStateSchema = z.object({
  /** The open library, or null on the first-run / start screen. */
  library: LibraryInfoSchema.nullable(),
  recent: z.array(RecentLibrarySchema),
  /** Whether the bundled offline demo (random-weight model + sample photos) is present. */
  demoAvailable: z.boolean(),
  /** Where libraries are created by default. */
  defaultLibraryDir: z.string(),
});
export type AppState = z.infer<typeof AppStateSchema>;

/** The user's choices that outlive a launch (app-settings.json). */
export const AppSettingsSchema = z.object({
  /** Closing the window lets a running indexing job finish before the app quits (instead of pausing it). */
  keepIndexingInBackground: z.boolean(),
});
export type AppSettings = z.infer<typeof AppSettingsSchema>;

/** The settings to change; the others keep their values. */
export const AppSettingsPatchSchema = z.strictObject({
  keepIndexingInBackground: z.boolean().optional(),
});

export const LibraryFileRequestSchema = z.strictObject({ file: nonEmptyPath });
export type LibraryFileRequest = z.infer<typeof LibraryFileRequestSchema>;

export const FolderRequestSchema = z.strictObject({ path: nonEmptyPath });
export type FolderRequest = z.infer<typeof FolderRequestSchema>;
