import { DateTime } from 'luxon';
import { feeFor } from '../settings/settings.service.ts';
import type { FeeRule } from '../settings/settings.schemas.ts';

/** Pure fee rules: the annual fee of a category for a member, and the pro-rata share of joiners. */

export type ProRataRule = 'monthly' | 'full_year';

/** a × n / d in integer cents, rounded half up to the cent (for a ≥ 0). */
export function mulDivRoundHalfUp(a: number, n: number, d: number): number {
  if (!Number.isSafeInteger(a) || !Number.isSafeInteger(n) || !Number.isSafeInteger(d) || d <= 0) throw new RangeError('integers expected');
  const sign = a < 0 ? -1 : 1;
  const x = Math.abs(a) * n;
  return sign * Math.floor((2 * x + d) / (2 * d));
}

export interface DuesAmount {
  /** The amount to invoice in cents. */
  amountCents: number;
  /** The full annual fee of the category. */
  annualCents: number;
  /** Months billed (12 unless pro-rata). */
  months: number;
  periodStart: string; // YYYY-MM-DD
  periodEnd: string;
  proRata: boolean;
}

/**
 * The dues of one member for a year. Joined before the year: the full annual fee. Joined in
 * the year under the 'monthly' rule: the remaining months including the month of joining
 * (joined 1 or 31 January → 12/12; any day in December → 1/12), rounded half up to the cent;
 * under 'full_year': the full fee. The period starts on the join date (not on the first of its
 * month). Returns null when the member did not belong in that year
 * (joined after it).
 */
export function duesFor(rule: FeeRule, employeeBand: string, joinDate: string, year: number, proRata: ProRataRule): DuesAmount | null {
  const annual = feeFor(rule, employeeBand);
  const start = `${year}-01-01`;
  const end = `${year}-12-31`;
  const join = DateTime.fromISO(joinDate);
  if (!join.isValid) throw new RangeError(`invalid join date ${joinDate}`);
  if (join.year > year) return null;
  if (join.year < year) {
    return { amountCents: annual, annualCents: annual, months: 12, periodStart: start, periodEnd: end, proRata: false };
  }
  // h/money: joined in the year: the period billed starts on the join date itself, never before
  // it (joined 02.12. → 02.12.–31.12.); the months counted include the month of joining
  if (proRata === 'full_year') {
    return { amountCents: annual, annualCents: annual, months: 12, periodStart: join.toISODate()!, periodEnd: end, proRata: false };
  }
  const months = 12 - join.month + 1;
  const amount = months === 12 ? annual : mulDivRoundHalfUp(annual, months, 12);
  return {
    amountCents: amount,
    annualCents: annual,
    months,
    periodStart: join.toISODate()!,
    periodEnd: end,
    proRata: months < 12,
  };
}
