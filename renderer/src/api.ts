/**
 * The renderer's only way to the engine: `window.clipscope`, exposed by the preload and typed
 * by the contract. Type-only imports: the contract's schemas stay out of the page bundle.
 */
import type { ApiInput, ApiMethod, ApiOutput, EngineApi } from '../../common/contract/index.js';

declare global {
  interface Window {
    /** Absent when the page is opened outside the desktop app (e.g. in a plain browser). */
    readonly clipscope?: EngineApi;
  }
}

export function engine(): EngineApi {
  const api = window.clipscope;
  if (!api) throw new Error('The engine is not connected: open this page from the CLIP-Scope app.');
  return api;
}

export function call<M extends ApiMethod>(method: M, input: ApiInput<M>): Promise<ApiOutput<M>> {
  return engine()[method](input);
}

/** The text to show for a failed call: engine errors arrive with a message written for the user. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
