import type { Knex } from 'knex';

// h/harden: the queries on `sessions` besides connect-session-knex's own (which session-store.ts extends)

/** Every stored session's id and data (the data as stored: JSON text on SQLite, json on PostgreSQL). */
export async function sessionRows(knex: Knex): Promise<{ sid: string; sess: unknown }[]> {
  return knex('sessions').select('sid', 'sess');
}

/** Deletes the sessions that expired before `now`; returns how many. */
export async function deleteExpiredSessions(knex: Knex, now: Date): Promise<number> {
  const sqlite = knex.client.dialect === 'sqlite3';
  return knex('sessions').del().whereRaw(sqlite ? 'datetime(expired) < datetime(?)' : 'expired < CAST(? as timestamp with time zone)', [now.toISOString()]);
}
