/** Numbers as people read them: each with its unit. */
const int = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

export function count(n: number, one: string, many = `${one}s`): string {
  return `${int.format(n)} ${n === 1 ? one : many}`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = -1;
  do {
    v /= 1024;
    i++;
  } while (v >= 1024 && i < units.length - 1);
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function duration(seconds: number): string {
  if (seconds < 1) return 'under 1 s';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function when(ms: number | null): string {
  return ms === null ? 'never' : dateTime.format(new Date(ms));
}

export function fixed(n: number | null, digits = 3): string {
  return n === null || !Number.isFinite(n) ? '—' : n.toFixed(digits);
}

export function percent(n: number | null, digits = 1): string {
  return n === null ? '—' : `${(n * 100).toFixed(digits)} %`;
}

/** The last path segment, for compact labels (the full path goes in a tooltip). */
export function baseName(path: string): string {
  const parts = path.split(/[\\/]/).filter(Boolean);
  return parts[parts.length - 1] ?? path;
}
