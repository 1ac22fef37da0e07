/**
 * The image inspector: the centre crop the model saw with its 16 × 16 patch grid (a DOM grid of
 * buttons over a canvas overlay), each token's top SAE features, a feature's heat on the photo or
 * the per-token reconstruction error, the pooled features and the photo's metrics. All state that
 * matters lives in the URL (`#/image/<id>?token=&feature=&overlay=&tab=`).
 */
import { memo, useCallback, useDeferredValue, useEffect, useMemo, useRef, useState, type KeyboardEvent as ReactKeyboardEvent, type ReactNode } from 'react';
import { useQuery } from '@tanstack/react-query';
import { getRouteApi, Link, useNavigate, useRouter } from '@tanstack/react-router';
import { Tabs } from 'radix-ui';
import { ArrowLeft, ChevronLeft, ChevronRight, ExternalLink, Maximize2, Minimize2, Search, SlidersHorizontal, X } from 'lucide-react';
import type { ImageDetails } from '../../../common/contract/explore-schemas.js';
import { formatRegion, formatTermList, parseRegion } from '../../../common/contract/query-grammar.js';
import type { LibraryInfo } from '../../../common/contract/library-schemas.js';
import { mediaUrl } from '../platform.js';
import { imageDetailsQuery, useAppState } from '../queries.js';
import type { ImageSearch, InspectorTab, Overlay } from '../router.js';
import { RequireLibrary } from '../shell/Frame.js';
import { EmptyState, ErrorMessage, Stat, Tip } from '../ui/bits.js';
import { baseName, fixed, percent } from '../ui/format.js';
import { heatColor } from '../ui/heat.js';
import { checkedRegion, describeRegion, regionBetween, regionSize, regionTokens, regionTopFeatures, sameRegion, type Region } from '../ui/region.js';
import { parseFrom, sourceName, useWalk } from '../ui/walk.js';

const route = getRouteApi('/image/$imageId');
const SIDE = 16;
const PATCHES = SIDE * SIDE;
/** Features a region's query asks for: enough to say what is there, few enough to still match other photos. */
const REGION_FEATURES = 3;

/** 0 → "CLS", 1..256 → "patch row,col" (0-based, row-major). */
export function tokenName(t: number): string {
  if (t === 0) return 'CLS';
  const p = t - 1;
  return `patch ${Math.floor(p / SIDE)},${p % SIDE}`;
}

/** Activations as the inspector prints them (the e2e test formats the CLI's values the same way). */
export function act(v: number): string {
  return fixed(v, 3);
}

export function ImageView() {
  const state = useAppState();
  return <RequireLibrary>{state.data?.library && <Inspector library={state.data.library} />}</RequireLibrary>;
}

