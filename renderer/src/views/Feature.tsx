/**
 * "Photos that activate feature N": the gallery at a token, strongest first (as `clipscope
 * gallery`), or samples across its activation distribution (the Quantiles tab, as `clipscope
 * gallery --quantiles`); its statistics, label and similar features by decoder cosine; [ and ]
 * walk the features. The Top tab is a virtualised grid loading pages as it nears its end; a
 * patch token's gallery comes from bounded scans whose cursors it follows (ui/paging.ts).
 */
import { memo, useDeferredValue, useEffect, useMemo, useRef, useState, useSyncExternalStore, type CSSProperties, type FormEvent, type KeyboardEvent as ReactKeyboardEvent } from 'react';
import { useInfiniteQuery, useMutation, useQueries, useQuery, useQueryClient } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { getRouteApi, Link, useNavigate, useRouter } from '@tanstack/react-router';
import { Tabs } from 'radix-ui';
import { ChevronLeft, ChevronRight, Search, SlidersHorizontal } from 'lucide-react';
import type { FeatureDetails, GalleryItem } from '../../../common/contract/explore-schemas.js';
import type { LibraryInfo } from '../../../common/contract/library-schemas.js';
import { engine, EngineCallError, errorText } from '../platform.js';
import { Thumb } from '../ui/Thumb.js';
import { keys, useAppState } from '../queries.js';
import { RequireLibrary } from '../shell/Frame.js';
import { EmptyState, ErrorMessage, Stat, Tip, useSharedTip } from '../ui/bits.js';
import { baseName, percent } from '../ui/format.js';
import { HeatOverlay, HeatLegend, type TokenHeat } from '../ui/HeatTile.js';
import { Histogram } from '../ui/Histogram.js';
import { isTyping, useClientWidth } from '../ui/hooks.js';
import { useFastScroll } from '../ui/fast-scroll.js';
import { openIntent } from '../ui/open-intent.js';
import { inspectorLink } from '../ui/plain-link.js';
import { FIRST_PAGE, isSuperseded, nextPageParam, scanFields, scrollParent } from '../ui/paging.js';
import { abortable } from '../ui/walk.js';

const route = getRouteApi('/feature/$id');
const PAGE = 60;
/** A patch token's gallery: one scan of this many photos (they arrive call by call), then the next. */
const PATCH_PAGE = 1000;
/** Photos per feature.heat call. */
const HEAT_BLOCK = 60;
const MIN_TILE = 150;
const GAP = 12;
/** The caption under each tile: its activation, token and the steering button. */
const CAPTION = 34;
const SIMILAR = 10;

export function FeatureView() {
  const state = useAppState();
  return <RequireLibrary>{state.data?.library && <Feature library={state.data.library} />}</RequireLibrary>;
}

/** The tile under the mouse (its activation), shared with the histogram without re-rendering the grid. */
let hovered: number | null = null;
const hoverListeners = new Set<() => void>();
function setHovered(v: number | null): void {
  hovered = v;
  hoverListeners.forEach((fn) => fn());
}
function useHovered(): number | null {
  return useSyncExternalStore(
    (fn) => {
      hoverListeners.add(fn);
      return () => hoverListeners.delete(fn);
    },
    () => hovered,
  );
}

function tokenName(t: number): string {
  if (t === 0) return 'CLS';
  const p = t - 1;
  return `patch ${Math.floor(p / 16)},${p % 16}`;
}

type Token = 'cls' | 'any' | number;

/** The Quantiles tab's samples (as the design's quantile groups): q = 0.99 is near the top. */
export const QUANTILES = [0.99, 0.9, 0.5, 0.1];
export const PER_QUANTILE = 6;

