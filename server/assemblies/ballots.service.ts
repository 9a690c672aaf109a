import type { Knex } from 'knex';
import type { TFunction } from 'i18next';
import { iso, type Clock } from '../clock.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import type { SettingsService } from '../settings/settings.service.ts';
import type { MembersService } from '../members/members.service.ts';
import type { Logger } from '../logger.ts';
import { isUniqueViolation } from '../db/errors.ts';
import { AssemblyRuleError, FieldRuleError, bool } from './assemblies.model.ts';
import type { AssemblyService } from './assembly.service.ts';
import type { AnswersRepository } from './answers.repository.ts';
import type { DayRepository } from './day.repository.ts';
import type { DayService } from './day.service.ts';
import { modeFor } from './day.service.ts';
import { hasLeft } from './answers.service.ts';
import { berlinDay } from './notice.ts';
import type { BallotsRepository } from './ballots.repository.ts';
import type { BallotKind, BallotRow, BallotVia } from './ballots.tables.ts';
import { CAST_KEY, ballotOptions, countsOf, planCast, tallyVerified, type BallotOption, type CastRefusal, type EligibleVote, snapshotEligible } from './ballots.tally.ts';
import type { VotingKind } from './majority.ts';

/** h/evote: what the chair enters to open a ballot. */
export interface OpenBallotInput {
  itemId: number;
  question: string;
  /** undefined: as the settings say for the item's kind */
  secret?: boolean;
  minutes: number;
  /** an election's candidates, one name each */
  candidates: string[];
  maxChoices: number;
}

export interface Ballot {
  id: number;
  assemblyId: number;
  itemId: number;
  question: string;
  kind: BallotKind;
  options: BallotOption[];
  maxChoices: number;
  secret: boolean;
  status: 'open' | 'closed';
  openedAt: string;
  closesAt: string;
  closedAt: string | null;
  closedBy: string | null;
  votesPresent: number;
  hands: Record<string, number> | null;
  handsTotal: number;
  result: BallotResultRecord | null;
}

/** Kept with a closed ballot: the counters, the participation and the check. */
export interface BallotResultRecord {
  tallies: Record<string, number>;
  voters: number;
  hands: number;
  votesPresent: number;
  verified: boolean;
  /** open ballots: who voted how (member, who cast it, the options) */
  open?: { organisationId: number; castBy: number; keys: string[]; via: BallotVia }[];
  resolutionError?: string;
}

export interface Participation {
  voted: number;
  present: number;
  electronic: number;
  hands: number;
  room: { present: number; voted: number };
  online: { present: number; voted: number };
}

/** One voter's view: what it carries and what is still to cast. */
export interface VoterView {
  ballot: Ballot;
  carries: { organisationId: number; name: string; own: boolean; voted: boolean; countedByHand: boolean }[];
  open: boolean;
}

interface Deps {
  db: Knex;
  clock: Clock;
  audit: AuditService;
  settings: SettingsService;
  members: MembersService;
  assemblies: AssemblyService;
  day: DayService;
  dayRepo: DayRepository;
  answers: AnswersRepository;
  repo: BallotsRepository;
  log?: Logger;
}

const SYSTEM: Actor = { userId: null, label: 'system: ballot window ended' };

function toBallot(r: BallotRow): Ballot {
  const hands = r.hands ? (JSON.parse(r.hands) as Record<string, number>) : null; // why: written by enterHands as such a record
  return {
    id: Number(r.id), assemblyId: Number(r.assembly_id), itemId: Number(r.agenda_item_id), question: r.question, kind: r.kind,
    options: JSON.parse(r.options) as BallotOption[], // why: written by open() from ballotOptions()
    maxChoices: Number(r.max_choices), secret: bool(r.secret), status: r.status, openedAt: r.opened_at, closesAt: r.closes_at,
    closedAt: r.closed_at, closedBy: r.closed_by_label, votesPresent: Number(r.votes_present), hands,
    handsTotal: hands ? Object.values(hands).reduce((s, n) => s + n, 0) : 0,
    result: r.result ? (JSON.parse(r.result) as BallotResultRecord) : null, // why: written by close() as such a record
  };
}

function refuse(code: CastRefusal | string, params: Record<string, unknown> = {}): never {
  throw new AssemblyRuleError(`ballots.errors.${code}`, params);
}

