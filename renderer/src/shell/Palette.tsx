/**
 * The command palette (Ctrl+K / Cmd+K anywhere, or the rail's "Go to"): type a feature id, a
 * label, or part of a photo's file name; arrows choose, Enter goes. A combobox over a listbox
 * (the ARIA pattern) in radix's Dialog, non-modal: the modal one locks scrolling with an injected
 * <style> element, which the page's CSP (style-src 'self') refuses. Esc, a click outside or focus
 * leaving it closes it.
 */
import { useEffect, useId, useMemo, useState, type KeyboardEvent as ReactKeyboardEvent } from 'react';
import { useQuery } from '@tanstack/react-query';
import { useNavigate, useRouterState } from '@tanstack/react-router';
import { Dialog, VisuallyHidden } from 'radix-ui';
import { Hash, Image as ImageIcon, Search, Tag } from 'lucide-react';
import type { LibraryInfo } from '../../../common/contract/library-schemas.js';
import { engine, errorText } from '../platform.js';
import { Thumb } from '../ui/Thumb.js';
import { keys, useAppState } from '../queries.js';
import { baseName } from '../ui/format.js';
import { useDebounced } from '../ui/hooks.js';

const FEATURES = 6;
const PHOTOS = 6;

type Option =
  | { kind: 'feature'; key: string; feature: number; label: string }
  | { kind: 'label'; key: string; text: string; count: number }
  | { kind: 'photo'; key: string; imageId: number; file: string };

