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

export const CONSENT_KINDS = ['email_invitations', 'privacy_notice'] as const;
export type ConsentKind = (typeof CONSENT_KINDS)[number];
export const ANONYMISED = 'anonymisiert';

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
}

/** Everything stored about one organisation and its contacts (Art. 15 and 20 GDPR). */
export interface OrganisationDataExport {
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
}

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
  dues: { invoicesOfOrganisation(organisationId: number): Promise<object[] | undefined> };
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
    };
  }

  /** The JSON download, logged like every export of contact data. */
  async exportOrganisationLogged(actor: Actor, organisationId: number): Promise<OrganisationDataExport> {
    const data = await this.exportOrganisation(organisationId);
    const logId = await this.d.exports.startLog(actor, 'gdpr_json', { organisationId }, 'Art. 15/20 DSGVO', 1);
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

  /**
   * Anonymises the contacts of the given organisations if they are (still) due: names, e-mail
   * addresses, phone numbers and positions become placeholders, portal accounts are unlinked and,
   * if used for nothing else, disabled and emptied; application contacts and the mail log's
   * addresses and bodies go the same way; the register's search no longer finds the organisation
   * by the contacts' old names. The organisation's name, address and member number stay
   * (invoices must be kept). One transaction, audited per organisation.
   */
  async anonymise(actor: Actor, organisationIds: number[]): Promise<{ organisations: number; contacts: number; usersDisabled: number }> {
    const due = new Set((await this.anonymisationCandidates()).map((c) => c.id));
    const ids = [...new Set(organisationIds)].filter((id) => due.has(id));
    let contactsTotal = 0;
    let usersTotal = 0;
    await this.d.db.transaction(async (trx) => {
      const now = iso(this.d.clock.now());
      for (const orgId of ids) {
        const contacts = await repo.contactsInIdOrder(trx, orgId);
        const emails = [...new Set(contacts.map((c) => String(c.email)).filter(Boolean))];
        let usersDisabled = 0;
        for (const userId of [...new Set(contacts.map((c) => c.user_id).filter((u) => u != null).map(Number))]) {
          const otherContacts = await repo.userHasOtherContact(trx, userId, orgId);
          const released = await this.d.users.releaseMemberAccount(trx, userId, { otherContacts, placeholder: ANONYMISED, now });
          if (released.email) emails.push(released.email);
          if (released.disabled) usersDisabled++;
        }
        await repo.anonymiseContacts(trx, orgId, ANONYMISED, now);
        // the register's search keys: the contacts' old names must not find the organisation any more
        await refreshSearchWords(trx, orgId);
        await this.d.applications.anonymiseContactsOfOrganisation(trx, orgId, ANONYMISED);
        // the mail log keeps subject, template and dates; addresses and bodies go. Unsent mail is never sent now.
        await this.d.outbox.scrubSubject(trx, { related: [{ type: 'organisation', ids: [orgId] }], addresses: emails });
        await repo.insertAnonymisation(trx, { organisation_id: orgId, at: now, by_user_id: actor.userId, contacts_count: contacts.length, users_disabled: usersDisabled });
        await this.d.audit.record(trx, actor, 'gdpr.anonymised', 'organisation', orgId, undefined, { contacts: contacts.length, usersDisabled });
        contactsTotal += contacts.length;
        usersTotal += usersDisabled;
      }
    });
    return { organisations: ids.length, contacts: contactsTotal, usersDisabled: usersTotal };
  }
}
