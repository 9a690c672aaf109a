import type { Knex } from 'knex';
import { iso, type Clock } from '../clock.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import type { SettingsService } from '../settings/settings.service.ts';
import type { MembersService } from '../members/members.service.ts';
import { formatMemberNumber } from '../i18n/format.ts';
import type { ResolutionInput } from './assemblies.schemas.ts';
import { AssemblyRuleError, FieldRuleError, bool } from './assemblies.model.ts';
import type { AssemblyService } from './assembly.service.ts';
import type { AnswersRepository } from './answers.repository.ts';
import type { DayRepository } from './day.repository.ts';
import type { InvitationsRepository } from './invitations.repository.ts';
import { quorum, votesPresent, type QuorumResult } from './quorum.ts';
import type { AttendanceMode } from './assemblies.tables.ts';
import { checkCounts } from './majority.ts';
import { decideElection, type CandidateVotes, type ElectionBallot } from './election.ts';
import { amendmentFrom, resolutionFrom, type Resolution, type ResolutionAmendment } from './results.ts';
import type { DocumentsRepository } from './documents.repository.ts';
import type { BallotsRepository } from './ballots.repository.ts'; // h/evote

export interface DayRow {
  organisationId: number; name: string; memberNo: string; invited: boolean; present: boolean; checkedInAt: string | null; checkedOutAt: string | null;
  personName: string; rsvp: string | null; holds: string[]; gaveTo: string | null;
  /** h/attend: whether the member votes (supporting members attend without a vote), how it takes part (room | online) and answered */
  hasVote: boolean; mode: AttendanceMode; rsvpMode: AttendanceMode;
}

/** h/attend: who is present per way of taking part, and the votes present per way (own and by proxy of a holder there). */
export interface ModeCounts {
  room: { present: number; votes: number };
  online: { present: number; votes: number };
  withoutVote: number;
}

export interface DayOverview {
  rows: DayRow[];
  votes: ReturnType<typeof votesPresent>;
  quorum: QuorumResult;
  proxies: { giver: string; holder: string; counts: boolean }[];
  modes: ModeCounts; // h/attend
  hybrid: boolean; // h/attend
}

export type { Resolution } from './results.ts';

interface Deps {
  db: Knex;
  clock: Clock;
  audit: AuditService;
  settings: SettingsService;
  members: MembersService;
  assemblies: AssemblyService;
  day: DayRepository;
  invitations: InvitationsRepository;
  answers: AnswersRepository;
  documents: DocumentsRepository;
  ballots?: BallotsRepository; // h/evote
}

/** The day itself: the attendance list with check-in, proxies in force, the quorum, and the results. */
export class DayService {
  constructor(private d: Deps) {}

  private now(): string {
    return iso(this.d.clock.now());
  }

