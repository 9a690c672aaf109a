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

// h/gdpr: the anonymisation ends the sessions of the contacts' accounts
/** Deletes every stored session signed in as one of the users; returns their ids (the caller tells the caches). */
export async function deleteSessionsOfUsers(knex: Knex | Knex.Transaction, userIds: number[]): Promise<string[]> {
  if (!userIds.length || !(await knex.schema.hasTable('sessions'))) return []; // the store creates its table when the web app starts
  const rows: { sid: string; sess: unknown }[] = await knex('sessions').select('sid', 'sess');
  const sids: string[] = [];
  for (const row of rows) {
    let sess: unknown = row.sess;
    if (typeof sess === 'string') { try { sess = JSON.parse(sess); } catch { continue; } }
    const user = (sess as { passport?: { user?: unknown } } | null)?.passport?.user; // why: a stored session object; only this optional field is read
    if (userIds.includes(Number(user))) sids.push(row.sid);
  }
  for (let i = 0; i < sids.length; i += 500) await knex('sessions').whereIn('sid', sids.slice(i, i + 500)).del();
  return sids;
}
