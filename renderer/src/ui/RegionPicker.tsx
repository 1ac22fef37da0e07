/**
 * A small 16 × 16 picture of the patch grid on which a rectangular region is chosen: drag with
 * the mouse, or focus it and move a cursor with the arrow keys (shift + arrows stretch the
 * region from where it started; Delete clears). The region is written in the query grammar.
 */
import { useEffect, useRef, useState, type KeyboardEvent, type PointerEvent } from 'react';
import { describeRegion, regionBetween, regionSize, SIDE, type Region } from './region.js';

export function RegionPicker({ region, onChange, label }: { region: Region | null; onChange: (r: Region | null) => void; label: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const [drag, setDrag] = useState<{ anchor: number; region: Region } | null>(null);
  const [cursor, setCursor] = useState(region ? 1 + region[0] * SIDE + region[2] : 1);
  const anchor = useRef<number | null>(null);
  const shown = drag?.region ?? region;

  // A drag ends wherever the button is released, even outside the grid.
  useEffect(() => {
    if (!drag) return;
    const end = () => {
      setDrag(null);
      onChange(drag.region);
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
      onChange(null);
      return;
    } else if (e.key === ' ' || e.key === 'Enter') {
      // One patch: a region of its own.
      e.preventDefault();
      anchor.current = cursor;
      onChange(regionBetween(cursor, cursor));
      return;
    } else return;
    e.preventDefault();
    setCursor(to);
    if (e.shiftKey) {
      anchor.current ??= cursor;
      onChange(regionBetween(anchor.current, to));
    } else {
      anchor.current = null;
    }
  };

  const cr = Math.floor((cursor - 1) / SIDE);
  const cc = (cursor - 1) % SIDE;
  return (
    <div className="region-picker">
      <div
        ref={ref}
        className="region-grid"
        role="application"
        tabIndex={0}
        aria-label={`${label}: ${shown ? `${describeRegion(shown)}, ${regionSize(shown)} patches` : 'the whole photo'}. Drag, or arrow keys to move and shift + arrows to stretch; Delete clears.`}
        aria-roledescription="region picker"
        data-region={shown ? shown.join(',') : ''}
        onKeyDown={onKeyDown}
        onPointerDown={(e) => {
          if (e.button !== 0) return;
          const t = tokenAt(e);
          setCursor(t);
          anchor.current = t;
          setDrag({ anchor: t, region: regionBetween(t, t) });
        }}
        onPointerMove={(e) => {
          if (!drag) return;
          const next = regionBetween(drag.anchor, tokenAt(e));
          if (next.some((v, i) => v !== drag.region[i])) setDrag({ ...drag, region: next });
        }}
      >
        {shown && (
          <div
            className="region-box"
            style={{
              left: `${(shown[2] / SIDE) * 100}%`, top: `${(shown[0] / SIDE) * 100}%`,
              width: `${((shown[3] - shown[2] + 1) / SIDE) * 100}%`, height: `${((shown[1] - shown[0] + 1) / SIDE) * 100}%`,
            }}
            aria-hidden
          />
        )}
        <div className="region-cursor" style={{ left: `${(cc / SIDE) * 100}%`, top: `${(cr / SIDE) * 100}%` }} aria-hidden />
      </div>
    </div>
  );
}
