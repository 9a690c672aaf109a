import type { BylawsRules } from '../settings/settings.schemas.ts';

/**
 * How many members must support a demand for a general assembly (§ 37 Abs. 1 BGB): the share of
 * the members the bylaws name (the BGB's default: the tenth part, 10 %), or a fixed number the
 * bylaws name instead. Counted against the members of today: members joining raise it, members
 * leaving lower it, and a supporter that has left no longer counts.
 */

export type ThresholdRule = Pick<BylawsRules, 'minorityDemandBasis' | 'minorityDemandPercent' | 'minorityDemandCount'>;

export const BGB_THRESHOLD: ThresholdRule = { minorityDemandBasis: 'share', minorityDemandPercent: 10, minorityDemandCount: 10 };

export interface Progress {
  /** members today */
  members: number;
  /** supporters needed: a share of `members` rounded up (10 % of 25 = 2.5 → 3), or the bylaws' number */
  required: number;
  /** supporting organisations that are members today */
  supporters: number;
  /** how many more are needed (0 once reached) */
  missing: number;
  reached: boolean;
}

/** The supporters needed: at least one, a share rounded up in whole members (integer arithmetic, no float error). */
export function requiredSupporters(members: number, rule: ThresholdRule): number {
  if (rule.minorityDemandBasis === 'count') return Math.max(1, rule.minorityDemandCount);
  const m = Math.max(0, Math.floor(members));
  return Math.max(1, Math.ceil((m * rule.minorityDemandPercent) / 100));
}

/** Where a demand stands: `supporters` are the supporting organisations that are members today. */
export function progress(members: number, supporters: number, rule: ThresholdRule): Progress {
  const required = requiredSupporters(members, rule);
  const missing = Math.max(0, required - supporters);
  return { members, required, supporters, missing, reached: missing === 0 };
}

/** The rule in words (i18n key and values), for the settings page, the board's and the members' pages. */
export function thresholdWords(rule: ThresholdRule): { key: string; values: Record<string, number> } {
  if (rule.minorityDemandBasis === 'count') return { key: 'demands.rule.count', values: { count: rule.minorityDemandCount } };
  if (rule.minorityDemandPercent === 10) return { key: 'demands.rule.bgb', values: { percent: 10 } };
  return { key: 'demands.rule.share', values: { percent: rule.minorityDemandPercent } };
}
