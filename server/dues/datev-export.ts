import { DateTime } from 'luxon';
import { ZONE } from '../clock.ts';
import { formatMemberNumber } from '../i18n/format.ts';
import type { Invoice } from './invoice.ts';
import type { DatevSettings } from '../settings/settings.schemas.ts';
import { totalsOf, type EInvoiceLine } from '../einvoice/model.ts';

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
// h/money: the DATEV "Buchungsstapel" (EXTF, header version 700, category 21, format version 13)
// h/money2: checked against DATEV's Formatbeschreibung (developer.datev.de, DATEV-Format): 31 header
// fields; format version 13 has 125 columns, which DATEV reads by position, so every line has all 125.

/** The 125 columns of DATEV's Buchungsstapel (format version 13), named as DATEV's own sample files name them. */
export const EXTF_COLUMNS = [
  'Umsatz (ohne Soll/Haben-Kz)', 'Soll/Haben-Kennzeichen', 'WKZ Umsatz', 'Kurs', 'Basis-Umsatz',
  'WKZ Basis-Umsatz', 'Konto', 'Gegenkonto (ohne BU-Schlüssel)', 'BU-Schlüssel', 'Belegdatum',
  'Belegfeld 1', 'Belegfeld 2', 'Skonto', 'Buchungstext', 'Postensperre',
  'Diverse Adressnummer', 'Geschäftspartnerbank', 'Sachverhalt', 'Zinssperre', 'Beleglink',
  'Beleginfo - Art 1', 'Beleginfo - Inhalt 1', 'Beleginfo - Art 2', 'Beleginfo - Inhalt 2', 'Beleginfo - Art 3',
  'Beleginfo - Inhalt 3', 'Beleginfo - Art 4', 'Beleginfo - Inhalt 4', 'Beleginfo - Art 5', 'Beleginfo - Inhalt 5',
  'Beleginfo - Art 6', 'Beleginfo - Inhalt 6', 'Beleginfo - Art 7', 'Beleginfo - Inhalt 7', 'Beleginfo - Art 8',
  'Beleginfo - Inhalt 8', 'KOST1 - Kostenstelle', 'KOST2 - Kostenstelle', 'Kost-Menge', 'EU-Land u. UStID (Bestimmung)',
  'EU-Steuersatz (Bestimmung)', 'Abw. Versteuerungsart', 'Sachverhalt L+L', 'Funktionsergänzung L+L', 'BU 49 Hauptfunktionstyp',
  'BU 49 Hauptfunktionsnummer', 'BU 49 Funktionsergänzung', 'Zusatzinformation - Art 1', 'Zusatzinformation- Inhalt 1', 'Zusatzinformation - Art 2',
  'Zusatzinformation- Inhalt 2', 'Zusatzinformation - Art 3', 'Zusatzinformation- Inhalt 3', 'Zusatzinformation - Art 4', 'Zusatzinformation- Inhalt 4',
  'Zusatzinformation - Art 5', 'Zusatzinformation- Inhalt 5', 'Zusatzinformation - Art 6', 'Zusatzinformation- Inhalt 6', 'Zusatzinformation - Art 7',
  'Zusatzinformation- Inhalt 7', 'Zusatzinformation - Art 8', 'Zusatzinformation- Inhalt 8', 'Zusatzinformation - Art 9', 'Zusatzinformation- Inhalt 9',
  'Zusatzinformation - Art 10', 'Zusatzinformation- Inhalt 10', 'Zusatzinformation - Art 11', 'Zusatzinformation- Inhalt 11', 'Zusatzinformation - Art 12',
  'Zusatzinformation- Inhalt 12', 'Zusatzinformation - Art 13', 'Zusatzinformation- Inhalt 13', 'Zusatzinformation - Art 14', 'Zusatzinformation- Inhalt 14',
  'Zusatzinformation - Art 15', 'Zusatzinformation- Inhalt 15', 'Zusatzinformation - Art 16', 'Zusatzinformation- Inhalt 16', 'Zusatzinformation - Art 17',
  'Zusatzinformation- Inhalt 17', 'Zusatzinformation - Art 18', 'Zusatzinformation- Inhalt 18', 'Zusatzinformation - Art 19', 'Zusatzinformation- Inhalt 19',
  'Zusatzinformation - Art 20', 'Zusatzinformation- Inhalt 20', 'Stück', 'Gewicht', 'Zahlweise',
  'Forderungsart', 'Veranlagungsjahr', 'Zugeordnete Fälligkeit', 'Skontotyp', 'Auftragsnummer',
  'Buchungstyp', 'USt-Schlüssel (Anzahlungen)', 'EU-Land (Anzahlungen)', 'Sachverhalt L+L (Anzahlungen)', 'EU-Steuersatz (Anzahlungen)',
  'Erlöskonto (Anzahlungen)', 'Herkunft-Kz', 'Buchungs GUID', 'KOST-Datum', 'SEPA-Mandatsreferenz',
  'Skontosperre', 'Gesellschaftername', 'Beteiligtennummer', 'Identifikationsnummer', 'Zeichnernummer',
  'Postensperre bis', 'Bezeichnung SoBil-Sachverhalt', 'Kennzeichen SoBil-Buchung', 'Festschreibung', 'Leistungsdatum',
  'Datum Zuord. Steuerperiode', 'Fälligkeit', 'Generalumkehr (GU)', 'Steuersatz', 'Land',
  'Abrechnungsreferenz', 'BVV-Position', 'EU-Land u. UStID (Ursprung)', 'EU-Steuersatz (Ursprung)', 'Abw. Skontokonto',
] as const;
/** The header line's fields (31), as DATEV counts them. */
export const EXTF_HEADER_FIELDS = 31;

