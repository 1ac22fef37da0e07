/**
 * Each command's module, loaded only when that command runs (see cli/index.ts), and what it
 * registers. Dynamic imports only: importing this module loads no command.
 */
import type { Command } from 'commander';
import { COMMAND_INFO, type CommandName } from './command-info.js';

export type Register = (program: Command) => void;

/** Each command's module, loaded only when that command runs. */
export const LOADERS: Record<CommandName, () => Promise<Register>> = {
  encode: async () => (await import('./commands/encode.js')).registerEncode,
  activations: async () => (await import('./commands/activations.js')).registerActivations,
  models: async () => (await import('./commands/models.js')).registerModels,
  index: async () => (await import('./commands/index.js')).registerIndex,
  folders: async () => (await import('./commands/folders.js')).registerFolders,
  gallery: async () => (await import('./commands/gallery.js')).registerGallery,
  image: async () => (await import('./commands/image.js')).registerImage,
  metrics: async () => (await import('./commands/metrics.js')).registerMetrics,
  query: async () => (await import('./commands/query.js')).registerQuery,
  features: async () => (await import('./commands/features.js')).registerFeatures,
  steer: async () => (await import('./commands/steer.js')).registerSteer,
  serve: async () => (await import('./commands/serve.js')).registerServe,
};

export const isCommand = (name: string | undefined): name is CommandName => name !== undefined && Object.hasOwn(COMMAND_INFO, name);
