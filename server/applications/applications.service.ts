import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { DataSubject } from '../db/redact.ts'; // h/gdpr
import { DateTime } from 'luxon';
import { berlinDate, DAY_MS, iso, ZONE, type Clock } from '../clock.ts';
import { compactCode, isValidCreditorId } from '../settings/bank.ts';
import type { Config } from '../config.ts';
import { nextValue } from '../db/counters.ts';
import type { Actor, AuditEntry, AuditService } from '../audit/audit.service.ts';
import { diff, SYSTEM } from '../audit/audit.service.ts';
import type { TokenService } from '../auth/tokens.ts';
import type { Outbox } from '../mail/outbox.service.ts';
import type { SettingsService } from '../settings/settings.service.ts';
import type { Category } from '../settings/settings.schemas.ts';
import type { UsersService } from '../auth/users.service.ts';
import type { MembersService, NewContact, OrganisationMatch } from '../members/members.service.ts';
import { nameKey } from '../members/members.service.ts';
import { formatMemberNumber } from '../i18n/format.ts';
import type { Logger } from '../logger.ts';
import { organisationFieldsToRow } from '../members/organisation-fields.ts';
import type { Locale } from '../i18n/i18n.ts';
import { AppError, ConflictError, NotFoundError } from '../errors.ts';
import type { ApplicationInput, OrganisationFields } from './applications.schemas.ts';
import * as repo from './applications.repository.ts';
import type { Application, ApplicationContact, ApplicationStatus, DuplicateCandidate, NewApplicationRow, StoredMessage } from './applications.repository.ts';
import { boardNoticeMail, confirmationMail, questionMail, rejectionMail } from './applications.mails.ts';
import { isUniqueViolation } from '../db/errors.ts';

export { STATUSES, QUEUE_STATUSES, DECIDABLE_STATUSES, OPEN_STATUSES, isStatus } from './applications.repository.ts';
export type { Application, ApplicationContact, ApplicationStatus } from './applications.repository.ts';

/** A message of the conversation with its author's name (a board member; null: the applicant). */
export interface ApplicationMessage extends StoredMessage {
  authorName: string | null;
}

export interface DuplicateHint {
  kind: 'application' | 'organisation';
  id: number;
  label: string; // reference or member number
  name: string;
  status: string;
  reason: 'vat' | 'name_postcode';
}

/** What approval needs of the dues module: the first (pro-rata) dues invoice of the join year. */
export interface FirstDuesInvoice {
  issueAndDeliver(actor: Actor, organisationId: number, year: number): Promise<{ issued: true; invoiceId: number } | { issued: false }>;
}

export interface ApplicationsDeps {
  db: Knex;
  clock: Clock;
  audit: AuditService;
  tokens: TokenService;
  outbox: Outbox;
  settings: SettingsService;
  members: MembersService;
  /** The board members' names (who decided, who wrote a message). */
  users: Pick<UsersService, 'byId'>;
  /** Issues the first dues invoice after an approval; null: nothing is issued (the dues run of the year will). */
  dues: FirstDuesInvoice | null;
  config: Config;
  log: Logger;
  /** Records the consents given in the application for the new member's contacts (GDPR). */
  /**
   * h/bank2: creates the SEPA mandate granted on the form for the new member, in the approval's
   * transaction (SepaService.createMandateInTrx, wired in context.ts); unset: not created.
   */
  mandates?: {
    createFromApplication(trx: Knex.Transaction, actor: Actor, organisationId: number, m: { scheme: 'CORE' | 'B2B'; iban: string; holder: string; signedOn: string }): Promise<number>;
  };
  consents?: {
    recordConsent(trx: Knex.Transaction, contactId: number, kind: 'email_invitations' | 'privacy_notice', version: string, givenAt: string, source: string): Promise<number>;
  };
}

/** How long the links in the e-mails are valid. */
export const CONFIRM_TTL_MS = 7 * DAY_MS;
export const ANSWER_TTL_MS = 30 * DAY_MS;

export const APPLICANT: Actor = { userId: null, label: 'applicant' };

