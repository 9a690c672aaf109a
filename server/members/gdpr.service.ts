import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { berlinDate, iso, ZONE, type Clock } from '../clock.ts';
import { insertId, likeEscape } from '../db/knex.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import type { SettingsService } from '../settings/settings.service.ts';
import { formatMemberNumber } from '../i18n/format.ts';
import { NotFoundError, AppError } from '../errors.ts';
import type { ExportService } from './export.service.ts';
import { refreshSearchWords } from './members.repository.ts';

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

const bool = (v: unknown) => v === true || v === 1 || v === '1';

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

interface Deps {
  db: Knex;
  clock: Clock;
  audit: AuditService;
  settings: SettingsService;
  exports: ExportService;
}

/** GDPR: consent records, the per-organisation data export, anonymisation after the retention period. */
export class GdprService {
  constructor(private d: Deps) {}

  /**
   * Records a consent a contact gave (e.g. from an application: the privacy notice in its
   * version, and the consent to invitations by e-mail), inside the caller's transaction.
   */
  async recordConsent(trx: Knex | Knex.Transaction, contactId: number, kind: ConsentKind, version: string, givenAt: string, source: string): Promise<number> {
    return insertId(trx, 'consent_records', {
      contact_id: contactId,
      kind,
      version: version.slice(0, 40),
      given_at: givenAt,
      source: source.slice(0, 60),
      created_at: iso(this.d.clock.now()),
    });
  }

  /** The board records a consent received outside the system (e.g. a signed form); invitations by e-mail take effect at once. */
  async addConsent(actor: Actor, organisationId: number, input: { contactId: number; kind: ConsentKind; version: string; givenOn: string }): Promise<number> {
    return this.d.db.transaction(async (trx) => {
      const contact = await trx('contacts').where({ id: input.contactId, organisation_id: organisationId }).first();
      if (!contact) throw new NotFoundError();
      if (await trx('gdpr_anonymisations').where({ organisation_id: organisationId }).first()) throw new AppError(409, 'anonymised');
      const givenAt = DateTime.fromISO(input.givenOn, { zone: ZONE }).toUTC().toISO()!;
      const id = await this.recordConsent(trx, input.contactId, input.kind, input.version, givenAt, 'board');
      if (input.kind === 'email_invitations' && !bool(contact.consent_email_invitations)) {
        await trx('contacts').where({ id: input.contactId }).update({ consent_email_invitations: true, updated_at: iso(this.d.clock.now()) });
      }
      await this.d.audit.record(trx, actor, 'consent.recorded', 'contact', input.contactId, undefined, { consentId: id, kind: input.kind, version: input.version, givenAt, source: 'board' });
      return id;
    });
  }

  /** Records that a consent was withdrawn; withdrawing e-mail invitations switches them off for the contact. */
  async withdrawConsent(actor: Actor, consentId: number): Promise<number> {
    return this.d.db.transaction(async (trx) => {
      const c = await trx('consent_records').where({ id: consentId }).first();
      if (!c) throw new NotFoundError();
      const contact = await trx('contacts').where({ id: c.contact_id }).first();
      if (!contact) throw new NotFoundError(); // a consent record always has its contact (foreign key)
      if (c.withdrawn_at) return Number(contact.organisation_id);
      const now = iso(this.d.clock.now());
      await trx('consent_records').where({ id: consentId }).update({ withdrawn_at: now });
      if (c.kind === 'email_invitations') {
        const stillGiven = await trx('consent_records').where({ contact_id: c.contact_id, kind: 'email_invitations' }).whereNull('withdrawn_at').first();
        if (!stillGiven) await trx('contacts').where({ id: c.contact_id }).update({ consent_email_invitations: false, updated_at: now });
      }
      await this.d.audit.record(trx, actor, 'consent.withdrawn', 'contact', Number(c.contact_id), { consentId, kind: c.kind, withdrawnAt: null }, { consentId, kind: c.kind, withdrawnAt: now });
      return Number(contact.organisation_id);
    });
  }

  async consents(organisationId: number): Promise<ConsentRecord[]> {
    const rows = await this.d.db('consent_records as r')
      .join('contacts as c', 'c.id', 'r.contact_id')
      .where('c.organisation_id', organisationId)
      .orderBy([{ column: 'r.given_at', order: 'desc' }, { column: 'r.id', order: 'desc' }])
      .select('r.*', 'c.name as contact_name');
    return rows.map((r) => ({
      id: Number(r.id), contactId: Number(r.contact_id), contactName: r.contact_name, kind: r.kind, version: r.version,
      givenAt: r.given_at, withdrawnAt: r.withdrawn_at, source: r.source,
    }));
  }

