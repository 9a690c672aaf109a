import { AsyncLocalStorage } from 'node:async_hooks';
import { DateTime } from 'luxon';
import { z } from 'zod';
import type { RequestHandler } from 'express';
import { ZONE, systemClock, type Clock } from '../clock.ts';
import { parseEuroToCents } from '../settings/money.ts';

/**
 * h/harden2: the bounds of every date, year and money field, in one place. Each form's schema
 * takes its fields from here, with the bound that fits the field's meaning; the messages are
 * i18n keys (input.json) that parseForm() shows next to the field, keeping what was typed.
 */

/** The highest amount any form accepts: 1.000.000,00 € (a fee, a payment, a refund). */
export const MONEY_MAX_CENTS = 100_000_000;
/** No date or year before this one makes sense anywhere in the association's records. */
export const EARLIEST_YEAR = 1900;

/** The clock of the running app, for "today" in the bounds (tests move it; see formsClock). */
const clockStore = new AsyncLocalStorage<Clock>();

/** Mounted once in app.ts: the bounds below measure "today" by the app's clock, not the machine's. */
export function formsClock(clock: Clock): RequestHandler {
  return (_req, _res, next) => clockStore.run(clock, next);
}

/** Today in Europe/Berlin by the app's clock (outside a request: the system clock). */
export function formsToday(): DateTime {
  return DateTime.fromJSDate((clockStore.getStore() ?? systemClock).now(), { zone: ZONE }).startOf('day');
}

export interface DateBounds {
  /** the earliest year that makes sense for this field (default 1900) */
  earliestYear?: number;
  /**
   * how many years after today the date may lie at most; 0: today at the latest; left out where
   * the service refuses a future date with its own words (a payment, a notice)
   */
  yearsAhead?: number;
  /** how many years before today the date may lie at most (default: back to earliestYear) */
  yearsBack?: number;
}

/** A real calendar date typed as 2027-03-15 (date input) or 15.03.2027; null for 2027-02-30 and the like. */
export function readCalendarDate(s: string): DateTime | null {
  const t = s.trim();
  let dt: DateTime;
  if (/^\d{4}-\d{2}-\d{2}$/.test(t)) {
    dt = DateTime.fromISO(t, { zone: ZONE });
    if (dt.isValid && dt.toISODate() !== t) return null;
  } else if (/^\d{1,2}\.\d{1,2}\.\d{4}$/.test(t)) {
    dt = DateTime.fromFormat(t, 'd.M.yyyy', { zone: ZONE });
  } else {
    return null;
  }
  return dt.isValid ? dt : null;
}

/** Why a date lies outside its bounds (an i18n key and its values), or null when it fits. */
export function dateOutOfBounds(dt: DateTime, b: DateBounds): { message: string; params: Record<string, number> } | null {
  const today = formsToday();
  const earliestYear = Math.max(b.earliestYear ?? EARLIEST_YEAR, b.yearsBack === undefined ? EARLIEST_YEAR : today.year - b.yearsBack);
  if (dt.year < earliestYear) return { message: 'input.date.tooEarly', params: { year: earliestYear } };
  if (b.yearsAhead === undefined) return null;
  if (b.yearsAhead === 0 && dt > today) return { message: 'input.date.future', params: {} };
  if (dt > today.plus({ years: b.yearsAhead })) return { message: 'input.date.tooLate', params: { count: b.yearsAhead } };
  return null;
}

/**
 * A date field with its bounds, returned as YYYY-MM-DD. An empty field gets the message
 * `required` (the form's own words); with required false it gives ''.
 */
export function dateField(b: DateBounds, required: string | false = 'common.validation.required') {
  return z.preprocess((v) => (typeof v === 'string' ? v : ''), z.string()).transform((raw, ctx) => {
    const s = raw.trim();
    if (!s) {
      if (required) ctx.addIssue({ code: 'custom', message: required });
      return '';
    }
    const dt = readCalendarDate(s);
    if (!dt) {
      ctx.addIssue({ code: 'custom', message: 'input.date.invalid' });
      return z.NEVER;
    }
    const out = dateOutOfBounds(dt, b);
    if (out) {
      ctx.addIssue({ code: 'custom', message: out.message, params: out.params });
      return z.NEVER;
    }
    return dt.toISODate()!;
  });
}

/** A year (dues, an invoice) from 2000 to this year plus yearsAhead. */
export function yearField(yearsAhead = 1) {
  return z.preprocess((v) => (typeof v === 'string' ? v.trim() : v), z.union([z.string(), z.number()])).transform((raw, ctx) => {
    const s = String(raw);
    const max = formsToday().year + yearsAhead;
    if (!/^\d{4}$/.test(s) || Number(s) < 2000 || Number(s) > max) {
      ctx.addIssue({ code: 'custom', message: 'input.year.range', params: { min: 2000, max } });
      return z.NEVER;
    }
    return Number(s);
  });
}

/** Why a typed amount is refused (an i18n key), or its cents. */
export function readAmount(raw: string, opts: { allowZero?: boolean; unbounded?: boolean } = {}): { cents: number } | { message: string } {
  const s = raw.trim();
  if (!s) return { message: 'common.validation.required' };
  if (/^[-−–]/.test(s)) return { message: 'input.money.negative' };
  // a third decimal is a typing error, said so (not "not an amount")
  if (/^[\d.]*\d,\d{3,}\s*€?$/.test(s) || (/^\d+\.\d{3,}\s*€?$/.test(s) && !/^\d{1,3}(\.\d{3})+$/.test(s))) return { message: 'money.errors.cents' };
  const cents = parseEuroToCents(s);
  if (cents === null) return { message: /^[\d.\s]{16,}/.test(s) ? 'input.money.tooLarge' : 'common.validation.money' };
  if (cents > MONEY_MAX_CENTS && !opts.unbounded) return { message: 'input.money.tooLarge' };
  if (cents === 0 && !opts.allowZero) return { message: 'input.money.zero' };
  return { cents };
}

/**
 * A money field: German amount, at most two decimals, more than 0 € (or 0 € with allowZero), at
 * most 1.000.000,00 € unless the service bounds it more closely in its own words (unbounded: true,
 * e.g. a payment: twice the invoice); even then more than twelve digits are "too high".
 */
export function moneyField(opts: { allowZero?: boolean; unbounded?: boolean } = {}) {
  return z.preprocess((v) => (typeof v === 'string' ? v : ''), z.string()).transform((raw, ctx) => {
    const r = readAmount(raw, opts);
    if ('message' in r) {
      ctx.addIssue({ code: 'custom', message: r.message });
      return z.NEVER;
    }
    return r.cents;
  });
}
