import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { berlinDate, iso, ZONE, type Clock } from '../clock.ts';
import { bool } from '../db/knex.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import type { SettingsService } from '../settings/settings.service.ts';
import { formatMemberNumber } from '../i18n/format.ts';
import { NotFoundError, AppError } from '../errors.ts';
import type { ExportService } from './export.service.ts';
import { refreshSearchWords } from './members.repository.ts';
import * as repo from './gdpr.repository.ts';
import { contactById, contactOf, organisationRow, updateContact } from './organisations.repository.ts';
// h/gdpr: a complete anonymisation and export across every module holding the contacts' data
import { ANONYMISED as PLACEHOLDER, nameVariants, normaliseTerms, type DataSubject } from '../db/redact.ts';
import { removeEmlFiles } from '../mail/transport.ts';
import { exportsNaming } from './exports.repository.ts';
import type { BylawsRules, PrivacySettings } from '../settings/settings.schemas.ts';
import { DATA_PROTECTION_AUTHORITIES } from '../settings/settings.schemas.ts';

export const CONSENT_KINDS = ['email_invitations', 'privacy_notice'] as const;
export type ConsentKind = (typeof CONSENT_KINDS)[number];
export const ANONYMISED = PLACEHOLDER;

export interface ConsentRecord {
  id: number;
  contactId: number;
  contactName: string;
  kind: ConsentKind;
  version: string;
  givenAt: string;
  withdrawnAt: string | null;
  source: string;
}

export interface AnonymisationCandidate {
  id: number;
  memberNumber: number;
  memberNo: string;
  legalName: string;
  exitDate: string;
  retainedUntil: string; // the last day personal data is kept
  contacts: number;
  /** h/gdpr: why it must wait (unpaid invoices, an active mandate), if it must */
  blocked?: AnonymisationBlock;
}

/** Everything stored about one organisation and its contacts (Art. 15 and 20 GDPR). */
export interface OrganisationDataExport {
  /** the lead: parts other modules add through `extraParts` (SEPA mandates, bank bookings, the directory profile) */
  more?: Record<string, unknown>;
  generatedAt: string;
  controller: { name: string; address: string; contactEmail: string };
  organisation: Record<string, unknown>;
  contacts: Record<string, unknown>[];
  portalAccounts: Record<string, unknown>[];
  membershipHistory: Record<string, unknown>[];
  applications: Record<string, unknown>[];
  consentRecords: Record<string, unknown>[];
  mailMessages: Record<string, unknown>[];
  auditEntries: Record<string, unknown>[];
  invoices?: Record<string, unknown>[];
  anonymisedAt: string | null;
  // h/gdpr: the rest of the data (Art. 15/20) and the Art. 15(1) information
  payments: Record<string, unknown>[];
  assemblies: Record<string, Record<string, unknown>[]>;
  demands: Record<string, Record<string, unknown>[]>;
  changeRequests: Record<string, unknown>[];
  /** the logged exports (member lists, data exports) that held the organisation: to whom its data went */
  disclosures: Record<string, unknown>[];
  information: Art15Information;
}

/** h/gdpr: what Art. 15(1) and (2) GDPR require besides the data, from the settings and the configuration. */
export interface Art15Information {
  purposes: string[];
  recipients: string[];
  /** what this installation actually hands data to */
  configuredRecipients: { kind: 'payments' | 'mail' | 'tax_adviser'; name: string; active: boolean }[];
  storagePeriods: Record<string, number | string>;
  keptByLegalObligation: string;
  rights: string;
  authority: { code: string; land: string; name: string; web: string };
  source: string;
  automatedDecisions: string;
}

/** h/gdpr: a reason the anonymisation must wait (an i18n key and its values). */
export interface AnonymisationBlock {
  key: string;
  params?: Record<string, string>;
}
/** h/gdpr: a check that can hold an anonymisation back (the lead wires e.g. "an active SEPA mandate" from h/sepa here). */
export type AnonymisationBlocker = (organisationId: number) => Promise<AnonymisationBlock | null>;

