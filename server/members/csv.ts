/**
 * CSV reading and writing for spreadsheets as German Excel makes and reads them:
 * semicolon or comma (detected), UTF-8 with or without BOM, Windows-1252 when the bytes are
 * not valid UTF-8, CRLF or LF, RFC 4180 quoting. Cell content is data: nothing is evaluated.
 */

export type CsvEncoding = 'utf-8' | 'utf-8-bom' | 'utf-16le' | 'windows-1252';
export type Delimiter = ';' | ',' | '\t';

export class CsvError extends Error {
  constructor(public readonly code: 'empty' | 'binary' | 'unterminated_quote', public readonly line?: number) {
    super(code);
  }
}

/** Windows-1252's 0x80–0x9F (€ ‚ ƒ „ … † ‡ ˆ ‰ Š ‹ Œ Ž ‘ ’ “ ” • – — ˜ ™ š › œ ž Ÿ); the rest is Latin-1. Undefined bytes keep their code point, as in the WHATWG decoder. */
const CP1252_HIGH = [
  0x20ac, 0x81, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8d, 0x017d, 0x8f,
  0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x9d, 0x017e, 0x0178,
];

/** Windows-1252 → string, by table (Node's TextDecoder treats windows-1252 as plain Latin-1 and garbles € and „“). */
export function decodeWindows1252(bytes: Uint8Array): string {
  let out = '';
  const CHUNK = 8192;
  for (let i = 0; i < bytes.length; i += CHUNK) {
    const codes = Array.from(bytes.subarray(i, i + CHUNK), (b) => (b >= 0x80 && b < 0xa0 ? CP1252_HIGH[b - 0x80] : b));
    out += String.fromCharCode(...codes);
  }
  return out;
}

/** Decodes a file's bytes: BOMs first, then strict UTF-8, else Windows-1252 (what German Excel writes as "CSV (Trennzeichen-getrennt)"). */
export function decodeCsv(bytes: Uint8Array): { text: string; encoding: CsvEncoding } {
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return { text: new TextDecoder('utf-8').decode(bytes.subarray(3)), encoding: 'utf-8-bom' };
  }
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) {
    return { text: new TextDecoder('utf-16le').decode(bytes.subarray(2)), encoding: 'utf-16le' };
  }
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), encoding: 'utf-8' };
  } catch {
    return { text: decodeWindows1252(bytes), encoding: 'windows-1252' };
  }
}

/** Counts a character outside quoted sections of one line. */
function countOutsideQuotes(line: string, ch: string): number {
  let n = 0;
  let quoted = false;
  for (const c of line) {
    if (c === '"') quoted = !quoted;
    else if (c === ch && !quoted) n++;
  }
  return n;
}

/** The separator of the header line: the most frequent of ; , TAB outside quotes (ties favour ';', German Excel's). */
export function detectDelimiter(text: string): Delimiter {
  let end = text.search(/\r?\n/);
  if (end < 0) end = text.length;
  const header = text.slice(0, end);
  const counts: [Delimiter, number][] = [
    [';', countOutsideQuotes(header, ';')],
    ['\t', countOutsideQuotes(header, '\t')],
    [',', countOutsideQuotes(header, ',')],
  ];
  counts.sort((a, b) => b[1] - a[1]);
  return counts[0][1] > 0 ? counts[0][0] : ';';
}

/**
 * Parses CSV text into rows of strings (RFC 4180: "" inside quotes is a quote; separators
 * and line breaks inside quotes are content). Lines that are completely empty are skipped.
 */
export function parseCsv(text: string, delimiter: Delimiter): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let fieldStarted = false;
  let line = 1;
  let quoteLine = 0;
  const pushRow = () => {
    row.push(field);
    if (!(row.length === 1 && row[0] === '')) rows.push(row);
    row = [];
    field = '';
    fieldStarted = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') { field += '"'; i++; }
        else quoted = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (c === '"' && !fieldStarted) { quoted = true; fieldStarted = true; quoteLine = line; continue; }
    if (c === delimiter) { row.push(field); field = ''; fieldStarted = false; continue; }
    if (c === '\r') { if (text[i + 1] === '\n') i++; line++; pushRow(); continue; }
    if (c === '\n') { line++; pushRow(); continue; }
    field += c;
    fieldStarted = true;
  }
  if (quoted) throw new CsvError('unterminated_quote', quoteLine);
  if (field !== '' || row.length) pushRow();
  return rows;
}

/** Decodes and parses a CSV file; refuses empty and binary files. */
export function readCsv(bytes: Uint8Array): { rows: string[][]; encoding: CsvEncoding; delimiter: Delimiter } {
  const { text, encoding } = decodeCsv(bytes);
  if (!text.trim()) throw new CsvError('empty');
  // spreadsheets saved as .xlsx, PDFs and images contain NUL or other control bytes; CSV text does not
  // eslint-disable-next-line no-control-regex -- matching control bytes is the point here
  if (/[\u0000-\u0008\u000e-\u001f]/.test(text.slice(0, 65536))) throw new CsvError('binary');
  const delimiter = detectDelimiter(text);
  const rows = parseCsv(text, delimiter);
  if (!rows.length) throw new CsvError('empty');
  return { rows, encoding, delimiter };
}

/**
 * Neutralises spreadsheet formula injection (OWASP "CSV Injection"): a text cell that begins
 * with = + - @ TAB or CR is prefixed with a single quote, so Excel and LibreOffice show it
 * as text instead of running it.
 */
export function neutraliseFormula(v: string): string {
  return /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
}

/** One CSV cell: neutralised, and quoted when it contains the separator, a quote or a line break. */
export function csvCell(v: unknown, delimiter: Delimiter = ';'): string {
  if (v == null) return '';
  const s = neutraliseFormula(String(v));
  return s.includes(delimiter) || /["\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV line with CRLF, as Excel writes it. */
export function csvLine(values: unknown[], delimiter: Delimiter = ';'): string {
  return values.map((v) => csvCell(v, delimiter)).join(delimiter) + '\r\n';
}

export const UTF8_BOM = '\uFEFF';