export type LinkResult<T> = ({ ok: true } & T) | { ok: false; reason: 'unknown' | 'expired' | 'used' };

type OrganisationColumns = Pick<NewApplicationRow, 'legal_name' | 'legal_form' | 'street' | 'postcode' | 'city' | 'country' | 'website' | 'register_entry' | 'vat_id' | 'field_of_activity' | 'employee_band' | 'name_key'>;

/** The organisation's columns of an application row. */
function orgColumns(o: OrganisationFields): OrganisationColumns {
  // why: organisationFieldsToRow gives exactly the eleven organisation columns (typed as a string record); the band is set typed here
  const columns = organisationFieldsToRow(o) as Omit<OrganisationColumns, 'employee_band' | 'name_key'>;
  return { ...columns, employee_band: o.employeeBand, name_key: nameKey(o.legalName) };
}

function orgOf(a: Application): OrganisationFields {
  return {
    legalName: a.legalName, legalForm: a.legalForm, street: a.street, postcode: a.postcode, city: a.city, country: a.country,
    website: a.website, registerEntry: a.registerEntry, vatId: a.vatId, fieldOfActivity: a.fieldOfActivity, employeeBand: a.employeeBand,
  };
}

/** The application's contacts as member contacts; one contact per e-mail address. */
function toMemberContacts(contacts: ApplicationContact[], locale: Locale, consent: boolean): NewContact[] {
  const hasBilling = contacts.some((c) => c.role === 'billing');
  const out: NewContact[] = [];
  for (const c of contacts) {
    const isRepresentative = c.role === 'representative';
    // without a separate billing contact, invoices go to the representative
    const isBilling = c.role === 'billing' || (isRepresentative && !hasBilling);
    const same = out.find((o) => o.email === c.email);
    if (same) {
      same.isRepresentative ||= isRepresentative;
      same.isBilling ||= isBilling;
      same.name ||= c.name;
      same.phone ||= c.phone;
      same.position ||= c.position;
      continue;
    }
    out.push({ name: c.name, email: c.email, phone: c.phone, position: c.position, isRepresentative, isBilling, locale, consentEmailInvitations: consent });
  }
  return out;
}

/**
 * Possible duplicates of each application: another open application or an organisation
 * in the register with the same VAT ID, or with the same name (normalised) and postcode.
 * Only flags; nothing is merged or dropped.
 */
function duplicateHints(apps: Application[], otherApps: DuplicateCandidate[], orgs: OrganisationMatch[]): Map<number, DuplicateHint[]> {
  const out = new Map<number, DuplicateHint[]>();
  const norm = (p: string) => String(p ?? '').replace(/\s+/g, '').toUpperCase();
  const reasonOf = (a: Application, o: { vatId: string; nameKey: string; postcode: string }): DuplicateHint['reason'] | null =>
    a.vatId && o.vatId === a.vatId ? 'vat' : o.nameKey === a.nameKey && norm(o.postcode) === norm(a.postcode) ? 'name_postcode' : null;
  for (const a of apps) {
    const hints: DuplicateHint[] = [];
    const seen = new Set<string>();
    const add = (h: DuplicateHint) => {
      const k = `${h.kind}:${h.id}`;
      if (seen.has(k)) return;
      seen.add(k);
      hints.push(h);
    };
    for (const o of otherApps) {
      if (o.id === a.id) continue;
      const reason = reasonOf(a, o);
      if (reason) add({ kind: 'application', id: o.id, label: o.reference, name: o.legalName, status: o.status, reason });
    }
    for (const o of orgs) {
      if (a.organisationId === o.id || o.applicationId === a.id) continue; // its own membership
      const reason = reasonOf(a, o);
      if (reason) add({ kind: 'organisation', id: o.id, label: formatMemberNumber(o.memberNumber), name: o.legalName, status: o.status, reason });
    }
    out.set(a.id, hints);
  }
  return out;
}

