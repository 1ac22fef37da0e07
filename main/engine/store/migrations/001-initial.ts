import type Database from 'better-sqlite3';
import type { Migration } from '../migrate.js';

/**
 * The library: folders, images, encoding configurations, one result per (config, image) with
 * every token's latents, the feature index that galleries and queries read, per-feature
 * statistics, the user's feature labels, and per-file failures.
 */
const migration: Migration = {
  version: 1,
  name: 'initial',
  up(db: Database.Database) {
    db.exec(`
      -- Folders the user added. A removed folder keeps its row (and id) so its images, marked
      -- removed, come back unchanged if the folder is added again.
      CREATE TABLE folders (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        added_at INTEGER NOT NULL,
        removed_at INTEGER
      );

      -- What produced a result: vision model, SAE, layer, input normalisation (and their shapes).
      CREATE TABLE configs (
        id INTEGER PRIMARY KEY,
        model_dir TEXT NOT NULL,
        model_fingerprint TEXT NOT NULL,
        sae_path TEXT NOT NULL,
        sae_fingerprint TEXT NOT NULL,
        layer INTEGER NOT NULL,
        normalization TEXT NOT NULL CHECK (normalization IN ('raw', 'standardized')),
        tokens INTEGER NOT NULL,
        width INTEGER NOT NULL,
        n_features INTEGER NOT NULL,
        k INTEGER,
        embedding_dim INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        -- Bumped by every change to this config's results or to the presence of images: caches
        -- (embeddings, statistics) are valid for one generation.
        generation INTEGER NOT NULL DEFAULT 0,
        -- feature_stats were brought up to date at this generation, over this many images and tokens.
        stats_generation INTEGER,
        stats_images INTEGER,
        stats_tokens INTEGER,
        stats_at INTEGER,
        UNIQUE (model_fingerprint, sae_fingerprint, layer, normalization)
      );

      -- Photo files. Ids are never reused (AUTOINCREMENT): the feature index addresses images by id.
      CREATE TABLE images (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        path TEXT NOT NULL UNIQUE,
        folder_id INTEGER NOT NULL REFERENCES folders (id),
        size INTEGER NOT NULL,
        mtime_ms REAL NOT NULL,
        hash TEXT NOT NULL,
        width INTEGER,
        height INTEGER,
        captured_at INTEGER,
        status TEXT NOT NULL DEFAULT 'present' CHECK (status IN ('present', 'removed')),
        removed_at INTEGER
      );
      CREATE INDEX images_hash ON images (hash);
      CREATE INDEX images_folder ON images (folder_id, status);
      CREATE INDEX images_removed ON images (id) WHERE status = 'removed';

      -- One encoding of one image by one config: metrics and per-token sqrt(SSE) (float16). Small
      -- rows (about 600 bytes): metrics scans never walk the latents.
      CREATE TABLE results (
        id INTEGER PRIMARY KEY,
        config_id INTEGER NOT NULL REFERENCES configs (id),
        image_id INTEGER NOT NULL REFERENCES images (id),
        mse REAL NOT NULL,
        ev REAL NOT NULL,
        l0 REAL NOT NULL,
        -- Where the image's feature-index entries are: 0 none (image removed), 1 recent_entries, 2 postings.
        indexed INTEGER NOT NULL CHECK (indexed IN (0, 1, 2)),
        created_at INTEGER NOT NULL,
        sse BLOB NOT NULL,
        UNIQUE (config_id, image_id)
      );
      CREATE INDEX results_image ON results (image_id);
      CREATE INDEX results_recent ON results (config_id) WHERE indexed = 1;

      -- The image embedding (float16) and every token's latents (see store/packing.ts). The
      -- embedding comes first: it lies in the row's first page, so reading it skips the latents.
      CREATE TABLE latents (
        result_id INTEGER PRIMARY KEY REFERENCES results (id) ON DELETE CASCADE,
        embedding BLOB NOT NULL,
        codes BLOB NOT NULL
      );

      -- The feature index (see store/feature-index.ts): entries of present images only, kind 0 =
      -- max over all tokens (with the argmax token), kind 1 = the CLS token; act = float16 bits of
      -- a value > 0, which order like the values. A new image's entries wait in recent_entries
      -- (one blob per image) until they are merged in bulk into postings: per (config, kind,
      -- segment of 4096 image ids, feature), the entries sorted by activation.
      CREATE TABLE recent_entries (
        result_id INTEGER PRIMARY KEY REFERENCES results (id) ON DELETE CASCADE,
        config_id INTEGER NOT NULL,
        image_id INTEGER NOT NULL,
        entries BLOB NOT NULL
      );
      CREATE INDEX recent_entries_config ON recent_entries (config_id, image_id);
      -- n entries: the 64 strongest in head (a gallery page reads only these: they lie in the
      -- row's first page), the others in tail. A rowid table: its blobs (up to 24 KB) then fill
      -- their overflow pages exactly, which a WITHOUT ROWID table (1 KB local payload) would not.
      CREATE TABLE postings (
        id INTEGER PRIMARY KEY,
        config_id INTEGER NOT NULL,
        kind INTEGER NOT NULL,
        segment INTEGER NOT NULL,
        feature INTEGER NOT NULL,
        n INTEGER NOT NULL,
        head BLOB NOT NULL,
        tail BLOB,
        UNIQUE (config_id, kind, segment, feature)
      );

      -- Per-feature statistics over the present images of a config, one row per feature (dead
      -- ones included), as of configs.stats_generation: sum_act / tokens is the mean activation;
      -- histogram: token activations in half-octave bins (store/feature-stats.ts).
      CREATE TABLE feature_stats (
        config_id INTEGER NOT NULL REFERENCES configs (id),
        feature INTEGER NOT NULL,
        images INTEGER NOT NULL,
        tokens INTEGER NOT NULL,
        max_act REAL NOT NULL,
        sum_act REAL NOT NULL,
        histogram BLOB,
        PRIMARY KEY (config_id, feature)
      ) WITHOUT ROWID;
      CREATE INDEX feature_stats_tokens ON feature_stats (config_id, tokens);
      CREATE INDEX feature_stats_max ON feature_stats (config_id, max_act);
      -- Their running totals, kept with the feature index and published into feature_stats by
      -- refreshFeatureStats: typed arrays over features in one blob (store/feature-stats.ts).
      CREATE TABLE feature_totals (
        config_id INTEGER PRIMARY KEY REFERENCES configs (id),
        data BLOB NOT NULL
      );
      -- Latents of a few images whose entries left postings, still counted in feature_totals:
      -- taken out at the next compaction (large removals are taken out at once).
      CREATE TABLE stats_pending (
        id INTEGER PRIMARY KEY,
        config_id INTEGER NOT NULL REFERENCES configs (id),
        codes BLOB NOT NULL
      );
      CREATE INDEX stats_pending_config ON stats_pending (config_id);

      -- The user's names and notes for features, per SAE (the same SAE at any layer or
      -- normalisation shares them).
      CREATE TABLE feature_labels (
        sae_fingerprint TEXT NOT NULL,
        feature INTEGER NOT NULL,
        label TEXT NOT NULL DEFAULT '',
        note TEXT NOT NULL DEFAULT '',
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (sae_fingerprint, feature)
      ) WITHOUT ROWID;

      -- The last error of each file that could not be indexed.
      CREATE TABLE failures (
        path TEXT PRIMARY KEY,
        config_id INTEGER REFERENCES configs (id),
        error TEXT NOT NULL,
        at INTEGER NOT NULL
      ) WITHOUT ROWID;
    `);
  },
};

export default migration;
