import type { Knex } from 'knex';
import { iso, type Clock } from '../clock.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import type { SettingsService } from '../settings/settings.service.ts';
import type { MembersService, Organisation } from '../members/members.service.ts';
import { NotFoundError } from '../errors.ts';
import { sha256 } from '../auth/tokens.ts';
import { formatMemberNumber } from '../i18n/format.ts';
import type { MotionInput, RsvpInput } from './assemblies.schemas.ts';
import { AssemblyRuleError, FieldRuleError, bool, rowToInvitation, type Assembly, type Invitation, type ResolvedInvitation } from './assemblies.model.ts';
import type { AssemblyService } from './assembly.service.ts';
import type { AttachmentsService } from './attachments.service.ts';
import type { AnswersRepository } from './answers.repository.ts';
import type { AssembliesRepository } from './assemblies.repository.ts';
import type { DocumentsRepository } from './documents.repository.ts';
import type { InvitationsRepository } from './invitations.repository.ts';
import { berlinDay, linkExpiresAt, motionDeadline, motionsOpen } from './notice.ts';
import { proxyRefusal } from './proxies.ts';

interface Deps {
  db: Knex;
  clock: Clock;
  audit: AuditService;
  settings: SettingsService;
  members: MembersService;
  assemblies: AssemblyService;
  attachments: AttachmentsService;
  repo: AssembliesRepository;
  invitations: InvitationsRepository;
  answers: AnswersRepository;
  documents: DocumentsRepository;
}

/** Whether an organisation has left (or is gone) on `today`: it may no longer answer or hold a vote. */
export function hasLeft(org: Organisation | undefined, today: string): boolean {
  return !org || (!!org.exitDate && org.exitDate < today) || org.status === 'former';
}

/** The members' answers: personal links, RSVP, proxies and motions, and the board's view of them. */
export class AnswersService {
  constructor(private d: Deps) {}

  private now(): string {
    return iso(this.d.clock.now());
  }

  /* ---------------------------------------------------------------- personal links */

  /** Resolves a personal link: the invitation, or why it cannot be used. Nothing is changed. */
  async resolveLink(token: string): Promise<ResolvedInvitation> {
    if (typeof token !== 'string' || token.length < 40 || token.length > 60) return { ok: false, reason: 'unknown' };
    const r = await this.d.invitations.byTokenHash(sha256(token));
    if (!r) return { ok: false, reason: 'unknown' };
    return this.checkInvitation(rowToInvitation(r));
  }

  private async checkInvitation(invitation: Invitation): Promise<ResolvedInvitation> {
    const assembly = await this.d.assemblies.get(invitation.assemblyId);
    const now = this.d.clock.now();
    if (now.toISOString() >= linkExpiresAt(assembly.startsAt)) return { ok: false, reason: 'expired', assembly };
    if (assembly.status === 'cancelled') return { ok: false, reason: 'cancelled', assembly };
    const org = await this.d.members.get(invitation.organisationId);
    if (hasLeft(org, berlinDay(now))) return { ok: false, reason: 'left', assembly };
    return { ok: true, invitation, assembly };
  }

  /** For the portal: the invitation of a member organisation to an assembly. */
  async resolvePortal(organisationId: number, assemblyId: number): Promise<ResolvedInvitation> {
    const r = await this.d.invitations.forOrganisation(assemblyId, organisationId);
    if (!r) return { ok: false, reason: 'unknown' };
    return this.checkInvitation(rowToInvitation(r));
  }

  async portalList(organisationId: number): Promise<Assembly[]> {
    return this.d.invitations.portalList(organisationId);
  }

  /** Everything the personal page shows for one invited organisation. */
  async memberView(invitation: Invitation, assembly: Assembly) {
    const rules = await this.d.settings.rules();
    const id = assembly.id;
    const org = invitation.organisationId;
    const now = this.d.clock.now();
    const [agenda, rsvp, given, held, motions, candidates, attachments, minutes] = await Promise.all([
      this.d.assemblies.agenda(id),
      this.d.answers.rsvp(id, org),
      this.d.answers.proxyGivenBy(id, org),
      this.d.answers.proxiesHeldBy(id, org),
      this.d.answers.motions(id, org),
      this.d.invitations.others(id, org),
      this.d.attachments.list(id),
      this.d.documents.sentMinutes(id),
    ]);
    const names = await this.d.members.legalNames([...(given ? [Number(given.holder_organisation_id)] : []), ...held.map((h) => Number(h.giver_organisation_id))]);
    const open = now.getTime() < new Date(assembly.startsAt).getTime();
    return {
      agenda,
      rsvp: rsvp ? { attending: bool(rsvp.attending), peopleCount: Number(rsvp.people_count), names: rsvp.names, updatedAt: rsvp.updated_at, mode: rsvp.mode } : undefined,
      proxyGiven: given ? { id: Number(given.id), holder: names.get(Number(given.holder_organisation_id)) ?? '' } : undefined,
      proxiesHeld: held.map((h) => names.get(Number(h.giver_organisation_id)) ?? ''),
      motions: motions.map((m) => ({ title: m.title, body: m.body, createdAt: m.created_at })),
      candidates,
      attachments,
      minutes: minutes ? { body: minutes.body, attachmentId: minutes.attachment_id == null ? null : Number(minutes.attachment_id) } : undefined,
      answersOpen: open,
      proxiesAllowed: rules.proxiesAllowed,
      maxProxies: rules.maxProxiesPerHolder,
      motionDeadline: motionDeadline(assembly.startsAt, rules.motionDeadlineDays),
      motionsOpen: open && motionsOpen(assembly.startsAt, rules.motionDeadlineDays, now),
    };
  }