export interface ApplicationDetail {
  application: Application;
  contacts: ApplicationContact[];
  messages: ApplicationMessage[];
  duplicates: DuplicateHint[];
  decidedByName: string | null;
  memberNumber: number | null;
  /** The application's audit trail, newest first. */
  audit: AuditEntry[];
  /** Every category (inactive ones too: the application may name one). */
  categories: Category[];
  /** The board may approve, reject or ask back (confirmed and undecided). */
  canDecide: boolean;
  /** The board may record a withdrawal (not yet decided). */
  canWithdraw: boolean;
  /** The join date the approval form suggests: today. */
  defaultJoinDate: string;
}

export interface ApplicationQueue {
  counts: Record<ApplicationStatus, number>;
  /** How many are in the board's default queue (confirmed, undecided). */
  queueCount: number;
  rows: (Application & { duplicates: DuplicateHint[] })[];
  total: number;
  page: number;
  pages: number;
  /** Every category (inactive ones too), to name each application's. */
  categories: Category[];
}

/** Membership applications: submit, confirm (double opt-in), review, ask back, decide. */
export class ApplicationsService {
  constructor(private d: ApplicationsDeps) {}

  private now(): string {
    return iso(this.d.clock.now());
  }

  /* ───────────── applicant side ───────────── */

  /** The categories an applicant may choose in the form. */
  async openCategories(): Promise<Category[]> {
    return (await this.d.settings.categories()).filter((c) => c.openToApplicants);
  }

  /** h/bank2: the association as SEPA creditor for the form's mandate section (name and creditor ID), or null when no valid creditor ID is set. */
  async mandateCreditor(): Promise<{ name: string; creditorId: string } | null> {
    const a = await this.d.settings.association();
    const creditorId = compactCode(a.sepaCreditorId ?? '');
    return creditorId && isValidCreditorId(creditorId) ? { name: a.bankHolder || a.name, creditorId } : null;
  }

  /**
   * Stores a new application (status unconfirmed) and sends the confirmation link to the
   * voting representative. The same submission key (double click, back button) gives the
   * application already stored instead of a second one.
   */
  async submit(input: ApplicationInput, locale: Locale): Promise<{ id: number; reference: string; created: boolean }> {
    if (input.submissionKey) {
      const existing = await repo.findBySubmissionKey(this.d.db, input.submissionKey);
      if (existing) return { id: existing.id, reference: existing.reference, created: false };
    }
    const submissionKey = input.submissionKey || `srv-${crypto.randomUUID()}`;
    const association = await this.d.settings.association();
    try {
      const result = await this.d.db.transaction(async (trx) => {
        const now = this.now();
        const year = DateTime.fromJSDate(this.d.clock.now(), { zone: ZONE }).year;
        const n = await nextValue(trx, `application_reference_${year}`, async () => 1);
        const reference = `A-${year}-${String(n).padStart(4, '0')}`;
        const row: NewApplicationRow = {
          reference,
          submission_key: submissionKey,
          status: 'unconfirmed',
          ...orgColumns(input.organisation),
          category_id: input.categoryId,
          contribution: input.contribution,
          locale,
          consent_bylaws_at: now,
          consent_privacy_at: now,
          privacy_version: association.privacyNoticeVersion,
          consent_email_invitations: input.consentEmailInvitations,
          sepa_scheme: input.mandate?.scheme ?? null,
          sepa_iban: input.mandate?.iban ?? null,
          sepa_holder: input.mandate?.holder ?? null,
          sepa_consent_at: input.mandate ? now : null,
          version: 1,
          created_at: now,
          updated_at: now,
        };
        const id = await repo.insertApplication(trx, row,
          input.contacts.map((c, i) => ({ role: c.role, name: c.name, email: c.email, phone: c.phone, position: c.position, sort_order: i })));
        await this.d.audit.record(trx, APPLICANT, 'application.submitted', 'application', id, undefined, {
          reference, status: 'unconfirmed', categoryId: input.categoryId, locale, privacyVersion: association.privacyNoticeVersion,
          consentEmailInvitations: input.consentEmailInvitations, contacts: input.contacts.length, sepaMandate: input.mandate ? input.mandate.scheme : null,
        });
        const rep = input.contacts.find((c) => c.role === 'representative')!;
        const token = await this.d.tokens.issue('confirm_application', 'application', id, CONFIRM_TTL_MS, trx);
        await this.d.outbox.enqueue(trx, confirmationMail(this.d.config.baseUrl, association, { id, reference, legalName: input.organisation.legalName, locale }, rep, token, (await this.d.settings.rules(trx)).unconfirmedApplicationDays));
        return { id, reference };
      });
      this.d.log.info({ applicationId: result.id, reference: result.reference }, 'application submitted');
      return { ...result, created: true };
    } catch (err) {
      // two requests with the same key at once: the unique index lets one win
      if (isUniqueViolation(err)) {
        const existing = await repo.findBySubmissionKey(this.d.db, submissionKey);
        if (existing) return { id: existing.id, reference: existing.reference, created: false };
      }
      throw err;
    }
  }

