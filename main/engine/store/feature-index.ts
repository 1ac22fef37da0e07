/**
 * The feature index: which present images each feature fires in, how strongly, at which token.
 *
 * A gallery wants one feature's images sorted by activation, so the index is feature-major:
 * `postings` holds, per (config, kind, segment of 4096 image ids, feature), 6-byte entries
 * sorted by activation, the 64 strongest (the head: all a gallery page needs) apart from the
 * rest. But an image adds entries for ~1000 features, and writing them into feature-major
 * storage one image at a time would touch ~1000 places per image. So a new image's entries
 * first go to `recent_entries` as ONE blob (its entries, sorted by feature), and `compact` merges
 * the recent images into postings in bulk: each touched posting is rewritten once per compaction,
 * not once per image, and only in the segments being filled. A reader merges at most one sorted
 * run per segment plus the recent images (a binary search in each one's blob). Entries exist
 * exactly for present images that have a result: the Library adds and removes them with the
 * results and with image presence.
 */
import type Database from 'better-sqlite3';
import { FeatureTotals } from './feature-stats.js';
import {
  concatPostings, decodeImageEntries, decodePosting, emptyPosting, encodeImageEntries, encodePosting, filterPosting, findFeature, KIND_CLS,
  KIND_POOLED, mergePostings, SEGMENT_BITS, SEGMENT_SIZE, type EntryKind, type FeatureEntries, type ImageEntries, type Posting,
} from './entries.js';

/**
 * A run of entries sorted by activation (descending), then image id (ascending). Entry i is
 * image base + offset[i] (a posting keeps offsets in its segment; nothing is converted until read).
 */
export interface EntryRun {
  /** Entries loaded (the strongest ones). */
  readonly n: number;
  /** Entries in the run (more than n when only a posting's head was read). */
  readonly total: number;
  readonly act: Uint16Array;
  readonly base: number;
  readonly offset: Uint16Array | Int32Array;
  readonly token: Uint16Array;
}

/** Where an image's entries are (results.indexed). */
export const INDEXED_NONE = 0;
export const INDEXED_RECENT = 1;
export const INDEXED_POSTINGS = 2;

/**
 * Compact once this many results of a config are recent. Larger: fewer posting rewrites per
 * image while indexing; smaller: less for queries to scan in between.
 */
export const COMPACT_AFTER_IMAGES = 512;

/** A posting's strongest entries, kept apart (its head) so that galleries read only them. */
export const HEAD_ENTRIES = 64;

/** Removals of up to this many images are queued for the statistics (stats_pending). */
const PENDING_MAX_IMAGES = 32;

type Statement = Database.Statement;

const kindOf = (e: ImageEntries, kind: EntryKind): FeatureEntries => (kind === KIND_CLS ? e.cls : e.pooled);

export class FeatureIndex {
  private readonly stmts = new Map<string, Statement>();
  constructor(private readonly db: Database.Database) {}

  private q(sql: string): Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  /** Adds one image's entries (to recent_entries). */
  add(configId: number, resultId: number, imageId: number, entries: ImageEntries): void {
    this.q('INSERT OR REPLACE INTO recent_entries (result_id, config_id, image_id, entries) VALUES (?, ?, ?, ?)')
      .run(resultId, configId, imageId, encodeImageEntries(entries));
  }

  /** Removes a result's entries from recent_entries. */
  removeRecent(resultId: number): void {
    this.q('DELETE FROM recent_entries WHERE result_id = ?').run(resultId);
  }

  /**
   * Removes several images' entries from postings, rewriting each touched posting once, and
   * takes their contributions out of the feature statistics.
   */
  removeFromPostings(configId: number, nFeatures: number, images: readonly { imageId: number; entries: ImageEntries; codes: Uint8Array }[]): void {
    if (images.length <= PENDING_MAX_IMAGES) {
      // Reading and writing the totals blob (~18 MB at 65,536 features) for one image would
      // dominate: queue the images, the next compaction takes them out.
      const pend = this.q('INSERT INTO stats_pending (config_id, codes) VALUES (?, ?)');
      for (const im of images) pend.run(configId, im.codes);
    } else {
      const totals = FeatureTotals.load(this.db, configId, nFeatures);
      for (const im of images) totals.addImage(im.codes, -1);
      totals.save(this.db, configId);
    }
    const drops = new Map<string, { kind: EntryKind; segment: number; feature: number; offsets: Set<number> }>();
    for (const { imageId, entries } of images) {
      const segment = imageId >> SEGMENT_BITS;
      const offset = imageId & (SEGMENT_SIZE - 1);
      for (const [kind, e] of [[KIND_POOLED, entries.pooled], [KIND_CLS, entries.cls]] as const) {
        for (const feature of e.feature) {
          const key = `${kind}:${segment}:${feature}`;
          let d = drops.get(key);
          if (!d) drops.set(key, (d = { kind, segment, feature, offsets: new Set() }));
          d.offsets.add(offset);
        }
      }
    }
    for (const d of drops.values()) {
      const old = this.posting(configId, d.kind, d.segment, d.feature);
      if (old) this.putPosting(configId, d.kind, d.segment, d.feature, filterPosting(old, d.offsets));
    }
  }

