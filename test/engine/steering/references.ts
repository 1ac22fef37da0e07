/** The steering references written by scripts/fixtures/steering.py (independent PyTorch). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { EditSet } from '../../../main/engine/steering/edits.js';
import { fixture, manifest, ROOT } from '../../helpers/references.js';

/** `effective`: the reference moved (at the last layer a patch-only edit cannot reach the head). */
export interface SteeringCase { name: string; edits: EditSet; effective: boolean; embedding: string; later?: LaterReference[] }

/** One side of a later-layer reference: [feature, value] pairs, largest |value| first. */
export interface LaterSide { cls: [number, number][]; pooled?: [number, number][]; margin: number | null }
/** The features at a later layer L2 (SAE `sae`) before and after a case's edits (steering.py). */
export interface LaterReference { layer: number; sae: string; edited_tokens: number; before: LaterSide; after: LaterSide }
export interface SteeringEntry {
  model: string;
  sae: string;
  layer: number;
  photo: string;
  tokens: number;
  topk_margin: number | null;
  original: string;
  original_from_tail: string;
  reconstruction: string;
  cases: SteeringCase[];
}

export const steering = JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/references/steering/manifest.json'), 'utf8')) as { entries: SteeringEntry[] };

export const modelDir = (e: SteeringEntry): string => fixture(manifest.models[e.model]!.dir);
export const saePath = (e: SteeringEntry): string => fixture(manifest.saes[e.sae]!.file);
export const isNoop = (c: SteeringCase): boolean => c.name.startsWith('noop_') || !c.effective;

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return d / Math.sqrt(na * nb);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}