function Feature({ library }: { library: LibraryInfo }) {
  const { id } = route.useParams();
  const { token, layer, view } = route.useSearch();
  const navigate = useNavigate();
  const feature = Number(id);
  const config = library.configs.find((c) => layer === undefined || c.layer === layer) ?? null;
  const valid = Number.isInteger(feature) && feature >= 0 && (!config || feature < config.nFeatures);
  const go = (f: number) => void navigate({ to: '/feature/$id', params: { id: String(f) }, search: { token, layer, view } });
  const setToken = (t: Token) => void navigate({ to: '/feature/$id', params: { id }, search: { token: t, layer, view } });
  const setView = (v: string) =>
    void navigate({ to: '/feature/$id', params: { id }, search: { token, layer, ...(v === 'quantiles' ? { view: 'quantiles' as const } : {}) }, replace: true });
  const details = useQuery({
    queryKey: [...keys.lib, 'feature.details', library.file, feature, layer ?? null],
    queryFn: () => engine['feature.details']({ feature, layer }),
    enabled: valid && config !== null,
  });
  const nFeatures = config?.nFeatures ?? 0;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target) || document.querySelector('dialog[open], [role="dialog"]') || !valid) return;
      if ((e.key === ']' || e.key === 'j') && feature + 1 < nFeatures) go(feature + 1);
      else if ((e.key === '[' || e.key === 'k') && feature > 0) go(feature - 1);
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });
  const steer = (it: GalleryItem) =>
    void navigate({ to: '/steer/$imageId', params: { imageId: String(it.imageId) }, search: { layer, tokens: it.token === 0 ? 'cls' : String(it.token), edits: `${feature}:=0` } });

  if (!config) {
    const layers = library.configs.map((c) => c.layer);
    return (
      <div className="view-pad">
        {layers.length > 0 ? (
          <EmptyState title={`No results at layer ${layer}`}>
            <p>This library was indexed at layer {layers.join(', ')}. <Link to="/feature/$id" params={{ id }} search={{ token, layer: layers[0], view }}>Show layer {layers[0]}</Link></p>
          </EmptyState>
        ) : (
          <EmptyState title="No results to show yet">
            <p>Index the library first; feature galleries read the indexed results.</p>
          </EmptyState>
        )}
      </div>
    );
  }
  const gallery = { libraryFile: library.file, feature, token, layer, onSteer: steer };
  return (
    <div className="view-pad feature">
      <div className="section-head">
        <div className="row">
          <Tip content="Previous feature ([ or k)">
            <button type="button" className="btn btn-small btn-quiet icon-btn" aria-label="Previous feature" aria-keyshortcuts="[ k" disabled={!valid || feature === 0} onClick={() => go(feature - 1)}>
              <ChevronLeft size={16} aria-hidden />
            </button>
          </Tip>
          <h1 className="h-title">Feature {valid ? feature : id}</h1>
          <Tip content="Next feature (] or j)">
            <button type="button" className="btn btn-small btn-quiet icon-btn" aria-label="Next feature" aria-keyshortcuts="] j" disabled={!valid || feature + 1 >= config.nFeatures} onClick={() => go(feature + 1)}>
              <ChevronRight size={16} aria-hidden />
            </button>
          </Tip>
          {details.data?.label && <span className="feature-label" data-testid="feature-label">{details.data.label}</span>}
          <span className="muted small">layer {config.layer} · {config.nFeatures.toLocaleString()} features · [ / ]: previous / next</span>
        </div>
        <TokenPicker token={token} onChange={setToken} />
      </div>
      {library.demo && <p className="message message-info">Demo model, random weights: this feature means nothing; the gallery shows how the view works.</p>}
      {!valid && <p className="message message-error" role="alert">There is no feature "{id}": features are numbered 0 to {config.nFeatures - 1}.</p>}
      <div className="feature-body">
        <div className="feature-main">
          {valid && (
            <Tabs.Root value={view === 'quantiles' ? 'quantiles' : 'top'} onValueChange={setView}>
              <div className="row feature-tabs">
                <Tabs.List className="tabs grow" aria-label="Which photos">
                  <Tabs.Trigger className="tab" value="top">Top</Tabs.Trigger>
                  <Tabs.Trigger className="tab" value="quantiles">Quantiles</Tabs.Trigger>
                </Tabs.List>
                <Tip content={`Open the query view with feature ${feature} required, to add other features that must fire too (AND), any of (OR) or none of (NOT)`}>
                  <a className="btn btn-small" href={`#/query?all=${feature}${layer === undefined ? '' : `&layer=${layer}`}`} data-testid="find-with">
                    <Search size={14} aria-hidden /> Find photos with this AND other features
                  </a>
                </Tip>
              </div>
              <Tabs.Content value="top" className="tab-panel">
                <TopGallery {...gallery} />
              </Tabs.Content>
              <Tabs.Content value="quantiles" className="tab-panel">
                <QuantileGallery {...gallery} onToken={setToken} />
              </Tabs.Content>
            </Tabs.Root>
          )}
        </div>
        {valid && (
          <aside className="feature-side">
            <ErrorMessage error={details.error} />
            {details.data && <FeatureStats d={details.data} />}
            <SimilarFeatures libraryFile={library.file} feature={feature} token={token} layer={layer} view={view} />
            {details.data && <LabelEditor d={details.data} layer={layer} libraryFile={library.file} />}
          </aside>
        )}
      </div>
    </div>
  );
}

