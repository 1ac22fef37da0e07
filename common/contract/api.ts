/**
 * The engine API in one place: method name -> request and result schemas. The IPC handlers,
 * the preload client and any later transport (HTTP, CLI) are generated from these keys.
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

export interface MethodSchemas {
  readonly input: z.ZodType;
  readonly output: z.ZodType;
}

// `satisfies` with a mapped type makes a missing method and an extra one both compile errors,
// so this object and API_METHODS cannot drift apart.
export const ApiContract = {
  'engine.info': { input: EngineInfoRequestSchema, output: EngineInfoSchema },
  'models.inspect': { input: InspectModelRequestSchema, output: ModelInspectionSchema },
  'encode.image': { input: EncodeImageRequestSchema, output: EncodeImageResultSchema },
} as const satisfies { readonly [M in ApiMethod]: MethodSchemas };

export type ApiInput<M extends ApiMethod> = z.infer<(typeof ApiContract)[M]['input']>;
export type ApiOutput<M extends ApiMethod> = z.infer<(typeof ApiContract)[M]['output']>;

/** What every transport exposes and what the engine service implements. */
export type EngineApi = {
  [M in ApiMethod]: (input: ApiInput<M>) => Promise<ApiOutput<M>>;
};
