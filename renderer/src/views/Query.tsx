/**
 * The query view (`#/query?all=12:0.5,99&any=&not=&region=0-3x0-3&tokens=&folder=&after=&before=&sort=`):
 * photos by the features that fire on them, as `clipscope query` finds them. The URL is the
 * state, in the CLI's own grammar; the builder edits it and the results follow it (a new query
 * drops the answer of the one before). Results are a virtualised grid of tiles with their score;
 * each opens the inspector with these results as its walk order. A region query reads photos'
 * latents: bounded calls whose cursors the grid follows as it nears its end (ui/paging.ts).
 */
import { useEffect, useMemo, useRef, useState, type KeyboardEvent as ReactKeyboardEvent, type ReactNode } from 'react';
import { keepPreviousData, useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { getRouteApi, Link, useNavigate } from '@tanstack/react-router';
import { Plus, SearchX, X } from 'lucide-react';
import type { FeatureInfo } from '../../../common/contract/explore-schemas.js';
import type { LibraryInfo } from '../../../common/contract/library-schemas.js';
import { formatRegion, formatTermList, formatTokenList, parseRegionList, parseTermList, parseTokenList, type QueryTermText } from '../../../common/contract/query-grammar.js';
import type { QueryHit } from '../../../common/contract/query-schemas.js';
import { engine } from '../platform.js';
import { Thumb } from '../ui/Thumb.js';
import { keys, useAppState } from '../queries.js';
import { RequireLibrary } from '../shell/Frame.js';
import { EmptyState, ErrorMessage, Tip } from '../ui/bits.js';
import { baseName } from '../ui/format.js';
import { useClientWidth } from '../ui/hooks.js';
import { FeaturePicker } from '../ui/FeaturePicker.js';
import { querySearchOfRoute, querySearchText, requestOf, type QueryRouteSearch, type QuerySearch } from '../ui/query-params.js';
import { checkedRegion, describeRegion, type Region } from '../ui/region.js';
import { RegionPicker } from '../ui/RegionPicker.js';
import { FIRST_PAGE, isSuperseded, nextPageParam, scanFields } from '../ui/paging.js';
import { abortable } from '../ui/walk.js';

const route = getRouteApi('/query');
const PAGE = 60;
/** A region query's page: one scan of this many photos (they arrive call by call), then the next. */
const REGION_PAGE = 300;
const MIN_TILE = 150;
const GAP = 10;
const CAPTION = 24;

type Group = 'all' | 'any' | 'not';
const GROUPS: { key: Group; title: string; help: string }[] = [
  { key: 'all', title: 'All of', help: 'Every one of these features must fire on the photo.' },
  { key: 'any', title: 'Any of', help: 'At least one of these must fire.' },
  { key: 'not', title: 'None of', help: 'None of these may fire.' },
];

/** Where each query's results were scrolled to, so that coming back from the inspector lands there. */
const scrollPositions = new Map<string, number>();

export function QueryView() {
  const state = useAppState();
  return <RequireLibrary>{state.data?.library && <Query library={state.data.library} />}</RequireLibrary>;
}

function termsOf(text: string | undefined): QueryTermText[] {
  try {
    return text ? parseTermList(text) : [];
  } catch {
    return [];
  }
}

/** The URL's regions (their union is looked at); null when one cannot be read or lies outside the grid. */
function regionsOf(text: string | undefined): Region[] | null {
  try {
    const list = (text ? parseRegionList(text) : []).map((r) => checkedRegion(r));
    return list.every((r) => r !== null) ? (list as Region[]) : null;
  } catch {
    return null;
  }
}

function tokensOf(text: string | undefined): number[] {
  try {
    return text ? parseTokenList(text) : [];
  } catch {
    return [];
  }
}

function Query({ library }: { library: LibraryInfo }) {
  const search = querySearchOfRoute(route.useSearch());
  const navigate = useNavigate();
  const set = (patch: Partial<QuerySearch>) =>
    void navigate({
      to: '/query',
      search: (s) => Object.fromEntries(Object.entries({ ...(s as QuerySearch), ...patch }).filter(([, v]) => v !== undefined && v !== '')) as QueryRouteSearch,
    });
  const { request, problems } = useMemo(() => requestOf(search), [search]);
  const layers = [...new Set(library.configs.map((c) => c.layer))].sort((a, b) => a - b);
  const config = library.configs.find((c) => search.layer === undefined || c.layer === search.layer) ?? null;
  const groups = { all: termsOf(search.all), any: termsOf(search.any), not: termsOf(search.not) };
  const termFeatures = [...new Set([...groups.all, ...groups.any, ...groups.not].map((t) => t.feature))].sort((a, b) => a - b);
  const infos = useQuery({
    queryKey: [...keys.lib, 'features.search', library.file, 'terms', search.layer ?? null, termFeatures],
    queryFn: () => engine['features.search']({ features: termFeatures, layer: search.layer, limit: Math.max(1, termFeatures.length) }),
    enabled: termFeatures.length > 0 && config !== null,
    placeholderData: keepPreviousData,
  });
  const info = useMemo(() => new Map((infos.data?.items ?? []).map((f) => [f.feature, f])), [infos.data]);
  // The next region drawn is added to the others (the "Add a region" button).
  const [adding, setAdding] = useState(false);

  if (!config) {
    return (
      <div className="view-pad">
        {layers.length > 0 ? (
          <EmptyState title={`No results at layer ${search.layer}`}>
            <p>This library was indexed at layer {layers.join(', ')}. <button type="button" className="btn btn-small" onClick={() => set({ layer: layers[0] })}>Query layer {layers[0]}</button></p>
          </EmptyState>
        ) : (
          <EmptyState title="No results to query yet">
            <p>Index the library first; queries read the indexed features of each photo.</p>
          </EmptyState>
        )}
      </div>
    );
  }
  const parsedRegions = regionsOf(search.region);
  const regions = parsedRegions ?? [];
  const regionsUnread = parsedRegions === null;
  const setRegions = (list: Region[]) => {
    setAdding(false);
    set({ region: list.length ? list.map(formatRegion).join(',') : undefined });
  };
  const tokens = tokensOf(search.tokens);
  const otherTokens = tokens.filter((t) => t !== 0);
  return (
    <div className="query-view">
      <aside className="query-side" aria-labelledby="query-title">
        <div>
          <h1 className="h-title" id="query-title">Query</h1>
          <p className="muted small">
            Find photos by the features that fire on them. A feature "fires" on a photo when its activation (SAE latent value) on
            some token is above zero, or above the minimum you set.
          </p>
        </div>
        {layers.length > 1 && (
          <div className="chips" role="group" aria-label="Layer">
            {layers.map((l) => (
              <button key={l} type="button" className={`chip${l === config.layer ? ' active' : ''}`} aria-pressed={l === config.layer} onClick={() => set({ layer: l })}>
                Layer {l}
              </button>
            ))}
          </div>
        )}
        <TermAdder libraryFile={library.file} layer={search.layer} onAdd={(group, term) => set({ [group]: formatTermList([...groups[group], term]) })} />
        <section className="query-terms" aria-label="Terms">
          {GROUPS.map((g) => (
            <div key={g.key} className="term-group" data-group={g.key}>
              <Tip content={g.help}>
                <h2 className="term-group-title" tabIndex={0}>{g.title}</h2>
              </Tip>
              {groups[g.key].length === 0 ? (
                <span className="muted small">—</span>
              ) : (
                <ul className="chips term-chips">
                  {groups[g.key].map((t, i) => (
                    <TermChip key={`${t.feature}-${i}`} term={t} info={info.get(t.feature)} group={g.key} onRemove={() => set({ [g.key]: formatTermList(groups[g.key].filter((_, j) => j !== i)) || undefined })} />
                  ))}
                </ul>
              )}
            </div>
          ))}
        </section>
        <fieldset className="query-fieldset">
          <legend className="field-legend">Where on the photo</legend>
          <RegionPicker label="Regions of the 16 × 16 patch grid" regions={regions} add={adding} onChange={setRegions} />
          <div className="small region-list" data-testid="region-text">
            {regions.length > 0 ? (
              <>
                <p>{regions.length === 1 ? 'Only this part of the patch grid:' : `Only these ${regions.length} parts of the patch grid (a feature fires in any of them):`}</p>
                <ul className="chips region-chips" aria-label="Regions">
                  {regions.map((r, i) => (
                    <li key={`${formatRegion(r)}-${i}`} className="region-chip" data-region={formatRegion(r)}>
                      {regions.length > 1 && <span className="num muted">{i + 1}</span>}
                      <span>{describeRegion(r)}</span>
                      <button type="button" className="term-remove" aria-label={`Remove the region ${describeRegion(r)}`} onClick={() => setRegions(regions.filter((_, j) => j !== i))}>
                        <X size={12} aria-hidden />
                      </button>
                    </li>
                  ))}
                </ul>
                <div className="row region-actions">
                  <button type="button" className={`btn btn-small${adding ? ' active' : ' btn-quiet'}`} aria-pressed={adding} onClick={() => setAdding(!adding)} title="The next region drawn on the grid is added to these (or hold shift as you drag)">
                    <Plus size={12} aria-hidden /> Add a region
                  </button>
                  <button type="button" className="btn btn-small btn-quiet" onClick={() => setRegions([])}>Whole photo</button>
                </div>
              </>
            ) : regionsUnread ? (
              <span className="muted">The region in the address cannot be read (see the message on the right).</span>
            ) : (
              <span className="muted">The whole photo (every token). Drag on the grid to look only at part of it.</span>
            )}
          </div>
          <label className="check small">
            <input
              type="checkbox"
              checked={tokens.includes(0)}
              onChange={(e) => set({ tokens: formatTokenList(e.target.checked ? [0, ...otherTokens] : otherTokens) || undefined })}
            />{' '}
            Also the CLS token (the model's summary of the whole crop)
          </label>
          {otherTokens.length > 0 && (
            <p className="small">
              Also tokens {otherTokens.join(', ')}.{' '}
              <button type="button" className="btn btn-small btn-quiet" onClick={() => set({ tokens: tokens.includes(0) ? 'cls' : undefined })}>Remove</button>
            </p>
          )}
        </fieldset>
        <fieldset className="query-fieldset">
          <legend className="field-legend">Which photos</legend>
          <label className="field">
            <span>Folder</span>
            <select value={search.folder ?? ''} onChange={(e) => set({ folder: e.target.value || undefined })}>
              <option value="">All folders</option>
              {library.folders.map((f) => (
                <option key={f.path} value={f.path} title={f.path}>{baseName(f.path)} ({f.images.toLocaleString()} photos)</option>
              ))}
              {search.folder && !library.folders.some((f) => f.path === search.folder) && <option value={search.folder}>{search.folder}</option>}
            </select>
          </label>
          <div className="query-dates">
            <label className="field">
              <span>Taken from</span>
              <input type="date" value={search.after ?? ''} onChange={(e) => set({ after: e.target.value || undefined })} />
            </label>
            <label className="field">
              <span>Taken before</span>
              <input type="date" value={search.before ?? ''} onChange={(e) => set({ before: e.target.value || undefined })} />
            </label>
          </div>
          <p className="muted small">Capture dates (EXIF), else the file's date. "Before" is exclusive.</p>
          <label className="field">
            <span>Sort by</span>
            <select value={search.sort ?? 'activation'} onChange={(e) => set({ sort: e.target.value === 'activation' ? undefined : (e.target.value as QuerySearch['sort']) })}>
              <option value="activation">Score (strongest first)</option>
              <option value="date">Date (newest first)</option>
              <option value="date-asc">Date (oldest first)</option>
            </select>
          </label>
        </fieldset>
      </aside>
      <Results library={library} search={search} request={request} problems={problems} groups={groups} />
    </div>
  );
}

function TermChip({ term, info, group, onRemove }: { term: QueryTermText; info: FeatureInfo | undefined; group: Group; onRemove: () => void }) {
  const what = `feature ${term.feature}${term.minAct !== undefined ? ` at ${term.minAct} or more` : ''}`;
  return (
    <li className={`term-chip term-${group}`} data-feature={term.feature} data-min={term.minAct ?? ''}>
      <Link to="/feature/$id" params={{ id: String(term.feature) }} search={{ token: 'any' }} className="term-link" title={info ? `Open feature ${term.feature}: fires on ${info.images.toLocaleString()} photos, largest activation ${info.maxAct.toFixed(3)}` : `Open feature ${term.feature}`}>
        <span className="num">#{term.feature}</span>
        {info?.label && <span className="term-label">{info.label}</span>}
        {term.minAct !== undefined && <span className="num term-min">≥ {term.minAct}</span>}
      </Link>
      <button type="button" className="term-remove" aria-label={`Remove ${what}`} onClick={onRemove}>
        <X size={12} aria-hidden />
      </button>
    </li>
  );
}

function TermAdder({ libraryFile, layer, onAdd }: { libraryFile: string; layer: number | undefined; onAdd: (g: Group, t: QueryTermText) => void }) {
  const [group, setGroup] = useState<Group>('all');
  const [picked, setPicked] = useState<FeatureInfo | null>(null);
  const [min, setMin] = useState('');
  const minValue = min.trim() === '' ? undefined : Number(min);
  const badMin = minValue !== undefined && !(Number.isFinite(minValue) && minValue >= 0);
  const add = () => {
    if (!picked || badMin) return;
    onAdd(group, minValue === undefined ? { feature: picked.feature } : { feature: picked.feature, minAct: minValue });
    setPicked(null);
    setMin('');
  };
  return (
    <form
      className="card term-adder"
      aria-label="Add a feature"
      onSubmit={(e) => {
        e.preventDefault();
        add();
      }}
    >
      <div className="chips" role="radiogroup" aria-label="Add to">
        {GROUPS.map((g) => (
          <button key={g.key} type="button" role="radio" aria-checked={group === g.key} className={`chip${group === g.key ? ' active' : ''}`} onClick={() => setGroup(g.key)} title={g.help}>
            {g.title}
          </button>
        ))}
      </div>
      {picked ? (
        <div className="row picked" data-testid="picked">
          <span className="num"><strong>Feature {picked.feature}</strong></span>
          {picked.label && <span className="term-label">{picked.label}</span>}
          <button type="button" className="btn btn-small btn-quiet" onClick={() => setPicked(null)}>Change</button>
        </div>
      ) : (
        <FeaturePicker libraryFile={libraryFile} layer={layer} label="Find a feature" onPick={setPicked} />
      )}
      <label className="field">
        <span>Minimum activation (optional)</span>
        <input
          type="number"
          min={0}
          step="any"
          inputMode="decimal"
          value={min}
          placeholder={picked ? `any above 0 (largest: ${picked.maxAct.toFixed(2)})` : 'any above 0'}
          aria-invalid={badMin}
          onChange={(e) => setMin(e.target.value)}
        />
      </label>
      {badMin && <p className="field-error">A minimum activation is a number of 0 or more.</p>}
      <button type="submit" className="btn btn-primary btn-small" disabled={!picked || badMin}>
        <Plus size={14} aria-hidden /> Add to "{GROUPS.find((g) => g.key === group)!.title.toLowerCase()}"
      </button>
    </form>
  );
}

function describeTerms(list: QueryTermText[]): string {
  return list.map((t) => `#${t.feature}${t.minAct !== undefined ? ` ≥ ${t.minAct}` : ''}`).join(', ');
}

function Results({ library, search, request, problems, groups }: {
  library: LibraryInfo; search: QuerySearch; request: ReturnType<typeof requestOf>['request']; problems: string[]; groups: Record<Group, QueryTermText[]>;
}) {
  // A region reads photos' latents one by one: bounded calls, cursor after cursor.
  const region = Boolean(request?.regions?.length || request?.tokens?.length);
  const limit = region ? REGION_PAGE : PAGE;
  const results = useInfiniteQuery({
    queryKey: [...keys.lib, 'query.run', library.file, request],
    queryFn: ({ pageParam, signal }) =>
      abortable(engine['query.run']({ ...request!, limit, offset: pageParam.offset, channel: 'query-results', ...scanFields(region, pageParam) }), signal),
    initialPageParam: FIRST_PAGE,
    getNextPageParam: (last, pages, lastParam, params) => nextPageParam(last, pages, lastParam, params, limit),
    enabled: request !== null,
  });
  const items = useMemo(() => results.data?.pages.flatMap((p) => p.items) ?? [], [results.data]);
  const pages = results.data?.pages;
  const last = pages?.[pages.length - 1];
  const total = last ? (last.cursor ? null : last.total) : undefined;
  // A scan's answers may hold no photo yet: go on at once until some come (or it ends).
  const scanning = results.hasNextPage && items.length === 0;
  useEffect(() => {
    if (scanning && !results.isFetching && !results.isError) void results.fetchNextPage();
  }, [scanning, results.isFetching, results.isError, results.fetchNextPage]);
  const error = isSuperseded(results.error) ? null : results.error;
  const from = `query:${querySearchText(search)}`;
  const sentence: ReactNode[] = [];
  if (groups.all.length) sentence.push(`all of ${describeTerms(groups.all)}`);
  if (groups.any.length) sentence.push(`any of ${describeTerms(groups.any)}`);
  if (groups.not.length) sentence.push(`none of ${describeTerms(groups.not)}`);

  return (
    <section className="query-results" aria-label="Results">
      {problems.map((p) => (
        <p key={p} className="message message-error" role="alert">This address has a parameter the query cannot read — {p}</p>
      ))}
      <ErrorMessage error={error} title="The query failed." />
      {request === null && problems.length === 0 && (
        <EmptyState icon={<SearchX size={28} />} title="Build a query">
          <p>Add a feature on the left: "all of" for features that must all fire, "any of" for alternatives, "none of" to exclude.</p>
          <p>Then narrow it to part of the photo, a folder or a date range.</p>
        </EmptyState>
      )}
      {request !== null && (
        <div className="row query-summary">
          <p className="small grow" data-testid="query-total" data-total={total ?? ''} aria-live="polite">
            {results.isPending || total === undefined || (scanning && !results.isError) ? 'Searching…' : total === null ? `At least ${items.length} photos` : `${total.toLocaleString()} ${total === 1 ? 'photo' : 'photos'}`}
            {!results.isPending && ` with ${sentence.join('; ')}`}
            {request.regions?.length ? `, within ${request.regions.map((r) => describeRegion(r)).join(' or ')}` : ''}
            {results.isFetching && !results.isPending ? (region ? ' · reading more photos…' : ' · updating…') : ''}
          </p>
          <Tip content="Score: the sum of the activations of the matching 'all of' and 'any of' features, each at its strongest token (within the region when one is chosen). SAE activations have no unit.">
            <span className="muted small dotted" tabIndex={0}>What is the score?</span>
          </Tip>
        </div>
      )}
      {results.data && items.length === 0 && !results.hasNextPage && <NoMatches search={search} groups={groups} />}
      {items.length > 0 && (
        <ResultGrid
          items={items}
          scrollKey={JSON.stringify(request)}
          from={from}
          layer={search.layer}
          more={results.hasNextPage && !results.isFetching && !results.isError ? () => void results.fetchNextPage() : null}
        />
      )}
    </section>
  );
}

function NoMatches({ search, groups }: { search: QuerySearch; groups: Record<Group, QueryTermText[]> }) {
  const tips: string[] = [];
  if (groups.all.length > 1) tips.push('drop a feature from "all of", or move it to "any of"');
  if ([...groups.all, ...groups.any].some((t) => t.minAct !== undefined)) tips.push('lower or remove the minimum activations');
  if (search.region) tips.push('widen the region, or look at the whole photo');
  if (search.folder) tips.push('look in all folders');
  if (search.after || search.before) tips.push('clear the dates');
  if (groups.not.length) tips.push('remove a "none of" feature');
  if (tips.length === 0) tips.push('try other features: open a feature page to see where it fires');
  return (
    <EmptyState icon={<SearchX size={28} />} title="No photo matches this query">
      <p>To find more: {tips.join('; ')}.</p>
    </EmptyState>
  );
}

function ResultGrid({ items, scrollKey, from, layer, more }: { items: QueryHit[]; scrollKey: string; from: string; layer: number | undefined; more: (() => void) | null }) {
  const scroller = useRef<HTMLDivElement>(null);
  const width = useClientWidth(scroller);
  const columns = Math.max(1, Math.floor((width + GAP) / (MIN_TILE + GAP)));
  const tile = width > 0 ? Math.floor((width - (columns - 1) * GAP) / columns) : MIN_TILE;
  const rows = Math.ceil(items.length / columns);
  const virtualizer = useVirtualizer({ count: rows, getScrollElement: () => scroller.current, estimateSize: () => tile + CAPTION + GAP, overscan: 3 });
  useEffect(() => virtualizer.measure(), [tile, virtualizer]);
  const virtualRows = virtualizer.getVirtualItems();
  const lastRow = virtualRows[virtualRows.length - 1]?.index ?? 0;
  useEffect(() => {
    if (more && lastRow >= rows - 2) more();
  }, [more, lastRow, rows]);
  // Back from the inspector: the same place in the same results.
  const restored = useRef(false);
  useEffect(() => {
    const saved = scrollPositions.get(scrollKey);
    if (restored.current || !scroller.current || width === 0) return;
    restored.current = true;
    if (saved) scroller.current.scrollTop = saved;
  }, [scrollKey, width]);

  const focusIndex = (i: number) => {
    const tileAt = () => scroller.current?.querySelector<HTMLElement>(`[data-index="${i}"]`);
    virtualizer.scrollToIndex(Math.floor(i / columns), { align: 'auto' });
    // A tile of a row not yet drawn is there after the next frame.
    if (tileAt()) tileAt()!.focus();
    else requestAnimationFrame(() => tileAt()?.focus());
  };
  const onKeyDown = (e: ReactKeyboardEvent<HTMLDivElement>) => {
    const i = Number((e.target as HTMLElement).getAttribute('data-index'));
    if (!Number.isInteger(i) || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
    const to = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : e.key === 'ArrowDown' ? i + columns : e.key === 'ArrowUp' ? i - columns : null;
    if (to === null) return;
    e.preventDefault();
    if (to >= 0 && to < items.length) focusIndex(to);
  };

  return (
    <div
      className="grid-scroll query-grid"
      ref={scroller}
      data-testid="query-results"
      onScroll={(e) => scrollPositions.set(scrollKey, e.currentTarget.scrollTop)}
      onKeyDown={onKeyDown}
    >
      <div className="grid-inner" style={{ height: virtualizer.getTotalSize() }} role="list" aria-label="Matching photos, best first; arrow keys move, Enter opens">
        {virtualRows.map((row) => (
          <div key={row.key} className="grid-row" style={{ transform: `translateY(${row.start}px)`, height: tile + CAPTION, gap: GAP }}>
            {items.slice(row.index * columns, row.index * columns + columns).map((h, c) => {
              const index = row.index * columns + c;
              return <ResultTile key={`${h.imageId}-${index}`} hit={h} index={index} size={tile} from={from} layer={layer} />;
            })}
          </div>
        ))}
      </div>
    </div>
  );
}

function ResultTile({ hit, index, size, from, layer }: { hit: QueryHit; index: number; size: number; from: string; layer: number | undefined }) {
  const name = baseName(hit.file);
  const feats = hit.features.map((f) => `#${f.feature} ${f.act.toFixed(3)} at token ${f.token}`).join(', ');
  const date = new Date(hit.date).toISOString().slice(0, 10);
  return (
    <div className="query-item" role="listitem" style={{ width: size }} data-image-id={hit.imageId} data-score={hit.score} data-index-pos={index}>
      <Link
        to="/image/$imageId"
        params={{ imageId: String(hit.imageId) }}
        search={{ ...(layer === undefined ? {} : { layer }), from, at: index }}
        className="tile"
        style={{ width: size, height: size }}
        data-index={index}
        aria-label={`${name}, score ${hit.score.toFixed(3)}`}
        title={`${hit.file}\n${date}${feats ? `\n${feats}` : ''}`}
      >
        <Thumb imageId={hit.imageId} alt="" />
        <span className="tile-name">{name}</span>
      </Link>
      <div className="gallery-caption small">
        <span className="num act" title="Score: sum of the matching features' activations">{hit.score.toFixed(3)}</span>
        <span className="muted num" title="Capture date, else the file's date">{date}</span>
      </div>
    </div>
  );
}
