/**
 * The library's photos as a virtualised grid of square thumbnails (the model's centre crop is the
 * thumbnail's centre square, so `object-fit: cover` shows what the model saw). Rows outside the
 * viewport are not in the DOM; pages of 200 ids are fetched as rows come into view.
 */
import { memo, useCallback, useDeferredValue, useEffect, useMemo, useRef, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useRouter } from '@tanstack/react-router';
import type { ImageList } from '../../../common/contract/explore-schemas.js';
import { Thumb } from '../ui/Thumb.js';
import { inspectorLink } from '../ui/plain-link.js';
import { PHOTO_PAGE, photoPageQuery, useFailures } from '../queries.js';
import { ErrorMessage, EmptyState } from '../ui/bits.js';
import { baseName, count } from '../ui/format.js';
import { useClientWidth } from '../ui/hooks.js';
import { useFastScroll } from '../ui/fast-scroll.js';
import { openIntent } from '../ui/open-intent.js';
import { ImageOff } from 'lucide-react';

const PAGE = PHOTO_PAGE;
const MIN_TILE = 148;
const GAP = 6;

function usePage(libraryFile: string, folder: string | undefined, page: number) {
  return useQuery(photoPageQuery(libraryFile, folder, page));
}

export function PhotoGrid({ libraryFile, folder, expected }: { libraryFile: string; folder: string | undefined; expected: number }) {
  const first = usePage(libraryFile, folder, 0);
  // Files whose indexing failed have no thumbnail: their tiles say why instead of asking for one.
  const failures = useFailures();
  const failed = useMemo(() => new Map((failures.data ?? []).map((f) => [f.file, f.error])), [failures.data]);
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollEl, setScrollEl] = useState<HTMLDivElement | null>(null);
  const scrollRef = useCallback((el: HTMLDivElement | null) => {
    scroller.current = el;
    setScrollEl(el);
  }, []);
  const fast = useFastScroll(scrollEl);
  const width = useClientWidth(scroller);
  const total = first.data?.total ?? 0;
  const columns = Math.max(1, Math.floor((width - 2 * GAP + GAP) / (MIN_TILE + GAP)));
  const tile = width > 0 ? Math.floor((width - 2 * GAP - (columns - 1) * GAP) / columns) : MIN_TILE;
  // No rows before the grid's width is known (its first layout effect, before the first paint):
  // one column of a 100k-photo library would lay out 100k rows and render tiles thrown away.
  const rows = width > 0 ? Math.ceil(total / columns) : 0;
  const virtualizer = useVirtualizer({
    count: rows,
    getScrollElement: () => scroller.current,
    estimateSize: () => tile + GAP,
    overscan: 3,
    // Rows entering on scroll render with React's normal scheduling, not inside the scroll event.
    useFlushSync: false,
  });
  useEffect(() => virtualizer.measure(), [tile, virtualizer]);

  return (
    <div className="grid-scroll" ref={scrollRef} data-testid="photo-grid" data-total={total}>
      <ErrorMessage error={first.error} title="The photos could not be listed." />
      {first.data && total === 0 && (
        <EmptyState icon={<ImageOff size={28} />} title={expected === 0 ? 'No photos indexed yet' : 'No photos here'}>
          <p>{expected === 0 ? 'Press Index to find and encode the photos in the folders on the right.' : 'This folder has no photos in the library.'}</p>
        </EmptyState>
      )}
      {total > 0 && (failures.data !== undefined || failures.isError) && (
        <>
          <div className="grid-caption muted small">{count(total, 'photo')}</div>
          <div className="grid-inner" style={{ height: virtualizer.getTotalSize() }} role="list" aria-label="Photos">
            {virtualizer.getVirtualItems().map((row) => (
              <Row
                key={row.key}
                start={row.start}
                first={row.index * columns}
                n={Math.min(columns, total - row.index * columns)}
                tile={tile}
                total={total}
                fast={fast}
                libraryFile={libraryFile}
                folder={folder}
                failed={failed}
              />
            ))}
          </div>
        </>
      )}
    </div>
  );
}

