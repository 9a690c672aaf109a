import type { Knex } from 'knex';
import { affected, insertId } from '../db/knex.ts';
import type { DemandRow, DemandStatus, DemandSupportRow } from './demands.tables.ts';

/**
 * Queries on minority_demands and minority_demand_supports; nothing else touches them. The
 * organisations' names and whether they are members come from the register's service.
 */

type Db = Knex | Knex.Transaction;

export interface StoredDemand {
  id: number;
  organisationId: number;
  contactId: number | null;
  userId: number | null;
  actorLabel: string;
  purpose: string;
  reasons: string;
  status: DemandStatus;
  reachedAt: string | null;
  assemblyId: number | null;
  agendaItemIds: number[];
  rejectionReason: string | null;
  decidedByLabel: string | null;
  decidedAt: string | null;
  createdAt: string;
  version: number;
}

export interface StoredSupport {
  demandId: number;
  organisationId: number;
  actorLabel: string;
  createdAt: string;
  withdrawnAt: string | null;
}

function itemIds(json: string | null): number[] {
  if (!json) return [];
  const v: unknown = JSON.parse(json);
  return Array.isArray(v) ? v.map(Number).filter((n) => Number.isSafeInteger(n)) : [];
}

function rowToDemand(r: DemandRow): StoredDemand {
  return {
    id: Number(r.id),
    organisationId: Number(r.organisation_id),
    contactId: r.contact_id == null ? null : Number(r.contact_id),
    userId: r.user_id == null ? null : Number(r.user_id),
    actorLabel: r.actor_label,
    purpose: r.purpose,
    reasons: r.reasons,
    status: r.status,
    reachedAt: r.reached_at ?? null,
    assemblyId: r.assembly_id == null ? null : Number(r.assembly_id),
    agendaItemIds: itemIds(r.agenda_item_ids),
    rejectionReason: r.rejection_reason ?? null,
    decidedByLabel: r.decided_by_label ?? null,
    decidedAt: r.decided_at ?? null,
    createdAt: r.created_at,
    version: Number(r.version),
  };
}

function rowToSupport(r: DemandSupportRow): StoredSupport {
  return { demandId: Number(r.demand_id), organisationId: Number(r.organisation_id), actorLabel: r.actor_label, createdAt: r.created_at, withdrawnAt: r.withdrawn_at ?? null };
}

export async function insertDemand(
  trx: Knex.Transaction,
  d: { organisationId: number; contactId: number | null; userId: number | null; actorLabel: string; purpose: string; reasons: string; createdAt: string },
): Promise<number> {
  return insertId(trx, 'minority_demands', {
    organisation_id: d.organisationId, contact_id: d.contactId, user_id: d.userId, actor_label: d.actorLabel.slice(0, 200),
    purpose: d.purpose, reasons: d.reasons, status: 'open', created_at: d.createdAt, version: 1,
  });
}

export async function demandById(q: Db, id: number, forUpdate = false): Promise<StoredDemand | undefined> {
  const query = q('minority_demands').where({ id }).first();
  if (forUpdate && q.client.config.client === 'pg') query.forUpdate();
  const r = await query;
  return r ? rowToDemand(r) : undefined;
}

export async function demands(q: Db, statuses?: DemandStatus[]): Promise<StoredDemand[]> {
  const query = q('minority_demands').orderBy('id', 'desc');
  if (statuses) query.whereIn('status', statuses);
  return (await query).map(rowToDemand);
}

/** Every support of these demands, withdrawn ones too (by time of support). */
export async function supportsOf(q: Db, demandIds: number[]): Promise<StoredSupport[]> {
  const out: StoredSupport[] = [];
  for (let i = 0; i < demandIds.length; i += 500) {
    const rows = await q('minority_demand_supports').whereIn('demand_id', demandIds.slice(i, i + 500)).orderBy([{ column: 'created_at' }, { column: 'id' }]);
    out.push(...rows.map(rowToSupport));
  }
  return out;
}

export async function supportOf(q: Db, demandId: number, organisationId: number): Promise<StoredSupport | undefined> {
  const r = await q('minority_demand_supports').where({ demand_id: demandId, organisation_id: organisationId }).first();
  return r ? rowToSupport(r) : undefined;
}

/**
 * The organisation supports the demand: a new row, or a withdrawn one made active again (one row
 * per demand and organisation; the unique index decides between two contacts of one organisation).
 * Returns false when it already supported it.
 */
export async function addSupport(trx: Knex.Transaction, s: { demandId: number; organisationId: number; contactId: number | null; userId: number | null; actorLabel: string; at: string }): Promise<boolean> {
  const again = affected(await trx('minority_demand_supports')
    .where({ demand_id: s.demandId, organisation_id: s.organisationId }).whereNotNull('withdrawn_at')
    .update({ withdrawn_at: null, created_at: s.at, contact_id: s.contactId, user_id: s.userId, actor_label: s.actorLabel.slice(0, 200) }));
  if (again) return true;
  if (await supportOf(trx, s.demandId, s.organisationId)) return false;
  const inserted: unknown[] = await trx('minority_demand_supports')
    .insert({ demand_id: s.demandId, organisation_id: s.organisationId, contact_id: s.contactId, user_id: s.userId, actor_label: s.actorLabel.slice(0, 200), created_at: s.at })
    .onConflict(['demand_id', 'organisation_id']).ignore().returning('id');
  return inserted.length > 0;
}

/** Withdraws the organisation's active support; false when there was none. */
export async function withdrawSupport(trx: Knex.Transaction, demandId: number, organisationId: number, at: string): Promise<boolean> {
  return affected(await trx('minority_demand_supports').where({ demand_id: demandId, organisation_id: organisationId }).whereNull('withdrawn_at').update({ withdrawn_at: at })) > 0;
}

/** Marks the threshold as reached once; false when another request did it first. */
export async function markReached(trx: Knex.Transaction, id: number, at: string): Promise<boolean> {
  return affected(await trx('minority_demands').where({ id, status: 'open' }).whereNull('reached_at').update({ reached_at: at })) > 0;
}

/** The board's decision on an open demand at the version it saw; false when it changed meanwhile. */
export async function decide(
  trx: Knex.Transaction, id: number, version: number,
  d: { status: DemandStatus; assemblyId: number | null; agendaItemIds: number[] | null; rejectionReason: string | null; decidedBy: number | null; decidedByLabel: string; decidedAt: string },
): Promise<boolean> {
  return affected(await trx('minority_demands').where({ id, version }).whereIn('status', ['open', 'linked']).update({
    status: d.status, assembly_id: d.assemblyId, agenda_item_ids: d.agendaItemIds ? JSON.stringify(d.agendaItemIds) : null,
    rejection_reason: d.rejectionReason, decided_by: d.decidedBy, decided_by_label: d.decidedByLabel.slice(0, 200), decided_at: d.decidedAt, version: version + 1,
  })) > 0;
}
