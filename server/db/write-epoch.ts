import type { Knex } from 'knex';

/**
 * A counter of this process's writes: it moves on with every statement that may change data
 * (insert, update, delete, commit, rollback, create …), inside transactions too (knex passes
 * their queries on to the main instance). A cache of rows remembers the counter it read them at
 * and treats them as stale once it has moved; a read that overlapped a write is not kept.
 * Writes by other processes are not seen: such caches also keep entries only briefly.
 */
const epochs = new WeakMap<Knex, { n: number }>();

export function writeEpoch(db: Knex): number {
  let e = epochs.get(db);
  if (!e) {
    const counter = { n: 0 };
    e = counter;
    epochs.set(db, counter);
    db.on('query', (q: { sql?: unknown }) => {
      const sql = q.sql;
      if (typeof sql !== 'string') return;
      // reads start with select, with, pragma, begin, savepoint or explain; everything else counts
      const c = sql.charCodeAt(0) | 0x20;
      if (c !== 115 /* s */ && c !== 119 /* w */ && c !== 112 /* p */ && c !== 98 /* b */ && c !== 101 /* e */) counter.n++;
    });
  }
  return e.n;
}