interface RowProps {
  start: number;
  /** The row's first photo, 0-based in the grid. */
  first: number;
  n: number;
  tile: number;
  /** Photos in the grid (each tile's aria-setsize: a virtualised list has only some in the page). */
  total: number;
  /** The grid is being flung: tiles not drawn yet stay placeholders (ui/fast-scroll.ts). */
  fast: boolean;
  libraryFile: string;
  folder: string | undefined;
  failed: Map<string, string>;
}

/**
 * One row of tiles: its page(s) of ids are read here (a row can straddle two pages), so a tile
 * holds no query of its own, and a row whose props did not change is not rendered again.
 */
const Row = memo(function Row({ start, first, n, tile, total, fast, libraryFile, folder, failed }: RowProps) {
  const a = usePage(libraryFile, folder, Math.floor(first / PAGE));
  const b = usePage(libraryFile, folder, Math.floor((first + n - 1) / PAGE));
  // Tiles take a page's answer in a transition React can interrupt (a screen of rows at once).
  const aData = useDeferredValue(a.data);
  const bData = useDeferredValue(b.data);
  const item = (i: number) => (Math.floor(i / PAGE) === Math.floor(first / PAGE) ? aData : bData)?.items[i % PAGE];
  return (
    <div className="grid-row" style={{ transform: `translateY(${start}px)`, height: tile, gap: GAP, paddingInline: GAP }}>
      {Array.from({ length: n }, (_, c) => {
        const it = item(first + c);
        return <Tile key={c} index={first + c} item={it} size={tile} folder={folder} reason={reasonOf(it, failed)} libraryFile={libraryFile} total={total} fast={fast} />;
      })}
    </div>
  );
});

type Item = ImageList['items'][number];

/** Why a photo has no thumbnail: a tile re-renders only when its own reason changes. */
const reasonOf = (item: Item | undefined, failed: Map<string, string>): string | undefined => (item ? (item.failed ?? failed.get(item.file)) : undefined);

interface TileProps {
  index: number;
  item: Item | undefined;
  size: number;
  folder: string | undefined;
  reason: string | undefined;
  libraryFile: string;
  total: number;
  fast: boolean;
}

const Tile = memo(function Tile({ index, item, size, folder, reason, libraryFile, total, fast }: TileProps) {
  const place = { 'aria-posinset': index + 1, 'aria-setsize': total, 'data-rank': index };
  // Once drawn, a tile keeps its photo; a tile that only flies past never asks for it.
  const drawn = useRef(false);
  if (!fast && item) drawn.current = true;
  const router = useRouter();
  const [failed, setFailed] = useState(false);
  if (!item || (!drawn.current && reason === undefined)) return <div className="tile tile-loading" style={{ width: size, height: size }} role="listitem" {...place} />;
  const name = baseName(item.file);
  if (reason !== undefined) {
    return (
      <div className="tile tile-failed" style={{ width: size, height: size }} role="listitem" {...place} title={`${item.file}\n${reason}`} data-failed-file={item.file}>
        <span className="tile-missing">
          <ImageOff size={20} aria-hidden />
          <span>{name}</span>
          <span>could not be read</span>
        </span>
      </div>
    );
  }
  // A plain link (ui/plain-link.ts); the inspector walks the grid in this order (ui/walk.ts).
  const link = inspectorLink(router, item.imageId, { from: folder ? `library:${folder}` : 'library', at: index });
  return (
    <a
      {...link}
      {...openIntent(libraryFile, item.imageId, undefined)}
      className="tile"
      style={{ width: size, height: size }}
      role="listitem"
      {...place}
      title={`${item.file}${item.width && item.height ? `\n${item.width} × ${item.height} px` : ''}`}
      aria-label={name}
      data-image-id={item.imageId}
    >
      {failed ? (
        <span className="tile-missing">
          <ImageOff size={20} aria-hidden /> No thumbnail
        </span>
      ) : (
        <Thumb imageId={item.imageId} alt={name} onError={() => setFailed(true)} />
      )}
      <span className="tile-name">{name}</span>
    </a>
  );
});
