import type { TFunction } from 'i18next';
import type { BylawsRules } from '../settings/settings.schemas.ts';
import { decideMajority, majorityRuleSchema, shareSymbol, type MajorityOutcome, type MajorityRule, type VotingKind } from './majority.ts';
import type { ResolutionAmendmentRow, ResolutionRow } from './assemblies.tables.ts';
import { bool } from './assemblies.model.ts';

/**
 * A recorded result and the majority it was decided by, in the words a board writes into the
 * minutes: "angenommen mit 9 von 12 abgegebenen Stimmen, erforderlich ¾ = 9". Pure: the day
 * service, the results page and the minutes mail all read a result through here.
 */

export interface Resolution {
  yes: number;
  no: number;
  abstain: number;
  invalid: number;
  absentConsents: number;
  note: string;
  adopted: boolean;
  outcome: MajorityOutcome;
  /** the votes present when it was recorded (null: recorded before they were kept) */
  votesPresent: number | null;
  /** whether the assembly was quorate when it was recorded */
  quorate: boolean | null;
  version: number;
  recordedAt: string;
}

export interface ResolutionAmendment {
  itemId: number;
  /** no result had been recorded before: this one was added after the minutes were sent */
  added: boolean;
  before: Record<string, number>;
  after: Record<string, number>;
  reason: string;
  actor: string;
  at: string;
}

/** The rule kept with a result, or (for one recorded before rules were kept) the current setting for its kind. */
function ruleOf(row: ResolutionRow, kind: VotingKind, rules: BylawsRules): MajorityRule {
  if (row.majority_rule) {
    const parsed = majorityRuleSchema.safeParse(JSON.parse(row.majority_rule));
    if (parsed.success) return parsed.data;
  }
  return rules.majorities[kind];
}

export function resolutionFrom(row: ResolutionRow, kind: VotingKind, rules: BylawsRules, votingMembersNow: number): Resolution {
  const counts = { yes: Number(row.yes_votes), no: Number(row.no_votes), abstain: Number(row.abstentions), invalid: Number(row.invalid_votes ?? 0) };
  const absentConsents = Number(row.absent_consents ?? 0);
  const outcome = decideMajority(ruleOf(row, kind, rules), counts, { votingMembers: row.voting_members == null ? votingMembersNow : Number(row.voting_members), absentConsents });
  return {
    ...counts, absentConsents, note: row.note, adopted: outcome.adopted, outcome,
    votesPresent: row.votes_present == null ? null : Number(row.votes_present), quorate: row.quorate == null ? null : bool(row.quorate),
    version: Number(row.version ?? 1), recordedAt: row.recorded_at,
  };
}

export function amendmentFrom(row: ResolutionAmendmentRow): ResolutionAmendment {
  const before = JSON.parse(row.before_values) as Record<string, number>; // why: written by DayService.recordResolution as such a record
  return {
    itemId: Number(row.agenda_item_id), added: !Object.keys(before).length, before,
    after: JSON.parse(row.after_values) as Record<string, number>, // why: as above
    reason: row.reason, actor: row.actor_label, at: row.created_at,
  };
}

/** A number as the language writes it, at most two decimals: 8,25 / 8.25. */
export function formatCount(n: number, locale: 'de' | 'en'): string {
  return new Intl.NumberFormat(locale === 'de' ? 'de-DE' : 'en-GB', { maximumFractionDigits: 2 }).format(n);
}

function share(t: TFunction, rule: Pick<MajorityRule, 'num' | 'den'>): string {
  return rule.num === rule.den ? t('assemblies.majority.all') : shareSymbol(rule);
}

/** The rule in words: "mindestens ¾ der abgegebenen Stimmen (Enthaltungen und ungültige Stimmen zählen nicht)". */
export function describeRule(t: TFunction, rule: MajorityRule): string {
  let words: string;
  if (rule.base === 'cast' && rule.strict && rule.num * 2 === rule.den) words = t('assemblies.majority.rule.simple');
  else if (rule.base === 'members' && rule.num === rule.den) words = t('assemblies.majority.rule.allMembers');
  else words = t(`assemblies.majority.rule.${rule.base}.${rule.strict ? 'gt' : 'ge'}`, { share: share(t, rule) });
  if (rule.base === 'cast') words += t('assemblies.majority.rule.notCounted');
  if (rule.base === 'members' && rule.absentConsents) words += t('assemblies.majority.rule.absentConsents');
  return words;
}

/** The outcome in words: "abgelehnt mit 8 von 11 abgegebenen Stimmen, erforderlich ¾ = 8,25". */
export function describeOutcome(t: TFunction, locale: 'de' | 'en', o: MajorityOutcome): string {
  const result = t(o.adopted ? 'assemblies.results.adopted' : 'assemblies.results.rejected');
  if (o.reason === 'no_votes_cast') return t('assemblies.majority.outcome.none', { result });
  const threshold = formatCount((o.baseCount * o.rule.num) / o.rule.den, locale);
  const required = t(`assemblies.majority.required.${o.rule.strict ? 'gt' : 'ge'}`, { share: share(t, o.rule), threshold });
  return t(`assemblies.majority.outcome.${o.rule.base}`, { result, inFavour: o.inFavour, base: o.baseCount, required });
}
