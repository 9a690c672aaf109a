import { DateTime } from 'luxon';
import { ZONE } from '../clock.ts';
import type { Locale } from './i18n.ts';

const intlLocale = (l: Locale) => (l === 'en' ? 'en-GB' : 'de-DE');

/** 1.234,56 € (de) / €1,234.56 (en) from integer cents. */
export function formatMoney(cents: number, locale: Locale = 'de'): string {
  return (locale === 'en' ? moneyEn : moneyDe).format(cents / 100);
}
// building a NumberFormat takes longer than using it many times
const moneyDe = new Intl.NumberFormat(intlLocale('de'), { style: 'currency', currency: 'EUR' });
const moneyEn = new Intl.NumberFormat(intlLocale('en'), { style: 'currency', currency: 'EUR' });

/** A quantity in thousandths as Germans write it: 1500 → 1,5 (de) / 1.5 (en). */
export function formatQuantity(milli: number, locale: Locale = 'de'): string {
  return (milli / 1000).toLocaleString(intlLocale(locale), { maximumFractionDigits: 3 });
}

const CALENDAR_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** 24.11.2026 (de) / 24/11/2026 (en) from a YYYY-MM-DD date or an instant (shown in Europe/Berlin). */
export function formatDate(value: string | Date | null | undefined, locale: Locale = 'de'): string {
  if (!value) return '';
  // a calendar date needs no time zone: 2026-11-24 → 24.11.2026 without luxon (hot path in lists)
  if (typeof value === 'string' && value.length === 10 && CALENDAR_DATE.test(value)) {
    const y = value.slice(0, 4), m = value.slice(5, 7), d = value.slice(8, 10);
    return locale === 'en' ? `${d}/${m}/${y}` : `${d}.${m}.${y}`;
  }
  const dt = typeof value === 'string'
    ? value.length === 10 ? DateTime.fromISO(value, { zone: ZONE }) : DateTime.fromISO(value, { zone: 'utc' }).setZone(ZONE)
    : DateTime.fromJSDate(value, { zone: ZONE });
  if (!dt.isValid) return '';
  return locale === 'en' ? dt.toFormat('dd/MM/yyyy') : dt.toFormat('dd.MM.yyyy');
}

/** 24.11.2026, 14:05 Uhr — an instant in Europe/Berlin. */
export function formatDateTime(value: string | Date | null | undefined, locale: Locale = 'de'): string {
  if (!value) return '';
  const dt = typeof value === 'string' ? DateTime.fromISO(value, { zone: 'utc' }).setZone(ZONE) : DateTime.fromJSDate(value, { zone: ZONE });
  if (!dt.isValid) return '';
  return locale === 'en' ? dt.toFormat('dd/MM/yyyy, HH:mm') : dt.toFormat("dd.MM.yyyy, HH:mm 'Uhr'");
}

export function formatMemberNumber(n: number | null | undefined): string {
  return n == null ? '' : `M-${String(n).padStart(4, '0')}`;
}
