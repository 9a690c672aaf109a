import { DateTime } from 'luxon';
import { electronicFormatIBAN, isSEPACountry, isValidBIC, isValidIBAN } from 'ibantools';
import { ZONE } from '../clock.ts';
import type { MandateScheme, SequenceType } from './sepa.tables.ts';

/**
 * The rules of SEPA direct debits that do not need the database: IBAN and BIC, the SEPA
 * character set and field lengths (DFÜ-Abkommen Anlage 3), the mandate's 36 months, FRST/RCUR,
 * TARGET2 business days and the earliest due date.
 */

/** The IBAN in electronic form (no spaces, upper case), or null when it is not a valid IBAN of a SEPA country. */
export function sepaIban(input: string): string | null {
  const iban = electronicFormatIBAN(input.trim());
  if (!iban || !isValidIBAN(iban)) return null;
  return isSEPACountry(iban.slice(0, 2)) ? iban : null;
}

/**
 * ISO 20022 BICIdentifier (the BIC of pain.008.001.02): the location code does not start with
 * 0 or 1 and its second character is not the letter O. ibantools' check lets these through.
 */
const BIC_PATTERN = /^[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?$/;

/** An empty BIC is allowed (IBAN-only, SEPA since 2016); otherwise it must be a valid BIC (8 or 11 characters). */
export function sepaBic(input: string): string | null {
  const bic = input.replace(/\s+/g, '').toUpperCase();
  if (bic === '') return '';
  return isValidBIC(bic) && BIC_PATTERN.test(bic) ? bic : null;
}

const UMLAUTS: Record<string, string> = { ä: 'ae', ö: 'oe', ü: 'ue', Ä: 'Ae', Ö: 'Oe', Ü: 'Ue', ß: 'ss', ẞ: 'SS', æ: 'ae', Æ: 'AE', ø: 'o', Ø: 'O', œ: 'oe', Œ: 'OE', ł: 'l', Ł: 'L', đ: 'd', Đ: 'D', þ: 'th', Þ: 'TH', '&': '+' };

/** Characters of the SEPA basic Latin set (EPC: a–z A–Z 0–9 / - ? : ( ) . , ' + space). */
export const SEPA_ALLOWED = /^[A-Za-z0-9/\-?:().,'+ ]*$/;

/**
 * A text in the SEPA character set: umlauts and ß spelt out (ä → ae), other accents dropped
 * (é → e), & as +, any other character as a space; spaces collapsed, cut to `max` characters.
 */
export function sepaText(input: string, max: number): string {
  if (SEPA_ALLOWED.test(input)) return input.replace(/\s+/g, ' ').trim().slice(0, max).trim(); // most texts: nothing to replace
  let out = '';
  for (const ch of input) {
    const mapped = UMLAUTS[ch];
    if (mapped !== undefined) { out += mapped; continue; }
    const base = ch.normalize('NFD').replace(/[\u0300-\u036f]/g, '');
    out += SEPA_ALLOWED.test(base) ? base : ' ';
  }
  return out.replace(/\s+/g, ' ').trim().slice(0, max).trim();
}

/** Mandate references and end-to-end ids: the SEPA set without spaces, at most 35 characters. */
export function sepaId(input: string): string {
  return sepaText(input, 200).replace(/ /g, '').slice(0, 35);
}

/**
 * A mandate reference as typed on the paper form: 1 to 35 characters of the SEPA set without
 * spaces, and (EPC rule for references and identifiers) no "/" first or last and no "//". It
 * goes into the pain.008 unchanged (the debtor signed it), so it is refused rather than mended.
 */
export function isMandateReference(s: string): boolean {
  return s.length >= 1 && s.length <= LENGTH.mandateId && /^[A-Za-z0-9+?\-:().,']+(\/[A-Za-z0-9+?\-:().,']+)*$/.test(s);
}

/** The field lengths the pain.008 allows (Max70Text, Max140Text, Max35Text). */
export const LENGTH = { name: 70, remittance: 140, endToEndId: 35, mandateId: 35, msgId: 35 } as const;

/** SEPA rulebook: a mandate not used for 36 months after its last collection (or, never used, after its signature) expires. */
export const MANDATE_EXPIRY_MONTHS = 36;

/** The last due date a collection may still have under the mandate (inclusive). */
export function mandateValidUntil(m: { signedOn: string; lastUsedOn: string | null }): string {
  const from = m.lastUsedOn ?? m.signedOn;
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(from);
  // a calendar date: 36 months on, the day kept or the month's last day (31 May → 31 May, 29 Feb → 28 Feb), as luxon's plus({ months }) does, without a DateTime per mandate
  if (d && Number(d[2]) >= 1 && Number(d[2]) <= 12) {
    const total = Number(d[1]) * 12 + Number(d[2]) - 1 + MANDATE_EXPIRY_MONTHS;
    const year = Math.floor(total / 12);
    const month = (total % 12) + 1;
    const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
    const day = Math.min(Number(d[3]), last);
    if (Number(d[3]) >= 1 && Number(d[3]) <= 31) return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
  }
  return DateTime.fromISO(from, { zone: ZONE }).plus({ months: MANDATE_EXPIRY_MONTHS }).toISODate()!;
}

export function mandateExpiredOn(m: { signedOn: string; lastUsedOn: string | null }, date: string): boolean {
  return date > mandateValidUntil(m);
}

/** FRST for a mandate's first collection, RCUR afterwards (a return of a FRST debit leaves the next one FRST again). */
export function sequenceOf(m: { firstUsed: boolean }): SequenceType {
  return m.firstUsed ? 'RCUR' : 'FRST';
}

/** Easter Sunday (Gregorian, anonymous algorithm). */
function easter(year: number): DateTime {
  const a = year % 19, b = Math.floor(year / 100), c = year % 100, d = Math.floor(b / 4), e = b % 4;
  const f = Math.floor((b + 8) / 25), g = Math.floor((b - f + 1) / 3), h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4), k = c % 4, l = (32 + 2 * e + 2 * i - h - k) % 7, m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31), day = ((h + l - 7 * m + 114) % 31) + 1;
  return DateTime.fromObject({ year, month, day }, { zone: ZONE });
}

