/**
 * A small 16 × 16 picture of the patch grid on which rectangular regions are chosen (their union
 * is looked at): drag with the mouse, or focus it and move a cursor with the arrow keys (shift +
 * arrows stretch a region from where it started, Enter takes one patch; Delete clears). A new
 * region replaces the ones drawn, unless `add` is on or shift is held as the drag starts: then it
 * is added to them. Regions are written in the query grammar.
 */
import { useEffect, useRef, useState, type KeyboardEvent, type PointerEvent } from 'react';
import { describeRegion, regionBetween, regionSize, SIDE, type Region } from './region.js';

export function RegionPicker({ regions, onChange, label, add = false }: {
  regions: readonly Region[];
  onChange: (regions: Region[]) => void;
  label: string;
  /** The next region drawn is added to the others instead of replacing them. */
  add?: boolean;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const [drag, setDrag] = useState<{ anchor: number; region: Region; kept: Region[] } | null>(null);
  const first = regions[0];
  const [cursor, setCursor] = useState(first ? 1 + first[0] * SIDE + first[2] : 1);
  const anchor = useRef<number | null>(null);
  // The regions a keyboard selection in progress is added to (none: it replaces them all).
  const kept = useRef<Region[]>([]);
  const shown = drag ? [...drag.kept, drag.region] : regions;

  // A drag ends wherever the button is released, even outside the grid.
  useEffect(() => {
    if (!drag) return;
    const end = () => {
      setDrag(null);
      onChange([...drag.kept, drag.region]);
    };
    window.addEventListener('pointerup', end);
    return () => window.removeEventListener('pointerup', end);
  }, [drag, onChange]);

  const tokenAt = (e: PointerEvent<HTMLDivElement>): number => {
    const box = ref.current!.getBoundingClientRect();
    const c = Math.max(0, Math.min(SIDE - 1, Math.floor(((e.clientX - box.left) / box.width) * SIDE)));
    const r = Math.max(0, Math.min(SIDE - 1, Math.floor(((e.clientY - box.top) / box.height) * SIDE)));
    return 1 + r * SIDE + c;
  };

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const row = Math.floor((cursor - 1) / SIDE);
    const col = (cursor - 1) % SIDE;
    let to: number | null = null;
    if (e.key === 'ArrowRight') to = col < SIDE - 1 ? cursor + 1 : cursor;
    else if (e.key === 'ArrowLeft') to = col > 0 ? cursor - 1 : cursor;
    else if (e.key === 'ArrowDown') to = row < SIDE - 1 ? cursor + SIDE : cursor;
    else if (e.key === 'ArrowUp') to = row > 0 ? cursor - SIDE : cursor;
    else if (e.key === 'Delete' || e.key === 'Backspace') {
      e.preventDefault();
      anchor.current = null;
      onChange([]);
      return;
    } else if (e.key === ' ' || e.key === 'Enter') {
      // One patch: a region of its own.
      e.preventDefault();
      anchor.current = cursor;
      kept.current = add ? [...regions] : [];
      onChange([...kept.current, regionBetween(cursor, cursor)]);
      return;
    } else return;
    e.preventDefault();
    setCursor(to);
    if (e.shiftKey) {
      if (anchor.current === null) {
        anchor.current = cursor;
        kept.current = add ? [...regions] : [];
      }
      onChange([...kept.current, regionBetween(anchor.current, to)]);
    } else {
      anchor.current = null;
    }
  };

  const cr = Math.floor((cursor - 1) / SIDE);
  const cc = (cursor - 1) % SIDE;
  const spoken = shown.length === 0 ? 'the whole photo' : shown.map((r) => `${describeRegion(r)} (${regionSize(r)} patches)`).join(', and ');
  return (
    <div className="region-picker">
      <div
        ref={ref}
        className="region-grid"
        role="application"
        tabIndex={0}
        aria-label={`${label}: ${spoken}. Drag, or arrow keys to move and shift + arrows to stretch; Delete clears.`}
        aria-roledescription="region picker"
        data-region={shown[0] ? shown[0].join(',') : ''}
        data-regions={shown.map((r) => r.join(',')).join(';')}
        onKeyDown={onKeyDown}
        onPointerDown={(e) => {
          if (e.button !== 0) return;
          const t = tokenAt(e);
          setCursor(t);
          anchor.current = t;
          setDrag({ anchor: t, region: regionBetween(t, t), kept: add || e.shiftKey ? [...regions] : [] });
        }}
        onPointerMove={(e) => {
          if (!drag) return;
          const next = regionBetween(drag.anchor, tokenAt(e));
          if (next.some((v, i) => v !== drag.region[i])) setDrag({ ...drag, region: next });
        }}
      >
        {shown.map((r, i) => (
          <div
            key={`${r.join(',')}-${i}`}
            className="region-box"
            style={{
              left: `${(r[2] / SIDE) * 100}%`, top: `${(r[0] / SIDE) * 100}%`,
              width: `${((r[3] - r[2] + 1) / SIDE) * 100}%`, height: `${((r[1] - r[0] + 1) / SIDE) * 100}%`,
            }}
            aria-hidden
          >
            {shown.length > 1 && <span className="region-box-n">{i + 1}</span>}
          </div>
        ))}
        <div className="region-cursor" style={{ left: `${(cc / SIDE) * 100}%`, top: `${(cr / SIDE) * 100}%` }} aria-hidden />
      </div>
    </div>
  );
}
