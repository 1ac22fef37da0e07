/**
 * The CLI's words for engine errors: the engine says what is wrong (neutral, for every front
 * end); the CLI adds which flag or command fixes it.
 */
import type { ErrorCode, UserFacingError } from '../engine/errors.js';

const HINTS: Partial<Record<ErrorCode, (message: string, details: UserFacingError['details']) => string>> = {
  'layer-required': (m) => `${m}; pass --layer`,
  'not-indexed': (m) => `${m} (run clipscope index)`,
  'ambiguous-config': (m, d) => m.replace(': ', `, pass ${d['layerGiven'] ? '' : '--layer or '}--config to pick one: `),
  'stats-missing': (m) => `${m} (run clipscope features refresh)`,
  damaged: (m) => `${m} (clipscope index)`,
  'model-in-use': (m) => `${m}: pass --force to remove it anyway`,
};

export function withCliHint(err: UserFacingError): string {
  const hint = HINTS[err.code];
  return hint ? hint(err.message, err.details) : err.message;
}
