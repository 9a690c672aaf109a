import type { Knex } from 'knex';
import { affected, insertId } from '../db/knex.ts';
import type { RequestableField } from './portal.schemas.ts';
import type { ChangeRequestRow, ChangeRequestStatus } from './portal.tables.ts';

/**
 * Queries on organisation_change_requests (the member contacts' requests to change their
 * organisation's register data); nothing else touches it. The organisation's name and
 * number come from the register's service (portal.service.ts).
 */

type Db = Knex | Knex.Transaction;

export type { ChangeRequestStatus };

/** A request as stored: what was asked, by whom, and the decision. */
export interface StoredChangeRequest {
  id: number;
  organisationId: number;
  requestedByUserId: number | null;
  requestedByLabel: string;
  changes: Partial<Record<RequestableField, string>>;
  previous: Partial<Record<RequestableField, string>>;
  status: ChangeRequestStatus;
  decidedBy: number | null;
  decidedByLabel: string | null;
  decidedAt: string | null;
  decisionNote: string | null;
  createdAt: string;
}

/** The JSON of a request's fields (written by insertRequest from requestable fields only). */
function fields(json: string): Partial<Record<RequestableField, string>> {
  return JSON.parse(json) as Partial<Record<RequestableField, string>>; // why: only insertRequest writes it, from a value of this type
}

function rowToRequest(r: ChangeRequestRow): StoredChangeRequest {
  return {
    id: Number(r.id),
    organisationId: Number(r.organisation_id),
    requestedByUserId: r.requested_by_user_id == null ? null : Number(r.requested_by_user_id),
    requestedByLabel: r.requested_by_label ?? '',
    changes: fields(r.changes),
    previous: fields(r.previous),
    status: r.status,
    decidedBy: r.decided_by == null ? null : Number(r.decided_by),
    decidedByLabel: r.decided_by_label ?? null,
    decidedAt: r.decided_at ?? null,
    decisionNote: r.decision_note ?? null,
    createdAt: r.created_at,
  };
}

export async function insertRequest(
  trx: Knex.Transaction,
  r: { organisationId: number; requestedByUserId: number | null; requestedByLabel: string; changes: Partial<Record<RequestableField, string>>; previous: Partial<Record<RequestableField, string>>; createdAt: string },
): Promise<number> {
  const row: Omit<ChangeRequestRow, 'id' | 'decided_by' | 'decided_by_label' | 'decided_at' | 'decision_note'> = {
    organisation_id: r.organisationId,
    requested_by_user_id: r.requestedByUserId,
    requested_by_label: r.requestedByLabel,
    changes: JSON.stringify(r.changes),
    previous: JSON.stringify(r.previous),
    status: 'pending',
    created_at: r.createdAt,
  };
  return insertId(trx, 'organisation_change_requests', row);
}

export async function findById(q: Db, id: number): Promise<StoredChangeRequest | undefined> {
  const r = await q('organisation_change_requests').where({ id }).first();
  return r ? rowToRequest(r) : undefined;
}

/** One request of the organisation (another organisation's request is not found). */
export async function findOfOrganisation(q: Db, organisationId: number, id: number): Promise<StoredChangeRequest | undefined> {
  const r = await q('organisation_change_requests').where({ id, organisation_id: organisationId }).first();
  return r ? rowToRequest(r) : undefined;
}

/** The organisation's latest requests, newest first. */
export async function latestOfOrganisation(q: Db, organisationId: number, limit: number): Promise<StoredChangeRequest[]> {
  return (await q('organisation_change_requests').where({ organisation_id: organisationId }).orderBy('id', 'desc').limit(limit)).map(rowToRequest);
}

/** Every pending request, oldest first. */
export async function pending(q: Db): Promise<StoredChangeRequest[]> {
  return (await q('organisation_change_requests').where({ status: 'pending' }).orderBy('id', 'asc')).map(rowToRequest);
}

/** The latest decided (or withdrawn) requests, newest decision first. */
export async function latestDecided(q: Db, limit: number): Promise<StoredChangeRequest[]> {
  return (await q('organisation_change_requests').whereNot({ status: 'pending' }).orderBy('decided_at', 'desc').orderBy('id', 'desc').limit(limit)).map(rowToRequest);
}

export async function countPending(q: Db): Promise<number> {
  const [{ n }] = await q('organisation_change_requests').where({ status: 'pending' }).count({ n: '*' });
  return Number(n);
}

/**
 * Records a decision (or a withdrawal) only while the request is pending (and, when given,
 * belongs to the organisation). False: it was decided meanwhile, nothing was written.
 */
export async function decideIfPending(
  trx: Knex.Transaction,
  where: { id: number; organisationId?: number },
  decision: { status: Exclude<ChangeRequestStatus, 'pending'>; decidedBy: number | null; decidedByLabel: string; decidedAt: string; decisionNote?: string | null },
): Promise<boolean> {
  const query = trx('organisation_change_requests').where({ id: where.id, status: 'pending' });
  if (where.organisationId !== undefined) query.andWhere({ organisation_id: where.organisationId });
  const changes: Partial<ChangeRequestRow> = {
    status: decision.status, decided_by: decision.decidedBy, decided_by_label: decision.decidedByLabel, decided_at: decision.decidedAt,
  };
  if (decision.decisionNote !== undefined) changes.decision_note = decision.decisionNote;
  return affected(await query.update(changes)) === 1;
}
