/** A perceptual dark-to-bright scale (inferno-like), as a 256-entry table built once. */
const STOPS: [number, number, number][] = [
  [0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66], [245, 125, 21], [250, 193, 39], [252, 255, 164],
];

const TABLE: [number, number, number][] = Array.from({ length: 256 }, (_, i) => {
  const t = (i / 255) * (STOPS.length - 1);
  const k = Math.min(STOPS.length - 2, Math.floor(t));
  const f = t - k;
  const a = STOPS[k]!;
  const b = STOPS[k + 1]!;
  return [0, 1, 2].map((j) => Math.round(a[j]! + (b[j]! - a[j]!) * f)) as [number, number, number];
});

export function heatColor(t: number): [number, number, number] {
  const i = Math.max(0, Math.min(255, Math.round((Number.isFinite(t) ? t : 0) * 255)));
  return TABLE[i]!;
}
