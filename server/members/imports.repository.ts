import type { Knex } from 'knex';
import { insertId } from '../db/knex.ts';
import type { ImportBatchRow } from './members.tables.ts';

/** Stored import previews (import_batches): what was shown is what a confirmation imports. */
type Q = Knex | Knex.Transaction;

/** Drops previews nobody confirmed that were made before `before`. */
export async function deleteUnconfirmedBefore(q: Q, before: string): Promise<void> {
  await q('import_batches').where({ status: 'previewed' }).andWhere('created_at', '<', before).delete();
}

export function insertBatch(q: Q, row: Omit<ImportBatchRow, 'id' | 'imported_count' | 'imported_at'>): Promise<number> {
  return insertId(q, 'import_batches', { ...row });
}

export function batchByKey(q: Q, key: string): Promise<ImportBatchRow | undefined> {
  return q('import_batches').where({ key }).first();
}

export async function markImported(q: Q, id: number, count: number, at: string): Promise<void> {
  await q('import_batches').where({ id }).update({ status: 'imported', imported_count: count, imported_at: at });
}
