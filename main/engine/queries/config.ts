/** Picking the configuration (model, SAE, layer, normalisation) a query reads. */
import { UserFacingError } from '../errors.js';
import type { ReadonlyLibrary } from '../store/library.js';
import { describeConfig, type ConfigRow } from '../store/rows.js';

export interface ConfigChoice {
  layer?: number;
  configId?: number;
}

/** Configurations that hold at least one result. */
export function indexedConfigs(lib: ReadonlyLibrary): ConfigRow[] {
  return lib.indexedConfigs();
}

function choices(configs: readonly ConfigRow[]): string {
  return configs.map(describeConfig).join('; ');
}

/**
 * The one configuration meant by `choice`: by id, by layer, or the only one there is. Anything
 * ambiguous or missing is an error that lists what the library holds.
 */
export function resolveConfig(lib: ReadonlyLibrary, choice: ConfigChoice = {}): ConfigRow {
  const configs = indexedConfigs(lib);
  if (configs.length === 0) throw new UserFacingError(`${lib.file} holds no indexed images yet`).withCode('not-indexed');
  if (choice.configId !== undefined) {
    const c = configs.find((x) => x.id === choice.configId);
    if (!c) throw new UserFacingError(`${lib.file} has no indexed configuration #${choice.configId}; it holds ${choices(configs)}`);
    if (choice.layer !== undefined && c.layer !== choice.layer) {
      throw new UserFacingError(`configuration #${c.id} of ${lib.file} is at layer ${c.layer}, not ${choice.layer}`);
    }
    return c;
  }
  const atLayer = choice.layer === undefined ? configs : configs.filter((c) => c.layer === choice.layer);
  if (atLayer.length === 1) return atLayer[0]!;
  if (atLayer.length === 0) {
    throw new UserFacingError(`${lib.file} has nothing indexed at layer ${choice.layer}; it holds ${choices(configs)}`);
  }
  const what = choice.layer === undefined ? `${lib.file} holds several configurations` : `several configurations of ${lib.file} are at layer ${choice.layer}`;
  throw new UserFacingError(`${what}: ${choices(atLayer)}`).withCode('ambiguous-config', { layerGiven: choice.layer !== undefined });
}
