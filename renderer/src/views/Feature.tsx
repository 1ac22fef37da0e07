/** "Photos that activate feature N": the gallery at a token, strongest first (as `clipscope gallery`). */
import { useEffect, useMemo, useState, useSyncExternalStore, type FormEvent } from 'react';
import { useInfiniteQuery, useMutation, useQueries, useQuery, useQueryClient } from '@tanstack/react-query';
import { getRouteApi, Link, useNavigate } from '@tanstack/react-router';
import { ChevronLeft, ChevronRight, SlidersHorizontal } from 'lucide-react';
import type { FeatureDetails, GalleryItem } from '../../../common/contract/explore-schemas.js';
import type { LibraryInfo } from '../../../common/contract/library-schemas.js';
import { engine, mediaUrl } from '../platform.js';
import { keys, useAppState } from '../queries.js';
import { RequireLibrary } from '../shell/Frame.js';
import { EmptyState, ErrorMessage, Stat, Tip } from '../ui/bits.js';
import { baseName, percent } from '../ui/format.js';
import { HeatCanvas, HeatLegend, type TokenHeat } from '../ui/HeatTile.js';
import { Histogram } from '../ui/Histogram.js';
import { isTyping } from '../ui/hooks.js';

const route = getRouteApi('/feature/$id');
const PAGE = 60;

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