function typingOrDialog(target: EventTarget | null): boolean {
  if (document.querySelector('dialog[open]')) return true;
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

function Inspector({ library }: { library: LibraryInfo }) {
  const { imageId } = route.useParams();
  const search = route.useSearch();
  const navigate = useNavigate();
  const router = useRouter();
  const id = Number(imageId);
  const valid = Number.isInteger(id) && id > 0;
  const details = useQuery({ ...imageDetailsQuery(library.file, id, search.layer), enabled: valid && library.configs.length > 0 });
  // The body (256 patch buttons, feature lists, the crop) renders as a background update that
  // React splits into short slices, so arriving details never block input.
  const d = useDeferredValue(details.data);
  const source = useMemo(() => parseFrom(search.from), [search.from]);
  const walk = useWalk(library.file, source, id, search.at, search.layer, valid);
  const update = useCallback(
    (patch: Partial<ImageSearch>) => void navigate({ to: '/image/$imageId', params: { imageId }, search: (s) => ({ ...(s as ImageSearch), ...patch }), replace: true }),
    [navigate, imageId],
  );
  // The neighbour keeps the view's state (token, feature, region) and its place in the list.
  const goTo = useCallback(
    (other: number | null | undefined, at: number | null | undefined) => {
      if (other) void navigate({ to: '/image/$imageId', params: { imageId: String(other) }, search: (s) => ({ ...(s as ImageSearch), at: at ?? undefined }), replace: true });
    },
    [navigate],
  );
  const back = useCallback(() => {
    if (router.history.canGoBack()) router.history.back();
    else void navigate({ to: '/library' });
  }, [router, navigate]);

  // ←/→ walk the list the photo came from, Esc goes back; arrows inside the patch grid or the tabs are theirs.
  const prev = walk.data?.prev;
  const next = walk.data?.next;
  const here = walk.data?.index ?? null;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || e.shiftKey || typingOrDialog(e.target)) return;
      if (e.key === 'Escape') {
        e.preventDefault();
        back();
        return;
      }
      if (e.target instanceof HTMLElement && e.target.closest('[role="grid"], [role="tablist"], [role="group"]')) return;
      if (e.key === 'ArrowLeft' && prev && here !== null) {
        e.preventDefault();
        goTo(prev, here - 1);
      } else if (e.key === 'ArrowRight' && next && here !== null) {
        e.preventDefault();
        goTo(next, here + 1);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [prev, next, here, goTo, back]);

  if (!valid) {
    return (
      <div className="view-pad">
        <p className="message message-error" role="alert">"{imageId}" is not a photo id.</p>
      </div>
    );
  }
  if (library.configs.length === 0) {
    return (
      <div className="view-pad">
        <EmptyState title="No results to show yet">
          <p>Index the library first; the inspector reads each photo's indexed features.</p>
        </EmptyState>
      </div>
    );
  }
  const layers = [...new Set(library.configs.map((c) => c.layer))].sort((a, b) => a - b);
  return (
    <div className="view-pad inspector">
      <div className="section-head inspector-head">
        <div className="row min0">
          <button type="button" className="btn btn-small btn-quiet" onClick={back} title="Back (Esc)">
            <ArrowLeft size={16} aria-hidden /> Back
          </button>
          <h1 className="h-title inspector-title" title={d?.file}>{d ? baseName(d.file) : `Photo ${id}`}</h1>
        </div>
        <div className="row">
          {layers.length > 1 && (
            <div className="chips" role="group" aria-label="Layer">
              {layers.map((l) => (
                <button key={l} type="button" className={`chip${l === d?.layer ? ' active' : ''}`} aria-pressed={l === d?.layer} onClick={() => update({ layer: l })}>
                  Layer {l}
                </button>
              ))}
            </div>
          )}
          <Link
            className="btn btn-small"
            to="/steer/$imageId"
            params={{ imageId }}
            search={{
              ...(search.layer === undefined ? {} : { layer: search.layer }),
              tokens: search.token === undefined || search.token === 0 ? 'cls' : String(search.token),
              ...(search.feature === undefined ? {} : { edits: `${search.feature}:=0` }),
            }}
            title={search.feature === undefined ? "Steer this photo: edit its features and see what the model's view becomes" : `Steer feature ${search.feature} on this photo (starts ablated)`}
          >
            <SlidersHorizontal size={14} aria-hidden /> Steer
          </Link>
          <span className="walk" data-testid="walk" data-source={source.kind}>
            <button type="button" className="btn btn-small" disabled={!prev || here === null} onClick={() => goTo(prev, here! - 1)} title={`Previous photo in ${sourceName(source)} (←)`} aria-label="Previous photo">
              <ChevronLeft size={16} aria-hidden /> Previous
            </button>
            <span className="muted small num" data-testid="walk-position" title={`This photo's place in ${sourceName(source)}, the list it was opened from`}>
              {here !== null ? `${(here + 1).toLocaleString()} of ${walk.data!.total === null ? `${(here + 1 + (next ? 1 : 0)).toLocaleString()}+` : walk.data!.total.toLocaleString()}` : walk.data ? 'not in the list' : ''}
            </span>
            <span className="muted small walk-source" data-testid="walk-source">in {sourceName(source)}</span>
            <button type="button" className="btn btn-small" disabled={!next || here === null} onClick={() => goTo(next, here! + 1)} title={`Next photo in ${sourceName(source)} (→)`} aria-label="Next photo">
              Next <ChevronRight size={16} aria-hidden />
            </button>
          </span>
        </div>
      </div>
      {library.demo && <p className="message message-info inspector-note">Demo model, random weights: these features mean nothing; the inspector shows how to read a photo.</p>}
      <ErrorMessage error={details.error} />
      {d ? <InspectorBody key={`${d.imageId}-${d.layer}`} d={d} search={search} update={update} /> : !details.error && <div className="inspector-loading muted">Loading the photo's features…</div>}
    </div>
  );
}

/** One feature's value at every token (0 where it is not in that token's top k). */
function featureValues(d: ImageDetails, feature: number): Float64Array {
  const out = new Float64Array(PATCHES + 1);
  d.tokens.idx.forEach((row, t) => {
    const i = row.indexOf(feature);
    if (i >= 0) out[t] = d.tokens.val[t]![i]!;
  });
  return out;
}

interface Map16 {
  kind: 'heat' | 'error';
  /** Per token, 0..256. */
  values: Float64Array | number[];
  /** The largest patch value (the top of the scale). */
  max: number;
  /** The patch token holding it, or null when every patch is 0. */
  peak: number | null;
  feature: number | null;
}

function patchMap(kind: 'heat' | 'error', values: Float64Array | number[], feature: number | null): Map16 {
  let max = 0;
  let peak: number | null = null;
  for (let t = 1; t <= PATCHES; t++) {
    const v = values[t] ?? 0;
    if (v > max) {
      max = v;
      peak = t;
    }
  }
  return { kind, values, max, peak, feature };
}

function InspectorBody({ d, search, update }: { d: ImageDetails; search: ImageSearch; update: (p: Partial<ImageSearch>) => void }) {
  const selected = search.token ?? 0;
  const chosen = search.feature ?? null;
  const overlay: Overlay = search.overlay ?? (chosen !== null ? 'heat' : 'none');
  const tab: InspectorTab = search.tab ?? 'token';
  const [previewToken, setPreviewToken] = useState<number | null>(null);
  const [previewFeature, setPreviewFeature] = useState<number | null>(null);
  const shownToken = previewToken ?? selected;
  const heatFeature = previewFeature ?? (overlay === 'heat' ? chosen : null);

  const map = useMemo<Map16 | null>(() => {
    if (heatFeature !== null) return patchMap('heat', featureValues(d, heatFeature), heatFeature);
    if (overlay === 'error' && d.tokenMse.length === PATCHES + 1) return patchMap('error', d.tokenMse, null);
    return null;
  }, [d, heatFeature, overlay]);

  const choose = useCallback((feature: number, token?: number) => update({ feature, overlay: 'heat', ...(token === undefined ? {} : { token }) }), [update]);
  const region = useMemo(() => {
    try {
      return search.region ? checkedRegion(parseRegion(search.region)) : null;
    } catch {
      return null;
    }
  }, [search.region]);
  const setRegion = useCallback((r: Region | null) => update({ region: r ? formatRegion(r) : undefined }), [update]);

  return (
    <div className="inspector-body">
      <div className="inspector-left">
        <CropView d={d} map={map} selected={selected} full={search.full === true} region={region} onRegion={setRegion} onPreview={setPreviewToken} onSelect={(t) => update({ token: t, tab: 'token' })}>
          <div className="chips" role="group" aria-label="Overlay">
            {(['heat', 'error', 'none'] as const).map((o) => (
              <button key={o} type="button" className={`chip${overlay === o ? ' active' : ''}`} aria-pressed={overlay === o} onClick={() => update({ overlay: o })} data-overlay={o}>
                {o === 'heat' ? 'Feature heat' : o === 'error' ? 'Reconstruction error' : 'No overlay'}
              </button>
            ))}
          </div>
        </CropView>
        <Legend d={d} map={map} overlay={overlay} chosen={chosen} />
        <RegionPanel d={d} region={region} layer={search.layer} chosen={chosen} onChoose={choose} onPreview={setPreviewFeature} onClear={() => setRegion(null)} />
        <div className="inspector-controls">
          <span className="muted small">
            {search.full ? 'The whole photo; the model only saw the bright centre square, resized to 224 × 224.' : 'The 224 × 224 centre crop the model saw: 16 × 16 patches of 14 px.'}
          </span>
          <button type="button" className="btn btn-small btn-quiet" aria-pressed={search.full === true} onClick={() => update({ full: search.full ? undefined : true })}>
            {search.full ? <Minimize2 size={14} aria-hidden /> : <Maximize2 size={14} aria-hidden />}
            {search.full ? 'Model crop only' : 'Full photo'}
          </button>
        </div>
      </div>
      <div className="inspector-side card">
        <Tabs.Root value={tab} onValueChange={(v) => update({ tab: v as InspectorTab })}>
          <Tabs.List className="tabs" aria-label="What to show">
            <Tabs.Trigger className="tab" value="token">Token</Tabs.Trigger>
            <Tabs.Trigger className="tab" value="pooled">Pooled</Tabs.Trigger>
            <Tabs.Trigger className="tab" value="image">Image</Tabs.Trigger>
          </Tabs.List>
          <Tabs.Content value="token" className="tab-panel">
            <TokenFeatures d={d} token={shownToken} pinned={shownToken === selected} chosen={chosen} onChoose={choose} onPreview={setPreviewFeature} />
          </Tabs.Content>
          <Tabs.Content value="pooled" className="tab-panel">
            <PooledFeatures d={d} chosen={chosen} onChoose={choose} onPreview={setPreviewFeature} />
          </Tabs.Content>
          <Tabs.Content value="image" className="tab-panel">
            <ImageNumbers d={d} />
          </Tabs.Content>
        </Tabs.Root>
      </div>
    </div>
  );
}

/** The photo (centre square, or whole with the margins dimmed), the overlay canvas and the hit grid. */
function CropView({ d, map, selected, full, region, onRegion, onPreview, onSelect, children }: {
  d: ImageDetails; map: Map16 | null; selected: number; full: boolean; region: Region | null; onRegion: (r: Region | null) => void;
  onPreview: (t: number | null) => void; onSelect: (t: number) => void; children: ReactNode;
}) {
  const [natural, setNatural] = useState<{ w: number; h: number } | null>(null);
  const w = natural?.w ?? d.width ?? 1;
  const h = natural?.h ?? d.height ?? 1;
  // In the full view the frame has the photo's shape and the model's square sits in its centre.
  const square = full ? { width: `${(Math.min(w, h) / w) * 100}%`, height: `${(Math.min(w, h) / h) * 100}%` } : { width: '100%', height: '100%' };
  const cls = map ? map.values[0] ?? 0 : null;
  const [r, g, b] = heatColor(map && map.max > 0 && cls !== null ? Math.min(1, cls / map.max) : 0);
  return (
    <figure className="model-crop">
      <div className={`crop-frame${full ? ' crop-full' : ''}`} style={full ? { aspectRatio: `${w} / ${h}` } : undefined}>
        <img
          src={mediaUrl(full ? 'photo' : 'thumb', d.imageId)}
          alt={full ? 'The whole photo; the part outside the model crop is dimmed' : "The model's 224 × 224 centre crop"}
          draggable={false}
          onLoad={(e) => full && setNatural({ w: e.currentTarget.naturalWidth, h: e.currentTarget.naturalHeight })}
        />
        <div className="crop-square" style={square}>
          <OverlayCanvas map={map} />
          <PatchGrid selected={selected} peak={map?.peak ?? null} region={region} onRegion={onRegion} onPreview={onPreview} onSelect={onSelect} />
        </div>
      </div>
      <figcaption className="crop-caption">
        <button
          type="button"
          className={`btn btn-small cls-btn${selected === 0 ? ' active' : ''}`}
          data-token="0"
          aria-pressed={selected === 0}
          onClick={() => onSelect(0)}
          onMouseEnter={() => onPreview(0)}
          onMouseLeave={() => onPreview(null)}
          onFocus={() => onPreview(0)}
          onBlur={() => onPreview(null)}
          title="The CLS token: the model's summary of the whole crop"
        >
          {map && <span className="swatch swatch-small" style={{ background: `rgb(${r},${g},${b})` }} aria-hidden />}
          CLS token{map && cls !== null ? ` · ${map.kind === 'heat' ? act(cls) : fixed(cls, 4)}` : ''}
        </button>
        {children}
      </figcaption>
    </figure>
  );
}

/** A 16 × 16 canvas scaled up without smoothing: colour and opacity from one 256-entry table. */
function OverlayCanvas({ map }: { map: Map16 | null }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const ctx = ref.current?.getContext('2d');
    if (!ctx) return;
    const img = ctx.createImageData(SIDE, SIDE);
    if (map && map.max > 0) {
      for (let p = 0; p < PATCHES; p++) {
        const t = Math.max(0, Math.min(1, (map.values[p + 1] ?? 0) / map.max));
        const [r, g, b] = heatColor(t);
        // Heat: opacity ∝ value (0 stays clear); error: every patch shows, brighter where it is larger.
        const alpha = map.kind === 'heat' ? Math.round(t * 255) : Math.round((0.25 + 0.65 * t) * 255);
        img.data.set([r, g, b, alpha], p * 4);
      }
    }
    ctx.putImageData(img, 0, 0);
  }, [map]);
  return (
    <canvas
      ref={ref}
      width={SIDE}
      height={SIDE}
      className="overlay-canvas"
      data-testid="overlay"
      data-kind={map?.kind ?? 'none'}
      data-feature={map?.feature ?? ''}
      aria-hidden
    />
  );
}

