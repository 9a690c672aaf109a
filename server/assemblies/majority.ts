import { z } from 'zod';

/**
 * Majorities of the general assembly, as pure functions (§§ 32, 33, 41 BGB; the bylaws may
 * deviate, § 40 BGB, so every rule is a setting with the BGB's default pre-set).
 *
 * A rule is a share of a base: of the votes cast (yes + no; abstentions and invalid votes do
 * not count, § 32 Abs. 1 S. 3 BGB) or of all voting members. "More than half" is strict
 * (yes > ½ · cast, i.e. more yes than no); "three quarters" is "at least" (yes ≥ ¾ · cast):
 * 9 yes of 12 cast is exactly ¾ and adopted, 8 yes of 11 cast (8 < 8.25) is not.
 *
 * The change of purpose needs the consent of all members; those absent may consent in Textform
 * (§ 33 Abs. 1 S. 2 BGB): their written consents count with the yes votes in the room.
 *
 * All comparisons are exact: yes · den against base · num in integers, never in floating point.
 */

/** Kinds of agenda item. A report takes no vote. */
export const ITEM_KINDS = ['report', 'resolution', 'election', 'bylaws_change', 'purpose_change', 'dissolution'] as const;
export type ItemKind = (typeof ITEM_KINDS)[number];
export type VotingKind = Exclude<ItemKind, 'report'>;

export const majorityRuleSchema = z.object({
  /** the share, as a fraction num/den (1/2, 2/3, 3/4, 1/1) */
  num: z.coerce.number().int().min(1).max(100),
  den: z.coerce.number().int().min(1).max(100),
  /** true: more than the share; false: at least the share */
  strict: z.boolean(),
  /** of the votes cast, or of all voting members */
  base: z.enum(['cast', 'members']),
  /** with base 'members': written consents of absent members count (change of purpose) */
  absentConsents: z.boolean().default(false),
}).refine((r) => r.num <= r.den, { message: 'share_above_one', path: ['num'] });
export type MajorityRule = z.infer<typeof majorityRuleSchema>;

/** The BGB's defaults. */
export const BGB_MAJORITIES: Record<VotingKind, MajorityRule> = {
  resolution: { num: 1, den: 2, strict: true, base: 'cast', absentConsents: false }, // § 32 Abs. 1 S. 3
  election: { num: 1, den: 2, strict: true, base: 'cast', absentConsents: false }, // § 32 Abs. 1 S. 3
  bylaws_change: { num: 3, den: 4, strict: false, base: 'cast', absentConsents: false }, // § 33 Abs. 1 S. 1
  purpose_change: { num: 1, den: 1, strict: false, base: 'members', absentConsents: true }, // § 33 Abs. 1 S. 2
  dissolution: { num: 3, den: 4, strict: false, base: 'cast', absentConsents: false }, // § 41 S. 2
};

export interface VoteCounts {
  yes: number;
  no: number;
  abstain: number;
  invalid: number;
}

export type MajorityReason = 'reached' | 'not_reached' | 'no_votes_cast';

export interface MajorityOutcome {
  adopted: boolean;
  reason: MajorityReason;
  /** yes + no */
  cast: number;
  /** yes votes, plus written consents of absent members where the rule counts them */
  inFavour: number;
  /** what the share is taken of: the votes cast or the voting members */
  baseCount: number;
  /** the threshold base · num / den in hundredths, rounded up (8.25 → 825), for display */
  thresholdHundredths: number;
  rule: MajorityRule;
}

/**
 * Whether an item is adopted under `rule`. `votingMembers` is the number of members with a vote
 * (needed for rules of base 'members'); `absentConsents` the written consents of absent members.
 */
export function decideMajority(
  rule: MajorityRule,
  counts: VoteCounts,
  ctx: { votingMembers: number; absentConsents?: number } = { votingMembers: 0 },
): MajorityOutcome {
  const cast = counts.yes + counts.no;
  const inFavour = counts.yes + (rule.base === 'members' && rule.absentConsents ? ctx.absentConsents ?? 0 : 0);
  const baseCount = rule.base === 'cast' ? cast : ctx.votingMembers;
  const thresholdHundredths = Math.ceil((baseCount * rule.num * 100) / rule.den);
  const out = (adopted: boolean, reason: MajorityReason): MajorityOutcome => ({ adopted, reason, cast, inFavour, baseCount, thresholdHundredths, rule });
  if (baseCount === 0 || (rule.base === 'cast' && cast === 0)) return out(false, 'no_votes_cast');
  const lhs = inFavour * rule.den;
  const rhs = baseCount * rule.num;
  const reached = rule.strict ? lhs > rhs : lhs >= rhs;
  return out(reached, reached ? 'reached' : 'not_reached');
}

