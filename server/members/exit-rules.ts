import { DateTime } from 'luxon';
import { ZONE } from '../clock.ts';

/**
 * The bylaws' exit rules as pure functions on calendar dates ('YYYY-MM-DD', Europe/Berlin).
 *
 * Convention used throughout the register: `exit_date` is the LAST day of membership. An
 * organisation is a member on day D when join_date <= D <= exit_date (or no exit date);
 * it is a former member from exit_date + 1 on.
 */

export interface NoticeRule {
  /** Notice period in months (bylaws; default 3). */
  terminationNoticeMonths: number;
  /** true: membership ends at the end of the calendar year in which the notice period ends;
   *  false: at the end of the month in which it ends. */
  terminationToYearEnd: boolean;
}

export type ExitReason = 'notice' | 'exclusion' | 'dissolution';
export type MemberStatus = 'active' | 'notice_given' | 'former';

/** What the board can do to a membership: record a notice, exclude, dissolve, withdraw a pending exit, reactivate. */
export type StatusAction = 'notice' | 'exclusion' | 'dissolution' | 'withdrawal' | 'reactivation';

/**
 * The status transitions of a membership: which actions each status allows (the first is the
 * form shown by default). active → notice_given | former (notice, exclusion, dissolution);
 * notice_given → active (withdrawal) | former (exclusion, dissolution, or the exit date passing);
 * former → active (reactivation).
 */
const TRANSITIONS: Record<MemberStatus, readonly StatusAction[]> = {
  active: ['notice', 'exclusion', 'dissolution'],
  notice_given: ['withdrawal', 'exclusion', 'dissolution'],
  former: ['reactivation'],
};

/** The actions a membership in `status` allows (none for an unknown status). */
export function statusActions(status: string): readonly StatusAction[] {
  return Object.hasOwn(TRANSITIONS, status) ? TRANSITIONS[status as MemberStatus] : []; // why: hasOwn checked the key
}

/** Whether `action` is allowed for a membership in `status`. */
export function mayTransition(status: string, action: StatusAction): boolean {
  return statusActions(status).includes(action);
}

function day(d: string): DateTime {
  const dt = DateTime.fromISO(d, { zone: ZONE });
  if (!dt.isValid || !/^\d{4}-\d{2}-\d{2}$/.test(d)) throw new RangeError(`not a calendar date: ${d}`);
  return dt.startOf('day');
}

/** True for a real calendar date in the form YYYY-MM-DD (2027-02-29 is not one). */
export function isCalendarDate(s: unknown): s is string {
  if (typeof s !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const dt = DateTime.fromISO(s, { zone: ZONE });
  return dt.isValid && dt.toISODate() === s;
}

export function addDays(d: string, n: number): string {
  return day(d).plus({ days: n }).toISODate()!;
}

/**
 * The day the notice period ends (§ 188 Abs. 2, 3 BGB): the day of the month that matches the
 * day of receipt, n months later; if that month is shorter, its last day
 * (received 30.11.2027 + 3 months → 29.02.2028; 31.01.2026 + 1 month → 28.02.2026).
 */
export function noticePeriodEnd(received: string, months: number): string {
  return day(received).plus({ months }).toISODate()!;
}

/**
 * The last day of membership after a notice of termination received on `received`.
 * With 3 months to the end of the year: received 30.09.2026 → period ends 30.12.2026 →
 * 31.12.2026; received 01.10.2026 → period ends 01.01.2027 → 31.12.2027.
 * To the end of a month: received 15.01.2026 → period ends 15.04.2026 → 30.04.2026.
 */
export function noticeExitDate(received: string, rule: NoticeRule): string {
  const end = day(noticePeriodEnd(received, Math.max(0, Math.trunc(rule.terminationNoticeMonths))));
  return (rule.terminationToYearEnd ? end.endOf('year') : end.endOf('month')).toISODate()!;
}

/** The last possible day for a notice to still end membership on `exitDate` (for hints). */
export function lastNoticeDayFor(exitDate: string, rule: NoticeRule): string {
  // Walk back from the exit date to the latest receipt date whose exit date is not later
  // (at most a few hundred steps: the notice period in days).
  let d = day(exitDate);
  while (noticeExitDate(d.toISODate()!, rule) > exitDate) d = d.minus({ days: 1 });
  return d.toISODate()!;
}

/**
 * Exclusion by board resolution or dissolution of the firm take effect on `effective`: from
 * that day on the organisation is no longer a member, so the last day of membership is the
 * day before.
 */
export function exitDateFromEffective(effective: string): string {
  return addDays(effective, -1);
}

/** The status an organisation with this exit date has on `today`. */
export function statusForExit(exitDate: string, today: string): Exclude<MemberStatus, 'active'> {
  return exitDate < today ? 'former' : 'notice_given';
}

/** The first day as a former member (effective date of the status change to 'former'). */
export function formerFrom(exitDate: string): string {
  return addDays(exitDate, 1);
}
