import { DateTime } from 'luxon';

export const ZONE = 'Europe/Berlin';

/** The injected clock: every rule that depends on "now" asks it, so tests move time instead of sleeping. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock for tests that can be set and advanced. */
export class FixedClock implements Clock {
  private t: number;
  constructor(start: Date | string = '2026-11-25T09:00:00Z') {
    this.t = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.t);
  }
  set(d: Date | string): void {
    this.t = new Date(d).getTime();
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/** UTC ISO instant, the storage format for points in time. */
export function iso(d: Date): string {
  return d.toISOString();
}

/** The calendar date (YYYY-MM-DD) in Europe/Berlin of an instant. */
export function berlinDate(d: Date): string {
  return DateTime.fromJSDate(d, { zone: ZONE }).toISODate()!;
}

export function addMs(d: Date, ms: number): Date {
  return new Date(d.getTime() + ms);
}
export const DAY_MS = 86_400_000;