  /* ---------------------------------------------------------------- answers */

  /** The assembly, if it still takes answers (not cancelled, not begun). */
  private async answerable(trx: Knex.Transaction, invitation: Invitation): Promise<Assembly> {
    const a = await this.d.assemblies.get(invitation.assemblyId, trx);
    if (a.status === 'cancelled') throw new AssemblyRuleError('cancelled');
    if (this.d.assemblies.started(a)) throw new AssemblyRuleError('started');
    return a;
  }

  async rsvp(actor: Actor, invitation: Invitation, input: RsvpInput, via: 'link' | 'portal' | 'board'): Promise<void> {
    await this.d.db.transaction(async (trx) => {
      const a = await this.answerable(trx, invitation);
      // h/attend: a hybrid assembly asks whether in the room or online; the other formats say it themselves
      const mode = input.attending !== 'yes' ? '' : a.format === 'hybrid' ? input.mode ?? '' : a.format === 'virtual' ? 'online' : 'room';
      if (input.attending === 'yes' && !mode) throw new FieldRuleError({ mode: { code: 'attend.errors.mode_required' } });
      const row = {
        assembly_id: invitation.assemblyId, organisation_id: invitation.organisationId,
        attending: input.attending === 'yes', people_count: input.attending === 'yes' ? input.peopleCount : 0, names: input.attending === 'yes' ? input.names : '', via, updated_at: this.now(),
        mode,
      };
      const before = await this.d.answers.rsvp(invitation.assemblyId, invitation.organisationId, trx);
      await this.d.answers.saveRsvp(trx, before, row);
      await this.d.audit.record(trx, actor, 'assembly.rsvp', 'assembly', invitation.assemblyId,
        before ? { organisationId: invitation.organisationId, attending: bool(before.attending), peopleCount: Number(before.people_count), names: before.names } : undefined,
        { organisationId: invitation.organisationId, attending: row.attending, peopleCount: row.people_count, names: row.names, via, ...(mode ? { mode } : {}) });
    });
  }

  /**
   * Gives the organisation's vote to another invited voting member. Refused when the bylaws
   * allow no proxies, to oneself, in a chain (the holder has given its own vote away, or the
   * giver holds votes of others), beyond the bylaws' limit per holder, or when one is in force.
   */
  async giveProxy(actor: Actor, invitation: Invitation, holderOrganisationId: number, via: 'link' | 'portal'): Promise<void> {
    const rules = await this.d.settings.rules();
    await this.d.db.transaction(async (trx) => {
      await this.answerable(trx, invitation);
      const id = invitation.assemblyId;
      await this.d.repo.lock(trx, id);
      const holder = await this.d.invitations.forOrganisation(id, holderOrganisationId, trx);
      const holderOrg = holder ? await this.d.members.getIn(trx, holderOrganisationId) : undefined;
      const today = berlinDay(this.d.clock.now());
      const active = (await this.d.answers.activeProxies(id, trx))
        .map((p) => ({ giverId: Number(p.giver_organisation_id), holderId: Number(p.holder_organisation_id) }));
      const refusal = proxyRefusal({
        proxiesAllowed: rules.proxiesAllowed, maxPerHolder: rules.maxProxiesPerHolder, giverId: invitation.organisationId, holderId: holderOrganisationId,
        holderEligible: !!holder && !hasLeft(holderOrg, today) && bool(holder.has_vote), active, // h/attend: only a member with a vote holds votes
      });
      if (!refusal && !invitation.hasVote) throw new AssemblyRuleError('attend.errors.proxy_no_vote'); // h/attend: a member without a vote has none to give
      if (refusal) throw new AssemblyRuleError(refusal, { holder: holder?.organisation_name ?? '', max: rules.maxProxiesPerHolder });
      const proxyId = await this.d.answers.insertProxy(trx, {
        assembly_id: id, giver_organisation_id: invitation.organisationId, holder_organisation_id: holderOrganisationId, created_at: this.now(), via,
      });
      await this.d.audit.record(trx, actor, 'assembly.proxy_given', 'assembly', id, undefined, { proxyId, giver: invitation.organisationId, holder: holderOrganisationId, via });
    });
  }