export interface DatevBooking {
  date: string; // YYYY-MM-DD
  cents: number; // > 0
  side: 'S' | 'H';
  account: string;
  contraAccount: string;
  document: string; // Belegfeld 1: the invoice number
  text: string;
}

/** The characters Windows-1252 has beyond Latin-1 (0x80–0x9F), by their byte. */
const CP1252_EXTRA: Record<string, number> = {
  '\u20ac': 0x80, '\u201a': 0x82, '\u0192': 0x83, '\u201e': 0x84, '\u2026': 0x85, '\u2020': 0x86, '\u2021': 0x87, '\u02c6': 0x88, '\u2030': 0x89,
  '\u0160': 0x8a, '\u2039': 0x8b, '\u0152': 0x8c, '\u017d': 0x8e, '\u2018': 0x91, '\u2019': 0x92, '\u201c': 0x93, '\u201d': 0x94, '\u2022': 0x95,
  '\u2013': 0x96, '\u2014': 0x97, '\u02dc': 0x98, '\u2122': 0x99, '\u0161': 0x9a, '\u203a': 0x9b, '\u0153': 0x9c, '\u017e': 0x9e, '\u0178': 0x9f,
};

/** Text as Windows-1252 bytes (the ANSI code page DATEV reads); a character it lacks becomes "?". */
export function windows1252(text: string): Buffer {
  const out = Buffer.alloc(text.length);
  let n = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    out[n++] = CP1252_EXTRA[ch] ?? (code <= 0xff && (code < 0x80 || code > 0x9f) ? code : 0x3f);
  }
  return out.subarray(0, n);
}

/** A DATEV text field: quoted, inner quotes doubled, cut to its length, no line breaks or semicolons. */
function extfText(s: string, max: number): string {
  const clean = s.replace(/[\r\n\t;]+/g, ' ').slice(0, max);
  return `"${clean.replace(/"/g, '""')}"`;
}

/**
 * The Buchungsstapel of a calendar year's dues: each invoice debtor (Soll) against revenue, each
 * cancellation invoice the other way, each payment bank (Soll) against the debtor, each reversal
 * or refund the other way. A credit carried from one invoice to the next stays on the same debtor
 * account and is no booking. Windows-1252 (ANSI, as DATEV reads it), semicolons, CRLF, decimal
 * comma without thousands dots, Belegdatum as DDMM, "Erzeugt am" in German time.
 *
 * Header fields: 1 "EXTF", 2 header version 700, 3 category 21, 4 "Buchungsstapel", 5 format
 * version 13, 6 created (YYYYMMDDHHMMSSFFF), 7 reserved, 8 Herkunft, 9 exported by, 10 imported by,
 * 11 Beraternummer, 12 Mandantennummer, 13 WJ-Beginn, 14 Sachkontenlänge (4: debtor accounts
 * have 5 digits), 15/16 Datum vom/bis, 17 Bezeichnung (30), 18 Diktatkürzel, 19 Buchungstyp
 * 1 (Finanzbuchführung), 20 Rechnungslegungszweck 0, 21 Festschreibung 0 (the adviser checks
 * first), 22 WKZ "EUR", 23 reserved, 24 Derivatskennzeichen, 25/26 reserved, 27 Sachkontenrahmen
 * ("03"/"04"), 28 Branchenlösung, 29 reserved, 30 reserved, 31 Anwendungsinformation.
 */
