/**
 * Features gained and lost at a later layer, against the independent PyTorch references of
 * scripts/fixtures/steering.py: the steered residual at L2 from blocks L+1..L2, encoded with L2's
 * own SAE (CLIP-Scope raw top-k, SAELens top-k + ReLU), on the CLS token and pooled over the
 * edited tokens. Feature ids must agree exactly (the generator asserts every decision margin is
 * > 1e-4), values to float tolerance. Includes L2 = the last layer (the CLS-only blocks are off).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { CHANGED_TOP, type FeatureChange, type LayerDiff } from '../../../main/engine/steering/later-layers.js';
import { Steering } from '../../../main/engine/steering/steering.js';
import { fixture, manifest, npyFloat, TEST_CACHE } from '../../helpers/references.js';
import { cosine, maxAbs, maxAbsDiff, modelDir, saePath, steering, type LaterReference, type SteeringEntry } from './references.js';

const open: Steering[] = [];
afterAll(async () => {
  for (const s of open) await s.close();
});

const withLater = steering.entries.filter((e) => e.cases.some((c) => c.later));

/** The diff the references imply, by the engine's documented definitions (later-layers.ts). */
function expectedDiff(before: [number, number][], after: [number, number][]): { gained: Set<number>; lost: Set<number>; both: Map<number, [number, number]> } {
  const b = new Map(before);
  const a = new Map(after);
  const both = new Map<number, [number, number]>();
  for (const [f, v] of a) if (b.has(f)) both.set(f, [b.get(f)!, v]);
  return { gained: new Set([...a.keys()].filter((f) => !b.has(f))), lost: new Set([...b.keys()].filter((f) => !a.has(f))), both };
}

function checkDiff(got: LayerDiff, before: [number, number][], after: [number, number][], tol: number, msg: string): void {
  const want = expectedDiff(before, after);
  const ids = (xs: FeatureChange[]) => new Set(xs.map((x) => x.feature));
  expect(ids(got.gained), `${msg}: gained`).toEqual(want.gained);
  expect(ids(got.lost), `${msg}: lost`).toEqual(want.lost);
  const after1 = new Map(after);
  const before1 = new Map(before);
  for (const g of got.gained) expect(Math.abs(g.after - after1.get(g.feature)!), `${msg}: gained ${g.feature}`).toBeLessThan(tol);
  for (const l of got.lost) expect(Math.abs(l.before - before1.get(l.feature)!), `${msg}: lost ${l.feature}`).toBeLessThan(tol);
  // Changed: features in both sets, values as the reference, the largest |change| first.
  for (const c of got.changed) {
    const [b, a] = want.both.get(c.feature) ?? [NaN, NaN];
    expect(Math.abs(c.before - b), `${msg}: changed ${c.feature} before`).toBeLessThan(tol);
    expect(Math.abs(c.after - a), `${msg}: changed ${c.feature} after`).toBeLessThan(tol);
  }
  const deltas = [...want.both.values()].map(([b, a]) => Math.abs(a - b)).sort((x, y) => y - x);
  expect(got.changed.length, msg).toBe(Math.min(CHANGED_TOP, deltas.filter((d) => d > 0).length));
  const cut = deltas[got.changed.length - 1] ?? 0;
  for (const c of got.changed) expect(Math.abs(c.after - c.before), `${msg}: changed ${c.feature} is among the largest`).toBeGreaterThanOrEqual(cut - tol);
}

function laterSaes(entry: SteeringEntry): { layer: number; sae: string }[] {
  const refs = entry.cases.find((c) => c.later)!.later!;
  return refs.map((r) => ({ layer: r.layer, sae: fixture(manifest.saes[r.sae]!.file) }));
}

/** Float tolerance for latents: encoders of O(1..10) activations, two float32 implementations. */
function tolerance(r: LaterReference): number {
  const all = [...r.before.cls, ...r.after.cls, ...(r.before.pooled ?? []), ...(r.after.pooled ?? [])].map(([, v]) => Math.abs(v));
  return 2e-4 * Math.max(1, ...all);
}

describe.each(withLater.map((e) => [`${e.model} + ${e.sae} at layer ${e.layer}, ${e.photo}`, e] as const))('later layers: %s', (_name, entry) => {
  it('reports the features gained, lost and changed at each later layer as PyTorch computes them', async () => {
    const s = await Steering.open({ modelDir: modelDir(entry), sae: saePath(entry), layer: entry.layer, provider: 'cpu', cacheDir: TEST_CACHE, later: laterSaes(entry) });
    open.push(s);
    expect(s.info.laterLayers).toEqual(laterSaes(entry).map((l) => l.layer));
    const cases = entry.cases.filter((c) => c.later);
    const src = { file: entry.photo };
    const results = await s.preview(src, cases.map((c) => c.edits), { later: true });
    const original = await npyFloat(entry.original);
    let gainedSomewhere = 0;
    for (const [i, c] of cases.entries()) {
      const got = results[i]!;
      // The graph that exposes later residuals gives the same steered embedding.
      expect(cosine(got.embedding, await npyFloat(c.embedding)), c.name).toBeGreaterThanOrEqual(0.99999);
      expect(got.later).toHaveLength(c.later!.length);
      for (const [j, ref] of c.later!.entries()) {
        const l = got.later![j]!;
        const msg = `${c.name} at layer ${ref.layer} (${ref.sae})`;
        expect(l.layer).toBe(ref.layer);
        const tol = tolerance(ref);
        checkDiff(l.cls, ref.before.cls, ref.after.cls, tol, `${msg}, CLS`);
        if (ref.after.pooled) {
          expect(l.edited, msg).not.toBeNull();
          expect(l.editedTokens).toBe(ref.edited_tokens);
          checkDiff(l.edited!, ref.before.pooled!, ref.after.pooled!, tol, `${msg}, pooled`);
        } else {
          expect(l.edited, msg).toBeNull();
        }
        if (c.name.startsWith('noop_')) {
          expect(l.cls.gained.length + l.cls.lost.length + l.cls.changed.length, msg).toBe(0);
          expect((l.edited?.gained.length ?? 0) + (l.edited?.lost.length ?? 0), msg).toBe(0);
        }
        gainedSomewhere += l.cls.gained.length + (l.edited?.gained.length ?? 0);
      }
    }
    // The cases must move features, or the comparison proves little.
    expect(gainedSomewhere).toBeGreaterThan(5);

    // Without `later` the plain graph answers, with the same embeddings and no report.
    const plain = await s.preview(src, cases.map((c) => c.edits));
    for (const [i, p] of plain.entries()) {
      expect(p.later).toBeUndefined();
      expect(maxAbsDiff(p.embedding, results[i]!.embedding)).toBeLessThan(2e-5 * maxAbs(original));
    }
  });
});

describe('later layers: errors', () => {
  const entry = steering.entries.find((e) => e.layer === 2 && e.sae === 'clipscope-gelu')!;
  it('names a later layer that is not after the steered one, or not in the model', async () => {
    const base = { modelDir: modelDir(entry), sae: saePath(entry), layer: 2, provider: 'cpu' as const, cacheDir: TEST_CACHE };
    await expect(Steering.open({ ...base, later: [{ layer: 2, sae: saePath(entry) }] })).rejects.toThrow(/later layer 2 is not after the steered layer 2/);
    await expect(Steering.open({ ...base, later: [{ layer: 4, sae: saePath(entry) }] })).rejects.toThrow(/later layer 4 .*layers 0\.\.3/);
  });
});
