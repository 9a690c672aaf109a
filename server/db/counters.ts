import type { Knex } from 'knex';

/**
 * Gapless counters (member numbers, invoice numbers per year). The increment happens inside
 * the caller's transaction: if the transaction rolls back, so does the number, so none is
 * skipped; the row lock (PostgreSQL) or the write lock (SQLite) makes two callers wait in turn.
 */
export async function nextValue(trx: Knex.Transaction, name: string, start: () => Promise<number>): Promise<number> {
  const updated = await trx('counters').where({ name }).increment('value', 1).returning('value');
  if (updated.length) {
    const r = updated[0] as { value: number } | number;
    return Number(typeof r === 'object' ? r.value : r);
  }
  const first = await start();
  // Two transactions may both find no row (PostgreSQL, READ COMMITTED): the second insert
  // waits for the first to commit and then does nothing; that caller takes the next value.
  const inserted = await trx('counters').insert({ name, value: first }).onConflict('name').ignore().returning('value');
  if (inserted.length) return first;
  const again = await trx('counters').where({ name }).increment('value', 1).returning('value');
  const r = again[0] as { value: number } | number;
  return Number(typeof r === 'object' ? r.value : r);
}

/** A counter's current value (0 when it has not been used yet), without moving it: the value the next `nextValue` will most likely exceed by one. */
export async function currentValue(q: Knex | Knex.Transaction, name: string): Promise<number> {
  const r: { value: number } | undefined = await q('counters').where({ name }).first('value');
  return Number(r?.value ?? 0);
}
