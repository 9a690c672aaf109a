import type { Knex } from 'knex';
import { insertId } from '../db/knex.ts';
import type { MembershipCategoryRow, SettingRow } from './settings.tables.ts';

type Q = Knex | Knex.Transaction;

/**
 * The queries of `settings` and `membership_categories` (owned by settings, see
 * server/db/ownership.ts). Only SettingsService calls these.
 */

export async function settingRow(q: Q, key: string): Promise<SettingRow | undefined> {
  return q('settings').where({ key }).first();
}

/** Writes the value (JSON text) under the key, adding the row if there is none. */
export async function putSetting(q: Q, key: string, value: string, now: string): Promise<void> {
  const exists = await settingRow(q, key);
  if (exists) await q('settings').where({ key }).update({ value, updated_at: now });
  else await q('settings').insert({ key, value, updated_at: now });
}

/** Adds the row unless the key exists (another process may add it at the same time); true when this call added it. */
export async function insertSettingIfMissing(q: Q, key: string, value: string, now: string): Promise<boolean> {
  const rows = await q('settings').insert({ key, value, updated_at: now }).onConflict('key').ignore().returning('key');
  return rows.length > 0;
}

export async function categoryRows(q: Q): Promise<MembershipCategoryRow[]> {
  return q('membership_categories').orderBy([{ column: 'sort_order' }, { column: 'id' }]);
}

export async function categoryRow(q: Q, id: number): Promise<MembershipCategoryRow | undefined> {
  return q('membership_categories').where({ id }).first();
}

export async function categoryRowByCode(q: Q, code: string): Promise<MembershipCategoryRow | undefined> {
  return q('membership_categories').where({ code }).first();
}

export type CategoryValues = Omit<MembershipCategoryRow, 'id'>;

export async function insertCategory(q: Q, row: CategoryValues): Promise<number> {
  return insertId(q, 'membership_categories', row);
}

export async function updateCategory(q: Q, id: number, row: CategoryValues): Promise<void> {
  await q('membership_categories').where({ id }).update(row);
}