  /** What the confirmation page shows before the applicant presses the button. */
  async checkConfirmLink(token: string): Promise<LinkResult<{ application: Application }>> {
    const c = await this.d.tokens.check('confirm_application', token);
    if (!c.ok) return { ok: false, reason: c.reason };
    const application = await repo.findById(this.d.db, c.subjectId);
    if (!application) return { ok: false, reason: 'unknown' };
    if (application.status !== 'unconfirmed') return { ok: false, reason: 'used' };
    return { ok: true, application };
  }

  /** Confirms the e-mail address (POST only, so link scanners do not confirm); the board is told. */
  async confirm(token: string): Promise<LinkResult<{ reference: string }>> {
    const association = await this.d.settings.association();
    const r = await this.d.db.transaction(async (trx): Promise<LinkResult<{ reference: string; id: number }>> => {
      const c = await this.d.tokens.check('confirm_application', token, trx);
      if (!c.ok) return { ok: false, reason: c.reason };
      if (!(await this.d.tokens.consume(c.id, trx))) return { ok: false, reason: 'used' };
      const app = await repo.findById(trx, c.subjectId);
      if (!app) return { ok: false, reason: 'unknown' };
      const now = this.now();
      const moved = await repo.updateIf(trx, { id: app.id, statuses: ['unconfirmed'] },
        { status: 'submitted', confirmed_at: now, updated_at: now, version: app.version + 1 });
      if (!moved) return { ok: false, reason: 'used' };
      await this.d.tokens.revokeAll('confirm_application', 'application', app.id, trx);
      await this.d.audit.record(trx, APPLICANT, 'application.confirmed', 'application', app.id, { status: 'unconfirmed' }, { status: 'submitted' });
      await this.d.outbox.enqueue(trx, boardNoticeMail(this.d.config.baseUrl, association, app, 'new'));
      return { ok: true, reference: app.reference, id: app.id };
    });
    if (r.ok) this.d.log.info({ applicationId: r.id }, 'application confirmed');
    return r.ok ? { ok: true, reference: r.reference } : r;
  }

  /**
   * Sends a new confirmation link for each unconfirmed application whose representative
   * has this address. The caller answers the same whether or not one exists.
   */
  async resendConfirmation(email: string): Promise<number> {
    const ids = await repo.unconfirmedIdsByRepresentativeEmail(this.d.db, email.trim().toLowerCase(), 5);
    if (!ids.length) return 0;
    const association = await this.d.settings.association();
    await this.d.db.transaction(async (trx) => {
      for (const id of ids) {
        const app = (await repo.findById(trx, id))!;
        const rep = (await repo.representativeOf(trx, app.id))!;
        await this.d.tokens.revokeAll('confirm_application', 'application', app.id, trx);
        const token = await this.d.tokens.issue('confirm_application', 'application', app.id, CONFIRM_TTL_MS, trx);
        await this.d.outbox.enqueue(trx, confirmationMail(this.d.config.baseUrl, association, app, rep, token, (await this.d.settings.rules(trx)).unconfirmedApplicationDays));
        await this.d.audit.record(trx, APPLICANT, 'application.confirmation_resent', 'application', app.id);
      }
    });
    return ids.length;
  }

