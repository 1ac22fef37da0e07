/**
 * A feature's activation histogram in a table cell: 60 x 16 SVG bars over the activation range
 * (linear, as the feature page's histogram), heights on a log scale so rare strong activations
 * stay visible. The range and the token count are in its label and tooltip.
 */
import type { FeaturePreview } from '../../../common/contract/feature-schemas.js';

const W = 60;
const H = 16;

export function sparklineText(bins: FeaturePreview['histogram']): string {
  if (bins.length === 0) return 'No activations';
  const tokens = bins.reduce((s, b) => s + b.count, 0);
  return `Activation histogram: ${tokens.toLocaleString()} active tokens, activations from ${bins[0]!.lo.toFixed(2)} to ${bins[bins.length - 1]!.hi.toFixed(2)} (bar height: log of the token count)`;
}

export function Sparkline({ bins }: { bins: FeaturePreview['histogram'] }) {
  if (bins.length === 0) return <svg className="sparkline" viewBox={`0 0 ${W} ${H}`} role="img" aria-label="No activations" data-testid="sparkline" data-bins={0} />;
  const lo = bins[0]!.lo;
  const span = bins[bins.length - 1]!.hi - lo || 1;
  const top = Math.max(...bins.map((b) => Math.log10(1 + b.count)));
  const fx = (v: number) => ((v - lo) / span) * W;
  return (
    <svg className="sparkline" viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img" aria-label={sparklineText(bins)} data-testid="sparkline" data-bins={bins.length}>
      {bins.map((b, i) => {
        const h = Math.max(1, (Math.log10(1 + b.count) / top) * H);
        return <rect key={i} x={fx(b.lo)} y={H - h} width={Math.max(0.8, fx(b.hi) - fx(b.lo) - 0.4)} height={h} />;
      })}
    </svg>
  );
}