  /**
   * Attendance list: every member with the right to attend on the assembly day (h/attend:
   * members without a vote too, marked so), who is in and how (room or online), proxies, the
   * votes present and the quorum, both counted over the members with a vote only.
   */
  async overview(assemblyId: number): Promise<DayOverview> {
    const a = await this.d.assemblies.get(assemblyId);
    const rules = await this.d.settings.rules();
    const members = await this.d.assemblies.recipients(a.day, false);
    const [invited, att, proxies, rsvps] = await Promise.all([
      this.d.invitations.organisationIds(assemblyId),
      this.d.day.attendance(assemblyId),
      this.d.answers.activeProxies(assemblyId),
      this.d.answers.rsvps(assemblyId),
    ]);
    const attBy = new Map(att.map((r) => [Number(r.organisation_id), r]));
    const rsvpBy = new Map(rsvps.map((r) => [Number(r.organisation_id), r]));
    const name = new Map(members.map((m) => [m.organisationId, m.organisationName]));
    const voters = members.filter((m) => m.hasVote);
    const votingIds = new Set(voters.map((m) => m.organisationId));
    const isIn = (id: number) => { const r = attBy.get(id); return !!r?.checked_in_at && !r.checked_out_at; };
    const presentAll = members.filter((m) => isIn(m.organisationId)).map((m) => m.organisationId);
    const present = presentAll.filter((id) => votingIds.has(id));
    const presentSet = new Set(present);
    const inForce = proxies
      .filter((p) => votingIds.has(Number(p.giver_organisation_id)) && votingIds.has(Number(p.holder_organisation_id)))
      .map((p) => ({ giverId: Number(p.giver_organisation_id), holderId: Number(p.holder_organisation_id) }));
    const votes = votesPresent(present, inForce);
    const modeOf = (id: number): AttendanceMode => modeFor(a.format, attBy.get(id)?.mode ?? '');
    const modes: ModeCounts = { room: { present: 0, votes: 0 }, online: { present: 0, votes: 0 }, withoutVote: presentAll.length - present.length };
    for (const id of presentAll) {
      const m = modeOf(id) === 'online' ? modes.online : modes.room;
      m.present++;
      if (presentSet.has(id)) m.votes++;
    }
    const counted = new Set<number>();
    for (const p of inForce) {
      if (presentSet.has(p.holderId) && !presentSet.has(p.giverId) && !counted.has(p.giverId)) {
        counted.add(p.giverId);
        (modeOf(p.holderId) === 'online' ? modes.online : modes.room).votes++;
      }
    }
    return {
      rows: members.map((m) => {
        const r = attBy.get(m.organisationId);
        const rs = rsvpBy.get(m.organisationId);
        const gave = inForce.find((p) => p.giverId === m.organisationId);
        const isPresent = presentAll.includes(m.organisationId);
        return {
          organisationId: m.organisationId, name: m.organisationName, memberNo: formatMemberNumber(m.memberNumber), invited: invited.has(m.organisationId),
          present: isPresent, checkedInAt: r?.checked_in_at ?? null, checkedOutAt: r?.checked_out_at ?? null, personName: r?.person_name ?? '',
          rsvp: rs ? (bool(rs.attending) ? 'yes' : 'no') : null,
          holds: inForce.filter((p) => p.holderId === m.organisationId).map((p) => name.get(p.giverId) ?? ''),
          gaveTo: gave ? name.get(gave.holderId) ?? null : null,
          hasVote: m.hasVote, mode: isPresent ? modeOf(m.organisationId) : '', rsvpMode: rs && bool(rs.attending) ? rs.mode : '',
        };
      }),
      votes,
      quorum: quorum(voters.length, votes.present, rules.quorumPercent),
      proxies: inForce.map((p) => ({ giver: name.get(p.giverId) ?? '', holder: name.get(p.holderId) ?? '', counts: presentSet.has(p.holderId) && !presentSet.has(p.giverId) })),
      modes,
      hybrid: a.format === 'hybrid',
    };
  }

  /**
   * Checks a member in or out. h/attend: a member without a vote is checked in as attending
   * without a vote; for a hybrid assembly the board says whether in the room or online; one
   * organisation is in one place at a time (check out first), and a proxy holder in particular
   * cannot be in the room and online at once.
   */
  async checkIn(actor: Actor, assemblyId: number, organisationId: number, action: 'in' | 'out', personName: string, mode: AttendanceMode = ''): Promise<void> {
    await this.d.db.transaction(async (trx) => {
      const a = await this.d.assemblies.get(assemblyId, trx);
      if (a.status === 'cancelled') throw new AssemblyRuleError('cancelled');
      const member = (await this.d.assemblies.recipients(a.day, false, trx)).find((m) => m.organisationId === organisationId);
      if (!member) throw new AssemblyRuleError('not_voting_member');
      const now = this.now();
      const before = await this.d.day.attendanceOf(trx, assemblyId, organisationId);
      const wayIn = a.format === 'hybrid' ? mode : modeFor(a.format, '');
      if (action === 'in') {
        if (!wayIn) throw new AssemblyRuleError('attend.errors.mode_required');
        const inNow = !!before?.checked_in_at && !before.checked_out_at;
        if (inNow && before && modeFor(a.format, before.mode) && modeFor(a.format, before.mode) !== wayIn) {
          const holds = (await this.d.answers.activeProxies(assemblyId, trx)).some((p) => Number(p.holder_organisation_id) === organisationId);
          throw new AssemblyRuleError(holds ? 'attend.errors.proxy_holder_both_modes' : 'attend.errors.other_mode', { name: member.organisationName });
        }
        await this.d.day.saveAttendance(trx, before, {
          assembly_id: assemblyId, organisation_id: organisationId,
          checked_in_at: now, checked_out_at: null, person_name: personName || before?.person_name || '', updated_by: actor.userId, updated_at: now, mode: wayIn,
        });
      } else {
        if (!before?.checked_in_at || before.checked_out_at) throw new AssemblyRuleError('not_checked_in');
        await this.d.day.checkOut(trx, before.id, { checked_out_at: now, updated_by: actor.userId, updated_at: now });
      }
      await this.d.audit.record(trx, actor, action === 'in' ? 'assembly.checked_in' : 'assembly.checked_out', 'assembly', assemblyId, undefined,
        { organisationId, personName, ...(action === 'in' ? { mode: wayIn, hasVote: member.hasVote } : {}) });
    });
  }

