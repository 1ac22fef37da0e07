import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KIND_CLS, KIND_POOLED, type EntryKind } from '../../../main/engine/store/entries.js';
import { COMPACT_AFTER_IMAGES } from '../../../main/engine/store/feature-index.js';
import { decodeHistogram, FeatureTotals, halfTable } from '../../../main/engine/store/feature-stats.js';
import { connection } from '../../../main/engine/store/connection.js';
import { labelRows, putLabelRow } from '../../../main/engine/store/feature-rows.js';
import { Library, type ConfigRow, type NewImage, type WritableLibrary } from '../../../main/engine/store/library.js';
import type { SparseCodes } from '../../../main/engine/sae/sparse-codes.js';
import { RunMerger } from '../../../main/engine/queries/runs.js';
import { addSyntheticImages, bruteGallery, rng, stored, SYNTH, syntheticResult, tempDir } from './helpers.js';

let dir: string;
let lib: WritableLibrary;
beforeEach(async () => {
  dir = await tempDir();
  lib = Library.open(path.join(dir, 'lib', 'library.sqlite'));
});
afterEach(() => lib.close());

const newImage = (p: string, folderId: number, hash = `hash:${p}`): NewImage => ({
  path: p, folderId, size: 10, mtimeMs: 1_700_000_000_000.5, hash, width: null, height: null, capturedAt: null,
});

/** The whole feature index of a config, as (image, act, token) per feature, in gallery order. */
function indexOf(l: WritableLibrary, configId: number, kind: EntryKind, nFeatures: number): Map<number, { imageId: number; act: number; token: number }[]> {
  const out = new Map<number, { imageId: number; act: number; token: number }[]>();
  for (let f = 0; f < nFeatures; f++) {
    const m = new RunMerger(connection(l).index.runs(configId, kind, f));
    const rows: { imageId: number; act: number; token: number }[] = [];
    for (let e = m.next(); e; e = m.next()) rows.push({ imageId: e.image, act: halfTable()[e.actBits]!, token: e.token });
    if (rows.length) out.set(f, rows);
  }
  return out;
}

function bruteIndex(all: Map<number, SparseCodes>, kind: EntryKind, nFeatures: number): Map<number, { imageId: number; act: number; token: number }[]> {
  const out = new Map<number, { imageId: number; act: number; token: number }[]>();
  for (let f = 0; f < nFeatures; f++) {
    const rows = bruteGallery(all, f, kind === KIND_CLS ? new Set([0]) : undefined);
    if (rows.length) out.set(f, rows);
  }
  return out;
}

function expectIndexMatches(config: ConfigRow, present: Map<number, SparseCodes>): void {
  for (const kind of [KIND_POOLED, KIND_CLS] as const) {
    if (present.size > 0) expect(bruteIndex(present, kind, config.nFeatures).size).toBeGreaterThan(kind === KIND_CLS ? 5 : 20);
    expect(indexOf(lib, config.id, kind, config.nFeatures)).toEqual(bruteIndex(present, kind, config.nFeatures));
  }
}