/**
 * 256 buttons in 16 rows: a roving tab stop, arrows move, Enter/Space pin, hover previews. Dragging
 * across patches, or shift + arrows, selects a rectangular region (Esc clears it).
 */
const PatchGrid = memo(function PatchGrid({ selected, peak, region, onRegion, onPreview, onSelect }: {
  selected: number; peak: number | null; region: Region | null; onRegion: (r: Region | null) => void; onPreview: (t: number | null) => void; onSelect: (t: number) => void;
}) {
  const [stop, setStop] = useState(selected > 0 ? selected : 1);
  const ref = useRef<HTMLDivElement>(null);
  /** Where a shift-arrow selection started. */
  const anchor = useRef<number | null>(null);
  const [drag, setDrag] = useState<{ from: number; region: Region | null } | null>(null);
  /** A drag ends with a click on whatever is under the pointer; that click is not a pin. */
  const dragged = useRef(false);
  useEffect(() => {
    if (selected > 0) setStop(selected);
  }, [selected]);
  useEffect(() => {
    if (!drag) return;
    const end = () => {
      setDrag(null);
      if (drag.region) {
        dragged.current = true;
        setTimeout(() => (dragged.current = false), 0);
        onRegion(drag.region);
      }
    };
    window.addEventListener('pointerup', end);
    return () => window.removeEventListener('pointerup', end);
  }, [drag, onRegion]);
  const focusToken = (t: number) => {
    setStop(t);
    ref.current?.querySelector<HTMLButtonElement>(`button[data-token="${t}"]`)?.focus();
  };
  const tokenAt = (x: number, y: number): number => {
    const box = ref.current!.getBoundingClientRect();
    const c = Math.max(0, Math.min(SIDE - 1, Math.floor(((x - box.left) / box.width) * SIDE)));
    const r = Math.max(0, Math.min(SIDE - 1, Math.floor(((y - box.top) / box.height) * SIDE)));
    return 1 + r * SIDE + c;
  };
  const onKeyDown = (e: ReactKeyboardEvent<HTMLDivElement>) => {
    if (e.key === 'Escape' && region) {
      e.preventDefault();
      anchor.current = null;
      onRegion(null);
      return;
    }
    const t = Number((e.target as HTMLElement).getAttribute('data-token'));
    if (!(t >= 1 && t <= PATCHES)) return;
    const row = Math.floor((t - 1) / SIDE);
    const col = (t - 1) % SIDE;
    let to: number | null = null;
    if (e.key === 'ArrowRight' && col < SIDE - 1) to = t + 1;
    else if (e.key === 'ArrowLeft' && col > 0) to = t - 1;
    else if (e.key === 'ArrowDown' && row < SIDE - 1) to = t + SIDE;
    else if (e.key === 'ArrowUp' && row > 0) to = t - SIDE;
    else if (e.key === 'Home') to = e.ctrlKey ? 1 : row * SIDE + 1;
    else if (e.key === 'End') to = e.ctrlKey ? PATCHES : row * SIDE + SIDE;
    else if (!e.key.startsWith('Arrow')) return;
    e.preventDefault();
    if (e.shiftKey && e.key.startsWith('Arrow')) {
      anchor.current ??= t;
      onRegion(regionBetween(anchor.current, to ?? t));
    } else {
      anchor.current = null;
    }
    if (to !== null) focusToken(to);
  };
  const shown = drag ? drag.region ?? region : region;
  return (
    <>
      {shown && (
        <div
          className="insp-region"
          data-testid="region-outline"
          style={{
            left: `${(shown[2] / SIDE) * 100}%`, top: `${(shown[0] / SIDE) * 100}%`,
            width: `${((shown[3] - shown[2] + 1) / SIDE) * 100}%`, height: `${((shown[1] - shown[0] + 1) / SIDE) * 100}%`,
          }}
          aria-hidden
        />
      )}
      <div
        ref={ref}
        className={`insp-grid${drag ? ' selecting' : ''}`}
        role="grid"
        aria-label="Patches of the model crop, 16 rows by 16 columns; drag or shift + arrow keys select a region"
        aria-multiselectable={region !== null}
        onKeyDown={onKeyDown}
        onPointerDown={(e) => {
          if (e.button !== 0 || e.pointerType === 'touch') return;
          setDrag({ from: tokenAt(e.clientX, e.clientY), region: null });
        }}
        onPointerMove={(e) => {
          if (!drag) return;
          const t = tokenAt(e.clientX, e.clientY);
          // A region once the pointer has left the patch it went down on.
          const next = t === drag.from && !drag.region ? null : regionBetween(drag.from, t);
          if (!sameRegion(next, drag.region)) setDrag({ ...drag, region: next });
        }}
        onMouseLeave={() => onPreview(null)}
        onBlur={(e) => {
          if (!e.currentTarget.contains(e.relatedTarget as Node | null)) onPreview(null);
        }}
      >
        {Array.from({ length: SIDE }, (_, r) => (
          <div role="row" className="insp-row" key={r}>
            {Array.from({ length: SIDE }, (_, c) => {
              const t = r * SIDE + c + 1;
              return (
                <div role="gridcell" className="insp-cell" key={c} aria-selected={t === selected || (region !== null && r >= region[0] && r <= region[1] && c >= region[2] && c <= region[3])}>
                  <button
                    type="button"
                    className={`insp-patch${t === selected ? ' selected' : ''}${t === peak ? ' peak' : ''}`}
                    data-token={t}
                    aria-label={`patch ${r},${c}`}
                    tabIndex={t === stop ? 0 : -1}
                    onClick={() => {
                      if (!dragged.current) onSelect(t);
                    }}
                    onMouseEnter={() => onPreview(t)}
                    onFocus={() => {
                      setStop(t);
                      onPreview(t);
                    }}
                  />
                </div>
              );
            })}
          </div>
        ))}
      </div>
    </>
  );
});

