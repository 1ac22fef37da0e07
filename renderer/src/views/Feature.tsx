/** "Photos that activate feature N": the gallery at a token, strongest first (as `clipscope gallery`). */
import { useState, type FormEvent } from 'react';
import { useInfiniteQuery } from '@tanstack/react-query';
import { getRouteApi, Link, useNavigate } from '@tanstack/react-router';
import { ChevronLeft, ChevronRight } from 'lucide-react';
import type { LibraryInfo } from '../../../common/contract/library-schemas.js';
import { engine, mediaUrl } from '../platform.js';
import { keys, useAppState } from '../queries.js';
import { RequireLibrary } from '../shell/Frame.js';
import { EmptyState, ErrorMessage, Tip } from '../ui/bits.js';
import { baseName } from '../ui/format.js';

const route = getRouteApi('/feature/$id');
const PAGE = 60;

export function FeatureView() {
  const state = useAppState();
  return <RequireLibrary>{state.data?.library && <Feature library={state.data.library} />}</RequireLibrary>;
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
          <button type="button" className="btn btn-small btn-quiet icon-btn" aria-label="Previous feature" disabled={!valid || feature === 0} onClick={() => go(feature - 1)}>
            <ChevronLeft size={16} aria-hidden />
          </button>
          <h1 className="h-title">Feature {valid ? feature : id}</h1>
          <button type="button" className="btn btn-small btn-quiet icon-btn" aria-label="Next feature" disabled={!valid || feature + 1 >= config.nFeatures} onClick={() => go(feature + 1)}>
            <ChevronRight size={16} aria-hidden />
          </button>
          <span className="muted small">layer {config.layer} · {config.nFeatures.toLocaleString()} features</span>
        </div>
        <TokenPicker token={token} onChange={setToken} />
      </div>
      {library.demo && <p className="message message-info">Demo model, random weights: this feature means nothing; the gallery shows how the view works.</p>}
      {!valid && <p className="message message-error" role="alert">There is no feature "{id}": features are numbered 0 to {config.nFeatures - 1}.</p>}
      <ErrorMessage error={gallery.error} />
      {gallery.data && (
        <p className="muted small" data-testid="gallery-total">
          {total === null ? `${items.length}+ photos` : `${total} ${total === 1 ? 'photo' : 'photos'}`} where it fires
          {token === 'cls' ? ' on the CLS token' : token === 'any' ? ' on any token (each photo at its strongest token)' : ` at ${tokenName(token)}`}
          , strongest first. Values are SAE activations.
        </p>
      )}
      {gallery.data && items.length === 0 && (
        <EmptyState title="This feature never fires here">
          <p>Try another token (any token finds more), or another feature.</p>
        </EmptyState>
      )}
      <ol className="gallery" data-testid="gallery">
        {items.map((it, i) => (
          <li key={`${it.imageId}-${i}`} className="gallery-item" data-image-id={it.imageId} data-act={it.act} data-token={it.token}>
            <Link to="/image/$imageId" params={{ imageId: String(it.imageId) }} className="tile gallery-tile" title={it.file}>
              <img src={mediaUrl('thumb', it.imageId)} alt={baseName(it.file)} loading="lazy" decoding="async" draggable={false} />
            </Link>
            <div className="gallery-caption">
              <Tip content={`SAE activation of feature ${feature} at ${tokenName(it.token)}`}>
                <span className="num act" tabIndex={0}>{it.act.toFixed(3)}</span>
              </Tip>
              <span className="muted small">{tokenName(it.token)}</span>
            </div>
          </li>
        ))}
      </ol>
      {gallery.hasNextPage && (
        <button type="button" className="btn" disabled={gallery.isFetchingNextPage} onClick={() => void gallery.fetchNextPage()}>
          {gallery.isFetchingNextPage ? 'Loading…' : `Show ${PAGE} more`}
        </button>
      )}
    </div>
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
