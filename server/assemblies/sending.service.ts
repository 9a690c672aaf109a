import type { Knex } from 'knex';
import { iso, type Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import { affected } from '../db/knex.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import type { Outbox } from '../mail/outbox.service.ts';
import type { SettingsService } from '../settings/settings.service.ts';
import { NotFoundError } from '../errors.ts';
import { renderMail } from '../mail/render.ts';
import { newLinkToken } from '../auth/tokens.ts';
import type { Locale } from '../i18n/i18n.ts';
import { AssemblyRuleError, LateNoticeError, rowToInvitation, type Invitation, type Recipient } from './assemblies.model.ts';
import type { AssemblyService } from './assembly.service.ts';
import type { AssembliesRepository } from './assemblies.repository.ts';
import type { AnswersRepository } from './answers.repository.ts';
import type { InvitationsRepository } from './invitations.repository.ts';
import type { InvitationJobs, JobView } from './invitations.job.ts';
import { assemblyMail } from './assemblies.mails.ts';
import { berlinDay, changeNotice } from './notice.ts';

type Q = Knex | Knex.Transaction;

interface Deps {
  db: Knex;
  clock: Clock;
  config: Config;
  audit: AuditService;
  outbox: Outbox;
  settings: SettingsService;
  assemblies: AssemblyService;
  repo: AssembliesRepository;
  invitations: InvitationsRepository;
  answers: AnswersRepository;
  jobs: InvitationJobs;
}

/** One mail in an invitation's delivery log. */
export interface DeliveryMail {
  kind: string;
  mailId: number;
  to: string;
  status: string;
  response: string | null;
  sentAt: string | null;
  queuedAt: string;
}

/** Sending: the invitation, updates, supplements, the cancellation, reminders, resends and printed letters. */
export class SendingService {
  constructor(private d: Deps) {}

  private now(): string {
    return iso(this.d.clock.now());
  }

  async invitations(assemblyId: number, q: Q = this.d.db): Promise<Invitation[]> {
    return this.d.invitations.list(assemblyId, q);
  }

  /** The assembly's latest mail job. */
  async jobView(assemblyId: number): Promise<JobView | undefined> {
    return this.d.jobs.latest(assemblyId);
  }

  /** The invitation mail exactly as a member gets it (same content and renderer as the job), with a sample link. */
  async preview(assemblyId: number, organisationId?: number): Promise<{ recipient: Recipient | undefined; subject: string; text: string; html: string; locale: Locale }> {
    const a = await this.d.assemblies.get(assemblyId);
    const [agenda, association, rules] = await Promise.all([this.d.assemblies.agenda(assemblyId), this.d.settings.association(), this.d.settings.rules()]);
    const recipients = await this.d.assemblies.recipients(berlinDay(this.d.clock.now()), a.copyAllContacts);
    const recipient = recipients.find((r) => r.organisationId === organisationId) ?? recipients.find((r) => r.channel === 'email') ?? recipients[0];
    const locale = recipient?.locale ?? 'de';
    const content = assemblyMail({
      kind: 'invitation', assembly: a, agenda, association, rules,
      recipient: recipient ?? { organisationName: '…', contactName: '', to: '', locale },
      link: `${this.d.config.baseUrl}/a/${'X'.repeat(43)}`,
    });
    return { recipient, locale, ...renderMail(content, locale) };
  }

  /**
   * Starts the sending job (once: a second press, or a second board member at the same
   * moment, gets the running job). Refused without an agenda, for an assembly that has begun,
   * and after the last day of the notice period unless a reason for the late invitation is
   * given (recorded and audited). AssemblyService.flags().canSend shows the same rules.
   */
  async startSending(actor: Actor, assemblyId: number, overrideReason = '', opts: { formatConfirmed?: boolean } = {}): Promise<number> {
    const rules = await this.d.settings.rules();
    const a = await this.d.assemblies.get(assemblyId);
    if (a.status === 'cancelled') throw new AssemblyRuleError('cancelled');
    if (a.status === 'invited') {
      const running = await this.d.jobs.activeJob(assemblyId);
      if (running) return running.id;
      throw new AssemblyRuleError('already_sent');
    }
    if (this.d.assemblies.started(a)) throw new AssemblyRuleError('in_past');
    const agenda = await this.d.assemblies.agenda(assemblyId);
    if (!agenda.length) throw new AssemblyRuleError('no_agenda');
    const notice = this.d.assemblies.noticeInfo(a, rules);
    const reason = overrideReason.trim();
    // h/attend: a format the bylaws' rule does not allow is sent only after the board confirmed the warning
    const formatAllowed = this.d.assemblies.formatAllowed(a, rules);
    if (!formatAllowed && !opts.formatConfirmed) throw new AssemblyRuleError('attend.errors.format_not_allowed', { format: a.format });
    if (!notice.inTime && !reason) throw new AssemblyRuleError('too_late', { lastSendDay: notice.lastSendDay, days: rules.invitationNoticeDays });
    try {
      const jobId = await this.d.db.transaction(async (trx) => {
        const n = await this.d.repo.updateDraft(trx, assemblyId, { status: 'invited', invited_at: this.now(), notified_sequence: a.sequence, updated_at: this.now() });
        if (affected(n) !== 1) throw new AssemblyRuleError('already_sent');
        if (!notice.inTime) {
          const itemIds = agenda.map((i) => i.id);
          await this.d.repo.insertOverride(trx, {
            assembly_id: assemblyId, kind: 'late_sending', reason, last_send_day: notice.lastSendDay, send_day: notice.today, item_ids: JSON.stringify(itemIds),
            user_id: actor.userId, actor_label: actor.label.slice(0, 200), created_at: this.now(),
          });
          await this.d.repo.markLateNotice(trx, itemIds, 'invitation'); // h/notice: every item of a late invitation is not properly announced
          await this.d.audit.record(trx, actor, 'assembly.late_sending_override', 'assembly', assemblyId, undefined, { reason, lastSendDay: notice.lastSendDay, sendDay: notice.today });
        }
        const jobId = await this.d.jobs.create(trx, actor, assemblyId, 'invitation', {});
        await this.d.audit.record(trx, actor, 'assembly.invitations_started', 'assembly', assemblyId, { status: 'draft' },
          { status: 'invited', jobId, inTime: notice.inTime, ...(formatAllowed ? {} : { formatNotAllowedConfirmed: true }) });
        return jobId;
      });
      this.d.jobs.start(jobId);
      return jobId;
    } catch (err) {
      if (err instanceof AssemblyRuleError && err.code === 'already_sent') {
        const running = await this.d.jobs.activeJob(assemblyId);
        if (running) return running.id;
      }
      throw err;
    }
  }

  /**
   * Sends the changed time or place to everyone invited (new SEQUENCE in the .ics). An update of
   * date, time, place or format calls the members to a changed assembly: after the last day of the
   * invitation notice against the (new) date it is refused (LateNoticeError, nothing sent) unless a
   * reason was recorded when the change was saved or is given now; then every agenda item is
   * marked as not properly announced.
   */
  async sendUpdate(actor: Actor, assemblyId: number, overrideReason = ''): Promise<number> {
    const rules = await this.d.settings.rules();
    const reason = overrideReason.trim();
    const jobId = await this.d.db.transaction(async (trx) => {
      const a = await this.d.assemblies.get(assemblyId, trx);
      if (a.status !== 'invited') throw new AssemblyRuleError('not_invited');
      if (!a.updatePending) throw new AssemblyRuleError('no_update');
      // h/notice: the notice against the new date
      if (a.noticeChangePending) {
        const n = changeNotice('update', a.startsAt, rules, this.d.clock.now());
        if (!n.inTime) {
          const allowed = await this.d.repo.hasUpdateOverride(trx, assemblyId, a.sequence);
          if (!allowed && !reason) throw new LateNoticeError(n, ['updateReason']);
          const itemIds = (await this.d.assemblies.agenda(assemblyId, trx)).map((i) => i.id);
          if (!allowed) {
            await this.d.repo.insertOverride(trx, {
              assembly_id: assemblyId, kind: 'late_update', reason, last_send_day: n.lastSendDay, send_day: n.today, sequence: a.sequence, item_ids: JSON.stringify(itemIds),
              user_id: actor.userId, actor_label: actor.label.slice(0, 200), created_at: this.now(),
            });
            await this.d.audit.record(trx, actor, 'assembly.late_notice_override', 'assembly', assemblyId, undefined, {
              change: 'update', reason, lastSendDay: n.lastSendDay, sendDay: n.today, sequence: a.sequence, noticeDays: n.noticeDays,
            });
          }
          await this.d.repo.markLateNotice(trx, itemIds, 'update');
        }
      }
      await this.d.repo.update(trx, assemblyId, { notified_sequence: a.sequence, updated_at: this.now() });
      const jobId = await this.d.jobs.create(trx, actor, assemblyId, 'update', { sequence: a.sequence });
      await this.d.audit.record(trx, actor, 'assembly.update_sent', 'assembly', assemblyId, undefined, { sequence: a.sequence, jobId });
      return jobId;
    });
    this.d.jobs.start(jobId);
    return jobId;
  }

  /** Cancels the assembly; members already invited get METHOD:CANCEL. */
  async cancel(actor: Actor, assemblyId: number): Promise<number | null> {
    const jobId = await this.d.db.transaction(async (trx) => {
      const a = await this.d.assemblies.get(assemblyId, trx);
      if (a.status === 'cancelled') throw new AssemblyRuleError('cancelled');
      const seq = a.sequence + 1;
      await this.d.repo.update(trx, assemblyId, {
        status: 'cancelled', cancelled_at: this.now(), sequence: seq, notified_sequence: a.status === 'invited' ? seq : null, updated_at: this.now(),
      });
      let jobId: number | null = null;
      if (a.status === 'invited') jobId = await this.d.jobs.create(trx, actor, assemblyId, 'cancel', { sequence: seq });
      await this.d.audit.record(trx, actor, 'assembly.cancelled', 'assembly', assemblyId, { status: a.status }, { status: 'cancelled', sequence: seq, jobId });
      return jobId;
    });
    if (jobId) this.d.jobs.start(jobId);
    return jobId;
  }

  /**
   * Sends the agenda with the items added since the invitation to everyone invited. After the
   * last day of the supplementary-agenda period it is refused (LateNoticeError, nothing sent)
   * unless each new item already has a recorded reason or one is given now; those items are
   * marked as not announced in time. Items sent in time after all (the assembly was moved
   * later) lose an earlier mark.
   */
  async sendSupplement(actor: Actor, assemblyId: number, overrideReason = ''): Promise<number> {
    const rules = await this.d.settings.rules();
    const reason = overrideReason.trim();
    const jobId = await this.d.db.transaction(async (trx) => {
      const a = await this.d.assemblies.get(assemblyId, trx);
      if (a.status !== 'invited') throw new AssemblyRuleError('not_invited');
      const items = await this.d.repo.unsentSupplement(trx, assemblyId);
      if (!items.length) throw new AssemblyRuleError('no_supplement');
      const ids = items.map((r) => Number(r.id));
      // h/notice: the supplementary-agenda period
      const n = changeNotice('supplement', a.startsAt, rules, this.d.clock.now());
      if (n.inTime) {
        await this.d.repo.clearLateNotice(trx, items.filter((r) => r.late_notice === 'item').map((r) => Number(r.id)));
      } else {
        const unmarked = items.filter((r) => !r.late_notice).map((r) => Number(r.id));
        if (unmarked.length && !reason) throw new LateNoticeError(n, ['supplementReason']);
        if (unmarked.length) {
          await this.d.repo.insertOverride(trx, {
            assembly_id: assemblyId, kind: 'late_supplement', reason, last_send_day: n.lastSendDay, send_day: n.today, item_ids: JSON.stringify(unmarked),
            user_id: actor.userId, actor_label: actor.label.slice(0, 200), created_at: this.now(),
          });
          await this.d.audit.record(trx, actor, 'assembly.late_notice_override', 'assembly', assemblyId, undefined, {
            change: 'supplement', reason, lastSendDay: n.lastSendDay, sendDay: n.today, itemIds: unmarked, noticeDays: n.noticeDays,
          });
          await this.d.repo.markLateNotice(trx, unmarked, 'supplement');
        }
      }
      await this.d.repo.markSupplementSent(trx, ids, this.now());
      const jobId = await this.d.jobs.create(trx, actor, assemblyId, 'supplement', { itemIds: ids });
      await this.d.audit.record(trx, actor, 'assembly.supplement_sent', 'assembly', assemblyId, undefined, { itemIds: ids, jobId });
      return jobId;
    });
    this.d.jobs.start(jobId);
    return jobId;
  }

  /**
   * h/attend: sends the access data (link, meeting id, access code) in a message of their own,
   * only to those taking part online (§ 32 Abs. 2 BGB: the access data may go separately).
   * Refused for an assembly in person, without access data, or without anyone online; sent
   * again only to those who have not had these same data yet.
   */
  async sendAccessData(actor: Actor, assemblyId: number, online: Set<number>): Promise<number> {
    const jobId = await this.d.db.transaction(async (trx) => {
      const a = await this.d.assemblies.get(assemblyId, trx);
      if (a.status !== 'invited') throw new AssemblyRuleError('not_invited');
      if (a.format === 'in_person') throw new AssemblyRuleError('attend.errors.access_in_person');
      if (!a.onlineLink && !a.onlineMeetingId && !a.onlineAccessCode) throw new AssemblyRuleError('attend.errors.access_missing');
      if (!online.size) throw new AssemblyRuleError('attend.errors.access_nobody');
      const jobId = await this.d.jobs.create(trx, actor, assemblyId, 'access_data', {});
      await this.d.audit.record(trx, actor, 'assembly.access_data_sent', 'assembly', assemblyId, undefined, { jobId, organisations: [...online] });
      return jobId;
    });
    this.d.jobs.start(jobId);
    return jobId;
  }

  /** Reminds those invited by e-mail who have not answered yet. */
  async sendReminder(actor: Actor, assemblyId: number): Promise<number> {
    const jobId = await this.d.db.transaction(async (trx) => {
      const a = await this.d.assemblies.get(assemblyId, trx);
      if (a.status !== 'invited') throw new AssemblyRuleError('not_invited');
      if (this.d.assemblies.started(a)) throw new AssemblyRuleError('started');
      const jobId = await this.d.jobs.create(trx, actor, assemblyId, 'reminder', {});
      await this.d.audit.record(trx, actor, 'assembly.reminder_sent', 'assembly', assemblyId, undefined, { jobId });
      return jobId;
    });
    this.d.jobs.start(jobId);
    return jobId;
  }

  /** Sends one invitation again, to the organisation's current representative (e.g. after a bounce and a corrected address). */
  async resend(actor: Actor, assemblyId: number, invitationId: number): Promise<void> {
    const [association, rules] = await Promise.all([this.d.settings.association(), this.d.settings.rules()]);
    await this.d.db.transaction(async (trx) => {
      const a = await this.d.assemblies.get(assemblyId, trx);
      if (a.status !== 'invited') throw new AssemblyRuleError('not_invited');
      const inv = await this.d.invitations.row(trx, assemblyId, invitationId);
      if (!inv) throw new NotFoundError();
      const current = (await this.d.assemblies.recipients(berlinDay(this.d.clock.now()), a.copyAllContacts, trx)).find((r) => r.organisationId === Number(inv.organisation_id));
      if (!current) throw new AssemblyRuleError('not_member');
      if (!current.to) throw new AssemblyRuleError(current.letterReason === 'no_consent' ? 'attend.errors.no_consent' : 'no_email'); // h/attend
      const n = await this.d.invitations.countDeliveries(trx, invitationId, 'resend');
      const deliveryId = await this.d.invitations.insertDelivery(trx, { invitation_id: invitationId, kind: 'resend', delivery_key: `resend:${n + 1}`, created_at: this.now() });
      const agenda = await this.d.assemblies.agenda(assemblyId, trx);
      const mailId = await this.d.jobs.enqueueMail(trx, { kind: 'invitation', assembly: a, agenda, association, rules, invitation: rowToInvitation(inv), to: current.to, cc: current.cc });
      await this.d.invitations.setDeliveryMail(trx, deliveryId, mailId);
      if (inv.channel === 'letter') await this.d.invitations.update(trx, invitationId, { channel: 'email', status: 'queued', to_address: current.to, letter_reason: '' });
      await this.d.audit.record(trx, actor, 'assembly.invitation_resent', 'assembly', assemblyId, undefined, { invitationId, to: current.to, mailId });
    });
  }

  /**
   * Issues a personal link for each invitation by letter (or only for `opts.invitationId`) and
   * returns what the printed letters show. Every print issues fresh links; earlier ones stay valid.
   */
  async prepareLetters(
    actor: Actor, assemblyId: number, opts: { invitationId?: number; format?: 'html' | 'pdf' } = {},
  ): Promise<{ invitation: Invitation; link: string; content: ReturnType<typeof assemblyMail> }[]> {
    const [association, rules] = await Promise.all([this.d.settings.association(), this.d.settings.rules()]);
    return this.d.db.transaction(async (trx) => {
      const a = await this.d.assemblies.get(assemblyId, trx);
      if (a.status !== 'invited') throw new AssemblyRuleError('not_invited');
      const agenda = await this.d.assemblies.agenda(assemblyId, trx);
      const invs = await this.d.invitations.letters(trx, assemblyId, opts.invitationId);
      if (opts.invitationId !== undefined && !invs.length) throw new NotFoundError();
      const out = [];
      for (const inv of invs) {
        const { token, hash } = newLinkToken();
        await this.d.invitations.addToken(trx, inv.id, hash, 'letter', this.now());
        const link = `${this.d.config.baseUrl}/a/${token}`;
        const content = assemblyMail({ kind: 'invitation', assembly: a, agenda, association, rules, recipient: { organisationName: inv.organisationName, contactName: inv.contactName, to: '', locale: inv.locale }, link });
        out.push({ invitation: inv, link, content });
      }
      await this.d.audit.record(trx, actor, 'assembly.letters_printed', 'assembly', assemblyId, undefined, {
        count: invs.length, format: opts.format ?? 'html', ...(opts.invitationId !== undefined ? { invitationId: opts.invitationId } : {}),
      });
      return out;
    });
  }

  /** Per recipient: address, when, status and the SMTP answer of every mail (proof of the Textform invitation). */
  async deliveryLog(assemblyId: number) {
    const invs = await this.invitations(assemblyId);
    const later = await this.d.invitations.deliveries(assemblyId);
    const mailIds = [...invs.map((i) => i.mailMessageId), ...later.map((d) => d.mail_message_id)].filter((id): id is number => id != null);
    const mails = await this.d.outbox.deliveryStates(mailIds.map(Number));
    const rsvps = await this.d.answers.rsvps(assemblyId);
    const answered = new Set(rsvps.map((r) => Number(r.organisation_id)));
    const mailView = (mailId: number | null, kind: string): DeliveryMail | undefined => {
      const m = mailId == null ? undefined : mails.get(Number(mailId));
      return m ? { kind, mailId: m.id, to: m.to, status: m.status, response: m.lastResponse, sentAt: m.sentAt, queuedAt: m.createdAt } : undefined;
    };
    return invs.map((inv) => {
      const first = mailView(inv.mailMessageId, 'invitation');
      const rest = later.filter((d) => Number(d.invitation_id) === inv.id).map((d) => mailView(d.mail_message_id, d.kind)).filter((m): m is DeliveryMail => !!m);
      const all = [...(first ? [first] : []), ...rest];
      const lastInvitationMail = [...all].reverse().find((m) => m.kind === 'invitation' || m.kind === 'resend');
      return {
        ...inv,
        mails: all,
        deliveryStatus: inv.channel === 'letter' ? 'letter' : first ? first.status : 'pending',
        failed: !!lastInvitationMail && lastInvitationMail.status === 'failed',
        answered: answered.has(inv.organisationId),
      };
    });
  }
}