function Feature({ library }: { library: LibraryInfo }) {
  const { id } = route.useParams();
  const { token, layer } = route.useSearch();
  const navigate = useNavigate();
  const feature = Number(id);
  const config = library.configs.find((c) => layer === undefined || c.layer === layer) ?? null;
  const valid = Number.isInteger(feature) && feature >= 0 && (!config || feature < config.nFeatures);
  const gallery = useInfiniteQuery({
    queryKey: [...keys.lib, 'gallery', library.file, feature, token, layer ?? null],
    queryFn: ({ pageParam }) => engine['gallery.get']({ feature, token, layer, limit: PAGE, offset: pageParam }),
    initialPageParam: 0,
    getNextPageParam: (last, pages) => (last.items.length < PAGE ? undefined : pages.length * PAGE),
    enabled: valid && config !== null,
  });
  const items = gallery.data?.pages.flatMap((p) => p.items) ?? [];
  const total = gallery.data?.pages[0]?.total;
  const go = (f: number) => void navigate({ to: '/feature/$id', params: { id: String(f) }, search: { token, layer } });
  const setToken = (t: 'cls' | 'any' | number) => void navigate({ to: '/feature/$id', params: { id }, search: { token: t, layer } });
  const details = useQuery({
    queryKey: [...keys.lib, 'feature.details', library.file, feature, layer ?? null],
    queryFn: () => engine['feature.details']({ feature, layer }),
    enabled: valid && config !== null,
  });
  // One feature.heat call per gallery page; one colour scale for the whole view.
  const heats = useQueries({
    queries: (gallery.data?.pages ?? []).map((p) => {
      const ids = p.items.map((it) => it.imageId);
      return {
        queryKey: [...keys.lib, 'feature.heat', library.file, feature, layer ?? null, ids],
        queryFn: () => engine['feature.heat']({ feature, imageIds: ids, layer }),
        enabled: ids.length > 0,
        staleTime: Infinity,
      };
    }),
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
  const nFeatures = config?.nFeatures ?? 0;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target) || document.querySelector('dialog[open]') || !valid) return;
      if (e.key === 'j' && feature + 1 < nFeatures) go(feature + 1);
      else if (e.key === 'k' && feature > 0) go(feature - 1);
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });
  const steer = (it: GalleryItem) =>
    void navigate({ to: '/steer/$imageId', params: { imageId: String(it.imageId) }, search: { layer, tokens: it.token === 0 ? 'cls' : String(it.token), edits: `${feature}:=0` } });

  if (!config) {
    return (
      <div className="view-pad">
        <EmptyState title="No results to show yet">
          <p>Index the library first; feature galleries read the indexed results.</p>
        </EmptyState>
      </div>
    );
  }
  return (
    <div className="view-pad feature">
      <div className="section-head">
        <div className="row">
          <Tip content="Previous feature (k)">
            <button type="button" className="btn btn-small btn-quiet icon-btn" aria-label="Previous feature" aria-keyshortcuts="k" disabled={!valid || feature === 0} onClick={() => go(feature - 1)}>
              <ChevronLeft size={16} aria-hidden />
            </button>
          </Tip>
          <h1 className="h-title">Feature {valid ? feature : id}</h1>
          <Tip content="Next feature (j)">
            <button type="button" className="btn btn-small btn-quiet icon-btn" aria-label="Next feature" aria-keyshortcuts="j" disabled={!valid || feature + 1 >= config.nFeatures} onClick={() => go(feature + 1)}>
              <ChevronRight size={16} aria-hidden />
            </button>
          </Tip>
          {details.data?.label && <span className="feature-label" data-testid="feature-label">{details.data.label}</span>}
          <span className="muted small">layer {config.layer} · {config.nFeatures.toLocaleString()} features · j / k: next / previous</span>
        </div>
        <TokenPicker token={token} onChange={setToken} />
      </div>
      {library.demo && <p className="message message-info">Demo model, random weights: this feature means nothing; the gallery shows how the view works.</p>}
      {!valid && <p className="message message-error" role="alert">There is no feature "{id}": features are numbered 0 to {config.nFeatures - 1}.</p>}
      <div className="feature-body">
        <div className="feature-main">
          <ErrorMessage error={gallery.error} />
          {gallery.data && (
            <div className="row gallery-head">
              <p className="muted small grow" data-testid="gallery-total">
                {total === null ? `${items.length}+ photos` : `${total} ${total === 1 ? 'photo' : 'photos'}`} where it fires
                {token === 'cls' ? ' on the CLS token' : token === 'any' ? ' on any token (each photo at its strongest token)' : ` at ${tokenName(token)}`}
                , strongest first. Values are SAE activations.
              </p>
              {items.length > 0 && <HeatLegend max={heatMax} what="The feature's activation on each patch, one colour scale for the whole page (0 to its largest patch value); the dot marks each photo's strongest patch" />}
            </div>
          )}
          {gallery.data && items.length === 0 && (
            <EmptyState title="This feature never fires here">
              <p>Try another token (any token finds more), or another feature.</p>
            </EmptyState>
          )}
          <ol className="gallery" data-testid="gallery" onMouseLeave={() => setHovered(null)}>
            {items.map((it, i) => {
              const heat = heatById.get(it.imageId);
              return (
                <li key={`${it.imageId}-${i}`} className="gallery-item" data-image-id={it.imageId} data-act={it.act} data-token={it.token} onMouseEnter={() => setHovered(it.act)}>
                  <Link to="/image/$imageId" params={{ imageId: String(it.imageId) }} className="tile gallery-tile" title={it.file} onFocus={() => setHovered(it.act)}>
                    <img src={mediaUrl('thumb', it.imageId)} alt={baseName(it.file)} loading="lazy" decoding="async" draggable={false} />
                    {heat && heatMax > 0 && <HeatCanvas heat={heat} scale={heatMax} label={`Heat of feature ${feature} on ${baseName(it.file)}`} />}
                  </Link>
                  <div className="gallery-caption">
                    <Tip content={`SAE activation of feature ${feature} at ${tokenName(it.token)}`}>
                      <span className="num act" tabIndex={0}>{it.act.toFixed(3)}</span>
                    </Tip>
                    <span className="muted small">{tokenName(it.token)}</span>
                    <Tip content={`Steer: edit feature ${feature} on this photo (${tokenName(it.token)}) and see what the model sees then`}>
                      <button type="button" className="btn btn-small btn-quiet icon-btn" aria-label={`Steer feature ${feature} on ${baseName(it.file)}`} onClick={() => steer(it)}>
                        <SlidersHorizontal size={14} aria-hidden />
                      </button>
                    </Tip>
                  </div>
                </li>
              );
            })}
          </ol>
          {gallery.hasNextPage && (
            <button type="button" className="btn" disabled={gallery.isFetchingNextPage} onClick={() => void gallery.fetchNextPage()}>
              {gallery.isFetchingNextPage ? 'Loading…' : `Show ${PAGE} more`}
            </button>
          )}
        </div>
        {valid && (
          <aside className="feature-side">
            <ErrorMessage error={details.error} />
            {details.data && <FeatureStats d={details.data} />}
            {details.data && <LabelEditor d={details.data} layer={layer} libraryFile={library.file} />}
          </aside>
        )}
      </div>
    </div>
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