/**
 * h/evote: electronic ballots in a hybrid or virtual assembly (§ 32 Abs. 2 BGB). The chair opens
 * a ballot for an agenda item; the votes present then (own and by proxy) are kept as a snapshot;
 * each member's vote counts once, whichever path it came by (portal, personal link, the check-in
 * tablet) or by show of hands entered by the board for the room. Closing (by the chair, or when
 * the window ends, on read and by a timer) decides the item by its majority rule through the
 * day's results (DayService.recordResolution), and nothing about the ballot changes afterwards.
 * A secret ballot keeps THAT a member voted apart from the counters of the votes.
 */
export class BallotsService {
  private timer: NodeJS.Timeout | undefined;
  constructor(private d: Deps) {}

  private now(): string {
    return iso(this.d.clock.now());
  }

  /* ------------------------------------------------------------ opening */

  async open(actor: Actor, assemblyId: number, input: OpenBallotInput): Promise<number> {
    const a = await this.d.assemblies.get(assemblyId);
    if (a.status !== 'invited') throw new AssemblyRuleError(a.status === 'cancelled' ? 'cancelled' : 'ballots.errors.not_invited');
    if (!this.d.assemblies.started(a)) throw new AssemblyRuleError('not_started');
    const item = await this.d.assemblies.agendaItem(assemblyId, input.itemId);
    if (item.kind === 'report') throw new FieldRuleError({ itemId: { code: 'assemblies.errors.report_no_vote' } });
    const kind: BallotKind = item.kind === 'election' ? 'election' : 'yes_no';
    const fields: Record<string, { code: string; params?: Record<string, unknown> }> = {};
    const question = input.question.trim() || item.title;
    const candidates = input.candidates.map((c) => c.trim()).filter(Boolean);
    if (kind === 'election') {
      if (!candidates.length) fields.candidates = { code: 'ballots.errors.candidates_required' };
      else if (new Set(candidates.map((c) => c.toLowerCase())).size !== candidates.length) fields.candidates = { code: 'elections.errors.duplicate' };
      if (input.maxChoices < 1 || input.maxChoices > Math.max(1, candidates.length)) fields.maxChoices = { code: 'ballots.errors.max_choices', params: { max: Math.max(1, candidates.length) } };
    }
    if (Object.keys(fields).length) throw new FieldRuleError(fields);
    const rules = await this.d.settings.rules();
    const secret = input.secret ?? secretByDefault(rules.ballotSecrecy, item.kind);
    const options = ballotOptions(kind, candidates);
    const [voters, attendance, proxies] = await Promise.all([this.d.assemblies.voters(a.day), this.d.dayRepo.attendance(assemblyId), this.d.answers.activeProxies(assemblyId)]);
    const votingIds = new Set(voters.map((v) => v.organisationId));
    const present = attendance
      .filter((r) => r.checked_in_at && !r.checked_out_at && votingIds.has(Number(r.organisation_id)))
      .map((r) => ({ organisationId: Number(r.organisation_id), mode: modeFor(a.format, r.mode) === 'online' ? 'online' as const : 'room' as const }));
    const inForce = proxies
      .map((p) => ({ giverId: Number(p.giver_organisation_id), holderId: Number(p.holder_organisation_id) }))
      .filter((p) => votingIds.has(p.giverId) && votingIds.has(p.holderId));
    const eligible = snapshotEligible(present, inForce);
    if (!eligible.length) throw new AssemblyRuleError('ballots.errors.nobody_present');
    const now = this.d.clock.now();
    const closesAt = iso(new Date(now.getTime() + input.minutes * 60_000));
    return this.d.db.transaction(async (trx) => {
      if (await this.d.repo.openBallotOf(trx, item.id)) throw new AssemblyRuleError('ballots.errors.already_open');
      if (kind === 'yes_no' && await this.d.repo.hasClosedBallot(trx, item.id)) throw new AssemblyRuleError('ballots.errors.already_decided');
      const id = await this.d.repo.insertBallot(trx, {
        assembly_id: assemblyId, agenda_item_id: item.id, question, kind, options: JSON.stringify(options), max_choices: kind === 'election' ? input.maxChoices : 1,
        secret, status: 'open', opened_at: iso(now), closes_at: closesAt, closed_at: null, opened_by: actor.userId, closed_by_label: null,
        votes_present: eligible.length, hands: null, hands_entered_at: null, result: null,
      }, eligible.map((e) => ({ organisation_id: e.organisationId, holder_organisation_id: e.holderId, mode: e.mode })), [...options.map((o) => o.key), CAST_KEY]);
      await this.d.audit.record(trx, actor, 'assembly.ballot_opened', 'assembly', assemblyId, undefined, {
        ballotId: id, itemId: item.id, question, kind, options: options.map((o) => o.label || o.key), maxChoices: kind === 'election' ? input.maxChoices : 1, secret, closesAt,
        votesPresent: eligible.length, proxies: eligible.filter((e) => e.holderId !== e.organisationId).length,
      });
      return id;
    });
  }

