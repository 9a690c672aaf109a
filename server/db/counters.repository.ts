import type { Knex } from 'knex';
import type {} from './db.tables.ts';

type Q = Knex | Knex.Transaction;

/**
 * Gapless counters (member numbers, invoice numbers per year): the only queries of `counters`
 * (owned by db, see server/db/ownership.ts). The increment happens inside the caller's
 * transaction: if the transaction rolls back, so does the number, so none is skipped; the row
 * lock (PostgreSQL) or the write lock (SQLite) makes two callers wait in turn.
 */
export async function nextValue(trx: Knex.Transaction, name: string, start: () => Promise<number>): Promise<number> {
  const updated = await increment(trx, name);
  if (updated !== undefined) return updated;
  const first = await start();
  // Two transactions may both find no row (PostgreSQL, READ COMMITTED): the second insert
  // waits for the first to commit and then does nothing; that caller takes the next value.
  const inserted = await trx('counters').insert({ name, value: first }).onConflict('name').ignore().returning('value');
  if (inserted.length) return first;
  const again = await increment(trx, name);
  if (again === undefined) throw new Error(`counter ${name} vanished`);
  return again;
}

async function increment(trx: Knex.Transaction, name: string): Promise<number | undefined> {
  const rows: unknown[] = await trx('counters').where({ name }).increment('value', 1).returning('value');
  if (!rows.length) return undefined;
  const r = rows[0];
  return Number(typeof r === 'object' && r !== null && 'value' in r ? r.value : r);
}

/** The counter's current value (the last number given), undefined before the first. */
export async function currentValue(q: Q, name: string): Promise<number | undefined> {
  const r = await q('counters').where({ name }).first('value');
  return r ? Number(r.value) : undefined;
}

/** Raises an existing counter to `value` if it is below (e.g. after a member number given by hand); no row: nothing to do, the first nextValue starts above. */
export async function raiseTo(q: Q, name: string, value: number): Promise<void> {
  const r = await q('counters').where({ name }).first('value');
  if (r && Number(r.value) < value) await q('counters').where({ name }).update({ value });
}

/** Sets the counter to exactly `value` (benchmark seeding). */
export async function setValue(q: Q, name: string, value: number): Promise<void> {
  const n = await q('counters').where({ name }).update({ value });
  if (!n) await q('counters').insert({ name, value });
}
