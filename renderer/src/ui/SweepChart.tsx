/** A small hand-drawn SVG line: cosine to the original against the slider's value (log-ish x, as the slider). */
import { valueToFraction } from './steer-edits.js';

const W = 360;
const H = 150;
const PAD = { l: 44, r: 12, t: 10, b: 30 };

export function SweepChart({ xs, ys, refValue, current, currentY, unit }: {
  xs: number[];
  ys: number[] | null;
  refValue: number;
  current: number;
  currentY: number | null;
  unit: 'value' | 'scale';
}) {
  const fx = (v: number) => PAD.l + valueToFraction(v, refValue) * (W - PAD.l - PAD.r);
  const lo = ys ? Math.min(...ys, currentY ?? 1) : 0;
  const bottom = Math.min(0.99, Math.floor(lo * 100) / 100);
  const fy = (c: number) => PAD.t + ((1 - c) / (1 - bottom)) * (H - PAD.t - PAD.b);
  const ticks = unit === 'value' ? [0, refValue / 10, refValue, refValue * 10] : [0, 0.1, 1, 10];
  const tickLabel = (v: number, i: number) => (unit === 'value' ? ['0', '0.1× max', 'max', '10× max'][i]! : `×${v}`);
  const points = ys ? xs.map((x, i) => `${fx(x).toFixed(1)},${fy(ys[i]!).toFixed(1)}`).join(' ') : '';
  return (
    <svg
      className="sweep-chart"
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-label={ys ? `Cosine to the original for ${unit}s ${xs.join(', ')}: ${ys.map((y) => y.toFixed(4)).join(', ')}` : 'Computing the sweep'}
      data-testid="sweep-chart"
      data-points={ys ? ys.length : 0}
    >
      <line x1={PAD.l} x2={W - PAD.r} y1={fy(1)} y2={fy(1)} className="axis-line" />
      <line x1={PAD.l} x2={W - PAD.r} y1={fy(bottom)} y2={fy(bottom)} className="axis-line" />
      <text x={PAD.l - 6} y={fy(1) + 4} className="axis-text" textAnchor="end">1</text>
      <text x={PAD.l - 6} y={fy(bottom) + 4} className="axis-text" textAnchor="end">{bottom.toFixed(2)}</text>
      {ticks.map((t, i) => (
        <g key={i}>
          <line x1={fx(t)} x2={fx(t)} y1={fy(bottom)} y2={fy(bottom) + 4} className="axis-line" />
          <text x={fx(t)} y={H - 8} className="axis-text" textAnchor={i === 0 ? 'start' : i === ticks.length - 1 ? 'end' : 'middle'}>{tickLabel(t, i)}</text>
        </g>
      ))}
      <line x1={fx(current)} x2={fx(current)} y1={PAD.t} y2={fy(bottom)} className="sweep-now" />
      {ys && <polyline points={points} className="sweep-line" />}
      {ys && xs.map((x, i) => <circle key={i} cx={fx(x)} cy={fy(ys[i]!)} r={2.5} className="sweep-dot"><title>{`${unit === 'value' ? 'set to' : 'scale'} ${x}: cosine ${ys[i]!.toFixed(4)}`}</title></circle>)}
      {currentY !== null && <circle cx={fx(current)} cy={fy(Math.max(bottom, currentY))} r={4.5} className="sweep-current"><title>{`now: cosine ${currentY.toFixed(4)}`}</title></circle>}
    </svg>
  );
}