/** The share in the words a German board writes: ½, ⅔, ¾, or num/den. */
export function shareSymbol(rule: Pick<MajorityRule, 'num' | 'den'>): string {
  const key = `${rule.num}/${rule.den}`;
  const symbols: Record<string, string> = { '1/2': '½', '2/3': '⅔', '3/4': '¾', '1/3': '⅓', '1/4': '¼' };
  return symbols[key] ?? key;
}

export type CountField = keyof VoteCounts | 'total';
export interface CountError {
  field: CountField;
  code: 'not_whole' | 'negative' | 'too_large' | 'above_present';
  params?: Record<string, number>;
}

/**
 * Checks recorded counts against the votes present at that moment (own votes and proxies). Each
 * count must be a whole number ≥ 0; their sum may not exceed the votes present.
 */
export function checkCounts(counts: Record<keyof VoteCounts, unknown>, votesPresent: number): { ok: true; counts: VoteCounts } | { ok: false; errors: CountError[] } {
  const errors: CountError[] = [];
  const parsed: Partial<VoteCounts> = {};
  for (const field of ['yes', 'no', 'abstain', 'invalid'] as const) {
    const raw = counts[field];
    const text = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : raw == null ? '0' : '?';
    const value = text === '' ? 0 : Number(text);
    if (!/^-?\d+$/.test(text === '' ? '0' : text) || !Number.isSafeInteger(value)) errors.push({ field, code: 'not_whole' });
    else if (value < 0) errors.push({ field, code: 'negative' });
    else if (value > votesPresent) errors.push({ field, code: 'too_large', params: { present: votesPresent } });
    else parsed[field] = value;
  }
  if (errors.length) return { ok: false, errors };
  const c = parsed as VoteCounts; // why: every field was set in the loop above when no error was recorded
  const total = c.yes + c.no + c.abstain + c.invalid;
  if (total > votesPresent) return { ok: false, errors: [{ field: 'total', code: 'above_present', params: { total, present: votesPresent } }] };
  return { ok: true, counts: c };
}

/** A rule as one form value: "cast:3/4:ge", "members:1/1:ge:textform". */
export function ruleCode(r: MajorityRule): string {
  return `${r.base}:${r.num}/${r.den}:${r.strict ? 'gt' : 'ge'}${r.base === 'members' && r.absentConsents ? ':textform' : ''}`;
}

/** The rule of a form value, or null when it is not one. */
export function parseRuleCode(code: string): MajorityRule | null {
  const m = /^(cast|members):(\d{1,3})\/(\d{1,3}):(gt|ge)(:textform)?$/.exec(code);
  if (!m) return null;
  const r = majorityRuleSchema.safeParse({ base: m[1], num: m[2], den: m[3], strict: m[4] === 'gt', absentConsents: !!m[5] });
  return r.success && !(r.data.absentConsents && r.data.base !== 'members') ? r.data : null;
}

/** The rules a board can choose on the settings page (what bylaws commonly say); a stored other rule is offered too. */
export const MAJORITY_PRESETS: readonly MajorityRule[] = [
  { num: 1, den: 2, strict: true, base: 'cast', absentConsents: false },
  { num: 2, den: 3, strict: false, base: 'cast', absentConsents: false },
  { num: 3, den: 4, strict: false, base: 'cast', absentConsents: false },
  { num: 1, den: 1, strict: false, base: 'cast', absentConsents: false },
  { num: 1, den: 2, strict: true, base: 'members', absentConsents: false },
  { num: 2, den: 3, strict: false, base: 'members', absentConsents: false },
  { num: 3, den: 4, strict: false, base: 'members', absentConsents: false },
  { num: 1, den: 1, strict: false, base: 'members', absentConsents: false },
  { num: 1, den: 1, strict: false, base: 'members', absentConsents: true },
];

export const VOTING_KINDS: readonly VotingKind[] = ['resolution', 'election', 'bylaws_change', 'purpose_change', 'dissolution'];