  async anonymisedAt(organisationId: number): Promise<string | null> {
    const r = await this.d.db('gdpr_anonymisations').where({ organisation_id: organisationId }).first();
    return r ? r.at : null;
  }

  /** Everything stored about the organisation and its contacts, for Art. 15 (access) and Art. 20 (portability). */
  async exportOrganisation(organisationId: number): Promise<OrganisationDataExport> {
    const db = this.d.db;
    const org = await db('organisations').where({ id: organisationId }).first();
    if (!org) throw new NotFoundError();
    const association = await this.d.settings.association();
    const category = await db('membership_categories').where({ id: org.category_id }).first();
    const contacts = await db('contacts').where({ organisation_id: organisationId }).orderBy('id');
    const contactIds = contacts.map((c) => Number(c.id));
    const emails = [...new Set(contacts.map((c) => String(c.email)).filter(Boolean))];
    const userIds = [...new Set(contacts.map((c) => c.user_id).filter((u) => u != null).map(Number))];
    const users = userIds.length ? await db('users').whereIn('id', userIds).select('id', 'email', 'display_name', 'locale', 'disabled', 'last_login_at', 'created_at') : [];
    const roles = userIds.length ? await db('user_roles').whereIn('user_id', userIds) : [];
    const history = await db('membership_history').where({ organisation_id: organisationId }).orderBy('id');
    const apps = await db('applications').where({ organisation_id: organisationId }).orderBy('id');
    const appIds = apps.map((a) => Number(a.id));
    const appContacts = appIds.length ? await db('application_contacts').whereIn('application_id', appIds).orderBy('id') : [];
    const appMessages = appIds.length ? await db('application_messages').whereIn('application_id', appIds).orderBy('id') : [];
    const consents = contactIds.length ? await db('consent_records').whereIn('contact_id', contactIds).orderBy('id') : [];

    const audit: Record<string, any>[] = await db('audit_log')
      .where((w) => {
        w.where({ entity_type: 'organisation', entity_id: organisationId });
        for (const part of chunks(contactIds)) w.orWhere((x) => x.where('entity_type', 'contact').whereIn('entity_id', part));
        for (const part of chunks(appIds)) w.orWhere((x) => x.where('entity_type', 'application').whereIn('entity_id', part));
      })
      .orderBy('id')
      .limit(10_000);
    const mails: Record<string, any>[] = await db('mail_messages')
      .where((w) => {
        w.where({ related_type: 'organisation', related_id: organisationId });
        for (const part of chunks(appIds)) w.orWhere((x) => x.where('related_type', 'application').whereIn('related_id', part));
        for (const part of chunks(emails)) w.orWhereIn('to_address', part);
      })
      .orderBy('id')
      .limit(10_000)
      .select('id', 'template', 'locale', 'to_address', 'cc', 'subject', 'status', 'attempts', 'sent_at', 'created_at', 'related_type', 'related_id');

    let invoices: Record<string, unknown>[] | undefined;
    if ((await db.schema.hasTable('invoices')) && (await db.schema.hasColumn('invoices', 'organisation_id'))) {
      invoices = (await db('invoices').where({ organisation_id: organisationId }).orderBy('id')).map((r) => camel(r, { omit: ['pdf', 'pdf_data'] }));
    }

    return {
      generatedAt: iso(this.d.clock.now()),
      controller: {
        name: association.name,
        address: [association.street, `${association.postcode} ${association.city}`.trim()].filter(Boolean).join(', '),
        contactEmail: association.contactEmail,
      },
      organisation: { ...camel(org, { omit: ['name_key', 'version'] }), memberNo: formatMemberNumber(Number(org.member_number)), categoryName: category?.name_de ?? '' },
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
      auditEntries: audit.map((a) => camel(a, { json: ['before', 'after'] })),
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
    const like = `%${likeEscape(q.toLowerCase())}%`;
    const num = /^(?:m-?)?0*(\d{1,9})$/i.exec(q);
    const rows = await this.d.db('organisations')
      .where((w) => { w.whereRaw("name_key like ? escape '\\'", [like]); if (num) w.orWhere('member_number', Number(num[1])); })
      .orderBy('member_number').limit(20);
    return rows.map((o) => ({ id: Number(o.id), memberNo: formatMemberNumber(Number(o.member_number)), legalName: o.legal_name, city: o.city, status: o.status }));
  }

  /** The latest anonymisations, newest first. */
  async recentAnonymisations(): Promise<{ at: string; contacts_count: number; id: number; member_number: number; legal_name: string }[]> {
    return this.d.db('gdpr_anonymisations as g').join('organisations as o', 'o.id', 'g.organisation_id')
      .orderBy('g.id', 'desc').limit(20).select('g.at', 'g.contacts_count', 'o.id', 'o.member_number', 'o.legal_name');
  }

  async anonymisationCandidates(): Promise<AnonymisationCandidate[]> {
    const { cutoff, years } = await this.cutoff();
    const rows = await this.d.db('organisations as o')
      .whereNot('o.status', 'active')
      .whereNotNull('o.exit_date')
      .where('o.exit_date', '<', cutoff)
      .whereNotExists((q) => q.select(this.d.db.raw('1')).from('gdpr_anonymisations as g').whereRaw('g.organisation_id = o.id'))
      .orderBy('o.exit_date')
      .orderBy('o.member_number')
      .limit(1000)
      .select('o.id', 'o.member_number', 'o.legal_name', 'o.exit_date',
        this.d.db('contacts as c').count('*').whereRaw('c.organisation_id = o.id').as('contacts'));
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
        const contacts = await trx('contacts').where({ organisation_id: orgId });
        const emails = [...new Set(contacts.map((c) => String(c.email)).filter(Boolean))];
        let usersDisabled = 0;
        for (const userId of [...new Set(contacts.map((c) => c.user_id).filter((u) => u != null).map(Number))]) {
          const otherContacts = await trx('contacts').where({ user_id: userId }).whereNot({ organisation_id: orgId }).first();
          const roles = (await trx('user_roles').where({ user_id: userId })).map((r) => r.role as string);
          if (!otherContacts) await trx('user_roles').where({ user_id: userId, role: 'member' }).delete();
          if (!otherContacts && roles.every((r) => r === 'member')) {
            const u = await trx('users').where({ id: userId }).first();
            if (u) emails.push(String(u.email));
            await trx('users').where({ id: userId }).update({
              email: `anonymised-${userId}@invalid.invalid`, display_name: ANONYMISED, password_hash: null, disabled: true, updated_at: now,
            });
            await trx('tokens').where({ subject_type: 'user', subject_id: userId }).whereNull('used_at').update({ used_at: now });
            usersDisabled++;
          }
        }
        await trx('contacts').where({ organisation_id: orgId }).update({
          name: ANONYMISED, name_key: ANONYMISED, email: '', phone: '', position: '', consent_email_invitations: false, user_id: null, updated_at: now,
        });
        // the register's search keys: the contacts' old names must not find the organisation any more
        await refreshSearchWords(trx, orgId);
        const appIds = (await trx('applications').where({ organisation_id: orgId }).select('id')).map((a) => Number(a.id));
        for (const part of chunks(appIds)) {
          await trx('application_contacts').whereIn('application_id', part).update({ name: ANONYMISED, email: '', phone: '', position: '' });
        }
        // the mail log keeps subject, template and dates; addresses and bodies go. Unsent mail is never sent now.
        const mailScrub = { to_address: 'anonymised@invalid.invalid', cc: null, text_body: '', html_body: '', attachments: null };
        const mails = () => trx('mail_messages').whereNot('status', 'sending').andWhere((w) => {
          w.where({ related_type: 'organisation', related_id: orgId });
          for (const part of chunks(emails)) w.orWhereIn('to_address', part);
        });
        await mails().where('status', 'queued').update({ status: 'failed', last_response: 'not sent: recipient anonymised' });
        await mails().update(mailScrub);
        await trx('gdpr_anonymisations').insert({ organisation_id: orgId, at: now, by_user_id: actor.userId, contacts_count: contacts.length, users_disabled: usersDisabled });
        await this.d.audit.record(trx, actor, 'gdpr.anonymised', 'organisation', orgId, undefined, { contacts: contacts.length, usersDisabled });
        contactsTotal += contacts.length;
        usersTotal += usersDisabled;
      }
    });
    return { organisations: ids.length, contacts: contactsTotal, usersDisabled: usersTotal };
  }
}
