import type { TFunction } from 'i18next';
import type { BylawsRules } from '../settings/settings.schemas.ts';
import { decideMajority, majorityRuleSchema, shareSymbol, type MajorityOutcome, type MajorityRule, type VotingKind } from './majority.ts';
import type { ResolutionAmendmentRow, ResolutionRow } from './assemblies.tables.ts';
import { bool } from './assemblies.model.ts';
import { decideElection, electionRulesSchema, type ElectionBallot, type ElectionDecision, type ElectionRules } from './election.ts';

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
  /** h/minutes: an election recorded per candidate: the ballot and who it elected under the rules that applied */
  election?: { ballot: ElectionBallot; decision: ElectionDecision; rules: ElectionRules };
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
  /** h/minutes: when it went out with corrected minutes (null: not yet) */
  sentAt: string | null;
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
  const election = kind === 'election' ? electionOf(row, outcome.rule, rules, row.voting_members == null ? votingMembersNow : Number(row.voting_members)) : undefined;
  return {
    ...counts, absentConsents, note: row.note, adopted: election ? election.decision.outcome.kind === 'elected' : outcome.adopted, outcome, election,
    votesPresent: row.votes_present == null ? null : Number(row.votes_present), quorate: row.quorate == null ? null : bool(row.quorate),
    version: Number(row.version ?? 1), recordedAt: row.recorded_at,
  };
}

/** h/minutes: the ballot kept with an election's result, decided again under the rules kept with it. */
function electionOf(row: ResolutionRow, rule: MajorityRule, rules: BylawsRules, votingMembers: number): Resolution['election'] {
  if (!row.candidates) return undefined;
  const stored = JSON.parse(row.candidates) as ElectionBallot & { rules?: unknown }; // why: written by DayService.recordResolution from an ElectionBallot and the rules
  const parsed = electionRulesSchema.safeParse(stored.rules);
  const r = parsed.success ? parsed.data : rules.elections;
  const ballot: ElectionBallot = { round: stored.round === 2 ? 2 : 1, candidates: stored.candidates, no: stored.no, abstain: stored.abstain, invalid: stored.invalid, lotWinner: stored.lotWinner };
  return { ballot, decision: decideElection(rule, r, ballot, votingMembers), rules: r };
}

export function amendmentFrom(row: ResolutionAmendmentRow): ResolutionAmendment {
  const before = JSON.parse(row.before_values) as Record<string, number>; // why: written by DayService.recordResolution as such a record
  return {
    itemId: Number(row.agenda_item_id), added: !Object.keys(before).length, before,
    after: JSON.parse(row.after_values) as Record<string, number>, // why: as above
    reason: row.reason, actor: row.actor_label, at: row.created_at, sentAt: row.sent_at ?? null,
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

/* h/minutes: elections, a result per candidate and the run-off rule in words */

function names(t: TFunction, list: string[]): string {
  return list.length <= 1 ? list.join('') : `${list.slice(0, -1).join(', ')} ${t('elections.outcome.and')} ${list[list.length - 1]}`;
}

/** The election's rule in words: "gewählt ist, wer mehr als ½ der abgegebenen Stimmen erhält; sonst Stichwahl …; bei Stimmengleichheit entscheidet das Los". */
export function describeElectionRule(t: TFunction, rule: MajorityRule, rules: ElectionRules): string {
  const simple = rule.base === 'cast' && rule.strict && rule.num * 2 === rule.den;
  const parts = [simple ? t('elections.rule.simple') : t('elections.rule.majority', { majority: describeRule(t, rule).split(';')[0] }), t(`elections.rule.runoff.${rules.runoff}`)];
  if (rules.runoff !== 'repeat') parts.push(t(`elections.rule.tie.${rules.tie}`));
  return parts.join('; ');
}

/** An election's outcome in words: "A gewählt mit 7 von 12 abgegebenen Stimmen" / "keine Mehrheit – Stichwahl zwischen A und B". */
export function describeElection(t: TFunction, locale: 'de' | 'en', d: ElectionDecision, round: 1 | 2): string {
  const o = d.outcome;
  const threshold = formatCount((d.cast * d.rule.num) / d.rule.den, locale);
  const required = t(`assemblies.majority.required.${d.rule.strict ? 'gt' : 'ge'}`, { share: share(t, d.rule), threshold });
  switch (o.kind) {
    case 'elected':
      if (o.by === 'lot') return t('elections.outcome.electedLot', { name: o.winner, others: names(t, o.tiedWith), votes: o.votes, cast: o.cast });
      if (o.by === 'relative') return t('elections.outcome.electedRelative', { name: o.winner, votes: o.votes, cast: o.cast, round: t(`elections.outcome.round.${round}`) });
      return t('elections.outcome.elected', { name: o.winner, votes: o.votes, cast: o.cast, required });
    case 'runoff':
      return t('elections.outcome.runoff', { best: d.best, cast: o.cast, required, between: names(t, o.between) });
    case 'second_round':
      return t('elections.outcome.secondRound', { best: d.best, cast: o.cast, required });
    case 'not_elected':
      return o.relative ? t('elections.outcome.notElectedRelative') : t('elections.outcome.notElected', { best: d.best, cast: o.cast, required });
    case 'tie':
      return t(o.lot ? 'elections.outcome.tieLot' : 'elections.outcome.tieRepeat', { between: names(t, o.between), votes: o.votes });
    case 'no_votes':
      return t('elections.outcome.none');
  }
}

/** h/minutes: a result's outcome in words, an election per candidate. */
export function describeResult(t: TFunction, locale: 'de' | 'en', r: Resolution): string {
  return r.election ? describeElection(t, locale, r.election.decision, r.election.ballot.round) : describeOutcome(t, locale, r.outcome);
}

/** h/minutes: the votes per candidate: "Anna Berg 7, Bernd Christ 5". */
export function candidateVotes(r: Resolution): string {
  return r.election ? r.election.ballot.candidates.map((c) => `${c.name} ${c.votes}`).join(', ') : '';
}