  /** The answer page: the application and the questions and answers so far (never internal comments). */
  async checkAnswerLink(token: string): Promise<LinkResult<{ application: Application; messages: ApplicationMessage[] }>> {
    const c = await this.d.tokens.check('answer_application', token);
    if (!c.ok) return { ok: false, reason: c.reason };
    const application = await repo.findById(this.d.db, c.subjectId);
    if (!application) return { ok: false, reason: 'unknown' };
    if (application.status !== 'info_requested') return { ok: false, reason: 'used' };
    const messages = await this.messages(application.id, { includeInternal: false });
    return { ok: true, application, messages };
  }

  /** The applicant answers (and may correct the organisation's data); back to the board's queue. */
  async answer(token: string, input: { answer: string; organisation: OrganisationFields }): Promise<LinkResult<{ reference: string }>> {
    const association = await this.d.settings.association();
    return this.d.db.transaction(async (trx): Promise<LinkResult<{ reference: string }>> => {
      const c = await this.d.tokens.check('answer_application', token, trx);
      if (!c.ok) return { ok: false, reason: c.reason };
      const app = await repo.findById(trx, c.subjectId);
      if (!app) return { ok: false, reason: 'unknown' };
      if (!(await this.d.tokens.consume(c.id, trx))) return { ok: false, reason: 'used' };
      const now = this.now();
      const changes = orgColumns(input.organisation);
      const moved = await repo.updateIf(trx, { id: app.id, statuses: ['info_requested'] },
        { ...changes, status: 'submitted', version: app.version + 1, updated_at: now });
      if (!moved) return { ok: false, reason: 'used' };
      await repo.insertMessage(trx, { application_id: app.id, kind: 'answer', body: input.answer, author_user_id: null, created_at: now });
      const d = diff({ ...orgOf(app), status: app.status }, { ...input.organisation, status: 'submitted' });
      await this.d.audit.record(trx, APPLICANT, 'application.answered', 'application', app.id, d.before, d.after);
      await this.d.outbox.enqueue(trx, boardNoticeMail(this.d.config.baseUrl, association, { ...app, legalName: input.organisation.legalName }, 'answered', input.answer));
      return { ok: true, reference: app.reference };
    });
  }

  /* ───────────── board side ───────────── */

  async counts(): Promise<Record<ApplicationStatus, number>> {
    return repo.countsByStatus(this.d.db);
  }

  /** The board's queue page: the counts per status, one page of the list and the categories to name. */
  async queue(opts: { status?: ApplicationStatus; page?: number } = {}): Promise<ApplicationQueue> {
    const counts = await this.counts();
    const result = await this.list(opts);
    const categories = await this.d.settings.categories({ includeInactive: true });
    const queueCount = repo.QUEUE_STATUSES.reduce((n, s) => n + counts[s], 0);
    return { counts, queueCount, ...result, categories };
  }

  /** The queue: by default the confirmed, undecided applications, oldest first; each with its possible duplicates. */
  async list(opts: { status?: ApplicationStatus; page?: number; pageSize?: number } = {}): Promise<{ rows: (Application & { duplicates: DuplicateHint[] })[]; total: number; page: number; pages: number }> {
    const statuses = opts.status ? [opts.status] : repo.QUEUE_STATUSES;
    const pageSize = opts.pageSize ?? 50;
    const page = Math.max(1, opts.page ?? 1);
    const oldestFirst = statuses.every((s) => repo.OPEN_STATUSES.includes(s));
    const { rows, total } = await repo.list(this.d.db, statuses, { limit: pageSize, offset: (page - 1) * pageSize, oldestFirst });
    const dups = await this.duplicatesFor(rows);
    return { rows: rows.map((r) => ({ ...r, duplicates: dups.get(r.id) ?? [] })), total, page, pages: Math.max(1, Math.ceil(total / pageSize)) };
  }

  async get(id: number): Promise<Application | undefined> {
    return repo.findById(this.d.db, id);
  }

