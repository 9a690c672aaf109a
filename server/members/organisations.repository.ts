import type { Knex } from 'knex';
import { affected, insertId } from '../db/knex.ts';
import type { ContactRow, MembershipHistoryRow, OrganisationRow } from './members.tables.ts';

/**
 * Reads and writes of single organisations, their contacts and their membership history (the
 * register list and search are in members.repository.ts). Every function takes the database
 * or the caller's transaction: inside a transaction every query must run on it (SQLite has one
 * connection; the global db would wait for it forever).
 */
type Q = Knex | Knex.Transaction;

export type NewOrganisationRow = Omit<OrganisationRow, 'id' | 'exit_date' | 'exit_reason' | 'exit_reference' | 'notes' | 'public_body' | 'leitweg_id' | 'einvoice_format'>; // h/einvoice: the e-invoice columns start at their defaults
export type NewContactRow = Omit<ContactRow, 'id'>;
export type NewHistoryRow = Omit<MembershipHistoryRow, 'id'>;

export async function maxMemberNumber(q: Q): Promise<number> {
  const r = await q('organisations').max({ m: 'member_number' }).first();
  return Number(r?.m ?? 0);
}

export function insertOrganisation(q: Q, row: NewOrganisationRow): Promise<number> {
  return insertId(q, 'organisations', { ...row });
}

export function organisationRow(q: Q, id: number): Promise<OrganisationRow | undefined> {
  return q('organisations').where({ id }).first();
}

/** `update … where id = ? and version = ?`: the number of rows changed (0: someone else saved first). */
export async function updateOrganisationAtVersion(q: Q, id: number, version: number, values: Partial<OrganisationRow>): Promise<number> {
  return affected(await q('organisations').where({ id, version }).update(values));
}

/** Ids of members whose notice period ran out before `today` (an index range on (status, exit_date)). */
export async function dueExitIds(q: Q, today: string): Promise<number[]> {
  return (await q('organisations').where('status', 'notice_given').andWhere('exit_date', '<', today).select('id')).map((r) => Number(r.id));
}

/** The organisation if its exit is still due (checked again inside the exiting transaction). */
export function dueExitRow(q: Q, id: number, today: string): Promise<OrganisationRow | undefined> {
  return q('organisations').where({ id, status: 'notice_given' }).andWhere('exit_date', '<', today).first();
}

export async function insertHistory(q: Q, row: NewHistoryRow): Promise<void> {
  await q('membership_history').insert(row);
}

/**
 * An organisation's history, newest first, with the name of who recorded each entry:
 * `createdByName` is the owner's (auth) subquery for a user's display name, so it stays one query.
 */
export function historyOf(q: Q, organisationId: number, createdByName: Knex.QueryBuilder): Promise<(MembershipHistoryRow & { display_name: string | null })[]> {
  return q('membership_history as h')
    .where('h.organisation_id', organisationId)
    .orderBy([{ column: 'h.effective_date', order: 'desc' }, { column: 'h.id', order: 'desc' }])
    .select('h.*', createdByName.as('display_name'));
}

export function insertContact(q: Q, row: NewContactRow): Promise<number> {
  return insertId(q, 'contacts', { ...row });
}

export function contactsOf(q: Q, organisationId: number): Promise<ContactRow[]> {
  return q('contacts').where({ organisation_id: organisationId }).orderBy([{ column: 'is_representative', order: 'desc' }, { column: 'id' }]);
}

export function contactOf(q: Q, organisationId: number, contactId: number): Promise<ContactRow | undefined> {
  return q('contacts').where({ id: contactId, organisation_id: organisationId }).first();
}

/** The organisation's voting representatives other than `exceptId` (normally at most one). */
export function representativesOf(q: Q, organisationId: number, exceptId: number | null): Promise<ContactRow[]> {
  return q('contacts').where({ organisation_id: organisationId, is_representative: true }).modify((b) => { if (exceptId) b.whereNot('id', exceptId); });
}

export async function updateContact(q: Q, id: number, values: Partial<ContactRow>): Promise<void> {
  await q('contacts').where({ id }).update(values);
}

/** `update … where id = ? and version = ?`: the number of rows changed. */
export async function updateContactAtVersion(q: Q, id: number, version: number, values: Partial<ContactRow>): Promise<number> {
  return affected(await q('contacts').where({ id, version }).update(values));
}

export async function deleteContact(q: Q, id: number): Promise<void> {
  await q('contacts').where({ id }).delete();
}

/** Whether a portal account still acts for any organisation. */
export async function userHasContact(q: Q, userId: number): Promise<boolean> {
  return !!(await q('contacts').where({ user_id: userId }).first('id'));
}