/** snake_case row → camelCase object, booleans as booleans, JSON columns parsed. */
function camel(r: object, opts: { bools?: string[]; json?: string[]; omit?: string[] } = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) {
    if (opts.omit?.includes(k)) continue;
    const key = k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    if (opts.bools?.includes(k)) out[key] = bool(v);
    else if (opts.json?.includes(k) && typeof v === 'string') {
      try { out[key] = JSON.parse(v); } catch { out[key] = v; }
    } else out[key] = v;
  }
  return out;
}

function chunks<T>(xs: T[], n = 500): T[][] {
  return Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));
}

/**
 * Records the consents a contact gave, inside the caller's transaction. Apart from GdprService
 * because the applications service records consents and the GDPR service reads the
 * applications: the composition root builds this first, then applications, then GdprService.
 */
export class ConsentRecorder {
  constructor(private clock: Clock) {}

  /** A consent given (e.g. from an application: the privacy notice in its version, and the consent to invitations by e-mail). */
  async recordConsent(trx: Knex | Knex.Transaction, contactId: number, kind: ConsentKind, version: string, givenAt: string, source: string): Promise<number> {
    return repo.insertConsent(trx, {
      contact_id: contactId,
      kind,
      version: version.slice(0, 40),
      given_at: givenAt,
      source: source.slice(0, 60),
      created_at: iso(this.clock.now()),
    });
  }
}

/** What the GDPR service needs of the other modules that hold an organisation's personal data (their services). */
interface Deps {
  db: Knex;
  clock: Clock;
  audit: AuditService;
  settings: SettingsService;
  exports: ExportService;
  consents: ConsentRecorder;
  users: {
    accountsForExport(userIds: number[]): Promise<{ users: Record<string, unknown>[]; roles: { user_id: number; role: string }[] }>;
    releaseMemberAccount(trx: Knex.Transaction, userId: number, opts: { otherContacts: boolean; placeholder: string; now: string }): Promise<{ disabled: boolean; email: string | null }>;
  };
  applications: {
    dataOfOrganisation(organisationId: number): Promise<{ applications: Record<string, unknown>[]; contacts: Record<string, unknown>[]; messages: Record<string, unknown>[] }>;
    anonymiseContactsOfOrganisation(trx: Knex.Transaction, organisationId: number, placeholder: string): Promise<void>;
  };
  outbox: {
    forSubject(subject: { related: { type: string; ids: number[] }[]; addresses: string[] }, limit: number): Promise<Record<string, unknown>[]>;
    scrubSubject(trx: Knex.Transaction, subject: { related: { type: string; ids: number[] }[]; addresses: string[] }): Promise<void>;
  };
  dues: { invoicesOfOrganisation(organisationId: number): Promise<object[] | undefined>; unpaidInvoiceNumbers(organisationId: number): Promise<string[]> };
  // h/gdpr: the other owners of the contacts' data, each doing its own part
  applicationTexts: { anonymiseApplicationTexts(trx: Knex.Transaction, s: DataSubject): Promise<void> };
  mail: { anonymiseSubject(trx: Knex.Transaction, subject: { related: { type: string; ids: number[] }[]; addresses: string[] }, terms: string[]): Promise<string[]> };
  auditLog: { anonymise(trx: Knex.Transaction, s: DataSubject): Promise<number> };
  assemblies: { dataOfOrganisation(organisationId: number): Promise<Record<string, Record<string, unknown>[]>>; anonymise(trx: Knex.Transaction, s: DataSubject): Promise<void> };
  demands: { dataOfOrganisation(organisationId: number): Promise<Record<string, Record<string, unknown>[]>>; anonymise(trx: Knex.Transaction, s: DataSubject): Promise<void> };
  portal: { changeRequestsOf(organisationId: number): Promise<Record<string, unknown>[]>; anonymise(trx: Knex.Transaction, s: DataSubject): Promise<void> };
  jobs: { anonymise(trx: Knex.Transaction, terms: string[]): Promise<void> };
  payments: { forOrganisation(organisationId: number): Promise<object[]> };
  sessions: { endForUsers(trx: Knex.Transaction, userIds: number[]): Promise<string[]>; forget(sids: string[]): Promise<void> };
  /** what is configured: Stripe on or off, the SMTP host (never its credentials) */
  configured: { stripe: boolean; smtpHost: string | null; mailDir: string };
  /** further checks that hold an anonymisation back (e.g. an active SEPA mandate, wired by the lead) */
  blockers?: AnonymisationBlocker[];
  /** the lead: further parts of the Art. 15/20 export, from modules built after this service (SEPA, bank, directory) */
  extraParts?: { name: string; load: (organisationId: number) => Promise<unknown> }[];
}

