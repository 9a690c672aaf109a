import type { Knex } from 'knex';
import { berlinDate, iso, type Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import { insertId } from '../db/knex.ts';
import { nextValue } from '../db/counters.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import type { TokenService } from '../auth/tokens.ts';
import type { Outbox } from '../mail/outbox.service.ts';
import type { SettingsService } from '../settings/settings.service.ts';
import type { UsersService } from '../auth/users.service.ts';
import { normaliseEmail } from '../auth/users.service.ts';
import { INVITATION_TTL_MS } from '../auth/invitation.ts';
import { tFor, type Locale } from '../i18n/i18n.ts';
import { formatMemberNumber } from '../i18n/format.ts';

export interface NewOrganisation {
  legalName: string;
  legalForm: string;
  street: string;
  postcode: string;
  city: string;
  country: string;
  website: string;
  registerEntry: string;
  vatId: string;
  fieldOfActivity: string;
  employeeBand: string;
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

export interface Organisation {
  id: number;
  memberNumber: number;
  memberNo: string;
  legalName: string;
  legalForm: string;
  street: string;
  postcode: string;
  city: string;
  country: string;
  website: string;
  registerEntry: string;
  vatId: string;
  fieldOfActivity: string;
  employeeBand: string;
  categoryId: number;
  status: string;
  joinDate: string;
  exitDate: string | null;
  exitReason: string | null;
  notes: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
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
}

export function nameKey(name: string): string {
  return name.normalize('NFC').toLowerCase().replace(/\s+/g, ' ').trim();
}

const b = (v: unknown) => v === true || v === 1 || v === '1';

export function rowToOrganisation(r: Record<string, any>): Organisation {
  return {
    id: Number(r.id),
    memberNumber: Number(r.member_number),
    memberNo: formatMemberNumber(Number(r.member_number)),
    legalName: r.legal_name,
    legalForm: r.legal_form,
    street: r.street,
    postcode: r.postcode,
    city: r.city,
    country: r.country,
    website: r.website,
    registerEntry: r.register_entry,
    vatId: r.vat_id,
    fieldOfActivity: r.field_of_activity,
    employeeBand: r.employee_band,
    categoryId: Number(r.category_id),
    status: r.status,
    joinDate: r.join_date,
    exitDate: r.exit_date,
    exitReason: r.exit_reason,
    notes: r.notes,
    version: Number(r.version),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function rowToContact(r: Record<string, any>): Contact {
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
}

/** The member register: organisations, their contacts and membership history. */
export class MembersService {
  constructor(private d: Deps) {}

  /** The next member number (gapless), taken inside the caller's transaction. */
  async nextMemberNumber(trx: Knex.Transaction): Promise<number> {
    return nextValue(trx, 'member_number', async () => {
      const r = await trx('organisations').max({ m: 'member_number' }).first();
      return Number(r?.m ?? 0) + 1;
    });
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
      const c = await trx('counters').where({ name: 'member_number' }).first();
      if (c && Number(c.value) < memberNumber) await trx('counters').where({ name: 'member_number' }).update({ value: memberNumber });
    } else {
      memberNumber = await this.nextMemberNumber(trx);
    }
    const organisationId = await insertId(trx, 'organisations', {
      member_number: memberNumber,
      legal_name: org.legalName,
      legal_form: org.legalForm,
      street: org.street,
      postcode: org.postcode,
      city: org.city,
      country: org.country,
      website: org.website,
      register_entry: org.registerEntry,
      vat_id: org.vatId,
      field_of_activity: org.fieldOfActivity,
      employee_band: org.employeeBand,
      category_id: org.categoryId,
      status: 'active',
      join_date: org.joinDate,
      name_key: nameKey(org.legalName),
      application_id: org.applicationId ?? null,
      version: 1,
      created_at: now,
      updated_at: now,
    });
    await trx('membership_history').insert({
      organisation_id: organisationId,
      effective_date: org.joinDate,
      kind: 'joined',
      category_id: org.categoryId,
      status: 'active',
      created_by: actor.userId,
      created_at: now,
    });
    await this.d.audit.record(trx, actor, 'member.created', 'organisation', organisationId, undefined, { memberNumber, ...org });

    const association = await this.d.settings.association(trx);
    for (const c of contacts) {
      const email = c.email ? normaliseEmail(c.email) : '';
      let userId: number | null = null;
      if (email && opts.invite) {
        const existing = await trx('users').where({ email }).first();
        if (existing) {
          userId = Number(existing.id);
          const hasRole = await trx('user_roles').where({ user_id: userId, role: 'member' }).first();
          if (!hasRole) await trx('user_roles').insert({ user_id: userId, role: 'member' });
        } else {
          userId = await this.d.users.create(actor, { email, displayName: c.name || email, roles: ['member'], locale: c.locale }, trx);
        }
      }
      const contactId = await insertId(trx, 'contacts', {
        organisation_id: organisationId,
        name: c.name,
        email,
        phone: c.phone,
        position: c.position,
        is_representative: c.isRepresentative,
        is_billing: c.isBilling,
        locale: c.locale,
        consent_email_invitations: c.consentEmailInvitations,
        user_id: userId,
        created_at: now,
        updated_at: now,
      });
      await this.d.audit.record(trx, actor, 'contact.created', 'contact', contactId, undefined, { organisationId, role: c.isRepresentative ? 'representative' : c.isBilling ? 'billing' : 'other' });
      if (userId && opts.invite) {
        const user = await trx('users').where({ id: userId }).first();
        if (!user.password_hash) {
          const token = await this.d.tokens.issue('set_password', 'user', userId, INVITATION_TTL_MS, trx);
          const t = tFor(c.locale);
          await this.d.outbox.enqueue(trx, {
            template: opts.welcome ? 'member_welcome' : 'portal_invitation',
            locale: c.locale,
            to: email,
            related: { type: 'organisation', id: organisationId },
            content: {
              subject: t(opts.welcome ? 'members.mail.welcome.subject' : 'members.mail.invitation.subject', { association: association.name }),
              greeting: t('auth.mail.greeting', { name: c.name || email }),
              paragraphs: opts.welcome
                ? [
                    t('members.mail.welcome.intro', { association: association.name, organisation: org.legalName, memberNo: formatMemberNumber(memberNumber) }),
                    t('members.mail.welcome.portal'),
                  ]
                : [t('members.mail.invitation.intro', { association: association.name, organisation: org.legalName })],
              action: { label: t('auth.mail.set_password.action'), url: `${this.d.config.baseUrl}/welcome/${token}` },
              afterAction: [t('auth.mail.set_password.expiry')],
              signature: association.name,
            },
          });
        }
      }
    }
    return { organisationId, memberNumber };
  }

  async get(id: number): Promise<Organisation | undefined> {
    const r = await this.d.db('organisations').where({ id }).first();
    return r ? rowToOrganisation(r) : undefined;
  }

  async contacts(organisationId: number): Promise<Contact[]> {
    return (await this.d.db('contacts').where({ organisation_id: organisationId }).orderBy([{ column: 'is_representative', order: 'desc' }, { column: 'id' }])).map(rowToContact);
  }

  /** Active members on a date (YYYY-MM-DD): joined on or before, not exited before. */
  async countActive(onDate?: string): Promise<number> {
    const date = onDate ?? berlinDate(this.d.clock.now());
    const [{ n }] = await this.d.db('organisations')
      .where('join_date', '<=', date)
      .andWhere((q) => q.whereNull('exit_date').orWhere('exit_date', '>=', date))
      .count({ n: '*' });
    return Number(n);
  }
}