/** The selected region: its strongest features, and where to take them (a query, steering). */
function RegionPanel({ d, region, layer, chosen, onChoose, onPreview, onClear }: {
  d: ImageDetails; region: Region | null; layer: number | undefined; chosen: number | null;
  onChoose: (f: number, t?: number) => void; onPreview: (f: number | null) => void; onClear: () => void;
}) {
  const top = useMemo(() => (region ? regionTopFeatures(d.tokens, region, REGION_FEATURES) : []), [d, region]);
  if (!region) {
    return <p className="muted small" data-testid="region-hint">Drag across the patches, or hold Shift and use the arrow keys on the grid, to select a region.</p>;
  }
  const scale = top[0]?.act ?? 0;
  const terms = formatTermList(top.map((f) => ({ feature: f.feature })));
  return (
    <section className="card region-card" aria-labelledby="region-title" data-testid="region-panel" data-region={formatRegion(region)}>
      <div className="row">
        <h2 id="region-title" className="grow">
          Region: {describeRegion(region)} <span className="muted small">({regionSize(region)} patches)</span>
        </h2>
        <button type="button" className="btn btn-small btn-quiet" onClick={onClear} title="Clear the region (Esc on the grid)">
          <X size={14} aria-hidden /> Clear
        </button>
      </div>
      <p className="muted small">
        The features that fire most inside it: each at its largest activation over the region's patches.
      </p>
      {top.length === 0 ? (
        <p className="muted small">No feature fires inside this region.</p>
      ) : (
        <ol className="feature-list" data-testid="region-features">
          {top.map((f) => (
            <FeatureRow key={f.feature} feature={f.feature} value={f.act} scale={scale} chosen={f.feature === chosen} token={f.token} note={tokenName(f.token)} onChoose={() => onChoose(f.feature, f.token)} onPreview={onPreview} />
          ))}
        </ol>
      )}
      <div className="row">
        {top.length > 0 && (
          <Link
            className="btn btn-small btn-primary"
            to="/query"
            search={{ ...(layer === undefined ? {} : { layer }), all: terms, region: formatRegion(region) }}
            data-testid="region-query"
            title={`Photos where features ${top.map((f) => f.feature).join(', ')} all fire within ${describeRegion(region)}`}
          >
            <Search size={14} aria-hidden /> Find photos where these features fire here
          </Link>
        )}
        <Link
          className="btn btn-small"
          to="/steer/$imageId"
          params={{ imageId: String(d.imageId) }}
          search={{ ...(layer === undefined ? {} : { layer }), tokens: regionTokens(region).join(',') }}
          data-testid="region-steer"
          title="Steer this photo: edit features on this region's patches and see what the model sees then"
        >
          <SlidersHorizontal size={14} aria-hidden /> Steer
        </Link>
      </div>
    </section>
  );
}