/** GDPR: consent records, the per-organisation data export, anonymisation after the retention period. */
export class GdprService {
  constructor(private d: Deps) {}

  /** See ConsentRecorder.recordConsent. */
  recordConsent(trx: Knex | Knex.Transaction, contactId: number, kind: ConsentKind, version: string, givenAt: string, source: string): Promise<number> {
    return this.d.consents.recordConsent(trx, contactId, kind, version, givenAt, source);
  }

  /** The board records a consent received outside the system (e.g. a signed form); invitations by e-mail take effect at once. */
  async addConsent(actor: Actor, organisationId: number, input: { contactId: number; kind: ConsentKind; version: string; givenOn: string }): Promise<number> {
    return this.d.db.transaction(async (trx) => {
      const contact = await contactOf(trx, organisationId, input.contactId);
      if (!contact) throw new NotFoundError();
      if (await repo.anonymisationOf(trx, organisationId)) throw new AppError(409, 'anonymised');
      const givenAt = DateTime.fromISO(input.givenOn, { zone: ZONE }).toUTC().toISO()!;
      const id = await this.recordConsent(trx, input.contactId, input.kind, input.version, givenAt, 'board');
      if (input.kind === 'email_invitations' && !bool(contact.consent_email_invitations)) {
        await updateContact(trx, input.contactId, { consent_email_invitations: true, updated_at: iso(this.d.clock.now()) });
      }
      await this.d.audit.record(trx, actor, 'consent.recorded', 'contact', input.contactId, undefined, { consentId: id, kind: input.kind, version: input.version, givenAt, source: 'board' });
      return id;
    });
  }

  /** Records that a consent was withdrawn; withdrawing e-mail invitations switches them off for the contact. */
  async withdrawConsent(actor: Actor, consentId: number): Promise<number> {
    return this.d.db.transaction(async (trx) => {
      const c = await repo.consentById(trx, consentId);
      if (!c) throw new NotFoundError();
      const contact = await contactById(trx, c.contact_id);
      if (!contact) throw new NotFoundError(); // a consent record always has its contact (foreign key)
      if (c.withdrawn_at) return Number(contact.organisation_id);
      const now = iso(this.d.clock.now());
      await repo.withdrawConsent(trx, consentId, now);
      if (c.kind === 'email_invitations') {
        const stillGiven = await repo.hasOpenConsent(trx, c.contact_id, 'email_invitations');
        if (!stillGiven) await updateContact(trx, c.contact_id, { consent_email_invitations: false, updated_at: now });
      }
      await this.d.audit.record(trx, actor, 'consent.withdrawn', 'contact', Number(c.contact_id), { consentId, kind: c.kind, withdrawnAt: null }, { consentId, kind: c.kind, withdrawnAt: now });
      return Number(contact.organisation_id);
    });
  }

  async consents(organisationId: number): Promise<ConsentRecord[]> {
    const rows = await repo.consentsOfOrganisation(this.d.db, organisationId);
    return rows.map((r) => ({
      id: Number(r.id), contactId: Number(r.contact_id), contactName: r.contact_name, kind: r.kind as ConsentKind, version: r.version, // why: written only from CONSENT_KINDS
      givenAt: r.given_at, withdrawnAt: r.withdrawn_at, source: r.source,
    }));
  }

  async anonymisedAt(organisationId: number): Promise<string | null> {
    const r = await repo.anonymisationOf(this.d.db, organisationId);
    return r ? r.at : null;
  }

