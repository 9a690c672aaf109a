import type {} from './portal.tables.ts';
import type { Knex } from 'knex';
import type { TFunction } from 'i18next';
import { iso, type Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import { affected, insertId } from '../db/knex.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import type { Outbox } from '../mail/outbox.service.ts';
import type { SettingsService } from '../settings/settings.service.ts';
import type { Category } from '../settings/settings.schemas.ts';
import type { UsersService } from '../auth/users.service.ts';
import type { Contact, MembersService, Organisation } from '../members/members.service.ts';
import type { ContactInput, OrganisationEdit } from '../members/members.schemas.ts';
import { tFor, type Locale } from '../i18n/i18n.ts';
import { formatDateTime, formatMemberNumber } from '../i18n/format.ts';
import { REQUESTABLE_FIELDS, type ChangeRequestInput, type RequestableField } from './portal.schemas.ts';

export type ChangeRequestStatus = 'pending' | 'approved' | 'rejected' | 'withdrawn';

export interface ChangeRequest {
  id: number;
  organisationId: number;
  organisationName: string;
  memberNo: string;
  memberNumber: number;
  requestedByUserId: number | null;
  requestedByLabel: string;
  changes: Partial<Record<RequestableField, string>>;
  previous: Partial<Record<RequestableField, string>>;
  status: ChangeRequestStatus;
  decidedBy: number | null;
  decidedByLabel: string | null;
  decidedAt: string | null;
  decisionNote: string | null;
  createdAt: string;
}

/** One requested field: the value at request time, the requested value, the value now. */
export interface FieldChange {
  field: RequestableField;
  before: string;
  after: string;
  current: string;
  /** The organisation's value changed since the request, to something other than the request. */
  conflict: boolean;
}

interface Deps {
  db: Knex;
  clock: Clock;
  audit: AuditService;
  outbox: Outbox;
  settings: SettingsService;
  members: MembersService;
  users: UsersService;
  config: Config;
}

const BOARD_LOCALE: Locale = 'de';

function rowToRequest(r: Record<string, any>): ChangeRequest {
  return {
    id: Number(r.id),
    organisationId: Number(r.organisation_id),
    organisationName: r.legal_name ?? '',
    memberNumber: Number(r.member_number ?? 0),
    memberNo: r.member_number == null ? '' : formatMemberNumber(Number(r.member_number)),
    requestedByUserId: r.requested_by_user_id == null ? null : Number(r.requested_by_user_id),
    requestedByLabel: r.requested_by_label ?? '',
    changes: JSON.parse(r.changes),
    previous: JSON.parse(r.previous),
    status: r.status,
    decidedBy: r.decided_by == null ? null : Number(r.decided_by),
    decidedByLabel: r.decided_by_label ?? null,
    decidedAt: r.decided_at ?? null,
    decisionNote: r.decision_note ?? null,
    createdAt: r.created_at,
  };
}

/** The organisation's value of a requestable field, as a string. */
function valueOf(org: Organisation, field: RequestableField): string {
  return String(org[field] ?? '');
}

/** A field's value for people: country and employee band by name, the rest as stored. */
export function displayValue(t: TFunction, field: RequestableField, value: string | undefined): string {
  if (!value) return '';
  if (field === 'country') return t(`common.countries.${value}`, { defaultValue: value });
  if (field === 'employeeBand') return t(`common.bands.${value}`, { defaultValue: value });
  return value;
}

/** What a contact's form gives the register's service: the contact as it is, with changes. */
function inputOf(c: Contact, over: Partial<ContactInput> = {}): ContactInput {
  return {
    name: c.name, email: c.email, phone: c.phone, position: c.position, isRepresentative: c.isRepresentative, isBilling: c.isBilling,
    locale: c.locale, consentEmailInvitations: c.consentEmailInvitations, invite: false, version: c.version, ...over,
  };
}

/**
 * The member portal: a member contact's view of their own organisation, their edits of the
 * organisation's contacts (through the register's service, which audits them) and their
 * requests to change the organisation's register data, which the board approves or rejects.
 * Every method takes the organisation id from the signed-in user, never from the request.
 */
export class PortalService {
  constructor(private d: Deps) {}

  // ---------------------------------------------------------------------------------------
  // The organisation and its contacts
  // ---------------------------------------------------------------------------------------

  async overview(organisationId: number): Promise<{ organisation: Organisation; category: Category | undefined; contacts: Contact[]; requests: ChangeRequest[] }> {
    const organisation = await this.d.members.get(organisationId);
    if (!organisation) throw new NotFoundError();
    const [category, contacts, requests] = await Promise.all([
      this.d.settings.category(organisation.categoryId),
      this.d.members.contacts(organisationId),
      this.requestsFor(organisationId),
    ]);
    return { organisation, category, contacts, requests };
  }

  /** A contact of the organisation, or 404 (a contact of another organisation is never found). */
  contact(organisationId: number, contactId: number): Promise<Contact> {
    return this.d.members.contact(organisationId, contactId);
  }

  private async representative(organisationId: number): Promise<Contact | undefined> {
    return (await this.d.members.contacts(organisationId)).find((c) => c.isRepresentative);
  }

  /**
   * Edits a contact's details. The representative flag is not part of the portal's contact
   * form (see makeRepresentative); it stays as it is.
   */
  async updateContact(actor: Actor, organisationId: number, contactId: number, input: ContactInput): Promise<void> {
    const current = await this.d.members.contact(organisationId, contactId);
    await this.d.members.updateContact(actor, organisationId, contactId, { ...input, isRepresentative: current.isRepresentative });
  }

  /** Adds a contact; if the organisation had no representative yet, the new one becomes it. */
  async addContact(actor: Actor, organisationId: number, input: ContactInput): Promise<number> {
    const before = await this.representative(organisationId);
    const id = await this.d.members.addContact(actor, organisationId, { ...input, isRepresentative: false, version: 0 });
    await this.notifyIfRepresentativeChanged(actor, organisationId, before);
    return id;
  }

  /** Removes a contact; never the voting representative, never oneself. */
  async removeContact(actor: Actor, organisationId: number, contactId: number, ownContactId: number | null): Promise<void> {
    await this.d.members.contact(organisationId, contactId); // 404 for another organisation's contact
    if (ownContactId === contactId) throw new ValidationError({ contact: 'portal.validation.cannotRemoveSelf' });
    await this.d.members.removeContact(actor, organisationId, contactId);
  }

  /**
   * Makes a contact the voting representative (the previous one keeps the other roles). The
   * board is told by e-mail, once the change is committed.
   */
  async makeRepresentative(actor: Actor, organisationId: number, contactId: number, version: number): Promise<{ changed: boolean }> {
    const c = await this.d.members.contact(organisationId, contactId);
    if (c.isRepresentative) return { changed: false };
    const before = await this.representative(organisationId);
    await this.d.members.updateContact(actor, organisationId, contactId, inputOf(c, { isRepresentative: true, version }));
    await this.notifyIfRepresentativeChanged(actor, organisationId, before);
    return { changed: true };
  }

  private async notifyIfRepresentativeChanged(actor: Actor, organisationId: number, before: Contact | undefined): Promise<void> {
    const after = await this.representative(organisationId);
    if (!after || after.id === before?.id) return;
    const org = await this.d.members.get(organisationId);
    if (!org) return;
    // The register's service commits its own transaction; the notice follows right after it.
    await this.d.db.transaction(async (trx) => {
      const association = await this.d.settings.association(trx);
      const t = tFor(BOARD_LOCALE);
      const when = formatDateTime(iso(this.d.clock.now()), BOARD_LOCALE);
      await this.d.outbox.enqueue(trx, {
        template: 'portal_representative_changed',
        locale: BOARD_LOCALE,
        to: association.contactEmail,
        related: { type: 'organisation', id: organisationId },
        content: {
          subject: t('portal.mail.representative.subject', { organisation: org.legalName, memberNo: org.memberNo }),
          paragraphs: [
            t('portal.mail.representative.intro', { organisation: org.legalName, memberNo: org.memberNo, actor: actor.label, when }),
            t('portal.mail.representative.from', { name: before ? `${before.name}${before.email ? ` <${before.email}>` : ''}` : t('portal.mail.representative.nobody') }),
            t('portal.mail.representative.to', { name: `${after.name}${after.email ? ` <${after.email}>` : ''}` }),
          ],
          action: { label: t('portal.mail.representative.action'), url: `${this.d.config.baseUrl}/board/members/${organisationId}` },
          signature: association.name,
        },
      });
    });
  }

  /**
   * The contact's language: the portal's language (the user's setting) and the language of
   * the e-mails to the contact (the contact's setting, through the register, audited).
   */
  async setLanguage(actor: Actor, userId: number, organisationId: number, contactId: number | null, locale: Locale): Promise<void> {
    if (contactId) {
      const c = await this.d.members.contact(organisationId, contactId);
      if (c.locale !== locale) await this.d.members.updateContact(actor, organisationId, contactId, inputOf(c, { locale }));
    }
    await this.d.users.setLocale(userId, locale);
  }

  // ---------------------------------------------------------------------------------------
  // Change requests for the organisation's data
  // ---------------------------------------------------------------------------------------

  /**
   * Stores the fields that differ from the register as a pending request (nothing when
   * nothing differs) and tells the board.
   */
  async requestChange(actor: Actor, organisationId: number, input: ChangeRequestInput): Promise<{ id: number | null }> {
    const org = await this.d.members.get(organisationId);
    if (!org) throw new NotFoundError();
    const changes: Partial<Record<RequestableField, string>> = {};
    const previous: Partial<Record<RequestableField, string>> = {};
    for (const f of REQUESTABLE_FIELDS) {
      const next = String(input[f] ?? '');
      if (next !== valueOf(org, f)) {
        changes[f] = next;
        previous[f] = valueOf(org, f);
      }
    }
    if (!Object.keys(changes).length) return { id: null };
    const now = iso(this.d.clock.now());
    const id = await this.d.db.transaction(async (trx) => {
      const id = await insertId(trx, 'organisation_change_requests', {
        organisation_id: organisationId,
        requested_by_user_id: actor.userId,
        requested_by_label: actor.label.slice(0, 200),
        changes: JSON.stringify(changes),
        previous: JSON.stringify(previous),
        status: 'pending',
        created_at: now,
      });
      await this.d.audit.record(trx, actor, 'change_request.created', 'change_request', id, previous, { organisationId, ...changes });
      const association = await this.d.settings.association(trx);
      const t = tFor(BOARD_LOCALE);
      await this.d.outbox.enqueue(trx, {
        template: 'portal_change_requested',
        locale: BOARD_LOCALE,
        to: association.contactEmail,
        related: { type: 'organisation', id: organisationId },
        content: {
          subject: t('portal.mail.requested.subject', { organisation: org.legalName, memberNo: org.memberNo }),
          paragraphs: [
            t('portal.mail.requested.intro', { organisation: org.legalName, memberNo: org.memberNo, actor: actor.label }),
            ...Object.keys(changes).map((f) => {
              const field = f as RequestableField;
              return t('portal.mail.fieldChange', {
                field: t(`members.fields.${field}`),
                before: displayValue(t, field, previous[field]) || t('portal.empty'),
                after: displayValue(t, field, changes[field]) || t('portal.empty'),
              });
            }),
          ],
          action: { label: t('portal.mail.requested.action'), url: `${this.d.config.baseUrl}/board/change-requests/${id}` },
          signature: association.name,
        },
      });
      return id;
    });
    return { id };
  }

  private requestQuery(q: Knex | Knex.Transaction = this.d.db): Knex.QueryBuilder {
    return q('organisation_change_requests as r')
      .join('organisations as o', 'o.id', 'r.organisation_id')
      .select('r.*', 'o.legal_name', 'o.member_number');
  }

  /** The organisation's requests: pending ones first, then the latest decided ones. */
  async requestsFor(organisationId: number, limit = 20): Promise<ChangeRequest[]> {
    const rows = await this.requestQuery().where('r.organisation_id', organisationId).orderBy('r.id', 'desc').limit(limit);
    const list: ChangeRequest[] = rows.map((x: Record<string, any>) => rowToRequest(x));
    return [...list.filter((r) => r.status === 'pending'), ...list.filter((r) => r.status !== 'pending')];
  }

  /** One request of the organisation, or 404 (another organisation's request is never found). */
  async requestOf(organisationId: number, id: number): Promise<ChangeRequest> {
    const r = await this.requestQuery().where('r.id', id).andWhere('r.organisation_id', organisationId).first();
    if (!r) throw new NotFoundError();
    return rowToRequest(r);
  }

  async request(id: number): Promise<ChangeRequest> {
    const r = await this.requestQuery().where('r.id', id).first();
    if (!r) throw new NotFoundError();
    return rowToRequest(r);
  }

  /** The board's list: pending requests oldest first, or decided ones newest first. */
  async listRequests(which: 'pending' | 'decided'): Promise<ChangeRequest[]> {
    const q = this.requestQuery();
    if (which === 'pending') q.where('r.status', 'pending').orderBy('r.id', 'asc');
    else q.whereNot('r.status', 'pending').orderBy('r.decided_at', 'desc').orderBy('r.id', 'desc').limit(200);
    return (await q).map((x: Record<string, any>) => rowToRequest(x));
  }

  async countPending(): Promise<number> {
    const [{ n }] = await this.d.db('organisation_change_requests').where('status', 'pending').count({ n: '*' });
    return Number(n);
  }

  /** Each requested field with the value at request time, the requested and the current value. */
  fieldChanges(req: ChangeRequest, org: Organisation): FieldChange[] {
    return (Object.keys(req.changes) as RequestableField[]).map((field) => {
      const before = req.previous[field] ?? '';
      const after = req.changes[field] ?? '';
      const current = valueOf(org, field);
      return { field, before, after, current, conflict: current !== before && current !== after };
    });
  }

  /** A request with its organisation as it is now and the per-field comparison. */
  async requestDetail(id: number): Promise<{ request: ChangeRequest; organisation: Organisation; fields: FieldChange[] }> {
    const request = await this.request(id);
    const organisation = await this.d.members.get(request.organisationId);
    if (!organisation) throw new NotFoundError();
    return { request, organisation, fields: this.fieldChanges(request, organisation) };
  }

  /**
   * Applies a pending request through the register (optimistic lock on the organisation's
   * current version). A field that changed since the request to another value is a conflict:
   * nothing is applied, the board sees the fields.
   */
  async approve(actor: Actor, id: number, note: string): Promise<void> {
    const { request, organisation: org, fields } = await this.requestDetail(id);
    if (request.status !== 'pending') throw new ConflictError('already_decided');
    const conflicts = fields.filter((f) => f.conflict).map((f) => f.field);
    if (conflicts.length) throw new ConflictError('changed_meanwhile', { fields: conflicts });
    const edit: OrganisationEdit = {
      legalName: org.legalName, legalForm: org.legalForm, street: org.street, postcode: org.postcode, city: org.city, country: org.country,
      website: org.website, registerEntry: org.registerEntry, vatId: org.vatId, fieldOfActivity: org.fieldOfActivity, employeeBand: org.employeeBand,
      ...request.changes,
      notes: org.notes ?? '',
      version: org.version,
    };
    await this.d.members.updateOrganisation(actor, org.id, edit);
    await this.decide(actor, request, 'approved', note);
  }

  async reject(actor: Actor, id: number, note: string): Promise<void> {
    const request = await this.request(id);
    if (request.status !== 'pending') throw new ConflictError('already_decided');
    await this.decide(actor, request, 'rejected', note);
  }

  /** The member withdraws their own organisation's pending request. */
  async withdraw(actor: Actor, organisationId: number, id: number): Promise<void> {
    const request = await this.requestOf(organisationId, id);
    if (request.status !== 'pending') throw new ConflictError('already_decided');
    await this.d.db.transaction(async (trx) => {
      const n = affected(await trx('organisation_change_requests').where({ id, organisation_id: organisationId, status: 'pending' }).update({
        status: 'withdrawn', decided_by: actor.userId, decided_by_label: actor.label.slice(0, 200), decided_at: iso(this.d.clock.now()),
      }));
      if (n !== 1) throw new ConflictError('already_decided');
      await this.d.audit.record(trx, actor, 'change_request.withdrawn', 'change_request', id, { status: 'pending' }, { status: 'withdrawn' });
    });
  }

  /** Records the decision (only once: the status moves under a condition) and tells the requester. */
  private async decide(actor: Actor, request: ChangeRequest, status: 'approved' | 'rejected', note: string): Promise<void> {
    const recipient = await this.requester(request);
    await this.d.db.transaction(async (trx) => {
      const n = affected(await trx('organisation_change_requests').where({ id: request.id, status: 'pending' }).update({
        status, decided_by: actor.userId, decided_by_label: actor.label.slice(0, 200), decided_at: iso(this.d.clock.now()), decision_note: note || null,
      }));
      if (n !== 1) throw new ConflictError('already_decided');
      await this.d.audit.record(trx, actor, `change_request.${status}`, 'change_request', request.id, { status: 'pending' }, {
        status, organisationId: request.organisationId, ...(note ? { note } : {}),
      });
      if (!recipient) return;
      const association = await this.d.settings.association(trx);
      const t = tFor(recipient.locale);
      await this.d.outbox.enqueue(trx, {
        template: `portal_change_${status}`,
        locale: recipient.locale,
        to: recipient.email,
        related: { type: 'organisation', id: request.organisationId },
        content: {
          subject: t(`portal.mail.${status}.subject`, { organisation: request.organisationName }),
          greeting: t('auth.mail.greeting', { name: recipient.name }),
          paragraphs: [
            t(`portal.mail.${status}.intro`, { organisation: request.organisationName, date: formatDateTime(request.createdAt, recipient.locale) }),
            ...(Object.keys(request.changes) as RequestableField[]).map((field) => t('portal.mail.fieldChange', {
              field: t(`members.fields.${field}`),
              before: displayValue(t, field, request.previous[field]) || t('portal.empty'),
              after: displayValue(t, field, request.changes[field]) || t('portal.empty'),
            })),
            ...(note ? [t('portal.mail.noteIntro')] : []),
          ],
          ...(note ? { quote: note } : {}),
          action: { label: t('portal.mail.action'), url: `${this.d.config.baseUrl}/portal/requests/${request.id}` },
          signature: association.name,
        },
      });
    });
  }

  /** Who gets the outcome: the requester as a contact of the organisation (their e-mail language), else their account. */
  private async requester(request: ChangeRequest): Promise<{ email: string; name: string; locale: Locale } | undefined> {
    if (!request.requestedByUserId) return undefined;
    const c = await this.d.db('contacts').where({ organisation_id: request.organisationId, user_id: request.requestedByUserId }).first();
    if (c?.email) return { email: c.email, name: c.name, locale: c.locale === 'en' ? 'en' : 'de' };
    const u = await this.d.db('users').where({ id: request.requestedByUserId }).first();
    if (!u?.email) return undefined;
    return { email: u.email, name: u.display_name || u.email, locale: u.locale === 'en' ? 'en' : 'de' };
  }
}