  async withdrawProxy(actor: Actor, invitation: Invitation): Promise<void> {
    await this.d.db.transaction(async (trx) => {
      await this.answerable(trx, invitation);
      const p = await this.d.answers.proxyGivenBy(invitation.assemblyId, invitation.organisationId, trx);
      if (!p) throw new AssemblyRuleError('no_proxy');
      await this.d.answers.withdrawProxy(trx, p.id, this.now());
      await this.d.audit.record(trx, actor, 'assembly.proxy_withdrawn', 'assembly', invitation.assemblyId, { proxyId: Number(p.id), holder: Number(p.holder_organisation_id) }, { withdrawnAt: this.now() });
    });
  }

  async submitMotion(actor: Actor, invitation: Invitation, input: MotionInput, via: 'link' | 'portal'): Promise<number> {
    const rules = await this.d.settings.rules();
    return this.d.db.transaction(async (trx) => {
      const a = await this.answerable(trx, invitation);
      if (!motionsOpen(a.startsAt, rules.motionDeadlineDays, this.d.clock.now())) {
        throw new AssemblyRuleError('motion_deadline', { deadline: motionDeadline(a.startsAt, rules.motionDeadlineDays) });
      }
      const id = await this.d.answers.insertMotion(trx, {
        assembly_id: invitation.assemblyId, organisation_id: invitation.organisationId, title: input.title, body: input.body,
        submitted_by: input.submittedBy, via, created_at: this.now(),
      });
      await this.d.audit.record(trx, actor, 'assembly.motion_submitted', 'assembly', invitation.assemblyId, undefined, { motionId: id, organisationId: invitation.organisationId, title: input.title });
      return id;
    });
  }

  /* ---------------------------------------------------------------- the board's view */

  /** The board's view of the answers: RSVPs, proxies in force and withdrawn, motions. */
  async overview(assemblyId: number) {
    const [rsvps, proxies, motions, invited, onAgenda] = await Promise.all([
      this.d.answers.rsvpsWithInvitation(assemblyId),
      this.d.answers.proxies(assemblyId),
      this.d.answers.motions(assemblyId),
      this.d.invitations.count(assemblyId),
      this.d.repo.motionIdsOnAgenda(assemblyId),
    ]);
    const names = await this.d.members.legalNames([
      ...proxies.flatMap((p) => [Number(p.giver_organisation_id), Number(p.holder_organisation_id)]), ...motions.map((m) => Number(m.organisation_id)),
    ]);
    const name = (id: number) => names.get(Number(id)) ?? '';
    const rs = rsvps.map((r) => ({ organisation: r.organisation_name, memberNo: formatMemberNumber(Number(r.member_number)), attending: bool(r.attending), peopleCount: Number(r.people_count), names: r.names, via: r.via, updatedAt: r.updated_at }));
    return {
      invited,
      yes: rs.filter((r) => r.attending).length,
      no: rs.filter((r) => !r.attending).length,
      people: rs.reduce((s, r) => s + r.peopleCount, 0),
      rsvps: rs,
      proxies: proxies.map((p) => ({ id: Number(p.id), giver: name(p.giver_organisation_id), holder: name(p.holder_organisation_id), createdAt: p.created_at, withdrawnAt: p.withdrawn_at })),
      motions: motions.map((m) => ({ id: Number(m.id), organisation: name(m.organisation_id), title: m.title, body: m.body, submittedBy: m.submitted_by, createdAt: m.created_at, onAgenda: onAgenda.has(Number(m.id)) })),
    };
  }

  /** Puts a motion on the agenda (as a supplementary item once the invitation is out). */
  /** Puts a motion on the agenda; after the invitation the supplementary-agenda period applies (a reason if late: AssemblyService.addAgendaItem). */
  async motionToAgenda(actor: Actor, assemblyId: number, motionId: number, noticeReason = ''): Promise<number> {
    const m = await this.d.answers.motion(assemblyId, motionId);
    if (!m) throw new NotFoundError();
    if (await this.d.repo.itemForMotion(assemblyId, motionId)) throw new AssemblyRuleError('motion_on_agenda');
    return this.d.assemblies.addAgendaItem(actor, assemblyId, { title: m.title, description: '', kind: 'resolution', proposedText: m.body }, { motionId, noticeReason });
  }
}