  /** Everything stored about the organisation and its contacts, for Art. 15 (access) and Art. 20 (portability). */
  async exportOrganisation(organisationId: number): Promise<OrganisationDataExport> {
    const db = this.d.db;
    const org = await organisationRow(db, organisationId);
    if (!org) throw new NotFoundError();
    const association = await this.d.settings.association();
    const category = await this.d.settings.category(org.category_id);
    const contacts = await repo.contactsInIdOrder(db, organisationId);
    const contactIds = contacts.map((c) => Number(c.id));
    const emails = [...new Set(contacts.map((c) => String(c.email)).filter(Boolean))];
    const userIds = [...new Set(contacts.map((c) => c.user_id).filter((u) => u != null).map(Number))];
    const { users, roles } = await this.d.users.accountsForExport(userIds);
    const history = await repo.historyInIdOrder(db, organisationId);
    const { applications: apps, contacts: appContacts, messages: appMessages } = await this.d.applications.dataOfOrganisation(organisationId);
    const appIds = apps.map((a) => Number(a.id));
    const consents = await repo.consentsOfContacts(db, contactIds);

    const audit = await this.d.audit.forEntities([
      { entityType: 'organisation', ids: [organisationId] },
      ...chunks(contactIds).map((ids) => ({ entityType: 'contact', ids })),
      ...chunks(appIds).map((ids) => ({ entityType: 'application', ids })),
    ], { order: 'asc', limit: 10_000 });
    const mails = await this.d.outbox.forSubject({ related: [{ type: 'organisation', ids: [organisationId] }, { type: 'application', ids: appIds }], addresses: emails }, 10_000);

    const invoiceRows = await this.d.dues.invoicesOfOrganisation(organisationId);
    const invoices = invoiceRows?.map((r) => camel(r, { omit: ['pdf', 'pdf_data'] }));
    // h/gdpr: payments, the assembly records, the demands, the change requests, the Art. 15(1) information
    const payments = (await this.d.payments.forOrganisation(organisationId)).map((p) => ({ ...p }));
    const assemblyData = await this.d.assemblies.dataOfOrganisation(organisationId);
    const demandData = await this.d.demands.dataOfOrganisation(organisationId);
    const changeRequests = (await this.d.portal.changeRequestsOf(organisationId)).map((r) => camel(r, { json: ['changes', 'previous'] }));
    const information = await this.information();
    const camelAll = (groups: Record<string, Record<string, unknown>[]>, bools: string[] = []) =>
      Object.fromEntries(Object.entries(groups).map(([k, rows]) => [k, rows.map((r) => camel(r, { bools, json: ['cc'] }))]));

    return {
      generatedAt: iso(this.d.clock.now()),
      controller: {
        name: association.name,
        address: [association.street, `${association.postcode} ${association.city}`.trim()].filter(Boolean).join(', '),
        contactEmail: association.contactEmail,
      },
      organisation: { ...camel(org, { omit: ['name_key', 'version'] }), memberNo: formatMemberNumber(Number(org.member_number)), categoryName: category?.nameDe ?? '' },
      contacts: contacts.map((c) => camel(c, { bools: ['is_representative', 'is_billing', 'consent_email_invitations'] })),
      portalAccounts: users.map((u) => ({ ...camel(u, { bools: ['disabled'] }), roles: roles.filter((r) => Number(r.user_id) === Number(u.id)).map((r) => r.role) })),
      membershipHistory: history.map((h) => camel(h)),
      applications: apps.map((a) => ({
        ...camel(a, { omit: ['submission_key', 'name_key', 'version'], bools: ['consent_email_invitations'] }),
        contacts: appContacts.filter((c) => Number(c.application_id) === Number(a.id)).map((c) => camel(c, { omit: ['application_id'] })),
        messages: appMessages.filter((m) => Number(m.application_id) === Number(a.id)).map((m) => camel(m, { omit: ['application_id'] })),
      })),
      consentRecords: consents.map((c) => camel(c)),
      mailMessages: mails.map((m) => camel(m, { json: ['cc'] })),
      auditEntries: audit.map((a) => ({ ...a })),
      ...(invoices ? { invoices } : {}),
      anonymisedAt: await this.anonymisedAt(organisationId),
      payments,
      assemblies: camelAll(assemblyData, ['attending', 'has_vote']),
      demands: camelAll(demandData),
      changeRequests,
      disclosures: (await exportsNaming(db, organisationId)).map((r) => camel(r)),
      information,
      more: Object.fromEntries(await Promise.all((this.d.extraParts ?? []).map(async (x) => [x.name, await x.load(organisationId)] as const))),
    };
  }

