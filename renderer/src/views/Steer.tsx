/**
 * Steering: edit SAE features on a photo's tokens (set to a value, or scale), run the rest of
 * CLIP, and see how the photo's embedding and its nearest library photos change. The photo,
 * the token scope and the edits live in the URL (`#/steer/12?tokens=cls&edits=1234:=0,88:*2`);
 * results follow the sliders (debounced; the previous result stays up until the next arrives).
 */
import { useEffect, useMemo, useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { getRouteApi, Link, useNavigate } from '@tanstack/react-router';
import { Loader2, Plus, X } from 'lucide-react';
import type { LibraryInfo } from '../../../common/contract/library-schemas.js';
import type { ImageDetails } from '../../../common/contract/explore-schemas.js';
import type { FeatureInfo } from '../../../common/contract/explore-schemas.js';
import { engine, mediaUrl } from '../platform.js';
import { Thumb } from '../ui/Thumb.js';
import { keys, useAppState } from '../queries.js';
import { RequireLibrary } from '../shell/Frame.js';
import { EmptyState, ErrorMessage, Stat, Tip } from '../ui/bits.js';
import { baseName } from '../ui/format.js';
import { useDebounced } from '../ui/hooks.js';
import {
  formatEdits, formatTokens, parseEdits, parseTokens, positionToValue, rowTokens, STEPS, sweepValues, toApiEdits, tokenName, valueToPosition, withRowScope,
  type EditSpec, type TokenScope,
} from '../ui/steer-edits.js';
import type { SteerSearch } from '../ui/search-params.js';
import { SweepChart } from '../ui/SweepChart.js';
import { NeighbourLists } from '../ui/Neighbours.js';
import { FeaturePicker } from '../ui/FeaturePicker.js';
import { LaterLayers } from '../ui/LaterLayers.js';

const route = getRouteApi('/steer/$imageId');
const pickRoute = getRouteApi('/steer');
const NEIGHBOURS = 10;

/** `#/steer` without a photo: choose one. */
export function SteerPickView() {
  const state = useAppState();
  return <RequireLibrary>{state.data?.library && <Pick library={state.data.library} />}</RequireLibrary>;
}

function Pick({ library }: { library: LibraryInfo }) {
  const { layer } = pickRoute.useSearch();
  const list = useQuery({
    queryKey: [...keys.lib, 'images', library.file, null, 'steer-pick'],
    queryFn: () => engine['images.list']({ limit: 200, offset: 0 }),
  });
  return (
    <div className="view-pad">
      <div className="section-head">
        <h1 className="h-title">Steering</h1>
      </div>
      <p className="muted steer-lede">
        Choose a photo. You then edit its SAE features (set one to a value, or scale it) on some of its tokens, the rest of CLIP runs on
        the edited activations, and you see how the photo's embedding and its nearest photos in the library change.
      </p>
      <ErrorMessage error={list.error} />
      {list.data && list.data.total === 0 && (
        <EmptyState title="No photos indexed yet">
          <p>Index a folder in the <Link to="/library">Library</Link> first.</p>
        </EmptyState>
      )}
      <ol className="gallery" data-testid="steer-pick">
        {list.data?.items.map((it) => (
          <li key={it.imageId} className="gallery-item">
            <Link to="/steer/$imageId" params={{ imageId: String(it.imageId) }} search={{ layer }} className="tile gallery-tile" title={it.file} data-image-id={it.imageId}>
              <Thumb imageId={it.imageId} alt={baseName(it.file)} />
            </Link>
            <div className="gallery-caption small muted">{baseName(it.file)}</div>
          </li>
        ))}
      </ol>
      {list.data && list.data.total > list.data.items.length && (
        <p className="muted small">The first {list.data.items.length} of {list.data.total} photos; any other opens from its page with Steer.</p>
      )}
    </div>
  );
}

export function SteerView() {
  const state = useAppState();
  return <RequireLibrary>{state.data?.library && <Steer library={state.data.library} />}</RequireLibrary>;
}

/** The feature's activation on this photo over the scope's tokens (the strongest), or 0. */
function actOn(image: ImageDetails | undefined, feature: number, tokens: TokenScope): number | null {
  if (!image) return null;
  const list = tokens === 'cls' ? [0] : tokens === 'all' ? image.tokens.idx.map((_, i) => i) : tokens;
  let best = 0;
  for (const t of list) {
    const idx = image.tokens.idx[t];
    const k = idx ? idx.indexOf(feature) : -1;
    if (k >= 0) best = Math.max(best, image.tokens.val[t]![k]!);
  }
  return best;
}

function Steer({ library }: { library: LibraryInfo }) {
  const { imageId } = route.useParams();
  const search = route.useSearch();
  const navigate = useNavigate();
  const id = Number(imageId);
  const valid = Number.isInteger(id) && id > 0;
  // Without a layer in the URL: the library's earliest (its later layers are the ones whose
  // features gained and lost the screen can show). Always named in requests, so a layer indexed
  // meanwhile does not make them ambiguous.
  const layer = search.layer ?? (library.configs.length > 0 ? Math.min(...library.configs.map((c) => c.layer)) : undefined);
  const tokens = parseTokens(search.tokens ?? 'cls');
  const edits = useMemo(() => parseEdits(search.edits), [search.edits]);
  const [active, setActive] = useState(0);
  const activeRow = Math.min(active, Math.max(0, edits.length - 1));

  const image = useQuery({
    queryKey: [...keys.lib, 'image', library.file, id, layer ?? null],
    queryFn: () => engine['image.get']({ imageId: id, layer }),
    enabled: valid,
  });

  const update = (next: { edits?: EditSpec[]; tokens?: TokenScope }): void =>
    void navigate({
      to: '/steer/$imageId',
      params: { imageId },
      search: (prev: SteerSearch) => ({
        ...prev,
        ...(next.edits ? { edits: formatEdits(next.edits) } : {}),
        ...(next.tokens ? { tokens: formatTokens(next.tokens) } : {}),
      }),
      replace: true,
    });

  // With a photo but no edits yet: start from its strongest CLS feature, unchanged (scale 1).
  const strongest = image.data?.cls[0]?.feature;
  useEffect(() => {
    if (search.edits === undefined && strongest !== undefined) {
      void navigate({ to: '/steer/$imageId', params: { imageId }, search: (prev: SteerSearch) => ({ ...prev, tokens: prev.tokens ?? 'cls', edits: `${strongest}:*1` }), replace: true });
    }
  }, [search.edits, strongest, imageId, navigate]);

  const featureIds = [...new Set(edits.map((e) => e.feature))].sort((a, b) => a - b);
  const infos = useQuery({
    queryKey: [...keys.lib, 'features.search', library.file, layer ?? null, featureIds],
    queryFn: () => engine['features.search']({ features: featureIds, limit: featureIds.length, sort: 'id', layer }),
    enabled: featureIds.length > 0,
    placeholderData: keepPreviousData,
  });
  const infoOf = (f: number): FeatureInfo | undefined => infos.data?.items.find((i) => i.feature === f);
  const nFeatures = infos.data?.nFeatures ?? library.configs.find((c) => layer === undefined || c.layer === layer)?.nFeatures;

  // The result follows the URL's edits 250 ms after they stop changing; the last one stays up meanwhile.
  const request = useDebounced({ id, tokens, edits, layer: layer ?? null }, 250);
  const requestKey = `${request.id}|${formatTokens(request.tokens)}|${formatEdits(request.edits)}`;
  const preview = useQuery({
    queryKey: [...keys.lib, 'steer', library.file, request],
    queryFn: async () => ({
      key: requestKey,
      result: await engine['steer.preview']({ imageId: request.id, sets: [toApiEdits(request.edits, request.tokens)], neighbours: NEIGHBOURS, layer: request.layer ?? undefined, later: false }),
    }),
    enabled: valid && search.edits !== undefined,
    placeholderData: keepPreviousData,
    staleTime: Infinity,
  });
  // The later layers' report encodes the edited stream with their SAEs: up to seconds on the full
  // model when every token is edited. Asked for on its own, so the cosine and the neighbours follow
  // the slider at the tail's speed and the report catches up.
  const laterRequest = useDebounced(request, 500);
  const laterRequestKey = `${laterRequest.id}|${formatTokens(laterRequest.tokens)}|${formatEdits(laterRequest.edits)}`;
  const laterLayers = useQuery({
    queryKey: [...keys.lib, 'steer-later', library.file, laterRequest],
    queryFn: async () => {
      const r = await engine['steer.preview']({ imageId: laterRequest.id, sets: [toApiEdits(laterRequest.edits, laterRequest.tokens)], neighbours: 0, layer: laterRequest.layer ?? undefined, later: true });
      return { key: laterRequestKey, later: r.results[0]?.later ?? [] };
    },
    enabled: valid && search.edits !== undefined && library.configs.length > 1,
    placeholderData: keepPreviousData,
    staleTime: Infinity,
  });

  // The sweep: the active row's value across its slider, the other rows as they are, in one call.
  const row = request.edits[Math.min(activeRow, request.edits.length - 1)];
  const rowRef = row ? refOf(row, infoOf(row.feature)) : 1;
  const sweepXs = row ? sweepValues(rowRef) : [];
  const sweep = useQuery({
    queryKey: [...keys.lib, 'steer-sweep', library.file, request.id, request.tokens, request.layer, activeRow, request.edits.map((e, i) => (i === activeRow ? { ...e, value: null } : e)), sweepXs],
    queryFn: () =>
      engine['steer.preview']({
        imageId: request.id,
        sets: sweepXs.map((v) => toApiEdits(request.edits.map((e, i) => (i === activeRow ? { ...e, value: v } : e)), request.tokens)),
        neighbours: 0,
        layer: request.layer ?? undefined,
        later: false,
      }),
    enabled: valid && !!row && (infos.data !== undefined || featureIds.length === 0),
    placeholderData: keepPreviousData,
    staleTime: Infinity,
  });

  if (!valid) {
    return (
      <div className="view-pad">
        <p className="message message-error" role="alert">"{imageId}" is not a photo id. <Link to="/steer">Choose a photo</Link></p>
      </div>
    );
  }
  const shownKey = preview.data?.key;
  const current = `${id}|${formatTokens(tokens)}|${formatEdits(edits)}`;
  const updating = preview.isFetching || shownKey !== current;
  const result = preview.data?.result;
  const r0 = result?.results[0];
  const setEdit = (i: number, e: EditSpec) => update({ edits: edits.map((x, j) => (j === i ? e : x)) });
  const removeEdit = (i: number) => {
    update({ edits: edits.filter((_, j) => j !== i) });
    setActive(0);
  };
  const addEdit = () => {
    const used = new Set(edits.map((e) => e.feature));
    const next = image.data?.cls.find((c) => !used.has(c.feature))?.feature ?? 0;
    update({ edits: [...edits, { feature: next, mode: 'set', value: 0 }] });
    setActive(edits.length);
  };

  return (
    <div className="view-pad steer">
      <div className="section-head">
        <div className="row min0">
          <h1 className="h-title">Steering</h1>
          <span className="muted" title={image.data?.file}>{image.data ? baseName(image.data.file) : `photo ${id}`}</span>
        </div>
        <div className="row">
          <Link to="/image/$imageId" params={{ imageId }} className="btn btn-small btn-quiet">Open the photo</Link>
          <Link to="/steer" search={{ layer }} className="btn btn-small btn-quiet">Choose another photo</Link>
        </div>
      </div>
      {library.demo && <p className="message message-info">Demo model, random weights: the numbers are real computations but mean nothing about the photos.</p>}
      <ErrorMessage error={image.error} />
      <div className="steer-body">
        <section className="card steer-photo" aria-label="Photo and tokens">
          <TokenPickerGrid imageId={id} tokens={tokens} onChange={(t) => update({ tokens: t })} />
          <ScopeChips tokens={tokens} onChange={(t) => update({ tokens: t, edits: edits.map(({ scope: _own, ...e }) => e) })} />
        </section>
        <div className="steer-main">
          <section className="card" aria-labelledby="edits-title">
            <div className="row">
              <h2 id="edits-title" className="grow">Edits</h2>
              <button type="button" className="btn btn-small" onClick={addEdit} disabled={edits.length >= 32}>
                <Plus size={14} aria-hidden /> Add a feature
              </button>
            </div>
            {edits.length === 0 && <p className="muted small">No edits: the results below are the photo as it is. Add a feature to steer.</p>}
            <ol className="edit-rows">
              {edits.map((e, i) => (
                <EditRow
                  key={i}
                  index={i}
                  edit={e}
                  info={infoOf(e.feature)}
                  nFeatures={nFeatures}
                  now={actOn(image.data, e.feature, rowTokens(e, tokens))}
                  tokens={rowTokens(e, tokens)}
                  layer={layer}
                  libraryFile={library.file}
                  active={i === activeRow}
                  onFocus={() => setActive(i)}
                  onChange={(x) => setEdit(i, x)}
                  onScope={(choice) => update(withRowScope(edits, tokens, i, choice))}
                  onRemove={() => removeEdit(i)}
                />
              ))}
            </ol>
          </section>
          <section className="card steer-results" aria-labelledby="results-title" data-testid="steer-results" data-for={shownKey ?? ''} data-state={updating ? 'updating' : 'fresh'}>
            <div className="row">
              <h2 id="results-title" className="grow">What the model sees now</h2>
              {updating && (
                <span className="muted small row" role="status">
                  <Loader2 size={14} className="spin" aria-hidden /> Updating…
                </span>
              )}
            </div>
            <ErrorMessage error={preview.error} title="The preview failed." />
            <div className="stats">
              <Stat
                label="cosine to the original"
                value={<span data-testid="steer-cosine" data-value={r0?.cosine ?? ''}>{r0 ? r0.cosine.toFixed(4) : '—'}</span>}
                tip="Cosine similarity between the steered and the original image embedding: 1 = unchanged, lower = the edit moved the model's view of the photo. Unit-less."
              />
              <Stat
                label="L2 change"
                value={<span data-testid="steer-l2" data-value={r0?.l2 ?? ''}>{r0 ? r0.l2.toFixed(4) : '—'}</span>}
                tip="Euclidean length of (steered − original) image embedding, in the embedding's own units (not normalised)."
              />
              <Stat
                label="SAE reconstruction cosine"
                value={<span data-testid="steer-recon" data-value={result?.reconstructionCosine ?? ''}>{result ? result.reconstructionCosine.toFixed(4) : '—'}</span>}
                tip={`How much of the model's view the SAE captures for this photo: the cosine to the original embedding when the layer-${result?.layer ?? ''} activations are replaced by the SAE's reconstruction on every token. Edits keep the reconstruction error, so they start from the exact original.`}
              />
            </div>
            {row && (
              <div className="sweep">
                <h3 className="small sweep-title">
                  Cosine across the slider of feature {row.feature} ({row.mode === 'set' ? 'set to' : 'scaled by'} values from 0 to {row.mode === 'set' ? '10 × its largest activation' : '× 10'})
                </h3>
                <ErrorMessage error={sweep.error} />
                <SweepChart
                  xs={sweepXs}
                  ys={sweep.data?.results.map((x) => x.cosine) ?? null}
                  refValue={rowRef}
                  current={edits[activeRow]?.value ?? 0}
                  currentY={r0 && shownKey === current ? r0.cosine : null}
                  unit={row.mode === 'set' ? 'value' : 'scale'}
                />
              </div>
            )}
            {result && <NeighbourLists before={result.before} after={r0?.after ?? []} />}
          </section>
          {laterLayers.data && laterLayers.data.later.length > 0 && (
            <section className="card" aria-label="Features at later layers" data-testid="steer-later" data-for={laterLayers.data.key}>
              <LaterLayers later={laterLayers.data.later} libraryFile={library.file} />
            </section>
          )}
        </div>
      </div>
    </div>
  );
}

/** The slider's reference: the feature's largest activation in the library (set), or 1 (scale). */
function refOf(e: EditSpec, info: FeatureInfo | undefined): number {
  if (e.mode === 'scale') return 1;
  return info && info.maxAct > 0 ? info.maxAct : 1;
}

interface RowProps {
  index: number;
  edit: EditSpec;
  info: FeatureInfo | undefined;
  nFeatures: number | undefined;
  now: number | null;
  tokens: TokenScope;
  layer: number | undefined;
  libraryFile: string;
  active: boolean;
  onFocus: () => void;
  onChange: (e: EditSpec) => void;
  onScope: (choice: 'cls' | 'all' | 'sel') => void;
  onRemove: () => void;
}

function EditRow({ index, edit, info, nFeatures, now, tokens, layer, libraryFile, active, onFocus, onChange, onScope, onRemove }: RowProps) {
  const [valueText, setValueText] = useState(String(edit.value));
  useEffect(() => setValueText((t) => (Number(t) === edit.value && t !== '' ? t : String(edit.value))), [edit.value]);
  const ref = refOf(edit, info);
  const badFeature = nFeatures !== undefined && edit.feature >= nFeatures;
  const where = tokens === 'cls' ? 'on CLS' : tokens === 'all' ? 'at its strongest token' : 'at its strongest selected patch';
  const n = index + 1;
  return (
    <li className={`edit-row${active ? ' active' : ''}`} onFocusCapture={onFocus} data-testid="edit-row" data-feature={edit.feature}>
      <div className="edit-feature">
        <div className="field">
          <span>Feature (number or label)</span>
          <FeaturePicker libraryFile={libraryFile} layer={layer} label={`Feature of edit ${n}`} onPick={(f) => onChange({ ...edit, feature: f.feature })} />
        </div>
        <div className="edit-meta small min0">
          <Link to="/feature/$id" params={{ id: String(edit.feature) }} search={{ token: 'cls', layer }} className="edit-label" title="Open the feature's page" data-testid="edit-feature-link">
            <span className="num">#{edit.feature}</span> {info?.label ? info.label : <span className="muted">no label</span>}
          </Link>
          <span className="muted">
            {now === null ? '' : now > 0 ? `${now.toFixed(3)} ${where}` : `not active ${tokens === 'cls' ? 'on CLS' : 'on these tokens'}`}
            {info ? ` · library max ${info.maxAct.toFixed(3)}` : ''}
          </span>
          {badFeature && <span className="text-error">No such feature (0 to {nFeatures! - 1})</span>}
        </div>
      </div>
      <div className="chips edit-scope" role="radiogroup" aria-label={`Tokens of edit ${n}`}>
        {(['cls', 'all', 'sel'] as const).map((c) => {
          const on = c === 'sel' ? typeof tokens !== 'string' : tokens === c;
          const title = c === 'cls' ? 'Edit this feature on the CLS token only' : c === 'all' ? 'Edit this feature on all 257 tokens' : 'Edit this feature on the patches selected on the photo';
          return (
            <button key={c} type="button" role="radio" aria-checked={on} className={`chip chip-small${on ? ' active' : ''}`} title={title} onClick={() => !on && onScope(c)}>
              {c === 'cls' ? 'CLS' : c === 'all' ? 'All' : 'Patches'}
            </button>
          );
        })}
      </div>
      <div className="chips edit-mode" role="radiogroup" aria-label={`Kind of edit ${n}`}>
        <button
          type="button"
          role="radio"
          aria-checked={edit.mode === 'set'}
          className={`chip${edit.mode === 'set' ? ' active' : ''}`}
          title="Set the activation to this value (0 removes the feature)"
          onClick={() => edit.mode !== 'set' && onChange({ feature: edit.feature, mode: 'set', value: now !== null && now > 0 ? Number((now * edit.value).toPrecision(4)) : 0 })}
        >
          = set
        </button>
        <button
          type="button"
          role="radio"
          aria-checked={edit.mode === 'scale'}
          className={`chip${edit.mode === 'scale' ? ' active' : ''}`}
          title="Multiply the current activation (where it fires)"
          onClick={() => edit.mode !== 'scale' && onChange({ feature: edit.feature, mode: 'scale', value: 1 })}
        >
          × scale
        </button>
      </div>
      <div className="edit-value">
        <input
          type="range"
          className="slider"
          min={0}
          max={STEPS}
          step={1}
          value={valueToPosition(edit.value, ref)}
          aria-label={`${edit.mode === 'set' ? 'Value' : 'Scale'} of edit ${n} (slider)`}
          aria-valuetext={edit.mode === 'set' ? `set to ${edit.value}` : `times ${edit.value}`}
          onChange={(e) => onChange({ ...edit, value: positionToValue(Number(e.target.value), ref) })}
        />
        <div className="slider-scale small muted" aria-hidden>
          <span>0</span>
          <span>{edit.mode === 'set' ? `${(ref / 10).toPrecision(2)}` : '×0.1'}</span>
          <span>{edit.mode === 'set' ? `max ${ref.toPrecision(3)}` : '×1'}</span>
          <span>{edit.mode === 'set' ? `${(ref * 10).toPrecision(3)}` : '×10'}</span>
        </div>
      </div>
      <label className="field edit-number">
        <span>{edit.mode === 'set' ? 'Value' : 'Scale'}</span>
        <input
          type="number"
          step="any"
          value={valueText}
          aria-label={`${edit.mode === 'set' ? 'Value' : 'Scale'} of edit ${n}`}
          onChange={(e) => {
            setValueText(e.target.value);
            const v = Number(e.target.value);
            if (e.target.value.trim() !== '' && Number.isFinite(v)) onChange({ ...edit, value: v });
          }}
        />
      </label>
      <Tip content="Remove this edit">
        <button type="button" className="btn btn-quiet icon-btn" aria-label={`Remove edit ${n}`} onClick={onRemove}>
          <X size={16} aria-hidden />
        </button>
      </Tip>
    </li>
  );
}

function ScopeChips({ tokens, onChange }: { tokens: TokenScope; onChange: (t: TokenScope) => void }) {
  const [text, setText] = useState(typeof tokens === 'string' ? '' : tokens.join(','));
  useEffect(() => {
    if (typeof tokens !== 'string') setText(tokens.join(','));
  }, [tokens]);
  return (
    <div className="steer-scope">
      <div className="chips" role="radiogroup" aria-label="Tokens to edit">
        <button type="button" role="radio" aria-checked={tokens === 'cls'} className={`chip${tokens === 'cls' ? ' active' : ''}`} onClick={() => onChange('cls')}>
          CLS
        </button>
        <button type="button" role="radio" aria-checked={tokens === 'all'} className={`chip${tokens === 'all' ? ' active' : ''}`} onClick={() => onChange('all')}>
          All tokens
        </button>
        <button
          type="button"
          role="radio"
          aria-checked={typeof tokens !== 'string'}
          className={`chip${typeof tokens !== 'string' ? ' active' : ''}`}
          onClick={() => typeof tokens === 'string' && onChange(parseTokensOr(text, [120, 121, 136, 137]))}
        >
          Selected patches
        </button>
      </div>
      <label className="field">
        <span>Tokens (0 = CLS, 1–256 = patches row-major)</span>
        <input
          type="text"
          value={text}
          placeholder="e.g. 120,121,136,137"
          onChange={(e) => {
            setText(e.target.value);
            const t = parseTokensOr(e.target.value, null);
            if (t) onChange(t);
          }}
        />
      </label>
      <p className="muted small">
        {tokens === 'cls'
          ? 'Edits apply to the CLS token only.'
          : tokens === 'all'
            ? 'Edits apply to all 257 tokens.'
            : `Edits apply to ${tokens.length === 1 ? tokenName(tokens[0]!) : `${tokens.length} tokens`}. Click patches on the photo to add or remove them.`}
        {' '}These chips set every row; a row's own CLS / All / Patches chips change that row only.
      </p>
    </div>
  );
}

function parseTokensOr<T>(text: string, fallback: T): number[] | T {
  if (!/^\s*\d+(\s*,\s*\d+)*\s*$/.test(text)) return fallback;
  const t = parseTokens(text.replace(/\s+/g, ''));
  return typeof t === 'string' ? fallback : t;
}

/** The model's centre crop with its 16 × 16 patches; in "selected" scope, each patch toggles. */
function TokenPickerGrid({ imageId, tokens, onChange }: { imageId: number; tokens: TokenScope; onChange: (t: TokenScope) => void }) {
  const selected = new Set(typeof tokens === 'string' ? (tokens === 'all' ? Array.from({ length: 256 }, (_, i) => i + 1) : []) : tokens);
  const picking = typeof tokens !== 'string';
  const toggle = (t: number) => {
    const next = new Set(selected);
    if (next.has(t)) next.delete(t);
    else next.add(t);
    const list = [...next].sort((a, b) => a - b);
    onChange(list.length ? list : 'cls');
  };
  return (
    <figure className="steer-crop">
      <div className={`crop-box${tokens === 'all' ? ' all' : ''}`}>
        <img src={mediaUrl('thumb', imageId)} alt="The model's centre crop of the photo" draggable={false} />
        <div className={`patch-grid${picking ? ' picking' : ''}`} role={picking ? 'group' : undefined} aria-label={picking ? 'Patches to edit' : undefined} aria-hidden={picking ? undefined : true}>
          {Array.from({ length: 16 }, (_, r) => (
            <div key={r} className="patch-row">
              {Array.from({ length: 16 }, (_, c) => {
                const t = 1 + 16 * r + c;
                const on = selected.has(t);
                return picking ? (
                  <button key={c} type="button" className={`patch${on ? ' on' : ''}`} aria-pressed={on} aria-label={`patch ${r},${c}`} data-token={t} onClick={() => toggle(t)} tabIndex={-1} />
                ) : (
                  <span key={c} className={`patch${on ? ' on' : ''}`} />
                );
              })}
            </div>
          ))}
        </div>
      </div>
      <figcaption className="muted small">
        What the model saw: the 224 × 224 centre crop, 16 × 16 patches.{tokens === 'cls' ? ' The CLS token sums up the whole crop.' : ''}
      </figcaption>
    </figure>
  );
}
