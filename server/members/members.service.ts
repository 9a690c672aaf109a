import type { Knex } from 'knex';
import { berlinDate, iso, type Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import { bool as b } from '../db/knex.ts';
import { nextValue, raiseTo } from '../db/counters.ts';
import type { Actor, AuditEntry, AuditService } from '../audit/audit.service.ts';
import { diff, SYSTEM } from '../audit/audit.service.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import type { Category } from '../settings/settings.schemas.ts';
import { exitDateFromEffective, formerFrom, isCalendarDate, mayTransition, noticeExitDate, statusForExit, type ExitReason } from './exit-rules.ts';
import { censusTotal, legalNames, listOrganisations, membersOnDay, readCensus, refreshSearchWords, registerStats, type Census, type ListPage, type RollMember } from './members.repository.ts';
import { organisationRowsByIds, organisationsMatching, type OrganisationMatch } from './members.repository.ts';
export type { OrganisationMatch } from './members.repository.ts';
import { contactRowsById, membersOfYearQuery, organisationIdsWithEmail, organisationRow } from './members.repository.ts'; // for the dues module
import * as orgs from './organisations.repository.ts';
import type { ContactRow, OrganisationRow } from './members.tables.ts';
import type { ContactInput, ListQuery, OrganisationEdit } from './members.schemas.ts';
import type { TokenService } from '../auth/tokens.ts';
import type { Outbox } from '../mail/outbox.service.ts';
import type { SettingsService } from '../settings/settings.service.ts';
import type { ChangeFeed } from '../db/change-feed.ts';
import type { UsersService } from '../auth/users.service.ts';
import { normaliseEmail } from '../auth/users.service.ts';
import { INVITATION_TTL_MS } from '../auth/invitation.ts';
import { tFor, type Locale } from '../i18n/i18n.ts';
import { formatMemberNumber } from '../i18n/format.ts';
import { organisationFieldsFromRow, organisationFieldsToRow, type OrganisationFields } from './organisation-fields.ts';
import { greeting } from '../mail/greeting.ts';

export interface NewOrganisation extends OrganisationFields {
  categoryId: number;
  joinDate: string; // YYYY-MM-DD
  applicationId?: number | null;
  memberNumber?: number; // given for imported founding members; otherwise the next one
}

export interface NewContact {
  name: string;
  email: string;
  phone: string;
  position: string;
  isRepresentative: boolean;
  isBilling: boolean;
  locale: Locale;
  consentEmailInvitations: boolean;
}

export interface Organisation extends OrganisationFields {
  id: number;
  memberNumber: number;
  memberNo: string;
  categoryId: number;
  status: string;
  joinDate: string;
  exitDate: string | null;
  exitReason: string | null;
  exitReference: string | null;
  notes: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
  /** h/einvoice: a public body (receives XRechnung addressed by its Leitweg-ID) and the form its invoices take */
  einvoice: { publicBody: boolean; leitwegId: string; format: 'hybrid' | 'xrechnung' | 'both' };
}

export interface Contact {
  id: number;
  organisationId: number;
  name: string;
  email: string;
  phone: string;
  position: string;
  isRepresentative: boolean;
  isBilling: boolean;
  locale: Locale;
  consentEmailInvitations: boolean;
  userId: number | null;
  version: number;
}

export function nameKey(name: string): string {
  return name.normalize('NFC').toLowerCase().replace(/\s+/g, ' ').trim();
}

export function rowToOrganisation(r: OrganisationRow): Organisation {
  return {
    id: Number(r.id),
    memberNumber: Number(r.member_number),
    memberNo: formatMemberNumber(Number(r.member_number)),
    ...organisationFieldsFromRow(r),
    categoryId: Number(r.category_id),
    status: r.status,
    joinDate: r.join_date,
    exitDate: r.exit_date,
    exitReason: r.exit_reason,
    exitReference: r.exit_reference ?? null,
    notes: r.notes,
    version: Number(r.version),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    // h/einvoice
    einvoice: {
      publicBody: !!r.public_body && r.public_body !== 0,
      leitwegId: r.leitweg_id ?? '',
      format: r.einvoice_format === 'xrechnung' || r.einvoice_format === 'both' ? r.einvoice_format : 'hybrid',
    },
  };
}

export function rowToContact(r: ContactRow): Contact {
  return {
    id: Number(r.id),
    organisationId: Number(r.organisation_id),
    name: r.name,
    email: r.email,
    phone: r.phone,
    position: r.position,
    isRepresentative: b(r.is_representative),
    isBilling: b(r.is_billing),
    locale: r.locale === 'en' ? 'en' : 'de',
    consentEmailInvitations: b(r.consent_email_invitations),
    userId: r.user_id == null ? null : Number(r.user_id),
    version: r.version == null ? 1 : Number(r.version),
  };
}

interface Deps {
  db: Knex;
  clock: Clock;
  audit: AuditService;
  tokens: TokenService;
  outbox: Outbox;
  settings: SettingsService;
  users: UsersService;
  config: Config;
  changes: ChangeFeed;
}

/** The member register: organisations, their contacts and membership history. */
export class MembersService {
  constructor(private d: Deps) {
    d.changes.subscribe('members', () => this.dropCaches()); // another process changed the register (PostgreSQL)
  }

  // h/money2: who is told, inside the writing transaction, that a member's billing data changed
  // (name, address, VAT ID, contacts): the Stripe customer update (server/dues/stripe-customer.job.ts)
  private billingListeners: ((trx: Knex.Transaction, organisationId: number) => Promise<void>)[] = [];
  onBillingDataChanged(fn: (trx: Knex.Transaction, organisationId: number) => Promise<void>): void {
    this.billingListeners.push(fn);
  }
  private async billingDataChanged(trx: Knex.Transaction, organisationId: number): Promise<void> {
    for (const fn of this.billingListeners) await fn(trx, organisationId);
  }

  /**
   * The census (members per category and status, first and last join date) and the answer
   * "no exit is due today" are read on every register page, so they are cached. Every write to
   * organisations goes through this service and calls changed(): the cache is dropped at once
   * and again when the writing transaction ends, and a read that overlapped a change or an open
   * writing transaction is not cached, so a change made in this process shows on the next
   * page. A change made by another process arrives through the change feed at once on PostgreSQL
   * (server/db/change-feed.ts); on SQLite one made by another process (the CLI) shows within CACHE_MS.
   */
  static CACHE_MS = 5_000;
  private census?: { value: Census; at: number };
  private dueChecked?: { today: string; generation: number; at: number };
  private generation = 0;
  private openWrites = 0;
  private tracked = new WeakSet<Knex.Transaction>();

  private dropCaches(): void {
    this.generation++;
    this.census = undefined;
    this.dueChecked = undefined;
  }

  /** Called by every write to organisations (inside its transaction). */
  private changed(trx: Knex.Transaction): void {
    this.dropCaches();
    void this.d.changes.notify('members', undefined, trx).catch(() => undefined); // sent on commit; a failed notice fails the transaction anyway
    if (this.tracked.has(trx)) return;
    this.tracked.add(trx);
    this.openWrites++;
    const done = () => {
      this.openWrites--;
      this.dropCaches();
    };
    trx.executionPromise.then(done, done);
  }

  private async registerCensus(): Promise<Census> {
    const hit = this.census;
    if (hit && Date.now() - hit.at < MembersService.CACHE_MS) return hit.value;
    // one read at a time: when the cache runs out under load, the waiting pages share it
    const generation = this.generation;
    const loading = this.censusLoading;
    if (loading && loading.generation === generation) return loading.promise;
    const promise = readCensus(this.d.db).then((value) => {
      if (generation === this.generation && this.openWrites === 0 && this.d.changes.live) this.census = { value, at: Date.now() };
      return value;
    }).finally(() => {
      if (this.censusLoading?.promise === promise) this.censusLoading = undefined;
    });
    this.censusLoading = { generation, promise };
    return promise;
  }
  private censusLoading?: { generation: number; promise: Promise<Census> };

  /** The next member number (gapless), taken inside the caller's transaction. */
  async nextMemberNumber(trx: Knex.Transaction): Promise<number> {
    return nextValue(trx, 'member_number', async () => (await orgs.maxMemberNumber(trx)) + 1);
  }

  /**
   * Creates a member organisation with its contacts inside the caller's transaction: member
   * number, history entry, audit entry; each contact with an e-mail address gets a portal
   * account (role member) and an invitation link to set a password.
   */
  async createOrganisation(
    trx: Knex.Transaction,
    actor: Actor,
    org: NewOrganisation,
    contacts: NewContact[],
    opts: { invite: boolean; welcome: boolean },
  ): Promise<{ organisationId: number; memberNumber: number }> {
    const now = iso(this.d.clock.now());
    let memberNumber: number;
    if (org.memberNumber) {
      memberNumber = org.memberNumber;
      // keep the counter ahead of imported numbers
      await raiseTo(trx, 'member_number', memberNumber);
    } else {
      memberNumber = await this.nextMemberNumber(trx);
    }
    const organisationId = await orgs.insertOrganisation(trx, {
      member_number: memberNumber,
      ...organisationFieldsToRow(org),
      category_id: org.categoryId,
      status: 'active',
      join_date: org.joinDate,
      name_key: nameKey(org.legalName),
      city_key: nameKey(org.city),
      application_id: org.applicationId ?? null,
      version: 1,
      created_at: now,
      updated_at: now,
    });
    this.changed(trx);
    await orgs.insertHistory(trx, {
      organisation_id: organisationId,
      effective_date: org.joinDate,
      kind: 'joined',
      category_id: org.categoryId,
      status: 'active',
      reference: null,
      note: null,
      created_by: actor.userId,
      created_at: now,
    });
    await this.d.audit.record(trx, actor, 'member.created', 'organisation', organisationId, undefined, { memberNumber, ...org });

    const association = await this.d.settings.association(trx);
    for (const c of contacts) {
      await this.insertContact(trx, actor, { id: organisationId, legalName: org.legalName, memberNumber }, c, opts, association.name);
    }
    // the register's search keys: name, town and the contacts' names
    await refreshSearchWords(trx, organisationId);
    return { organisationId, memberNumber };
  }

  /**
   * Inserts one contact (the caller's transaction); with `invite`, a contact with an e-mail
   * address gets a portal account (role member) and a set-password link (welcome or invitation).
   */
  private async insertContact(
    trx: Knex.Transaction,
    actor: Actor,
    org: { id: number; legalName: string; memberNumber: number },
    c: NewContact,
    opts: { invite: boolean; welcome: boolean },
    associationName: string,
  ): Promise<number> {
    const now = iso(this.d.clock.now());
    const email = c.email ? normaliseEmail(c.email) : '';
    const contactId = await orgs.insertContact(trx, {
      organisation_id: org.id,
      name: c.name,
      name_key: nameKey(c.name),
      email,
      phone: c.phone,
      position: c.position,
      is_representative: c.isRepresentative,
      is_billing: c.isBilling,
      locale: c.locale,
      consent_email_invitations: c.consentEmailInvitations,
      user_id: null,
      version: 1,
      created_at: now,
      updated_at: now,
    });
    await this.d.audit.record(trx, actor, 'contact.created', 'contact', contactId, undefined, {
      organisationId: org.id, role: c.isRepresentative ? 'representative' : c.isBilling ? 'billing' : 'other',
      name: c.name, email, phone: c.phone, position: c.position, isRepresentative: c.isRepresentative, isBilling: c.isBilling,
      locale: c.locale, consentEmailInvitations: c.consentEmailInvitations,
    });
    if (email && opts.invite) await this.linkAndInvite(trx, actor, org, contactId, { name: c.name, email, locale: c.locale }, opts.welcome, associationName);
    return contactId;
  }

  /**
   * Gives a contact a portal account (role member; an existing user with that e-mail is reused)
   * and, if the account has no password yet, an e-mail with a set-password link.
   */
  private async linkAndInvite(
    trx: Knex.Transaction,
    actor: Actor,
    org: { id: number; legalName: string; memberNumber: number },
    contactId: number,
    c: { name: string; email: string; locale: Locale },
    welcome: boolean,
    associationName: string,
  ): Promise<void> {
    const email = normaliseEmail(c.email);
    const { userId, hasPassword } = await this.d.users.ensureMemberAccount(trx, actor, { email, displayName: c.name || email, locale: c.locale });
    await orgs.updateContact(trx, contactId, { user_id: userId });
    await this.d.users.contactLinksChanged([userId], trx); // the account now acts for this organisation
    if (hasPassword) return;
    const token = await this.d.tokens.issue('set_password', 'user', userId, INVITATION_TTL_MS, trx);
    const t = tFor(c.locale);
    await this.d.outbox.enqueue(trx, {
      template: welcome ? 'member_welcome' : 'portal_invitation',
      locale: c.locale,
      to: email,
      related: { type: 'organisation', id: org.id },
      content: {
        subject: t(welcome ? 'members.mail.welcome.subject' : 'members.mail.invitation.subject', { association: associationName }),
        greeting: greeting(t, c.name),
        paragraphs: welcome
          ? [
              t('members.mail.welcome.intro', { association: associationName, organisation: org.legalName, memberNo: formatMemberNumber(org.memberNumber) }),
              t('members.mail.welcome.portal'),
            ]
          : [t('members.mail.invitation.intro', { association: associationName, organisation: org.legalName })],
        action: { label: t('auth.mail.set_password.action'), url: `${this.d.config.baseUrl}/welcome/${token}` },
        afterAction: [t('auth.mail.set_password.expiry')],
        signature: associationName,
      },
    });
  }

  async get(id: number): Promise<Organisation | undefined> {
    const r = await orgs.organisationRow(this.d.db, id);
    return r ? rowToOrganisation(r) : undefined;
  }

  async contacts(organisationId: number): Promise<Contact[]> {
    return (await orgs.contactsOf(this.d.db, organisationId)).map(rowToContact);
  }

  // ---------------------------------------------------------------------------------------
  // The register: list, detail, edits, contacts, exits
  // ---------------------------------------------------------------------------------------

  private todayMemo?: { minute: number; date: string };

  /** Today in Berlin (the same for every instant of a minute: luxon once a minute, not per page). */
  private today(): string {
    const minute = Math.floor(this.d.clock.now().getTime() / 60_000);
    if (this.todayMemo?.minute !== minute) this.todayMemo = { minute, date: berlinDate(new Date(minute * 60_000)) };
    return this.todayMemo.date;
  }

  /**
   * Turns members whose exit date has passed into former members: status 'former', a history
   * row 'exited' effective the day after the last day of membership, an audit entry by the
   * system. Idempotent (the conditional update changes a row once), cheap when nothing is due
   * (an index range on (status, exit_date)). No page reads call it (a GET changes nothing):
   * the server's minute timer (DueExitsTimer, started in main.ts) calls it, so an exit shows
   * within a minute of midnight on the first day as a former member.
   *
   * Why stored rather than computed on every read: the status filter, the counts at the top,
   * the exports and later the assembly invitations all filter on `status`; a stored status
   * keeps those queries plain and indexable, where a computed one would repeat
   * "status = 'notice_given' AND exit_date < today" in every query of every module. The CLI
   * may call it too; running it twice does nothing the second time.
   */
  async applyDueExits(today = this.today()): Promise<number> {
    // nothing was due today and nothing changed since: no query (see CACHE_MS)
    const checked = this.dueChecked;
    if (checked && checked.today === today && checked.generation === this.generation && Date.now() - checked.at < MembersService.CACHE_MS) return 0;
    const generation = this.generation;
    // pages arriving while the check runs share it (and its result: a page waits for the exits)
    const running = this.dueRunning;
    if (running && running.today === today && running.generation === generation) return running.promise;
    const promise = this.exitDue(today, generation).finally(() => {
      if (this.dueRunning?.promise === promise) this.dueRunning = undefined;
    });
    this.dueRunning = { today, generation, promise };
    return promise;
  }
  private dueRunning?: { today: string; generation: number; promise: Promise<number> };

  private async exitDue(today: string, generation: number): Promise<number> {
    const due = await orgs.dueExitIds(this.d.db, today);
    if (!due.length) {
      if (generation === this.generation && this.openWrites === 0) this.dueChecked = { today, generation, at: Date.now() };
      return 0;
    }
    let n = 0;
    for (const id of due) {
      await this.d.db.transaction(async (trx) => {
        const r = await orgs.dueExitRow(trx, id, today);
        if (!r || !r.exit_date) return; // the query selected exit_date < today: never null here
        this.changed(trx);
        const changed = await orgs.updateOrganisationAtVersion(trx, id, r.version, { status: 'former', version: Number(r.version) + 1, updated_at: iso(this.d.clock.now()) });
        if (!changed) return;
        await this.history(trx, SYSTEM, Number(id), { kind: 'exited', effectiveDate: formerFrom(r.exit_date), status: 'former', reference: r.exit_reference ?? null, note: null });
        await this.d.audit.record(trx, SYSTEM, 'member.exited', 'organisation', Number(id), { status: 'notice_given' }, { status: 'former', exitDate: r.exit_date, exitReason: r.exit_reason });
        n++;
      });
    }
    return n;
  }

  private async history(
    trx: Knex.Transaction,
    actor: Actor,
    organisationId: number,
    h: { kind: string; effectiveDate: string; status?: string | null; categoryId?: number | null; reference?: string | null; note?: string | null },
  ): Promise<void> {
    await orgs.insertHistory(trx, {
      organisation_id: organisationId,
      effective_date: h.effectiveDate,
      kind: h.kind,
      category_id: h.categoryId ?? null,
      status: h.status ?? null,
      reference: h.reference || null,
      note: h.note || null,
      created_by: actor.userId,
      created_at: iso(this.d.clock.now()),
    });
  }

  /** The register list: one page (keyset paging), the capped total and the numbers at a glance. */
  async list(query: ListQuery, opts: { organisationIds?: Knex.QueryBuilder } = {}): Promise<{ page: ListPage & { items: ListItem[] }; stats: RegisterStats; years: number[] }> {
    const census = await this.registerCensus();
    const filter = { q: query.q, status: query.status, categoryId: query.category, year: query.year, organisationIds: opts.organisationIds }; // h/stripe: organisationIds
    const page = await listOrganisations(
      this.d.db,
      filter,
      nameKey(query.q),
      query.sort,
      query.dir,
      { after: query.after, before: query.before },
      { knownTotal: censusTotal(census, filter) },
    );
    const categories = new Map((await this.d.settings.categories({ includeInactive: true })).map((c) => [c.id, c]));
    const items = page.rows.map((r): ListItem => {
      const category = categories.get(Number(r.category_id));
      return {
        id: Number(r.id),
        memberNumber: Number(r.member_number),
        memberNo: formatMemberNumber(Number(r.member_number)),
        legalName: r.legal_name,
        city: r.city,
        categoryId: Number(r.category_id),
        status: r.status,
        joinDate: r.join_date,
        exitDate: r.exit_date,
        categoryNameDe: category?.nameDe ?? '',
        categoryNameEn: category?.nameEn ?? '',
        hasVote: category?.hasVote ?? false,
      };
    });
    const vote = (categoryId: number) => categories.get(categoryId)?.hasVote ?? false;
    const stats = registerStats(census, vote);
    const years: number[] = [];
    if (census.firstJoin && census.lastJoin) for (let y = Number(census.lastJoin.slice(0, 4)); y >= Number(census.firstJoin.slice(0, 4)); y--) years.push(y);
    return { page: { ...page, items }, stats, years };
  }

  /** Everything the detail page shows. */
  async detail(id: number): Promise<MemberDetail> {
    const organisation = await this.get(id);
    if (!organisation) throw new NotFoundError();
    const [category, categories, contacts, historyRows] = await Promise.all([
      this.d.settings.category(organisation.categoryId),
      this.d.settings.categories({ includeInactive: true }), // cached: no query
      this.contacts(id),
      orgs.historyOf(this.d.db, id, this.d.users.displayNameOf(this.d.db, 'h.created_by')),
    ]);
    const categoryById = new Map(categories.map((c) => [c.id, c]));
    const history: HistoryEntry[] = historyRows.map((r) => ({
      id: Number(r.id),
      effectiveDate: r.effective_date,
      kind: r.kind,
      categoryId: r.category_id == null ? null : Number(r.category_id),
      categoryNameDe: r.category_id == null ? null : categoryById.get(Number(r.category_id))?.nameDe ?? null,
      categoryNameEn: r.category_id == null ? null : categoryById.get(Number(r.category_id))?.nameEn ?? null,
      status: r.status ?? null,
      reference: r.reference ?? null,
      note: r.note ?? null,
      createdAt: r.created_at,
      createdBy: r.display_name ?? null,
    }));
    // the organisation's and its contacts' audit entries, newest first: one query
    const contactIds = contacts.map((c) => c.id);
    const audit = (await this.d.audit.forEntities([{ entityType: 'organisation', ids: [id] }, { entityType: 'contact', ids: contactIds }], { order: 'desc', limit: 200 })).map(auditLine);
    return { organisation, category, contacts, history, audit };
  }

  /** Edits the organisation's data and notes (optimistic locking on `version`). */
  async updateOrganisation(actor: Actor, id: number, input: OrganisationEdit): Promise<{ changed: boolean }> {
    return this.d.db.transaction(async (trx) => {
      const row = await this.lockedRow(trx, id, input.version);
      const before = editableOf(rowToOrganisation(row));
      const after: Record<string, unknown> = {
        legalName: input.legalName, legalForm: input.legalForm, street: input.street, postcode: input.postcode, city: input.city,
        country: input.country, website: input.website, registerEntry: input.registerEntry, vatId: input.vatId,
        fieldOfActivity: input.fieldOfActivity, employeeBand: input.employeeBand, notes: input.notes || null,
      };
      const d = diff(before, after);
      if (!Object.keys(d.after).length) return { changed: false };
      await this.bump(trx, id, input.version, {
        ...organisationFieldsToRow(input), notes: input.notes || null,
        name_key: nameKey(input.legalName), city_key: nameKey(input.city),
      });
      if (nameKey(input.legalName) !== row.name_key || nameKey(input.city) !== row.city_key) {
        await refreshSearchWords(trx, id);
      }
      await this.d.audit.record(trx, actor, 'member.updated', 'organisation', id, d.before, d.after);
      if (['legalName', 'street', 'postcode', 'city', 'country', 'vatId'].some((k) => k in d.after)) await this.billingDataChanged(trx, id); // h/money2
      return { changed: true };
    });
  }

  /** h/einvoice: a member as a public body with its Leitweg-ID, and the form of its invoices (hybrid PDF, XRechnung, both); audited. */
  async setEInvoicePreference(actor: Actor, id: number, value: { publicBody: boolean; leitwegId: string; format: 'hybrid' | 'xrechnung' | 'both' }): Promise<{ changed: boolean }> {
    return this.d.db.transaction(async (trx) => {
      const row = await orgs.organisationRow(trx, id);
      if (!row) throw new NotFoundError();
      const before = rowToOrganisation(row).einvoice;
      const after = { publicBody: value.publicBody, leitwegId: value.publicBody ? value.leitwegId : '', format: value.format };
      const d = diff(before, after);
      if (!Object.keys(d.after).length) return { changed: false };
      await orgs.updateOrganisationAtVersion(trx, id, Number(row.version), {
        public_body: after.publicBody, leitweg_id: after.leitwegId, einvoice_format: after.format, version: Number(row.version) + 1, updated_at: iso(this.d.clock.now()),
      });
      await this.d.audit.record(trx, actor, 'member.einvoice_updated', 'organisation', id, d.before, d.after);
      return { changed: true };
    });
  }

  /** The organisation row, or 404; a stale version is a conflict. */
  private async lockedRow(trx: Knex.Transaction, id: number, version: number): Promise<OrganisationRow> {
    const row = await orgs.organisationRow(trx, id);
    if (!row) throw new NotFoundError();
    if (Number(row.version) !== version) throw new ConflictError('changed_meanwhile');
    return row;
  }

  /** `update … where id = ? and version = ?`: no row means someone else saved first. */
  private async bump(trx: Knex.Transaction, id: number, version: number, values: Partial<OrganisationRow>): Promise<void> {
    this.changed(trx);
    const n = await orgs.updateOrganisationAtVersion(trx, id, version, { ...values, version: version + 1, updated_at: iso(this.d.clock.now()) });
    if (n !== 1) throw new ConflictError('changed_meanwhile');
  }

  /** A new category from an effective date: history entry and audit. */
  async changeCategory(actor: Actor, id: number, input: { categoryId: number; effectiveDate: string; note: string; version: number }): Promise<void> {
    await this.d.db.transaction(async (trx) => {
      const row = await this.lockedRow(trx, id, input.version);
      const category = await this.d.settings.category(input.categoryId, trx);
      if (!category) throw new ValidationError({ categoryId: 'common.validation.choice' });
      if (Number(row.category_id) === input.categoryId) throw new ValidationError({ categoryId: 'members.validation.sameCategory' });
      if (row.status === 'former') throw new ValidationError({ categoryId: 'members.validation.formerMember' });
      if (input.effectiveDate < row.join_date) throw new ValidationError({ effectiveDate: 'members.validation.beforeJoin' });
      await this.bump(trx, id, input.version, { category_id: input.categoryId });
      await this.history(trx, actor, id, { kind: 'category_changed', effectiveDate: input.effectiveDate, categoryId: input.categoryId, note: input.note });
      await this.d.audit.record(trx, actor, 'member.category_changed', 'organisation', id, { categoryId: Number(row.category_id) }, { categoryId: input.categoryId, category: category.code, effectiveDate: input.effectiveDate });
    });
  }

  /** Notice of termination received on a date: the exit date follows from the bylaws' rule. */
  async recordNotice(actor: Actor, id: number, input: { receivedDate: string; note: string; version: number }): Promise<{ exitDate: string; status: string }> {
    const today = this.today();
    return this.d.db.transaction(async (trx) => {
      const row = await this.lockedRow(trx, id, input.version);
      if (!mayTransition(row.status, 'notice')) throw new ValidationError({ receivedDate: 'members.validation.notActive' });
      if (input.receivedDate > today) throw new ValidationError({ receivedDate: 'members.validation.future' });
      if (input.receivedDate < row.join_date) throw new ValidationError({ receivedDate: 'members.validation.beforeJoin' });
      const rules = await this.d.settings.rules(trx);
      const exitDate = noticeExitDate(input.receivedDate, rules);
      const status = statusForExit(exitDate, today);
      await this.bump(trx, id, input.version, { status, exit_date: exitDate, exit_reason: 'notice', exit_reference: null });
      await this.history(trx, actor, id, { kind: 'notice_received', effectiveDate: input.receivedDate, status: 'notice_given', note: input.note });
      if (status === 'former') await this.history(trx, actor, id, { kind: 'exited', effectiveDate: formerFrom(exitDate), status: 'former' });
      await this.d.audit.record(trx, actor, 'member.notice_recorded', 'organisation', id, exitState(row), { status, exitDate, exitReason: 'notice', receivedDate: input.receivedDate });
      return { exitDate, status };
    });
  }

  /** Exclusion by board resolution, effective on a date (from that day no longer a member). */
  async exclude(actor: Actor, id: number, input: { reference: string; effectiveDate: string; note: string; version: number }): Promise<{ exitDate: string; status: string }> {
    return this.endMembership(actor, id, 'exclusion', input);
  }

  /** Dissolution of the firm (Auflösung / Löschung), effective on a date. */
  async dissolve(actor: Actor, id: number, input: { effectiveDate: string; note: string; version: number }): Promise<{ exitDate: string; status: string }> {
    return this.endMembership(actor, id, 'dissolution', { ...input, reference: '' });
  }

  private async endMembership(
    actor: Actor,
    id: number,
    reason: Exclude<ExitReason, 'notice'>,
    input: { reference: string; effectiveDate: string; note: string; version: number },
  ): Promise<{ exitDate: string; status: string }> {
    const today = this.today();
    return this.d.db.transaction(async (trx) => {
      const row = await this.lockedRow(trx, id, input.version);
      if (!mayTransition(row.status, reason)) throw new ValidationError({ effectiveDate: 'members.validation.alreadyFormer' });
      if (!isCalendarDate(input.effectiveDate) || input.effectiveDate <= row.join_date) throw new ValidationError({ effectiveDate: 'members.validation.afterJoin' });
      const exitDate = exitDateFromEffective(input.effectiveDate);
      if (row.exit_date && exitDate > row.exit_date) throw new ValidationError({ effectiveDate: 'members.validation.afterPendingExit' });
      const status = statusForExit(exitDate, today);
      await this.bump(trx, id, input.version, { status, exit_date: exitDate, exit_reason: reason, exit_reference: input.reference || null });
      await this.history(trx, actor, id, { kind: reason === 'exclusion' ? 'excluded' : 'dissolved', effectiveDate: input.effectiveDate, reference: input.reference, note: input.note });
      if (status === 'former') await this.history(trx, actor, id, { kind: 'exited', effectiveDate: input.effectiveDate, status: 'former', reference: input.reference });
      await this.d.audit.record(trx, actor, reason === 'exclusion' ? 'member.excluded' : 'member.dissolved', 'organisation', id, exitState(row), {
        status, exitDate, exitReason: reason, ...(input.reference ? { reference: input.reference } : {}), effectiveDate: input.effectiveDate,
      });
      return { exitDate, status };
    });
  }

  /** A former member becomes a member again from a date (keeps its member number and join date). */
  async reactivate(actor: Actor, id: number, input: { effectiveDate: string; note: string; version: number }): Promise<void> {
    const today = this.today();
    await this.d.db.transaction(async (trx) => {
      const row = await this.lockedRow(trx, id, input.version);
      if (!mayTransition(row.status, 'reactivation')) throw new ValidationError({ effectiveDate: 'members.validation.notFormer' });
      if (input.effectiveDate > today) throw new ValidationError({ effectiveDate: 'members.validation.future' });
      if (row.exit_date && input.effectiveDate <= row.exit_date) throw new ValidationError({ effectiveDate: 'members.validation.afterExit' });
      await this.bump(trx, id, input.version, { status: 'active', exit_date: null, exit_reason: null, exit_reference: null });
      await this.history(trx, actor, id, { kind: 'reactivated', effectiveDate: input.effectiveDate, status: 'active', note: input.note });
      await this.d.audit.record(trx, actor, 'member.reactivated', 'organisation', id, exitState(row), { status: 'active', exitDate: null, exitReason: null, effectiveDate: input.effectiveDate });
    });
  }

  /** Withdraws a notice (or a pending exclusion or dissolution) before it takes effect. */
  async withdrawNotice(actor: Actor, id: number, input: { note: string; version: number }): Promise<void> {
    const today = this.today();
    await this.d.db.transaction(async (trx) => {
      const row = await this.lockedRow(trx, id, input.version);
      if (!mayTransition(row.status, 'withdrawal')) throw new ValidationError({ note: 'members.validation.noPendingExit' });
      await this.bump(trx, id, input.version, { status: 'active', exit_date: null, exit_reason: null, exit_reference: null });
      await this.history(trx, actor, id, { kind: 'notice_withdrawn', effectiveDate: today, status: 'active', note: input.note });
      await this.d.audit.record(trx, actor, 'member.notice_withdrawn', 'organisation', id, exitState(row), { status: 'active', exitDate: null, exitReason: null });
    });
  }

  async contact(organisationId: number, contactId: number): Promise<Contact> {
    const r = await orgs.contactOf(this.d.db, organisationId, contactId);
    if (!r) throw new NotFoundError();
    return rowToContact(r);
  }

  /** Moves the representative flag to `contactId`: every other contact loses it (audited). */
  private async moveRepresentative(trx: Knex.Transaction, actor: Actor, organisationId: number, contactId: number | null): Promise<void> {
    const others = await orgs.representativesOf(trx, organisationId, contactId);
    for (const o of others) {
      await orgs.updateContact(trx, o.id, { is_representative: false, version: Number(o.version ?? 1) + 1, updated_at: iso(this.d.clock.now()) });
      await this.d.audit.record(trx, actor, 'contact.updated', 'contact', Number(o.id), { isRepresentative: true }, { isRepresentative: false });
    }
  }

  /** Adds a contact; the first contact, or one marked so, becomes the voting representative. */
  async addContact(actor: Actor, organisationId: number, input: ContactInput): Promise<number> {
    return this.d.db.transaction(async (trx) => {
      const org = await orgs.organisationRow(trx, organisationId);
      if (!org) throw new NotFoundError();
      const hasRep = (await orgs.representativesOf(trx, organisationId, null)).length > 0;
      const makeRep = input.isRepresentative || !hasRep;
      if (makeRep && hasRep) await this.moveRepresentative(trx, actor, organisationId, null);
      const association = await this.d.settings.association(trx);
      const contactId = await this.insertContact(
        trx, actor, { id: organisationId, legalName: org.legal_name, memberNumber: Number(org.member_number) },
        { ...contactOf(input), isRepresentative: makeRep },
        { invite: input.invite && !!input.email, welcome: false },
        association.name,
      );
      if (nameKey(input.name)) await refreshSearchWords(trx, organisationId);
      await this.billingDataChanged(trx, organisationId); // h/money2: perhaps the new billing contact
      return contactId;
    });
  }

  /** Edits a contact (optimistic locking on the contact's version). */
  async updateContact(actor: Actor, organisationId: number, contactId: number, input: ContactInput): Promise<void> {
    await this.d.db.transaction(async (trx) => {
      const row = await orgs.contactOf(trx, organisationId, contactId);
      if (!row) throw new NotFoundError();
      const current = rowToContact(row);
      if (current.version !== input.version) throw new ConflictError('changed_meanwhile');
      if (current.isRepresentative && !input.isRepresentative) throw new ValidationError({ isRepresentative: 'members.validation.representativeRequired' });
      if (input.isRepresentative && !current.isRepresentative) await this.moveRepresentative(trx, actor, organisationId, contactId);
      const next = contactOf(input);
      const d = diff(
        { name: current.name, email: current.email, phone: current.phone, position: current.position, isRepresentative: current.isRepresentative, isBilling: current.isBilling, locale: current.locale, consentEmailInvitations: current.consentEmailInvitations },
        { ...next },
      );
      if (Object.keys(d.after).length) {
        const n = await orgs.updateContactAtVersion(trx, contactId, input.version, {
          name: next.name, name_key: nameKey(next.name), email: next.email, phone: next.phone, position: next.position,
          is_representative: next.isRepresentative, is_billing: next.isBilling, locale: next.locale,
          consent_email_invitations: next.consentEmailInvitations, version: input.version + 1, updated_at: iso(this.d.clock.now()),
        });
        if (n !== 1) throw new ConflictError('changed_meanwhile');
        if (nameKey(next.name) !== row.name_key) await refreshSearchWords(trx, organisationId);
        await this.d.audit.record(trx, actor, 'contact.updated', 'contact', contactId, d.before, d.after);
        if (['name', 'email', 'locale', 'isBilling', 'isRepresentative'].some((k) => k in d.after)) await this.billingDataChanged(trx, organisationId); // h/money2
      }
      if (input.invite && next.email && !current.userId) {
        const org = await orgs.organisationRow(trx, organisationId);
        if (!org) throw new NotFoundError();
        const association = await this.d.settings.association(trx);
        await this.linkAndInvite(trx, actor, { id: organisationId, legalName: org.legal_name, memberNumber: Number(org.member_number) }, contactId, next, false, association.name);
      }
    });
  }

  /**
   * Removes a contact. The voting representative cannot be removed: first make another
   * contact the representative. A portal account that no longer acts for any organisation
   * loses its member role (the account itself stays, with its audit history).
   */
  async removeContact(actor: Actor, organisationId: number, contactId: number): Promise<void> {
    await this.d.db.transaction(async (trx) => {
      const row = await orgs.contactOf(trx, organisationId, contactId);
      if (!row) throw new NotFoundError();
      const c = rowToContact(row);
      if (c.isRepresentative) throw new ValidationError({ contact: 'members.validation.cannotRemoveRepresentative' });
      await orgs.deleteContact(trx, contactId);
      if (c.userId) await this.d.users.contactLinksChanged([c.userId], trx); // the account no longer acts through this contact
      await refreshSearchWords(trx, organisationId);
      await this.billingDataChanged(trx, organisationId); // h/money2: perhaps the billing contact
      await this.d.audit.record(trx, actor, 'contact.removed', 'organisation', organisationId, {
        contactId, name: c.name, email: c.email, phone: c.phone, position: c.position, isBilling: c.isBilling,
      }, undefined);
      if (c.userId && !(await orgs.userHasContact(trx, c.userId))) {
        const removed = await this.d.users.removeRole(c.userId, 'member', trx);
        if (removed) await this.d.audit.record(trx, actor, 'user.member_role_removed', 'user', c.userId, { roles: ['member'] }, { roles: [] });
      }
    });
  }

  /**
   * Members on a date (YYYY-MM-DD): joined on or before it, last day of membership not
   * before it, and not in a gap between an exit and a reactivation (the latest status row of
   * the history on or before the date is not 'former').
   */
  async countActive(onDate?: string): Promise<number> {
    return orgs.countMembersOn(this.d.db, onDate ?? this.today());
  }

  // h/demand: the minority demand's supporters that still count (§ 37 BGB)
  /** Of these organisations, the ones that are members on the date (default today), as countActive counts them. */
  async membersAmong(ids: number[], onDate?: string): Promise<Set<number>> {
    return new Set(ids.length ? await orgs.memberIdsAmong(this.d.db, onDate ?? this.today(), [...new Set(ids)]) : []);
  }

  /** Members with a vote on a date: as countActive, with the category valid on that date. */
  async countVoting(onDate?: string): Promise<number> {
    const voting = (await this.d.settings.categories({ includeInactive: true })).filter((c) => c.hasVote).map((c) => c.id);
    return orgs.countMembersOn(this.d.db, onDate ?? this.today(), voting);
  }

  /** The members with a vote on `day` (by their current category) with their contacts, for an assembly's roll; `q` reads inside the caller's transaction. */
  async votingMembersOn(day: string, q: Knex | Knex.Transaction = this.d.db): Promise<RollMember[]> {
    const voting = (await this.d.settings.categories({ includeInactive: true }, q)).filter((c) => c.hasVote).map((c) => c.id);
    return membersOnDay(q, day, voting);
  }

  /** h/attend: every member on `day` (any category) with their contacts and whether its category has a vote, for an assembly's roll. */
  async membersOn(day: string, q: Knex | Knex.Transaction = this.d.db): Promise<(RollMember & { categoryHasVote: boolean })[]> {
    const voting = new Set((await this.d.settings.categories({ includeInactive: true }, q)).filter((c) => c.hasVote).map((c) => c.id));
    return (await membersOnDay(q, day, null)).map((m) => ({ ...m, categoryHasVote: voting.has(m.categoryId) }));
  }

  /** The legal names of organisations by id. */
  async legalNames(ids: number[]): Promise<Map<number, string>> {
    return legalNames(this.d.db, ids);
  }

  /** Organisations with one of the VAT IDs or name keys (an application's duplicate check). */
  async organisationsMatching(vatIds: string[], nameKeys: string[]): Promise<OrganisationMatch[]> {
    return organisationsMatching(this.d.db, vatIds, nameKeys);
  }

  /** The organisations with these ids (unknown ids are left out, order not kept). */
  async getMany(ids: number[]): Promise<Organisation[]> {
    return (await organisationRowsByIds(this.d.db, [...new Set(ids)])).map(rowToOrganisation);
  }

  /** The organisations that belong in a dues year (joined by its end, not left before its start), by member number (for the dues module). */
  async membersOfYear(year: number): Promise<Pick<Organisation, 'id' | 'memberNumber' | 'legalName' | 'categoryId' | 'employeeBand' | 'joinDate' | 'exitDate'>[]> {
    // h/money: with the exit date, so the dues preview can refuse periods after it
    const rows: Record<string, unknown>[] = await membersOfYearQuery(this.d.db, year).select('id', 'member_number', 'legal_name', 'category_id', 'employee_band', 'join_date', 'exit_date');
    return rows.map((r) => ({
      id: Number(r.id), memberNumber: Number(r.member_number), legalName: String(r.legal_name), categoryId: Number(r.category_id),
      employeeBand: String(r.employee_band ?? ''), joinDate: String(r.join_date), exitDate: r.exit_date == null ? null : String(r.exit_date),
    }));
  }

  /** The ids of the organisations that belong in a dues year, by member number (for the dues module). */
  async memberIdsOfYear(year: number): Promise<number[]> {
    const rows: { id: number }[] = await membersOfYearQuery(this.d.db, year).select('id');
    return rows.map((r) => Number(r.id));
  }

  /** One organisation, read inside the caller's transaction (SQLite has one connection). */
  async getIn(trx: Knex | Knex.Transaction, id: number): Promise<Organisation | undefined> {
    const r = await organisationRow(trx, id);
    return r ? rowToOrganisation(r) : undefined;
  }

  /** An organisation's contacts by id, read inside the caller's transaction. */
  async contactsIn(trx: Knex | Knex.Transaction, organisationId: number): Promise<Contact[]> {
    return (await contactRowsById(trx, organisationId)).map(rowToContact);
  }

  /** The ids of the organisations with at least one contact e-mail address. */
  async organisationIdsWithEmail(): Promise<Set<number>> {
    return new Set(await organisationIdsWithEmail(this.d.db));
  }

  // h/groups: contacts for the working groups
  /** The contacts with these ids (unknown ids, e.g. removed contacts, are left out). */
  async contactsByIds(ids: number[]): Promise<Contact[]> {
    return ids.length ? (await orgs.contactRowsByIds(this.d.db, [...new Set(ids)])).map(rowToContact) : [];
  }

  /** The contacts with this e-mail address (case-insensitive), in id order. */
  async contactsByEmail(email: string): Promise<Contact[]> {
    return (await orgs.contactRowsByEmail(this.d.db, email)).map(rowToContact);
  }

  /** Today in Europe/Berlin (YYYY-MM-DD), as the register counts members. */
  todayInBerlin(): string {
    return this.today();
  }
  // h/groups: end
}

/** A row of the register list (the columns of LIST_COLUMNS). */
export interface ListItem extends Pick<Organisation, 'id' | 'memberNumber' | 'memberNo' | 'legalName' | 'city' | 'categoryId' | 'status' | 'joinDate' | 'exitDate'> {
  categoryNameDe: string;
  categoryNameEn: string;
  hasVote: boolean;
}

export interface RegisterStats {
  active: number;
  voting: number;
  noticeGiven: number;
  former: number;
}

export interface HistoryEntry {
  id: number;
  effectiveDate: string;
  kind: string;
  categoryId: number | null;
  categoryNameDe: string | null;
  categoryNameEn: string | null;
  status: string | null;
  reference: string | null;
  note: string | null;
  createdAt: string;
  createdBy: string | null;
}

export interface AuditLine {
  id: number;
  at: string;
  actorLabel: string;
  action: string;
  entityType: string;
  entityId: number | null;
  changes: { field: string; before: string; after: string }[];
}

export interface MemberDetail {
  organisation: Organisation;
  category: Category | undefined;
  contacts: Contact[];
  history: HistoryEntry[];
  audit: AuditLine[];
}

function show(v: unknown): string {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

function auditLine(e: AuditEntry): AuditLine {
  const before = (e.before && typeof e.before === 'object' ? e.before : {}) as Record<string, unknown>; // why: checked to be an object; audit JSON objects
  const after = (e.after && typeof e.after === 'object' ? e.after : {}) as Record<string, unknown>; // why: checked to be an object; audit JSON objects
  const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  return {
    id: e.id, at: e.at, actorLabel: e.actorLabel, action: e.action, entityType: e.entityType, entityId: e.entityId,
    changes: fields.map((field) => ({ field, before: show(before[field]), after: show(after[field]) })),
  };
}

function editableOf(o: Organisation): Record<string, unknown> {
  return {
    legalName: o.legalName, legalForm: o.legalForm, street: o.street, postcode: o.postcode, city: o.city, country: o.country,
    website: o.website, registerEntry: o.registerEntry, vatId: o.vatId, fieldOfActivity: o.fieldOfActivity,
    employeeBand: o.employeeBand, notes: o.notes || null,
  };
}

function exitState(row: OrganisationRow): Record<string, unknown> {
  return { status: row.status, exitDate: row.exit_date ?? null, exitReason: row.exit_reason ?? null };
}

function contactOf(input: ContactInput): NewContact {
  return {
    name: input.name, email: input.email, phone: input.phone, position: input.position,
    isRepresentative: input.isRepresentative, isBilling: input.isBilling, locale: input.locale,
    consentEmailInvitations: input.consentEmailInvitations,
  };
}
