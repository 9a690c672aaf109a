import type { Knex } from 'knex';
import { insertId } from '../db/knex.ts';
import type { RetentionRunRow } from './retention.tables.ts';

type Q = Knex | Knex.Transaction;

/** The queries of `retention_runs` (owned by retention). Only RetentionService calls these. */

export async function insertRun(q: Q, row: Omit<RetentionRunRow, 'id' | 'finished_at' | 'error'>): Promise<number> {
  return insertId(q, 'retention_runs', row);
}

export async function finishRun(q: Q, id: number, values: Pick<RetentionRunRow, 'status' | 'counts' | 'finished_at' | 'error'>): Promise<void> {
  await q('retention_runs').where({ id }).update(values);
}

export async function recentRuns(q: Q, limit: number): Promise<RetentionRunRow[]> {
  return q('retention_runs').orderBy('id', 'desc').limit(limit);
}

export async function runById(q: Q, id: number): Promise<RetentionRunRow | undefined> {
  return q('retention_runs').where({ id }).first();
}

export async function runOfDay(q: Q, day: string): Promise<RetentionRunRow | undefined> {
  return q('retention_runs').where({ run_day: day }).first();
}

/** Runs left 'running' by a process that stopped (a crash): marked interrupted; their work is redone by the next run. */
export async function markInterrupted(q: Q, startedBefore: string, now: string): Promise<number> {
  return q('retention_runs').where({ status: 'running' }).andWhere('started_at', '<', startedBefore).update({ status: 'interrupted', finished_at: now });
}
