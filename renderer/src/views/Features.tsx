/**
 * Every SAE feature of the library's configuration as a virtualised table (pages of 200 from
 * `features.search` as rows come into view): id, label, firing frequency on a log bar, largest
 * activation, photos, an activation-histogram sparkline and the strongest photos (one
 * `features.previews` call per block of visible rows, once scrolling pauses). Search by label / note text or id, hide dead or dense ones, sort; all in
 * the URL (`#/features?q=&sort=freq|max|id&dead=hide&dense=hide`).
 */
import { useDeferredValue, useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { useQuery } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { getRouteApi, Link, useNavigate } from '@tanstack/react-router';
import { ArrowDown, ArrowUp } from 'lucide-react';
import type { FeatureSearchRequest, FeatureSearchResult } from '../../../common/contract/explore-schemas.js';
import type { LibraryInfo } from '../../../common/contract/library-schemas.js';
import { engine, errorText } from '../platform.js';
import { keys, useAppState } from '../queries.js';
import { RequireLibrary } from '../shell/Frame.js';
import { EmptyState, ErrorMessage, Tip } from '../ui/bits.js';
import { useDebounced } from '../ui/hooks.js';
import { Sparkline, sparklineText } from '../ui/Sparkline.js';
import { ThumbStrip } from '../ui/ThumbStrip.js';
import type { FeaturesSearch, FeatureSort } from '../ui/search-params.js';

const route = getRouteApi('/features');
const PAGE = 200;
const ROW = 42;
/** Rows whose previews come in one call: PAGE is a multiple, so a block never spans two pages. */
const PREVIEW_BLOCK = 25;
const THUMBS = 4;
const SORTS: Record<FeatureSort, 'frequency' | 'max' | 'id'> = { freq: 'frequency', max: 'max', id: 'id' };

export function FeaturesView() {
  const state = useAppState();
  return <RequireLibrary>{state.data?.library && <Features library={state.data.library} />}</RequireLibrary>;
}

/** The engine request for the URL's filters (without paging). */
function requestOf(s: FeaturesSearch, layer: number | undefined): Omit<FeatureSearchRequest, 'limit' | 'offset'> {
  const q = (s.q ?? '').trim();
  const id = /^#?\d+$/.test(q) ? Number(q.replace('#', '')) : null;
  const sort = s.sort ?? 'freq';
  return {
    layer,
    sort: SORTS[sort],
    ascending: (s.order ?? (sort === 'id' ? 'asc' : 'desc')) === 'asc',
    ...(id !== null ? { features: [id] } : q ? { text: q } : {}),
    ...(s.dead === 'hide' ? { dead: false } : {}),
    ...(s.dense === 'hide' ? { dense: false } : {}),
  };
}

function Features({ library }: { library: LibraryInfo }) {
  const search = route.useSearch();
  const navigate = useNavigate();
  const layers = [...new Set(library.configs.map((c) => c.layer))].sort((a, b) => a - b);
  const layer = search.layer ?? layers[0];
  const set = (patch: Partial<FeaturesSearch>) =>
    void navigate({ from: '/features', to: '/features', search: (prev: FeaturesSearch) => clean({ ...prev, ...patch }), replace: true });
  const [text, setText] = useState(search.q ?? '');
  const typed = useDebounced({ q: text }, 250);
  useEffect(() => {
    if ((typed.q || undefined) !== search.q) set({ q: typed.q || undefined });
    // Only the debounced text drives the URL here (deps: the text alone).
  }, [typed.q]);

  const request = requestOf(search, layer);
  const first = usePage(library.file, request, 0, layer !== undefined);
  const scroller = useRef<HTMLDivElement>(null);
  const total = first.data?.total ?? 0;
  const virtualizer = useVirtualizer({ count: total, getScrollElement: () => scroller.current, estimateSize: () => ROW, overscan: 12 });
  const requestKey = JSON.stringify(request);
  useEffect(() => virtualizer.scrollToOffset(0), [requestKey, virtualizer]);

  if (layer === undefined) {
    return (
      <div className="view-pad">
        <EmptyState title="No features to list yet">
          <p>Index the library first; the features table reads the indexed results.</p>
        </EmptyState>
      </div>
    );
  }
  const sort = search.sort ?? 'freq';
  const descending = !request.ascending;
  const info = first.data;
  const header = (key: FeatureSort, label: string, tip: string, className = '') => (
    <div role="columnheader" className={`ft-cell ${className}`} aria-sort={sort === key ? (descending ? 'descending' : 'ascending') : 'none'}>
      <Tip content={tip}>
        <button type="button" className={`ft-sort${sort === key ? ' active' : ''}`} onClick={() => set(sort === key ? { order: descending ? 'asc' : 'desc' } : { sort: key, order: undefined })}>
          {label}
          {sort === key && (descending ? <ArrowDown size={12} aria-hidden /> : <ArrowUp size={12} aria-hidden />)}
        </button>
      </Tip>
    </div>
  );

  return (
    <div className="features-view">
      <div className="section-head">
        <div className="row">
          <h1 className="h-title">Features</h1>
          {info && <span className="muted small">layer {info.layer} · {info.nFeatures.toLocaleString()} features · {info.libraryImages.toLocaleString()} photos</span>}
        </div>
        {layers.length > 1 && (
          <div className="chips" role="group" aria-label="Layer">
            {layers.map((l) => (
              <button key={l} type="button" className={`chip${l === layer ? ' active' : ''}`} aria-pressed={l === layer} onClick={() => set({ layer: l })}>
                Layer {l}
              </button>
            ))}
          </div>
        )}
      </div>
      <div className="ft-filters row">
        <input type="search" className="ft-search" placeholder="Search labels and notes, or a feature id" aria-label="Search features" value={text} onChange={(e) => setText(e.target.value)} />
        <label className="check">
          <input type="checkbox" checked={search.dead === 'hide'} onChange={(e) => set({ dead: e.target.checked ? 'hide' : undefined })} />
          Hide dead
        </label>
        <label className="check">
          <input type="checkbox" checked={search.dense === 'hide'} onChange={(e) => set({ dense: e.target.checked ? 'hide' : undefined })} />
          Hide dense (≥ 10 % of tokens)
        </label>
        <label className="check">
          Sort by
          <select value={sort} onChange={(e) => set({ sort: e.target.value as FeatureSort, order: undefined })} aria-label="Sort by">
            <option value="freq">firing frequency</option>
            <option value="max">largest activation</option>
            <option value="id">id</option>
          </select>
        </label>
        <span className="muted small grow" data-testid="features-total">{info ? `${total.toLocaleString()} ${total === 1 ? 'feature' : 'features'}` : ''}</span>
      </div>
      {library.demo && <p className="message message-info">Demo model, random weights: no feature means anything; the table shows how the view works.</p>}
      {info?.stale && <p className="message message-warn">These statistics predate the latest indexing; they are refreshed when the next run ends.</p>}
      <ErrorMessage error={first.error} />
      <div className="ft" role="table" aria-label="Features" aria-rowcount={total + 1} data-testid="features-table">
        <div role="rowgroup" className="ft-head">
          <div role="row" className="ft-row">
            {header('id', 'Feature', 'SAE feature index', 'ft-id')}
            <div role="columnheader" className="ft-cell ft-label">Label</div>
            {header('freq', 'Firing frequency', 'Share of all tokens (CLS and patches) of the library where the feature is active; log scale from 1 in a million to all', 'ft-freq')}
            {header('max', 'Max activation', 'Largest SAE activation anywhere in the library', 'ft-max num')}
            <div role="columnheader" className="ft-cell ft-images num">
              <Tip content="Photos where it fires on at least one token">
                <span tabIndex={0} className="dotted">Photos</span>
              </Tip>
            </div>
            <div role="columnheader" className="ft-cell ft-spark">
              <Tip content="Histogram of its activations over the tokens where it fires: activation from left (lowest) to right (highest), bar height the log of the token count">
                <span tabIndex={0} className="dotted">Activations</span>
              </Tip>
            </div>
            <div role="columnheader" className="ft-cell ft-thumbs">
              <Tip content={`Its ${THUMBS} strongest photos, each at its strongest token`}>
                <span tabIndex={0} className="dotted">Top photos</span>
              </Tip>
            </div>
          </div>
        </div>
        <div role="rowgroup" className="ft-body" ref={scroller}>
          {first.data && total === 0 && <EmptyState title="No feature matches">{search.q ? <p>Nothing has "{search.q}" in its label or note.</p> : null}</EmptyState>}
          <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
            {virtualizer.getVirtualItems().map((v) => (
              <FeatureRow key={v.key} index={v.index} top={v.start} libraryFile={library.file} request={request} layer={layer} scrolling={virtualizer.isScrolling} />
            ))}
          </div>
        </div>
      </div>
    </div>
  );
}

function clean(s: FeaturesSearch): FeaturesSearch {
  const out: FeaturesSearch = {};
  for (const [k, v] of Object.entries(s)) if (v !== undefined && v !== '') (out as Record<string, unknown>)[k] = v;
  return out;
}

function usePage(libraryFile: string, request: Omit<FeatureSearchRequest, 'limit' | 'offset'>, page: number, enabled = true) {
  return useQuery({
    queryKey: [...keys.lib, 'features', libraryFile, request, page],
    queryFn: () => engine['features.search']({ ...request, limit: PAGE, offset: page * PAGE }),
    enabled,
    staleTime: 60_000,
  });
}

/**
 * The previews of the block of rows `index` is in: every row of a block asks with the same key,
 * so react-query makes one call for them all. Not while scrolling: blocks flown past ask nothing.
 */
function usePreviews(libraryFile: string, layer: number, page: FeatureSearchResult | undefined, index: number, scrolling: boolean) {
  const start = (index - (index % PREVIEW_BLOCK)) % PAGE;
  const ids = page?.items.slice(start, start + PREVIEW_BLOCK).map((f) => f.feature) ?? [];
  return useQuery({
    queryKey: [...keys.lib, 'features.previews', libraryFile, layer, ids],
    queryFn: () => engine['features.previews']({ features: ids, layer, thumbs: THUMBS }),
    enabled: ids.length > 0 && !scrolling,
    staleTime: 60_000,
  });
}

function FeatureRow({ index, top, libraryFile, request, layer, scrolling }: {
  index: number; top: number; libraryFile: string; request: Omit<FeatureSearchRequest, 'limit' | 'offset'>; layer: number; scrolling: boolean;
}) {
  const page = usePage(libraryFile, request, Math.floor(index / PAGE));
  const previews = usePreviews(libraryFile, layer, page.data, index, scrolling);
  const navigate = useNavigate();
  // Rows take their answers in a transition React can interrupt: a screen of rows with
  // sparklines and thumbnail strips is otherwise one long task when an answer arrives.
  const pageData = useDeferredValue(page.data);
  const previewData = useDeferredValue(previews.data);
  const f = pageData?.items[index % PAGE];
  const preview = previewData?.items.find((p) => p.feature === f?.feature);
  const style = { transform: `translateY(${top}px)`, height: ROW };
  if (!f) return <div role="row" className="ft-row ft-loading" style={style} aria-rowindex={index + 2} />;
  const open = () => void navigate({ to: '/feature/$id', params: { id: String(f.feature) }, search: { token: 'cls', layer } });
  const bar = f.frequency > 0 ? Math.max(2, Math.min(100, ((Math.log10(f.frequency) + 6) / 6) * 100)) : 0;
  return (
    <div
      role="row"
      className="ft-row"
      style={style}
      aria-rowindex={index + 2}
      data-testid="feature-row"
      data-feature={f.feature}
      tabIndex={-1}
      onClick={(e) => {
        if (!(e.target as HTMLElement).closest('a')) open();
      }}
      onKeyDown={(e: KeyboardEvent) => {
        if (e.key === 'Enter') open();
      }}
    >
      <div role="cell" className="ft-cell ft-id">
        <Link to="/feature/$id" params={{ id: String(f.feature) }} search={{ token: 'cls', layer }}>#{f.feature}</Link>
      </div>
      <div role="cell" className="ft-cell ft-label" title={f.note || undefined}>
        {f.label || <span className="muted">—</span>}
        {f.dead && <span className="badge">dead</span>}
        {f.dense && <span className="badge badge-warn">dense</span>}
      </div>
      <div role="cell" className="ft-cell ft-freq" data-value={f.frequency}>
        <span className="logbar" aria-hidden><span style={{ width: `${bar}%` }} /></span>
        <span className="num small">{freqText(f.frequency)}</span>
      </div>
      <div role="cell" className="ft-cell ft-max num" data-value={f.maxAct}>{f.dead ? '—' : f.maxAct.toFixed(3)}</div>
      <div role="cell" className="ft-cell ft-images num" data-value={f.images}>{f.images.toLocaleString()}</div>
      {previews.error ? (
        <div role="cell" className="ft-cell ft-previews-failed muted small" title={errorText(previews.error)}>Previews failed: {errorText(previews.error)}</div>
      ) : (
        <>
          <div role="cell" className="ft-cell ft-spark" title={preview ? sparklineText(preview.histogram) : undefined}>
            {preview ? <Sparkline bins={preview.histogram} /> : <span className="sparkline sparkline-loading" aria-hidden />}
          </div>
          <div role="cell" className="ft-cell ft-thumbs">
            {preview ? <ThumbStrip items={preview.top} slots={THUMBS} /> : <span className="thumbstrip thumbstrip-loading" aria-hidden />}
          </div>
        </>
      )}
    </div>
  );
}

export function freqText(f: number): string {
  if (f === 0) return '0';
  const pct = f * 100;
  return pct >= 1 ? `${pct.toFixed(1)} %` : pct >= 0.01 ? `${pct.toFixed(2)} %` : `${pct.toExponential(1)} %`;
}
