/** A feature's activation histogram as small SVG bars (log or linear counts), with one value marked. */
const W = 320;
const H = 120;
const PAD = { l: 6, r: 6, t: 6, b: 22 };

export function Histogram({ bins, marker, log, markerLabel }: { bins: { lo: number; hi: number; count: number }[]; marker: number | null; log: boolean; markerLabel?: string }) {
  if (bins.length === 0) return <p className="muted small">No activations to show.</p>;
  const lo = bins[0]!.lo;
  const hi = bins[bins.length - 1]!.hi;
  const span = hi - lo || 1;
  const h = (c: number) => (log ? Math.log10(1 + c) : c);
  const top = Math.max(...bins.map((b) => h(b.count)), 1e-9);
  const fx = (v: number) => PAD.l + ((v - lo) / span) * (W - PAD.l - PAD.r);
  const base = H - PAD.b;
  const inside = marker !== null && marker >= lo && marker <= hi;
  return (
    <svg className="histogram" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Histogram of activations from ${lo.toFixed(3)} to ${hi.toFixed(3)}${inside ? `; marked: ${marker!.toFixed(3)}` : ''}`} data-testid="histogram">
      {bins.map((b, i) => {
        const y = base - (h(b.count) / top) * (base - PAD.t);
        return (
          <rect key={i} x={fx(b.lo)} y={y} width={Math.max(0.5, fx(b.hi) - fx(b.lo) - 0.6)} height={base - y} className="hist-bar">
            <title>{`${b.lo.toFixed(3)} – ${b.hi.toFixed(3)}: ${b.count.toLocaleString()} tokens`}</title>
          </rect>
        );
      })}
      <line x1={PAD.l} x2={W - PAD.r} y1={base} y2={base} className="axis-line" />
      <text x={PAD.l} y={H - 6} className="axis-text">{lo.toFixed(2)}</text>
      <text x={W - PAD.r} y={H - 6} className="axis-text" textAnchor="end">{hi.toFixed(2)}</text>
      {inside && (
        <g data-testid="histogram-marker" data-value={marker!}>
          <line x1={fx(marker!)} x2={fx(marker!)} y1={PAD.t} y2={base} className="hist-marker" />
          <text x={fx(marker!) + (fx(marker!) > W / 2 ? -5 : 5)} y={PAD.t + 10} className="axis-text hist-marker-text" textAnchor={fx(marker!) > W / 2 ? 'end' : 'start'}>{markerLabel ?? marker!.toFixed(3)}</text>
        </g>
      )}
    </svg>
  );
}
