/** The stored activation histograms of many features of one config in one statement (a table page's). */
import { decodeHistogram, type HistogramBin } from './feature-stats.js';
import { statement } from './connection.js';
import type { ReadonlyLibrary } from './library.js';

/** Each feature's histogram (empty when it never fired or statistics were not computed yet). */
export function featureHistograms(lib: ReadonlyLibrary, configId: number, features: readonly number[]): Map<number, HistogramBin[]> {
  // CROSS JOIN keeps the id list the outer loop: point lookups by primary key, not a scan of the
  // config's 65,536 rows with their histograms (20x slower on a page of 25).
  const rows = statement<{ feature: number; histogram: Buffer | null }>(lib, `SELECT s.feature, s.histogram FROM json_each(?) j
      CROSS JOIN feature_stats s ON s.config_id = ? AND s.feature = j.value`).all(JSON.stringify([...new Set(features)]), configId);
  return new Map(rows.map((r) => [r.feature, decodeHistogram(r.histogram)]));
}
