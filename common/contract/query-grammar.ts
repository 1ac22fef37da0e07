/**
 * The query's text grammar, shared by `clipscope query`'s options and the app's `#/query` URL
 * (`12:0.5,99`, `0-3x0-3`, `cls,137`, `2020-01-01`), so both read a query the same way. Free of
 * zod: the page imports it. Each parser throws an Error whose message names the bad part.
 */

export interface QueryTermText {
  feature: number;
  minAct?: number;
}

/** `[r0, r1, c0, c1]`: rows r0..r1 x columns c0..c1, inclusive, 0-based. */
export type QueryRegionText = [number, number, number, number];

/** "12:0.5,99" -> feature 12 with activation >= 0.5, and feature 99 (active at all). */
export function parseTermList(value: string): QueryTermText[] {
  return value.split(',').filter((p) => p.trim() !== '').map((part) => {
    const m = /^(\d+)(?::(\d*\.?\d+(?:e-?\d+)?))?$/i.exec(part.trim());
    if (!m) throw new Error(`"${part}" is not FEATURE or FEATURE:MIN_ACTIVATION (e.g. 12:0.5)`);
    return m[2] === undefined ? { feature: Number(m[1]) } : { feature: Number(m[1]), minAct: Number(m[2]) };
  });
}

export function formatTermList(list: readonly QueryTermText[]): string {
  return list.map((t) => (t.minAct === undefined ? String(t.feature) : `${t.feature}:${t.minAct}`)).join(',');
}

/** "R0-R1xC0-C1" (rows x columns of the patch grid, inclusive, 0-based); "8x8" is one patch. */
export function parseRegion(value: string): QueryRegionText {
  const m = /^(\d+)(?:-(\d+))?x(\d+)(?:-(\d+))?$/.exec(value.trim());
  if (!m) throw new Error(`"${value}" is not ROWSxCOLUMNS, e.g. 0-3x0-3 or 8x8`);
  return [Number(m[1]), Number(m[2] ?? m[1]), Number(m[3]), Number(m[4] ?? m[3])];
}

/** Several regions, comma-separated (their union). */
export function parseRegionList(value: string): QueryRegionText[] {
  return value.split(',').filter((p) => p.trim() !== '').map(parseRegion);
}

export function formatRegion([r0, r1, c0, c1]: QueryRegionText): string {
  const span = (a: number, b: number) => (a === b ? String(a) : `${a}-${b}`);
  return `${span(r0, r1)}x${span(c0, c1)}`;
}

/** "cls,137": token numbers (0 = CLS, 1..256 the patches) or "cls". */
export function parseTokenList(value: string): number[] {
  return value.split(',').filter((t) => t.trim() !== '').map((t) => {
    if (t.trim() === 'cls') return 0;
    if (!/^\d+$/.test(t.trim())) throw new Error(`"${t}" is not a token number (0 = CLS, 1..256 patches) or "cls"`);
    return Number(t);
  });
}

export function formatTokenList(tokens: readonly number[]): string {
  return tokens.map((t) => (t === 0 ? 'cls' : String(t))).join(',');
}

/** A date or date-time (ISO 8601, e.g. 2020-01-01 or 2020-01-01T12:00) -> ms since the epoch. */
export function parseQueryDate(value: string): number {
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}(-\d{2})?/.test(value) || Number.isNaN(ms)) throw new Error(`"${value}" is not a date (YYYY-MM-DD)`);
  return ms;
}
