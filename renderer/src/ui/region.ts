/**
 * Rectangular regions of the 16 × 16 patch grid, as `[r0, r1, c0, c1]` (inclusive, 0-based, r0 <= r1,
 * c0 <= c1) and written in the query grammar (`0-3x2-5`): made from two corner tokens, listed as
 * tokens, and a photo's strongest features inside one.
 */
import type { QueryRegionText } from '../../../common/contract/query-grammar.js';

export const SIDE = 16;
export type Region = QueryRegionText;

/** The rectangle spanned by two patch tokens (1..256). */
export function regionBetween(a: number, b: number): Region {
  const [ra, ca] = [Math.floor((a - 1) / SIDE), (a - 1) % SIDE];
  const [rb, cb] = [Math.floor((b - 1) / SIDE), (b - 1) % SIDE];
  return [Math.min(ra, rb), Math.max(ra, rb), Math.min(ca, cb), Math.max(ca, cb)];
}

/** Its patch tokens, row-major. */
export function regionTokens([r0, r1, c0, c1]: Region): number[] {
  const out: number[] = [];
  for (let r = r0; r <= r1; r++) for (let c = c0; c <= c1; c++) out.push(1 + r * SIDE + c);
  return out;
}

export function regionSize([r0, r1, c0, c1]: Region): number {
  return (r1 - r0 + 1) * (c1 - c0 + 1);
}

export function sameRegion(a: Region | null, b: Region | null): boolean {
  return a === b || (a !== null && b !== null && a.every((v, i) => v === b[i]));
}

/** "rows 2–5 × columns 3–7" for people. */
export function describeRegion([r0, r1, c0, c1]: Region): string {
  const span = (a: number, b: number, one: string, many: string) => (a === b ? `${one} ${a}` : `${many} ${a}–${b}`);
  return `${span(r0, r1, 'row', 'rows')} × ${span(c0, c1, 'column', 'columns')}`;
}

/** A normalised region, or null when the values are not one inside the grid. */
export function checkedRegion(r: readonly number[] | null | undefined): Region | null {
  if (!r || r.length !== 4 || r.some((v) => !Number.isInteger(v) || v < 0 || v >= SIDE)) return null;
  return [Math.min(r[0]!, r[1]!), Math.max(r[0]!, r[1]!), Math.min(r[2]!, r[3]!), Math.max(r[2]!, r[3]!)];
}

/**
 * The features that fire most inside the region: each feature's largest activation over the
 * region's tokens (from the photo's per-token top-k), strongest first, ties by id.
 */
export function regionTopFeatures(tokens: { idx: number[][]; val: number[][] }, region: Region, n: number): { feature: number; act: number; token: number }[] {
  const best = new Map<number, { act: number; token: number }>();
  for (const t of regionTokens(region)) {
    const idx = tokens.idx[t] ?? [];
    const val = tokens.val[t] ?? [];
    idx.forEach((f, i) => {
      const v = val[i]!;
      const cur = best.get(f);
      if (v > 0 && (!cur || v > cur.act)) best.set(f, { act: v, token: t });
    });
  }
  return [...best.entries()]
    .map(([feature, b]) => ({ feature, ...b }))
    .sort((a, b) => b.act - a.act || a.feature - b.feature)
    .slice(0, n);
}