  /**
   * h/attend: the organisations taking part online: every invitee of a virtual assembly; in a
   * hybrid one those who answered "online" or were checked in online (and are not in the room).
   */
  async onlineParticipants(assemblyId: number): Promise<Set<number>> {
    const a = await this.d.assemblies.get(assemblyId);
    if (a.format === 'in_person') return new Set();
    const invited = await this.d.invitations.organisationIds(assemblyId);
    if (a.format === 'virtual') return invited;
    const [att, rsvps] = await Promise.all([this.d.day.attendance(assemblyId), this.d.answers.rsvps(assemblyId)]);
    const inRoom = new Set(att.filter((r) => r.checked_in_at && !r.checked_out_at && r.mode === 'room').map((r) => Number(r.organisation_id)));
    const out = new Set<number>();
    for (const r of rsvps) if (bool(r.attending) && r.mode === 'online' && !inRoom.has(Number(r.organisation_id))) out.add(Number(r.organisation_id));
    for (const r of att) if (r.checked_in_at && !r.checked_out_at && r.mode === 'online') out.add(Number(r.organisation_id));
    return new Set([...out].filter((id) => invited.has(id)));
  }

  /** The assemblies an organisation was invited to, and whether it attended (for the register and the portal). */
  async assembliesAttendedBy(organisationId: number): Promise<{ assemblyId: number; title: string; startsAt: string; status: string; rsvp: 'yes' | 'no' | null; attended: boolean; proxyTo: string | null }[]> {
    const rows = await this.d.invitations.attendedBy(organisationId);
    if (!rows.length) return []; // never invited: no proxies to look up either
    const proxies = await this.d.answers.activeProxiesGivenBy(organisationId);
    const names = await this.d.members.legalNames(proxies.map((p) => Number(p.holder_organisation_id)));
    return rows.map((r) => {
      const proxy = proxies.find((p) => Number(p.assembly_id) === Number(r.id));
      return {
        assemblyId: Number(r.id), title: r.title, startsAt: r.starts_at, status: r.status,
        rsvp: r.attending == null ? null : bool(r.attending) ? 'yes' : 'no',
        attended: !!r.checked_in_at,
        proxyTo: proxy ? names.get(Number(proxy.holder_organisation_id)) ?? null : null,
      };
    });
  }

  /* ---------------------------------------------------------------- results */

  /** Each voting item's result, decided by the majority that applied when it was recorded. */
  async resolutions(assemblyId: number): Promise<Map<number, Resolution>> {
    const [rows, agenda, rules, a] = await Promise.all([this.d.day.resolutions(assemblyId), this.d.assemblies.agenda(assemblyId), this.d.settings.rules(), this.d.assemblies.get(assemblyId)]);
    const kinds = new Map(agenda.map((it) => [it.id, it.kind]));
    const votingMembers = rows.some((r) => r.voting_members == null) ? (await this.d.assemblies.voters(a.day)).length : 0;
    const out = new Map<number, Resolution>();
    for (const r of rows) {
      const kind = kinds.get(Number(r.agenda_item_id));
      if (kind && kind !== 'report') out.set(Number(r.agenda_item_id), resolutionFrom(r, kind, rules, votingMembers));
    }
    return out;
  }

