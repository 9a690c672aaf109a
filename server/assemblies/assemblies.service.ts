import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { iso, type Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import { insertId, affected, bool as b } from '../db/knex.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import type { Outbox } from '../mail/outbox.service.ts';
import type { SettingsService } from '../settings/settings.service.ts';
import type { Logger } from '../logger.ts';
import { AppError, NotFoundError } from '../errors.ts';
import { renderMail } from '../mail/render.ts';
import { newLinkToken, sha256 } from '../auth/tokens.ts';
import { isLocale, type Locale } from '../i18n/i18n.ts';
import { formatMemberNumber } from '../i18n/format.ts';
import type { BylawsRules } from '../settings/settings.schemas.ts';
import type { AgendaItemInput, AgendaKind, AssemblyFormat, AssemblyInput, AssemblyKind, MotionInput, ResolutionInput, RsvpInput } from './assemblies.schemas.ts';
import { berlinDay, berlinToUtc, daysUntil, isInTime, lastSendDay, linkExpiresAt, motionDeadline, motionsOpen, utcToBerlin } from './notice.ts';
import { quorum, votesPresent, type QuorumResult } from './quorum.ts';
import { proxyRefusal } from './proxies.ts';
import { assemblyMail } from './assemblies.mails.ts';
import { InvitationJobs, type JobView } from './invitations.job.ts';
import type { JobsService } from '../jobs/jobs.service.ts';

/** A rule of the bylaws or of the workflow refused the action; `code` names the message (assemblies.errors.<code>). */
export class AssemblyRuleError extends AppError {
  constructor(code: string, public readonly params: Record<string, unknown> = {}) {
    super(422, code, code, params);
  }
}

export interface Assembly {
  id: number;
  uid: string;
  sequence: number;
  notifiedSequence: number | null;
  title: string;
  kind: AssemblyKind;
  startsAt: string;
  durationMinutes: number;
  format: AssemblyFormat;
  location: string;
  participationInfo: string;
  copyAllContacts: boolean;
  status: 'draft' | 'invited' | 'cancelled';
  invitedAt: string | null;
  cancelledAt: string | null;
  createdAt: string;
  updatedAt: string;
  day: string; // Berlin calendar day of the start
  local: { date: string; time: string };
  updatePending: boolean; // time or place changed since the members were told
}

export interface AgendaItem {
  id: number;
  assemblyId: number;
  position: number;
  title: string;
  description: string;
  kind: AgendaKind;
  proposedText: string;
  supplementary: boolean;
  supplementSentAt: string | null;
  motionId: number | null;
  locked: boolean; // part of a sent invitation: no longer edited
}

export interface Recipient {
  organisationId: number;
  organisationName: string;
  memberNumber: number;
  contactName: string;
  to: string;
  cc: string[];
  locale: Locale;
  postalAddress: string;
  channel: 'email' | 'letter';
}

export interface Invitation {
  id: number;
  assemblyId: number;
  organisationId: number;
  organisationName: string;
  memberNumber: number;
  memberNo: string;
  contactName: string;
  to: string;
  cc: string[];
  locale: Locale;
  postalAddress: string;
  channel: 'email' | 'letter';
  status: string;
  mailMessageId: number | null;
  enqueuedAt: string | null;
}

export interface NoticeInfo {
  noticeDays: number;
  lastSendDay: string;
  inTime: boolean;
  daysLeft: number;
  motionDeadline: string;
  motionsOpen: boolean;
  today: string;
}

export type LinkProblem = 'unknown' | 'expired' | 'left' | 'cancelled';

function rowToAssembly(r: Record<string, any>): Assembly {
  return {
    id: Number(r.id),
    uid: r.uid,
    sequence: Number(r.sequence),
    notifiedSequence: r.notified_sequence == null ? null : Number(r.notified_sequence),
    title: r.title,
    kind: r.kind,
    startsAt: r.starts_at,
    durationMinutes: Number(r.duration_minutes),
    format: r.format,
    location: r.location,
    participationInfo: r.participation_info,
    copyAllContacts: b(r.copy_all_contacts),
    status: r.status,
    invitedAt: r.invited_at,
    cancelledAt: r.cancelled_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    day: berlinDay(r.starts_at),
    local: utcToBerlin(r.starts_at),
    updatePending: r.status === 'invited' && r.notified_sequence != null && Number(r.sequence) > Number(r.notified_sequence),
  };
}

function rowToItem(r: Record<string, any>, a?: Record<string, any>): AgendaItem {
  const supplementary = b(r.supplementary);
  return {
    id: Number(r.id),
    assemblyId: Number(r.assembly_id),
    position: Number(r.position),
    title: r.title,
    description: r.description,
    kind: r.kind,
    proposedText: r.proposed_text,
    supplementary,
    supplementSentAt: r.supplement_sent_at,
    motionId: r.motion_id == null ? null : Number(r.motion_id),
    locked: !!a && a.status !== 'draft' && (!supplementary || !!r.supplement_sent_at),
  };
}

export function rowToInvitation(r: Record<string, any>): Invitation {
  return {
    id: Number(r.id),
    assemblyId: Number(r.assembly_id),
    organisationId: Number(r.organisation_id),
    organisationName: r.organisation_name,
    memberNumber: Number(r.member_number),
    memberNo: formatMemberNumber(Number(r.member_number)),
    contactName: r.contact_name,
    to: r.to_address,
    cc: r.cc ? JSON.parse(r.cc) : [],
    locale: isLocale(r.locale) ? r.locale : 'de',
    postalAddress: r.postal_address,
    channel: r.channel,
    status: r.status,
    mailMessageId: r.mail_message_id == null ? null : Number(r.mail_message_id),
    enqueuedAt: r.enqueued_at,
  };
}

/** An uploaded file as the routes hand it over. */
export interface UploadedFile {
  filename: string;
  contentType: string;
  content: Buffer;
}

/** The largest document the board may upload (attachments, minutes). */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

/** Accepts a PDF only (by its first bytes, not by the name or the browser's type) and cleans the file name. */
export function checkPdf(file: UploadedFile): { filename: string } {
  if (file.content.length < 5 || file.content.subarray(0, 5).toString('latin1') !== '%PDF-') throw new AssemblyRuleError('pdf_only');
  if (file.content.length > MAX_UPLOAD_BYTES) throw new AssemblyRuleError('too_large', { maxMb: MAX_UPLOAD_BYTES / 1024 / 1024 });
  let filename = file.filename.split(/[\\/]/).pop() ?? '';
  filename = filename.replace(/[^\p{L}\p{N} ._()-]/gu, '_').slice(0, 200);
  if (!filename || filename.startsWith('.')) filename = 'dokument.pdf';
  if (!/\.pdf$/i.test(filename)) filename = `${filename.slice(0, 196)}.pdf`;
  return { filename };
}

interface Deps {
  db: Knex;
  clock: Clock;
  audit: AuditService;
  outbox: Outbox;
  settings: SettingsService;
  config: Config;
  log: Logger;
  jobs: JobsService;
}

type Q = Knex | Knex.Transaction;

/** General assemblies: preparation, invitations, members' answers, the day, minutes. */
export class AssembliesService {
  readonly jobs: InvitationJobs;
  constructor(private d: Deps) {
    this.jobs = new InvitationJobs(d, this);
  }

  private now(): string {
    return iso(this.d.clock.now());
  }

  /* ---------------------------------------------------------------- assemblies */

  async list(): Promise<Assembly[]> {
    return (await this.d.db('assemblies').orderBy('starts_at', 'desc')).map(rowToAssembly);
  }

  async find(id: number, q: Q = this.d.db): Promise<Assembly | undefined> {
    const r = await q('assemblies').where({ id }).first();
    return r ? rowToAssembly(r) : undefined;
  }

  async get(id: number, q: Q = this.d.db): Promise<Assembly> {
    const a = await this.find(id, q);
    if (!a) throw new NotFoundError();
    return a;
  }

  private columns(input: AssemblyInput): Record<string, unknown> {
    const startsAt = berlinToUtc(input.date, input.time);
    if (!startsAt) throw new AssemblyRuleError('invalid_date');
    return {
      title: input.title,
      kind: input.kind,
      starts_at: startsAt,
      duration_minutes: input.durationMinutes,
      format: input.format,
      location: input.location,
      participation_info: input.format === 'in_person' ? '' : input.participationInfo,
      copy_all_contacts: input.copyAllContacts,
    };
  }

  async create(actor: Actor, input: AssemblyInput): Promise<number> {
    const cols = this.columns(input);
    const now = this.now();
    const domain = new URL(this.d.config.baseUrl).hostname || 'localhost';
    return this.d.db.transaction(async (trx) => {
      const id = await insertId(trx, 'assemblies', {
        ...cols, uid: `assembly-${crypto.randomUUID()}@${domain}`, sequence: 0, status: 'draft', created_by: actor.userId, created_at: now, updated_at: now,
      });
      await this.d.audit.record(trx, actor, 'assembly.created', 'assembly', id, undefined, cols);
      return id;
    });
  }

  /** Saves the assembly; a change of time or place after the invitation raises the iCalendar SEQUENCE. */
  async update(actor: Actor, id: number, input: AssemblyInput): Promise<{ timeOrPlaceChanged: boolean }> {
    const cols = this.columns(input);
    return this.d.db.transaction(async (trx) => {
      const before = await trx('assemblies').where({ id }).first();
      if (!before) throw new NotFoundError();
      if (before.status === 'cancelled') throw new AssemblyRuleError('cancelled');
      const keys = ['starts_at', 'duration_minutes', 'format', 'location', 'participation_info'];
      const changed = keys.some((k) => String(before[k]) !== String(cols[k]));
      const bump = changed && before.status === 'invited';
      await trx('assemblies').where({ id }).update({ ...cols, sequence: bump ? Number(before.sequence) + 1 : before.sequence, updated_at: this.now() });
      const diffB: Record<string, unknown> = {};
      const diffA: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(cols)) {
        if (String(before[k]) !== String(v)) { diffB[k] = before[k]; diffA[k] = v; }
      }
      if (bump) { diffB.sequence = Number(before.sequence); diffA.sequence = Number(before.sequence) + 1; }
      await this.d.audit.record(trx, actor, 'assembly.updated', 'assembly', id, diffB, diffA);
      return { timeOrPlaceChanged: bump };
    });
  }

  noticeInfo(a: Assembly, rules: BylawsRules): NoticeInfo {
    const now = this.d.clock.now();
    const last = lastSendDay(a.startsAt, rules.invitationNoticeDays);
    return {
      noticeDays: rules.invitationNoticeDays,
      lastSendDay: last,
      inTime: isInTime(a.startsAt, rules.invitationNoticeDays, now),
      daysLeft: daysUntil(last, now),
      motionDeadline: motionDeadline(a.startsAt, rules.motionDeadlineDays),
      motionsOpen: motionsOpen(a.startsAt, rules.motionDeadlineDays, now),
      today: berlinDay(now),
    };
  }

  /* ---------------------------------------------------------------- agenda */

  async agenda(assemblyId: number, q: Q = this.d.db): Promise<AgendaItem[]> {
    const a = await q('assemblies').where({ id: assemblyId }).first();
    return (await q('assembly_agenda_items').where({ assembly_id: assemblyId }).orderBy([{ column: 'position' }, { column: 'id' }])).map((r) => rowToItem(r, a));
  }

  async agendaItem(assemblyId: number, itemId: number): Promise<AgendaItem> {
    const a = await this.d.db('assemblies').where({ id: assemblyId }).first();
    const r = await this.d.db('assembly_agenda_items').where({ id: itemId, assembly_id: assemblyId }).first();
    if (!a || !r) throw new NotFoundError();
    return rowToItem(r, a);
  }

  private async editableAssembly(trx: Knex.Transaction, id: number): Promise<Record<string, any>> {
    const a = await trx('assemblies').where({ id }).first();
    if (!a) throw new NotFoundError();
    if (a.status === 'cancelled') throw new AssemblyRuleError('cancelled');
    return a;
  }

  async addAgendaItem(actor: Actor, assemblyId: number, input: AgendaItemInput, opts: { motionId?: number } = {}): Promise<number> {
    return this.d.db.transaction(async (trx) => {
      const a = await this.editableAssembly(trx, assemblyId);
      const max = await trx('assembly_agenda_items').where({ assembly_id: assemblyId }).max({ m: 'position' }).first();
      const now = this.now();
      const row = {
        assembly_id: assemblyId, position: Number(max?.m ?? 0) + 1, title: input.title, description: input.description, kind: input.kind,
        proposed_text: input.proposedText, supplementary: a.status === 'invited', motion_id: opts.motionId ?? null, created_at: now, updated_at: now,
      };
      const id = await insertId(trx, 'assembly_agenda_items', row);
      await this.d.audit.record(trx, actor, 'assembly.agenda_item_added', 'assembly', assemblyId, undefined, { itemId: id, ...input, supplementary: row.supplementary });
      return id;
    });
  }

  private async editableItem(trx: Knex.Transaction, assemblyId: number, itemId: number) {
    const a = await this.editableAssembly(trx, assemblyId);
    const r = await trx('assembly_agenda_items').where({ id: itemId, assembly_id: assemblyId }).first();
    if (!r) throw new NotFoundError();
    const item = rowToItem(r, a);
    if (item.locked) throw new AssemblyRuleError('agenda_locked');
    return { a, r, item };
  }

  async updateAgendaItem(actor: Actor, assemblyId: number, itemId: number, input: AgendaItemInput): Promise<void> {
    await this.d.db.transaction(async (trx) => {
      const { r } = await this.editableItem(trx, assemblyId, itemId);
      await trx('assembly_agenda_items').where({ id: itemId }).update({ title: input.title, description: input.description, kind: input.kind, proposed_text: input.proposedText, updated_at: this.now() });
      await this.d.audit.record(trx, actor, 'assembly.agenda_item_updated', 'assembly', assemblyId,
        { itemId, title: r.title, description: r.description, kind: r.kind, proposedText: r.proposed_text }, { itemId, ...input });
    });
  }

  async moveAgendaItem(actor: Actor, assemblyId: number, itemId: number, direction: 'up' | 'down'): Promise<void> {
    await this.d.db.transaction(async (trx) => {
      const { a } = await this.editableItem(trx, assemblyId, itemId);
      const items = (await trx('assembly_agenda_items').where({ assembly_id: assemblyId }).orderBy([{ column: 'position' }, { column: 'id' }])).map((r) => rowToItem(r, a));
      const i = items.findIndex((x) => x.id === itemId);
      const j = direction === 'up' ? i - 1 : i + 1;
      if (j < 0 || j >= items.length) return;
      if (items[j].locked) throw new AssemblyRuleError('agenda_locked');
      [items[i], items[j]] = [items[j], items[i]];
      for (let k = 0; k < items.length; k++) {
        if (items[k].position !== k + 1) await trx('assembly_agenda_items').where({ id: items[k].id }).update({ position: k + 1 });
      }
      await this.d.audit.record(trx, actor, 'assembly.agenda_item_moved', 'assembly', assemblyId, { itemId, position: i + 1 }, { itemId, position: j + 1 });
    });
  }

  async deleteAgendaItem(actor: Actor, assemblyId: number, itemId: number): Promise<void> {
    await this.d.db.transaction(async (trx) => {
      const { r } = await this.editableItem(trx, assemblyId, itemId);
      await trx('assembly_agenda_items').where({ id: itemId }).delete();
      const rest = await trx('assembly_agenda_items').where({ assembly_id: assemblyId }).orderBy([{ column: 'position' }, { column: 'id' }]);
      for (let k = 0; k < rest.length; k++) {
        if (Number(rest[k].position) !== k + 1) await trx('assembly_agenda_items').where({ id: rest[k].id }).update({ position: k + 1 });
      }
      await this.d.audit.record(trx, actor, 'assembly.agenda_item_deleted', 'assembly', assemblyId, { itemId, title: r.title, kind: r.kind }, undefined);
    });
  }

  /* ---------------------------------------------------------------- recipients */

  /**
   * The organisations with a vote that are members on `day` (joined on or before, not exited
   * before), each with its voting representative as addressee, in the representative's
   * language; other contacts with an e-mail in copy when the assembly says so.
   */
  async recipients(day: string, copyAllContacts: boolean, q: Q = this.d.db): Promise<Recipient[]> {
    const orgs = await q('organisations as o')
      .join('membership_categories as c', 'c.id', 'o.category_id')
      .where('c.has_vote', true)
      .andWhere('o.join_date', '<=', day)
      .andWhere((w) => w.whereNull('o.exit_date').orWhere('o.exit_date', '>=', day))
      .select('o.id', 'o.legal_name', 'o.member_number', 'o.street', 'o.postcode', 'o.city', 'o.country')
      .orderBy('o.member_number');
    const out: Recipient[] = [];
    const ids = orgs.map((o) => Number(o.id));
    const contacts: Record<string, any>[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      contacts.push(...(await q('contacts').whereIn('organisation_id', ids.slice(i, i + 500)).orderBy([{ column: 'organisation_id' }, { column: 'id' }])));
    }
    const byOrg = new Map<number, Record<string, any>[]>();
    for (const c of contacts) {
      const k = Number(c.organisation_id);
      if (!byOrg.has(k)) byOrg.set(k, []);
      byOrg.get(k)!.push(c);
    }
    for (const o of orgs) {
      const cs = byOrg.get(Number(o.id)) ?? [];
      const reps = cs.filter((c) => b(c.is_representative));
      const rep = reps.find((c) => c.email) ?? reps[0];
      const to = rep?.email ? String(rep.email).toLowerCase() : '';
      const cc = copyAllContacts && to
        ? [...new Set(cs.filter((c) => c.email && String(c.email).toLowerCase() !== to).map((c) => String(c.email).toLowerCase()))]
        : [];
      out.push({
        organisationId: Number(o.id),
        organisationName: o.legal_name,
        memberNumber: Number(o.member_number),
        contactName: rep?.name ?? '',
        to,
        cc,
        locale: rep && isLocale(rep.locale) ? rep.locale : 'de',
        postalAddress: [o.legal_name, rep?.name, o.street, `${o.postcode} ${o.city}`.trim(), o.country && o.country !== 'DE' ? o.country : ''].filter(Boolean).join('\n'),
        channel: to ? 'email' : 'letter',
      });
    }
    return out;
  }

  async invitations(assemblyId: number, q: Q = this.d.db): Promise<Invitation[]> {
    return (await q('assembly_invitations').where({ assembly_id: assemblyId }).orderBy('member_number')).map(rowToInvitation);
  }

  /* ---------------------------------------------------------------- preview and sending */

  /** The invitation mail exactly as a member gets it (same content and renderer as the job), with a sample link. */
  async preview(assemblyId: number, organisationId?: number): Promise<{ recipient: Recipient | undefined; subject: string; text: string; html: string; locale: Locale }> {
    const a = await this.get(assemblyId);
    const [agenda, association, rules] = await Promise.all([this.agenda(assemblyId), this.d.settings.association(), this.d.settings.rules()]);
    const recipients = await this.recipients(berlinDay(this.d.clock.now()), a.copyAllContacts);
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
   * moment, gets the running job). Refused without an agenda, and after the last day of the
   * notice period unless a reason for the late invitation is given (recorded and audited).
   */
  async startSending(actor: Actor, assemblyId: number, overrideReason = ''): Promise<number> {
    const rules = await this.d.settings.rules();
    const a = await this.get(assemblyId);
    if (a.status === 'cancelled') throw new AssemblyRuleError('cancelled');
    if (a.status === 'invited') {
      const running = await this.jobs.activeJob(assemblyId);
      if (running) return running.id;
      throw new AssemblyRuleError('already_sent');
    }
    if (new Date(a.startsAt).getTime() <= this.d.clock.now().getTime()) throw new AssemblyRuleError('in_past');
    const agenda = await this.agenda(assemblyId);
    if (!agenda.length) throw new AssemblyRuleError('no_agenda');
    const notice = this.noticeInfo(a, rules);
    const reason = overrideReason.trim();
    if (!notice.inTime && !reason) throw new AssemblyRuleError('too_late', { lastSendDay: notice.lastSendDay, days: rules.invitationNoticeDays });
    try {
      const jobId = await this.d.db.transaction(async (trx) => {
        const n = await trx('assemblies').where({ id: assemblyId, status: 'draft' }).update({
          status: 'invited', invited_at: this.now(), notified_sequence: a.sequence, updated_at: this.now(),
        });
        if (affected(n) !== 1) throw new AssemblyRuleError('already_sent');
        if (!notice.inTime) {
          await trx('assembly_overrides').insert({
            assembly_id: assemblyId, kind: 'late_sending', reason, last_send_day: notice.lastSendDay, send_day: notice.today,
            user_id: actor.userId, actor_label: actor.label.slice(0, 200), created_at: this.now(),
          });
          await this.d.audit.record(trx, actor, 'assembly.late_sending_override', 'assembly', assemblyId, undefined, { reason, lastSendDay: notice.lastSendDay, sendDay: notice.today });
        }
        const jobId = await this.jobs.create(trx, actor, assemblyId, 'invitation', {});
        await this.d.audit.record(trx, actor, 'assembly.invitations_started', 'assembly', assemblyId, { status: 'draft' }, { status: 'invited', jobId, inTime: notice.inTime });
        return jobId;
      });
      this.jobs.start(jobId);
      return jobId;
    } catch (err) {
      if (err instanceof AssemblyRuleError && err.code === 'already_sent') {
        const running = await this.jobs.activeJob(assemblyId);
        if (running) return running.id;
      }
      throw err;
    }
  }

  /** Sends the changed time or place to everyone invited (new SEQUENCE in the .ics). */
  async sendUpdate(actor: Actor, assemblyId: number): Promise<number> {
    const jobId = await this.d.db.transaction(async (trx) => {
      const a = await this.get(assemblyId, trx);
      if (a.status !== 'invited') throw new AssemblyRuleError('not_invited');
      if (!a.updatePending) throw new AssemblyRuleError('no_update');
      await trx('assemblies').where({ id: assemblyId }).update({ notified_sequence: a.sequence, updated_at: this.now() });
      const jobId = await this.jobs.create(trx, actor, assemblyId, 'update', { sequence: a.sequence });
      await this.d.audit.record(trx, actor, 'assembly.update_sent', 'assembly', assemblyId, undefined, { sequence: a.sequence, jobId });
      return jobId;
    });
    this.jobs.start(jobId);
    return jobId;
  }

  /** Cancels the assembly; members already invited get METHOD:CANCEL. */
  async cancel(actor: Actor, assemblyId: number): Promise<number | null> {
    const jobId = await this.d.db.transaction(async (trx) => {
      const a = await this.get(assemblyId, trx);
      if (a.status === 'cancelled') throw new AssemblyRuleError('cancelled');
      const seq = a.sequence + 1;
      await trx('assemblies').where({ id: assemblyId }).update({
        status: 'cancelled', cancelled_at: this.now(), sequence: seq, notified_sequence: a.status === 'invited' ? seq : null, updated_at: this.now(),
      });
      let jobId: number | null = null;
      if (a.status === 'invited') jobId = await this.jobs.create(trx, actor, assemblyId, 'cancel', { sequence: seq });
      await this.d.audit.record(trx, actor, 'assembly.cancelled', 'assembly', assemblyId, { status: a.status }, { status: 'cancelled', sequence: seq, jobId });
      return jobId;
    });
    if (jobId) this.jobs.start(jobId);
    return jobId;
  }

  /** Sends the agenda with the items added since the invitation to everyone invited. */
  async sendSupplement(actor: Actor, assemblyId: number): Promise<number> {
    const jobId = await this.d.db.transaction(async (trx) => {
      const a = await this.get(assemblyId, trx);
      if (a.status !== 'invited') throw new AssemblyRuleError('not_invited');
      const items = await trx('assembly_agenda_items').where({ assembly_id: assemblyId, supplementary: true }).whereNull('supplement_sent_at');
      if (!items.length) throw new AssemblyRuleError('no_supplement');
      const ids = items.map((r) => Number(r.id));
      await trx('assembly_agenda_items').whereIn('id', ids).update({ supplement_sent_at: this.now() });
      const jobId = await this.jobs.create(trx, actor, assemblyId, 'supplement', { itemIds: ids });
      await this.d.audit.record(trx, actor, 'assembly.supplement_sent', 'assembly', assemblyId, undefined, { itemIds: ids, jobId });
      return jobId;
    });
    this.jobs.start(jobId);
    return jobId;
  }

  /** Reminds those invited by e-mail who have not answered yet. */
  async sendReminder(actor: Actor, assemblyId: number): Promise<number> {
    const jobId = await this.d.db.transaction(async (trx) => {
      const a = await this.get(assemblyId, trx);
      if (a.status !== 'invited') throw new AssemblyRuleError('not_invited');
      if (new Date(a.startsAt).getTime() <= this.d.clock.now().getTime()) throw new AssemblyRuleError('started');
      const jobId = await this.jobs.create(trx, actor, assemblyId, 'reminder', {});
      await this.d.audit.record(trx, actor, 'assembly.reminder_sent', 'assembly', assemblyId, undefined, { jobId });
      return jobId;
    });
    this.jobs.start(jobId);
    return jobId;
  }

  /** Sends one invitation again, to the organisation's current representative (e.g. after a bounce and a corrected address). */
  async resend(actor: Actor, assemblyId: number, invitationId: number): Promise<void> {
    const [association, rules] = await Promise.all([this.d.settings.association(), this.d.settings.rules()]);
    await this.d.db.transaction(async (trx) => {
      const a = await this.get(assemblyId, trx);
      if (a.status !== 'invited') throw new AssemblyRuleError('not_invited');
      const inv = await trx('assembly_invitations').where({ id: invitationId, assembly_id: assemblyId }).first();
      if (!inv) throw new NotFoundError();
      const current = (await this.recipients(berlinDay(this.d.clock.now()), a.copyAllContacts, trx)).find((r) => r.organisationId === Number(inv.organisation_id));
      if (!current) throw new AssemblyRuleError('not_member');
      if (!current.to) throw new AssemblyRuleError('no_email');
      const [{ n }] = await trx('assembly_deliveries').where({ invitation_id: invitationId, kind: 'resend' }).count({ n: '*' });
      const key = `resend:${Number(n) + 1}`;
      const deliveryId = await insertId(trx, 'assembly_deliveries', { invitation_id: invitationId, kind: 'resend', delivery_key: key, created_at: this.now() });
      const agenda = await this.agenda(assemblyId, trx);
      const mailId = await this.jobs.enqueueMail(trx, { kind: 'invitation', assembly: a, agenda, association, rules, invitation: rowToInvitation(inv), to: current.to, cc: current.cc });
      await trx('assembly_deliveries').where({ id: deliveryId }).update({ mail_message_id: mailId });
      if (inv.channel === 'letter') await trx('assembly_invitations').where({ id: invitationId }).update({ channel: 'email', status: 'queued', to_address: current.to });
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
      const a = await this.get(assemblyId, trx);
      if (a.status !== 'invited') throw new AssemblyRuleError('not_invited');
      const agenda = await this.agenda(assemblyId, trx);
      const q = trx('assembly_invitations').where({ assembly_id: assemblyId, channel: 'letter' });
      if (opts.invitationId !== undefined) q.andWhere({ id: opts.invitationId });
      const invs = (await q.orderBy('member_number')).map(rowToInvitation);
      if (opts.invitationId !== undefined && !invs.length) throw new NotFoundError();
      const out = [];
      for (const inv of invs) {
        const { token, hash } = newLinkToken();
        await trx('assembly_invitation_tokens').insert({ invitation_id: inv.id, token_hash: hash, purpose: 'letter', created_at: this.now() });
        await trx('assembly_invitations').where({ id: inv.id }).update({ token_hash: hash });
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
    const mails = await this.d.db('assembly_invitations as i')
      .join('mail_messages as m', 'm.id', 'i.mail_message_id')
      .where('i.assembly_id', assemblyId)
      .select('i.id as invitation_id', 'm.id', 'm.to_address', 'm.cc', 'm.status', 'm.last_response', 'm.sent_at', 'm.created_at', 'm.attempts');
    const later = await this.d.db('assembly_deliveries as d')
      .join('assembly_invitations as i', 'i.id', 'd.invitation_id')
      .leftJoin('mail_messages as m', 'm.id', 'd.mail_message_id')
      .where('i.assembly_id', assemblyId)
      .select('d.invitation_id', 'd.kind', 'm.id', 'm.to_address', 'm.status', 'm.last_response', 'm.sent_at', 'm.created_at')
      .orderBy('d.id');
    const rsvps = await this.d.db('assembly_rsvps').where({ assembly_id: assemblyId });
    const answered = new Set(rsvps.map((r) => Number(r.organisation_id)));
    const mailView = (m: Record<string, any>, kind: string) => ({
      kind, mailId: Number(m.id), to: m.to_address, status: m.status, response: m.last_response, sentAt: m.sent_at, queuedAt: m.created_at,
    });
    return invs.map((inv) => {
      const first = mails.find((m) => Number(m.invitation_id) === inv.id);
      const rest = later.filter((m) => Number(m.invitation_id) === inv.id && m.id != null);
      const all = [...(first ? [mailView(first, 'invitation')] : []), ...rest.map((m) => mailView(m, m.kind))];
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

  async overrides(assemblyId: number) {
    return (await this.d.db('assembly_overrides').where({ assembly_id: assemblyId }).orderBy('id')).map((r) => ({
      kind: r.kind, reason: r.reason, lastSendDay: r.last_send_day, sendDay: r.send_day, actor: r.actor_label, at: r.created_at,
    }));
  }

  /* ---------------------------------------------------------------- personal links and answers */

  /** Resolves a personal link: the invitation, or why it cannot be used. Nothing is changed. */
  async resolveLink(token: string): Promise<{ ok: true; invitation: Invitation; assembly: Assembly } | { ok: false; reason: LinkProblem; assembly?: Assembly }> {
    if (typeof token !== 'string' || token.length < 40 || token.length > 60) return { ok: false, reason: 'unknown' };
    const r = await this.d.db('assembly_invitation_tokens as t').join('assembly_invitations as i', 'i.id', 't.invitation_id')
      .where('t.token_hash', sha256(token)).select('i.*').first();
    if (!r) return { ok: false, reason: 'unknown' };
    return this.checkInvitation(rowToInvitation(r));
  }

  private async checkInvitation(invitation: Invitation): Promise<{ ok: true; invitation: Invitation; assembly: Assembly } | { ok: false; reason: LinkProblem; assembly?: Assembly }> {
    const assembly = await this.get(invitation.assemblyId);
    const now = this.d.clock.now();
    if (now.toISOString() >= linkExpiresAt(assembly.startsAt)) return { ok: false, reason: 'expired', assembly };
    if (assembly.status === 'cancelled') return { ok: false, reason: 'cancelled', assembly };
    const org = await this.d.db('organisations').where({ id: invitation.organisationId }).first();
    const today = berlinDay(now);
    if (!org || (org.exit_date && org.exit_date < today) || org.status === 'former') return { ok: false, reason: 'left', assembly };
    return { ok: true, invitation, assembly };
  }

  /** For the portal: the invitation of a member organisation to an assembly. */
  async resolvePortal(organisationId: number, assemblyId: number) {
    const r = await this.d.db('assembly_invitations').where({ assembly_id: assemblyId, organisation_id: organisationId }).first();
    if (!r) return { ok: false as const, reason: 'unknown' as LinkProblem };
    return this.checkInvitation(rowToInvitation(r));
  }

  async portalList(organisationId: number) {
    const rows = await this.d.db('assembly_invitations as i').join('assemblies as a', 'a.id', 'i.assembly_id')
      .where('i.organisation_id', organisationId).select('a.*').orderBy('a.starts_at', 'desc');
    return rows.map(rowToAssembly);
  }

  /** Everything the personal page shows for one invited organisation. */
  async memberView(invitation: Invitation, assembly: Assembly) {
    const rules = await this.d.settings.rules();
    const id = assembly.id;
    const org = invitation.organisationId;
    const now = this.d.clock.now();
    const [agenda, rsvp, given, held, motions, candidates, attachments, minutes] = await Promise.all([
      this.agenda(id),
      this.d.db('assembly_rsvps').where({ assembly_id: id, organisation_id: org }).first(),
      this.d.db('assembly_proxies as p').join('organisations as o', 'o.id', 'p.holder_organisation_id')
        .where({ 'p.assembly_id': id, 'p.giver_organisation_id': org }).whereNull('p.withdrawn_at').select('p.id', 'o.legal_name as holder').first(),
      this.d.db('assembly_proxies as p').join('organisations as o', 'o.id', 'p.giver_organisation_id')
        .where({ 'p.assembly_id': id, 'p.holder_organisation_id': org }).whereNull('p.withdrawn_at').select('o.legal_name as giver'),
      this.d.db('assembly_motions').where({ assembly_id: id, organisation_id: org }).orderBy('id'),
      this.d.db('assembly_invitations').where({ assembly_id: id }).whereNot({ organisation_id: org }).orderBy('organisation_name').select('organisation_id as id', 'organisation_name as name'),
      this.attachments(id),
      this.d.db('assembly_minutes').where({ assembly_id: id }).whereNotNull('sent_at').first(),
    ]);
    const open = now.getTime() < new Date(assembly.startsAt).getTime();
    return {
      agenda,
      rsvp: rsvp ? { attending: b(rsvp.attending), peopleCount: Number(rsvp.people_count), names: rsvp.names, updatedAt: rsvp.updated_at } : undefined,
      proxyGiven: given ? { id: Number(given.id), holder: given.holder } : undefined,
      proxiesHeld: held.map((h) => h.giver as string),
      motions: motions.map((m) => ({ title: m.title, body: m.body, createdAt: m.created_at })),
      candidates: candidates.map((c) => ({ id: Number(c.id), name: c.name })),
      attachments,
      minutes: minutes ? { body: minutes.body, attachmentId: minutes.attachment_id == null ? null : Number(minutes.attachment_id) } : undefined,
      answersOpen: open,
      proxiesAllowed: rules.proxiesAllowed,
      maxProxies: rules.maxProxiesPerHolder,
      motionDeadline: motionDeadline(assembly.startsAt, rules.motionDeadlineDays),
      motionsOpen: open && motionsOpen(assembly.startsAt, rules.motionDeadlineDays, now),
    };
  }

  private async answerable(trx: Knex.Transaction, invitation: Invitation): Promise<Record<string, any>> {
    const a = await trx('assemblies').where({ id: invitation.assemblyId }).first();
    if (!a) throw new NotFoundError();
    if (a.status === 'cancelled') throw new AssemblyRuleError('cancelled');
    if (this.d.clock.now().getTime() >= new Date(a.starts_at).getTime()) throw new AssemblyRuleError('started');
    return a;
  }

  async rsvp(actor: Actor, invitation: Invitation, input: RsvpInput, via: 'link' | 'portal' | 'board'): Promise<void> {
    await this.d.db.transaction(async (trx) => {
      await this.answerable(trx, invitation);
      const row = { attending: input.attending === 'yes', people_count: input.attending === 'yes' ? input.peopleCount : 0, names: input.attending === 'yes' ? input.names : '', via, updated_at: this.now() };
      const before = await trx('assembly_rsvps').where({ assembly_id: invitation.assemblyId, organisation_id: invitation.organisationId }).first();
      if (before) await trx('assembly_rsvps').where({ id: before.id }).update(row);
      else await trx('assembly_rsvps').insert({ assembly_id: invitation.assemblyId, organisation_id: invitation.organisationId, ...row });
      await this.d.audit.record(trx, actor, 'assembly.rsvp', 'assembly', invitation.assemblyId,
        before ? { organisationId: invitation.organisationId, attending: b(before.attending), peopleCount: Number(before.people_count), names: before.names } : undefined,
        { organisationId: invitation.organisationId, attending: row.attending, peopleCount: row.people_count, names: row.names, via });
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
      // serialise answers to this assembly (row lock on PostgreSQL; SQLite has one writer anyway)
      await trx('assemblies').where({ id }).increment('lock_version', 1);
      const holder = await trx('assembly_invitations').where({ assembly_id: id, organisation_id: holderOrganisationId }).first();
      const holderOrg = holder ? await trx('organisations').where({ id: holderOrganisationId }).first() : undefined;
      const today = berlinDay(this.d.clock.now());
      const active = (await trx('assembly_proxies').where({ assembly_id: id }).whereNull('withdrawn_at').select('giver_organisation_id', 'holder_organisation_id'))
        .map((p) => ({ giverId: Number(p.giver_organisation_id), holderId: Number(p.holder_organisation_id) }));
      const refusal = proxyRefusal({
        proxiesAllowed: rules.proxiesAllowed, maxPerHolder: rules.maxProxiesPerHolder, giverId: invitation.organisationId, holderId: holderOrganisationId,
        holderEligible: !!holder && !!holderOrg && !(holderOrg.exit_date && holderOrg.exit_date < today) && holderOrg.status !== 'former', active,
      });
      if (refusal) throw new AssemblyRuleError(refusal, { holder: holder?.organisation_name ?? '', max: rules.maxProxiesPerHolder });
      const proxyId = await insertId(trx, 'assembly_proxies', {
        assembly_id: id, giver_organisation_id: invitation.organisationId, holder_organisation_id: holderOrganisationId, created_at: this.now(), via,
      });
      await this.d.audit.record(trx, actor, 'assembly.proxy_given', 'assembly', id, undefined, { proxyId, giver: invitation.organisationId, holder: holderOrganisationId, via });
    });
  }

  async withdrawProxy(actor: Actor, invitation: Invitation): Promise<void> {
    await this.d.db.transaction(async (trx) => {
      await this.answerable(trx, invitation);
      const p = await trx('assembly_proxies').where({ assembly_id: invitation.assemblyId, giver_organisation_id: invitation.organisationId }).whereNull('withdrawn_at').first();
      if (!p) throw new AssemblyRuleError('no_proxy');
      await trx('assembly_proxies').where({ id: p.id }).update({ withdrawn_at: this.now() });
      await this.d.audit.record(trx, actor, 'assembly.proxy_withdrawn', 'assembly', invitation.assemblyId, { proxyId: Number(p.id), holder: Number(p.holder_organisation_id) }, { withdrawnAt: this.now() });
    });
  }

  async submitMotion(actor: Actor, invitation: Invitation, input: MotionInput, via: 'link' | 'portal'): Promise<number> {
    const rules = await this.d.settings.rules();
    return this.d.db.transaction(async (trx) => {
      const a = await this.answerable(trx, invitation);
      if (!motionsOpen(a.starts_at, rules.motionDeadlineDays, this.d.clock.now())) {
        throw new AssemblyRuleError('motion_deadline', { deadline: motionDeadline(a.starts_at, rules.motionDeadlineDays) });
      }
      const id = await insertId(trx, 'assembly_motions', {
        assembly_id: invitation.assemblyId, organisation_id: invitation.organisationId, title: input.title, body: input.body,
        submitted_by: input.submittedBy, via, created_at: this.now(),
      });
      await this.d.audit.record(trx, actor, 'assembly.motion_submitted', 'assembly', invitation.assemblyId, undefined, { motionId: id, organisationId: invitation.organisationId, title: input.title });
      return id;
    });
  }

  /** The board's view of the answers: RSVPs, proxies in force and withdrawn, motions. */
  async answers(assemblyId: number) {
    const [rsvps, proxies, motions, invs] = await Promise.all([
      this.d.db('assembly_rsvps as r').join('assembly_invitations as i', function () {
        this.on('i.assembly_id', '=', 'r.assembly_id').andOn('i.organisation_id', '=', 'r.organisation_id');
      }).where('r.assembly_id', assemblyId).select('r.*', 'i.organisation_name', 'i.member_number').orderBy('i.member_number'),
      this.d.db('assembly_proxies as p')
        .join('organisations as g', 'g.id', 'p.giver_organisation_id')
        .join('organisations as h', 'h.id', 'p.holder_organisation_id')
        .where('p.assembly_id', assemblyId).select('p.*', 'g.legal_name as giver', 'h.legal_name as holder').orderBy('p.id'),
      this.d.db('assembly_motions as m').join('organisations as o', 'o.id', 'm.organisation_id')
        .where('m.assembly_id', assemblyId).select('m.*', 'o.legal_name as organisation').orderBy('m.id'),
      this.d.db('assembly_invitations').where({ assembly_id: assemblyId }).count({ n: '*' }),
    ]);
    const onAgenda = new Set((await this.d.db('assembly_agenda_items').where({ assembly_id: assemblyId }).whereNotNull('motion_id').select('motion_id')).map((r) => Number(r.motion_id)));
    const rs = rsvps.map((r) => ({ organisation: r.organisation_name, memberNo: formatMemberNumber(Number(r.member_number)), attending: b(r.attending), peopleCount: Number(r.people_count), names: r.names, via: r.via, updatedAt: r.updated_at }));
    return {
      invited: Number(invs[0].n),
      yes: rs.filter((r) => r.attending).length,
      no: rs.filter((r) => !r.attending).length,
      people: rs.reduce((s, r) => s + r.peopleCount, 0),
      rsvps: rs,
      proxies: proxies.map((p) => ({ id: Number(p.id), giver: p.giver, holder: p.holder, createdAt: p.created_at, withdrawnAt: p.withdrawn_at })),
      motions: motions.map((m) => ({ id: Number(m.id), organisation: m.organisation, title: m.title, body: m.body, submittedBy: m.submitted_by, createdAt: m.created_at, onAgenda: onAgenda.has(Number(m.id)) })),
    };
  }

  /** Puts a motion on the agenda (as a supplementary item once the invitation is out). */
  async motionToAgenda(actor: Actor, assemblyId: number, motionId: number): Promise<number> {
    const m = await this.d.db('assembly_motions').where({ id: motionId, assembly_id: assemblyId }).first();
    if (!m) throw new NotFoundError();
    const exists = await this.d.db('assembly_agenda_items').where({ assembly_id: assemblyId, motion_id: motionId }).first();
    if (exists) throw new AssemblyRuleError('motion_on_agenda');
    return this.addAgendaItem(actor, assemblyId, { title: m.title, description: '', kind: 'resolution', proposedText: m.body }, { motionId });
  }

  /* ---------------------------------------------------------------- the day */

  /** Attendance list: every voting member on the assembly day, who is in, proxies, votes present and the quorum. */
  async day(assemblyId: number): Promise<{
    rows: { organisationId: number; name: string; memberNo: string; invited: boolean; present: boolean; checkedInAt: string | null; checkedOutAt: string | null; personName: string; rsvp: string | null; holds: string[]; gaveTo: string | null }[];
    votes: ReturnType<typeof votesPresent>;
    quorum: QuorumResult;
    proxies: { giver: string; holder: string; counts: boolean }[];
  }> {
    const a = await this.get(assemblyId);
    const rules = await this.d.settings.rules();
    const members = await this.recipients(a.day, false);
    const [invs, att, proxies, rsvps] = await Promise.all([
      this.d.db('assembly_invitations').where({ assembly_id: assemblyId }).select('organisation_id'),
      this.d.db('assembly_attendance').where({ assembly_id: assemblyId }),
      this.d.db('assembly_proxies').where({ assembly_id: assemblyId }).whereNull('withdrawn_at'),
      this.d.db('assembly_rsvps').where({ assembly_id: assemblyId }),
    ]);
    const invited = new Set(invs.map((r) => Number(r.organisation_id)));
    const attBy = new Map(att.map((r) => [Number(r.organisation_id), r]));
    const rsvpBy = new Map(rsvps.map((r) => [Number(r.organisation_id), b(r.attending) ? 'yes' : 'no']));
    const name = new Map(members.map((m) => [m.organisationId, m.organisationName]));
    const votingIds = new Set(members.map((m) => m.organisationId));
    const present = members.filter((m) => { const r = attBy.get(m.organisationId); return !!r?.checked_in_at && !r.checked_out_at; }).map((m) => m.organisationId);
    const presentSet = new Set(present);
    const inForce = proxies.filter((p) => votingIds.has(Number(p.giver_organisation_id))).map((p) => ({ giverId: Number(p.giver_organisation_id), holderId: Number(p.holder_organisation_id) }));
    const votes = votesPresent(present, inForce);
    return {
      rows: members.map((m) => {
        const r = attBy.get(m.organisationId);
        const gave = inForce.find((p) => p.giverId === m.organisationId);
        return {
          organisationId: m.organisationId, name: m.organisationName, memberNo: formatMemberNumber(m.memberNumber), invited: invited.has(m.organisationId),
          present: presentSet.has(m.organisationId), checkedInAt: r?.checked_in_at ?? null, checkedOutAt: r?.checked_out_at ?? null, personName: r?.person_name ?? '',
          rsvp: rsvpBy.get(m.organisationId) ?? null,
          holds: inForce.filter((p) => p.holderId === m.organisationId).map((p) => name.get(p.giverId) ?? ''),
          gaveTo: gave ? name.get(gave.holderId) ?? null : null,
        };
      }),
      votes,
      quorum: quorum(members.length, votes.present, rules.quorumPercent),
      proxies: inForce.map((p) => ({ giver: name.get(p.giverId) ?? '', holder: name.get(p.holderId) ?? '', counts: presentSet.has(p.holderId) && !presentSet.has(p.giverId) })),
    };
  }

  async checkIn(actor: Actor, assemblyId: number, organisationId: number, action: 'in' | 'out', personName: string): Promise<void> {
    await this.d.db.transaction(async (trx) => {
      const a = await this.get(assemblyId, trx);
      if (a.status === 'cancelled') throw new AssemblyRuleError('cancelled');
      const member = (await this.recipients(a.day, false, trx)).find((m) => m.organisationId === organisationId);
      if (!member) throw new AssemblyRuleError('not_voting_member');
      const now = this.now();
      const before = await trx('assembly_attendance').where({ assembly_id: assemblyId, organisation_id: organisationId }).first();
      if (action === 'in') {
        const row = { checked_in_at: now, checked_out_at: null, person_name: personName || before?.person_name || '', updated_by: actor.userId, updated_at: now };
        if (before) await trx('assembly_attendance').where({ id: before.id }).update(row);
        else await trx('assembly_attendance').insert({ assembly_id: assemblyId, organisation_id: organisationId, ...row });
      } else {
        if (!before?.checked_in_at || before.checked_out_at) throw new AssemblyRuleError('not_checked_in');
        await trx('assembly_attendance').where({ id: before.id }).update({ checked_out_at: now, updated_by: actor.userId, updated_at: now });
      }
      await this.d.audit.record(trx, actor, action === 'in' ? 'assembly.checked_in' : 'assembly.checked_out', 'assembly', assemblyId, undefined, { organisationId, personName });
    });
  }

  /** The assemblies an organisation was invited to, and whether it attended (for the register and the portal). */
  async assembliesAttendedBy(organisationId: number): Promise<{ assemblyId: number; title: string; startsAt: string; status: string; rsvp: 'yes' | 'no' | null; attended: boolean; proxyTo: string | null }[]> {
    const rows = await this.d.db('assembly_invitations as i')
      .join('assemblies as a', 'a.id', 'i.assembly_id')
      .leftJoin('assembly_rsvps as r', function () { this.on('r.assembly_id', '=', 'i.assembly_id').andOn('r.organisation_id', '=', 'i.organisation_id'); })
      .leftJoin('assembly_attendance as t', function () { this.on('t.assembly_id', '=', 'i.assembly_id').andOn('t.organisation_id', '=', 'i.organisation_id'); })
      .where('i.organisation_id', organisationId)
      .select('a.id', 'a.title', 'a.starts_at', 'a.status', 'r.attending', 't.checked_in_at')
      .orderBy('a.starts_at', 'desc');
    if (!rows.length) return []; // never invited: no proxies to look up either
    const proxies = await this.d.db('assembly_proxies as p').join('organisations as o', 'o.id', 'p.holder_organisation_id')
      .where('p.giver_organisation_id', organisationId).whereNull('p.withdrawn_at').select('p.assembly_id', 'o.legal_name');
    return rows.map((r) => ({
      assemblyId: Number(r.id), title: r.title, startsAt: r.starts_at, status: r.status,
      rsvp: r.attending == null ? null : b(r.attending) ? 'yes' : 'no',
      attended: !!r.checked_in_at,
      proxyTo: proxies.find((p) => Number(p.assembly_id) === Number(r.id))?.legal_name ?? null,
    }));
  }

  /* ---------------------------------------------------------------- afterwards */

  async resolutions(assemblyId: number) {
    const rows = await this.d.db('assembly_resolutions').where({ assembly_id: assemblyId });
    return new Map(rows.map((r) => [Number(r.agenda_item_id), {
      yes: Number(r.yes_votes), no: Number(r.no_votes), abstain: Number(r.abstentions), note: r.note, adopted: Number(r.yes_votes) > Number(r.no_votes),
    }]));
  }

  async recordResolution(actor: Actor, assemblyId: number, itemId: number, input: ResolutionInput): Promise<void> {
    await this.d.db.transaction(async (trx) => {
      const a = await this.get(assemblyId, trx);
      if (a.status === 'cancelled') throw new AssemblyRuleError('cancelled');
      if (this.d.clock.now().getTime() < new Date(a.startsAt).getTime()) throw new AssemblyRuleError('not_started');
      const item = await trx('assembly_agenda_items').where({ id: itemId, assembly_id: assemblyId }).first();
      if (!item) throw new NotFoundError();
      if (item.kind === 'report') throw new AssemblyRuleError('report_no_vote');
      const before = await trx('assembly_resolutions').where({ agenda_item_id: itemId }).first();
      const row = { yes_votes: input.yes, no_votes: input.no, abstentions: input.abstain, note: input.note, recorded_by: actor.userId, recorded_at: this.now() };
      if (before) await trx('assembly_resolutions').where({ id: before.id }).update(row);
      else await trx('assembly_resolutions').insert({ assembly_id: assemblyId, agenda_item_id: itemId, ...row });
      await this.d.audit.record(trx, actor, 'assembly.resolution_recorded', 'assembly', assemblyId,
        before ? { itemId, yes: Number(before.yes_votes), no: Number(before.no_votes), abstain: Number(before.abstentions) } : undefined,
        { itemId, yes: input.yes, no: input.no, abstain: input.abstain, note: input.note });
    });
  }

  async minutes(assemblyId: number): Promise<{ body: string; attachmentId: number | null; updatedAt: string; sentAt: string | null } | undefined> {
    const r = await this.d.db('assembly_minutes').where({ assembly_id: assemblyId }).first();
    return r ? { body: r.body, attachmentId: r.attachment_id == null ? null : Number(r.attachment_id), updatedAt: r.updated_at, sentAt: r.sent_at } : undefined;
  }

  async saveMinutes(actor: Actor, assemblyId: number, body: string, attachmentId?: number): Promise<void> {
    await this.d.db.transaction(async (trx) => {
      const a = await this.get(assemblyId, trx);
      if (this.d.clock.now().getTime() < new Date(a.startsAt).getTime()) throw new AssemblyRuleError('not_started');
      const before = await trx('assembly_minutes').where({ assembly_id: assemblyId }).first();
      const row: Record<string, unknown> = { body, updated_at: this.now(), updated_by: actor.userId };
      if (attachmentId) row.attachment_id = attachmentId;
      if (before) await trx('assembly_minutes').where({ id: before.id }).update(row);
      else await trx('assembly_minutes').insert({ assembly_id: assemblyId, ...row });
      await this.d.audit.record(trx, actor, 'assembly.minutes_saved', 'assembly', assemblyId, before ? { length: String(before.body).length } : undefined, { length: body.length, attachmentId: attachmentId ?? null });
    });
  }

  /** Sends the minutes with the resolutions to every member invited by e-mail. */
  async sendMinutes(actor: Actor, assemblyId: number): Promise<number> {
    const jobId = await this.d.db.transaction(async (trx) => {
      const a = await this.get(assemblyId, trx);
      if (a.status !== 'invited') throw new AssemblyRuleError('not_invited');
      const m = await trx('assembly_minutes').where({ assembly_id: assemblyId }).first();
      if (!m || (!String(m.body).trim() && !m.attachment_id)) throw new AssemblyRuleError('no_minutes');
      if (m.sent_at) throw new AssemblyRuleError('minutes_sent');
      await trx('assembly_minutes').where({ id: m.id }).update({ sent_at: this.now() });
      const jobId = await this.jobs.create(trx, actor, assemblyId, 'minutes', {});
      await this.d.audit.record(trx, actor, 'assembly.minutes_sent', 'assembly', assemblyId, undefined, { jobId });
      return jobId;
    });
    this.jobs.start(jobId);
    return jobId;
  }

  /* ---------------------------------------------------------------- attachments */

  /** The assembly's documents for the invitees (the minutes PDF is kept apart, see minutesFile). */
  async attachments(assemblyId: number): Promise<{ id: number; filename: string; contentType: string; size: number; createdAt: string }[]> {
    return (await this.d.db('assembly_attachments').where({ assembly_id: assemblyId })
      .whereNotIn('id', this.d.db('assembly_minutes').whereNotNull('attachment_id').select('attachment_id'))
      .select('id', 'filename', 'content_type', 'size', 'created_at').orderBy('id'))
      .map((r) => ({ id: Number(r.id), filename: r.filename, contentType: r.content_type, size: Number(r.size), createdAt: r.created_at }));
  }

  async attachment(assemblyId: number, attachmentId: number): Promise<{ filename: string; contentType: string; content: Buffer }> {
    const r = await this.d.db('assembly_attachments').where({ id: attachmentId, assembly_id: assemblyId }).first();
    if (!r) throw new NotFoundError();
    return { filename: r.filename, contentType: r.content_type, content: Buffer.from(r.content) };
  }

  /** A document as an invitee may see it: the minutes PDF only once the minutes have been sent. */
  async memberAttachment(assemblyId: number, attachmentId: number): Promise<{ filename: string; contentType: string; content: Buffer }> {
    const m = await this.d.db('assembly_minutes').where({ assembly_id: assemblyId, attachment_id: attachmentId }).first();
    if (m && !m.sent_at) throw new NotFoundError();
    return this.attachment(assemblyId, attachmentId);
  }

  async addAttachment(actor: Actor, assemblyId: number, file: UploadedFile): Promise<number> {
    const clean = checkPdf(file);
    return this.d.db.transaction(async (trx) => {
      const a = await this.get(assemblyId, trx);
      if (a.status === 'cancelled') throw new AssemblyRuleError('cancelled');
      const id = await insertId(trx, 'assembly_attachments', {
        assembly_id: assemblyId, filename: clean.filename, content_type: 'application/pdf', size: file.content.length, content: file.content, created_by: actor.userId, created_at: this.now(),
      });
      await this.d.audit.record(trx, actor, 'assembly.attachment_added', 'assembly', assemblyId, undefined, { attachmentId: id, filename: clean.filename, size: file.content.length });
      return id;
    });
  }

  /** The minutes as a PDF (e.g. the signed copy); replaces an earlier minutes PDF. Allowed once the assembly has started. */
  async saveMinutesFile(actor: Actor, assemblyId: number, file: UploadedFile): Promise<number> {
    const clean = checkPdf(file);
    return this.d.db.transaction(async (trx) => {
      const a = await this.get(assemblyId, trx);
      if (this.d.clock.now().getTime() < new Date(a.startsAt).getTime()) throw new AssemblyRuleError('not_started');
      const before = await trx('assembly_minutes').where({ assembly_id: assemblyId }).first();
      if (before?.sent_at) throw new AssemblyRuleError('minutes_sent');
      const id = await insertId(trx, 'assembly_attachments', {
        assembly_id: assemblyId, filename: clean.filename, content_type: 'application/pdf', size: file.content.length, content: file.content, created_by: actor.userId, created_at: this.now(),
      });
      const now = this.now();
      if (before) await trx('assembly_minutes').where({ id: before.id }).update({ attachment_id: id, updated_at: now, updated_by: actor.userId });
      else await trx('assembly_minutes').insert({ assembly_id: assemblyId, body: '', attachment_id: id, updated_at: now, updated_by: actor.userId });
      let replaced: { attachmentId: number; filename: string } | undefined;
      if (before?.attachment_id) {
        const old = await trx('assembly_attachments').where({ id: before.attachment_id }).select('id', 'filename').first();
        if (old) { replaced = { attachmentId: Number(old.id), filename: old.filename }; await trx('assembly_attachments').where({ id: old.id }).delete(); }
      }
      await this.d.audit.record(trx, actor, 'assembly.minutes_file_saved', 'assembly', assemblyId, replaced, { attachmentId: id, filename: clean.filename, size: file.content.length });
      return id;
    });
  }

  async minutesFile(assemblyId: number): Promise<{ id: number; filename: string; size: number; createdAt: string } | undefined> {
    const r = await this.d.db('assembly_minutes as m').join('assembly_attachments as f', 'f.id', 'm.attachment_id')
      .where('m.assembly_id', assemblyId).select('f.id', 'f.filename', 'f.size', 'f.created_at').first();
    return r ? { id: Number(r.id), filename: r.filename, size: Number(r.size), createdAt: r.created_at } : undefined;
  }

  async deleteAttachment(actor: Actor, assemblyId: number, attachmentId: number): Promise<void> {
    await this.d.db.transaction(async (trx) => {
      const r = await trx('assembly_attachments').where({ id: attachmentId, assembly_id: assemblyId }).select('id', 'filename').first();
      if (!r) throw new NotFoundError();
      await trx('assembly_minutes').where({ attachment_id: attachmentId }).update({ attachment_id: null });
      await trx('assembly_attachments').where({ id: attachmentId }).delete();
      await this.d.audit.record(trx, actor, 'assembly.attachment_deleted', 'assembly', assemblyId, { attachmentId, filename: r.filename }, undefined);
    });
  }

  /* ---------------------------------------------------------------- jobs */

  async jobView(assemblyId: number): Promise<JobView | undefined> {
    return this.jobs.latest(assemblyId);
  }
}