  /** The board's page of one application: its data, conversation, duplicates, audit trail and what the board may do. */
  async detail(id: number): Promise<ApplicationDetail> {
    const application = await repo.findById(this.d.db, id);
    if (!application) throw new NotFoundError();
    const [contacts, messages, dups] = [
      await repo.contactsOf(this.d.db, id),
      await this.messages(id, { includeInternal: true }),
      await this.duplicatesFor([application]),
    ];
    const decider = application.decidedBy ? await this.d.users.byId(application.decidedBy) : undefined;
    const org = application.organisationId ? await this.d.members.get(application.organisationId) : undefined;
    const categories = await this.d.settings.categories({ includeInactive: true });
    const audit = await this.d.audit.list({ entityType: 'application', entityId: id, limit: 200 });
    return {
      application, contacts, messages, duplicates: dups.get(id) ?? [],
      decidedByName: decider?.displayName ?? null,
      memberNumber: org ? org.memberNumber : null,
      audit,
      categories,
      canDecide: repo.DECIDABLE_STATUSES.includes(application.status),
      canWithdraw: repo.OPEN_STATUSES.includes(application.status),
      defaultJoinDate: this.today(),
    };
  }

  /** The conversation with each author's name (users that no longer exist: no name). */
  private async messages(applicationId: number, opts: { includeInternal: boolean }): Promise<ApplicationMessage[]> {
    const stored = await repo.messagesOf(this.d.db, applicationId, opts);
    const names = new Map<number, string | null>();
    for (const m of stored) {
      if (m.authorUserId != null && !names.has(m.authorUserId)) names.set(m.authorUserId, (await this.d.users.byId(m.authorUserId))?.displayName ?? null);
    }
    return stored.map((m) => ({ ...m, authorName: m.authorUserId == null ? null : names.get(m.authorUserId) ?? null }));
  }

  /** Possible duplicates of each application, among the open applications and the register. */
  private async duplicatesFor(apps: Application[]): Promise<Map<number, DuplicateHint[]>> {
    if (!apps.length) return new Map();
    const vatIds = [...new Set(apps.map((a) => a.vatId).filter(Boolean))];
    const nameKeys = [...new Set(apps.map((a) => a.nameKey))];
    const otherApps = await repo.openApplicationsMatching(this.d.db, vatIds, nameKeys);
    const orgs = await this.d.members.organisationsMatching(vatIds, nameKeys);
    return duplicateHints(apps, otherApps, orgs);
  }

  private async load(trx: Knex.Transaction, id: number): Promise<Application> {
    const app = await repo.findById(trx, id);
    if (!app) throw new NotFoundError();
    return app;
  }

  /** An internal note of the board; never e-mailed, never shown to the applicant. */
  async comment(actor: Actor, id: number, body: string): Promise<void> {
    await this.d.db.transaction(async (trx) => {
      await this.load(trx, id);
      const messageId = await repo.insertMessage(trx, { application_id: id, kind: 'comment', body, author_user_id: actor.userId, created_at: this.now() });
      await this.d.audit.record(trx, actor, 'application.commented', 'application', id, undefined, { messageId });
    });
  }

  /** Asks the applicant a question: status "information requested", e-mail with a link to answer. */
  async askQuestion(actor: Actor, id: number, question: string): Promise<void> {
    const association = await this.d.settings.association();
    await this.d.db.transaction(async (trx) => {
      const app = await this.load(trx, id);
      const now = this.now();
      const moved = await repo.updateIf(trx, { id, statuses: repo.DECIDABLE_STATUSES },
        { status: 'info_requested', version: app.version + 1, updated_at: now });
      if (!moved) throw new ConflictError('application_not_open', { status: app.status });
      const messageId = await repo.insertMessage(trx, { application_id: id, kind: 'question', body: question, author_user_id: actor.userId, created_at: now });
      await this.d.tokens.revokeAll('answer_application', 'application', id, trx);
      const token = await this.d.tokens.issue('answer_application', 'application', id, ANSWER_TTL_MS, trx);
      const rep = (await repo.representativeOf(trx, id))!;
      await this.d.outbox.enqueue(trx, questionMail(this.d.config.baseUrl, association, app, rep, question, token));
      await this.d.audit.record(trx, actor, 'application.question_asked', 'application', id, { status: app.status }, { status: 'info_requested', messageId });
    });
  }

