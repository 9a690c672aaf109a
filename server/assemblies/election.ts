import { z } from 'zod';
import { decideMajority, type MajorityRule } from './majority.ts';

/**
 * Elections of the general assembly, as pure functions. The BGB's default (§ 32 Abs. 1 S. 3) is
 * the majority of the votes cast: a candidate is elected with more than half of the votes given
 * for candidates and against (abstentions and invalid votes do not count). What happens when no
 * one reaches it, and on a tie, is for the bylaws (§ 40 BGB), so it is a setting:
 *
 * - runoff 'repeat' (BGB default): no one is elected; a repeated ballot needs the same majority.
 * - runoff 'top_two': a run-off between the two best placed (all tied for a place are in it);
 *   in the run-off the most votes win.
 * - runoff 'relative': a second round open to all; the most votes win.
 * - tie 'lot': a tie in a round decided by the most votes is decided by lot; 'repeat': it is not,
 *   the ballot is repeated.
 */

export const RUNOFF_RULES = ['repeat', 'top_two', 'relative'] as const;
export type RunoffRule = (typeof RUNOFF_RULES)[number];
export const TIE_RULES = ['repeat', 'lot'] as const;
export type TieRule = (typeof TIE_RULES)[number];

export const electionRulesSchema = z.object({
  runoff: z.enum(RUNOFF_RULES),
  tie: z.enum(TIE_RULES),
});
export type ElectionRules = z.infer<typeof electionRulesSchema>;

/** The BGB says nothing about run-offs: without a majority no one is elected. */
export const BGB_ELECTION: ElectionRules = { runoff: 'repeat', tie: 'repeat' };

export interface CandidateVotes {
  name: string;
  votes: number;
}

/** One ballot of an election as recorded. */
export interface ElectionBallot {
  /** 1: the first ballot; 2: the run-off or second round */
  round: 1 | 2;
  candidates: CandidateVotes[];
  /** votes against (e.g. "Nein" to a single candidate): they count as cast */
  no: number;
  abstain: number;
  invalid: number;
  /** after a tie decided by lot: who drew it */
  lotWinner?: string;
}

export type ElectionOutcome =
  | { kind: 'elected'; winner: string; votes: number; cast: number; by: 'majority' | 'relative' | 'lot'; tiedWith: string[] }
  | { kind: 'runoff'; between: string[]; cast: number }
  | { kind: 'second_round'; cast: number }
  | { kind: 'tie'; between: string[]; votes: number; cast: number; lot: boolean }
  | { kind: 'not_elected'; cast: number; relative?: boolean }
  | { kind: 'no_votes' };

export interface ElectionDecision {
  outcome: ElectionOutcome;
  /** the votes cast: for candidates and against */
  cast: number;
  /** the best placed candidate's votes, and the threshold of the majority rule (for the words) */
  best: number;
  thresholdHundredths: number;
  rule: MajorityRule;
}

function ranked(candidates: CandidateVotes[]): CandidateVotes[] {
  return [...candidates].sort((a, b) => b.votes - a.votes);
}

/**
 * Who is elected by a ballot under the election's majority `rule` (settings: the majority of
 * kind 'election') and the bylaws' run-off and tie rules.
 */
export function decideElection(rule: MajorityRule, rules: ElectionRules, ballot: ElectionBallot, votingMembers = 0): ElectionDecision {
  const list = ranked(ballot.candidates.filter((c) => c.name.trim()));
  const forCandidates = list.reduce((s, c) => s + c.votes, 0);
  const cast = forCandidates + ballot.no;
  const best = list[0]?.votes ?? 0;
  const m = decideMajority(rule, { yes: best, no: cast - best, abstain: ballot.abstain, invalid: ballot.invalid }, { votingMembers });
  const out = (outcome: ElectionOutcome): ElectionDecision => ({ outcome, cast, best, thresholdHundredths: m.thresholdHundredths, rule });
  if (cast === 0) return out({ kind: 'no_votes' });
  if (best === 0) return out({ kind: 'not_elected', cast }); // only votes against
  const top = list.filter((c) => c.votes === best);
  const others = list.filter((c) => c.votes !== best);
  // a round decided by the most votes: the run-off or second round, unless the bylaws only repeat the ballot
  const relativeRound = ballot.round === 2 && rules.runoff !== 'repeat';
  if (!relativeRound) {
    if (m.adopted && top.length === 1) return out({ kind: 'elected', winner: top[0].name, votes: best, cast, by: 'majority', tiedWith: [] });
    if (top.length > 1 && m.adopted) return tie(top); // a rule below one half can be reached by two
    if (list.length < 2 || rules.runoff === 'repeat') return out({ kind: 'not_elected', cast });
    if (rules.runoff === 'relative') return out({ kind: 'second_round', cast });
    const between = top.length >= 2 ? top : [top[0], ...others.filter((c) => c.votes === others[0].votes)];
    return out({ kind: 'runoff', between: between.map((c) => c.name), cast });
  }
  // the most votes win, and more than the votes against
  if (best <= ballot.no) return out({ kind: 'not_elected', cast, relative: true });
  if (top.length === 1) return out({ kind: 'elected', winner: top[0].name, votes: best, cast, by: 'relative', tiedWith: [] });
  return tie(top);

  function tie(tied: CandidateVotes[]): ElectionDecision {
    const names = tied.map((c) => c.name);
    const drawn = ballot.lotWinner?.trim();
    if (rules.tie === 'lot' && drawn && names.includes(drawn)) {
      return out({ kind: 'elected', winner: drawn, votes: best, cast, by: 'lot', tiedWith: names.filter((n) => n !== drawn) });
    }
    return out({ kind: 'tie', between: names, votes: best, cast, lot: rules.tie === 'lot' });
  }
}