function Legend({ d, map, overlay, chosen }: { d: ImageDetails; map: Map16 | null; overlay: Overlay; chosen: number | null }) {
  if (!map) {
    return (
      <p className="muted small legend-empty" data-testid="legend">
        {overlay === 'heat'
          ? 'Choose a feature (click its value) to see where it fires on this photo.'
          : overlay === 'error'
            ? 'No per-token error for this photo.'
            : 'No overlay. Hover a feature to preview its heat.'}
      </p>
    );
  }
  const what = map.kind === 'heat'
    ? <>Feature {map.feature} on this photo: its SAE activation per patch, 0 where it is not among the patch's top {d.tokens.idx[1]?.length ?? 32}. Opacity ∝ value; scale 0 – this photo's largest patch value.</>
    : <>Reconstruction error per patch: mean over dimensions of (x − x̂)², in squared activation units; scale 0 – this photo's largest patch error.</>;
  return (
    <div className="legend inspector-legend" data-testid="legend" data-max={map.max} data-peak={map.peak ?? ''}>
      <span className="legend-bar" aria-hidden />
      <div className="legend-labels small muted num">
        <span>0</span>
        <span>{map.kind === 'heat' ? act(map.max) : fixed(map.max, 4)}</span>
      </div>
      <div className="small muted">{what}</div>
      {map.peak !== null ? (
        <div className="small" data-testid="peak">
          {map.kind === 'heat' ? 'Strongest' : 'Largest'} at <strong>{tokenName(map.peak)}</strong> (token {map.peak}, marked with a dot):{' '}
          <span className="num">{map.kind === 'heat' ? act(map.max) : fixed(map.max, 4)}</span>
        </div>
      ) : (
        <div className="small">Feature {map.feature} does not fire on any patch of this photo{chosen === map.feature ? '' : ' (preview)'}.</div>
      )}
    </div>
  );
}