  /** The JSON download, logged like every export of contact data. */
  async exportOrganisationLogged(actor: Actor, organisationId: number): Promise<OrganisationDataExport> {
    const data = await this.exportOrganisation(organisationId);
    const logId = await this.d.exports.startLog(actor, 'gdpr_json', { organisationId }, 'Art. 15/20 DSGVO', 1);
    await this.d.exports.finishLog(logId, [organisationId]);
    return data;
  }

  /**
   * h/gdpr: Art. 15/20 for one contact: what is stored about this person (their contact record,
   * account, consents, the mails to them, the entries about them or by them, the invitations and
   * ballots addressed to them, the answers giving their name, their demands and supports, the
   * invoices that went to them), with the organisation's name for context and the Art. 15(1)
   * information. A contact of another organisation: NotFoundError.
   */
  async exportContact(organisationId: number, contactId: number): Promise<OrganisationDataExport> {
    const contact = await contactOf(this.d.db, organisationId, contactId);
    if (!contact) throw new NotFoundError();
    const all = await this.exportOrganisation(organisationId);
    const name = String(contact.name).toLowerCase();
    const email = String(contact.email).toLowerCase();
    const userId = contact.user_id == null ? null : Number(contact.user_id);
    const mentions = (v: unknown) => { const t = String(v ?? '').toLowerCase(); return (!!name && t.includes(name)) || (!!email && t.includes(email)); };
    const rows = (xs: Record<string, unknown>[] | undefined, keep: (r: Record<string, unknown>) => boolean) => (xs ?? []).filter(keep);
    const a = all.assemblies;
    const d = all.demands;
    const invoices = rows(all.invoices, (r) => mentions(r.contactEmail) || mentions(r.contactName));
    const invoiceIds = new Set(invoices.map((r) => Number(r.id)));
    return {
      ...all,
      organisation: { id: all.organisation.id, legalName: all.organisation.legalName, memberNo: all.organisation.memberNo },
      contacts: all.contacts.filter((c) => Number(c.id) === contactId),
      portalAccounts: all.portalAccounts.filter((u) => userId !== null && Number(u.id) === userId),
      membershipHistory: [],
      applications: all.applications.map((app) => ({ ...app, contacts: (app.contacts as Record<string, unknown>[]).filter((c) => mentions(c.email) || mentions(c.name)) }))
        .filter((app) => (app.contacts as unknown[]).length > 0),
      consentRecords: all.consentRecords.filter((c) => Number(c.contactId) === contactId),
      mailMessages: all.mailMessages.filter((m) => mentions(m.toAddress) || mentions(JSON.stringify(m.cc ?? ''))),
      auditEntries: all.auditEntries.filter((e) => (e.entityType === 'contact' && Number(e.entityId) === contactId) || (userId !== null && Number(e.actorUserId) === userId) || mentions(JSON.stringify(e))),
      ...(all.invoices ? { invoices } : {}),
      payments: all.payments.filter((p) => invoiceIds.has(Number(p.invoiceId))),
      assemblies: {
        invitations: rows(a.invitations, (r) => mentions(r.toAddress) || mentions(r.contactName) || mentions(JSON.stringify(r.cc ?? ''))),
        rsvps: rows(a.rsvps, (r) => mentions(r.names)),
        attendance: rows(a.attendance, (r) => mentions(r.personName)),
        proxies: [],
        motions: rows(a.motions, (r) => mentions(r.submittedBy)),
        writtenBallots: rows(a.writtenBallots, (r) => Number(r.contactId) === contactId || mentions(r.toAddress) || mentions(r.answeredName)),
        writtenLinks: rows(a.writtenLinks, (r) => mentions(r.sentTo)),
      },
      demands: { demands: rows(d.demands, (r) => Number(r.contactId) === contactId), supports: rows(d.supports, (r) => Number(r.contactId) === contactId) },
      changeRequests: all.changeRequests.filter((r) => mentions(r.requestedByLabel)),
      disclosures: all.disclosures,
    };
  }