export function datevBuchungsstapel(bookings: DatevBooking[], o: { year: number; settings: DatevSettings; createdAt: Date; title: string }): Buffer {
  const s = o.settings;
  const ts = DateTime.fromJSDate(o.createdAt, { zone: ZONE }).toFormat('yyyyMMddHHmmssSSS');
  const header = [
    '"EXTF"', '700', '21', '"Buchungsstapel"', '13', ts, '', '"RE"', '""', '""', String(s.consultantNumber), String(s.clientNumber),
    `${o.year}0101`, '4', `${o.year}0101`, `${o.year}1231`, extfText(o.title, 30), '""', '1', '0', '0', '"EUR"', '', '', '', '',
    `"${s.chart === 'SKR04' ? '04' : '03'}"`, '', '', '', '""',
  ];
  const empty = Array<string>(EXTF_COLUMNS.length - 14).fill('');
  const lines = [header.join(';'), EXTF_COLUMNS.join(';')];
  for (const b of bookings) {
    const [, m, d] = b.date.split('-');
    lines.push([
      germanAmount(b.cents), `"${b.side}"`, '"EUR"', '', '', '', b.account, b.contraAccount, '', `${d}${m}`,
      extfText(b.document, 36), '', '', extfText(b.text, 60), ...empty,
    ].join(';'));
  }
  return windows1252(lines.join('\r\n') + '\r\n');
}

/**
 * h/money2: an invoice's amount by revenue account: lines outside VAT on the revenue account, lines
 * with 19 % or 7 % VAT gross on that rate's automatic account (DATEV takes the VAT out itself), any
 * other rate on the revenue account. The parts add up to the invoice's amount exactly.
 */
export function revenueParts(amountCents: number, lines: EInvoiceLine[] | undefined, s: Pick<DatevSettings, 'revenueAccount' | 'vat19Account' | 'vat7Account'>): { account: string; cents: number }[] {
  const total = Math.abs(amountCents);
  if (!lines?.length || lines.every((l) => l.category === 'O')) return [{ account: s.revenueAccount, cents: total }];
  const byAccount = new Map<string, number>();
  for (const g of totalsOf({ lines }).breakdown) {
    const account = g.category === 'S' && g.ratePercent === 19 ? s.vat19Account : g.category === 'S' && g.ratePercent === 7 ? s.vat7Account : s.revenueAccount;
    byAccount.set(account, (byAccount.get(account) ?? 0) + g.basisCents + g.taxCents);
  }
  const parts = [...byAccount].map(([account, cents]) => ({ account, cents })).filter((p) => p.cents > 0);
  const diff = total - parts.reduce((sum, p) => sum + p.cents, 0);
  if (parts.length) parts[parts.length - 1].cents += diff; // a cent of rounding stays on the last part
  return parts.filter((p) => p.cents > 0);
}

/** The bookings of a calendar year from the invoices and payments (dated in that year). */
export function datevBookings(
  year: number,
  invoices: { issueDate: string; number: string; kind: string; amountCents: number; memberNumber: number; recipient: { name: string }; description: string; lines?: EInvoiceLine[] }[],
  payments: { date: string; amountCents: number; kind?: string; invoiceNumber: string; memberNumber: number; memberName: string }[],
  s: DatevSettings,
): DatevBooking[] {
  const inYear = (d: string) => d.startsWith(`${year}-`);
  const out: DatevBooking[] = [];
  for (const i of invoices) {
    if (!inYear(i.issueDate) || i.amountCents === 0) continue;
    const text = `${i.kind === 'cancellation' ? 'Stornorechnung' : 'Beitrag'} ${formatMemberNumber(i.memberNumber)} ${i.recipient.name}`;
    for (const part of revenueParts(i.amountCents, i.lines, s)) {
      out.push({
        date: i.issueDate, cents: part.cents, side: i.amountCents > 0 ? 'S' : 'H', account: String(s.debtorBase + i.memberNumber), contraAccount: part.account,
        document: i.number, text,
      });
    }
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
