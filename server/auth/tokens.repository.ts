import type { Knex } from 'knex';
import { affected } from '../db/knex.ts';
import type { TokenRow } from './auth.tables.ts';

type Q = Knex | Knex.Transaction;

/** The queries of `tokens` (owned by auth, see server/db/ownership.ts). Only TokenService calls these. */

export async function insertToken(q: Q, row: Omit<TokenRow, 'id' | 'used_at'>): Promise<void> {
  await q('tokens').insert(row);
}

export async function tokenByHash(q: Q, hash: string, purpose: string): Promise<TokenRow | undefined> {
  return q('tokens').where({ token_hash: hash, purpose }).first();
}

/** Marks the token used unless it was; true when this call did. */
export async function markUsed(q: Q, id: number, now: string): Promise<boolean> {
  return affected(await q('tokens').where({ id }).whereNull('used_at').update({ used_at: now })) === 1;
}

/** Marks every open token of the subject used (of one purpose, or of any). */
export async function markAllUsed(q: Q, subjectType: string, subjectIds: number[], purpose: string | undefined, now: string): Promise<void> {
  if (!subjectIds.length) return;
  const query = q('tokens').where({ subject_type: subjectType }).whereIn('subject_id', subjectIds).whereNull('used_at');
  if (purpose) query.where({ purpose });
  await query.update({ used_at: now });
}

/** Deletes every token of the subjects (e.g. applications being purged). */
export async function deleteTokens(q: Q, subjectType: string, subjectIds: number[]): Promise<number> {
  if (!subjectIds.length) return 0;
  return affected(await q('tokens').where('subject_type', subjectType).whereIn('subject_id', subjectIds).del());
}
