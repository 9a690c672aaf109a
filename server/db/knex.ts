import fs from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import type { Config } from '../config.ts';
import { migrationSource } from './migration-source.ts';

export type Db = Knex;

export function createDb(database: Config['database']): Knex {
  if (database.client === 'better-sqlite3') {
    if (database.filename !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(database.filename)), { recursive: true });
    return knexFactory({
      client: 'better-sqlite3',
      connection: { filename: database.filename },
      useNullAsDefault: true,
      // One connection: SQLite has one writer anyway, and knex then queues transactions instead of
      // failing with SQLITE_BUSY. Consequence: inside a transaction, use the trx for every query.
      acquireConnectionTimeout: 15_000,
      pool: {
        min: 1,
        max: 1,
        afterCreate(conn: { pragma: (s: string) => unknown; prepare: (sql: string) => unknown }, done: (err: Error | null, conn: unknown) => void) {
          conn.pragma('journal_mode = WAL');
          conn.pragma('foreign_keys = ON');
          conn.pragma('busy_timeout = 5000');
          conn.pragma('synchronous = NORMAL');
          reuseStatements(conn);
          done(null, conn);
        },
      },
    });
  }
  return knexFactory({
    client: 'pg',
    connection: database.connection,
    searchPath: database.searchPath,
    pool: { min: 0, max: 10 },
  });
}

/**
 * knex prepares every query anew (a tenth of the time of a register page's query); the same
 * SQL text (values are bound parameters) reuses its prepared statement, the 500 most recent.
 * knex only calls all() and run() on a statement, never iterate(), so one is never busy twice.
 */
function reuseStatements(conn: { prepare: (sql: string) => unknown }): void {
  const prepare = conn.prepare.bind(conn);
  const cache = new Map<string, unknown>();
  conn.prepare = (sql: string) => {
    let statement = cache.get(sql);
    if (statement) cache.delete(sql);
    else statement = prepare(sql);
    cache.set(sql, statement);
    if (cache.size > 500) cache.delete(cache.keys().next().value!);
    return statement;
  };
}

export async function migrate(db: Knex): Promise<void> {
  await db.migrate.latest({ migrationSource });
}

export function isPostgres(db: Knex): boolean {
  return db.client.config.client === 'pg';
}

/** Number of affected rows, whatever the dialect returns. */
export function affected(result: unknown): number {
  return typeof result === 'number' ? result : Array.isArray(result) ? result.length : 0;
}

/** Inserts one row and returns its id, on SQLite and PostgreSQL alike. */
export async function insertId(q: Knex | Knex.Transaction, table: string, row: Record<string, unknown>): Promise<number> {
  const [r] = await q(table).insert(row).returning('id');
  return typeof r === 'object' ? Number((r as { id: number }).id) : Number(r); // why: returning('id') gives {id} on PostgreSQL, the bare id on SQLite
}

/** Escapes LIKE wildcards so user input is matched literally (use with ESCAPE '\\'). */
export function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => '\\' + c);
}
