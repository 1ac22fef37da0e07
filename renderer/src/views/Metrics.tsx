/** The model card's reconstruction table measured on this library, and the per-position MSE map. */
import { useEffect, useRef } from 'react';
import { useQuery } from '@tanstack/react-query';
import { getRouteApi, useNavigate } from '@tanstack/react-router';
import type { LibraryInfo } from '../../../common/contract/library-schemas.js';
import { engine } from '../platform.js';
import { keys, useAppState } from '../queries.js';
import { RequireLibrary } from '../shell/Frame.js';
import { EmptyState, ErrorMessage, Tip } from '../ui/bits.js';
import { fixed, percent } from '../ui/format.js';
import { heatColor } from '../ui/heat.js';

const route = getRouteApi('/metrics');

export function MetricsView() {
  const state = useAppState();
  return <RequireLibrary>{state.data?.library && <Metrics library={state.data.library} />}</RequireLibrary>;
}

function Metrics({ library }: { library: LibraryInfo }) {
  const { layer } = route.useSearch();
  const navigate = useNavigate();
  const layers = [...new Set(library.configs.map((c) => c.layer))].sort((a, b) => a - b);
  const chosen = layer ?? layers[0];
  const metrics = useQuery({
    queryKey: [...keys.lib, 'metrics', library.file, chosen ?? null],
    queryFn: () => engine['metrics.get']({ layer: chosen }),
    enabled: chosen !== undefined,
  });
  if (layers.length === 0) {
    return (
      <div className="view-pad">
        <EmptyState title="No results to measure yet">
          <p>Index the library first (Library → Index); the metrics are computed from the indexed photos.</p>
        </EmptyState>
      </div>
    );
  }
  const m = metrics.data;
  return (
    <div className="view-pad metrics">
      <div className="section-head">
        <h1 className="h-title">Reconstruction metrics</h1>
        <div className="chips" role="group" aria-label="Layer">
          {layers.map((l) => (
            <button key={l} type="button" className={`chip${l === chosen ? ' active' : ''}`} aria-pressed={l === chosen} onClick={() => void navigate({ to: '/metrics', search: { layer: l } })}>
              Layer {l}
            </button>
          ))}
        </div>
      </div>
      {library.demo && <p className="message message-info">The demo model has random weights: these numbers only show how the table reads.</p>}
      <ErrorMessage error={metrics.error} />
      {m && (
        <div className="metrics-body">
          <section className="card">
            <h2>On your library</h2>
            {m.images < 100 && (
              <p className="message message-warn">Measured on {m.images} photos only: under 100, these numbers are noisy.</p>
            )}
            <table className="table metrics-table" data-testid="metrics-table">
              <tbody>
                <Row label="MSE" tip="Mean over tokens and dimensions of (x − x̂)², in squared activation units" value={fixed(m.mse, 4)} id="mse" raw={m.mse} />
                <Row label="Explained variance" tip="1 − residual variance / activation variance, over all tokens" value={percent(m.ev, 2)} id="ev" raw={m.ev} />
                <Row label="Dead features" tip="Share of SAE features that never fire on any token of these photos" value={percent(m.deadFraction, 2)} id="dead" raw={m.deadFraction} />
                <Row label="L0" tip="Mean number of active features per token" value={m.l0 === null ? '—' : `${m.l0.toFixed(2)} features/token`} id="l0" raw={m.l0} />
                <Row label="Photos" tip="Photos measured" value={m.images.toLocaleString()} id="images" raw={m.images} />
                <Row label="Tokens" tip="Tokens measured (257 per photo: CLS + 16 × 16 patches)" value={m.tokens.toLocaleString()} id="tokens" raw={m.tokens} />
                <Row label="Normalisation" tip="How activations were scaled before the SAE" value={m.normalization} id="norm" raw={null} />
              </tbody>
            </table>
          </section>
          <section className="card">
            <h2>MSE by position</h2>
            <p className="muted small">Per-token reconstruction error, averaged over the photos: the 16 × 16 patch grid as the model sees the centre crop, and the CLS token apart.</p>
            <PositionMap values={m.positionMse} />
          </section>
        </div>
      )}
    </div>
  );
}

function Row({ label, tip, value, id, raw }: { label: string; tip: string; value: string; id: string; raw: number | null }) {
  return (
    <tr data-testid={`metric-${id}`} data-value={raw ?? ''}>
      <th scope="row">
        <Tip content={tip}>
          <span tabIndex={0} className="dotted">{label}</span>
        </Tip>
      </th>
      <td className="num">{value}</td>
    </tr>
  );
}

function PositionMap({ values }: { values: number[] }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const hasCls = values.length === 257;
  const cls = hasCls ? values[0]! : null;
  const patches = hasCls ? values.slice(1) : values;
  const max = Math.max(...values, 1e-12);
  useEffect(() => {
    const c = canvas.current;
    const ctx = c?.getContext('2d');
    if (!c || !ctx || patches.length !== 256) return;
    const img = ctx.createImageData(16, 16);
    patches.forEach((v, i) => {
      const [r, g, b] = heatColor(v / max);
      img.data.set([r, g, b, 255], i * 4);
    });
    ctx.putImageData(img, 0, 0);
  }, [patches, max]);
  if (patches.length !== 256) return <p className="muted">No per-position values for this layer.</p>;
  const [cr, cg, cb] = heatColor((cls ?? 0) / max);
  return (
    <div className="posmap">
      <canvas ref={canvas} width={16} height={16} className="posmap-canvas" data-testid="position-mse" aria-label="Per-position MSE, 16 by 16 patches" role="img" />
      <div className="posmap-side">
        {cls !== null && (
          <div className="cls-cell">
            <span className="swatch" style={{ background: `rgb(${cr},${cg},${cb})` }} />
            CLS <span className="num">{cls.toFixed(4)}</span>
          </div>
        )}
        <div className="legend">
          <span className="legend-bar" />
          <div className="legend-labels small muted">
            <span>0</span>
            <span>{max.toFixed(3)}</span>
          </div>
          <div className="small muted">MSE (squared activation units), one scale for CLS and patches</div>
        </div>
      </div>
    </div>
  );
}
