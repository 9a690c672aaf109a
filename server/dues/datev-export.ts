import { formatMemberNumber } from '../i18n/format.ts';
import type { Invoice } from './invoice.ts';
import type { DatevSettings } from '../settings/settings.schemas.ts';

/**
 * CSV exports of invoices and payments for the tax adviser, with DATEV-style columns
 * (Belegdatum, Belegnummer, Mitglied, Betrag, Konto, Gegenkonto, Zahlungsdatum): UTF-8 with
 * BOM, semicolons, CRLF, German dates and decimal commas, so German Excel opens it as is.
 * Text cells that a spreadsheet would read as a formula (= + - @ TAB CR at the start) are
 * prefixed with an apostrophe; amounts are written by us and never neutralised.
 *
 * Accounts (SKR 49 style defaults; the tax adviser may map them): a debtor account per member
 * (10000 + member number), dues revenue, bank.
 */
export const ACCOUNTS = { debtorBase: 10000, duesRevenue: '4000', bank: '1800' };

export function neutralise(s: string): string {
  return /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
}

function cell(v: string): string {
  return /[;"\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** Cents as a German decimal without thousands separators: -120000 → "-1200,00". */
export function germanAmount(cents: number): string {
  const neg = cents < 0;
  const a = Math.abs(cents);
  return `${neg ? '-' : ''}${Math.floor(a / 100)},${String(a % 100).padStart(2, '0')}`;
}

/** YYYY-MM-DD → DD.MM.YYYY */
export function germanDate(d: string | null | undefined): string {
  if (!d) return '';
  const [y, m, day] = d.slice(0, 10).split('-');
  return `${day}.${m}.${y}`;
}

function csv(header: string[], rows: { text: string[]; raw: Set<number> }[]): Buffer {
  const lines = [header.map(cell).join(';')];
  for (const r of rows) lines.push(r.text.map((v, i) => cell(r.raw.has(i) ? v : neutralise(v))).join(';'));
  return Buffer.from('\ufeff' + lines.join('\r\n') + '\r\n', 'utf8');
}

const HEADER = ['Belegdatum', 'Belegnummer', 'Mitglied', 'Betrag', 'Konto', 'Gegenkonto', 'Zahlungsdatum', 'Art', 'Status', 'Buchungstext'];

function member(memberNumber: number, name: string): string {
  return `${formatMemberNumber(memberNumber)} ${name}`;
}

/** One line per invoice and cancellation invoice (negative), debtor against dues revenue. */
export function invoicesCsv(invoices: (Invoice & { lastPaymentDate?: string | null })[]): Buffer {
  return csv(HEADER, invoices.map((i) => ({
    text: [
      germanDate(i.issueDate),
      i.number,
      member(i.memberNumber, i.recipient.name),
      germanAmount(i.amountCents),
      String(ACCOUNTS.debtorBase + i.memberNumber),
      ACCOUNTS.duesRevenue,
      germanDate(i.lastPaymentDate),
      i.kind === 'cancellation' ? 'Stornorechnung' : 'Rechnung',
      STATUS_WORDS[i.status] ?? i.status,
      i.description,
    ],
    raw: new Set([0, 3, 4, 5, 6]),
  })));
}

/** One line per payment, bank against the member's debtor account; Belegnummer is the invoice's. */
const KIND_WORDS: Record<string, string> = {
  reversal: 'Storno Zahlung', refund: 'Erstattung', credit_out: 'Guthaben übertragen', credit_in: 'Guthaben verrechnet', settlement: 'Verrechnung Stripe-Guthaben', // h/stripe
};

/** German words for the invoice states (the file is for a German tax adviser). */
export const STATUS_WORDS: Record<string, string> = {
  open: 'offen', partially_paid: 'teilweise bezahlt', paid: 'bezahlt', cancelled: 'storniert', uncollectible: 'uneinbringlich', void: 'ungültig',
};

export function paymentsCsv(payments: { date: string; amountCents: number; method: string; reference: string; invoiceNumber: string; memberNumber: number; memberName: string; overpayment: boolean; kind?: string; reason?: string }[]): Buffer {
  return csv(HEADER, payments.map((p) => ({
    text: [
      germanDate(p.date),
      p.invoiceNumber,
      member(p.memberNumber, p.memberName),
      germanAmount(p.amountCents),
      ACCOUNTS.bank,
      String(ACCOUNTS.debtorBase + p.memberNumber),
      germanDate(p.date),
      p.kind && KIND_WORDS[p.kind] ? KIND_WORDS[p.kind] : p.method === 'stripe' ? 'Zahlung Stripe' : 'Zahlung Überweisung',
      p.overpayment ? 'Überzahlung' : '',
      p.reason ? `${p.reference} – ${p.reason}` : p.reference,
    ],
    raw: new Set([0, 3, 4, 5, 6]),
  })));
}

// ---------------------------------------------------------------------------------------------
// h/money: the DATEV "Buchungsstapel" (EXTF, format version 700, category 21, version 13)


/** The first 14 columns of DATEV's Buchungsstapel, named as DATEV names them (the rest are optional and left out). */
export const EXTF_COLUMNS = [
  'Umsatz (ohne Soll/Haben-Kz)', 'Soll/Haben-Kennzeichen', 'WKZ Umsatz', 'Kurs', 'Basis-Umsatz', 'WKZ Basis-Umsatz', 'Konto',
  'Gegenkonto (ohne BU-Schlüssel)', 'BU-Schlüssel', 'Belegdatum', 'Belegfeld 1', 'Belegfeld 2', 'Skonto', 'Buchungstext',
];

export interface DatevBooking {
  date: string; // YYYY-MM-DD
  cents: number; // > 0
  side: 'S' | 'H';
  account: string;
  contraAccount: string;
  document: string; // Belegfeld 1: the invoice number
  text: string;
}

/** A DATEV text field: quoted, inner quotes doubled, cut to its length, ANSI only. */
function extfText(s: string, max: number): string {
  const clean = s.replace(/[\r\n;]+/g, ' ').replace(/[^\u0020-\u00ff]/g, '?').slice(0, max);
  return `"${clean.replace(/"/g, '""')}"`;
}

/**
 * The Buchungsstapel of a calendar year's dues: each invoice debtor (Soll) against revenue, each
 * cancellation invoice the other way, each payment bank (Soll) against the debtor, each reversal
 * or refund the other way. A credit carried from one invoice to the next stays on the same debtor
 * account and is no booking. Windows-1252 (ANSI, as DATEV reads it), semicolons, CRLF, decimal
 * comma without thousands dots, Belegdatum as DDMM.
 */
export function datevBuchungsstapel(bookings: DatevBooking[], o: { year: number; settings: DatevSettings; createdAt: Date; title: string }): Buffer {
  const s = o.settings;
  const ts = o.createdAt.toISOString().replace(/[-:TZ.]/g, '').slice(0, 17).padEnd(17, '0');
  const header = [
    '"EXTF"', '700', '21', '"Buchungsstapel"', '13', ts, '', '"RE"', '""', '""', String(s.consultantNumber), String(s.clientNumber),
    `${o.year}0101`, '4', `${o.year}0101`, `${o.year}1231`, extfText(o.title, 30), '""', '1', '0', '0', '"EUR"', '', '""', '', '',
    `"${s.chart === 'SKR04' ? '04' : '03'}"`, '', '', '""', '""',
  ];
  const lines = [header.join(';'), EXTF_COLUMNS.join(';')];
  for (const b of bookings) {
    const [, m, d] = b.date.split('-');
    lines.push([
      germanAmount(b.cents), `"${b.side}"`, '"EUR"', '', '', '""', b.account, b.contraAccount, '""', `${d}${m}`,
      extfText(b.document, 36), '""', '', extfText(b.text, 60),
    ].join(';'));
  }
  return Buffer.from(lines.join('\r\n') + '\r\n', 'latin1');
}

/** The bookings of a calendar year from the invoices and payments (dated in that year). */
export function datevBookings(
  year: number,
  invoices: { issueDate: string; number: string; kind: string; amountCents: number; memberNumber: number; recipient: { name: string }; description: string }[],
  payments: { date: string; amountCents: number; kind?: string; invoiceNumber: string; memberNumber: number; memberName: string }[],
  s: DatevSettings,
): DatevBooking[] {
  const inYear = (d: string) => d.startsWith(`${year}-`);
  const out: DatevBooking[] = [];
  for (const i of invoices) {
    if (!inYear(i.issueDate) || i.amountCents === 0) continue;
    out.push({
      date: i.issueDate, cents: Math.abs(i.amountCents), side: i.amountCents > 0 ? 'S' : 'H', account: String(s.debtorBase + i.memberNumber), contraAccount: s.revenueAccount,
      document: i.number, text: `${i.kind === 'cancellation' ? 'Stornorechnung' : 'Beitrag'} ${formatMemberNumber(i.memberNumber)} ${i.recipient.name}`,
    });
  }
  for (const p of payments) {
    if (!inYear(p.date) || p.amountCents === 0 || p.kind === 'credit_out' || p.kind === 'credit_in' || p.kind === 'settlement') continue; // h/stripe: settlement: no money moved
    const word = p.kind && p.kind in KIND_WORDS ? KIND_WORDS[p.kind] : 'Zahlung';
    out.push({
      date: p.date, cents: Math.abs(p.amountCents), side: p.amountCents > 0 ? 'S' : 'H', account: s.bankAccount, contraAccount: String(s.debtorBase + p.memberNumber),
      document: p.invoiceNumber, text: `${word} ${formatMemberNumber(p.memberNumber)} ${p.memberName}`,
    });
  }
  return out.sort((a, b) => a.date.localeCompare(b.date));
}
