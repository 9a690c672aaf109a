import type { Knex } from 'knex';
import { iso, type Clock } from '../clock.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import type { Contact, MembersService } from '../members/members.service.ts';
import { AppError, ValidationError } from '../errors.ts';
import * as repo from './directory.repository.ts';
import type { StoredProfile } from './directory.repository.ts';
import type { ProfileInput } from './directory.schemas.ts';

/** A rule of the directory refused the action; `code` names the message (directory.errors.<code>). */
export class DirectoryRuleError extends AppError {
  constructor(code: string) {
    super(422, code, code);
  }
}

interface Deps {
  db: Knex;
  clock: Clock;
  audit: AuditService;
  members: MembersService;
}

/**
 * The public member directory, first part: a member organisation's profile, edited by its
 * contacts in the portal. Publishing is opt-in: a profile is a draft until a contact submits it
 * for the board's approval (status pending); only an approved profile (published) will be shown.
 * Saving a change takes a submitted or published profile back to a draft (the board approves
 * what is shown, never an unseen change); withdrawing works at once, whatever the page's version.
 * Every change is audited. (The board's approval and the public pages are the next part.)
 */
export class DirectoryService {
  constructor(private d: Deps) {}

  private now(): string {
    return iso(this.d.clock.now());
  }

  private async requireMember(organisationId: number): Promise<void> {
    if (!(await this.d.members.membersAmong([organisationId])).has(organisationId)) throw new DirectoryRuleError('not_member');
  }

  /** The organisation's profile (undefined: none yet) and its contacts to choose the cooperation contact from. */
  async forPortal(organisationId: number): Promise<{ profile?: StoredProfile; contacts: Contact[] }> {
    const [profile, contacts] = await Promise.all([repo.profileOf(this.d.db, organisationId), this.d.members.contacts(organisationId)]);
    return { profile, contacts };
  }

  /** Stores the profile as a draft, or submits it for the board's approval. */
  async save(actor: Actor, organisationId: number, input: ProfileInput): Promise<StoredProfile> {
    await this.requireMember(organisationId);
    const contacts = await this.d.members.contacts(organisationId);
    if (!contacts.some((c) => c.id === input.cooperationContactId && c.email)) throw new ValidationError({ cooperationContactId: 'directory.validation.contact' });
    const at = this.now();
    const status = input.action === 'submit' ? 'pending' : 'draft';
    const values: repo.ProfileValues = {
      status, description_de: input.descriptionDe, description_en: input.descriptionEn, fields: JSON.stringify(input.fields), town: input.town,
      website: input.website, cooperation_contact_id: input.cooperationContactId, submitted_at: status === 'pending' ? at : null,
      updated_at: at, updated_by_label: actor.label.slice(0, 200),
    };
    return this.d.db.transaction(async (trx) => {
      const before = await repo.profileOf(trx, organisationId);
      if (!before) await repo.insertProfile(trx, organisationId, values);
      else if (!(await repo.updateProfile(trx, organisationId, input.version, values))) throw new DirectoryRuleError('changed');
      const after = (await repo.profileOf(trx, organisationId))!;
      await this.d.audit.record(trx, actor, input.action === 'submit' ? 'directory.profile_submitted' : 'directory.profile_saved', 'organisation', organisationId,
        before ? { status: before.status, descriptionDe: before.descriptionDe, descriptionEn: before.descriptionEn, fields: before.fields, town: before.town, website: before.website, cooperationContactId: before.cooperationContactId } : null,
        { status, descriptionDe: after.descriptionDe, descriptionEn: after.descriptionEn, fields: after.fields, town: after.town, website: after.website, cooperationContactId: after.cooperationContactId });
      return after;
    });
  }

  /** Takes a submitted or published profile off at once. */
  async withdraw(actor: Actor, organisationId: number): Promise<void> {
    await this.d.db.transaction(async (trx) => {
      const before = await repo.profileOf(trx, organisationId);
      if (!before || !(await repo.withdrawProfile(trx, organisationId, this.now(), actor.label))) throw new DirectoryRuleError('not_listed');
      await this.d.audit.record(trx, actor, 'directory.profile_withdrawn', 'organisation', organisationId, { status: before.status }, { status: 'withdrawn' });
    });
  }
}
