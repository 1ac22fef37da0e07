/**
 * The indexing job queue (main/engine/library/jobs.ts). A job is one "index these folders with
 * this model, SAE and layer" request; its items are the images the job must encode (or has moved).
 * Item states change in the same write transaction as the results they stand for, so after a
 * crash the queue says exactly what is left.
 */
import type Database from 'better-sqlite3';
import type { Migration } from '../migrate.js';

const migration: Migration = {
  version: 2,
  name: 'jobs',
  up(db: Database.Database): void {
    db.exec(`
      CREATE TABLE index_jobs (
        id            INTEGER PRIMARY KEY,
        state         TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'paused', 'cancelled', 'done', 'failed')),
        -- A pause / cancel asked for by another process (or this one), honoured between batches.
        request       TEXT             CHECK (request IN ('pause', 'cancel')),
        -- JSON: { folders, modelDir, sae, layer, retryFailed }
        params        TEXT    NOT NULL,
        config_id     INTEGER REFERENCES configs (id),
        phase         TEXT    NOT NULL DEFAULT 'scan' CHECK (phase IN ('scan', 'encode', 'finish')),
        -- What the folder walk found, JSON: { scanned, unchanged, problems, knownFailures } (see jobs.ts)
        scan          TEXT,
        removed       INTEGER NOT NULL DEFAULT 0,
        owner_pid     INTEGER,
        owner_host    TEXT,
        heartbeat_at  INTEGER,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL,
        finished_at   INTEGER,
        -- JSON IndexSummary once the job ended (items are then deleted).
        summary       TEXT,
        error         TEXT
      );
      CREATE INDEX index_jobs_by_state ON index_jobs (state);

      CREATE TABLE index_job_items (
        job_id    INTEGER NOT NULL REFERENCES index_jobs (id) ON DELETE CASCADE,
        image_id  INTEGER NOT NULL,
        -- 'none': nothing to encode (a move only); 'pending' -> 'done' | 'failed'
        state     TEXT    NOT NULL CHECK (state IN ('none', 'pending', 'done', 'failed')),
        moved     INTEGER NOT NULL DEFAULT 0,
        error     TEXT,
        PRIMARY KEY (job_id, image_id)
      ) WITHOUT ROWID;
      CREATE INDEX index_job_items_by_state ON index_job_items (job_id, state);
    `);
  },
};

export default migration;
