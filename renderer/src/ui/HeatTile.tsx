/**
 * A feature's activations over a photo's 16 × 16 patch grid, drawn on a 16 × 16 canvas laid over
 * the model's crop (scaled up by CSS with smoothing off): colour from the shared heat table,
 * alpha proportional to value / `scale` (one scale per view). The strongest patch gets a dot.
 */
import { useEffect, useRef } from 'react';
import { heatColor } from './heat.js';

export interface TokenHeat {
  tokens: number[];
  values: number[];
}

/** The strongest patch (1..256) and its value, or null when the feature is not active on any patch. */
export function peakPatch(h: TokenHeat): { token: number; value: number } | null {
  let best: { token: number; value: number } | null = null;
  h.tokens.forEach((t, i) => {
    const v = h.values[i]!;
    if (t >= 1 && t <= 256 && v > 0 && (!best || v > best.value)) best = { token: t, value: v };
  });
  return best;
}

export function HeatCanvas({ heat, scale, label }: { heat: TokenHeat; scale: number; label: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const ctx = ref.current?.getContext('2d');
    if (!ctx) return;
    const img = ctx.createImageData(16, 16);
    heat.tokens.forEach((t, i) => {
      if (t < 1 || t > 256) return;
      const f = Math.max(0, Math.min(1, heat.values[i]! / scale));
      if (f <= 0) return;
      const [r, g, b] = heatColor(f);
      img.data.set([r, g, b, Math.round(40 + 200 * f)], (t - 1) * 4);
    });
    ctx.putImageData(img, 0, 0);
  }, [heat, scale]);
  const peak = peakPatch(heat);
  return (
    <>
      <canvas ref={ref} width={16} height={16} className="heat-canvas" role="img" aria-label={label} data-peak={peak?.token ?? ''} />
      {peak && (
        <span
          className="heat-peak"
          style={{ left: `${(((peak.token - 1) % 16) + 0.5) * 6.25}%`, top: `${(Math.floor((peak.token - 1) / 16) + 0.5) * 6.25}%` }}
          aria-hidden
        />
      )}
    </>
  );
}

/** The colour scale of a view: 0 .. `max`, the same table the canvases use; `what` explains it. */
export function HeatLegend({ max, what }: { max: number; what: string }) {
  return (
    <div className="heat-legend small muted" data-testid="heat-legend" data-max={max} title={what}>
      <span>Heat</span>
      <span className="num">0</span>
      <span className="legend-bar" />
      <span className="num">{max.toFixed(3)}</span>
    </div>
  );
}
