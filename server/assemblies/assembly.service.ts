import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { iso, type Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import type { MembersService } from '../members/members.service.ts';
import type { SettingsService } from '../settings/settings.service.ts';
import { NotFoundError } from '../errors.ts';
import { isLocale } from '../i18n/i18n.ts';
import type { BylawsRules } from '../settings/settings.schemas.ts';
import type { AgendaItemInput, AssemblyInput } from './assemblies.schemas.ts';
import type { AssemblyRow, LetterReason } from './assemblies.tables.ts';
import { AssemblyRuleError, FieldRuleError, LateNoticeError, rowToItem, type AgendaItem, type Assembly, type AssemblyFlags, type NoticeInfo, type Recipient } from './assemblies.model.ts';
import type { AssembliesRepository } from './assemblies.repository.ts';
import { berlinDay, changeNotice, daysUntil, isInTime, lastSendDay, motionDeadline, motionsOpen, type ChangeNotice } from './notice.ts';
import { readBerlinTime } from './berlin-time.ts';

type Q = Knex | Knex.Transaction;

/** The columns the board's form sets. */
type FormColumns = Pick<AssemblyRow, 'title' | 'kind' | 'starts_at' | 'duration_minutes' | 'format' | 'location' | 'participation_info' | 'copy_all_contacts'
  | 'online_link' | 'online_meeting_id' | 'online_access_code'>;

/** Columns whose change must be told to the members (a new iCalendar SEQUENCE). */
const TIME_OR_PLACE = ['starts_at', 'duration_minutes', 'format', 'location', 'participation_info'] as const;

/** h/notice: the changes after the invitation that call the members to a changed assembly (date, time, place, format): they keep the notice period. */
const NOTICE_FIELDS = ['starts_at', 'location', 'format'] as const;

/** h/notice: what the board's pages show about the periods for changes after the invitation. */
export interface ChangeNoticeView {
  /** an update of date, time, place or format (against the current date) */
  update: ChangeNotice & { needsReason: boolean; allowed: boolean };
  /** the supplementary agenda and new agenda items */
  supplement: ChangeNotice & { needsReason: boolean };
  /** a new agenda item needs a reason (the assembly is invited and the supplement period is over) */
  itemNeedsReason: boolean;
}

interface Deps {
  db: Knex;
  clock: Clock;
  config: Config;
  audit: AuditService;
  members: MembersService;
  repo: AssembliesRepository;
  settings: SettingsService; // h/notice: the periods for changes after the invitation; h/attend: who is invited and votes
}

/** The assembly and its agenda: preparation by the board, and who is called to it. */
export class AssemblyService {
  constructor(private d: Deps) {}

  private now(): string {
    return iso(this.d.clock.now());
  }

  /** Whether the assembly has begun (or is over). */
  started(a: Assembly): boolean {
    return new Date(a.startsAt).getTime() <= this.d.clock.now().getTime();
  }

  async list(): Promise<Assembly[]> {
    return this.d.repo.list();
  }

  async find(id: number, q: Q = this.d.db): Promise<Assembly | undefined> {
    return this.d.repo.find(id, q);
  }

  async get(id: number, q: Q = this.d.db): Promise<Assembly> {
    const a = await this.find(id, q);
    if (!a) throw new NotFoundError();
    return a;
  }

  private columns(input: AssemblyInput): FormColumns {
    // every path (web, CLI, tests) reads the time strictly: a time in the spring gap is refused, a doubled one must say which
    const t = readBerlinTime(input.date, input.time);
    if (t.kind === 'invalid') throw new AssemblyRuleError('invalid_date');
    if (t.kind === 'gap') throw new FieldRuleError({ time: { code: 'time_gap' } });
    if (t.kind === 'ambiguous' && !input.timeOffset) throw new FieldRuleError({ timeOffset: { code: 'time_ambiguous' } });
    const startsAt = t.kind === 'ok' ? t.utc : input.timeOffset === 'summer' ? t.earlier : t.later;
    return {
      title: input.title,
      kind: input.kind,
      starts_at: startsAt,
      duration_minutes: input.durationMinutes,
      format: input.format,
      location: input.location,
      participation_info: input.format === 'in_person' ? '' : input.participationInfo,
      copy_all_contacts: input.copyAllContacts,
      // h/attend: access data only for an assembly with online participants
      online_link: input.format === 'in_person' ? '' : input.onlineLink ?? '',
      online_meeting_id: input.format === 'in_person' ? '' : input.onlineMeetingId ?? '',
      online_access_code: input.format === 'in_person' ? '' : input.onlineAccessCode ?? '',
    };
  }

  async create(actor: Actor, input: AssemblyInput): Promise<number> {
    const cols = this.columns(input);
    const now = this.now();
    const domain = new URL(this.d.config.baseUrl).hostname || 'localhost';
    return this.d.db.transaction(async (trx) => {
      const id = await this.d.repo.insert(trx, {
        ...cols, uid: `assembly-${crypto.randomUUID()}@${domain}`, sequence: 0, status: 'draft', created_by: actor.userId, created_at: now, updated_at: now,
      });
      await this.d.audit.record(trx, actor, 'assembly.created', 'assembly', id, undefined, cols);
      return id;
    });
  }

  /**
   * Saves the assembly; a change of time or place after the invitation raises the iCalendar SEQUENCE.
   * A change of date, time, place or format after the invitation calls the members to a changed
   * assembly: if the invitation notice is no longer kept against the (new) date, it is refused
   * (LateNoticeError, nothing saved) unless `opts.noticeReason` says why (recorded and audited).
   */
  async update(actor: Actor, id: number, input: AssemblyInput, opts: { noticeReason?: string } = {}): Promise<{ timeOrPlaceChanged: boolean; late: boolean }> {
    const cols = this.columns(input);
    const rules = await this.d.settings.rules();
    const reason = (opts.noticeReason ?? '').trim();
    return this.d.db.transaction(async (trx) => {
      const before = await this.d.repo.row(id, trx);
      if (!before) throw new NotFoundError();
      if (before.status === 'cancelled') throw new AssemblyRuleError('cancelled');
      const changed = TIME_OR_PLACE.some((k) => String(before[k]) !== String(cols[k]));
      const bump = changed && before.status === 'invited';
      const sequence = bump ? Number(before.sequence) + 1 : Number(before.sequence);
      // h/notice: the notice is checked against the new date before anything is written
      const noticeChanged = before.status === 'invited' ? NOTICE_FIELDS.filter((k) => String(before[k]) !== String(cols[k])) : [];
      let late: ChangeNotice | undefined;
      if (noticeChanged.length) {
        const n = changeNotice('update', cols.starts_at, rules, this.d.clock.now());
        if (!n.inTime && !reason) {
          const fields = noticeChanged.map((k) => (k === 'starts_at' ? (berlinDay(before.starts_at) !== berlinDay(cols.starts_at) ? 'date' : 'time') : k));
          throw new LateNoticeError(n, fields);
        }
        if (!n.inTime) late = n;
      }
      await this.d.repo.update(trx, id, {
        ...cols, sequence, updated_at: this.now(), ...(noticeChanged.length && bump ? { notice_changed_sequence: sequence } : {}),
      });
      if (late) {
        await this.d.repo.insertOverride(trx, {
          assembly_id: id, kind: 'late_update', reason, last_send_day: late.lastSendDay, send_day: late.today, sequence,
          user_id: actor.userId, actor_label: actor.label.slice(0, 200), created_at: this.now(),
        });
        await this.d.audit.record(trx, actor, 'assembly.late_notice_override', 'assembly', id, undefined, {
          change: 'update', reason, lastSendDay: late.lastSendDay, sendDay: late.today, sequence, noticeDays: late.noticeDays,
        });
      }
      const diffB: Record<string, unknown> = {};
      const diffA: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(cols)) {
        const old = before[k as keyof FormColumns]; // why: k is a key of cols, which are FormColumns
        if (String(old) !== String(v)) { diffB[k] = old; diffA[k] = v; }
      }
      if (bump) { diffB.sequence = Number(before.sequence); diffA.sequence = Number(before.sequence) + 1; }
      await this.d.audit.record(trx, actor, 'assembly.updated', 'assembly', id, diffB, diffA);
      return { timeOrPlaceChanged: bump, late: !!late };
    });
  }

  /** h/notice: the periods for an update and for a supplement, as the board's pages show them (the services apply the same). */
  async changeNotices(a: Assembly, rules: BylawsRules, agenda: AgendaItem[]): Promise<ChangeNoticeView> {
    const now = this.d.clock.now();
    const update = changeNotice('update', a.startsAt, rules, now);
    const supplement = changeNotice('supplement', a.startsAt, rules, now);
    const allowed = a.noticeChangePending && !update.inTime && (await this.d.repo.hasUpdateOverride(this.d.db, a.id, a.sequence));
    const unsent = agenda.filter((i) => i.supplementary && !i.supplementSentAt);
    return {
      update: { ...update, allowed, needsReason: a.noticeChangePending && !update.inTime && !allowed },
      supplement: { ...supplement, needsReason: !supplement.inTime && unsent.some((i) => !i.lateNotice) },
      itemNeedsReason: a.status === 'invited' && !supplement.inTime,
    };
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

  /**
   * What the board's pages may offer, by the rules the services apply when the action is
   * posted: e.g. no "send" for an assembly that has begun (startSending refuses it, in_past).
   */
  flags(a: Assembly, agenda: AgendaItem[]): AssemblyFlags {
    const started = this.started(a);
    const open = a.status !== 'cancelled';
    return {
      started,
      canEdit: open,
      canSend: a.status === 'draft' && !started && agenda.length > 0,
      canSendUpdate: a.status === 'invited' && a.updatePending,
      canSendSupplement: a.status === 'invited' && agenda.some((i) => i.supplementary && !i.supplementSentAt),
      canCancel: open,
      canFollowUp: a.status === 'invited',
      canRemind: a.status === 'invited' && !started,
      canCheckIn: open,
      canRecordResults: open && started,
      canEditMinutes: started,
    };
  }

  /**
   * h/attend: whether the bylaws' rule on remote participation (settings) allows the assembly's
   * format: hybrid by the board's decision (§ 32 Abs. 2 S. 1 BGB) unless the setting says none;
   * purely virtual only when the bylaws or a members' resolution allow it (S. 2).
   */
  formatAllowed(a: Pick<Assembly, 'format'>, rules: BylawsRules): boolean {
    if (a.format === 'in_person') return true;
    if (a.format === 'hybrid') return rules.remoteParticipation !== 'none';
    return rules.remoteParticipation === 'hybrid_virtual';
  }

  /* ---------------------------------------------------------------- agenda */

  async agenda(assemblyId: number, q: Q = this.d.db): Promise<AgendaItem[]> {
    return this.d.repo.agenda(assemblyId, q);
  }

  async agendaItem(assemblyId: number, itemId: number, q: Q = this.d.db): Promise<AgendaItem> {
    const a = await this.d.repo.row(assemblyId, q);
    const r = await this.d.repo.itemRow(assemblyId, itemId, q);
    if (!a || !r) throw new NotFoundError();
    return rowToItem(r, a.status);
  }

  private async editableAssembly(trx: Knex.Transaction, id: number): Promise<AssemblyRow> {
    const a = await this.d.repo.row(id, trx);
    if (!a) throw new NotFoundError();
    if (a.status === 'cancelled') throw new AssemblyRuleError('cancelled');
    return a;
  }

  /**
   * Adds an agenda item; after the invitation it is a supplement. A new item after the
   * supplementary-agenda period is refused (LateNoticeError, nothing written) unless
   * `opts.noticeReason` says why: then it is marked as not announced in time, with the reason
   * recorded and audited.
   */
  async addAgendaItem(actor: Actor, assemblyId: number, input: AgendaItemInput, opts: { motionId?: number; noticeReason?: string } = {}): Promise<number> {
    const rules = await this.d.settings.rules();
    const reason = (opts.noticeReason ?? '').trim();
    return this.d.db.transaction(async (trx) => {
      const a = await this.editableAssembly(trx, assemblyId);
      const now = this.now();
      // h/notice: a new item after the invitation keeps the supplementary-agenda period
      const notice = a.status === 'invited' ? changeNotice('item', a.starts_at, rules, this.d.clock.now()) : undefined;
      const late = !!notice && !notice.inTime;
      if (notice && late && !reason) throw new LateNoticeError(notice, ['title']);
      const row = {
        assembly_id: assemblyId, position: (await this.d.repo.maxPosition(trx, assemblyId)) + 1, title: input.title, description: input.description, kind: input.kind,
        proposed_text: input.proposedText, supplementary: a.status === 'invited', motion_id: opts.motionId ?? null, created_at: now, updated_at: now,
        late_notice: late ? ('item' as const) : null,
      };
      const id = await this.d.repo.insertItem(trx, row);
      await this.d.audit.record(trx, actor, 'assembly.agenda_item_added', 'assembly', assemblyId, undefined, { itemId: id, ...input, supplementary: row.supplementary });
      if (notice && late) {
        await this.d.repo.insertOverride(trx, {
          assembly_id: assemblyId, kind: 'late_item', reason, last_send_day: notice.lastSendDay, send_day: notice.today, item_ids: JSON.stringify([id]),
          user_id: actor.userId, actor_label: actor.label.slice(0, 200), created_at: now,
        });
        await this.d.audit.record(trx, actor, 'assembly.late_notice_override', 'assembly', assemblyId, undefined, {
          change: 'item', reason, lastSendDay: notice.lastSendDay, sendDay: notice.today, itemIds: [id], noticeDays: notice.noticeDays,
        });
      }
      return id;
    });
  }

  private async editableItem(trx: Knex.Transaction, assemblyId: number, itemId: number) {
    const a = await this.editableAssembly(trx, assemblyId);
    const r = await this.d.repo.itemRow(assemblyId, itemId, trx);
    if (!r) throw new NotFoundError();
    const item = rowToItem(r, a.status);
    if (item.locked) throw new AssemblyRuleError('agenda_locked');
    return { a, r, item };
  }

  async updateAgendaItem(actor: Actor, assemblyId: number, itemId: number, input: AgendaItemInput): Promise<void> {
    await this.d.db.transaction(async (trx) => {
      const { r } = await this.editableItem(trx, assemblyId, itemId);
      await this.d.repo.updateItem(trx, itemId, { title: input.title, description: input.description, kind: input.kind, proposed_text: input.proposedText, updated_at: this.now() });
      await this.d.audit.record(trx, actor, 'assembly.agenda_item_updated', 'assembly', assemblyId,
        { itemId, title: r.title, description: r.description, kind: r.kind, proposedText: r.proposed_text }, { itemId, ...input });
    });
  }

  async moveAgendaItem(actor: Actor, assemblyId: number, itemId: number, direction: 'up' | 'down'): Promise<void> {
    await this.d.db.transaction(async (trx) => {
      const { a } = await this.editableItem(trx, assemblyId, itemId);
      const items = (await this.d.repo.itemRows(assemblyId, trx)).map((r) => rowToItem(r, a.status));
      const i = items.findIndex((x) => x.id === itemId);
      const j = direction === 'up' ? i - 1 : i + 1;
      if (j < 0 || j >= items.length) return;
      if (items[j].locked) throw new AssemblyRuleError('agenda_locked');
      [items[i], items[j]] = [items[j], items[i]];
      for (let k = 0; k < items.length; k++) {
        if (items[k].position !== k + 1) await this.d.repo.updateItem(trx, items[k].id, { position: k + 1 });
      }
      await this.d.audit.record(trx, actor, 'assembly.agenda_item_moved', 'assembly', assemblyId, { itemId, position: i + 1 }, { itemId, position: j + 1 });
    });
  }

  async deleteAgendaItem(actor: Actor, assemblyId: number, itemId: number): Promise<void> {
    await this.d.db.transaction(async (trx) => {
      const { r } = await this.editableItem(trx, assemblyId, itemId);
      await this.d.repo.deleteItem(trx, itemId);
      const rest = await this.d.repo.itemRows(assemblyId, trx);
      for (let k = 0; k < rest.length; k++) {
        if (Number(rest[k].position) !== k + 1) await this.d.repo.updateItem(trx, rest[k].id, { position: k + 1 });
      }
      await this.d.audit.record(trx, actor, 'assembly.agenda_item_deleted', 'assembly', assemblyId, { itemId, title: r.title, kind: r.kind }, undefined);
    });
  }

  /** The late-sending overrides recorded for the assembly. */
  async overrides(assemblyId: number) {
    return (await this.d.repo.overrides(assemblyId)).map((r) => ({
      kind: r.kind, reason: r.reason, lastSendDay: r.last_send_day, sendDay: r.send_day, actor: r.actor_label, at: r.created_at,
      itemIds: r.item_ids ? (JSON.parse(r.item_ids) as number[]) : [], // why: written by this module as a JSON array of ids
    }));
  }

  /* ---------------------------------------------------------------- recipients */

  /**
   * Who is called to the assembly on `day` (h/attend): the members with the right to attend by
   * the settings (every member by default, § 32 BGB; or only those with a vote), each marked
   * whether it votes (by default: its category has a vote; supporting members attend without).
   * Each is addressed to its voting representative in the representative's language; by e-mail
   * only when that contact has consented to invitations by e-mail (otherwise a letter, and
   * `letterReason` says why); other consenting contacts with an e-mail in copy when the
   * assembly says so.
   */
  async recipients(day: string, copyAllContacts: boolean, q: Q = this.d.db): Promise<Recipient[]> {
    const rules = await this.d.settings.rules(q);
    const members = (await this.d.members.membersOn(day, q))
      .map((o) => ({ ...o, hasVote: rules.votingRight === 'all_members' || o.categoryHasVote }))
      .filter((o) => rules.attendanceRight === 'all_members' || o.hasVote);
    return members.map((o) => {
      const cs = o.contacts;
      const reps = cs.filter((c) => c.isRepresentative);
      const rep = reps.find((c) => c.email && c.consentEmailInvitations) ?? reps.find((c) => c.email) ?? reps[0];
      const consented = !!rep?.email && rep.consentEmailInvitations;
      const to = consented && rep?.email ? String(rep.email).toLowerCase() : '';
      const cc = copyAllContacts && to
        ? [...new Set(cs.filter((c) => c.email && c.consentEmailInvitations && String(c.email).toLowerCase() !== to).map((c) => String(c.email).toLowerCase()))]
        : [];
      const letterReason: LetterReason = to ? '' : rep?.email ? 'no_consent' : 'no_email';
      return {
        organisationId: o.id,
        organisationName: o.legalName,
        memberNumber: o.memberNumber,
        contactName: rep?.name ?? '',
        to,
        cc,
        locale: rep && isLocale(rep.locale) ? rep.locale : 'de',
        postalAddress: [o.legalName, rep?.name, o.street, `${o.postcode} ${o.city}`.trim(), o.country && o.country !== 'DE' ? o.country : ''].filter(Boolean).join('\n'),
        channel: to ? 'email' : 'letter',
        hasVote: o.hasVote,
        letterReason,
      };
    });
  }

  /** h/attend: the members with a vote on `day` (votes present, quorum, majorities count only these). */
  async voters(day: string, q: Q = this.d.db): Promise<Recipient[]> {
    return (await this.recipients(day, false, q)).filter((r) => r.hasVote);
  }
}