  /** h/gdpr: the contact's JSON download (the portal's own data, or the board's), logged like every export of contact data. */
  async exportContactLogged(actor: Actor, organisationId: number, contactId: number): Promise<OrganisationDataExport> {
    const data = await this.exportContact(organisationId, contactId);
    const logId = await this.d.exports.startLog(actor, 'gdpr_json', { organisationId, contactId }, 'Art. 15/20 DSGVO (Kontaktperson)', 1);
    await this.d.exports.finishLog(logId, [organisationId]);
    return data;
  }

  /** The first day on which personal data of a member who left on exitDate may no longer be kept. */
  private async cutoff(): Promise<{ cutoff: string; years: number }> {
    const years = (await this.d.settings.rules()).contactRetentionYears;
    const today = DateTime.fromISO(berlinDate(this.d.clock.now()), { zone: ZONE });
    return { cutoff: today.minus({ years }).toISODate()!, years };
  }

  /** Former members whose exit date plus the retention period has passed and whose contacts are not yet anonymised. */
  /** Organisations by name or member number, for picking one on the GDPR page (at most 20). */
  async findOrganisations(q: string): Promise<{ id: number; memberNo: string; legalName: string; city: string; status: string }[]> {
    const rows = await repo.findOrganisations(this.d.db, q);
    return rows.map((o) => ({ id: Number(o.id), memberNo: formatMemberNumber(Number(o.member_number)), legalName: o.legal_name, city: o.city, status: o.status }));
  }

  /** The latest anonymisations, newest first. */
  async recentAnonymisations(): Promise<{ at: string; contacts_count: number; id: number; member_number: number; legal_name: string }[]> {
    return repo.recentAnonymisations(this.d.db);
  }

  async anonymisationCandidates(): Promise<AnonymisationCandidate[]> {
    const { cutoff, years } = await this.cutoff();
    const rows = await repo.anonymisationCandidates(this.d.db, cutoff);
    return rows.map((r) => ({
      id: Number(r.id),
      memberNumber: Number(r.member_number),
      memberNo: formatMemberNumber(Number(r.member_number)),
      legalName: r.legal_name,
      exitDate: r.exit_date,
      retainedUntil: DateTime.fromISO(r.exit_date, { zone: ZONE }).plus({ years }).toISODate()!,
      contacts: Number(r.contacts),
    }));
  }

  /** h/gdpr: the candidates with the reason each must still wait, if any (for the board's page). */
  async anonymisationCandidatesWithBlocks(): Promise<AnonymisationCandidate[]> {
    const list = await this.anonymisationCandidates();
    for (const c of list) {
      const b = await this.blockOf(c.id);
      if (b) c.blocked = b;
    }
    return list;
  }

  /** h/gdpr: why the organisation's anonymisation must wait, if it must: unpaid invoices first, then the wired checks (e.g. an active SEPA mandate). */
  async blockOf(organisationId: number): Promise<AnonymisationBlock | null> {
    const unpaid = await this.d.dues.unpaidInvoiceNumbers(organisationId);
    if (unpaid.length) return { key: 'gdpr.refused.unpaid', params: { numbers: unpaid.join(', '), count: String(unpaid.length) } };
    for (const check of this.d.blockers ?? []) {
      const b = await check(organisationId);
      if (b) return b;
    }
    return null;
  }