describe('Library: folders, configs, images', () => {
  it('creates the library folder, runs in WAL with foreign keys', () => {
    expect(connection(lib).db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(connection(lib).db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(connection(lib).db.pragma('synchronous', { simple: true })).toBe(1);
    expect(lib.file).toBe(path.join(dir, 'lib', 'library.sqlite'));
  });

  it('adds folders idempotently (absolute, normalised) and removes them, marking their images removed', () => {
    const a = lib.addFolder(path.join(dir, 'photos', '.', 'x', '..'));
    expect(a.path).toBe(path.join(dir, 'photos'));
    expect(lib.addFolder(path.join(dir, 'photos') + path.sep).id).toBe(a.id);
    const b = lib.addFolder(path.join(dir, 'more'));
    expect(lib.listFolders().map((f) => f.id)).toEqual([b.id, a.id]);
    const img = lib.insertImage(newImage(path.join(dir, 'photos', '1.jpg'), a.id));
    lib.removeFolder(path.join(dir, 'photos'));
    expect(lib.listFolders().map((f) => f.id)).toEqual([b.id]);
    expect(lib.imageById(img.id)!.status).toBe('removed');
    expect(() => lib.removeFolder(path.join(dir, 'photos'))).toThrow(/is not a folder of this library/);
    expect(lib.addFolder(path.join(dir, 'photos')).id).toBe(a.id); // same id: its images can come back
  });

  it('keeps one config per (model, SAE, layer, normalisation), never deleting any', () => {
    const c1 = lib.ensureConfig(SYNTH);
    expect(lib.ensureConfig({ ...SYNTH, saePath: '/elsewhere/sae.pt' })).toMatchObject({ id: c1.id, saePath: '/elsewhere/sae.pt' });
    const c2 = lib.ensureConfig({ ...SYNTH, normalization: 'standardized' });
    const c3 = lib.ensureConfig({ ...SYNTH, layer: 8 });
    expect(new Set([c1.id, c2.id, c3.id]).size).toBe(3);
    expect(lib.listConfigs().map((c) => c.id)).toEqual([c1.id, c2.id, c3.id]);
    expect(lib.listConfigs()[0]).toEqual({ ...SYNTH, saePath: '/elsewhere/sae.pt', id: c1.id, createdAt: c1.createdAt });
    expect(() => lib.ensureConfig({ ...SYNTH, nFeatures: 999 })).toThrow(/recorded nFeatures 200 for this model and SAE, not 999/);
  });

  it('finds images by path, id and hash; updates moves; lists what is missing', () => {
    const folder = lib.addFolder(path.join(dir, 'p'));
    const config = lib.ensureConfig(SYNTH);
    const a = lib.insertImage(newImage(path.join(dir, 'p', 'a.jpg'), folder.id, 'same'));
    const b = lib.insertImage(newImage(path.join(dir, 'p', 'b.jpg'), folder.id, 'same'));
    expect(lib.imageByPath(path.join(dir, 'p', 'a.jpg'))).toEqual(a);
    expect(lib.imageById(b.id)).toEqual(b);
    expect(lib.imagesByHash('same').map((r) => r.id)).toEqual([a.id, b.id]);
    expect(() => lib.insertImage(newImage(a.path, folder.id))).toThrow(/UNIQUE/);
    expect(lib.imagesMissingResults(config.id).map((r) => r.id)).toEqual([a.id, b.id]);
    lib.writeResults(config.id, [syntheticResult(rng(1), a.id, config)]);
    expect(lib.hasResult(a.id, config.id)).toBe(true);
    expect(lib.imagesMissingResults(config.id).map((r) => r.id)).toEqual([b.id]);
    lib.updateImageFile(a.id, { ...newImage(path.join(dir, 'p', 'renamed.jpg'), folder.id, 'same'), capturedAt: 123 });
    expect(lib.imageByPath(path.join(dir, 'p', 'renamed.jpg'))).toMatchObject({ id: a.id, capturedAt: 123, status: 'present' });
    expect(lib.hasResult(a.id, config.id)).toBe(true); // a move keeps results
    lib.markRemoved([b.id]);
    expect(lib.presentImagesUnder(folder.id).map((r) => r.id)).toEqual([a.id]);
    expect(lib.imagesMissingResults(config.id)).toEqual([]);
    expect(lib.imageById(b.id)).toMatchObject({ status: 'removed' });
    expect(lib.imageById(b.id)!.removedAt).toBeGreaterThan(0);
  });

  it('records, lists and clears failures', () => {
    const config = lib.ensureConfig(SYNTH);
    lib.recordFailure('/p/a.jpg', null, '/p/a.jpg: unsupported or unrecognised image format');
    lib.recordFailure('/p/b.jpg', config.id, 'inference failed');
    lib.recordFailure('/p/b.jpg', config.id, 'inference failed again');
    expect(lib.failures().map(({ path: p, configId, error }) => ({ p, configId, error }))).toEqual([
      { p: '/p/a.jpg', configId: null, error: '/p/a.jpg: unsupported or unrecognised image format' },
      { p: '/p/b.jpg', configId: config.id, error: 'inference failed again' },
    ]);
    lib.clearFailure('/p/a.jpg');
    expect(lib.failures().map((f) => f.path)).toEqual(['/p/b.jpg']);
  });
});

describe('Library: results and the feature index', () => {
  it('indexes exactly the present images, through writes, replacements, removals, returns and purges', () => {
    const config = lib.ensureConfig(SYNTH);
    const present = addSyntheticImages(lib, config, 40, 7);
    expectIndexMatches(config, present);
    const ids = [...present.keys()];

    // Replace some results (a re-encode): old entries go, new ones come.
    const r = rng(99);
    const replaced = ids.slice(0, 5).map((id) => syntheticResult(r, id, config));
    lib.writeResults(config.id, replaced);
    for (const res of replaced) present.set(res.imageId, stored(res.codes, config.nFeatures));
    expectIndexMatches(config, present);
    expect(connection(lib).db.prepare('SELECT count(*) FROM results').pluck().get()).toBe(40);

    // Removed images leave the index (results kept); back again, they return.
    lib.markRemoved(ids.slice(10, 20));
    const kept = new Map([...present].filter(([id]) => !ids.slice(10, 20).includes(id)));
    expectIndexMatches(config, kept);
    const back = lib.imageById(ids[12]!)!;
    lib.updateImageFile(back.id, { ...back, path: back.path.replace('.jpg', '-moved.jpg') });
    kept.set(back.id, present.get(back.id)!);
    expectIndexMatches(config, kept);

    // A changed file: its results go for every config.
    lib.deleteResults(ids[0]!);
    kept.delete(ids[0]!);
    expect(lib.hasResult(ids[0]!, config.id)).toBe(false);
    expectIndexMatches(config, kept);

    // Purge: removed images and their results are gone for good.
    expect(lib.purgeRemoved()).toBe(9);
    expect(lib.imageById(ids[11]!)).toBeUndefined();
    expect(connection(lib).db.prepare('SELECT count(*) FROM results').pluck().get()).toBe(40 - 1 - 9);
    expect(connection(lib).db.prepare('SELECT count(*) FROM latents').pluck().get()).toBe(40 - 1 - 9);
    expectIndexMatches(config, kept);
    expect(connection(lib).db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(connection(lib).db.pragma('foreign_key_check')).toEqual([]);
  });

  it('gives the same index after compaction into postings, and keeps it exact through later changes', () => {
    const config = lib.ensureConfig(SYNTH);
    const n = COMPACT_AFTER_IMAGES + 100;
    const present = addSyntheticImages(lib, config, n, 11);
    // Batches of 64: writeResults compacted once 512 images were recent; 100 are still recent rows.
    const states = connection(lib).db.prepare('SELECT indexed, count(*) AS n FROM results GROUP BY indexed ORDER BY indexed').all();
    expect(states).toEqual([{ indexed: 1, n: 100 }, { indexed: 2, n: COMPACT_AFTER_IMAGES }]);
    expectIndexMatches(config, present);
    lib.compact(config.id);
    expect(connection(lib).db.prepare('SELECT count(*) FROM recent_entries').pluck().get()).toBe(0);
    expectIndexMatches(config, present);

    const ids = [...present.keys()];
    const r = rng(5);
    const replaced = [ids[3]!, ids[500]!].map((id) => syntheticResult(r, id, config));
    lib.writeResults(config.id, replaced); // replaces entries that live in postings
    for (const res of replaced) present.set(res.imageId, stored(res.codes, config.nFeatures));
    lib.markRemoved(ids.slice(100, 300));
    for (const id of ids.slice(100, 300)) present.delete(id);
    expectIndexMatches(config, present);
  });

  it('keeps configs apart: writing one never touches another', () => {
    const c1 = lib.ensureConfig(SYNTH);
    const c2 = lib.ensureConfig({ ...SYNTH, layer: 9, saeFingerprint: 'sae:other' });
    const p1 = addSyntheticImages(lib, c1, 20, 1);
    const r = rng(2);
    const p2 = new Map<number, SparseCodes>();
    const items = [...p1.keys()].slice(0, 10).map((id) => syntheticResult(r, id, c2));
    lib.writeResults(c2.id, items);
    for (const it of items) p2.set(it.imageId, stored(it.codes, c2.nFeatures));
    expectIndexMatches(c1, p1);
    expectIndexMatches(c2, p2);
    expect(connection(lib).db.prepare('SELECT config_id, count(*) AS n FROM results GROUP BY config_id').all()).toEqual([{ config_id: c1.id, n: 20 }, { config_id: c2.id, n: 10 }]);
  });

  it('refuses results that do not fit the config', () => {
    const config = lib.ensureConfig(SYNTH);
    const img = lib.insertImage(newImage('/x/a.jpg', lib.addFolder('/x').id));
    const good = syntheticResult(rng(1), img.id, config);
    expect(() => lib.writeResults(config.id, [{ ...good, embedding: new Float32Array(3) }])).toThrow(/3-dim embedding, expected 12/);
    const bad = syntheticResult(rng(1), img.id, { ...SYNTH, tokens: 5 });
    expect(() => lib.writeResults(config.id, [bad])).toThrow(/has 5 tokens, configuration \d+ has 17/);
    expect(() => lib.writeResults(config.id, [{ ...good, imageId: 999 }])).toThrow(/no image 999/);
    expect(lib.hasResult(img.id, config.id)).toBe(false);
  });
});

describe('Library: feature statistics', () => {
  function expectStats(config: ConfigRow, present: Map<number, SparseCodes>): void {
    const images = new Map<number, number>();
    const tokens = new Map<number, number>();
    const sum = new Map<number, number>();
    const max = new Map<number, number>();
    const hist = new Map<number, number>();
    for (const codes of present.values()) {
      const seen = new Set<number>();
      codes.val.forEach((v, j) => {
        if (!(v > 0)) return;
        const f = codes.idx[j]!;
        tokens.set(f, (tokens.get(f) ?? 0) + 1);
        sum.set(f, (sum.get(f) ?? 0) + v);
        max.set(f, Math.max(max.get(f) ?? 0, v));
        seen.add(f);
      });
      for (const f of seen) images.set(f, (images.get(f) ?? 0) + 1);
    }
    const rows = connection(lib).db.prepare('SELECT feature, images, tokens, max_act, sum_act, histogram FROM feature_stats WHERE config_id = ? ORDER BY feature').all(config.id) as
      { feature: number; images: number; tokens: number; max_act: number; sum_act: number; histogram: Buffer | null }[];
    expect(rows).toHaveLength(config.nFeatures);
    for (const r of rows) {
      expect({ f: r.feature, images: r.images, tokens: r.tokens, max: r.max_act })
        .toEqual({ f: r.feature, images: images.get(r.feature) ?? 0, tokens: tokens.get(r.feature) ?? 0, max: max.get(r.feature) ?? 0 });
      expect(r.sum_act).toBeCloseTo(sum.get(r.feature) ?? 0, 6);
      hist.set(r.feature, decodeHistogram(r.histogram).reduce((s, b) => s + b.count, 0));
      expect(hist.get(r.feature)).toBe(tokens.get(r.feature) ?? 0);
    }
    expect(images.size).toBeGreaterThan(50);
  }

  it('match a brute-force count over present images through compactions, removals, returns and re-encodes', () => {
    const config = lib.ensureConfig(SYNTH);
    const present = addSyntheticImages(lib, config, COMPACT_AFTER_IMAGES + 88, 3);
    const ids = [...present.keys()];
    lib.refreshFeatureStats(config.id);
    expectStats(config, present);
    // Removals from postings (and the maxima they held), a re-encode, a deleted result, a return.
    const gone = [...ids.slice(0, 40), ...ids.slice(590)];
    const fifth = present.get(ids[5]!)!;
    lib.markRemoved(gone);
    for (const id of gone) present.delete(id);
    const redo = syntheticResult(rng(8), ids[100]!, config);
    lib.writeResults(config.id, [redo]);
    present.set(ids[100]!, stored(redo.codes, config.nFeatures));
    lib.deleteResults(ids[200]!);
    present.delete(ids[200]!);
    const back = lib.imageById(ids[5]!)!;
    lib.updateImageFile(back.id, back);
    present.set(back.id, fifth);
    expect(FeatureTotals.load(connection(lib).db, config.id, config.nFeatures).stale.some((x) => x === 1)).toBe(true); // maxima that left
    lib.refreshFeatureStats(config.id);
    expectStats(config, present);

    const state = () => connection(lib).db.prepare('SELECT generation, stats_generation, stats_images, stats_tokens, stats_at FROM configs WHERE id = ?').get(config.id) as Record<string, number>;
    const s1 = state();
    expect(s1).toMatchObject({ stats_generation: s1['generation'], stats_images: present.size, stats_tokens: present.size * 17 });
    lib.refreshFeatureStats(config.id);
    expect(state()['stats_at']).toBe(s1['stats_at']); // unchanged data: nothing to do
  });
});

describe('library handles expose no SQL', () => {
  it('keep the connection for the store: one statement cache per handle, and a read-only one cannot write', () => {
    const file = lib.file;
    const config = lib.ensureConfig(SYNTH);
    addSyntheticImages(lib, config, 3, 1);
    // @ts-expect-error neither handle type has a database, a statement() or the feature index
    expect(lib.statement).toBeTypeOf('function');
    // @ts-expect-error see above
    expect(lib.db).toBeDefined();
    const ro = Library.open(file, { readonly: true });
    try {
      // @ts-expect-error see above
      expect(ro.index).toBeDefined();
      const c = connection(ro);
      expect(c.statement('SELECT count(*) FROM images')).toBe(c.statement('SELECT count(*) FROM images'));
      expect(connection(ro)).not.toBe(connection(lib));
      expect(ro.read(() => labelRows(ro, config.saeFingerprint))).toEqual([]);
      expect(() => putLabelRow(ro as WritableLibrary, config.saeFingerprint, { feature: 1, label: 'sky', note: '', updatedAt: 1 })).toThrow(/readonly/);
      putLabelRow(lib, config.saeFingerprint, { feature: 1, label: 'sky', note: '', updatedAt: 1 });
      expect(labelRows(ro, config.saeFingerprint).map((r) => r.label)).toEqual(['sky']);
    } finally {
      ro.close();
    }
    expect(() => connection({} as WritableLibrary)).toThrow(/not a library handle/);
  });
});
