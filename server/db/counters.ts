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

/** Raises a counter to at least `value` (inside the caller's transaction), e.g. after imported member numbers; an absent counter stays absent. */
export async function raiseTo(trx: Knex.Transaction, name: string, value: number): Promise<void> {
  const c = await trx('counters').where({ name }).first();
  if (c && Number(c.value) < value) await trx('counters').where({ name }).update({ value });
}