  /* ------------------------------------------------------------ reading (closes a ballot whose window ended) */

  async get(ballotId: number): Promise<Ballot> {
    await this.closeIfDue(ballotId);
    const r = await this.d.repo.ballot(ballotId);
    if (!r) refuse('unknown');
    return toBallot(r);
  }

  async forAssembly(assemblyId: number): Promise<Ballot[]> {
    await this.closeDue();
    return (await this.d.repo.ballots(assemblyId)).map(toBallot);
  }

  async participation(ballotId: number): Promise<{ ballot: Ballot; participation: Participation }> {
    const ballot = await this.get(ballotId);
    const [eligible, voters] = await Promise.all([this.d.repo.eligible(ballotId), this.d.repo.voters(ballotId)]);
    const modeOf = new Map(eligible.map((e) => [Number(e.organisation_id), e.mode]));
    const p: Participation = { voted: voters.length + ballot.handsTotal, present: ballot.votesPresent, electronic: voters.length, hands: ballot.handsTotal, room: { present: 0, voted: 0 }, online: { present: 0, voted: 0 } };
    for (const e of eligible) p[e.mode].present++;
    for (const v of voters) p[modeOf.get(Number(v.organisation_id)) ?? 'room'].voted++;
    p.room.voted += ballot.handsTotal;
    return { ballot, participation: p };
  }

  /** The open ballots of an assembly in which `voterId` carries a vote, with what it carries. */
  async openFor(assemblyId: number, voterId: number): Promise<VoterView[]> {
    const out: VoterView[] = [];
    for (const b of await this.forAssembly(assemblyId)) {
      if (b.status !== 'open') continue;
      const v = await this.voterView(b, voterId);
      if (v.carries.length) out.push(v);
    }
    return out;
  }

  async voterView(ballot: Ballot, voterId: number): Promise<VoterView> {
    const [eligible, voters] = await Promise.all([this.d.repo.eligible(ballot.id), this.d.repo.voters(ballot.id)]);
    const voted = new Set(voters.map((v) => Number(v.organisation_id)));
    const mine = eligible.filter((e) => Number(e.holder_organisation_id) === voterId);
    const names = await this.d.members.legalNames(mine.map((e) => Number(e.organisation_id)));
    return {
      ballot, open: ballot.status === 'open',
      carries: mine.map((e) => ({
        organisationId: Number(e.organisation_id), name: names.get(Number(e.organisation_id)) ?? '', own: Number(e.organisation_id) === voterId,
        voted: voted.has(Number(e.organisation_id)), countedByHand: !!ballot.hands && e.mode === 'room' && !voted.has(Number(e.organisation_id)),
      })).sort((x, y) => Number(y.own) - Number(x.own) || x.name.localeCompare(y.name)),
    };
  }

  /** The room's members checked in who carry a vote not yet cast (the check-in tablet's list). */
  async tabletVoters(ballotId: number): Promise<{ organisationId: number; name: string; votes: number }[]> {
    const ballot = await this.get(ballotId);
    if (ballot.status !== 'open' || ballot.hands) return [];
    const [eligible, voters, attendance] = await Promise.all([this.d.repo.eligible(ballotId), this.d.repo.voters(ballotId), this.d.dayRepo.attendance(ballot.assemblyId)]);
    const voted = new Set(voters.map((v) => Number(v.organisation_id)));
    const inNow = new Set(attendance.filter((r) => r.checked_in_at && !r.checked_out_at).map((r) => Number(r.organisation_id)));
    const byHolder = new Map<number, number>();
    for (const e of eligible) if (e.mode === 'room' && !voted.has(Number(e.organisation_id)) && inNow.has(Number(e.holder_organisation_id))) byHolder.set(Number(e.holder_organisation_id), (byHolder.get(Number(e.holder_organisation_id)) ?? 0) + 1);
    const names = await this.d.members.legalNames([...byHolder.keys()]);
    return [...byHolder.entries()].map(([organisationId, votes]) => ({ organisationId, name: names.get(organisationId) ?? '', votes })).sort((x, y) => x.name.localeCompare(y.name));
  }

