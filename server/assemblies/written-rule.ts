import { z } from 'zod';
import { decideMajority, majorityRuleSchema, type MajorityOutcome, type MajorityRule } from './majority.ts';

/**
 * When a resolution without an assembly (§ 32 Abs. 3 BGB, Umlaufbeschluss) is adopted, as pure
 * functions.
 *
 * The law: "Auch ohne Versammlung der Mitglieder ist ein Beschluss gültig, wenn alle Mitglieder
 * ihre Zustimmung zu dem Beschluss in Textform erklären." By default every member on the roll must
 * answer yes; a no, an abstention or a missing answer each make it fail. The bylaws may deviate
 * (§ 40 BGB): a written vote by majority when at least a share of the voting members took part
 * (answered yes, no or abstain). Then the majority of the item's kind applies to the answers,
 * exactly as in the assembly (majority.ts: abstentions do not count as votes cast).
 *
 * The roll is the voting members asked (and still members at the deadline). Comparisons are
 * exact, in integers.
 */

export const WRITTEN_MODES = ['all_consent', 'majority'] as const;
export type WrittenMode = (typeof WRITTEN_MODES)[number];

export const writtenRuleSchema = z.object({
  mode: z.enum(WRITTEN_MODES),
  /** with mode 'majority': the share of the roll that must answer, in percent (at least) */
  minParticipationPercent: z.number().int().min(1).max(100),
  /** with mode 'majority': the majority of the resolution's kind */
  majority: majorityRuleSchema,
});
export type WrittenRule = z.infer<typeof writtenRuleSchema>;

export interface WrittenCounts {
  yes: number;
  no: number;
  abstain: number;
  /** on the roll without an answer */
  open: number;
}

export type WrittenReason = 'all_consented' | 'not_all_consented' | 'participation_too_low' | 'majority_not_reached' | 'majority_reached' | 'no_members';

export interface WrittenOutcome {
  /** adopted with the answers as they are (missing answers count as not given) */
  adopted: boolean;
  reason: WrittenReason;
  /** could still be adopted if the members who have not answered answer yes */
  reachable: boolean;
  /** adopted whatever the members who have not answered do (or do not do) */
  certain: boolean;
  roll: number;
  answered: number;
  /** the answers needed for the minimum participation (mode 'majority'), rounded up */
  participationRequired: number;
  participationReached: boolean;
  majority?: MajorityOutcome;
}

function evaluate(rule: WrittenRule, c: WrittenCounts): { adopted: boolean; reason: WrittenReason; participationRequired: number; participationReached: boolean; majority?: MajorityOutcome } {
  const roll = c.yes + c.no + c.abstain + c.open;
  const answered = roll - c.open;
  if (roll === 0) return { adopted: false, reason: 'no_members', participationRequired: 0, participationReached: false };
  if (rule.mode === 'all_consent') {
    const all = c.yes === roll;
    return { adopted: all, reason: all ? 'all_consented' : 'not_all_consented', participationRequired: roll, participationReached: answered === roll };
  }
  const participationRequired = Math.ceil((roll * rule.minParticipationPercent) / 100);
  const participationReached = answered * 100 >= roll * rule.minParticipationPercent;
  const majority = decideMajority(rule.majority, { yes: c.yes, no: c.no, abstain: c.abstain, invalid: 0 }, { votingMembers: roll, absentConsents: 0 });
  const adopted = participationReached && majority.adopted;
  const reason: WrittenReason = !participationReached ? 'participation_too_low' : majority.adopted ? 'majority_reached' : 'majority_not_reached';
  return { adopted, reason, participationRequired, participationReached, majority };
}

/** The outcome with the answers given so far, and whether the open answers could still change it. */
export function decideWritten(rule: WrittenRule, c: WrittenCounts): WrittenOutcome {
  const now = evaluate(rule, c);
  const roll = c.yes + c.no + c.abstain + c.open;
  // best case: every open answer is a yes; worst case: every open answer is a no, or none comes
  // (participation only grows and the majority only shrinks with more no answers, so the two ends decide)
  const best = evaluate(rule, { ...c, yes: c.yes + c.open, open: 0 });
  const worst = evaluate(rule, { ...c, no: c.no + c.open, open: 0 });
  return {
    ...now, roll, answered: roll - c.open,
    reachable: best.adopted,
    certain: now.adopted && worst.adopted,
  };
}

/** The BGB default: all must consent (the majority fields are kept for when the bylaws allow one). */
export function bgbWrittenRule(majority: MajorityRule): WrittenRule {
  return { mode: 'all_consent', minParticipationPercent: 50, majority };
}
