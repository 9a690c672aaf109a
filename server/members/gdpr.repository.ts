import type { Knex } from 'knex';
import { insertId, likeEscape } from '../db/knex.ts';
import { ANONYMISED, redactTermsIn, type DataSubject } from '../db/redact.ts'; // h/gdpr
import type { ConsentRecordRow, ContactRow, GdprAnonymisationRow, MembershipHistoryRow, OrganisationRow } from './members.tables.ts';

/** The GDPR side of the register: consent records, anonymisations, and the reads and writes on contacts they need. */
type Q = Knex | Knex.Transaction;

export function insertConsent(q: Q, row: Omit<ConsentRecordRow, 'id' | 'withdrawn_at'>): Promise<number> {
  return insertId(q, 'consent_records', { ...row });
}

export function consentById(q: Q, id: number): Promise<ConsentRecordRow | undefined> {
  return q('consent_records').where({ id }).first();
}

export async function withdrawConsent(q: Q, id: number, at: string): Promise<void> {
  await q('consent_records').where({ id }).update({ withdrawn_at: at });
}

/** Whether the contact still has a consent of this kind that was not withdrawn. */
export async function hasOpenConsent(q: Q, contactId: number, kind: string): Promise<boolean> {
  return !!(await q('consent_records').where({ contact_id: contactId, kind }).whereNull('withdrawn_at').first('id'));
}

/** The consent records of an organisation's contacts, newest first, with the contact's name. */
export function consentsOfOrganisation(q: Q, organisationId: number): Promise<(ConsentRecordRow & { contact_name: string })[]> {
  return q('consent_records as r')
    .join('contacts as c', 'c.id', 'r.contact_id')
    .where('c.organisation_id', organisationId)
    .orderBy([{ column: 'r.given_at', order: 'desc' }, { column: 'r.id', order: 'desc' }])
    .select('r.*', 'c.name as contact_name');
}

export function consentsOfContacts(q: Q, contactIds: number[]): Promise<ConsentRecordRow[]> {
  return contactIds.length ? q('consent_records').whereIn('contact_id', contactIds).orderBy('id') : Promise.resolve([]);
}

export function anonymisationOf(q: Q, organisationId: number): Promise<GdprAnonymisationRow | undefined> {
  return q('gdpr_anonymisations').where({ organisation_id: organisationId }).first();
}

export async function insertAnonymisation(q: Q, row: Omit<GdprAnonymisationRow, 'id'>): Promise<void> {
  await q('gdpr_anonymisations').insert(row);
}

/** The latest anonymisations, newest first. */
export function recentAnonymisations(q: Q): Promise<{ at: string; contacts_count: number; id: number; member_number: number; legal_name: string }[]> {
  return q('gdpr_anonymisations as g').join('organisations as o', 'o.id', 'g.organisation_id')
    .orderBy('g.id', 'desc').limit(20).select('g.at', 'g.contacts_count', 'o.id', 'o.member_number', 'o.legal_name');
}

/** Former (or leaving) members whose exit date is before `cutoff` and who are not anonymised yet, with their number of contacts. */
export function anonymisationCandidates(db: Knex, cutoff: string): Promise<(Pick<OrganisationRow, 'id' | 'member_number' | 'legal_name'> & { exit_date: string; contacts: number | string })[]> {
  return db('organisations as o')
    .whereNot('o.status', 'active')
    .whereNotNull('o.exit_date')
    .where('o.exit_date', '<', cutoff)
    .whereNotExists((q) => q.select(db.raw('1')).from('gdpr_anonymisations as g').whereRaw('g.organisation_id = o.id'))
    .orderBy('o.exit_date')
    .orderBy('o.member_number')
    .limit(1000)
    .select('o.id', 'o.member_number', 'o.legal_name', 'o.exit_date', db('contacts as c').count('*').whereRaw('c.organisation_id = o.id').as('contacts'));
}

