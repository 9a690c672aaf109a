import type { Knex } from 'knex';
import type { TFunction } from 'i18next';
import { iso, type Clock } from '../clock.ts';
import type { Config } from '../config.ts';
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
import * as repo from './portal.repository.ts';
import type { StoredChangeRequest } from './portal.repository.ts';
import { greeting } from '../mail/greeting.ts';

export type { ChangeRequestStatus } from './portal.repository.ts';

/** A change request with its organisation's name and member number. */
export interface ChangeRequest extends StoredChangeRequest {
  organisationName: string;
  memberNo: string;
  memberNumber: number;
}

/** The fields of the portal's contact form compared when a save comes too late (someone saved in between). */
export const CONTACT_CONFLICT_FIELDS = ['name', 'position', 'email', 'phone', 'locale', 'isBilling', 'consentEmailInvitations'] as const;
export type ContactConflictField = (typeof CONTACT_CONFLICT_FIELDS)[number];

/** One field of a contact that differs between what the user typed and what is stored now. */
export interface ContactDifference {
  field: ContactConflictField;
  yours: string | boolean;
  theirs: string | boolean;
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

/** The requestable fields in a request's changes, in the form's order. */
export function changedFields(changes: Partial<Record<RequestableField, string>>): RequestableField[] {
  return REQUESTABLE_FIELDS.filter((f) => f in changes);
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

  /** Whether the portal offers to remove the contact: never the voting representative, never oneself. */
  canRemoveContact(c: Contact, ownContactId: number | null): boolean {
    return !c.isRepresentative && c.id !== ownContactId;
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
      const id = await repo.insertRequest(trx, {
        organisationId, requestedByUserId: actor.userId, requestedByLabel: actor.label.slice(0, 200), changes, previous, createdAt: now,
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
            ...changedFields(changes).map((field) => {
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

  /** The requests with their organisation's name and member number (a request of an unknown organisation is left out). */
  private async withOrganisations(stored: StoredChangeRequest[]): Promise<ChangeRequest[]> {
    if (!stored.length) return [];
    const orgs = new Map((await this.d.members.getMany(stored.map((r) => r.organisationId))).map((o) => [o.id, o]));
    const out: ChangeRequest[] = [];
    for (const r of stored) {
      const o = orgs.get(r.organisationId);
      if (o) out.push({ ...r, organisationName: o.legalName, memberNumber: o.memberNumber, memberNo: formatMemberNumber(o.memberNumber) });
    }
    return out;
  }

  private async one(stored: StoredChangeRequest | undefined): Promise<ChangeRequest> {
    const [r] = stored ? await this.withOrganisations([stored]) : [];
    if (!r) throw new NotFoundError();
    return r;
  }

  /** The organisation's requests: pending ones first, then the latest decided ones. */
  async requestsFor(organisationId: number, limit = 20): Promise<ChangeRequest[]> {
    const list = await this.withOrganisations(await repo.latestOfOrganisation(this.d.db, organisationId, limit));
    return [...list.filter((r) => r.status === 'pending'), ...list.filter((r) => r.status !== 'pending')];
  }

  /** One request of the organisation, or 404 (another organisation's request is never found). */
  async requestOf(organisationId: number, id: number): Promise<ChangeRequest> {
    return this.one(await repo.findOfOrganisation(this.d.db, organisationId, id));
  }

  async request(id: number): Promise<ChangeRequest> {
    return this.one(await repo.findById(this.d.db, id));
  }

  /** The board's list: pending requests oldest first, or decided ones newest first. */
  async listRequests(which: 'pending' | 'decided'): Promise<ChangeRequest[]> {
    return this.withOrganisations(which === 'pending' ? await repo.pending(this.d.db) : await repo.latestDecided(this.d.db, 200));
  }

  async countPending(): Promise<number> {
    return repo.countPending(this.d.db);
  }

  /** Each requested field with the value at request time, the requested and the current value. */
  fieldChanges(req: ChangeRequest, org: Organisation): FieldChange[] {
    return changedFields(req.changes).map((field) => {
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
      const done = await repo.decideIfPending(trx, { id, organisationId }, {
        status: 'withdrawn', decidedBy: actor.userId, decidedByLabel: actor.label.slice(0, 200), decidedAt: iso(this.d.clock.now()),
      });
      if (!done) throw new ConflictError('already_decided');
      await this.d.audit.record(trx, actor, 'change_request.withdrawn', 'change_request', id, { status: 'pending' }, { status: 'withdrawn' });
    });
  }

  /** Records the decision (only once: the status moves under a condition) and tells the requester. */
  private async decide(actor: Actor, request: ChangeRequest, status: 'approved' | 'rejected', note: string): Promise<void> {
    const recipient = await this.requester(request);
    await this.d.db.transaction(async (trx) => {
      const done = await repo.decideIfPending(trx, { id: request.id }, {
        status, decidedBy: actor.userId, decidedByLabel: actor.label.slice(0, 200), decidedAt: iso(this.d.clock.now()), decisionNote: note || null,
      });
      if (!done) throw new ConflictError('already_decided');
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
          greeting: greeting(t, recipient.name),
          paragraphs: [
            t(`portal.mail.${status}.intro`, { organisation: request.organisationName, date: formatDateTime(request.createdAt, recipient.locale) }),
            ...changedFields(request.changes).map((field) => t('portal.mail.fieldChange', {
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
    const userId = request.requestedByUserId;
    if (!userId) return undefined;
    const c = (await this.d.members.contacts(request.organisationId)).filter((x) => x.userId === userId).sort((a, b) => a.id - b.id)[0];
    if (c?.email) return { email: c.email, name: c.name, locale: c.locale };
    const u = await this.d.users.byId(userId);
    if (!u?.email) return undefined;
    return { email: u.email, name: u.displayName || u.email, locale: u.locale };
  }

  /**
   * A contact form saved too late (someone saved in between): the fields where what the user
   * typed differs from the contact as it is now.
   */
  contactDifferences(mine: ContactInput, theirs: Contact): ContactDifference[] {
    return CONTACT_CONFLICT_FIELDS
      .filter((k) => String(theirs[k] ?? '') !== String(mine[k] ?? ''))
      .map((field) => ({ field, yours: mine[field], theirs: theirs[field] }));
  }
}