interface GalleryProps {
  libraryFile: string;
  feature: number;
  token: Token;
  layer: number | undefined;
  onSteer: (it: GalleryItem) => void;
}

/** The heatmaps of some photos (one feature.heat call per list of ids) and their shared colour scale. */
function useHeat(libraryFile: string, feature: number, layer: number | undefined, lists: number[][]) {
  const heats = useQueries({
    queries: lists.map((ids) => ({
      queryKey: [...keys.lib, 'feature.heat', libraryFile, feature, layer ?? null, ids],
      queryFn: () => engine['feature.heat']({ feature, imageIds: ids, layer }),
      enabled: ids.length > 0,
      staleTime: Infinity,
    })),
  });
  const heatById = useMemo(() => {
    const m = new Map<number, TokenHeat>();
    for (const h of heats) for (const im of h.data?.images ?? []) m.set(im.imageId, im);
    return m;
  }, [heats.map((h) => h.dataUpdatedAt).join()]);
  const heatMax = useMemo(() => {
    let m = 0;
    for (const h of heatById.values()) h.tokens.forEach((t, i) => t >= 1 && (m = Math.max(m, h.values[i]!)));
    return m;
  }, [heatById]);
  return { heatById, heatMax };
}

const LEGEND_TEXT = "The feature's activation on each patch, one colour scale for the whole view (0 to its largest patch value); the dot marks each photo's strongest patch";

function whereText(token: Token): string {
  return token === 'cls' || token === 0 ? ' on the CLS token' : token === 'any' ? ' on any token (each photo at its strongest token)' : ` at ${tokenName(token)}`;
}

function TopGallery({ libraryFile, feature, token, layer, onSteer }: GalleryProps) {
  // A patch token's gallery reads photos' latents one by one: bounded calls, cursor after cursor.
  const patch = typeof token === 'number' && token !== 0;
  const limit = patch ? PATCH_PAGE : PAGE;
  const gallery = useInfiniteQuery({
    queryKey: [...keys.lib, 'gallery', libraryFile, feature, token, layer ?? null],
    queryFn: ({ pageParam, signal }) =>
      abortable(engine['gallery.get']({ feature, token, layer, limit, offset: pageParam.offset, channel: 'feature-top', ...scanFields(patch, pageParam) }), signal),
    initialPageParam: FIRST_PAGE,
    getNextPageParam: (last, pages, lastParam, params) => nextPageParam(last, pages, lastParam, params, limit),
    // Kept until the library changes (its queries are invalidated then): coming back from the
    // inspector finds every page already loaded, at the same scroll position.
    staleTime: Infinity,
  });
  const pages = gallery.data?.pages;
  const items = useMemo(() => pages?.flatMap((p) => p.items) ?? [], [pages]);
  const last = pages?.[pages.length - 1];
  const total = last ? (last.cursor ? null : last.total) : undefined;
  // One feature.heat call per block of photos; one colour scale for the whole view.
  const blocks = useMemo(() => {
    const out: number[][] = [];
    for (let i = 0; i < items.length; i += HEAT_BLOCK) out.push(items.slice(i, i + HEAT_BLOCK).map((it) => it.imageId));
    return out;
  }, [items]);
  const { heatById, heatMax } = useHeat(libraryFile, feature, layer, blocks);
  // The tiles are drawn in a transition React can interrupt: a page of 48 tiles with heatmaps is
  // one long task when rendered with the answer that brought it.
  const shown = useDeferredValue(items);
  const more = gallery.hasNextPage && !gallery.isFetching && !gallery.isError ? () => void gallery.fetchNextPage() : null;
  const searching = gallery.isFetchingNextPage || (gallery.hasNextPage && items.length === 0);
  const error = isSuperseded(gallery.error) ? null : gallery.error;
  return (
    <>
      <ErrorMessage error={error} />
      {gallery.data && (
        <div className="row gallery-head">
          <p className="muted small grow" data-testid="gallery-total" aria-live="polite">
            {total === null || total === undefined ? `${items.length}+ photos` : `${total} ${total === 1 ? 'photo' : 'photos'}`} where it fires{whereText(token)}, strongest first. Values are SAE activations.
            {searching && patch && ' Reading more photos at this patch…'}
          </p>
          {items.length > 0 && <HeatLegend max={heatMax} what={LEGEND_TEXT} />}
        </div>
      )}
      {gallery.data && items.length === 0 && !gallery.hasNextPage && (
        <EmptyState title="This feature never fires here">
          <p>Try another token (any token finds more), or another feature.</p>
        </EmptyState>
      )}
      <VirtualGallery
        items={shown}
        total={total ?? null}
        feature={feature}
        token={token}
        scrollKey={`${libraryFile}\u0000${feature}\u0000${token}\u0000${layer ?? ''}`}
        heatById={heatById}
        heatMax={heatMax}
        onSteer={onSteer}
        more={more}
        libraryFile={libraryFile}
        layer={layer}
      />
    </>
  );
}

