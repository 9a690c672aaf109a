import type { Knex } from 'knex';
import { insertId } from '../db/knex.ts';
import type { DuesRunRow } from './dues.tables.ts';

/** Every query on `dues_runs` (owner: dues): which job issues which year's invoices. */

type Q = Knex | Knex.Transaction;

export interface DuesRun {
  id: number;
  year: number;
  jobId: number;
  createdAt: string;
}

function rowToRun(r: DuesRunRow): DuesRun {
  return { id: Number(r.id), year: Number(r.year), jobId: Number(r.job_id), createdAt: r.created_at };
}

export async function getRun(q: Q, id: number): Promise<DuesRun | undefined> {
  const r = await q('dues_runs').where({ id }).first();
  return r ? rowToRun(r) : undefined;
}

/** The run a job belongs to. */
export async function runIdOfJob(q: Q, jobId: number): Promise<number | undefined> {
  const r = await q('dues_runs').where({ job_id: jobId }).first('id');
  return r ? Number(r.id) : undefined;
}

export async function insertRun(q: Q, row: Omit<DuesRunRow, 'id'>): Promise<number> {
  return insertId(q, 'dues_runs', { ...row });
}

/** The runs of a year, newest first. */
export async function runsOfYear(q: Q, year: number): Promise<DuesRun[]> {
  return (await q('dues_runs').where({ year }).orderBy('id', 'desc')).map(rowToRun);
}