  /**
   * Anonymises the given organisations if they are (still) due and nothing holds them back
   * (unpaid invoices, the wired blockers: `refused` says why). Per organisation one transaction
   * in which every module owning a part of the contacts' data does its part: the register
   * (contacts, search words, street, notes, import rows, export filters), the accounts and their
   * sessions, the applications, the assembly records (invitation recipients, RSVP names,
   * attendance, motions' authors, written ballots), the minority demands, the change requests,
   * the jobs, the audit log's before/after values and the outbox; after the commit the stored
   * .eml files of the changed messages go. Kept (Art. 17(3)(b) GDPR, § 14b UStG, § 147 AO): the
   * invoices and payments with the buyer's name and address, and the invoice mails' PDF as sent.
   * The organisation's name and member number stay in the register as a former member.
   */
  async anonymise(actor: Actor, organisationIds: number[]): Promise<{ organisations: number; contacts: number; usersDisabled: number; refused: { id: number; legalName: string; block: AnonymisationBlock }[] }> {
    const due = new Map((await this.anonymisationCandidates()).map((c) => [c.id, c]));
    const ids = [...new Set(organisationIds)].filter((id) => due.has(id));
    let contactsTotal = 0;
    let usersTotal = 0;
    let done = 0;
    const refused: { id: number; legalName: string; block: AnonymisationBlock }[] = [];
    for (const orgId of ids) {
      const block = await this.blockOf(orgId);
      if (block) { refused.push({ id: orgId, legalName: due.get(orgId)!.legalName, block }); continue; }
      const apps = await this.d.applications.dataOfOrganisation(orgId);
      const { messageIds, sids, contacts, usersDisabled } = await this.d.db.transaction(async (trx) => {
        const now = iso(this.d.clock.now());
        if (await repo.anonymisationOf(trx, orgId)) return { messageIds: [], sids: [], contacts: 0, usersDisabled: 0 };
        const contactRows = await repo.contactsInIdOrder(trx, orgId);
        const emails = [...new Set(contactRows.map((c) => String(c.email)).filter(Boolean))];
        const released: number[] = [];
        const userValues: string[] = [];
        let disabled = 0;
        for (const userId of [...new Set(contactRows.map((c) => c.user_id).filter((u) => u != null).map(Number))]) {
          const otherContacts = await repo.userHasOtherContact(trx, userId, orgId);
          const r = await this.d.users.releaseMemberAccount(trx, userId, { otherContacts, placeholder: ANONYMISED, now });
          if (r.email) { emails.push(r.email); userValues.push(r.email); }
          if (r.disabled) { disabled++; released.push(userId); }
        }
        const candidates = normaliseTerms([
          ...contactRows.flatMap((c) => [...nameVariants(c.name), c.email, c.phone]), ...userValues,
          ...apps.contacts.flatMap((c) => [...nameVariants(String(c.name ?? '')), String(c.email ?? ''), String(c.phone ?? '')]),
        ]);
        // a value another (not anonymised) organisation's contact also has is not this person's alone: only this organisation's records lose it
        const shared = new Set(await repo.valuesOfOtherContacts(trx, orgId, candidates));
        const subject: DataSubject = {
          organisationId: orgId, contactIds: contactRows.map((c) => Number(c.id)), userIds: released,
          applicationIds: apps.applications.map((a) => Number(a.id)), terms: candidates.filter((t) => !shared.has(t.toLowerCase())),
        };
        await repo.anonymiseContacts(trx, orgId, ANONYMISED, now);
        await repo.anonymiseRegisterTexts(trx, subject, now);
        // the register's search keys: the contacts' old names must not find the organisation any more
        await refreshSearchWords(trx, orgId);
        await this.d.applications.anonymiseContactsOfOrganisation(trx, orgId, ANONYMISED);
        await this.d.applicationTexts.anonymiseApplicationTexts(trx, subject);
        await this.d.assemblies.anonymise(trx, subject);
        await this.d.demands.anonymise(trx, subject);
        await this.d.portal.anonymise(trx, subject);
        await this.d.jobs.anonymise(trx, subject.terms);
        const ended = await this.d.sessions.endForUsers(trx, released);
        // the mail log keeps subject, template and dates; addresses and bodies go. Unsent mail is never sent now.
        const changedMails = await this.d.mail.anonymiseSubject(trx, { related: [{ type: 'organisation', ids: [orgId] }, { type: 'application', ids: subject.applicationIds }], addresses: [...new Set(emails)] }, subject.terms);
        await this.d.auditLog.anonymise(trx, subject);
        await repo.insertAnonymisation(trx, { organisation_id: orgId, at: now, by_user_id: actor.userId, contacts_count: contactRows.length, users_disabled: disabled });
        // the record that it happened, without personal data
        await this.d.audit.record(trx, actor, 'gdpr.anonymised', 'organisation', orgId, undefined, { contacts: contactRows.length, usersDisabled: disabled });
        return { messageIds: changedMails, sids: ended, contacts: contactRows.length, usersDisabled: disabled };
      });
      removeEmlFiles(this.d.configured.mailDir, messageIds);
      await this.d.sessions.forget(sids);
      done++;
      contactsTotal += contacts;
      usersTotal += usersDisabled;
    }
    return { organisations: done, contacts: contactsTotal, usersDisabled: usersTotal, refused };
  }