function FeatureRow({ feature, value, scale, chosen, token, note, onChoose, onPreview }: {
  feature: number; value: number; scale: number; chosen: boolean; token: number; note?: string;
  onChoose: () => void; onPreview: (f: number | null) => void;
}) {
  return (
    <li
      data-feature={feature}
      data-value={value}
      className={`${chosen ? 'chosen' : ''}${note ? ' with-note' : ''}`}
      onMouseEnter={() => onPreview(feature)}
      onMouseLeave={() => onPreview(null)}
    >
      <Link to="/feature/$id" params={{ id: String(feature) }} search={{ token: token === 0 ? 'cls' : token }} title={`Open feature ${feature}'s page: the photos it fires on`}>
        Feature {feature}
      </Link>
      <button
        type="button"
        className="feat-pick"
        aria-pressed={chosen}
        aria-label={`Show feature ${feature} on the photo (${act(value)})`}
        onClick={onChoose}
        onFocus={() => onPreview(feature)}
        onBlur={() => onPreview(null)}
      >
        <span className="bar" aria-hidden>
          <span style={{ width: `${scale > 0 ? Math.max(2, (value / scale) * 100) : 0}%` }} />
        </span>
        <span className="num" title="SAE activation">{act(value)}</span>
      </button>
      {note && <span className="muted small feat-note">{note}</span>}
    </li>
  );
}

