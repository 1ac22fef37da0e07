/**
 * What the features table shows beside each visible row: the feature's activation histogram (a
 * sparkline) and its strongest photos (a thumbnail strip), for a page of features in one call,
 * so that scrolling asks once per page rather than once per row.
 */
import type { HistogramBin } from '../store/feature-stats.js';
import { featureHistograms } from '../store/feature-previews.js';
import type { ReadonlyLibrary } from '../store/library.js';
import type { ConfigRow } from '../store/rows.js';
import { gallery, type GalleryItem } from './gallery.js';
import { checkFeature } from './runs.js';

export interface FeaturePreview {
  feature: number;
  histogram: HistogramBin[];
  /** Its `thumbs` strongest photos (token any), as the feature's gallery lists them. */
  top: GalleryItem[];
}

export const DEFAULT_PREVIEW_THUMBS = 5;

/** Previews in the order of `features`. */
export function featurePreviews(lib: ReadonlyLibrary, config: ConfigRow, features: readonly number[], thumbs = DEFAULT_PREVIEW_THUMBS): FeaturePreview[] {
  for (const f of features) checkFeature(f, config.nFeatures);
  // One read transaction: the histograms and the photos describe the same state of the library.
  return lib.read(() => {
    const histograms = featureHistograms(lib, config.id, features);
    return features.map((feature) => ({
      feature,
      histogram: histograms.get(feature) ?? [],
      // A first page reads only each posting's head: a few rows per feature, whatever the library's size.
      top: thumbs > 0 ? gallery(lib, config, feature, { token: 'any', limit: thumbs }).items : [],
    }));
  });
}
