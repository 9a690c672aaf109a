import crypto from 'node:crypto';
import iconv from 'iconv-lite';
import yauzl from 'yauzl';
import { CsvError, detectDelimiter, parseCsv } from '../members/csv.ts';

/** One booking line as read from a statement file. */
export interface ParsedLine {
  bookingDate: string; // YYYY-MM-DD
  valueDate: string | null;
  /** credit positive, debit negative */
  amountCents: number;
  currency: string;
  counterpartyName: string;
  counterpartyIban: string;
  remittance: string;
  bookingText: string;
  /** the bank's entry reference (AcctSvcrRef, NtryRef), if the file has one */
  entryRef: string | null;
  /** for a return: the end-to-end id of the debit that came back */
  endToEndId: string | null;
  /** ISO Domain/Family/SubFamily and the proprietary code (German GVC), or the CSV's booking text */
  bankTxCode: string;
  isReversal: boolean;
  /** a returned direct debit (R-transaction) */
  isReturn: boolean;
  /** the return reason (RtrInf/Rsn/Cd), e.g. AC04, MD06, AM04 */
  returnReason: string | null;
}

export interface ParsedStatement {
  accountIban: string;
  statementRef: string;
  format: string;
  fromDate: string | null;
  toDate: string | null;
  lines: ParsedLine[];
}

/** A file refused with a reason the treasurer can read (locale key bank.errors.<code>). */
export class StatementFileError extends Error {
  constructor(public readonly code: string, public readonly params: Record<string, string | number> = {}) {
    super(code);
  }
}

/** The limits of an upload. A file must be smaller than MAX_FILE_BYTES (50 MB). */
export const MAX_FILE_BYTES = 50 * 1024 * 1024 - 1;
export const MAX_FILE_MB = 50;
export const ZIP_LIMITS = { entries: 50, totalBytes: 200 * 1024 * 1024, ratio: 100 };

/** A column mapping for a CSV the system does not know (remembered by its header). */
export interface CsvMapping {
  bookingDate: number;
  amount: number;
  name: number;
  iban: number;
  text: number;
  /** -1: the statement's account is the association's */
  account: number;
  /** -1 when none */
  valueDate: number;
}

// ---- text decoding ----

/** UTF-8 (with or without BOM) or, when not valid UTF-8, ISO-8859-1; anything with NUL or other control bytes is refused. */
export function decodeText(bytes: Buffer): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    text = iconv.decode(bytes, 'latin1');
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  // eslint-disable-next-line no-control-regex -- control bytes mean binary or UTF-16, not a statement
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u0080-\u009f]/.test(text)) throw new StatementFileError('encoding');
  return text;
}

// ---- ZIP ----