function TokenFeatures({ d, token, pinned, chosen, onChoose, onPreview }: {
  d: ImageDetails; token: number; pinned: boolean; chosen: number | null; onChoose: (f: number) => void; onPreview: (f: number | null) => void;
}) {
  const idx = d.tokens.idx[token] ?? [];
  const val = d.tokens.val[token] ?? [];
  const scale = Math.max(0, ...val);
  return (
    <div className="token-panel" data-testid="token-features" data-token={token}>
      <div className="token-head">
        <h2>{token === 0 ? 'CLS token' : tokenName(token).replace('patch', 'Patch')} <span className="muted small">token {token}</span></h2>
        <span className={`badge${pinned ? ' badge-ok' : ''}`}>{pinned ? 'Pinned' : 'Preview'}</span>
      </div>
      <p className="muted small">
        {pinned ? 'Hover or arrow-key over the grid to preview another patch; click or Enter pins it.' : 'Click or press Enter to pin this patch.'}{' '}
        Its {idx.length} strongest SAE features (TopK), strongest first; bars relative to the strongest. Click a value to see that
        feature's heat on the photo.
      </p>
      {idx.length === 0 ? (
        <p className="muted">No features recorded for this token.</p>
      ) : (
        <ol className="feature-list">
          {idx.map((f, i) => (
            <FeatureRow key={f} feature={f} value={val[i]!} scale={scale} chosen={f === chosen} token={token} onChoose={() => onChoose(f)} onPreview={onPreview} />
          ))}
        </ol>
      )}
    </div>
  );
}