export function Palette() {
  const [open, setOpen] = useState(false);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && e.key.toLowerCase() === 'k') {
        // Browsers bind Ctrl+K to their own search box; here it is the app's.
        e.preventDefault();
        setOpen((o) => !o);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  return (
    <Dialog.Root open={open} onOpenChange={setOpen} modal={false}>
      <Dialog.Trigger asChild>
        <button type="button" className="rail-item" title="Jump to a feature, a label or a photo (Ctrl+K)" aria-keyshortcuts="Control+K Meta+K">
          <Search size={20} aria-hidden />
          <span>Go to</span>
        </button>
      </Dialog.Trigger>
      <Dialog.Portal>
        {/* Dialog.Overlay is drawn for modal dialogs only; a click on this one is a click outside. */}
        <div className="palette-overlay" aria-hidden />
        <Dialog.Content className="palette" aria-describedby={undefined} data-testid="palette">
          <VisuallyHidden.Root asChild>
            <Dialog.Title>Go to a feature, a label or a photo</Dialog.Title>
          </VisuallyHidden.Root>
          <PaletteBody onDone={() => setOpen(false)} />
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

/** The layer the current view shows (its `layer` parameter), else the library's first. */
function useLayer(library: LibraryInfo | null): number | undefined {
  const fromUrl = useRouterState({ select: (s) => (s.location.search as { layer?: unknown }).layer });
  const layers = (library?.configs ?? []).map((c) => c.layer).sort((a, b) => a - b);
  return typeof fromUrl === 'number' && layers.includes(fromUrl) ? fromUrl : layers[0];
}

function PaletteBody({ onDone }: { onDone: () => void }) {
  const navigate = useNavigate();
  const library = useAppState().data?.library ?? null;
  const layer = useLayer(library);
  const nFeatures = library?.configs.find((c) => c.layer === layer)?.nFeatures ?? 0;
  const [text, setText] = useState('');
  const [active, setActive] = useState(0);
  const typed = text.trim();
  const settled = useDebounced(typed, 150);
  const idMatch = /^#?\d+$/.test(typed) ? Number(typed.replace('#', '')) : null;
  const indexed = library !== null && layer !== undefined;

  const labelled = useQuery({
    queryKey: [...keys.lib, 'palette.features', library?.file, layer, settled],
    queryFn: () => engine['features.search']({ text: settled, layer, sort: 'frequency', limit: FEATURES }),
    enabled: indexed && settled !== '' && !/^#?\d+$/.test(settled),
    staleTime: 10_000,
  });
  const photos = useQuery({
    queryKey: [...keys.lib, 'images.search', library?.file, settled],
    queryFn: () => engine['images.search']({ text: settled, limit: PHOTOS }),
    enabled: library !== null && settled !== '',
    staleTime: 10_000,
  });
  const byId = useQuery({
    queryKey: [...keys.lib, 'palette.feature', library?.file, layer, idMatch],
    queryFn: () => engine['features.search']({ features: [idMatch!], layer, limit: 1 }),
    enabled: indexed && idMatch !== null && idMatch < nFeatures,
    staleTime: 10_000,
  });

  const options = useMemo<Option[]>(() => {
    const out: Option[] = [];
    if (idMatch !== null && idMatch < nFeatures) out.push({ kind: 'feature', key: `f${idMatch}`, feature: idMatch, label: byId.data?.items[0]?.label ?? '' });
    // Results of a text the user has since changed are not offered (Enter would go somewhere unexpected).
    if (settled === typed && labelled.data) {
      for (const f of labelled.data.items) out.push({ kind: 'feature', key: `f${f.feature}`, feature: f.feature, label: f.label });
      if (labelled.data.total > 0) out.push({ kind: 'label', key: 'label', text: settled, count: labelled.data.total });
    }
    if (settled === typed && photos.data) for (const p of photos.data) out.push({ kind: 'photo', key: `p${p.imageId}`, imageId: p.imageId, file: p.file });
    return out;
  }, [idMatch, nFeatures, byId.data, labelled.data, photos.data, settled, typed]);

  useEffect(() => setActive(0), [typed]);
  const current = Math.min(active, options.length - 1);
  const listId = useId();
  const optionId = (i: number) => `${listId}-o${i}`;

  const go = (o: Option) => {
    onDone();
    if (o.kind === 'feature') void navigate({ to: '/feature/$id', params: { id: String(o.feature) }, search: { token: 'cls', layer } });
    else if (o.kind === 'label') void navigate({ to: '/features', search: { q: o.text, layer } });
    else void navigate({ to: '/image/$imageId', params: { imageId: String(o.imageId) }, search: { layer } });
  };

  const onKeyDown = (e: ReactKeyboardEvent) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      if (options.length) setActive((current + (e.key === 'ArrowDown' ? 1 : -1) + options.length) % options.length);
    } else if (e.key === 'Enter') {
      e.preventDefault();
      const o = options[current];
      if (o) go(o);
    }
  };

  useEffect(() => {
    if (current >= 0) document.getElementById(optionId(current))?.scrollIntoView({ block: 'nearest' });
  }, [current, options]);

  const searching = settled !== typed || labelled.isFetching || photos.isFetching;
  const error = labelled.error ?? photos.error;
  let status = '';
  if (!library) status = 'Open a library to search its features and photos.';
  else if (!typed) status = indexed ? 'Type a feature number, words of a label or note, or part of a file name.' : 'Type part of a file name (index the library to search features too).';
  else if (error) status = errorText(error);
  else if (searching) status = 'Searching…';
  else if (options.length === 0) status = `Nothing matches "${typed}".`;
  else status = `${options.length} ${options.length === 1 ? 'result' : 'results'}`;

  return (
    <>
      <div className="palette-input">
        <Search size={16} aria-hidden />
        <input
          type="text"
          role="combobox"
          aria-label="Go to a feature, a label or a photo"
          aria-expanded={options.length > 0}
          aria-controls={listId}
          aria-autocomplete="list"
          aria-activedescendant={options.length ? optionId(current) : undefined}
          placeholder="Feature id, label or file name…"
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={onKeyDown}
          autoComplete="off"
          spellCheck={false}
        />
        <kbd>Esc</kbd>
      </div>
      <ul id={listId} role="listbox" aria-label="Results" className="palette-list">
        {options.map((o, i) => (
          <li
            key={o.key}
            id={optionId(i)}
            role="option"
            aria-selected={i === current}
            className={`palette-option${i === current ? ' active' : ''}`}
            data-kind={o.kind}
            onMouseMove={() => i !== current && setActive(i)}
            onClick={() => go(o)}
          >
            <OptionBody o={o} />
          </li>
        ))}
      </ul>
      <p className="palette-status muted small" role="status">{status}</p>
    </>
  );
}

function OptionBody({ o }: { o: Option }) {
  if (o.kind === 'feature') {
    return (
      <>
        <Hash size={15} aria-hidden className="palette-icon" />
        <span className="palette-main">Feature {o.feature}</span>
        <span className="palette-detail">{o.label}</span>
      </>
    );
  }
  if (o.kind === 'label') {
    return (
      <>
        <Tag size={15} aria-hidden className="palette-icon" />
        <span className="palette-main">Features labelled "{o.text}"</span>
        <span className="palette-detail">{o.count} {o.count === 1 ? 'feature' : 'features'} (label or note) · open in the table</span>
      </>
    );
  }
  return (
    <>
      <span className="palette-thumb" aria-hidden>
        <Thumb imageId={o.imageId} alt="" />
      </span>
      <span className="palette-main">{baseName(o.file)}</span>
      <span className="palette-detail" title={o.file}>
        <ImageIcon size={12} aria-hidden /> {o.file}
      </span>
    </>
  );
}
