import { copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { beforeEach, describe, expect, it } from 'vitest';
import { UserFacingError } from '../../../main/engine/errors.js';
import { connection } from '../../../main/engine/store/connection.js';
import { Library } from '../../../main/engine/store/library.js';
import { gallery } from '../../../main/engine/queries/gallery.js';
import { imageLatents } from '../../../main/engine/queries/image.js';
import { checkMigrationList, latestVersion, migrate, schemaVersion, type Migration } from '../../../main/engine/store/migrate.js';
import { MIGRATIONS } from '../../../main/engine/store/migrations/index.js';
import m001 from '../../../main/engine/store/migrations/001-initial.js';
import { addSyntheticImages, SYNTH, tempDir } from './helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await tempDir('clipscope-migrations-');
});

const tables = (db: Database.Database): string[] =>
  (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[]);

describe('migration runner', () => {
  it('lists migrations numbered 1, 2, 3 ... in order', () => {
    expect(() => checkMigrationList(MIGRATIONS)).not.toThrow();
    MIGRATIONS.forEach((m, i) => expect(m.version).toBe(i + 1));
    const noop = (version: number, name: string): Migration => ({ version, name, up: () => undefined });
    expect(() => checkMigrationList([noop(1, 'a'), noop(3, 'b')])).toThrow(/version 3, expected 2/);
    expect(() => checkMigrationList([noop(2, 'a'), noop(1, 'b')])).toThrow(/expected 1/);
    expect(() => checkMigrationList([noop(1, 'a'), noop(2, 'a')])).toThrow(/two migrations are named "a"/);
  });

  it('runs each pending migration in its own transaction and records user_version', () => {
    const db = new Database(path.join(dir, 'x.sqlite'));
    const log: string[] = [];
    const list: Migration[] = [
      { version: 1, name: 'one', up: (d) => { d.exec('CREATE TABLE a (x)'); log.push('one'); } },
      { version: 2, name: 'two', up: (d) => { d.exec('CREATE TABLE b (x)'); log.push('two'); } },
    ];
    expect(migrate(db, 'x.sqlite', list.slice(0, 1))).toEqual({ from: 0, to: 1 });
    expect(migrate(db, 'x.sqlite', list)).toEqual({ from: 1, to: 2 });
    expect(migrate(db, 'x.sqlite', list)).toEqual({ from: 2, to: 2 });
    expect(log).toEqual(['one', 'two']);
    db.close();
  });

  it('rolls a failing migration back entirely (tables and version)', () => {
    const db = new Database(path.join(dir, 'x.sqlite'));
    const list: Migration[] = [
      { version: 1, name: 'one', up: (d) => d.exec('CREATE TABLE a (x)') },
      { version: 2, name: 'broken', up: (d) => { d.exec('CREATE TABLE b (x)'); throw new Error('boom'); } },
    ];
    expect(() => migrate(db, 'x.sqlite', list)).toThrow('boom');
    expect(schemaVersion(db)).toBe(1);
    expect(tables(db)).toEqual(['a']);
    db.close();
  });
});

describe('migration 001-initial', () => {
  it('creates the library schema at version 1', () => {
    const db = new Database(path.join(dir, 'v1.sqlite'));
    migrate(db, 'v1.sqlite', [m001]);
    expect(schemaVersion(db)).toBe(1);
    expect(tables(db)).toEqual(['configs', 'failures', 'feature_labels', 'feature_stats', 'feature_totals', 'folders', 'images', 'latents', 'postings', 'recent_entries', 'results', 'stats_pending']);
    // Galleries read postings by (config, kind, segment, feature).
    const sql = db.prepare("SELECT sql FROM sqlite_master WHERE name = 'postings'").pluck().get() as string;
    expect(sql).toMatch(/UNIQUE \(config_id, kind, segment, feature\)/);
    db.close();
  });
});

