/**
 * Latents blobs version 2 (store/packing.ts: dictionary ids and Rice-coded values, ~38% smaller).
 * Nothing to convert: this version reads both, and old blobs stay as they are until their image
 * is re-encoded. The schema version moves so that an app that only reads version 1 blobs refuses
 * the library politely instead of failing on its first query.
 */
import type { Migration } from '../migrate.js';

const migration: Migration = {
  version: 3,
  name: 'compact-latents',
  up(): void {},
};

export default migration;
