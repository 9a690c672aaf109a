import type { Knex } from 'knex';
import type { AuditLogRow } from './audit.tables.ts';

type Q = Knex | Knex.Transaction;

/**
 * The queries of `audit_log` (owned by audit, see server/db/ownership.ts). Rows are inserted,
 * never deleted; the only update empties an entry's before/after values once their retention
 * period has passed (the entry itself stays). Only AuditService calls these.
 */

export async function insertAuditRow(q: Q, row: Omit<AuditLogRow, 'id'>): Promise<void> {
  await q('audit_log').insert(row);
}

export interface AuditFilter {
  entityType?: string;
  entityId?: number;
  action?: string;
  limit: number;
  beforeId?: number;
}

/** Newest first. */
export async function auditRows(q: Q, f: AuditFilter): Promise<AuditLogRow[]> {
  const query = q('audit_log').orderBy('id', 'desc').limit(f.limit);
  if (f.entityType) query.where('entity_type', f.entityType);
  if (f.entityId !== undefined) query.where('entity_id', f.entityId);
  if (f.action) query.where('action', f.action);
  if (f.beforeId) query.where('id', '<', f.beforeId);
  return query;
}

/** The entries of any of the given entities (type and ids), in id order. */
export async function auditRowsOfEntities(q: Q, refs: { entityType: string; ids: number[] }[], order: 'asc' | 'desc', limit: number): Promise<AuditLogRow[]> {
  const parts = refs.flatMap((r) => chunks(r.ids, 500).map((ids) => ({ entityType: r.entityType, ids })));
  if (!parts.length) return [];
  return q('audit_log')
    .where((w) => {
      for (const p of parts) w.orWhere((x) => x.where('entity_type', p.entityType).whereIn('entity_id', p.ids));
    })
    .orderBy('id', order)
    .limit(limit);
}

export async function auditEntityTypes(q: Q): Promise<string[]> {
  const rows: { entity_type: string }[] = await q('audit_log').distinct('entity_type').orderBy('entity_type');
  return rows.map((r) => r.entity_type);
}

function chunks<T>(xs: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

/* ───────────── retention ───────────── */

/** Entities whose entries belong to the books (§ 147 AO: 10 years). */
export const BOOK_ENTITY_TYPES = ['invoice', 'payment', 'fee_schedule', 'dues_run'];

function detailsPastRetention(q: Q, cutoffs: { other: string; books: string }) {
  return q('audit_log')
    .where((w) => w.whereNotNull('before').orWhereNotNull('after'))
    .where((w) => w
      .where((x) => x.whereNotIn('entity_type', BOOK_ENTITY_TYPES).andWhere('at', '<', cutoffs.other))
      .orWhere((x) => x.whereIn('entity_type', BOOK_ENTITY_TYPES).andWhere('at', '<', cutoffs.books)));
}

export async function countAuditDetailsPastRetention(q: Q, cutoffs: { other: string; books: string }): Promise<number> {
  const [{ n }] = await detailsPastRetention(q, cutoffs).count({ n: '*' });
  return Number(n);
}

export async function auditIdsPastRetention(q: Q, cutoffs: { other: string; books: string }, limit: number): Promise<number[]> {
  return (await detailsPastRetention(q, cutoffs).orderBy('id').limit(limit).pluck('id')).map(Number);
}

export async function emptyAuditDetails(q: Q, ids: number[]): Promise<void> {
  if (ids.length) await q('audit_log').whereIn('id', ids).update({ before: null, after: null });
}
