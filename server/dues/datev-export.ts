import { formatMemberNumber } from '../i18n/format.ts';
import type { Invoice } from './invoice.ts';

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
  reversal: 'Storno Zahlung', refund: 'Erstattung', credit_out: 'Guthaben übertragen', credit_in: 'Guthaben verrechnet',
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