/**
 * Members on a date (YYYY-MM-DD): joined on or before it, last day of membership not before
 * it, and not in a gap between an exit and a reactivation (the latest status row of the
 * history on or before the date is not 'former'). With `votingCategoryIds`, only those whose
 * category valid on that date (the latest category row of the history, else the current one)
 * is among them.
 */
export async function countMembersOn(db: Knex, date: string, votingCategoryIds?: number[]): Promise<number> {
  const q = membersOn(db, date);
  if (votingCategoryIds) {
    const categoryOn = db('membership_history as hc')
      .select('hc.category_id')
      .whereRaw('hc.organisation_id = o.id')
      .whereNotNull('hc.category_id')
      .where('hc.effective_date', '<=', date)
      .orderBy([{ column: 'hc.effective_date', order: 'desc' }, { column: 'hc.id', order: 'desc' }])
      .limit(1);
    if (!votingCategoryIds.length) return 0;
    q.whereRaw(`coalesce((?), o.category_id) in (${votingCategoryIds.map(() => '?').join(', ')})`, [categoryOn, ...votingCategoryIds]);
  }
  const [{ n }] = await q.count({ n: '*' });
  return Number(n);
}

/** The organisations (`o`) that are members on `date`: the one test countMembersOn and memberIdsAmong share. */
function membersOn(db: Knex, date: string) {
  const statusOn = db('membership_history as hs')
    .select('hs.status')
    .whereRaw('hs.organisation_id = o.id')
    .whereNotNull('hs.status')
    .where('hs.effective_date', '<=', date)
    .orderBy([{ column: 'hs.effective_date', order: 'desc' }, { column: 'hs.id', order: 'desc' }])
    .limit(1);
  return db('organisations as o')
    .where('o.join_date', '<=', date)
    .andWhere((w) => w.whereNull('o.exit_date').orWhere('o.exit_date', '>=', date))
    .andWhere(db.raw("coalesce((?), 'active')", [statusOn]), '<>', 'former');
}

// h/demand: the minority demand (§ 37 BGB) counts only the supporters that are members today
/** Of the organisations `ids`, those that are members on `date` (the same test as countMembersOn). */
export async function memberIdsAmong(db: Knex, date: string, ids: number[]): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < ids.length; i += 500) {
    const rows: { id: number }[] = await membersOn(db, date).whereIn('o.id', ids.slice(i, i + 500)).select('o.id');
    out.push(...rows.map((r) => Number(r.id)));
  }
  return out;
}

/** What the import compares a row with to find duplicates. */
export type DuplicateCandidate = Pick<OrganisationRow, 'id' | 'member_number' | 'legal_name' | 'name_key' | 'postcode' | 'vat_id'>;

/** Organisations with one of these member numbers, VAT IDs or name keys (500 values per query). */
export async function duplicateCandidates(q: Q, by: { memberNumbers: number[]; vatIds: string[]; nameKeys: string[] }): Promise<DuplicateCandidate[]> {
  const chunk = <T,>(xs: T[]) => Array.from({ length: Math.ceil(xs.length / 500) }, (_, i) => xs.slice(i * 500, i * 500 + 500));
  const cols = ['id', 'member_number', 'legal_name', 'name_key', 'postcode', 'vat_id'] as const;
  const out: DuplicateCandidate[] = [];
  for (const part of chunk(by.memberNumbers)) out.push(...(await q('organisations').whereIn('member_number', part).select(...cols)));
  for (const part of chunk(by.vatIds)) out.push(...(await q('organisations').whereIn('vat_id', part).select(...cols)));
  for (const part of chunk(by.nameKeys)) out.push(...(await q('organisations').whereIn('name_key', part).select(...cols)));
  return out;
}

export function contactById(q: Q, id: number): Promise<ContactRow | undefined> {
  return q('contacts').where({ id }).first();
}

// h/groups: contacts by id and by e-mail address, for the working groups
/** The contacts with these ids (unknown ids are left out). */
export async function contactRowsByIds(q: Q, ids: number[]): Promise<ContactRow[]> {
  const out: ContactRow[] = [];
  for (let i = 0; i < ids.length; i += 500) out.push(...(await q('contacts').whereIn('id', ids.slice(i, i + 500))));
  return out;
}

/** The contacts with this e-mail address (compared without regard to case). */
export async function contactRowsByEmail(q: Q, email: string): Promise<ContactRow[]> {
  return q('contacts').whereRaw('lower(email) = ?', [email.trim().toLowerCase()]).orderBy('id');
}
// h/groups: end
