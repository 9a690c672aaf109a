import type { Knex } from 'knex';
import type { AuditLogRow } from './audit.tables.ts';
import { likeEscape } from '../db/knex.ts';
import { ANONYMISED, holdsTerm, redactJsonText, type DataSubject } from '../db/redact.ts';

type Q = Knex | Knex.Transaction;

/**
 * The queries of `audit_log` (owned by audit, see server/db/ownership.ts). Rows are inserted,
 * never deleted; the only update empties an entry's before/after values once their retention
 * period has passed (the entry itself stays). Only AuditService calls these.
 */

export async function insertAuditRow(q: Q, row: Omit<AuditLogRow, 'id'>): Promise<void> {
  await q('audit_log').insert(row);
}

/** Several entries in multi-row inserts of 500 (within the databases' variable limits). */
export async function insertAuditRows(q: Q, rows: Omit<AuditLogRow, 'id'>[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) await q('audit_log').insert(rows.slice(i, i + 500));
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

/* ───────────── h/gdpr: anonymisation (Art. 17) ───────────── */

/** Keys whose values are a person's data in the before/after values of the subject's own entries. */
const PERSONAL_KEYS: ReadonlySet<string> = new Set([
  'name', 'email', 'phone', 'position', 'street', 'names', 'contactName', 'contactEmail', 'personName', 'submittedBy', 'to', 'toAddress', 'cc',
  'postalAddress', 'displayName', 'answeredName', 'sentTo', 'requestedByLabel', 'recipientStreet', 'chairName', 'minuteTakerName',
]);

/**
 * The entries stay; their personal values become the placeholder: in the entries about the
 * subject's organisation, contacts, applications and accounts (and those naming the
 * organisation's id) every personal key and every known value; in any other entry every known
 * value (e.g. a name in a board member's note); the label of entries the contacts made themselves.
 * Returns how many entries changed.
 */
export async function anonymiseAuditEntries(trx: Knex.Transaction, s: DataSubject): Promise<number> {
  const refs = [
    { entityType: 'organisation', ids: [s.organisationId] }, { entityType: 'contact', ids: s.contactIds },
    { entityType: 'application', ids: s.applicationIds }, { entityType: 'user', ids: s.userIds },
  ].flatMap((r) => chunks(r.ids, 500).map((ids) => ({ entityType: r.entityType, ids })));
  const orgMarks = [`%"organisationId":${s.organisationId},%`, `%"organisationId":${s.organisationId}}%`];
  const own = (qb: Knex.QueryBuilder) => qb.where((w) => {
    for (const p of refs) w.orWhere((x) => x.where('entity_type', p.entityType).whereIn('entity_id', p.ids));
    for (const m of orgMarks) w.orWhere('before', 'like', m).orWhere('after', 'like', m);
  });
  const rows: AuditLogRow[] = await own(trx('audit_log')).orderBy('id');
  const ownIds = new Set(rows.map((r) => Number(r.id)));
  let n = 0;
  const rewrite = async (r: AuditLogRow, keys?: ReadonlySet<string>) => {
    const before = r.before === null ? null : redactJsonText(r.before, s.terms, keys);
    const after = r.after === null ? null : redactJsonText(r.after, s.terms, keys);
    const byContact = (r.actor_user_id !== null && s.userIds.includes(Number(r.actor_user_id))) || holdsTerm(r.actor_label, s.terms);
    const actorLabel = byContact ? ANONYMISED : r.actor_label;
    if (before === r.before && after === r.after && actorLabel === r.actor_label) return;
    await trx('audit_log').where({ id: r.id }).update({ before, after, actor_label: actorLabel });
    n++;
  };
  for (const r of rows) await rewrite(r, PERSONAL_KEYS);
  // any other entry holding a known value, or made by one of the contacts
  if (s.terms.length || s.userIds.length) {
    const others: AuditLogRow[] = await trx('audit_log').where((w) => {
      for (const t of s.terms) {
        const like = `%${likeEscape(t)}%`;
        w.orWhereRaw("before like ? escape '\\'", [like]).orWhereRaw("after like ? escape '\\'", [like]).orWhereRaw("actor_label like ? escape '\\'", [like]);
      }
      for (const ids of chunks(s.userIds, 500)) w.orWhereIn('actor_user_id', ids);
    }).orderBy('id');
    for (const r of others) if (!ownIds.has(Number(r.id))) await rewrite(r);
  }
  return n;
}
