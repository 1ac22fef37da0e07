/**
 * A feature's strongest photos as a row of small thumbnails (the features table). One image for
 * assistive technology: its label names the photos and their activations; each thumbnail's
 * tooltip does the same for the mouse.
 */
import type { FeaturePreview } from '../../../common/contract/feature-schemas.js';
import { Thumb } from './Thumb.js';
import { baseName } from './format.js';

export function ThumbStrip({ items, slots }: { items: FeaturePreview['top']; slots: number }) {
  const label = items.length
    ? `Strongest photos: ${items.map((i) => `${baseName(i.file)} (activation ${i.act.toFixed(2)})`).join(', ')}`
    : 'Fires in no photo';
  return (
    <span className="thumbstrip" role="img" aria-label={label} data-testid="thumbstrip" data-count={items.length}>
      {items.map((it) => (
        <Thumb
          key={it.imageId}
          imageId={it.imageId}
          alt=""
          title={`${baseName(it.file)}: activation ${it.act.toFixed(3)}`}
          data-image-id={it.imageId}
        />
      ))}
      {Array.from({ length: Math.max(0, slots - items.length) }, (_, i) => <span key={`empty-${i}`} className="thumb-empty" aria-hidden />)}
    </span>
  );
}
