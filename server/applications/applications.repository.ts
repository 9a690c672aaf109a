import type { Knex } from 'knex';
import type { Locale } from '../i18n/i18n.ts';
import { formatMemberNumber } from '../i18n/format.ts';
import type { EmployeeBand } from '../settings/settings.schemas.ts';
import type { OrganisationFields } from './applications.schemas.ts';
import { organisationFieldsFromRow } from '../members/organisation-fields.ts';

/** Queries on the applications tables; nothing else touches them. */

export const STATUSES = ['unconfirmed', 'submitted', 'info_requested', 'approved', 'rejected', 'withdrawn'] as const;
export type ApplicationStatus = (typeof STATUSES)[number];
/** Not yet decided: these count as "open" for duplicate checks. */
export const OPEN_STATUSES: ApplicationStatus[] = ['unconfirmed', 'submitted', 'info_requested'];
/** The board can decide (approve, reject, ask) only confirmed, undecided applications. */
export const DECIDABLE_STATUSES: ApplicationStatus[] = ['submitted', 'info_requested'];
/** The board's default queue: confirmed and undecided. */
export const QUEUE_STATUSES: ApplicationStatus[] = ['submitted', 'info_requested'];

export function isStatus(s: unknown): s is ApplicationStatus {
  return typeof s === 'string' && (STATUSES as readonly string[]).includes(s);
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
  role: 'representative' | 'billing' | 'other';
  name: string;
  email: string;
  phone: string;
  position: string;
}

export interface ApplicationMessage {
  id: number;
  kind: 'comment' | 'question' | 'answer';
  body: string;
  authorUserId: number | null;
  authorName: string | null;
  createdAt: string;
}

export interface DuplicateHint {
  kind: 'application' | 'organisation';
  id: number;
  label: string; // reference or member number
  name: string;
  status: string;
  reason: 'vat' | 'name_postcode';
}

const bool = (v: unknown) => v === true || v === 1 || v === '1';

