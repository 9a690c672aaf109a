import type { Knex } from 'knex';
import { ANONYMISED, redactTermsIn, type DataSubject } from '../db/redact.ts'; // h/gdpr
import type { Locale } from '../i18n/i18n.ts';
import { affected, insertId } from '../db/knex.ts';
import type { OrganisationFields } from './applications.schemas.ts';
import { organisationFieldsFromRow } from '../members/organisation-fields.ts';
import {
  APPLICATION_STATUSES,
  type ApplicationContactRole,
  type ApplicationContactRow,
  type ApplicationMessageKind,
  type ApplicationMessageRow,
  type ApplicationRow,
  type ApplicationStatus,
} from './applications.tables.ts';
import { bool } from '../db/knex.ts';

/**
 * Queries on the applications tables (applications, application_contacts,
 * application_messages); nothing else touches them. Other modules' data (users, the
 * register, tokens) comes through their services, in applications.service.ts.
 */

type Db = Knex | Knex.Transaction;

export const STATUSES = APPLICATION_STATUSES;
export type { ApplicationStatus };
/** Not yet decided: these count as "open" for duplicate checks. */
export const OPEN_STATUSES: ApplicationStatus[] = ['unconfirmed', 'submitted', 'info_requested'];
/** The board can decide (approve, reject, ask) only confirmed, undecided applications. */
export const DECIDABLE_STATUSES: ApplicationStatus[] = ['submitted', 'info_requested'];
/** The board's default queue: confirmed and undecided. */
export const QUEUE_STATUSES: ApplicationStatus[] = ['submitted', 'info_requested'];

export function isStatus(s: unknown): s is ApplicationStatus {
  return typeof s === 'string' && (STATUSES as readonly string[]).includes(s); // why: widening, to ask whether any string is one
}

