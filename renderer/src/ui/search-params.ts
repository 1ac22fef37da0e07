/**
 * Typed search parameters of the steering screen and the features table (checked in router.tsx).
 * Each function names every key of its type, undefined when absent or unreadable: the router
 * keeps the raw value of a key the check leaves out (it spreads the check's answer over the
 * parsed URL), and a raw `layer=2x` would then reach the engine as text.
 */
import { formatEdits, formatTokens, parseEdits, parseTokens } from './steer-edits.js';

export interface SteerSearch {
  layer?: number;
  /** `cls`, `all` or token indices joined by commas (see steer-edits.ts). */
  tokens?: string;
  /** `1234:=0,88:*2`: set feature 1234 to 0, scale feature 88 by 2. */
  edits?: string;
}

export function steerSearchOf(s: Record<string, unknown>, layer: number | undefined): SteerSearch {
  const out: SteerSearch = { layer, tokens: undefined, edits: undefined };
  if (s.tokens !== undefined && s.tokens !== '') out.tokens = formatTokens(parseTokens(s.tokens));
  // A lone number (one feature, no edit) parses as a number; anything unreadable is dropped.
  if (typeof s.edits === 'string' && s.edits !== '') out.edits = formatEdits(parseEdits(s.edits));
  return out;
}

export type FeatureSort = 'freq' | 'max' | 'id';

export interface FeaturesSearch {
  layer?: number;
  /** Text in a label or note, or a feature id. */
  q?: string;
  sort?: FeatureSort;
  /** Default: descending for freq / max, ascending for id. */
  order?: 'asc' | 'desc';
  dead?: 'hide';
  dense?: 'hide';
}

export function featuresSearchOf(s: Record<string, unknown>, layer: number | undefined): FeaturesSearch {
  const out: FeaturesSearch = { layer, q: undefined, sort: undefined, order: undefined, dead: undefined, dense: undefined };
  if ((typeof s.q === 'string' && s.q !== '') || typeof s.q === 'number') out.q = String(s.q);
  if (s.sort === 'freq' || s.sort === 'max' || s.sort === 'id') out.sort = s.sort;
  if (s.order === 'asc' || s.order === 'desc') out.order = s.order;
  if (s.dead === 'hide') out.dead = 'hide';
  if (s.dense === 'hide') out.dense = 'hide';
  return out;
}