  /** A whole posting (head and tail). */
  private posting(configId: number, kind: EntryKind, segment: number, feature: number): Posting | null {
    const row = this.q('SELECT head, tail FROM postings WHERE config_id = ? AND kind = ? AND segment = ? AND feature = ?')
      .get(configId, kind, segment, feature) as { head: Buffer; tail: Buffer | null } | undefined;
    if (!row) return null;
    const head = decodePosting(row.head);
    return row.tail ? concatPostings(head, decodePosting(row.tail)) : head;
  }

  private putPosting(configId: number, kind: EntryKind, segment: number, feature: number, p: Posting): void {
    if (p.n === 0) {
      this.q('DELETE FROM postings WHERE config_id = ? AND kind = ? AND segment = ? AND feature = ?').run(configId, kind, segment, feature);
      return;
    }
    const h = Math.min(p.n, HEAD_ENTRIES);
    const part = (from: number, to: number): Buffer =>
      encodePosting({ n: to - from, act: p.act.subarray(from, to), offset: p.offset.subarray(from, to), token: p.token.subarray(from, to) });
    this.q(`INSERT INTO postings (config_id, kind, segment, feature, n, head, tail) VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (config_id, kind, segment, feature) DO UPDATE SET n = excluded.n, head = excluded.head, tail = excluded.tail`)
      .run(configId, kind, segment, feature, p.n, part(0, h), p.n > h ? part(h, p.n) : null);
  }

  recentImages(configId: number): number {
    return this.q('SELECT count(*) FROM recent_entries WHERE config_id = ?').pluck().get(configId) as number;
  }

  /** Whether a compaction has anything to do (recent images, or queued removals from the statistics). */
  needsCompaction(configId: number): boolean {
    return this.recentImages(configId) > 0 || this.q('SELECT 1 FROM stats_pending WHERE config_id = ? LIMIT 1').get(configId) !== undefined;
  }

  private recent(configId: number): { image: number; entries: ImageEntries }[] {
    return (this.q('SELECT image_id, entries FROM recent_entries WHERE config_id = ? ORDER BY image_id').raw().all(configId) as [number, Buffer][])
      .map(([image, blob]) => ({ image, entries: decodeImageEntries(blob) }));
  }

  /**
   * Merges every recent image of a config into postings, and adds their contributions to the
   * feature statistics. Call inside a write transaction.
   */
  compact(configId: number, nFeatures: number): number {
    const recent = this.recent(configId);
    const totals = FeatureTotals.load(this.db, configId, nFeatures);
    const codes = this.q('SELECT l.codes FROM recent_entries r JOIN latents l ON l.result_id = r.result_id WHERE r.config_id = ?').pluck();
    for (const blob of codes.iterate(configId) as IterableIterator<Buffer>) totals.addImage(blob, 1);
    for (const blob of this.q('SELECT codes FROM stats_pending WHERE config_id = ?').pluck().iterate(configId) as IterableIterator<Buffer>) totals.addImage(blob, -1);
    this.q('DELETE FROM stats_pending WHERE config_id = ?').run(configId);
    totals.save(this.db, configId);
    let moved = 0;
    for (const kind of [KIND_POOLED, KIND_CLS] as const) {
      // Bucket the entries by feature (a counting sort). Images come in ascending id order, so
      // each bucket is sorted by image; a stable sort by activation keeps that for ties.
      let maxFeature = -1;
      let n = 0;
      for (const r of recent) {
        const f = kindOf(r.entries, kind).feature;
        n += f.length;
        if (f.length) maxFeature = Math.max(maxFeature, f[f.length - 1]!);
      }
      const start = new Uint32Array(maxFeature + 2);
      for (const r of recent) for (const f of kindOf(r.entries, kind).feature) start[f + 1]!++;
      for (let f = 0; f <= maxFeature; f++) start[f + 1]! += start[f]!;
      const fill = start.slice(0, maxFeature + 1);
      const act = new Uint16Array(n);
      const image = new Int32Array(n);
      const token = new Uint16Array(n);
      for (const r of recent) {
        const e = kindOf(r.entries, kind);
        for (let i = 0; i < e.feature.length; i++) {
          const at = fill[e.feature[i]!]!++;
          act[at] = e.act[i]!;
          image[at] = r.image;
          token[at] = e.token[i]!;
        }
      }
      for (let f = 0; f <= maxFeature; f++) {
        const a = start[f]!;
        const b = start[f + 1]!;
        if (a === b) continue;
        const order = Array.from({ length: b - a }, (_, i) => a + i).sort((x, y) => act[y]! - act[x]!);
        const bySegment = new Map<number, number[]>();
        for (const i of order) {
          const seg = image[i]! >> SEGMENT_BITS;
          let list = bySegment.get(seg);
          if (!list) bySegment.set(seg, (list = []));
          list.push(i);
        }
        for (const [segment, list] of bySegment) {
          const add = emptyPosting(list.length);
          list.forEach((i, k) => {
            add.act[k] = act[i]!;
            add.offset[k] = image[i]! & (SEGMENT_SIZE - 1);
            add.token[k] = token[i]!;
          });
          const fresh: Posting = { n: list.length, ...add };
          const old = this.posting(configId, kind, segment, f);
          this.putPosting(configId, kind, segment, f, old ? mergePostings(old, fresh) : fresh);
        }
      }
      moved += n;
    }
    this.q('DELETE FROM recent_entries WHERE config_id = ?').run(configId);
    this.q(`UPDATE results SET indexed = ${INDEXED_POSTINGS} WHERE config_id = ? AND indexed = ${INDEXED_RECENT}`).run(configId);
    return moved;
  }

