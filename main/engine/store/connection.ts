/**
 * A library handle's SQLite connection, for main/engine/store's own modules. The handle types
 * (ReadonlyLibrary / WritableLibrary) expose no database, statement or feature index: the
 * store's *-rows.ts modules reach them through `connection(lib)`, and lint forbids importing this
 * module anywhere above the store, so nothing there can prepare a statement or write to the index.
 */
import type Database from 'better-sqlite3';
import { FeatureIndex } from './feature-index.js';
import type { ReadonlyLibrary } from './library.js';

export class Connection {
  readonly index: FeatureIndex;
  private readonly stmts = new Map<string, Database.Statement>();

  constructor(readonly db: Database.Database) {
    this.index = new FeatureIndex(db);
  }

  /** A cached prepared statement, typed by the row (or plucked value) it returns. */
  statement<R = unknown>(sql: string): Database.Statement<unknown[], R> {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s as Database.Statement<unknown[], R>;
  }
}

// Keyed by the handle itself: nothing on the handle leads back to its connection.
const connections = new WeakMap<ReadonlyLibrary, Connection>();

/** library.ts only: ties a new handle to its connection. */
export function attachConnection(lib: ReadonlyLibrary, db: Database.Database): Connection {
  const c = new Connection(db);
  connections.set(lib, c);
  return c;
}

export function connection(lib: ReadonlyLibrary): Connection {
  const c = connections.get(lib);
  if (!c) throw new Error('not a library handle opened by openLibrary');
  return c;
}

/** The handle's cached prepared statement for `sql` (see Connection.statement). */
export function statement<R = unknown>(lib: ReadonlyLibrary, sql: string): Database.Statement<unknown[], R> {
  return connection(lib).statement<R>(sql);
}
