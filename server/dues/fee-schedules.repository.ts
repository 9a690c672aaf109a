import type { Knex } from 'knex';
import { feeRuleSchema, type FeeRule } from '../settings/settings.schemas.ts';
import type { ProRataRule } from './fees.ts';
import type { FeeScheduleRow } from './dues.tables.ts';

/** Every query on `fee_schedules` (owner: dues): the fee rules of a year, frozen. */

type Q = Knex | Knex.Transaction;

export interface FeeScheduleEntry {
  categoryId: number;
  nameDe: string;
  nameEn: string;
  rule: FeeRule;
  proRata: ProRataRule;
  createdAt: string;
}

function rowToEntry(r: FeeScheduleRow): FeeScheduleEntry {
  return {
    categoryId: Number(r.category_id),
    nameDe: r.category_name_de,
    nameEn: r.category_name_en,
    rule: feeRuleSchema.parse(JSON.parse(r.rule)),
    proRata: r.pro_rata === 'full_year' ? 'full_year' : 'monthly',
    createdAt: r.created_at,
  };
}

/** The schedule of a year, by category. */
export async function feeSchedule(q: Q, year: number): Promise<FeeScheduleEntry[]> {
  return (await q('fee_schedules').where({ year }).orderBy('category_id')).map(rowToEntry);
}

/** The years that have a schedule, newest first. */
export async function scheduleYears(q: Q): Promise<number[]> {
  return (await q('fee_schedules').distinct('year').orderBy('year', 'desc')).map((r) => Number(r.year));
}

/** Replaces the schedule of a year by these rows (inside the caller's transaction). */
export async function replaceSchedule(trx: Knex.Transaction, year: number, rows: Omit<FeeScheduleRow, 'id' | 'year'>[]): Promise<void> {
  await trx('fee_schedules').where({ year }).del();
  for (const r of rows) await trx('fee_schedules').insert({ ...r, year });
}