/** The entries of a ZIP (statements only: .xml and .csv), refusing too many entries, too much content, or too high a compression ratio. */
export function unzipStatements(buf: Buffer): Promise<{ name: string; bytes: Buffer }[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buf, { lazyEntries: true, validateEntrySizes: true, strictFileNames: false }, (err, zip) => {
      if (err || !zip) { reject(new StatementFileError('bad_zip')); return; }
      const out: { name: string; bytes: Buffer }[] = [];
      let entries = 0;
      let total = 0;
      let failed = false;
      const fail = (e: StatementFileError) => { if (!failed) { failed = true; zip.close(); reject(e); } };
      zip.on('error', () => fail(new StatementFileError('bad_zip')));
      zip.on('end', () => { if (!failed) resolve(out); });
      zip.on('entry', (entry: yauzl.Entry) => {
        entries++;
        if (entries > ZIP_LIMITS.entries) { fail(new StatementFileError('zip_entries', { max: ZIP_LIMITS.entries })); return; }
        if (/\/$/.test(entry.fileName) || !/\.(xml|csv)$/i.test(entry.fileName)) { zip.readEntry(); return; }
        if (entry.uncompressedSize > ZIP_LIMITS.totalBytes || entry.uncompressedSize > Math.max(1, entry.compressedSize) * ZIP_LIMITS.ratio) {
          fail(new StatementFileError('zip_bomb'));
          return;
        }
        zip.openReadStream(entry, (e2, stream) => {
          if (e2 || !stream) { fail(new StatementFileError('bad_zip')); return; }
          const chunks: Buffer[] = [];
          let size = 0;
          stream.on('data', (c: Buffer) => {
            size += c.length;
            total += c.length;
            // counted as it is inflated: the sizes in the header are not trusted
            if (total > ZIP_LIMITS.totalBytes || size > Math.max(1, entry.compressedSize) * ZIP_LIMITS.ratio) { stream.destroy(); fail(new StatementFileError('zip_bomb')); return; }
            chunks.push(c);
          });
          stream.on('error', () => fail(new StatementFileError('bad_zip')));
          stream.on('end', () => {
            if (failed) return;
            out.push({ name: entry.fileName, bytes: Buffer.concat(chunks) });
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

// ---- CSV ----

/** 'DD.MM.YY' or 'DD.MM.YYYY' or 'YYYY-MM-DD' → 'YYYY-MM-DD'. */
export function csvDate(s: string): string {
  const v = s.trim();
  let m = /^(\d{1,2})\.(\d{1,2})\.(\d{2}|\d{4})$/.exec(v);
  if (m) {
    const y = m[3].length === 2 ? 2000 + Number(m[3]) : Number(m[3]);
    const d = `${y}-${m[2].padStart(2, '0')}-${m[1].padStart(2, '0')}`;
    if (validDate(d)) return d;
  }
  m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  if (m && validDate(v)) return v;
  throw new StatementFileError('bad_date', { value: v.slice(0, 20) });
}

function validDate(d: string): boolean {
  const t = new Date(`${d}T00:00:00Z`);
  return !Number.isNaN(t.getTime()) && t.toISOString().slice(0, 10) === d;
}

/** German amounts '-1.234,56', '1234,5', '+12' → cents. */
export function csvAmount(s: string): number {
  const v = s.trim().replace(/\s|€|EUR/g, '');
  const m = /^([+-]?)(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d{1,2}))?$/.exec(v);
  if (!m) throw new StatementFileError('bad_amount', { value: s.slice(0, 30) });
  const cents = Number(m[2].replace(/\./g, '')) * 100 + Number((m[3] ?? '').padEnd(2, '0'));
  return m[1] === '-' ? -cents : cents;
}

const norm = (h: string) => h.trim().toLowerCase().replace(/ä/g, 'ae').replace(/ö/g, 'oe').replace(/ü/g, 'ue').replace(/ß/g, 'ss').replace(/\s+/g, ' ');

/** The header's signature, under which a generic column mapping is remembered. */
export function headerSignature(header: string[]): string {
  return crypto.createHash('sha256').update(header.map(norm).join('|')).digest('hex');
}

interface CsvFormat {
  format: string;
  /** columns the header must contain (normalised) */
  needs: string[];
  read(row: (col: string) => string): Omit<ParsedLine, 'entryRef' | 'endToEndId' | 'isReversal' | 'returnReason'> & { account: string; endToEndId?: string | null; returnReason?: string | null };
}

const RETURN_TEXT = /r(ue|ü)cklastschrift|retoure|r(ue|ü)ckbelastung/i;

/** The German banks' CSV exports this system reads without a mapping. */
const FORMATS: CsvFormat[] = [
  {
    // Sparkasse "CSV-CAMT V2" (Online-Banking → Umsätze → Export CSV-CAMT)
    format: 'csv-sparkasse',
    needs: ['auftragskonto', 'buchungstag', 'valutadatum', 'buchungstext', 'verwendungszweck', 'beguenstigter/zahlungspflichtiger', 'kontonummer/iban', 'betrag'],
    read: (c) => {
      const text = c('buchungstext');
      const reason = /\b(AC0[146]|AM04|MD0[16]|MS0[23]|SL01|AG01|AG02|BE05|MD07|RR0[1-4]|FF01)\b/.exec(c('verwendungszweck'))?.[1] ?? null;
      return {
        account: c('auftragskonto'), bookingDate: csvDate(c('buchungstag')), valueDate: c('valutadatum') ? csvDate(c('valutadatum')) : null,
        amountCents: csvAmount(c('betrag')), currency: c('waehrung') || 'EUR', counterpartyName: c('beguenstigter/zahlungspflichtiger'),
        counterpartyIban: c('kontonummer/iban'), remittance: c('verwendungszweck'), bookingText: text, bankTxCode: text,
        endToEndId: c('kundenreferenz (end-to-end)') || null, isReturn: RETURN_TEXT.test(text), returnReason: RETURN_TEXT.test(text) ? reason : null,
      };
    },
  },
  {
    // Volksbanken Raiffeisenbanken (Online-Banking → Umsätze → Export CSV)
    format: 'csv-volksbank',
    needs: ['iban auftragskonto', 'buchungstag', 'name zahlungsbeteiligter', 'iban zahlungsbeteiligter', 'verwendungszweck', 'betrag'],
    read: (c) => {
      const text = c('buchungstext');
      return {
        account: c('iban auftragskonto'), bookingDate: csvDate(c('buchungstag')), valueDate: c('valutadatum') ? csvDate(c('valutadatum')) : null,
        amountCents: csvAmount(c('betrag')), currency: c('waehrung') || 'EUR', counterpartyName: c('name zahlungsbeteiligter'),
        counterpartyIban: c('iban zahlungsbeteiligter'), remittance: c('verwendungszweck'), bookingText: text, bankTxCode: text, isReturn: RETURN_TEXT.test(text),
      };
    },
  },
  {
    // Deutsche Bank (Umsatzanzeige → Export CSV): Soll and Haben in separate columns, the account in the lines above the header
    format: 'csv-deutsche-bank',
    needs: ['buchungstag', 'wert', 'umsatzart', 'beguenstigter / auftraggeber', 'verwendungszweck', 'iban', 'soll', 'haben'],
    read: (c) => {
      const soll = c('soll');
      const haben = c('haben');
      const amount = haben ? Math.abs(csvAmount(haben)) : -Math.abs(csvAmount(soll || '0'));
      const text = c('umsatzart');
      return {
        account: '', bookingDate: csvDate(c('buchungstag')), valueDate: c('wert') ? csvDate(c('wert')) : null, amountCents: amount, currency: c('waehrung') || 'EUR',
        counterpartyName: c('beguenstigter / auftraggeber'), counterpartyIban: c('iban'), remittance: c('verwendungszweck'), bookingText: text, bankTxCode: text,
        endToEndId: c('kundenreferenz') || null, isReturn: RETURN_TEXT.test(text),
      };
    },
  },
];

export interface CsvTable { header: string[]; rows: string[][]; preamble: string[][] }

/** The header row (the first row with at least four cells) and the rows after it. */
export function readCsvTable(text: string): CsvTable {
  let rows: string[][];
  try {
    rows = parseCsv(text, detectDelimiter(text.split(/\r?\n/).find((l) => (l.match(/[;,\t]/g) ?? []).length >= 3) ?? text));
  } catch (e) {
    if (e instanceof CsvError) throw new StatementFileError('not_statement');
    throw e;
  }
  const h = rows.findIndex((r) => r.filter((c) => c.trim()).length >= 4);
  if (h < 0) throw new StatementFileError('not_statement');
  return { header: rows[h].map((c) => c.trim()), rows: rows.slice(h + 1).filter((r) => r.some((c) => c.trim())), preamble: rows.slice(0, h) };
}

/** The known format for a header, if any. */
export function knownCsvFormat(header: string[]): string | null {
  const cols = new Set(header.map(norm));
  return FORMATS.find((f) => f.needs.every((n) => cols.has(n)))?.format ?? null;
}

function compactIban(s: string): string {
  return s.replace(/\s+/g, '').toUpperCase();
}

/** Reads a CSV statement: a known bank format, or the remembered/given mapping; `fallbackIban` when the file does not name the account. */
export function parseCsvStatement(text: string, fallbackIban: string, mapping?: CsvMapping | null): ParsedStatement {
  const t = readCsvTable(text);
  const idx = new Map(t.header.map((h, i) => [norm(h), i]));
  const fmt = FORMATS.find((f) => f.needs.every((n) => idx.has(n)));
  if (!fmt && !mapping) throw new StatementFileError('csv_unknown');
  const lines: ParsedLine[] = [];
  let account = '';
  // Deutsche Bank names the account in the lines above the table
  const preambleIban = t.preamble.flat().map((c) => compactIban(c)).find((c) => /^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(c)) ?? '';
  t.rows.forEach((r, n) => {
    if (r.length < 3) return;
    // Deutsche Bank ends with a "Kontostand" line
    if (/^kontostand/i.test((r[0] ?? '').trim())) return;
    try {
      if (fmt) {
        const { account: acct, ...l } = fmt.read((col) => (r[idx.get(col) ?? -1] ?? '').trim());
        account ||= compactIban(acct) || preambleIban;
        lines.push({ ...l, counterpartyIban: compactIban(l.counterpartyIban).slice(0, 34), counterpartyName: l.counterpartyName.slice(0, 200), remittance: l.remittance.replace(/\s+/g, ' ').slice(0, 1000), bookingText: l.bookingText.slice(0, 200), bankTxCode: l.bankTxCode.slice(0, 60), entryRef: null, endToEndId: l.endToEndId ?? null, isReversal: false, returnReason: l.returnReason ?? null });
      } else if (mapping) {
        const c = (i: number) => (i >= 0 ? (r[i] ?? '').trim() : '');
        account ||= compactIban(c(mapping.account));
        lines.push({
          bookingDate: csvDate(c(mapping.bookingDate)), valueDate: mapping.valueDate >= 0 && c(mapping.valueDate) ? csvDate(c(mapping.valueDate)) : null,
          amountCents: csvAmount(c(mapping.amount)), currency: 'EUR', counterpartyName: c(mapping.name).slice(0, 200), counterpartyIban: compactIban(c(mapping.iban)).slice(0, 34),
          remittance: c(mapping.text).replace(/\s+/g, ' ').slice(0, 1000), bookingText: '', entryRef: null, endToEndId: null, bankTxCode: '', isReversal: false, isReturn: false, returnReason: null,
        });
      }
    } catch (e) {
      if (e instanceof StatementFileError) throw new StatementFileError(`row_${e.code}`, { ...e.params, row: n + 2 + t.preamble.length });
      throw e;
    }
  });
  if (!lines.length) throw new StatementFileError('no_lines');
  const dates = lines.map((l) => l.bookingDate).sort();
  return { accountIban: account || compactIban(fallbackIban), statementRef: '', format: fmt?.format ?? 'csv-mapping', fromDate: dates[0], toDate: dates[dates.length - 1], lines };
}

/**
 * The dedup key of each line: the bank's entry reference when the file has one (per account),
 * else a hash of account, date, amount, counterparty and text, numbered when the same booking
 * appears more than once in one statement (two equal transfers on one day stay two).
 */
export function dedupKeys(st: ParsedStatement): string[] {
  const seen = new Map<string, number>();
  return st.lines.map((l) => {
    if (l.entryRef) return `ref:${st.accountIban}:${l.entryRef}`.slice(0, 200);
    const h = crypto.createHash('sha256').update([st.accountIban, l.bookingDate, l.amountCents, l.counterpartyIban, l.counterpartyName.toLowerCase(), l.remittance.toLowerCase()].join('\u0000')).digest('hex');
    const n = (seen.get(h) ?? 0) + 1;
    seen.set(h, n);
    return `hash:${h}:${n}`;
  });
}