  /** h/gdpr: the Art. 15(1)/(2) information: purposes and legal bases, recipients (as configured), storage periods, rights, the authority. */
  async information(): Promise<Art15Information> {
    const [privacy, rules, datev] = await Promise.all([this.d.settings.privacy(), this.d.settings.rules(), this.d.settings.datev()]);
    return art15Information(privacy, rules, this.d.configured, datev.consultantNumber > 0);
  }
}

/** h/gdpr: the Art. 15 information from the privacy settings, the retention rules and what is configured. */
export function art15Information(privacy: PrivacySettings, rules: BylawsRules, configured: { stripe: boolean; smtpHost: string | null }, taxAdviser: boolean): Art15Information {
  const lines = (t: string) => t.split('\n').map((l) => l.trim()).filter(Boolean);
  const a = DATA_PROTECTION_AUTHORITIES[privacy.authority];
  return {
    purposes: lines(privacy.purposes),
    // a Stripe line only while Stripe is switched on
    recipients: lines(privacy.recipients).filter((l) => configured.stripe || !/stripe/i.test(l)),
    configuredRecipients: [
      { kind: 'payments', name: 'Stripe Payments Europe Ltd.', active: configured.stripe },
      { kind: 'mail', name: configured.smtpHost ?? '', active: !!configured.smtpHost },
      { kind: 'tax_adviser', name: '', active: taxAdviser },
    ],
    storagePeriods: {
      applicationRetentionMonths: rules.applicationRetentionMonths,
      unconfirmedApplicationDays: rules.unconfirmedApplicationDays,
      contactRetentionYears: rules.contactRetentionYears,
      mailBodyRetentionDays: rules.mailBodyRetentionDays,
      auditDetailRetentionYears: rules.auditDetailRetentionYears,
      invoiceRetentionYears: rules.invoiceRetentionYears,
      booksRetentionYears: 10,
    },
    keptByLegalObligation: `Rechnungen und Zahlungen (mit Name und Anschrift der Organisation als Rechnungsempfänger und der Kontaktperson, an die die Rechnung ging) sowie die Rechnung als PDF, wie sie versandt wurde, werden ${rules.invoiceRetentionYears} Jahre nach Ende des Ausstellungsjahres aufbewahrt (§ 14b UStG, § 147 AO), Buchungen 10 Jahre; sie bleiben auch nach einer Anonymisierung erhalten (Art. 17 Abs. 3 lit. b DSGVO).`,
    rights: privacy.rights,
    authority: { code: privacy.authority, land: a.land, name: a.name, web: a.web },
    source: 'Die Daten stammen von der Organisation selbst (Aufnahmeantrag, Mitgliederportal, Mitteilungen an den Vorstand).',
    automatedDecisions: 'Es findet keine automatisierte Entscheidungsfindung einschließlich Profiling statt (Art. 22 DSGVO).',
  };
}