export function rowToApplication(r: Record<string, any>): Application {
  return {
    id: Number(r.id),
    reference: r.reference,
    status: r.status,
    ...organisationFieldsFromRow(r),
    employeeBand: r.employee_band as EmployeeBand,
    categoryId: Number(r.category_id),
    contribution: r.contribution,
    nameKey: r.name_key,
    locale: r.locale === 'en' ? 'en' : 'de',
    consentBylawsAt: r.consent_bylaws_at,
    consentPrivacyAt: r.consent_privacy_at,
    privacyVersion: r.privacy_version,
    consentEmailInvitations: bool(r.consent_email_invitations),
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

function rowToContact(r: Record<string, any>): ApplicationContact {
  return { id: Number(r.id), role: r.role, name: r.name, email: r.email, phone: r.phone, position: r.position };
}

export async function findById(q: Knex | Knex.Transaction, id: number): Promise<Application | undefined> {
  const r = await q('applications').where({ id }).first();
  return r ? rowToApplication(r) : undefined;
}

export async function findBySubmissionKey(q: Knex | Knex.Transaction, key: string): Promise<Application | undefined> {
  const r = await q('applications').where({ submission_key: key }).first();
  return r ? rowToApplication(r) : undefined;
}

export async function contactsOf(q: Knex | Knex.Transaction, applicationId: number): Promise<ApplicationContact[]> {
  return (await q('application_contacts').where({ application_id: applicationId }).orderBy([{ column: 'sort_order' }, { column: 'id' }])).map(rowToContact);
}

export async function representativeOf(q: Knex | Knex.Transaction, applicationId: number): Promise<ApplicationContact | undefined> {
  const r = await q('application_contacts').where({ application_id: applicationId, role: 'representative' }).first();
  return r ? rowToContact(r) : undefined;
}

export async function messagesOf(q: Knex | Knex.Transaction, applicationId: number, opts: { includeInternal: boolean }): Promise<ApplicationMessage[]> {
  const query = q('application_messages as m')
    .leftJoin('users as u', 'u.id', 'm.author_user_id')
    .where('m.application_id', applicationId)
    .orderBy('m.id')
    .select('m.id', 'm.kind', 'm.body', 'm.author_user_id', 'm.created_at', 'u.display_name');
  if (!opts.includeInternal) query.whereNot('m.kind', 'comment');
  return (await query).map((r: Record<string, any>) => ({
    id: Number(r.id),
    kind: r.kind,
    body: r.body,
    authorUserId: r.author_user_id == null ? null : Number(r.author_user_id),
    authorName: r.display_name ?? null,
    createdAt: r.created_at,
  }));
}

export async function countsByStatus(q: Knex): Promise<Record<ApplicationStatus, number>> {
  const rows = (await q('applications').select('status').count({ n: '*' }).groupBy('status')) as { status: string; n: number | string }[];
  const out = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<ApplicationStatus, number>;
  for (const r of rows) if (isStatus(r.status)) out[r.status] = Number(r.n);
  return out;
}

export async function list(q: Knex, statuses: ApplicationStatus[], opts: { limit: number; offset: number; oldestFirst: boolean }): Promise<{ rows: Application[]; total: number }> {
  const base = q('applications').whereIn('status', statuses);
  const [{ n }] = await base.clone().count({ n: '*' });
  const rows = await base.clone().orderBy('id', opts.oldestFirst ? 'asc' : 'desc').limit(opts.limit).offset(opts.offset);
  return { rows: rows.map(rowToApplication), total: Number(n) };
}

function chunks<T>(xs: T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

/**
 * Possible duplicates of each application: another open application or an organisation
 * in the register with the same VAT ID, or with the same name (normalised) and postcode.
 * Only flags; nothing is merged or dropped.
 */
export async function duplicatesFor(q: Knex, apps: Application[]): Promise<Map<number, DuplicateHint[]>> {
  const out = new Map<number, DuplicateHint[]>(apps.map((a) => [a.id, []]));
  if (!apps.length) return out;
  const vats = [...new Set(apps.map((a) => a.vatId).filter(Boolean))];
  const keys = [...new Set(apps.map((a) => a.nameKey))];
  const otherApps: Record<string, any>[] = [];
  const orgs: Record<string, any>[] = [];
  const appCols = ['id', 'reference', 'legal_name', 'status', 'vat_id', 'name_key', 'postcode'];
  const orgCols = ['id', 'member_number', 'legal_name', 'status', 'vat_id', 'name_key', 'postcode', 'application_id'];
  for (const part of chunks(vats)) {
    otherApps.push(...(await q('applications').whereIn('vat_id', part).whereIn('status', OPEN_STATUSES).select(appCols)));
    orgs.push(...(await q('organisations').whereIn('vat_id', part).select(orgCols)));
  }
  for (const part of chunks(keys)) {
    otherApps.push(...(await q('applications').whereIn('name_key', part).whereIn('status', OPEN_STATUSES).select(appCols)));
    orgs.push(...(await q('organisations').whereIn('name_key', part).select(orgCols)));
  }
  const norm = (p: string) => String(p ?? '').replace(/\s+/g, '').toUpperCase();
  for (const a of apps) {
    const hints = out.get(a.id)!;
    const seen = new Set<string>();
    const add = (h: DuplicateHint) => {
      const k = `${h.kind}:${h.id}`;
      if (seen.has(k)) return;
      seen.add(k);
      hints.push(h);
    };
    for (const o of otherApps) {
      if (Number(o.id) === a.id) continue;
      const reason = a.vatId && o.vat_id === a.vatId ? 'vat' : o.name_key === a.nameKey && norm(o.postcode) === norm(a.postcode) ? 'name_postcode' : null;
      if (reason) add({ kind: 'application', id: Number(o.id), label: o.reference, name: o.legal_name, status: o.status, reason });
    }
    for (const o of orgs) {
      if (a.organisationId === Number(o.id) || Number(o.application_id) === a.id) continue; // its own membership
      const reason = a.vatId && o.vat_id === a.vatId ? 'vat' : o.name_key === a.nameKey && norm(o.postcode) === norm(a.postcode) ? 'name_postcode' : null;
      if (reason) add({ kind: 'organisation', id: Number(o.id), label: formatMemberNumber(Number(o.member_number)), name: o.legal_name, status: o.status, reason });
    }
  }
  return out;
}

/** An organisation's applications with their contacts and messages, as stored (for its GDPR data export). */
export async function dataOfOrganisation(q: Knex | Knex.Transaction, organisationId: number): Promise<{ applications: Record<string, unknown>[]; contacts: Record<string, unknown>[]; messages: Record<string, unknown>[] }> {
  const applications: Record<string, unknown>[] = await q('applications').where({ organisation_id: organisationId }).orderBy('id');
  const ids = applications.map((a) => Number(a.id));
  const contacts: Record<string, unknown>[] = ids.length ? await q('application_contacts').whereIn('application_id', ids).orderBy('id') : [];
  const messages: Record<string, unknown>[] = ids.length ? await q('application_messages').whereIn('application_id', ids).orderBy('id') : [];
  return { applications, contacts, messages };
}

/** The contacts of an organisation's applications become a placeholder without e-mail, phone and position (caller's transaction). */
export async function anonymiseContactsOfOrganisation(trx: Knex.Transaction, organisationId: number, placeholder: string): Promise<void> {
  const ids = (await trx('applications').where({ organisation_id: organisationId }).select('id')).map((a) => Number(a.id));
  for (let i = 0; i < ids.length; i += 500) {
    await trx('application_contacts').whereIn('application_id', ids.slice(i, i + 500)).update({ name: placeholder, email: '', phone: '', position: '' });
  }
}
