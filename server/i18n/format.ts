import { DateTime } from 'luxon';
import { ZONE } from '../clock.ts';
import type { Locale } from './i18n.ts';

const intlLocale = (l: Locale) => (l === 'en' ? 'en-GB' : 'de-DE');

/** 1.234,56 € (de) / €1,234.56 (en) from integer cents. */
export function formatMoney(cents: number, locale: Locale = 'de'): string {
  return new Intl.NumberFormat(intlLocale(locale), { style: 'currency', currency: 'EUR' }).format(cents / 100);
}

/** 24.11.2026 (de) / 24/11/2026 (en) from a YYYY-MM-DD date or an instant (shown in Europe/Berlin). */
export function formatDate(value: string | Date | null | undefined, locale: Locale = 'de'): string {
  if (!value) return '';
  // a calendar date needs no time zone: 2026-11-24 → 24.11.2026 without luxon (hot path in lists)
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const [y, m, d] = value.split('-');
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
