/**
 * A feature's activations over a photo's 16 × 16 patch grid, laid over the model's crop as a
 * 16 × 16 image scaled up by CSS with smoothing off: colour from the shared heat table, alpha
 * proportional to value / `scale` (one scale per view). The strongest patch gets a dot.
 *
 * An image, not a canvas per tile: the pixels are drawn once on one scratch canvas and kept as a
 * PNG data URL. Chromium makes a compositing resource for every canvas it paints, and a scrolling
 * gallery of canvases spent 35-60 ms a frame on them (bench:ui's gallery scroll); images of the
 * same pixels cost nothing after their first decode.
 */
import { useEffect, useMemo, useState } from 'react';
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
 * Overlays waiting to be drawn, drawn a few per animation frame within a time budget: a page of
 * tiles arriving at once must not draw all its overlays in one long task.
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

let scratch: HTMLCanvasElement | null = null;

/** The heat as a 16 × 16 PNG data URL. */
function heatImage(heat: TokenHeat, scale: number): string {
  scratch ??= Object.assign(document.createElement('canvas'), { width: 16, height: 16 });
  const ctx = scratch.getContext('2d');
  if (!ctx) return '';
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
  // Replaces every pixel, alpha included: nothing of the previous tile's heat is left.
  ctx.putImageData(img, 0, 0);
  return scratch.toDataURL('image/png');
}

/**
 * The overlay appears once its turn comes; a new heat or scale draws it again in a later turn
 * (the previous picture stays until then).
 */
export function HeatOverlay({ heat, scale, label }: { heat: TokenHeat; scale: number; label: string }) {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => inTurn(() => setUrl(heatImage(heat, scale))), [heat, scale]);
  const peak = useMemo(() => peakPatch(heat), [heat]);
  if (!url) return null;
  return (
    <>
      <img src={url} className="heat-overlay" alt={label} data-peak={peak?.token ?? ''} draggable={false} />
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

/** The colour scale of a view: 0 .. `max`, the same table the overlays use; `what` explains it. */
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