/** Where each gallery was scrolled to: Esc back from the inspector lands on the same photos. */
const scrollPositions = new Map<string, number>();

/**
 * The gallery as a virtualised grid in the view's own scroll area: only the rows on screen (and
 * a few around) are in the page; near its end it asks for the next photos (`more`).
 */
function VirtualGallery({ items, total, feature, token, scrollKey, heatById, heatMax, onSteer, more, libraryFile, layer }: {
  items: GalleryItem[]; total: number | null; feature: number; token: Token; scrollKey: string; heatById: Map<number, TokenHeat>; heatMax: number;
  onSteer: (it: GalleryItem) => void; more: (() => void) | null; libraryFile: string; layer: number | undefined;
}) {
  const list = useRef<HTMLOListElement>(null);
  const tips = useSharedTip();
  const [scroller, setScroller] = useState<HTMLElement | null>(null);
  const fast = useFastScroll(scroller);
  // The list's offset in the scroll area (what is above it scrolls too).
  const [margin, setMargin] = useState(0);
  const width = useClientWidth(list, {
    watchParent: true,
    onResize: (el) => {
      const area = scrollParent(el);
      setScroller(area);
      if (area) setMargin(Math.round(el.getBoundingClientRect().top - area.getBoundingClientRect().top + area.scrollTop));
    },
  });
  const columns = Math.max(1, Math.floor((width + GAP) / (MIN_TILE + GAP)));
  const tile = width > 0 ? Math.floor((width - (columns - 1) * GAP) / columns) : MIN_TILE;
  const rows = Math.ceil(items.length / columns);
  const virtualizer = useVirtualizer({ count: rows, getScrollElement: () => scroller, estimateSize: () => tile + CAPTION + GAP, overscan: 2, scrollMargin: margin });
  useEffect(() => virtualizer.measure(), [tile, virtualizer]);
  const virtualRows = virtualizer.getVirtualItems();
  const lastRow = virtualRows[virtualRows.length - 1]?.index ?? -1;
  useEffect(() => {
    // An answer without photos (a scan on its way) asks again at once; else only near the end.
    if (more && (rows === 0 || lastRow >= rows - 3)) more();
  }, [more, lastRow, rows]);

  // Back from the inspector: the same place in the same gallery; another gallery starts at its top.
  const restored = useRef<string | null>(null);
  useEffect(() => {
    if (!scroller || width === 0 || restored.current === scrollKey) return;
    restored.current = scrollKey;
    scroller.scrollTop = scrollPositions.get(scrollKey) ?? 0;
  }, [scroller, width, scrollKey]);
  useEffect(() => {
    if (!scroller) return;
    const onScroll = () => {
      // Not once the gallery has left the page (the next view's layout scrolls the same area).
      if (restored.current === scrollKey && list.current?.isConnected) scrollPositions.set(scrollKey, scroller.scrollTop);
    };
    scroller.addEventListener('scroll', onScroll, { passive: true });
    return () => scroller.removeEventListener('scroll', onScroll);
  }, [scroller, scrollKey]);

  const focusRank = (i: number) => {
    const link = () => list.current?.querySelector<HTMLElement>(`li[data-rank="${i}"] a.gallery-tile`);
    virtualizer.scrollToIndex(Math.floor(i / columns), { align: 'auto' });
    // A tile of a row not drawn yet is there after the next frame.
    if (link()) link()!.focus();
    else requestAnimationFrame(() => link()?.focus());
  };
  const onKeyDown = (e: ReactKeyboardEvent<HTMLOListElement>) => {
    const target = e.target as HTMLElement;
    if (!target.matches('a.gallery-tile') || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
    const i = Number(target.closest('li')?.getAttribute('data-rank'));
    const to = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : e.key === 'ArrowDown' ? i + columns : e.key === 'ArrowUp' ? i - columns : null;
    if (to === null || !Number.isInteger(i)) return;
    e.preventDefault();
    if (to >= 0 && to < items.length) focusRank(to);
  };

  return (
    <ol
      ref={list}
      className="gallery-grid"
      data-testid="gallery"
      aria-label={`Photos where feature ${feature} fires, strongest first; arrow keys move, Enter opens`}
      style={{ height: virtualizer.getTotalSize() }}
      {...tips.handlers}
      onPointerLeave={() => {
        tips.handlers.onPointerLeave();
        setHovered(null);
      }}
      onKeyDown={(e) => {
        tips.handlers.onKeyDown(e);
        onKeyDown(e);
      }}
    >
      {tips.tip}
      {virtualRows.flatMap((row) =>
        items.slice(row.index * columns, row.index * columns + columns).map((it, c) => {
          const at = row.index * columns + c;
          return (
            <GalleryTile
              key={`${it.imageId}-${at}`}
              it={it}
              at={at}
              setSize={total ?? undefined}
              feature={feature}
              token={token}
              heat={heatById.get(it.imageId)}
              heatMax={heatMax}
              onSteer={onSteer}
              libraryFile={libraryFile}
              layer={layer}
              fast={fast}
              place={{ x: c * (tile + GAP), y: row.start - margin, size: tile }}
            />
          );
        }),
      )}
    </ol>
  );
}

function percentile(q: number): string {
  return `${Number((q * 100).toFixed(1))}th percentile`;
}

/** Bands of photos at a few quantiles of the photos' activations, strongest band first. */
function QuantileGallery({ libraryFile, feature, token, layer, onSteer, onToken }: GalleryProps & { onToken: (t: Token) => void }) {
  // Quantiles rank photos by one value each: their CLS value, or their strongest token's.
  const sampled = token === 'cls' || token === 'any' || token === 0;
  const q = useQuery({
    queryKey: [...keys.lib, 'gallery.quantiles', libraryFile, feature, token, layer ?? null],
    queryFn: ({ signal }) => abortable(engine['gallery.get']({ feature, token, layer, limit: 0, quantiles: QUANTILES, perQuantile: PER_QUANTILE, channel: 'feature-quantiles' }), signal),
    enabled: sampled,
  });
  const bands = q.data?.quantiles ?? [];
  const ids = [...new Set(bands.flatMap((b) => b.items.map((it) => it.imageId)))];
  const { heatById, heatMax } = useHeat(libraryFile, feature, layer, ids.length ? [ids] : []);
  const tips = useSharedTip();
  if (!sampled) {
    return (
      <EmptyState title="Quantiles rank whole photos">
        <p>They sample photos by their CLS value or by their strongest token; a single patch is shown on the Top tab.</p>
        <div className="row">
          <button type="button" className="btn btn-small" onClick={() => onToken('cls')}>Use the CLS token</button>
          <button type="button" className="btn btn-small" onClick={() => onToken('any')}>Use any token</button>
        </div>
      </EmptyState>
    );
  }
  const total = q.data?.total ?? 0;
  return (
    <>
      <ErrorMessage error={isSuperseded(q.error) ? null : q.error} />
      {q.data && (
        <div className="row gallery-head">
          <p className="muted small grow" data-testid="quantiles-total">
            {total} {total === 1 ? 'photo' : 'photos'} where it fires{whereText(token)}: {PER_QUANTILE} from each of {QUANTILES.length} points of their activation
            distribution, not only the top. Values are SAE activations.
          </p>
          {ids.length > 0 && <HeatLegend max={heatMax} what={LEGEND_TEXT} />}
        </div>
      )}
      {q.data && bands.length === 0 && (
        <EmptyState title="This feature never fires here">
          <p>Try another token (any token finds more), or another feature.</p>
        </EmptyState>
      )}
      <div
        className="quantile-bands"
        data-testid="quantiles"
        {...tips.handlers}
        onPointerLeave={() => {
          tips.handlers.onPointerLeave();
          setHovered(null);
        }}
      >
        {tips.tip}
        {bands.map((b) => {
          const acts = b.items.map((it) => it.act);
          const head = `q-${feature}-${b.quantile}`;
          return (
            <section key={b.quantile} className="quantile-band" aria-labelledby={head} data-testid="quantile-band" data-quantile={b.quantile} data-rank={b.rank}>
              <div className="row quantile-head">
                <Tip content={`The ${percentile(b.quantile)}: ${Number((b.quantile * 100).toFixed(1))}% of the ${total} photos where it fires fire at most as strongly as the first photo here. These are the photos ranked ${b.rank + 1} to ${b.rank + b.items.length} from the strongest.`}>
                  <h3 id={head} className="quantile-title" tabIndex={0}>q {b.quantile}</h3>
                </Tip>
                <span className="muted small">
                  rank {b.rank + 1}{b.items.length > 1 ? `–${b.rank + b.items.length}` : ''} of {total} · activation {Math.min(...acts).toFixed(3)}–{Math.max(...acts).toFixed(3)}
                </span>
              </div>
              <ol className="gallery gallery-band">
                {b.items.map((it, i) => (
                  <GalleryTile key={`${it.imageId}-${i}`} it={it} at={b.rank + i} feature={feature} token={token} heat={heatById.get(it.imageId)} heatMax={heatMax} onSteer={onSteer} libraryFile={libraryFile} layer={layer} />
                ))}
              </ol>
            </section>
          );
        })}
      </div>
    </>
  );
}

/** A photo with the feature's heat over its patch grid, its activation and a steering shortcut; `at`: its rank in the gallery. */
/**
 * Memoised on its place's numbers (not a style object): a virtualised grid re-renders on every
 * scroll frame, and only the tiles entering it need drawing.
 */
const GalleryTile = memo(GalleryTileBody, (a, b) =>
  a.it === b.it && a.at === b.at && a.feature === b.feature && a.token === b.token && a.heat === b.heat && a.heatMax === b.heatMax && a.onSteer === b.onSteer &&
  a.libraryFile === b.libraryFile && a.layer === b.layer && a.fast === b.fast && a.setSize === b.setSize &&
  a.place?.x === b.place?.x && a.place?.y === b.place?.y && a.place?.size === b.place?.size);

function GalleryTileBody({ it, at, feature, token, heat, heatMax, onSteer, place, setSize, libraryFile, layer, fast = false }: {
  /** The gallery's token (the inspector walks the gallery it was opened from: ui/walk.ts). */
  it: GalleryItem; at: number; feature: number; token: Token; heat: TokenHeat | undefined; heatMax: number; onSteer: (it: GalleryItem) => void;
  libraryFile: string; layer: number | undefined;
  /** The grid is being flung: a tile not drawn yet shows no photo (ui/fast-scroll.ts). */
  fast?: boolean;
  /** Its place in a virtualised grid (px). */
  place?: { x: number; y: number; size: number };
  /** The gallery's length, when known (a virtualised list has only some of its items in the page). */
  setSize?: number;
}) {
  // Once drawn, a tile keeps its photo; a tile that only flies past never asks for it.
  const drawn = useRef(false);
  if (!fast) drawn.current = true;
  const router = useRouter();
  const style: CSSProperties | undefined = place && { width: place.size, height: place.size + CAPTION, transform: `translate(${place.x}px, ${place.y}px)` };
  return (
    <li
      className="gallery-item"
      data-image-id={it.imageId}
      data-act={it.act}
      data-token={it.token}
      data-rank={at}
      onMouseEnter={() => setHovered(it.act)}
      style={style}
      {...(place ? { 'aria-posinset': at + 1, 'aria-setsize': setSize ?? -1 } : {})}
    >
      <a
        {...inspectorLink(router, it.imageId, { layer, from: `feature:${feature}:${token}`, at })}
        className="tile gallery-tile"
        title={it.file}
        onFocus={() => setHovered(it.act)}
        {...openIntent(libraryFile, it.imageId, layer)}
      >
        {drawn.current && <Thumb imageId={it.imageId} alt={baseName(it.file)} />}
        {drawn.current && heat && heatMax > 0 && <HeatOverlay heat={heat} scale={heatMax} label={`Heat of feature ${feature} on ${baseName(it.file)}`} />}
      </a>
      <div className="gallery-caption">
        {/* Explained by the grid's shared tooltip (useSharedTip): one for all its tiles. */}
        <span className="num act" tabIndex={0} data-tip={`SAE activation of feature ${feature} at ${tokenName(it.token)}`}>{it.act.toFixed(3)}</span>
        <span className="muted small">{tokenName(it.token)}</span>
        <button
          type="button"
          className="btn btn-small btn-quiet icon-btn"
          aria-label={`Steer feature ${feature} on ${baseName(it.file)}`}
          data-tip={`Steer: edit feature ${feature} on this photo (${tokenName(it.token)}) and see what the model sees then`}
          onClick={() => onSteer(it)}
        >
          <SlidersHorizontal size={14} aria-hidden />
        </button>
      </div>
    </li>
  );
}

const COSINE_TEXT =
  "Cosine similarity of the features' decoder directions: the directions each feature writes into the model's residual stream. 1: the same direction; 0: unrelated (orthogonal); negative: opposite. Read from the SAE file, not from your photos.";

function SimilarFeatures({ libraryFile, feature, token, layer, view }: { libraryFile: string; feature: number; token: Token; layer: number | undefined; view: 'quantiles' | undefined }) {
  const similar = useQuery({
    queryKey: [...keys.lib, 'feature.similar', libraryFile, feature, layer ?? null],
    queryFn: () => engine['feature.similar']({ feature, layer, limit: SIMILAR }),
    staleTime: Infinity,
  });
  return (
    <section className="card" aria-labelledby="sim-title">
      <div className="row">
        <h2 id="sim-title" className="grow">Similar features</h2>
        <Tip content={COSINE_TEXT}>
          <span className="muted small dotted" tabIndex={0}>decoder cosine</span>
        </Tip>
      </div>
      {similar.isPending && <p className="muted small">Reading the SAE's decoder…</p>}
      {similar.error && <SimilarUnavailable error={similar.error} />}
      {similar.data && (
        <ol className="similar-list" data-testid="similar-features">
          {similar.data.map((s) => (
            <li key={s.feature} data-feature={s.feature} data-cosine={s.cosine}>
              <Link to="/feature/$id" params={{ id: String(s.feature) }} search={{ token, layer, view }} className="similar-id">#{s.feature}</Link>
              <span className="similar-label" title={s.label || undefined}>{s.label || <span className="muted">—</span>}</span>
              <span className="cosbar" aria-hidden><span style={{ width: `${Math.max(0, s.cosine) * 100}%` }} /></span>
              <span className="num small" title={`Decoder cosine with feature ${feature}: ${s.cosine.toFixed(4)}`}>{s.cosine.toFixed(3)}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

/**
 * Why there is no list: a few words in this section only (the rest of the page reads the
 * library, not the SAE file), the engine's whole message on hover.
 */
function SimilarUnavailable({ error }: { error: unknown }) {
  const missing = error instanceof EngineCallError && error.code === 'not-found';
  return (
    <p className="muted small" data-testid="similar-unavailable" title={errorText(error)}>
      {missing
        ? "Not available: this library's SAE file is missing (moved or deleted?), and similar features are read from its decoder."
        : `Not available: ${errorText(error)}`}
    </p>
  );
}

function FeatureStats({ d }: { d: FeatureDetails }) {
  const marker = useHovered();
  const [log, setLog] = useState(true);
  return (
    <section className="card" aria-labelledby="fs-title">
      <h2 id="fs-title">Statistics</h2>
      {d.stale && <p className="message message-warn">Computed before the latest indexing; refreshed when the next run ends.</p>}
      <div className="stats stats-2" data-testid="feature-stats">
        <Stat label="photos" value={`${d.images.toLocaleString()} (${percent(d.imageFraction, 1)})`} tip="Photos where the feature is active (> 0) on at least one token, and their share of the library" />
        <Stat label="of tokens" value={percent(d.frequency, d.frequency < 0.001 ? 3 : 2)} tip={`Firing frequency: active on ${d.tokens.toLocaleString()} tokens (CLS and patches) of all the library's tokens`} />
        <Stat label="max activation" value={d.maxAct.toFixed(3)} tip="Largest SAE activation (latent value, unit-less) anywhere in the library" />
        <Stat label="mean when active" value={d.meanAct.toFixed(3)} tip="Mean SAE activation over the tokens where the feature is active" />
      </div>
      <div className="row">
        <h3 className="small grow hist-title">Activations where it fires</h3>
        <label className="check small">
          <input type="checkbox" checked={log} onChange={(e) => setLog(e.target.checked)} /> log counts
        </label>
      </div>
      <Histogram bins={d.histogram} marker={marker} log={log} markerLabel={marker !== null ? `hovered ${marker.toFixed(3)}` : undefined} />
      <p className="muted small">Tokens per activation bin{log ? ' (log scale)' : ''}; the line marks the photo under the mouse.</p>
    </section>
  );
}

function LabelEditor({ d, layer, libraryFile }: { d: FeatureDetails; layer: number | undefined; libraryFile: string }) {
  const client = useQueryClient();
  const [label, setLabel] = useState(d.label);
  const [note, setNote] = useState(d.note);
  useEffect(() => {
    setLabel(d.label);
    setNote(d.note);
  }, [d.feature, d.label, d.note]);
  const save = useMutation({
    mutationFn: () => engine['labels.set']({ feature: d.feature, label, note, layer }),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: [...keys.lib, 'feature.details', libraryFile] });
      void client.invalidateQueries({ queryKey: [...keys.lib, 'features', libraryFile] });
      void client.invalidateQueries({ queryKey: [...keys.lib, 'features.search', libraryFile] });
    },
  });
  const dirty = label !== d.label || note !== d.note;
  return (
    <form
      className="card label-editor"
      aria-labelledby="label-title"
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate();
      }}
    >
      <h2 id="label-title">Your label</h2>
      <label className="field">
        <span>Label</span>
        <input type="text" value={label} maxLength={200} placeholder="What does it detect?" onChange={(e) => setLabel(e.target.value)} />
      </label>
      <label className="field">
        <span>Note</span>
        <textarea value={note} maxLength={5000} rows={3} onChange={(e) => setNote(e.target.value)} />
      </label>
      <ErrorMessage error={save.error} />
      <div className="row">
        <button type="submit" className="btn btn-small btn-primary" disabled={!dirty || save.isPending}>
          {save.isPending ? 'Saving…' : 'Save'}
        </button>
        {save.isSuccess && !dirty && <span className="muted small" role="status">Saved</span>}
      </div>
    </form>
  );
}

function TokenPicker({ token, onChange }: { token: 'cls' | 'any' | number; onChange: (t: 'cls' | 'any' | number) => void }) {
  const [n, setN] = useState(typeof token === 'number' ? String(token) : '');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const v = Number(n);
    if (Number.isInteger(v) && v >= 0 && v <= 256) onChange(v);
  };
  return (
    <form className="chips" role="group" aria-label="Token" onSubmit={submit}>
      <button type="button" className={`chip${token === 'cls' ? ' active' : ''}`} aria-pressed={token === 'cls'} onClick={() => onChange('cls')}>
        CLS
      </button>
      <button type="button" className={`chip${token === 'any' ? ' active' : ''}`} aria-pressed={token === 'any'} onClick={() => onChange('any')}>
        Any token
      </button>
      <label className="chip-input" title="Token 1–256: patches row-major (token = 1 + 16 × row + column)">
        <span>Token</span>
        <input type="number" min={0} max={256} value={n} onChange={(e) => setN(e.target.value)} aria-label="Token number" />
      </label>
      <button type="submit" className={`chip${typeof token === 'number' ? ' active' : ''}`} aria-pressed={typeof token === 'number'}>
        Show token
      </button>
    </form>
  );
}
