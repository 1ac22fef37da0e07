import type { IndexJob, IndexPhase } from '../../../common/contract/indexing-schemas.js';

export const PHASE_LABEL: Record<IndexPhase, string> = {
  scan: 'Scanning folders',
  hash: 'Checking files',
  encode: 'Encoding photos',
  thumbnails: 'Making thumbnails',
  finish: 'Finishing',
  done: 'Done',
};

/** Share of the current phase done, or null while the total is still being counted. */
export function jobFraction(job: IndexJob): number | null {
  if (job.state === 'done') return 1;
  if (job.total === null || job.total === 0) return null;
  return Math.min(1, job.done / job.total);
}
