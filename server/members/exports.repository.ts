import type { Knex } from 'knex';
import { insertId, likeEscape } from '../db/knex.ts';
import type { ContactRow, ExportLogRow, OrganisationRow } from './members.tables.ts';

/** The member list's exports: the filtered organisations page by page, their contacts, and the export log. */

/** An export's filter as the queries need it (a category code already resolved to ids by the service). */
export interface ExportQueryFilter {
  q?: string;
  status?: string;
  categoryIds?: number[];
  year?: number;
}

export const EXPORT_COLUMNS = [
  'o.id', 'o.member_number', 'o.legal_name', 'o.legal_form', 'o.street', 'o.postcode', 'o.city', 'o.country', 'o.vat_id',
  'o.category_id', 'o.employee_band', 'o.join_date', 'o.status', 'o.exit_date',
] as const;
export type ExportOrganisationRow = Pick<OrganisationRow, 'id' | 'member_number' | 'legal_name' | 'legal_form' | 'street' | 'postcode' | 'city' | 'country' | 'vat_id' | 'category_id' | 'employee_band' | 'join_date' | 'status' | 'exit_date'>;
export type ExportContactRow = Pick<ContactRow, 'organisation_id' | 'name' | 'email' | 'phone' | 'is_representative' | 'is_billing'>;

/** Adds the filter's conditions to a query on `organisations as o`. */
function applyFilter(db: Knex, qb: Knex.QueryBuilder, f: ExportQueryFilter): Knex.QueryBuilder {
  if (f.status === 'current') qb.whereIn('o.status', ['active', 'notice_given']);
  else if (f.status) qb.where('o.status', f.status);
  if (f.categoryIds) qb.whereIn('o.category_id', f.categoryIds);
  if (f.year) qb.whereBetween('o.join_date', [`${f.year}-01-01`, `${f.year}-12-31`]);
  if (f.q) {
    const like = `%${likeEscape(f.q.toLowerCase())}%`;
    const num = /^(?:m-?)?0*(\d{1,9})$/i.exec(f.q);
    qb.where((w) => {
      w.whereRaw("o.name_key like ? escape '\\'", [like])
        .orWhereRaw("lower(o.city) like ? escape '\\'", [like])
        .orWhereExists((c) => c.select(db.raw('1')).from('contacts as c').whereRaw('c.organisation_id = o.id')
          .andWhere((x) => x.whereRaw("lower(c.name) like ? escape '\\'", [like]).orWhereRaw("lower(c.email) like ? escape '\\'", [like])));
      if (num) w.orWhere('o.member_number', Number(num[1]));
    });
  }
  return qb;
}

export async function countForExport(db: Knex, f: ExportQueryFilter): Promise<number> {
  const [{ n }] = await applyFilter(db, db('organisations as o'), f).count({ n: '*' });
  return Number(n);
}

/** The next `limit` organisations after member number `after`, in member-number order (keyset). */
export function exportPage(db: Knex, f: ExportQueryFilter, after: number, limit: number): Promise<ExportOrganisationRow[]> {
  return applyFilter(db, db('organisations as o'), f)
    .where('o.member_number', '>', after)
    .orderBy('o.member_number')
    .limit(limit)
    .select(...EXPORT_COLUMNS);
}

/** The representatives and billing contacts of these organisations. */
export function exportContacts(db: Knex, organisationIds: number[]): Promise<ExportContactRow[]> {
  return db('contacts')
    .whereIn('organisation_id', organisationIds)
    .andWhere((w) => w.where('is_representative', true).orWhere('is_billing', true))
    .orderBy('id')
    .select('organisation_id', 'name', 'email', 'phone', 'is_representative', 'is_billing');
}

export function insertExportLog(q: Knex | Knex.Transaction, row: Omit<ExportLogRow, 'id' | 'member_ids' | 'completed_at'>): Promise<number> {
  return insertId(q, 'export_log', { ...row });
}

export async function completeExportLog(db: Knex, id: number, values: Pick<ExportLogRow, 'member_ids' | 'row_count' | 'completed_at'>): Promise<void> {
  await db('export_log').where({ id }).update(values);
}

/** The export log, newest first. */
export function exportLogPage(db: Knex, limit: number, beforeId?: number): Promise<ExportLogRow[]> {
  const q = db('export_log').orderBy('id', 'desc').limit(limit);
  if (beforeId) q.where('id', '<', beforeId);
  return q;
}

// h/gdpr: to whom the organisation's data was disclosed (Art. 15(1)(c)): the logged exports that held it
export async function exportsNaming(q: Knex | Knex.Transaction, organisationId: number, limit = 10_000): Promise<Record<string, unknown>[]> {
  const id = String(organisationId);
  return q('export_log').where((w) => w.where('member_ids', `[${id}]`).orWhere('member_ids', 'like', `[${id},%`).orWhere('member_ids', 'like', `%,${id},%`).orWhere('member_ids', 'like', `%,${id}]`))
    .orderBy('id').limit(limit).select('id', 'at', 'actor_label', 'format', 'purpose', 'row_count', 'completed_at');
}
