/**
 * A feature's activations over a photo's 16 × 16 patch grid, drawn on a 16 × 16 canvas laid over
 * the model's crop (scaled up by CSS with smoothing off): colour from the shared heat table,
 * alpha proportional to value / `scale` (one scale per view). The strongest patch gets a dot.
 */
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { heatColor } from './heat.js';

export interface TokenHeat {
  tokens: number[];
  values: number[];
}

/** The strongest patch (1..256) and its value, or null when the feature is not active on any patch. */
export function peakPatch(h: TokenHeat): { token: number; value: number } | null {
  let token = 0;
  let value = 0;
  for (let i = 0; i < h.tokens.length; i++) {
    const t = h.tokens[i]!;
    const v = h.values[i]!;
    if (t >= 1 && t <= 256 && v > value) [token, value] = [t, v];
  }
  return token ? { token, value } : null;
}

/**
 * Canvases waiting to be drawn, drawn a few per animation frame within a time budget: a page of
 * tiles arriving at once must not draw (and create) all its canvases in one long task.
 */
const pending = new Set<() => void>();
const FRAME_BUDGET_MS = 6;
let scheduled = false;

function pump(): void {
  scheduled = false;
  const until = performance.now() + FRAME_BUDGET_MS;
  for (const job of pending) {
    if (performance.now() >= until) break;
    pending.delete(job);
    job();
  }
  if (pending.size > 0) schedule();
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(pump);
}

/** Runs `job` in a later frame's budget; the returned function cancels it. */
function inTurn(job: () => void): () => void {
  pending.add(job);
  schedule();
  return () => pending.delete(job);
}

/** The heat table as RGB bytes at each of its 256 levels, flat. */
const RGB = (() => {
  const t = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) t.set(heatColor(i / 255), i * 3);
  return t;
})();

function draw(canvas: HTMLCanvasElement, heat: TokenHeat, scale: number): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const img = ctx.createImageData(16, 16);
  const px = img.data;
  const { tokens, values } = heat;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t < 1 || t > 256) continue;
    const f = Math.min(1, values[i]! / scale);
    if (!(f > 0)) continue;
    const k = Math.round(f * 255) * 3;
    const o = (t - 1) * 4;
    px[o] = RGB[k]!;
    px[o + 1] = RGB[k + 1]!;
    px[o + 2] = RGB[k + 2]!;
    px[o + 3] = Math.round(40 + 200 * f);
  }
  ctx.putImageData(img, 0, 0);
}

/**
 * The canvas appears once its turn comes (drawn in the same commit), so a canvas in the page is
 * always a drawn one; a new heat or scale redraws it in place.
 */
export function HeatCanvas({ heat, scale, label }: { heat: TokenHeat; scale: number; label: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const [ready, setReady] = useState(false);
  useEffect(() => (ready ? undefined : inTurn(() => setReady(true))), [ready]);
  useLayoutEffect(() => {
    if (ready && ref.current) draw(ref.current, heat, scale);
  }, [ready, heat, scale]);
  const peak = useMemo(() => peakPatch(heat), [heat]);
  if (!ready) return null;
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
