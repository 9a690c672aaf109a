import { DateTime } from 'luxon';
import { ZONE } from '../clock.ts';

/**
 * Date rules of the bylaws for an assembly, as pure functions of calendar dates in
 * Europe/Berlin (computed with luxon on calendar days, so a change to or from summer
 * time never shifts a day).
 *
 * Notice period (Einladungsfrist) — our reading of "N days, counted from the day after
 * sending": an invitation sent on day S starts the period on S+1; the period covers the
 * N days S+1 … S+N, and the assembly must take place after the period has ended, i.e. on
 * S+N+1 or later. Hence, for an assembly on day A:
 *
 *     last day to send = A − N − 1
 *
 * Example: N = 14, assembly on Saturday 2026-12-19 → period must be 2026-12-05 … 2026-12-18
 * → the invitation must go out on 2026-12-04 at the latest. Sending on that day is in time,
 * sending on the next day is late. N = 0 means: sent the day before the assembly at the latest.
 * The assembly day is the Berlin calendar day of its start (an assembly at 00:30 on
 * 1 January starts on 1 January, although that instant is still 31 December in UTC).
 *
 * Motion deadline (Antragsfrist): motions must reach the board M days before the assembly,
 * i.e. on A − M at the latest (the whole of that day, Berlin time).
 */

/** The Berlin calendar day (YYYY-MM-DD) of an instant (UTC ISO string or Date). */
export function berlinDay(instant: string | Date): string {
  const dt = typeof instant === 'string' ? DateTime.fromISO(instant, { zone: 'utc' }) : DateTime.fromJSDate(instant, { zone: 'utc' });
  return dt.setZone(ZONE).toISODate()!;
}

function minusDays(day: string, n: number): string {
  return DateTime.fromISO(day, { zone: ZONE }).minus({ days: n }).toISODate()!;
}

/** The last calendar day on which the invitation may be sent (see the interpretation above). */
export function lastSendDay(assemblyStartsAt: string | Date, noticeDays: number): string {
  return minusDays(berlinDay(assemblyStartsAt), noticeDays + 1);
}

/** Whether sending on `now` keeps the notice period. */
export function isInTime(assemblyStartsAt: string | Date, noticeDays: number, now: Date): boolean {
  return berlinDay(now) <= lastSendDay(assemblyStartsAt, noticeDays);
}

/** The last day on which a motion may be submitted. */
export function motionDeadline(assemblyStartsAt: string | Date, motionDeadlineDays: number): string {
  return minusDays(berlinDay(assemblyStartsAt), motionDeadlineDays);
}

export function motionsOpen(assemblyStartsAt: string | Date, motionDeadlineDays: number, now: Date): boolean {
  return berlinDay(now) <= motionDeadline(assemblyStartsAt, motionDeadlineDays);
}

/**
 * When a personal link stops working: at the end of the assembly's day (midnight Berlin time
 * after the day the assembly starts on). Answers themselves close when the assembly starts.
 */
export function linkExpiresAt(assemblyStartsAt: string | Date): string {
  return DateTime.fromISO(berlinDay(assemblyStartsAt), { zone: ZONE }).plus({ days: 1 }).toUTC().toISO({ suppressMilliseconds: false })!;
}

/** The UTC instant of a Berlin wall-clock date and time ('YYYY-MM-DD', 'HH:MM'); undefined if invalid. */
export function berlinToUtc(date: string, time: string): string | undefined {
  const dt = DateTime.fromISO(`${date}T${time}`, { zone: ZONE });
  if (!dt.isValid) return undefined;
  return dt.toUTC().toISO()!;
}

/** Berlin wall-clock date and time of an instant, for form fields. */
export function utcToBerlin(instant: string): { date: string; time: string } {
  const dt = DateTime.fromISO(instant, { zone: 'utc' }).setZone(ZONE);
  return { date: dt.toISODate()!, time: dt.toFormat('HH:mm') };
}

/** Days from `today` to `day` (negative when `day` is past). */
export function daysUntil(day: string, now: Date): number {
  const a = DateTime.fromISO(berlinDay(now), { zone: ZONE });
  const b = DateTime.fromISO(day, { zone: ZONE });
  return Math.round(b.diff(a, 'days').days);
}

/* h/notice: notice for every change after the invitation (issue 10, item 3) */

/**
 * What is sent after the invitation and must keep a period of the bylaws:
 * - `invitation`: the invitation itself (invitation notice);
 * - `update`: a change of date, time, place or format told to everyone invited — it calls the
 *   members to the changed assembly, so the invitation notice runs again against the new date;
 * - `supplement`: the supplementary agenda (Ergänzung der Tagesordnung) and
 * - `item`: a new agenda item added after the invitation — both the supplementary-agenda period
 *   (settings; unless the bylaws set their own, the invitation notice: a subject must be named when the
 *   assembly is called, § 32 Abs. 1 S. 2 BGB).
 * Every period is counted like the invitation notice: from the day after sending, the assembly
 * after its end (last day = assembly day − N − 1, calendar days in Europe/Berlin).
 */
export type NoticeChange = 'invitation' | 'update' | 'supplement' | 'item';

export interface NoticeRules {
  invitationNoticeDays: number;
  /** whether the bylaws set a period of their own for supplements; if not, the invitation notice applies */
  supplementNoticeOwn: boolean;
  supplementNoticeDays: number;
}

export interface ChangeNotice {
  change: NoticeChange;
  noticeDays: number;
  /** whether the period is the invitation's (the supplement period is not set on its own) */
  sameAsInvitation: boolean;
  lastSendDay: string;
  today: string;
  inTime: boolean;
  /** days from today to the last day (0: today is the last day; negative: late) */
  daysLeft: number;
}

/** The period in days that applies to a kind of change. */
export function noticeDaysFor(change: NoticeChange, rules: NoticeRules): number {
  if ((change === 'supplement' || change === 'item') && rules.supplementNoticeOwn) return rules.supplementNoticeDays;
  return rules.invitationNoticeDays;
}

/** The last permitted sending day of a change for an assembly starting at `assemblyStartsAt`, and whether `now` keeps it. */
export function changeNotice(change: NoticeChange, assemblyStartsAt: string | Date, rules: NoticeRules, now: Date): ChangeNotice {
  const noticeDays = noticeDaysFor(change, rules);
  const last = lastSendDay(assemblyStartsAt, noticeDays);
  const today = berlinDay(now);
  return {
    change, noticeDays, sameAsInvitation: change === 'invitation' || change === 'update' || !rules.supplementNoticeOwn,
    lastSendDay: last, today, inTime: today <= last, daysLeft: daysUntil(last, now),
  };
}
