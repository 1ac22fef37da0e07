/**
 * Schema migrations, in the manner of Signal-Desktop's: one numbered file per migration, run in
 * order, each in its own transaction that also sets PRAGMA user_version, so a crash leaves the
 * database at the last completed version. A database written by a newer app is refused.
 */
import type Database from 'better-sqlite3';
import { UserFacingError } from '../errors.js';

export interface Migration {
  /** 1, 2, 3 ... in list order: the schema version this migration produces. */
  readonly version: number;
  readonly name: string;
  up(db: Database.Database): void;
}

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function latestVersion(migrations: readonly Migration[]): number {
  return migrations.length === 0 ? 0 : migrations[migrations.length - 1]!.version;
}

/** Throws unless the list is numbered 1, 2, 3 ... with distinct names (a programming error). */
export function checkMigrationList(migrations: readonly Migration[]): void {
  const names = new Set<string>();
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration "${m.name}" has version ${m.version}, expected ${i + 1} (the list must be in order, without gaps)`);
    if (names.has(m.name)) throw new Error(`two migrations are named "${m.name}"`);
    names.add(m.name);
  });
}

export function newerSchemaError(file: string, found: number, supported: number): UserFacingError {
  return new UserFacingError(`${file} was written by a newer CLIP-Scope (schema ${found} > ${supported}); update the app`);
}

/** Brings `db` to the latest version; returns the versions before and after. */
export function migrate(db: Database.Database, file: string, migrations: readonly Migration[]): { from: number; to: number } {
  checkMigrationList(migrations);
  const latest = latestVersion(migrations);
  const from = schemaVersion(db);
  if (from > latest) throw newerSchemaError(file, from, latest);
  for (const m of migrations) {
    if (m.version <= from) continue;
    // IMMEDIATE takes the write lock first, so two processes opening the same old file cannot
    // both run a migration: the second one waits, then sees the new version and skips it.
    db.transaction(() => {
      const current = schemaVersion(db);
      if (current > latest) throw newerSchemaError(file, current, latest);
      if (current >= m.version) return;
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
  return { from, to: Math.max(from, schemaVersion(db)) };
}