/** Organisations by name or member number (at most 20). */
export function findOrganisations(q: Q, term: string): Promise<OrganisationRow[]> {
  const like = `%${likeEscape(term.toLowerCase())}%`;
  const num = /^(?:m-?)?0*(\d{1,9})$/i.exec(term);
  return q('organisations')
    .where((w) => { w.whereRaw("name_key like ? escape '\\'", [like]); if (num) w.orWhere('member_number', Number(num[1])); })
    .orderBy('member_number').limit(20);
}

export function contactsInIdOrder(q: Q, organisationId: number): Promise<ContactRow[]> {
  return q('contacts').where({ organisation_id: organisationId }).orderBy('id');
}

export function historyInIdOrder(q: Q, organisationId: number): Promise<MembershipHistoryRow[]> {
  return q('membership_history').where({ organisation_id: organisationId }).orderBy('id');
}

/** Whether the user acts for an organisation other than this one. */
export async function userHasOtherContact(q: Q, userId: number, organisationId: number): Promise<boolean> {
  return !!(await q('contacts').where({ user_id: userId }).whereNot({ organisation_id: organisationId }).first('id'));
}

/** Every contact of the organisation becomes a placeholder without address, phone, position, consent or portal account. */
export async function anonymiseContacts(q: Q, organisationId: number, placeholder: string, at: string): Promise<void> {
  await q('contacts').where({ organisation_id: organisationId }).update({
    name: placeholder, name_key: placeholder, email: '', phone: '', position: '', consent_email_invitations: false, user_id: null, updated_at: at,
  });
}

/* ───────────── h/gdpr: the register's part of a complete anonymisation ───────────── */

/**
 * The organisation's postal street goes from the register (the invoices keep theirs, a tax
 * record); its notes, its history's notes, the import files' rows and the export log's filters
 * lose the contacts' known values.
 */
export async function anonymiseRegisterTexts(trx: Knex.Transaction, s: DataSubject, at: string): Promise<void> {
  await trx('organisations').where({ id: s.organisationId }).update({ street: '', updated_at: at });
  await redactTermsIn(trx, 'organisations', 'id', ['notes'], s.terms, { scope: (qb) => qb.where({ id: s.organisationId }) });
  await redactTermsIn(trx, 'membership_history', 'id', ['note', 'reference'], s.terms, { scope: (qb) => qb.where({ organisation_id: s.organisationId }) });
  await redactTermsIn(trx, 'import_batches', 'id', ['rows'], s.terms, { json: ['rows'] });
  await redactTermsIn(trx, 'export_log', 'id', ['filter', 'purpose'], s.terms, { json: ['filter'] });
  if (s.userIds.length) await trx('export_log').whereIn('user_id', s.userIds).update({ actor_label: ANONYMISED });
}

/** h/gdpr: which of the values (lower case) a contact of another organisation, not anonymised, also has as name, e-mail or phone. */
export async function valuesOfOtherContacts(q: Q, organisationId: number, values: string[]): Promise<string[]> {
  if (!values.length) return [];
  const lower = [...new Set(values.map((v) => v.toLowerCase()))];
  const out = new Set<string>();
  for (let i = 0; i < lower.length; i += 300) {
    const part = lower.slice(i, i + 300);
    const rows: { name: string; email: string; phone: string }[] = await q('contacts as c').whereNot('c.organisation_id', organisationId)
      .whereNotExists((x) => x.select(q.raw('1')).from('gdpr_anonymisations as g').whereRaw('g.organisation_id = c.organisation_id'))
      .where((w) => w.whereRaw('lower(c.name) in (' + part.map(() => '?').join(',') + ')', part)
        .orWhereRaw('lower(c.email) in (' + part.map(() => '?').join(',') + ')', part)
        .orWhereIn('c.phone', part))
      .select('c.name', 'c.email', 'c.phone');
    for (const r of rows) for (const v of [r.name, r.email, r.phone]) if (v && part.includes(v.toLowerCase())) out.add(v.toLowerCase());
  }
  return [...out];
}