/** A TARGET2 business day: not Saturday, Sunday, 1 January, Good Friday, Easter Monday, 1 May, 25 and 26 December. */
export function isTargetDay(date: string): boolean {
  const d = DateTime.fromISO(date, { zone: ZONE });
  if (d.weekday >= 6) return false;
  const md = d.toFormat('MM-dd');
  if (md === '01-01' || md === '05-01' || md === '12-25' || md === '12-26') return false;
  const e = easter(d.year);
  const iso = d.toISODate();
  return iso !== e.minus({ days: 2 }).toISODate() && iso !== e.plus({ days: 1 }).toISODate();
}

/** The date `n` TARGET2 business days after `date`. */
export function addBusinessDays(date: string, n: number): string {
  let d = DateTime.fromISO(date, { zone: ZONE });
  let left = n;
  while (left > 0) {
    d = d.plus({ days: 1 });
    if (isTargetDay(d.toISODate()!)) left--;
  }
  return d.toISODate()!;
}

/**
 * The earliest due date a collection created today may have: the pre-notification's days
 * (calendar days, the mail goes out today) and the scheme's lead time in business days, on a
 * TARGET2 business day.
 */
export function earliestDueDate(today: string, s: { preNotificationDays: number; leadBusinessDaysCore: number; leadBusinessDaysB2b: number }, schemes: MandateScheme[]): string {
  const lead = Math.max(...(schemes.length ? schemes : ['CORE' as const]).map((x) => (x === 'B2B' ? s.leadBusinessDaysB2b : s.leadBusinessDaysCore)));
  const byNotice = DateTime.fromISO(today, { zone: ZONE }).plus({ days: s.preNotificationDays }).toISODate()!;
  const byLead = addBusinessDays(today, lead);
  let d = byNotice > byLead ? byNotice : byLead;
  while (!isTargetDay(d)) d = DateTime.fromISO(d, { zone: ZONE }).plus({ days: 1 }).toISODate()!;
  return d;
}

/**
 * Return reason codes (ISO 20022 ExternalReturnReason1Code, as the German banks report
 * them). `refusal`: the debtor or its bank refused the mandate or the account is gone: the
 * mandate is flagged and not used again until the board has looked at it.
 */
export const RETURN_REASONS = {
  AC01: { refusal: true }, // IBAN wrong
  AC04: { refusal: true }, // account closed
  AC06: { refusal: true }, // account blocked
  AC13: { refusal: true }, // debtor is a consumer (B2B)
  AG01: { refusal: true }, // not allowed on this account
  AG02: { refusal: false }, // wrong operation code
  AM04: { refusal: false }, // insufficient funds
  AM05: { refusal: false }, // duplicate
  BE05: { refusal: false }, // creditor unknown
  FF01: { refusal: false }, // file format
  MD01: { refusal: true }, // no mandate
  MD02: { refusal: true }, // mandate data missing or wrong
  MD06: { refusal: true }, // refund requested by the debtor
  MD07: { refusal: true }, // debtor deceased / gone
  MS02: { refusal: true }, // refused by the debtor, no reason
  MS03: { refusal: false }, // no reason given by the bank
  RC01: { refusal: true }, // BIC wrong
  RR01: { refusal: false }, RR02: { refusal: false }, RR03: { refusal: false }, RR04: { refusal: false }, // regulatory
  SL01: { refusal: true }, // debtor's bank service (creditor blocked)
} as const;
export type ReturnReason = keyof typeof RETURN_REASONS;
export const RETURN_CODES = Object.keys(RETURN_REASONS) as ReturnReason[]; // why: the keys of the object above

export function isReturnReason(code: string): code is ReturnReason {
  return Object.hasOwn(RETURN_REASONS, code);
}

/** B2B: the debtor has no refund right for an authorised debit, so MD06 cannot come for a B2B mandate. */
export function reasonAllowedFor(code: ReturnReason, scheme: MandateScheme): boolean {
  return !(scheme === 'B2B' && code === 'MD06');
}