  /* ------------------------------------------------------------ voting */

  /**
   * Casts the votes `voterId` carries: `forAll` for each, or a choice per represented member.
   * Refused (nothing counted) after the window, for a closed ballot, a member not checked in or
   * checked out, a member that left, a member not in the snapshot, a member that already voted
   * (also at the same moment on another device: the database's key), an option not on the ballot.
   * The tablet (`via` 'tablet') casts for a member in the room only.
   */
  async cast(actor: Actor, ballotId: number, voterId: number, input: { forAll: string[]; perMember: Map<number, string[]> }, via: BallotVia): Promise<{ counted: number }> {
    const ballot = await this.get(ballotId);
    if (ballot.status !== 'open') refuse(ballot.closedAt && ballot.closedAt >= ballot.closesAt ? 'window_over' : 'closed');
    const a = await this.d.assemblies.get(ballot.assemblyId);
    const eligibleRows = await this.d.repo.eligibleHeldBy(ballotId, voterId);
    const eligible: EligibleVote[] = eligibleRows.map((e) => ({ organisationId: Number(e.organisation_id), holderId: Number(e.holder_organisation_id), mode: e.mode }));
    const carried = eligible.filter((e) => e.holderId === voterId);
    if (!carried.length) refuse('not_eligible');
    if (via === 'tablet' && carried.some((e) => e.mode !== 'room')) refuse('tablet_room_only');
    // members that left since (the voter or one it represents) cast nothing; reads before the transaction (one SQLite connection)
    const today = berlinDay(this.d.clock.now());
    for (const e of carried) {
      const org = await this.d.members.get(e.organisationId);
      if (hasLeft(org, today)) refuse('member_left', { name: org?.legalName ?? '' });
    }
    let counted = 0;
    try {
      await this.d.db.transaction(async (trx) => {
        const row = await this.d.repo.ballotForShare(trx, ballotId);
        if (!row || row.status !== 'open') refuse('closed');
        if (this.now() >= row.closes_at) refuse('window_over');
        const att = await this.d.dayRepo.attendanceOf(trx, ballot.assemblyId, voterId);
        if (!att?.checked_in_at) refuse('not_checked_in');
        if (att.checked_out_at) refuse('checked_out');
        if (a.format === 'hybrid' && via === 'tablet' && att.mode !== 'room') refuse('tablet_room_only');
        const voted = new Set(await this.d.repo.votedAmong(ballotId, carried.map((e) => e.organisationId), trx));
        const planned = planCast({ voterId, forAll: input.forAll, perMember: input.perMember }, { kind: ballot.kind, options: ballot.options, maxChoices: ballot.maxChoices, handsEntered: !!row.hands_entered_at }, eligible, voted);
        if (!planned.ok) refuse(planned.refusal);
        const at = ballot.secret ? null : this.now();
        for (const v of planned.plan.votes) {
          await this.d.repo.castVote(trx, {
            ballot_id: ballotId, organisation_id: v.organisationId, cast_by_organisation_id: voterId, via,
            choice: ballot.secret ? null : JSON.stringify(v.keys), voted_at: at,
          }, [...v.keys, CAST_KEY]);
        }
        counted = planned.plan.votes.length;
        // the audit says THAT these members voted; for an open ballot also how (secret: never)
        await this.d.audit.record(trx, actor, 'assembly.ballot_voted', 'assembly', ballot.assemblyId, undefined, {
          ballotId, via, organisationIds: planned.plan.votes.map((v) => v.organisationId),
          ...(ballot.secret ? {} : { choices: planned.plan.votes.map((v) => ({ organisationId: v.organisationId, options: v.keys })) }),
        });
      });
    } catch (err) {
      if (isUniqueViolation(err)) refuse('already_voted'); // the other device's vote came first and counts
      throw err;
    }
    return { counted };
  }

