import type { Knex } from 'knex';
import { affected, insertId, likeEscape } from '../db/knex.ts';
import type { JobRow } from './jobs.tables.ts';
import { redactTermsIn } from '../db/redact.ts'; // h/gdpr

type Q = Knex | Knex.Transaction;

/** The queries of `jobs` (owned by jobs, see server/db/ownership.ts). Only JobsService calls these. */

export async function jobRow(q: Q, id: number): Promise<JobRow | undefined> {
  return q('jobs').where({ id }).first();
}

export async function jobRowByKey(q: Q, uniqueKey: string): Promise<JobRow | undefined> {
  return q('jobs').where({ unique_key: uniqueKey }).first();
}

export async function insertJob(q: Q, row: Omit<JobRow, 'id' | 'result' | 'error' | 'locked_until'>): Promise<number> {
  return insertId(q, 'jobs', row);
}

export async function updateJob(q: Q, id: number, values: Partial<Omit<JobRow, 'id'>>): Promise<void> {
  await q('jobs').where({ id }).update(values);
}

/** Running with an expired (or no) lock, or still queued. */
function claimable(query: Knex.QueryBuilder<JobRow>, now: string): void {
  // h/money2: a queued job that is to try again later waits for its run_after
  query.where((w) => w.where((q) => q.where('status', 'queued').andWhere((r) => r.whereNull('run_after').orWhere('run_after', '<=', now))).orWhere((w2) => w2.where('status', 'running').andWhere((w3) => w3.whereNull('locked_until').orWhere('locked_until', '<', now))));
}

/** Moves the job to running under this process's lock if nobody holds it; true when this call did. */
export async function claimJob(q: Q, id: number, now: string, lockedUntil: string): Promise<boolean> {
  const query = q('jobs').where({ id });
  claimable(query, now);
  return affected(await query.update({ status: 'running', locked_until: lockedUntil, updated_at: now })) === 1;
}

/** Jobs nobody works on (queued, or running with an expired lock), oldest first. */
export async function claimableJobs(q: Q, now: string): Promise<JobRow[]> {
  const query = q('jobs');
  claimable(query, now);
  return query.orderBy('id');
}

/** Jobs of a kind whose payload (JSON text) starts with the given text, newest first. */
export async function jobsByPayloadPrefix(q: Q, kind: string, prefix: string): Promise<JobRow[]> {
  return q('jobs').where('kind', kind).andWhereRaw("payload like ? escape '\\'", [`${likeEscape(prefix)}%`]).orderBy('id', 'desc');
}

export async function jobRowsByIds(q: Q, ids: number[]): Promise<JobRow[]> {
  if (!ids.length) return [];
  return q('jobs').whereIn('id', ids).orderBy('id');
}

// h/gdpr: the anonymisation's part of the jobs (a job's payload, result or error naming a contact)
export async function redactJobs(trx: Knex.Transaction, terms: string[]): Promise<void> {
  await redactTermsIn(trx, 'jobs', 'id', ['payload', 'result', 'error'], terms, { json: ['payload', 'result'] });
}