export interface Application extends OrganisationFields {
  id: number;
  reference: string;
  status: ApplicationStatus;
  categoryId: number;
  contribution: string;
  nameKey: string;
  locale: Locale;
  consentBylawsAt: string;
  consentPrivacyAt: string;
  privacyVersion: string;
  consentEmailInvitations: boolean;
  /** h/bank2: the SEPA mandate granted on the form, or null */
  mandate: { scheme: 'CORE' | 'B2B'; iban: string; holder: string; consentAt: string } | null;
  confirmedAt: string | null;
  decidedAt: string | null;
  decidedBy: number | null;
  resolutionRef: string | null;
  decisionReason: string | null;
  organisationId: number | null;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface ApplicationContact {
  id: number;
  role: ApplicationContactRole;
  name: string;
  email: string;
  phone: string;
  position: string;
}

/** A message as stored; the author's name comes from the accounts (the service adds it). */
export interface StoredMessage {
  id: number;
  kind: ApplicationMessageKind;
  body: string;
  authorUserId: number | null;
  createdAt: string;
}

/** The columns of an open application that the duplicate check compares. */
export interface DuplicateCandidate {
  id: number;
  reference: string;
  legalName: string;
  status: ApplicationStatus;
  vatId: string;
  nameKey: string;
  postcode: string;
}


export function rowToApplication(r: ApplicationRow): Application {
  return {
    id: Number(r.id),
    reference: r.reference,
    status: r.status,
    ...organisationFieldsFromRow(r),
    employeeBand: r.employee_band,
    categoryId: Number(r.category_id),
    contribution: r.contribution,
    nameKey: r.name_key,
    locale: r.locale === 'en' ? 'en' : 'de',
    consentBylawsAt: r.consent_bylaws_at,
    consentPrivacyAt: r.consent_privacy_at,
    privacyVersion: r.privacy_version,
    consentEmailInvitations: bool(r.consent_email_invitations),
    mandate: r.sepa_iban && r.sepa_scheme && r.sepa_consent_at ? { scheme: r.sepa_scheme, iban: r.sepa_iban, holder: r.sepa_holder ?? '', consentAt: r.sepa_consent_at } : null,
    confirmedAt: r.confirmed_at,
    decidedAt: r.decided_at,
    decidedBy: r.decided_by == null ? null : Number(r.decided_by),
    resolutionRef: r.resolution_ref,
    decisionReason: r.decision_reason,
    organisationId: r.organisation_id == null ? null : Number(r.organisation_id),
    version: Number(r.version),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function rowToContact(r: ApplicationContactRow): ApplicationContact {
  return { id: Number(r.id), role: r.role, name: r.name, email: r.email, phone: r.phone, position: r.position };
}

function rowToMessage(r: ApplicationMessageRow): StoredMessage {
  return {
    id: Number(r.id),
    kind: r.kind,
    body: r.body,
    authorUserId: r.author_user_id == null ? null : Number(r.author_user_id),
    createdAt: r.created_at,
  };
}

function chunks<T>(xs: T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

/* ───────────── reads ───────────── */

export async function findById(q: Db, id: number): Promise<Application | undefined> {
  const r = await q('applications').where({ id }).first();
  return r ? rowToApplication(r) : undefined;
}

export async function findBySubmissionKey(q: Db, key: string): Promise<Application | undefined> {
  const r = await q('applications').where({ submission_key: key }).first();
  return r ? rowToApplication(r) : undefined;
}

export async function contactsOf(q: Db, applicationId: number): Promise<ApplicationContact[]> {
  return (await q('application_contacts').where({ application_id: applicationId }).orderBy([{ column: 'sort_order' }, { column: 'id' }])).map(rowToContact);
}

export async function representativeOf(q: Db, applicationId: number): Promise<ApplicationContact | undefined> {
  const r = await q('application_contacts').where({ application_id: applicationId, role: 'representative' }).first();
  return r ? rowToContact(r) : undefined;
}

/** The conversation in order; without `includeInternal`, the board's internal comments are left out. */
export async function messagesOf(q: Db, applicationId: number, opts: { includeInternal: boolean }): Promise<StoredMessage[]> {
  const query = q('application_messages').where({ application_id: applicationId }).orderBy('id');
  if (!opts.includeInternal) query.whereNot('kind', 'comment');
  return (await query).map(rowToMessage);
}

export async function countsByStatus(q: Db): Promise<Record<ApplicationStatus, number>> {
  const rows = await q('applications').select('status').count({ n: '*' }).groupBy('status');
  const out = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<ApplicationStatus, number>; // why: filled with every status just above
  for (const r of rows) if (isStatus(r.status)) out[r.status] = Number(r.n);
  return out;
}

export async function list(q: Db, statuses: ApplicationStatus[], opts: { limit: number; offset: number; oldestFirst: boolean }): Promise<{ rows: Application[]; total: number }> {
  const base = q('applications').whereIn('status', statuses);
  const [{ n }] = await base.clone().count({ n: '*' });
  const rows = await base.clone().orderBy('id', opts.oldestFirst ? 'asc' : 'desc').limit(opts.limit).offset(opts.offset);
  return { rows: rows.map(rowToApplication), total: Number(n) };
}

/** Open applications with one of the VAT IDs or one of the name keys (the duplicate check's candidates). */
export async function openApplicationsMatching(q: Db, vatIds: string[], nameKeys: string[]): Promise<DuplicateCandidate[]> {
  const out: DuplicateCandidate[] = [];
  const cols = ['id', 'reference', 'legal_name', 'status', 'vat_id', 'name_key', 'postcode'] as const;
  const add = (rows: Pick<ApplicationRow, (typeof cols)[number]>[]) => {
    for (const r of rows) out.push({ id: Number(r.id), reference: r.reference, legalName: r.legal_name, status: r.status, vatId: r.vat_id, nameKey: r.name_key, postcode: r.postcode });
  };
  for (const part of chunks(vatIds)) add(await q('applications').whereIn('vat_id', part).whereIn('status', OPEN_STATUSES).select(cols));
  for (const part of chunks(nameKeys)) add(await q('applications').whereIn('name_key', part).whereIn('status', OPEN_STATUSES).select(cols));
  return out;
}

/** Unconfirmed applications (newest first, at most `limit`) whose voting representative has this address. */
export async function unconfirmedIdsByRepresentativeEmail(q: Db, email: string, limit: number): Promise<number[]> {
  const ids = await q('applications')
    .whereIn('id', q('application_contacts').where({ role: 'representative', email }).select('application_id'))
    .andWhere('status', 'unconfirmed')
    .orderBy('id', 'desc')
    .limit(limit)
    .pluck('id');
  return ids.map(Number);
}

/** Rejected and withdrawn applications decided before `decidedBefore`, and unconfirmed ones created before `createdBefore`. */
export async function expiredIds(q: Db, decidedBefore: string, createdBefore: string): Promise<number[]> {
  const ids = await q('applications')
    .where((w) => w.whereIn('status', ['rejected', 'withdrawn']).andWhere('decided_at', '<', decidedBefore))
    .orWhere((w) => w.where('status', 'unconfirmed').andWhere('created_at', '<', createdBefore))
    .pluck('id');
  return ids.map(Number);
}

/* ───────────── writes ───────────── */

export type NewApplicationRow = Omit<ApplicationRow, 'id' | 'confirmed_at' | 'decided_at' | 'decided_by' | 'resolution_ref' | 'decision_reason' | 'organisation_id'>;
export type NewContactRow = Omit<ApplicationContactRow, 'id' | 'application_id'>;

/** Stores an application with its contacts (in the given order); returns its id. */
export async function insertApplication(trx: Knex.Transaction, row: NewApplicationRow, contacts: NewContactRow[]): Promise<number> {
  const id = await insertId(trx, 'applications', row);
  await trx('application_contacts').insert(contacts.map((c) => ({ ...c, application_id: id })));
  return id;
}

export async function insertMessage(trx: Knex.Transaction, row: Omit<ApplicationMessageRow, 'id'>): Promise<number> {
  return insertId(trx, 'application_messages', row);
}

/**
 * Updates the application only while its status is one of `statuses` (and, when given, its
 * version is still `version`): the optimistic lock of every status change. False: someone
 * else changed it first, nothing was written.
 */
export async function updateIf(
  trx: Knex.Transaction,
  where: { id: number; statuses: ApplicationStatus[]; version?: number },
  changes: Partial<Omit<ApplicationRow, 'id'>>,
): Promise<boolean> {
  const query = trx('applications').where({ id: where.id }).whereIn('status', where.statuses);
  if (where.version !== undefined) query.andWhere({ version: where.version });
  return affected(await query.update(changes)) === 1;
}

/** The member organisation an approved application became. */
export async function setOrganisation(trx: Knex.Transaction, id: number, organisationId: number): Promise<void> {
  await trx('applications').where({ id }).update({ organisation_id: organisationId });
}

/** Deletes applications with their contacts and messages. */
export async function deleteApplications(trx: Knex.Transaction, ids: number[]): Promise<void> {
  for (const part of chunks(ids)) {
    await trx('application_messages').whereIn('application_id', part).del();
    await trx('application_contacts').whereIn('application_id', part).del();
    await trx('applications').whereIn('id', part).del();
  }
}

/* ───────────── a member's data (GDPR) ───────────── */

/** The stored rows of the applications that became this organisation, for a data export (Art. 15/20 GDPR). */
export async function rowsOfOrganisation(q: Db, organisationId: number): Promise<{ applications: ApplicationRow[]; contacts: ApplicationContactRow[]; messages: ApplicationMessageRow[] }> {
  const applications = await q('applications').where({ organisation_id: organisationId }).orderBy('id');
  const ids = applications.map((a) => Number(a.id));
  const contacts: ApplicationContactRow[] = [];
  const messages: ApplicationMessageRow[] = [];
  for (const part of chunks(ids)) {
    contacts.push(...(await q('application_contacts').whereIn('application_id', part).orderBy('id')));
    messages.push(...(await q('application_messages').whereIn('application_id', part).orderBy('id')));
  }
  return { applications, contacts, messages };
}

/** Blanks the personal data of the contacts of the applications that became this organisation. */
export async function anonymiseContactsOfOrganisation(trx: Knex.Transaction, organisationId: number, placeholder: string): Promise<void> {
  const ids = (await trx('applications').where({ organisation_id: organisationId }).pluck('id')).map(Number);
  for (const part of chunks(ids)) {
    await trx('application_contacts').whereIn('application_id', part).update({ name: placeholder, email: '', phone: '', position: '' });
  }
}

// h/gdpr: the rest of the applications' personal data in the anonymisation
/** The applications' postal street, and the contacts' names, addresses and numbers in their free texts and messages, become the placeholder. */
export async function anonymiseApplicationTexts(trx: Knex.Transaction, s: DataSubject): Promise<void> {
  if (!s.applicationIds.length) return;
  for (const part of chunks(s.applicationIds)) {
    await trx('applications').whereIn('id', part).update({ street: ANONYMISED });
    await redactTermsIn(trx, 'applications', 'id', ['contribution', 'field_of_activity', 'decision_reason', 'resolution_ref'], s.terms, { scope: (qb) => qb.whereIn('id', part) });
    await redactTermsIn(trx, 'application_messages', 'id', ['body'], s.terms, { scope: (qb) => qb.whereIn('application_id', part) });
  }
}
