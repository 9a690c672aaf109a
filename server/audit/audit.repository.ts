import type { Knex } from 'knex';
import type { AuditLogRow } from './audit.tables.ts';

type Q = Knex | Knex.Transaction;

/**
 * The queries of `audit_log` (owned by audit, see server/db/ownership.ts). Rows are inserted,
 * never updated or deleted. Only AuditService calls these.
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