  /**
   * Approves: in one transaction the status moves only if nobody decided meanwhile (status
   * and version checked in the UPDATE), then the member organisation is created with the
   * next member number, its contacts get portal accounts and the welcome e-mail.
   */
  async approve(actor: Actor, id: number, input: { version: number; resolutionRef: string; joinDate: string; categoryId: number }): Promise<{ organisationId: number; memberNumber: number }> {
    const category = await this.d.settings.category(input.categoryId);
    if (!category || !category.active) throw new AppError(422, 'invalid_category');
    const result = await this.d.db.transaction(async (trx) => {
      const before = await this.load(trx, id);
      const now = this.now();
      const moved = await repo.updateIf(trx, { id, statuses: repo.DECIDABLE_STATUSES, version: input.version }, {
        status: 'approved', decided_at: now, decided_by: actor.userId, resolution_ref: input.resolutionRef, decision_reason: null,
        category_id: input.categoryId, version: input.version + 1, updated_at: now,
      });
      if (!moved) throw new ConflictError('application_already_decided', { status: before.status });
      const contacts = await repo.contactsOf(trx, id);
      const created = await this.d.members.createOrganisation(
        trx,
        actor,
        { ...orgOf(before), categoryId: input.categoryId, joinDate: input.joinDate, applicationId: id },
        toMemberContacts(contacts, before.locale, before.consentEmailInvitations),
        { invite: true, welcome: true },
      );
      await repo.setOrganisation(trx, id, created.organisationId);
      // h/bank2: the mandate granted on the form, active from the application's date
      if (before.mandate && this.d.mandates) {
        await this.d.mandates.createFromApplication(trx, actor, created.organisationId, { ...before.mandate, signedOn: berlinDate(new Date(before.createdAt)) });
      }
      if (this.d.consents) {
        const source = `application ${before.reference}`;
        const ids = (await this.d.members.contactsIn(trx, created.organisationId)).map((c) => c.id).sort((a, b) => a - b);
        for (const contactId of ids) {
          await this.d.consents.recordConsent(trx, contactId, 'privacy_notice', before.privacyVersion, before.consentPrivacyAt, source);
          if (before.consentEmailInvitations) await this.d.consents.recordConsent(trx, contactId, 'email_invitations', 'Textform', before.consentPrivacyAt, source);
        }
      }
      await this.d.tokens.revokeAll('answer_application', 'application', id, trx);
      await this.d.audit.record(trx, actor, 'application.approved', 'application', id,
        { status: before.status, categoryId: before.categoryId },
        { status: 'approved', categoryId: input.categoryId, resolutionRef: input.resolutionRef, joinDate: input.joinDate, organisationId: created.organisationId, memberNumber: created.memberNumber });
      return created;
    });
    this.d.log.info({ applicationId: id, organisationId: result.organisationId }, 'application approved');
    // The first (pro-rata) dues invoice, if dues are set up: a fee schedule for the join year.
    // After the approval committed; if it fails, the dues run of that year issues it.
    if (this.d.dues) {
      const year = Number(input.joinDate.slice(0, 4));
      try {
        const r = await this.d.dues.issueAndDeliver(actor, result.organisationId, year);
        if (r.issued) this.d.log.info({ applicationId: id, organisationId: result.organisationId, invoiceId: r.invoiceId }, 'first dues invoice issued');
      } catch (err) {
        this.d.log.error({ applicationId: id, organisationId: result.organisationId, err: err instanceof Error ? err.message : String(err) }, 'first dues invoice not issued; the dues run of the year will');
      }
    }
    return result;
  }