  /**
   * The show of hands in the room, entered by the board once: counts per option for the room's
   * votes not cast electronically. Their sum may not exceed them; afterwards the room's members
   * who have not voted electronically cannot (they were counted by hand).
   */
  async enterHands(actor: Actor, ballotId: number, raw: Record<string, unknown>): Promise<void> {
    const ballot = await this.get(ballotId);
    if (ballot.status !== 'open') refuse('closed');
    if (ballot.maxChoices > 1) refuse('hands_single_choice');
    const counts: Record<string, number> = {};
    const fields: Record<string, { code: string; params?: Record<string, unknown> }> = {};
    for (const o of ballot.options) {
      const v = raw[o.key];
      const text = typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '';
      if (text === '') { counts[o.key] = 0; continue; }
      if (!/^\d{1,6}$/.test(text)) fields[`h_${o.key}`] = { code: 'assemblies.countErrors.not_whole' };
      else counts[o.key] = Number(text);
    }
    if (Object.keys(fields).length) throw new FieldRuleError(fields);
    const total = Object.values(counts).reduce((s, n) => s + n, 0);
    await this.d.db.transaction(async (trx) => {
      const row = await this.d.repo.ballotForUpdate(trx, ballotId);
      if (!row || row.status !== 'open' || this.now() >= row.closes_at) refuse('closed');
      if (row.hands_entered_at) refuse('hands_entered');
      const eligible = await this.d.repo.eligible(ballotId, trx); // one after the other: one connection in a transaction
      const voters = await this.d.repo.voters(ballotId, trx);
      const voted = new Set(voters.map((v) => Number(v.organisation_id)));
      const roomLeft = eligible.filter((e) => e.mode === 'room' && !voted.has(Number(e.organisation_id))).length;
      if (total > roomLeft) throw new FieldRuleError({ hands: { code: 'ballots.errors.hands_above_room', params: { total, room: roomLeft } } });
      await this.d.repo.updateBallot(trx, ballotId, { hands: JSON.stringify(counts), hands_entered_at: this.now() });
      await this.d.repo.addCounts(trx, ballotId, { ...counts, [CAST_KEY]: total });
      await this.d.audit.record(trx, actor, 'assembly.ballot_hands_entered', 'assembly', ballot.assemblyId, undefined, { ballotId, counts, total, roomNotVotedElectronically: roomLeft });
    });
  }

  /* ------------------------------------------------------------ closing */

  /** Closes a ballot (the chair, or the end of its window): the tally is kept and the item decided by its majority rule. */
  async close(actor: Actor, ballotId: number): Promise<void> {
    const closed = await this.closeNow(actor, ballotId);
    if (!closed) refuse('closed');
  }

  /** Closes every open ballot whose window has ended (on read and by the timer). */
  async closeDue(): Promise<void> {
    for (const r of await this.d.repo.dueBallots(this.now())) await this.closeNow(SYSTEM, Number(r.id));
  }

  private async closeIfDue(ballotId: number): Promise<void> {
    const r = await this.d.repo.ballot(ballotId);
    if (r && r.status === 'open' && this.now() >= r.closes_at) await this.closeNow(SYSTEM, ballotId);
  }

