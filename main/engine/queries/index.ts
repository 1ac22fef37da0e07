/** Queries over a library, shared by the app and the CLI: they read the store, never run a model. */
export { indexedConfigs, resolveConfig, type ConfigChoice } from './config.js';
export { gallery, DEFAULT_GALLERY_LIMIT, type GalleryItem, type GalleryOptions, type GalleryResult, type GalleryToken, type QuantileSample } from './gallery.js';
export { findImage, imageLatents, type ImageLatents } from './image.js';
export {
  DENSE_TOKEN_FREQUENCY, featureDetails, searchFeatures, similarFeatures,
  type DecoderProvider, type FeatureDetails, type FeatureInfo, type FeatureSearchOptions, type FeatureSearchResult, type SimilarFeature,
} from './features.js';
export { queryImages, regionTokens, type FeatureQuery, type FeatureTerm, type QueryHit, type QueryResult, type QuerySort } from './feature-query.js';
export { similarImages, type SimilarImage, type SimilarQuery } from './similar.js';
export { libraryMetrics, metricsByNormalization, type LibraryMetrics } from './metrics.js';
export { exportLabels, getLabel, importLabels, searchLabels, setLabel, type FeatureLabel, type ImportOptions, type LabelsFile } from './labels.js';