describe('opening libraries of other versions', () => {
  it('opens an older library and upgrades it, keeping its data', () => {
    const file = path.join(dir, 'old.sqlite');
    // A library as version 1 of the app wrote it (schema 1, its writers).
    const v1 = Library.open(file, { migrations: MIGRATIONS.slice(0, 1) });
    expect(schemaVersion(connection(v1).db)).toBe(1);
    const config = v1.ensureConfig(SYNTH);
    const ids = [...addSyntheticImages(v1, config, 5, 1).keys()];
    v1.close();

    const lib = Library.open(file);
    expect(schemaVersion(connection(lib).db)).toBe(latestVersion(MIGRATIONS));
    expect(lib.listConfigs()).toHaveLength(1);
    expect(ids.every((id) => lib.hasResult(id, config.id))).toBe(true);
    expect(connection(lib).db.pragma('integrity_check', { simple: true })).toBe('ok');
    lib.close();
  });

  it('opens a library written by the previous release (schema 2, version 1 latents blobs) and mixes in new blobs', async () => {
    const file = path.join(dir, 'schema2.sqlite');
    await copyFile(fileURLToPath(new URL('../../fixtures/store/library-schema2.sqlite', import.meta.url)), file);
    // What the previous release stored: addSyntheticImages(lib, config, 6, 31) on a fresh library.
    const fresh = Library.open(path.join(dir, 'fresh.sqlite'));
    const want = [...addSyntheticImages(fresh, fresh.ensureConfig(SYNTH), 6, 31).values()];
    fresh.close();

    const lib = Library.open(file);
    expect(schemaVersion(connection(lib).db)).toBe(latestVersion(MIGRATIONS));
    const config = lib.ensureConfig(SYNTH);
    const blobs = connection(lib).db.prepare('SELECT codes FROM latents ORDER BY result_id').pluck().all() as Buffer[];
    expect(blobs.map((b) => b[0])).toEqual([1, 1, 1, 1, 1, 1]);
    want.forEach((codes, i) => {
      const got = imageLatents(lib, config, `/photos/synthetic/img-31-${i}.jpg`);
      expect(got.tokens.idx.flat()).toEqual(Array.from(codes.idx));
      expect(got.tokens.val.flat()).toEqual(Array.from(codes.val));
    });
    // New results are written as version 2 next to the old ones; queries see both.
    const added = addSyntheticImages(lib, config, 4, 32, '/photos/more');
    const newest = connection(lib).db.prepare('SELECT codes FROM latents ORDER BY result_id DESC LIMIT 1').pluck().get() as Buffer;
    expect(newest[0]).toBe(2);
    const all = [...want, ...added.values()];
    const feature = Array.from(all[0]!.idx).find((f, j) => all[0]!.val[j]! > 0)!;
    const firing = all.filter((c) => Array.from(c.idx).some((f, j) => f === feature && c.val[j]! > 0)).length;
    const g = gallery(lib, config, feature, { token: 'any', limit: 100 });
    expect(g.total).toBe(firing);
    expect(g.items).toHaveLength(firing);
    expect(connection(lib).db.pragma('integrity_check', { simple: true })).toBe('ok');
    lib.close();
  });

  it('refuses a library written by a newer app, politely, without touching it', () => {
    const file = path.join(dir, 'new.sqlite');
    Library.open(file).close();
    const db = new Database(file);
    db.pragma('user_version = 999');
    db.close();
    const latest = latestVersion(MIGRATIONS);
    for (const readonly of [false, true]) {
      let err: unknown;
      try {
        Library.open(file, { readonly });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UserFacingError);
      expect((err as Error).message).toBe(`${file} was written by a newer CLIP-Scope (schema 999 > ${latest}); update the app`);
    }
    const after = new Database(file, { readonly: true });
    expect(schemaVersion(after)).toBe(999);
    after.close();
  });

  it('never migrates through a read-only handle', () => {
    const file = path.join(dir, 'ro.sqlite');
    const db = new Database(file);
    migrate(db, file, []);
    db.exec('CREATE TABLE IF NOT EXISTS placeholder (x)');
    db.pragma('user_version = 0');
    db.close();
    if (latestVersion(MIGRATIONS) > 0) {
      expect(() => Library.open(file, { readonly: true })).toThrow(/older CLIP-Scope \(schema 0 < \d+\); open it once for writing/);
    }
    expect(() => Library.open(path.join(dir, 'missing.sqlite'), { readonly: true })).toThrow(/no such library/);
  });

  it('refuses files that are not CLIP-Scope libraries', async () => {
    const text = path.join(dir, 'notes.sqlite');
    await writeFile(text, 'just some text, long enough to not look like an empty database file at all '.repeat(20));
    expect(() => Library.open(text)).toThrow(/is not a CLIP-Scope library \(not an SQLite database\)/);
    const other = path.join(dir, 'other.sqlite');
    const db = new Database(other);
    db.exec('CREATE TABLE images (x)');
    db.close();
    expect(() => Library.open(other)).toThrow(/an SQLite database but not a CLIP-Scope library/);
  });
});