  /** Checks every few seconds for ballots whose window ended (the window is stored: a restart keeps it). */
  startTimer(ms = 5000): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.closeDue().catch((err: Error) => this.d.log?.error({ err: err.message }, 'closing ballots failed')), ms);
    this.timer.unref();
  }

  stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async closeNow(actor: Actor, ballotId: number): Promise<boolean> {
    const done = await this.d.db.transaction(async (trx) => {
      const row = await this.d.repo.ballotForUpdate(trx, ballotId);
      if (!row || row.status !== 'open') return undefined;
      const b = toBallot(row);
      const tallyRows = await this.d.repo.tallies(ballotId, trx); // one after the other: one connection in a transaction
      const voters = await this.d.repo.voters(ballotId, trx);
      const tallies = Object.fromEntries(tallyRows.map((t) => [t.option_key, Number(t.votes)]));
      const result: BallotResultRecord = {
        tallies, voters: voters.length, hands: b.handsTotal, votesPresent: b.votesPresent, verified: tallyVerified(tallies, voters.length, b.handsTotal),
        ...(b.secret ? {} : { open: voters.map((v) => ({ organisationId: Number(v.organisation_id), castBy: Number(v.cast_by_organisation_id), keys: JSON.parse(v.choice ?? '[]') as string[], via: v.via })) }), // why: choice is written by cast() as a JSON array of keys
      };
      const n = await this.d.repo.updateBallot(trx, ballotId, { status: 'closed', closed_at: this.now(), closed_by_label: actor.label.slice(0, 200), result: JSON.stringify(result) }, 'open');
      if (!n) return undefined;
      await this.d.audit.record(trx, actor, 'assembly.ballot_closed', 'assembly', b.assemblyId, undefined, {
        ballotId, itemId: b.itemId, tallies, voters: voters.length, hands: b.handsTotal, votesPresent: b.votesPresent, verified: result.verified,
      });
      return { b, result };
    });
    if (!done) return false;
    // the item's result, decided by its majority rule through the day's results (after the ballot's transaction: one SQLite connection)
    const { b, result } = done;
    const c = countsOf(b.kind, b.options, result.tallies, await this.round(b));
    try {
      await this.d.day.recordResolution(actor, b.assemblyId, b.itemId, {
        yes: String(c.counts.yes), no: String(c.counts.no), abstain: String(c.counts.abstain), invalid: '0', absentConsents: '0', note: '', reason: '',
        ...(c.election ? { candidates: c.election.candidates.map((x) => ({ name: x.name, votes: String(x.votes) })), round: c.election.round } : {}),
      }, { votesPresent: b.votesPresent, fromBallot: true });
    } catch (err) {
      const code = err instanceof AssemblyRuleError ? err.code : err instanceof Error ? err.message : 'error';
      this.d.log?.error({ ballotId, err: code }, 'recording the ballot result failed');
      await this.d.db.transaction(async (trx) => {
        await this.d.repo.updateBallot(trx, ballotId, { result: JSON.stringify({ ...result, resolutionError: code }) });
        await this.d.audit.record(trx, actor, 'assembly.ballot_result_not_recorded', 'assembly', b.assemblyId, undefined, { ballotId, reason: code });
      });
    }
    return true;
  }

  /** An election's second ballot on the same item is its run-off / second round. */
  private async round(b: Ballot): Promise<1 | 2> {
    if (b.kind !== 'election') return 1;
    const earlier = (await this.d.repo.ballots(b.assemblyId)).filter((x) => Number(x.agenda_item_id) === b.itemId && Number(x.id) < b.id && x.status === 'closed');
    return earlier.length ? 2 : 1;
  }

  /** Whether an item's result came from a closed ballot (then it is not typed over). */
  async decidedByBallot(q: Knex | Knex.Transaction, itemId: number): Promise<boolean> {
    return this.d.repo.hasClosedBallot(q, itemId);
  }

  /* ------------------------------------------------------------ minutes */

  /** The closed ballots per agenda item, in words for the minutes: participation, check, and for open ballots who voted how. */
  async minutesLines(assemblyId: number, t: TFunction): Promise<Map<number, string[]>> {
    const rows = (await this.d.repo.ballots(assemblyId)).map(toBallot).filter((b) => b.status === 'closed' && b.result);
    const ids = new Set<number>();
    for (const b of rows) for (const v of b.result?.open ?? []) { ids.add(v.organisationId); ids.add(v.castBy); }
    const names = await this.d.members.legalNames([...ids]);
    const out = new Map<number, string[]>();
    for (const b of rows) {
      const r = b.result!;
      const label = (k: string) => b.options.find((o) => o.key === k)?.label || t(`ballots.option.${k}`);
      const lines = [t(b.secret ? 'ballots.minutes.secret' : 'ballots.minutes.open', {
        question: b.question, voted: r.voters + r.hands, present: r.votesPresent, electronic: r.voters, hands: r.hands,
      })];
      lines.push(t(r.verified ? 'ballots.minutes.verified' : 'ballots.minutes.notVerified', { voters: r.voters + r.hands }));
      if (r.open?.length) {
        const who = r.open.map((v) => {
          const name = names.get(v.organisationId) ?? '';
          const by = v.castBy !== v.organisationId ? ` ${t('ballots.minutes.by', { holder: names.get(v.castBy) ?? '' })}` : '';
          return `${name}${by}: ${v.keys.map(label).join(', ')}`;
        }).sort((x, y) => x.localeCompare(y));
        lines.push(`${t('ballots.minutes.whoVoted')} ${who.join('; ')}`);
      }
      if (r.hands) lines.push(t('ballots.minutes.hands', { counts: Object.entries(b.hands ?? {}).filter(([, n]) => n).map(([k, n]) => `${label(k)} ${n}`).join(', ') }));
      out.set(b.itemId, [...(out.get(b.itemId) ?? []), ...lines]);
    }
    return out;
  }
}

/** h/evote: whether a ballot is secret unless the chair says otherwise (settings). */
export function secretByDefault(setting: 'open' | 'secret' | 'secret_elections', kind: VotingKind): boolean {
  return setting === 'secret' || (setting === 'secret_elections' && kind === 'election');
}
