/**
 * "At layer L2": what an edit at layer L does to the SAE features of a later layer the library
 * has an SAE for. Features gained and lost (and those that changed most) on the CLS token and,
 * for edits beyond CLS, pooled over the edited tokens; each links to its feature page at L2.
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import type { FeatureInfo } from '../../../common/contract/explore-schemas.js';
import type { LaterLayer } from '../../../common/contract/steering-schemas.js';
import { engine } from '../platform.js';
import { keys } from '../queries.js';

type Change = LaterLayer['cls']['gained'][number];
type Diff = LaterLayer['cls'];

/** Rows shown per list; the rest are counted. */
const SHOWN = 8;

export function LaterLayers({ later, libraryFile }: { later: LaterLayer[]; libraryFile: string }) {
  return (
    <>
      {later.map((l) => (
        <LaterLayerPanel key={l.layer} l={l} libraryFile={libraryFile} />
      ))}
    </>
  );
}

function LaterLayerPanel({ l, libraryFile }: { l: LaterLayer; libraryFile: string }) {
  const views = [l.cls, ...(l.edited ? [l.edited] : [])];
  const ids = [...new Set(views.flatMap((d) => [...d.gained, ...d.lost, ...d.changed].map((c) => c.feature)))].sort((a, b) => a - b);
  const labels = useQuery({
    queryKey: [...keys.lib, 'features.search', libraryFile, l.layer, ids],
    queryFn: () => engine['features.search']({ features: ids, limit: Math.max(1, ids.length), sort: 'id', layer: l.layer }),
    enabled: ids.length > 0,
    placeholderData: keepPreviousData,
  });
  const info = new Map((labels.data?.items ?? []).map((f) => [f.feature, f]));
  const title = `later-${l.layer}-title`;
  return (
    <section className="later-layer" aria-labelledby={title} data-testid="later-layer" data-layer={l.layer}>
      <h3 id={title} className="later-title">
        At layer {l.layer}
        <span className="muted small"> — the features of layer {l.layer}'s SAE (configuration #{l.configId}) after the edit, against the photo as it is</span>
      </h3>
      <div className="later-cols">
        <DiffView
          name="CLS token"
          testid="later-cls"
          d={l.cls}
          layer={l.layer}
          info={info}
          unit="latent on the CLS token (0 = not among its kept features)"
        />
        {l.edited ? (
          <DiffView
            name={`Edited tokens (mean over ${l.editedTokens})`}
            testid="later-edited"
            d={l.edited}
            layer={l.layer}
            info={info}
            unit={`mean latent over the ${l.editedTokens} edited tokens (0 where a token does not keep it); the 32 largest means are the region's features`}
          />
        ) : (
          <p className="muted small later-note">The edits touch the CLS token only: its column is the whole story.</p>
        )}
      </div>
    </section>
  );
}

function DiffView({ name, testid, d, layer, info, unit }: {
  name: string; testid: string; d: Diff; layer: number; info: Map<number, FeatureInfo>; unit: string;
}) {
  const none = d.gained.length + d.lost.length + d.changed.length === 0;
  return (
    <div className="later-view" data-testid={testid}>
      <h4 className="later-view-title small">{name}</h4>
      {none ? (
        <p className="muted small">Unchanged: the same features with the same values.</p>
      ) : (
        <>
          <ChangeList title="Gained" kind="gained" testid={`${testid}-gained`} xs={d.gained} layer={layer} info={info} unit={unit} />
          <ChangeList title="Lost" kind="lost" testid={`${testid}-lost`} xs={d.lost} layer={layer} info={info} unit={unit} />
          <ChangeList title="Changed most" kind="changed" testid={`${testid}-changed`} xs={d.changed} layer={layer} info={info} unit={unit} />
        </>
      )}
    </div>
  );
}

function ChangeList({ title, kind, testid, xs, layer, info, unit }: {
  title: string; kind: 'gained' | 'lost' | 'changed'; testid: string; xs: Change[]; layer: number; info: Map<number, FeatureInfo>; unit: string;
}) {
  if (xs.length === 0) return null;
  const shown = xs.slice(0, SHOWN);
  return (
    <div className="later-list-wrap">
      <div className="later-list-title small">
        <span className={`later-kind later-${kind}`}>{title}</span> <span className="muted">{xs.length}</span>
      </div>
      <ul className="later-list" data-testid={testid}>
        {shown.map((c) => {
          const label = info.get(c.feature)?.label;
          const tip = `Feature ${c.feature} at layer ${layer}: ${fmt(c.before)} before → ${fmt(c.after)} after the edit (${unit}).`;
          return (
            <li key={c.feature} className="later-item" data-feature={c.feature} data-before={c.before} data-after={c.after}>
              <Link to="/feature/$id" params={{ id: String(c.feature) }} search={{ token: 'cls', layer }} className="later-feature num" title={`Open feature ${c.feature} of layer ${layer}`}>
                #{c.feature}
              </Link>
              <span className="later-label min0" title={label || undefined}>{label || <span className="muted">no label</span>}</span>
              <span className="later-values num small" title={tip}>
                {fmt(c.before)} → {fmt(c.after)}
              </span>
            </li>
          );
        })}
      </ul>
      {xs.length > SHOWN && <p className="muted small">and {xs.length - SHOWN} more</p>}
    </div>
  );
}

function fmt(v: number): string {
  return v === 0 ? '0' : Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2);
}
