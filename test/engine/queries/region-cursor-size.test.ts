/**
 * A region query's cursor must stay small enough to send back: the contract takes cursors of at
 * most 1,000,000 characters and `clipscope serve` request bodies of at most 1 MiB. The library:
 * thousands of synthetic photos on which six features fire nearly everywhere, queried in two
 * patches, so nearly every photo matches and most need their latents read (the strongest token of
 * a feature rarely lies in the region). The app's calls (2,000 reads, then 8,000 per cursor) must
 * give, together, exactly the unbounded page, with every cursor far below the limits.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryImages, type FeatureQuery, type QueryHit } from '../../../main/engine/queries/feature-query.js';
import { Library, type ConfigRow, type WritableLibrary } from '../../../main/engine/store/library.js';
import { addSyntheticImages, SYNTH, tempDir } from '../store/helpers.js';

const PHOTOS = 14_000;
const CONTRACT_MAX = 1_000_000;

let lib: WritableLibrary;
let config: ConfigRow;

beforeAll(async () => {
  lib = Library.open(path.join(await tempDir('clipscope-cursor-size-'), 'library.sqlite'));
  config = lib.ensureConfig(SYNTH);
  // Features 0..5 only: with k = 6 each token holds all six.
  addSyntheticImages(lib, config, PHOTOS, 7, '/photos/synthetic', 6);
}, 300_000);
afterAll(() => lib?.close());

/** The app's calls: a first bounded one, then each cursor with a larger bound. */
function follow(q: FeatureQuery): { items: QueryHit[]; total: number | null; cursors: number[] } {
  const items: QueryHit[] = [];
  const cursors: number[] = [];
  let cursor: string | undefined;
  for (let calls = 1; calls < 1000; calls++) {
    const r = queryImages(lib, config, { ...q, ...(cursor ? { cursor, maxReads: 8000 } : { maxReads: 2000 }) });
    items.push(...r.items);
    if (r.cursor === undefined) return { items, total: r.total, cursors };
    cursors.push(r.cursor.length);
    // What the page sends back: the query and the cursor, as JSON.
    expect(JSON.stringify({ ...q, maxReads: 8000, cursor: r.cursor }).length).toBeLessThan(1 << 20);
    cursor = r.cursor;
  }
  throw new Error('the scan does not end');
}

describe('region query cursors', () => {
  const all = [0, 1, 2, 3, 4, 5].map((feature) => ({ feature }));
  it.each([
    ['the first page', 0, 300],
    ['a later page', 2400, 300],
    ['a large page', 0, 10_000],
  ])('%s: stay far below the request limits, and continue to exactly the unbounded page', (_name, offset, limit) => {
    const q: FeatureQuery = { all, tokens: [1, 2], offset, limit };
    const whole = queryImages(lib, config, q);
    expect(whole.items.length).toBe(limit);
    const paged = follow(q);
    // The bound really cut the scan into several calls.
    expect(paged.cursors.length).toBeGreaterThan(0);
    expect(Math.max(...paged.cursors)).toBeLessThan(CONTRACT_MAX / 2);
    expect(paged.items).toEqual(whole.items);
    expect(paged.total).toBe(whole.total);
    console.log(`offset ${offset}, limit ${limit}: ${paged.cursors.length} cursors, the largest ${Math.max(...paged.cursors).toLocaleString()} characters`);
  });
});