  /** The highest segment that can hold entries (from the largest image id ever given). */
  lastSegment(): number {
    const maxId = (this.q("SELECT seq FROM sqlite_sequence WHERE name = 'images'").pluck().get() as number | undefined) ?? 0;
    return maxId >> SEGMENT_BITS;
  }

  /**
   * The entries of one feature as sorted runs (one per segment plus the recent images): all of
   * them, or, with `first` <= HEAD_ENTRIES, at least the `first` strongest of each run (enough
   * for the `first` strongest overall), reading only the postings' heads.
   */
  runs(configId: number, kind: EntryKind, feature: number, first = Infinity): EntryRun[] {
    const out: EntryRun[] = [];
    const headOnly = first <= HEAD_ENTRIES;
    const get = this.q(`SELECT n, head${headOnly ? '' : ', tail'} FROM postings WHERE config_id = ? AND kind = ? AND segment = ? AND feature = ?`);
    for (let s = 0, last = this.lastSegment(); s <= last; s++) {
      const row = get.get(configId, kind, s, feature) as { n: number; head: Buffer; tail?: Buffer | null } | undefined;
      if (!row) continue;
      const head = decodePosting(row.head);
      const p = row.tail ? concatPostings(head, decodePosting(row.tail)) : head;
      out.push({ n: p.n, total: row.n, act: p.act, base: s << SEGMENT_BITS, offset: p.offset, token: p.token });
    }
    // Recent images: a binary search in each one's entries, then sorted like a posting.
    const hits: { act: number; image: number; token: number }[] = [];
    for (const r of this.recent(configId)) {
      const e = kindOf(r.entries, kind);
      const i = findFeature(e.feature, feature);
      if (i >= 0) hits.push({ act: e.act[i]!, image: r.image, token: e.token[i]! });
    }
    if (hits.length) {
      hits.sort((a, b) => b.act - a.act || a.image - b.image);
      out.push({
        n: hits.length,
        total: hits.length,
        act: Uint16Array.from(hits, (h) => h.act),
        base: 0,
        offset: Int32Array.from(hits, (h) => h.image),
        token: Uint16Array.from(hits, (h) => h.token),
      });
    }
    return out;
  }

  /** The largest activation (float16 bits) of a feature: the first entry of each run. */
  maxBits(configId: number, feature: number): number {
    let best = 0;
    for (const run of this.runs(configId, KIND_POOLED, feature, 1)) if (run.n && run.act[0]! > best) best = run.act[0]!;
    return best;
  }

  /** Number of features with at least one entry of this kind (i.e. that fired in a present image). */
  firedFeatures(configId: number, kind: EntryKind): number {
    const fired = new Set(this.q('SELECT DISTINCT feature FROM postings WHERE config_id = ? AND kind = ?').pluck().all(configId, kind) as number[]);
    for (const r of this.recent(configId)) for (const f of kindOf(r.entries, kind).feature) fired.add(f);
    return fired.size;
  }
}
