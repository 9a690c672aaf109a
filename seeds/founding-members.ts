import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DateTime } from 'luxon';
import { EMPLOYEE_BANDS } from '../server/settings/settings.schemas.ts';
import { parseCsv } from '../server/members/csv.ts';

export const FOUNDING_MEMBERS_CSV = path.join(path.dirname(fileURLToPath(import.meta.url)), 'founding-members.csv');

/** One founding member as the board's spreadsheet lists it. */
export interface FoundingMember {
  memberNumber: number;
  legalName: string;
  legalForm: string;
  street: string;
  postcode: string;
  city: string;
  country: string;
  vatId: string;
  categoryCode: 'company' | 'research' | 'supporting' | 'honorary';
  employeeBand: string;
  joinDate: string; // YYYY-MM-DD
  representative: { name: string; email: string; phone: string };
  billingEmail: string;
}

const CATEGORY_CODES: Record<string, FoundingMember['categoryCode']> = {
  unternehmen: 'company',
  forschungseinrichtung: 'research',
  fördermitglied: 'supporting',
  foerdermitglied: 'supporting',
  ehrenmitglied: 'honorary',
};

const COLUMNS = {
  number: 'Mitgliedsnr',
  name: 'Firma',
  form: 'Rechtsform',
  street: 'Straße',
  postcode: 'PLZ',
  city: 'Ort',
  country: 'Land',
  vat: 'USt-IdNr',
  category: 'Kategorie',
  band: 'Mitarbeiter',
  joined: 'Beitritt',
  repName: 'Vertreter Name',
  repEmail: 'Vertreter E-Mail',
  repPhone: 'Vertreter Telefon',
  billing: 'Rechnung E-Mail',
} as const;

/** dd.mm.yyyy → YYYY-MM-DD, or an error. */
export function germanDate(s: string): string {
  const d = DateTime.fromFormat(s, 'dd.MM.yyyy');
  if (!d.isValid) throw new Error(`not a date (dd.mm.yyyy): "${s}"`);
  return d.toISODate()!;
}

/**
 * Parses the founding members' spreadsheet export: UTF-8 with BOM, semicolons, CRLF,
 * German dates, member numbers like M-0001, German category names. Throws with the line
 * number on the first bad row: the file is part of the repository, so it must be right.
 */
export function parseFoundingMembers(text: string): FoundingMember[] {
  // the register import's CSV reader (quotes, "" inside quotes, CRLF); cells trimmed, blank lines skipped
  const lines = parseCsv(text.replace(/^\uFEFF/, ''), ';').map((cells) => cells.map((c) => c.trim())).filter((cells) => !(cells.length === 1 && cells[0] === ''));
  if (!lines.length) return [];
  const header = lines[0];
  const col = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`founding members CSV: column "${name}" missing`);
    return i;
  };
  const idx = Object.fromEntries(Object.entries(COLUMNS).map(([k, v]) => [k, col(v)])) as Record<keyof typeof COLUMNS, number>;
  return lines.slice(1).map((cells, n) => {
    const get = (k: keyof typeof COLUMNS) => cells[idx[k]] ?? '';
    const where = `founding members CSV line ${n + 2}`;
    const num = /^M-?(\d+)$/i.exec(get('number'));
    if (!num) throw new Error(`${where}: member number "${get('number')}" is not like M-0001`);
    const categoryCode = CATEGORY_CODES[get('category').toLowerCase()];
    if (!categoryCode) throw new Error(`${where}: unknown category "${get('category')}"`);
    const band = get('band');
    if (!(EMPLOYEE_BANDS as readonly string[]).includes(band)) throw new Error(`${where}: unknown employee band "${band}"`);
    let joinDate: string;
    try {
      joinDate = germanDate(get('joined'));
    } catch (err) {
      throw new Error(`${where}: ${(err as Error).message}`, { cause: err });
    }
    return {
      memberNumber: Number(num[1]),
      legalName: get('name'),
      legalForm: get('form'),
      street: get('street'),
      postcode: get('postcode'),
      city: get('city'),
      country: get('country') || 'DE',
      vatId: get('vat').replace(/\s+/g, '').toUpperCase(),
      categoryCode,
      employeeBand: band,
      joinDate,
      representative: { name: get('repName'), email: get('repEmail').toLowerCase(), phone: get('repPhone') },
      billingEmail: get('billing').toLowerCase(),
    };
  });
}

export function readFoundingMembers(file = FOUNDING_MEMBERS_CSV): FoundingMember[] {
  return parseFoundingMembers(fs.readFileSync(file, 'utf8'));
}