function PooledFeatures({ d, chosen, onChoose, onPreview }: { d: ImageDetails; chosen: number | null; onChoose: (f: number, t: number) => void; onPreview: (f: number | null) => void }) {
  const [all, setAll] = useState(false);
  const shown = all ? d.pooled : d.pooled.slice(0, 40);
  const scale = d.pooled[0]?.act ?? 0;
  return (
    <div data-testid="pooled">
      <p className="muted small">
        Every feature that fires somewhere on this photo ({d.pooled.length.toLocaleString()}), at its strongest token, strongest
        first. Choosing one pins that token and shows its heat.
      </p>
      <ol className="feature-list">
        {shown.map((p) => (
          <FeatureRow key={p.feature} feature={p.feature} value={p.act} scale={scale} chosen={p.feature === chosen} token={p.token} note={tokenName(p.token)} onChoose={() => onChoose(p.feature, p.token)} onPreview={onPreview} />
        ))}
      </ol>
      {!all && d.pooled.length > shown.length && (
        <button type="button" className="btn btn-small btn-quiet" onClick={() => setAll(true)}>
          Show all {d.pooled.length.toLocaleString()}
        </button>
      )}
    </div>
  );
}

function ImageNumbers({ d }: { d: ImageDetails }) {
  return (
    <div className="image-numbers" data-testid="image-numbers">
      <div className="stats">
        <Stat label="MSE" value={fixed(d.mse, 4)} tip="Reconstruction error: mean over the 257 tokens and the model's dimensions of (x − x̂)², in squared activation units. Lower is better." />
        <Stat label="Explained variance" value={percent(d.ev, 1)} tip="Share of the variance of this photo's activations that the SAE's reconstruction explains (1 − residual variance / variance)." />
        <Stat label="L0 (features/token)" value={d.l0.toFixed(1)} tip="Mean number of active (non-zero) SAE features per token, in features/token." />
      </div>
      <dl className="facts small">
        <dt>File</dt>
        <dd className="path">{d.file}{d.removed ? ' (no longer on disk)' : ''}</dd>
        <dt>Layer</dt>
        <dd>Residual stream after block {d.layer}</dd>
        {d.width && d.height ? (
          <>
            <dt>Size</dt>
            <dd className="num">{d.width} × {d.height} px</dd>
          </>
        ) : null}
        <dt>Tokens</dt>
        <dd>257: CLS + 16 × 16 patches of 14 × 14 px of the 224 × 224 crop</dd>
      </dl>
      <p className="small">
        <Tip content="Opens the full-resolution photo in a new tab">
          <a href={mediaUrl('photo', d.imageId)} target="_blank" rel="noreferrer">
            Open the full photo <ExternalLink size={12} aria-hidden />
          </a>
        </Tip>
      </p>
    </div>
  );
}
