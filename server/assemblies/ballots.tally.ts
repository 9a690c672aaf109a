import { decideMajority, type MajorityOutcome, type MajorityRule, type VoteCounts } from './majority.ts';
import { decideElection, type ElectionBallot, type ElectionDecision, type ElectionRules } from './election.ts';
import { votesPresent, type ProxyInForce } from './quorum.ts';
import type { BallotKind } from './ballots.tables.ts';

/**
 * h/evote: the pure rules of an electronic ballot: who may cast which votes (the snapshot taken
 * when it opens, with the proxies then in force), whether a choice is valid, and the tally as
 * the counts the existing majority and election rules (majority.ts, election.ts) decide.
 */

export interface BallotOption {
  key: string;
  /** a candidate's name; '' for yes / no / abstain (their words come from the locale) */
  label: string;
}

/** The counter of ballots cast (once per member, and each hand): the tally's check. */
export const CAST_KEY = '_cast';
export const FIXED_KEYS = ['yes', 'no', 'abstain'] as const;
const EXCLUSIVE = new Set(['no', 'abstain']);

export function ballotOptions(kind: BallotKind, candidates: string[]): BallotOption[] {
  if (kind === 'yes_no') return FIXED_KEYS.map((key) => ({ key, label: '' }));
  return [...candidates.map((name, i) => ({ key: `c${i + 1}`, label: name })), { key: 'no', label: '' }, { key: 'abstain', label: '' }];
}

export interface EligibleVote {
  organisationId: number;
  holderId: number;
  mode: 'room' | 'online';
}

/**
 * The votes present when a ballot opens: each voting member checked in casts its own vote, and a
 * proxy in force counts for its holder when the holder is in and the giver is not (the same rule
 * as the quorum, quorum.ts). A member that comes in person votes itself.
 */
export function snapshotEligible(present: { organisationId: number; mode: 'room' | 'online' }[], proxies: ProxyInForce[]): EligibleVote[] {
  const modeOf = new Map(present.map((p) => [p.organisationId, p.mode]));
  const out: EligibleVote[] = present.map((p) => ({ organisationId: p.organisationId, holderId: p.organisationId, mode: p.mode }));
  const counted = new Set<number>();
  for (const p of proxies) {
    const mode = modeOf.get(p.holderId);
    if (mode && !modeOf.has(p.giverId) && !counted.has(p.giverId)) {
      counted.add(p.giverId);
      out.push({ organisationId: p.giverId, holderId: p.holderId, mode });
    }
  }
  if (out.length !== votesPresent(present.map((p) => p.organisationId), proxies).present) throw new Error('snapshot disagrees with the votes present');
  return out;
}

export type ChoiceRefusal = 'choose' | 'option_unknown' | 'exclusive' | 'too_many';

/** Whether `keys` is a valid choice on the ballot: options on it, each once; no / abstain alone; at most `maxChoices` candidates. */
export function choiceRefusal(kind: BallotKind, options: BallotOption[], maxChoices: number, keys: string[]): ChoiceRefusal | null {
  if (!keys.length) return 'choose';
  const known = new Set(options.map((o) => o.key));
  if (keys.some((k) => !known.has(k)) || new Set(keys).size !== keys.length) return 'option_unknown';
  if (keys.length > 1 && keys.some((k) => EXCLUSIVE.has(k))) return 'exclusive';
  if (kind === 'yes_no' ? keys.length > 1 : keys.length > maxChoices) return 'too_many';
  return null;
}

export interface CastPlan {
  /** the members whose vote is cast now, each with its options */
  votes: { organisationId: number; keys: string[] }[];
}

export type CastRefusal = 'not_eligible' | 'already_voted' | 'counted_by_hand' | 'choose' | ChoiceRefusal;

/**
 * What one voter may cast now: for each member it carries (itself and each proxy it held when
 * the ballot opened) a choice given separately or the one for all. Members already voted or
 * (in the room, once the board entered the show of hands) counted by hand are refused.
 */
export function planCast(
  input: { voterId: number; forAll: string[]; perMember: Map<number, string[]>; only?: number[] },
  ballot: { kind: BallotKind; options: BallotOption[]; maxChoices: number; handsEntered: boolean },
  eligible: EligibleVote[],
  voted: Set<number>,
): { ok: true; plan: CastPlan } | { ok: false; refusal: CastRefusal; organisationId?: number } {
  const carried = eligible.filter((e) => e.holderId === input.voterId && (!input.only || input.only.includes(e.organisationId)));
  if (!carried.length) return { ok: false, refusal: 'not_eligible' };
  for (const id of input.perMember.keys()) if (!carried.some((e) => e.organisationId === id)) return { ok: false, refusal: 'not_eligible', organisationId: id };
  const votes: CastPlan['votes'] = [];
  for (const e of carried) {
    const keys = input.perMember.get(e.organisationId)?.length ? input.perMember.get(e.organisationId)! : input.forAll;
    if (!keys.length) continue; // this member's vote is not cast now
    if (voted.has(e.organisationId)) return { ok: false, refusal: 'already_voted', organisationId: e.organisationId };
    if (ballot.handsEntered && e.mode === 'room') return { ok: false, refusal: 'counted_by_hand', organisationId: e.organisationId };
    const r = choiceRefusal(ballot.kind, ballot.options, ballot.maxChoices, keys);
    if (r) return { ok: false, refusal: r, organisationId: e.organisationId };
    votes.push({ organisationId: e.organisationId, keys });
  }
  if (!votes.length) return { ok: false, refusal: carried.every((e) => voted.has(e.organisationId)) ? 'already_voted' : 'choose' };
  return { ok: true, plan: { votes } };
}

/** The counters as the existing results take them: yes / no / abstain, or an election's ballot. */
export function countsOf(kind: BallotKind, options: BallotOption[], tallies: Record<string, number>, round: 1 | 2 = 1): { counts: VoteCounts; election?: ElectionBallot } {
  const n = (k: string) => tallies[k] ?? 0;
  if (kind === 'yes_no') return { counts: { yes: n('yes'), no: n('no'), abstain: n('abstain'), invalid: 0 } };
  const candidates = options.filter((o) => o.label).map((o) => ({ name: o.label, votes: n(o.key) }));
  const election: ElectionBallot = { round, candidates, no: n('no'), abstain: n('abstain'), invalid: 0 };
  return { counts: { yes: 0, no: n('no'), abstain: n('abstain'), invalid: 0 }, election };
}

/** The ballot decided by the item's majority rule (and, for an election, the run-off rules). */
export function decideBallot(
  kind: BallotKind, options: BallotOption[], tallies: Record<string, number>, rule: MajorityRule, electionRules: ElectionRules, votingMembers: number, round: 1 | 2 = 1,
): { adopted: boolean; outcome: MajorityOutcome; election?: ElectionDecision } {
  const c = countsOf(kind, options, tallies, round);
  if (c.election) {
    const d = decideElection(rule, electionRules, c.election, votingMembers);
    return { adopted: d.outcome.kind === 'elected', outcome: decideMajority(rule, { yes: d.best, no: d.cast - d.best, abstain: c.counts.abstain, invalid: 0 }, { votingMembers }), election: d };
  }
  const outcome = decideMajority(rule, c.counts, { votingMembers });
  return { adopted: outcome.adopted, outcome };
}

/** The tally's check: each member's vote and each hand once in the counter of ballots cast. */
export function tallyVerified(tallies: Record<string, number>, voters: number, hands: number): boolean {
  return (tallies[CAST_KEY] ?? 0) === voters + hands;
}