  /** h/minutes: the result corrections not yet sent go out with corrected minutes now (MinutesService.sendCorrected). */
  async markAmendmentsSent(trx: Knex.Transaction, assemblyId: number, at: string): Promise<number> {
    return this.d.day.markAmendmentsSent(trx, assemblyId, at);
  }

  /** The recorded corrections of results after the minutes were sent, oldest first. */
  async amendments(assemblyId: number): Promise<ResolutionAmendment[]> {
    return (await this.d.day.amendments(assemblyId)).map(amendmentFrom);
  }

  /**
   * Records an item's result: the counts are checked against the votes present at this moment
   * (own and by proxy) and the item is decided by the majority its kind needs (settings). With
   * `version` (the one the board's page showed) a result saved by someone else meanwhile is
   * refused. Once the minutes are sent a change needs a reason and is kept as an amendment.
   * Returns whether the assembly was quorate (the page warns when not).
   */
  async recordResolution(actor: Actor, assemblyId: number, itemId: number, input: ResolutionInput, opts: { votesPresent?: number; fromBallot?: boolean } = {}): Promise<{ quorate: boolean; amended: boolean }> {
    const day = await this.overview(assemblyId); // the votes present now (a single SQLite connection: read before the transaction)
    // h/evote: a ballot's result is checked against the votes present when it opened; a result from a closed ballot is not typed over
    const present = opts.votesPresent ?? day.votes.present;
    if (!opts.fromBallot && this.d.ballots && await this.d.ballots.hasClosedBallot(this.d.db, itemId)) throw new AssemblyRuleError('ballots.errors.decided_by_ballot');
    const votingMembers = day.quorum.votingMembers;
    const checked = checkCounts({ yes: input.yes, no: input.no, abstain: input.abstain, invalid: input.invalid }, present);
    const fields: Record<string, { code: string; params?: Record<string, unknown> }> = {};
    if (!checked.ok) for (const e of checked.errors) fields[e.field] = { code: e.code, params: e.params };
    return this.d.db.transaction(async (trx) => {
      const a = await this.d.assemblies.get(assemblyId, trx);
      if (a.status === 'cancelled') throw new AssemblyRuleError('cancelled');
      if (!this.d.assemblies.started(a)) throw new AssemblyRuleError('not_started');
      const item = await this.d.assemblies.agendaItem(assemblyId, itemId, trx); // NotFoundError when it is not on this agenda
      if (item.kind === 'report') throw new AssemblyRuleError('report_no_vote');
      const rules = await this.d.settings.rules(trx);
      const rule = rules.majorities[item.kind];
      let absentConsents = 0;
      if (rule.base === 'members' && rule.absentConsents) {
        const c = checkCounts({ yes: input.absentConsents, no: 0, abstain: 0, invalid: 0 }, votingMembers);
        if (!c.ok) fields.absentConsents = { code: c.errors[0].code === 'too_large' ? 'above_members' : c.errors[0].code, params: { members: votingMembers } };
        else {
          absentConsents = c.counts.yes;
          const inRoom = checked.ok ? checked.counts.yes + checked.counts.no + checked.counts.abstain + checked.counts.invalid : 0;
          if (absentConsents + inRoom > votingMembers) fields.absentConsents = { code: 'above_members', params: { members: votingMembers } };
        }
      }
      // h/minutes: an election recorded with votes per candidate, decided by the bylaws' run-off and tie rules
      const rows = item.kind === 'election' ? (input.candidates ?? []).map((c, i) => ({ i: i + 1, name: c.name.trim(), votes: c.votes.trim() })).filter((c) => c.name || c.votes) : [];
      let ballot: ElectionBallot | undefined;
      let electionCounts: { yes: number; no: number } | undefined;
      if (rows.length) {
        const seen = new Set<string>();
        const candidates: CandidateVotes[] = [];
        for (const c of rows) {
          const v = checkCounts({ yes: c.votes, no: 0, abstain: 0, invalid: 0 }, present);
          if (!v.ok) fields[`cVotes${c.i}`] = { code: v.errors[0].code, params: v.errors[0].params };
          if (!c.name) fields[`cName${c.i}`] = { code: 'elections.errors.candidate_without_name' };
          else if (seen.has(c.name.toLowerCase())) fields[`cName${c.i}`] = { code: 'elections.errors.duplicate' };
          seen.add(c.name.toLowerCase());
          if (v.ok) candidates.push({ name: c.name, votes: v.counts.yes });
        }
        if (checked.ok) {
          ballot = { round: input.round === 2 ? 2 : 1, candidates, no: checked.counts.no, abstain: checked.counts.abstain, invalid: checked.counts.invalid, lotWinner: input.lotWinner?.trim() || undefined };
          const total = candidates.reduce((n, c) => n + c.votes, 0) + checked.counts.no + checked.counts.abstain + checked.counts.invalid;
          if (total > present) fields.total = { code: 'above_present', params: { total, present } };
          const decision = decideElection(rule, rules.elections, ballot, votingMembers);
          if (ballot.lotWinner && !(decision.outcome.kind === 'elected' && decision.outcome.by === 'lot')) fields.lotWinner = { code: 'elections.errors.lot_not_tied' };
          electionCounts = { yes: decision.best, no: decision.cast - decision.best };
        }
      }
      const before = await this.d.day.resolutionOf(trx, itemId);
      if (input.version !== undefined && (before?.version ?? 0) !== input.version) fields.version = { code: 'changed' };
      const minutes = await this.d.documents.minutes(assemblyId, trx);
      const locked = !!minutes?.sent_at; // a result recorded only after the minutes went out is an amendment too
      if (locked && !input.reason) fields.reason = { code: 'reason_required' };
      if (Object.keys(fields).length || !checked.ok) throw new FieldRuleError(fields);
      const counts = electionCounts ? { ...checked.counts, ...electionCounts } : checked.counts;
      const quorate = day.quorum.met;
      const saved = await this.d.day.saveResolutionIfVersion(trx, before, {
        assembly_id: assemblyId, agenda_item_id: itemId,
        yes_votes: counts.yes, no_votes: counts.no, abstentions: counts.abstain, invalid_votes: counts.invalid, absent_consents: absentConsents,
        votes_present: present, voting_members: votingMembers, quorate, majority_rule: JSON.stringify(rule),
        note: input.note, recorded_by: actor.userId, recorded_at: this.now(), version: (before?.version ?? 0) + 1,
        candidates: ballot ? JSON.stringify({ ...ballot, rules: rules.elections }) : null,
      });
      if (!saved) throw new FieldRuleError({ version: { code: 'changed' } });
      const old = before ? { yes: Number(before.yes_votes), no: Number(before.no_votes), abstain: Number(before.abstentions), invalid: Number(before.invalid_votes) } : undefined;
      const now = { ...counts, absentConsents };
      if (locked) {
        await this.d.day.insertAmendment(trx, {
          assembly_id: assemblyId, agenda_item_id: itemId, before_values: JSON.stringify(old ?? {}), after_values: JSON.stringify(counts),
          reason: input.reason, user_id: actor.userId, actor_label: actor.label, created_at: this.now(),
        });
        await this.d.audit.record(trx, actor, 'assembly.resolution_amended', 'assembly', assemblyId, { itemId, ...old }, { itemId, ...now, reason: input.reason });
      } else {
        await this.d.audit.record(trx, actor, 'assembly.resolution_recorded', 'assembly', assemblyId, old ? { itemId, ...old } : undefined,
          { itemId, ...now, note: input.note, votesPresent: present, quorate });
      }
      return { quorate, amended: locked };
    });
  }
}

/** h/attend: how a member takes part: as recorded in a hybrid assembly, else by the format. */
export function modeFor(format: string, recorded: AttendanceMode): AttendanceMode {
  if (format === 'virtual') return 'online';
  if (format === 'in_person') return 'room';
  return recorded;
}