  /** Rejects with a resolution reference and an optional reason; a polite e-mail goes to the applicant. */
  async reject(actor: Actor, id: number, input: { version: number; resolutionRef: string; reason: string }): Promise<void> {
    const association = await this.d.settings.association();
    await this.d.db.transaction(async (trx) => {
      const before = await this.load(trx, id);
      const now = this.now();
      const reason = input.reason.trim() || null;
      const moved = await repo.updateIf(trx, { id, statuses: repo.DECIDABLE_STATUSES, version: input.version }, {
        status: 'rejected', decided_at: now, decided_by: actor.userId, resolution_ref: input.resolutionRef, decision_reason: reason,
        version: input.version + 1, updated_at: now,
      });
      if (!moved) throw new ConflictError('application_already_decided', { status: before.status });
      await this.d.tokens.revokeAll('answer_application', 'application', id, trx);
      const rep = await repo.representativeOf(trx, id);
      if (rep) await this.d.outbox.enqueue(trx, rejectionMail(association, before, rep, reason));
      await this.d.audit.record(trx, actor, 'application.rejected', 'application', id, { status: before.status },
        { status: 'rejected', resolutionRef: input.resolutionRef, reason });
    });
  }

  /** Marks an undecided application as withdrawn at the applicant's request. */
  async withdraw(actor: Actor, id: number, input: { version: number; note: string }): Promise<void> {
    await this.d.db.transaction(async (trx) => {
      const before = await this.load(trx, id);
      const now = this.now();
      const note = input.note.trim() || null;
      const moved = await repo.updateIf(trx, { id, statuses: repo.OPEN_STATUSES, version: input.version }, {
        status: 'withdrawn', decided_at: now, decided_by: actor.userId, decision_reason: note, version: input.version + 1, updated_at: now,
      });
      if (!moved) throw new ConflictError('application_already_decided', { status: before.status });
      await this.d.tokens.revokeAll('answer_application', 'application', id, trx);
      await this.d.tokens.revokeAll('confirm_application', 'application', id, trx);
      await this.d.audit.record(trx, actor, 'application.withdrawn', 'application', id, { status: before.status }, { status: 'withdrawn', note });
    });
  }

  /** Today in Europe/Berlin: the default join date. */
  today(): string {
    return berlinDate(this.d.clock.now());
  }

  /* ───────────── retention ───────────── */

  /**
   * Deletes rejected and withdrawn applications decided more than the retention period ago
   * (settings: applicationRetentionMonths), and unconfirmed ones older than the days the
   * confirmation mail promises (settings: unconfirmedApplicationDays), each chunk with
   * their contacts, messages and links. The audit log keeps only that it happened.
   */
  async purgeExpired(): Promise<{ deleted: number }> {
    const ids = await this.expiredIds();
    for (let i = 0; i < ids.length; i += 500) {
      const part = ids.slice(i, i + 500);
      await this.d.db.transaction(async (trx) => {
        await this.d.tokens.deleteAllOf('application', part, trx);
        await repo.deleteApplications(trx, part);
        for (const id of part) await this.d.audit.record(trx, SYSTEM, 'application.purged', 'application', id);
      });
    }
    if (ids.length) this.d.log.info({ count: ids.length }, 'expired applications deleted');
    return { deleted: ids.length };
  }

  /** The applications whose retention period has passed (what purgeExpired deletes). */
  async expiredIds(): Promise<number[]> {
    const rules = await this.d.settings.rules();
    const now = DateTime.fromJSDate(this.d.clock.now(), { zone: 'utc' });
    const decidedBefore = now.minus({ months: rules.applicationRetentionMonths }).toISO()!;
    const createdBefore = now.minus({ days: rules.unconfirmedApplicationDays }).toISO()!;
    return repo.expiredIds(this.d.db, decidedBefore, createdBefore);
  }

  /** An organisation's applications with their contacts and messages, as stored (for its GDPR data export). */
  dataOfOrganisation(organisationId: number): ReturnType<typeof repo.rowsOfOrganisation> {
    return repo.rowsOfOrganisation(this.d.db, organisationId);
  }

  /** Anonymises the contacts of an organisation's applications (inside the caller's transaction). */
  anonymiseContactsOfOrganisation(trx: Knex.Transaction, organisationId: number, placeholder: string): Promise<void> {
    return repo.anonymiseContactsOfOrganisation(trx, organisationId, placeholder);
  }

  /** h/gdpr: the applications' street and the known values in their free texts and messages (inside the caller's transaction). */
  anonymiseApplicationTexts(trx: Knex.Transaction, subject: DataSubject): Promise<void> {
    return repo.anonymiseApplicationTexts(trx, subject);
  }
}
