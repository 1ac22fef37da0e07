/**
 * Finds a feature by its number or by words of its label or note (`features.search`), as a
 * combobox: type, move with ↑/↓, Enter or click picks. With nothing typed it offers the
 * features that fire most often in the library.
 */
import { useId, useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { FeatureInfo } from '../../../common/contract/explore-schemas.js';
import { engine } from '../platform.js';
import { keys } from '../queries.js';
import { useDebounced } from './hooks.js';
import { percent } from './format.js';
import { abortable } from './walk.js';

const SHOWN = 8;

export function FeaturePicker({ libraryFile, layer, onPick, label }: {
  libraryFile: string; layer: number | undefined; onPick: (f: FeatureInfo) => void; label: string;
}) {
  const id = useId();
  const [text, setText] = useState('');
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const typed = useDebounced(text.trim(), 150);
  const byId = /^\d+$/.test(typed);
  const found = useQuery({
    queryKey: [...keys.lib, 'features.search', libraryFile, 'picker', layer ?? null, typed],
    queryFn: ({ signal }) =>
      abortable(
        byId
          ? engine['features.search']({ features: [Number(typed)], layer, limit: 1 })
          : engine['features.search']({ ...(typed ? { text: typed } : { dead: false }), sort: 'frequency', layer, limit: SHOWN }),
        signal,
      ),
    enabled: open,
    placeholderData: keepPreviousData,
  });
  const items = found.data?.items ?? [];
  const pick = (f: FeatureInfo) => {
    onPick(f);
    setText('');
    setOpen(false);
  };
  const listId = `${id}-list`;
  const showList = open && (items.length > 0 || found.isSuccess);
  return (
    <div className="picker">
      <input
        type="text"
        role="combobox"
        aria-label={label}
        aria-expanded={showList}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-activedescendant={showList && items[active] ? `${id}-opt-${items[active].feature}` : undefined}
        placeholder="Feature number or label"
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          setActive(0);
          setOpen(true);
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
            e.preventDefault();
            setOpen(true);
            setActive((a) => Math.max(0, Math.min(items.length - 1, a + (e.key === 'ArrowDown' ? 1 : -1))));
          } else if (e.key === 'Enter') {
            e.preventDefault();
            if (showList && items[active]) pick(items[active]);
          } else if (e.key === 'Escape' && open) {
            e.preventDefault();
            setOpen(false);
          }
        }}
      />
      {showList && (
        <ul className="picker-list" id={listId} role="listbox" aria-label="Matching features">
          {items.length === 0 && <li className="muted small picker-none">No feature {byId ? `number ${typed}` : `labelled "${typed}"`} in this library.</li>}
          {items.map((f, i) => (
            <li
              key={f.feature}
              id={`${id}-opt-${f.feature}`}
              role="option"
              aria-selected={i === active}
              className={`picker-option${i === active ? ' active' : ''}`}
              data-feature={f.feature}
              // mousedown, not click: the input's blur would close the list first.
              onMouseDown={(e) => {
                e.preventDefault();
                pick(f);
              }}
              onMouseEnter={() => setActive(i)}
            >
              <span className="num picker-id">#{f.feature}</span>
              <span className="picker-label">{f.label || <span className="muted">no label</span>}</span>
              <span className="muted small num" title={`Fires on ${f.images.toLocaleString()} photos; largest activation ${f.maxAct.toFixed(3)}`}>
                {percent(f.imageFraction, 0)} of photos · max {f.maxAct.toFixed(2)}
              </span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
