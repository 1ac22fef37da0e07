/**
 * The steering screen's URL grammar: `tokens=cls|all|137,138` (where edits apply unless a row
 * says otherwise; a list is the selected patches) and `edits=1234:=0,88:*2@all` (feature 1234 set
 * to 0 on those tokens, feature 88 scaled by 2 on all tokens: `@cls` / `@all` is a row's own
 * scope), and the slider's log-ish mapping between a position and a value relative to a
 * feature's largest activation.
 */
import type { SteerEdit } from '../../../common/contract/steering-schemas.js';

export type TokenScope = 'cls' | 'all' | number[];
export interface EditSpec {
  feature: number;
  mode: 'set' | 'scale';
  value: number;
  /** The row's own tokens; absent: the screen's (`tokens=`, which is also the selected patches). */
  scope?: 'cls' | 'all';
}

/** A row's tokens: its own scope, else the screen's. */
export function rowTokens(e: EditSpec, tokens: TokenScope): TokenScope {
  return e.scope ?? tokens;
}

/**
 * A row's scope changed to `choice` ('sel' = the selected patches). Rows keep what they edit:
 * choosing the patches while the screen's scope is CLS or all makes the screen's scope the
 * patches (the centre 2 x 2 to start with) and pins every other row that followed it.
 */
export function withRowScope(edits: EditSpec[], tokens: TokenScope, i: number, choice: 'cls' | 'all' | 'sel'): { edits: EditSpec[]; tokens: TokenScope } {
  const pin = (e: EditSpec, scope: 'cls' | 'all' | undefined): EditSpec => {
    const { scope: _old, ...rest } = e;
    return scope ? { ...rest, scope } : rest;
  };
  if (choice !== 'sel') return { edits: edits.map((e, j) => (j === i ? pin(e, choice === tokens ? undefined : choice) : e)), tokens };
  if (typeof tokens !== 'string') return { edits: edits.map((e, j) => (j === i ? pin(e, undefined) : e)), tokens };
  return { edits: edits.map((e, j) => pin(e, j === i ? undefined : (e.scope ?? tokens))), tokens: [120, 121, 136, 137] };
}

export function parseTokens(raw: unknown): TokenScope {
  if (raw === 'all' || raw === 'cls') return raw;
  if (typeof raw === 'number') return Number.isInteger(raw) && raw >= 0 && raw <= 256 ? [raw] : 'cls';
  if (typeof raw !== 'string') return 'cls';
  const ids = raw.split(',').map((t) => Number(t.trim()));
  if (ids.length === 0 || ids.some((t) => !Number.isInteger(t) || t < 0 || t > 256)) return 'cls';
  return [...new Set(ids)].sort((a, b) => a - b);
}

export function formatTokens(t: TokenScope): string {
  return typeof t === 'string' ? t : t.join(',');
}

export function parseEdits(raw: unknown): EditSpec[] {
  if (typeof raw !== 'string' || raw === '') return [];
  const out: EditSpec[] = [];
  for (const part of raw.split(',')) {
    const m = /^(\d+):([=*])(-?(?:\d+\.?\d*|\.\d+)(?:e-?\d+)?)(?:@(cls|all))?$/i.exec(part.trim());
    if (!m) continue;
    const value = Number(m[3]);
    if (!Number.isFinite(value)) continue;
    const e: EditSpec = { feature: Number(m[1]), mode: m[2] === '=' ? 'set' : 'scale', value };
    if (m[4]) e.scope = m[4].toLowerCase() as 'cls' | 'all';
    out.push(e);
  }
  return out.slice(0, 32);
}

export function formatEdits(edits: EditSpec[]): string {
  return edits.map((e) => `${e.feature}:${e.mode === 'set' ? '=' : '*'}${e.value}${e.scope ? `@${e.scope}` : ''}`).join(',');
}

export function toApiEdits(edits: EditSpec[], tokens: TokenScope): SteerEdit[] {
  return edits.map((e) => {
    const t = rowTokens(e, tokens);
    return e.mode === 'set' ? { feature: e.feature, tokens: t, value: e.value } : { feature: e.feature, tokens: t, scale: e.value };
  });
}

/** Slider positions: 0 is exactly 0, then 1..STEPS cover 1/100 .. 10 times the reference log-evenly. */
export const STEPS = 300;
const DECADES = 3;
const LOW = -2;

/** Rounds to 3 significant digits (the slider's values; typed values stay exact). */
export function tidy(v: number): number {
  if (v === 0 || !Number.isFinite(v)) return 0;
  return Number(v.toPrecision(3));
}

export function positionToValue(p: number, ref: number): number {
  if (p <= 0) return 0;
  return tidy(ref * 10 ** (LOW + (DECADES * Math.min(p, STEPS)) / STEPS));
}

export function valueToPosition(v: number, ref: number): number {
  if (!(v > 0) || !(ref > 0)) return 0;
  const p = Math.round(((Math.log10(v / ref) - LOW) / DECADES) * STEPS);
  return Math.max(1, Math.min(STEPS, p));
}

/** Where a value sits along the slider, 0..1 (the sweep chart's x axis). */
export function valueToFraction(v: number, ref: number): number {
  if (!(v > 0) || !(ref > 0)) return 0;
  return Math.max(0, Math.min(1, (Math.log10(v / ref) - LOW) / DECADES));
}

/** The sweep's values: 0 and 7 more from 1/10 to 10 times the reference. */
export function sweepValues(ref: number): number[] {
  return [0, 0.1, 0.25, 0.5, 1, 2, 4, 10].map((k) => tidy(k * ref));
}

/** Token index -> "CLS" / "patch r,c". */
export function tokenName(t: number): string {
  if (t === 0) return 'CLS';
  const p = t - 1;
  return `patch ${Math.floor(p / 16)},${p % 16}`;
}
