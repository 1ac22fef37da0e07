/** Sizes and counts for error messages: exact numbers, plus a readable magnitude when large. */

const UNITS = ['KB', 'MB', 'GB', 'TB', 'PB', 'EB'];

/** "52,000 bytes", or "8.6 GB (8,589,934,592 bytes)" once the exact count stops being readable. */
export function formatBytes(n: number | bigint): string {
  const exact = `${n.toLocaleString('en-US')} ${n === 1 || n === 1n ? 'byte' : 'bytes'}`;
  let v = Number(n);
  if (v < 100_000) return exact;
  let unit = -1;
  while (v >= 1000 && unit < UNITS.length - 1) {
    v /= 1000;
    unit++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${UNITS[unit]} (${exact})`;
}

export function formatCount(n: number | bigint): string {
  return n.toLocaleString('en-US');
}

/** "[65536, 1024]" */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
