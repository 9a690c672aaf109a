import crypto from 'node:crypto';
import path from 'node:path';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { iso, ZONE, type Clock } from '../clock.ts';
import type { SettingsService } from '../settings/settings.service.ts';
import { duplicateCandidates, type DuplicateCandidate } from './organisations.repository.ts';
import { batchByKey, deleteUnconfirmedBefore, insertBatch, markImported } from './imports.repository.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import { AppError, ConflictError, NotFoundError } from '../errors.ts';
import { nameKey, type MembersService, type NewContact, type NewOrganisation } from './members.service.ts';
import { CsvError, readCsv, type CsvEncoding, type Delimiter } from './csv.ts';
import { ORGANISATION_MAX, organisationFieldsSchema, postcodeError } from './organisation-fields.ts';

/** The organisation fields an import row has, checked as the forms check them; street and postcode are required. */
const IMPORT_ORGANISATION = organisationFieldsSchema(['street', 'postcode']).pick({
  legalName: true, legalForm: true, street: true, postcode: true, city: true, country: true, vatId: true,
});
type ImportOrgField = keyof typeof IMPORT_ORGANISATION.shape;
const isImportOrgField = (f: unknown): f is ImportOrgField => typeof f === 'string' && Object.hasOwn(IMPORT_ORGANISATION.shape, f);

/** The columns an import understands; each has German and English header spellings (compared without case, spaces, accents). */
export const IMPORT_COLUMNS = {
  memberNumber: ['mitgliedsnr', 'mitgliedsnummer', 'mitgliednr', 'nr', 'membernumber', 'memberno', 'membernr'],
  legalName: ['firma', 'name', 'organisation', 'organisationsname', 'firmenname', 'organization', 'company', 'legalname'],
  legalForm: ['rechtsform', 'legalform'],
  street: ['strasse', 'str', 'anschrift', 'adresse', 'street', 'address'],
  postcode: ['plz', 'postleitzahl', 'postcode', 'zip', 'zipcode', 'postalcode'],
  city: ['ort', 'stadt', 'city', 'town'],
  country: ['land', 'country'],
  vatId: ['ustidnr', 'ustid', 'umsatzsteueridnr', 'umsatzsteueridentifikationsnummer', 'vatid', 'vat', 'vatnumber', 'vatno'],
  category: ['kategorie', 'mitgliedsart', 'beitragskategorie', 'category', 'membershipcategory'],
  employeeBand: ['mitarbeiter', 'beschaftigte', 'mitarbeiterzahl', 'employees', 'employeeband', 'staff'],
  joinDate: ['beitritt', 'beitrittsdatum', 'eintritt', 'eintrittsdatum', 'mitgliedseit', 'joined', 'joindate', 'joiningdate', 'membersince'],
  repName: ['vertretername', 'vertreter', 'ansprechpartner', 'representativename', 'representative', 'contactname'],
  repEmail: ['vertreteremail', 'vertretermail', 'email', 'representativeemail', 'contactemail'],
  repPhone: ['vertretertelefon', 'telefon', 'representativephone', 'phone', 'contactphone'],
  billingEmail: ['rechnungemail', 'rechnungsemail', 'rechnungmail', 'billingemail', 'invoiceemail'],
} as const;
export type ImportField = keyof typeof IMPORT_COLUMNS;
export const REQUIRED_COLUMNS: ImportField[] = ['legalName', 'street', 'postcode', 'city', 'category', 'joinDate'];

/** The German header names, used in messages and in exports (so an export can be imported again). */
export const GERMAN_HEADERS: Record<ImportField, string> = {
  memberNumber: 'Mitgliedsnr', legalName: 'Firma', legalForm: 'Rechtsform', street: 'Straße', postcode: 'PLZ', city: 'Ort',
  country: 'Land', vatId: 'USt-IdNr', category: 'Kategorie', employeeBand: 'Mitarbeiter', joinDate: 'Beitritt',
  repName: 'Vertreter Name', repEmail: 'Vertreter E-Mail', repPhone: 'Vertreter Telefon', billingEmail: 'Rechnung E-Mail',
};
export const ENGLISH_HEADERS: Record<ImportField, string> = {
  memberNumber: 'Member no', legalName: 'Organisation', legalForm: 'Legal form', street: 'Street', postcode: 'Postcode', city: 'City',
  country: 'Country', vatId: 'VAT ID', category: 'Category', employeeBand: 'Employees', joinDate: 'Joined',
  repName: 'Representative name', repEmail: 'Representative email', repPhone: 'Representative phone', billingEmail: 'Billing email',
};

export const MAX_IMPORT_BYTES = 10 * 1024 * 1024;
export const MAX_IMPORT_ROWS = 20_000;

export function normaliseHeader(h: string): string {
  return h.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/ß/g, 'ss').replace(/[^a-z0-9]/g, '');
}

/** A message for the preview: an i18n key under memberdata.import.issues and its parameters. */
export interface Issue {
  field?: ImportField;
  key: string;
  params?: Record<string, string | number>;
  blocking?: boolean; // a warning that keeps the row out (duplicates)
}

export interface ImportValues {
  memberNumber: number | null;
  legalName: string;
  legalForm: string;
  street: string;
  postcode: string;
  city: string;
  country: string;
  vatId: string;
  categoryId: number | null;
  categoryLabel: string;
  employeeBand: string;
  joinDate: string;
  repName: string;
  repEmail: string;
  repPhone: string;
  billingEmail: string;
}

export interface ImportRow {
  line: number; // record number in the file, the header being 1
  raw: Partial<Record<ImportField, string>>;
  values: ImportValues;
  errors: Issue[];
  warnings: Issue[];
  importable: boolean;
}

export interface ImportAnalysis {
  rows: ImportRow[];
  counts: { total: number; importable: number; withErrors: number; duplicates: number; withWarnings: number };
}

export interface ImportBatch extends ImportAnalysis {
  id: number;
  key: string;
  fileName: string;
  fileHash: string;
  encoding: CsvEncoding;
  delimiter: Delimiter;
  status: 'previewed' | 'imported';
  importedCount: number | null;
  createdBy: number | null;
  createdAt: string;
}

/** The whole file is refused (nothing imported): a code under memberdata.import.fatal and its parameters. */
export class ImportFileError extends AppError {
  constructor(code: string, public readonly params: Record<string, string | number> = {}) {
    super(422, code);
  }
}

const EMAIL = /^[^\s@"<>(),;:]+@[^\s@"<>(),;:]+\.[^\s@"<>(),;:]{2,}$/;
const COUNTRY_NAMES: Record<string, string> = { deutschland: 'DE', germany: 'DE', osterreich: 'AT', austria: 'AT', schweiz: 'CH', switzerland: 'CH', niederlande: 'NL', netherlands: 'NL' };

function parseDate(s: string): string | null {
  const v = s.trim();
  for (const fmt of ['d.M.yyyy', 'yyyy-MM-dd', 'd.M.yy', 'd/M/yyyy']) {
    const dt = DateTime.fromFormat(v, fmt, { zone: ZONE });
    if (dt.isValid && dt.year >= 1900 && dt.year <= 2100) return dt.toISODate();
  }
  return null;
}

function parseBand(s: string): string | null {
  const v = s.replace(/[\s\u2013\u2014]/g, (c) => (c === ' ' ? '' : '-')).replace(/\s/g, '').toLowerCase();
  if (!v) return '';
  if (v === '1-49' || v === '<50' || v === 'unter50') return '1-49';
  if (v === '50-249') return '50-249';
  if (v === '250+' || v === '>=250' || v === '≥250' || v === '250undmehr' || v === 'ab250' || v === '250ormore') return '250+';
  if (/^\d{1,7}$/.test(v)) {
    const n = Number(v);
    if (n < 1) return null;
    return n < 50 ? '1-49' : n < 250 ? '50-249' : '250+';
  }
  return null;
}

/** A cell as imported: trimmed, and the quote our own export puts before =+-@ (formula guard) removed again. Nothing is evaluated. */
function cell(v: string | undefined): string {
  const s = (v ?? '').trim();
  return /^'[=+\-@]/.test(s) ? s.slice(1) : s;
}

interface Deps {
  db: Knex;
  clock: Clock;
  audit: AuditService;
  members: MembersService;
  settings: SettingsService;
}

/** CSV import of existing members: parse, preview with per-row errors and warnings, import the good rows in one transaction. */
export class ImportService {
  constructor(private d: Deps) {}

  /** Reads the file and maps its header; throws ImportFileError when the file as a whole cannot be used. */
  parseFile(bytes: Uint8Array, opts: { maxRows?: number } = {}): { records: Partial<Record<ImportField, string>>[]; encoding: CsvEncoding; delimiter: Delimiter } {
    if (bytes.length > MAX_IMPORT_BYTES) throw new ImportFileError('too_large', { maxMb: MAX_IMPORT_BYTES / 1024 / 1024 });
    let parsed;
    try {
      parsed = readCsv(bytes);
    } catch (e) {
      if (e instanceof CsvError) throw new ImportFileError(e.code, { line: e.line ?? 0 });
      throw e;
    }
    const [header, ...body] = parsed.rows;
    const known: string[] = [];
    const index = new Map<ImportField, number>();
    header.forEach((h, i) => {
      const n = normaliseHeader(h);
      for (const [field, aliases] of Object.entries(IMPORT_COLUMNS) as [ImportField, readonly string[]][]) { // why: Object.entries loses the key type of IMPORT_COLUMNS
        if (!index.has(field) && aliases.includes(n)) { index.set(field, i); known.push(field); break; }
      }
    });
    const missing = REQUIRED_COLUMNS.filter((f) => !index.has(f));
    if (missing.length) {
      const found = header.map((h) => h.trim()).filter(Boolean).join(' | ').slice(0, 300);
      if (header.length === 1) throw new ImportFileError('wrong_separator', { found });
      throw new ImportFileError('missing_columns', { missing: missing.map((f) => GERMAN_HEADERS[f]).join(', '), found });
    }
    const records = body
      .filter((r) => r.some((c) => c.trim() !== ''))
      .map((r) => {
        const rec: Partial<Record<ImportField, string>> = {};
        for (const [f, i] of index) rec[f] = r[i] ?? '';
        return rec;
      });
    if (!records.length) throw new ImportFileError('no_rows');
    const max = opts.maxRows ?? MAX_IMPORT_ROWS;
    if (records.length > max) throw new ImportFileError('too_many_rows', { max, count: records.length });
    return { records, encoding: parsed.encoding, delimiter: parsed.delimiter };
  }

  /** Validates every record against the rules and the register as it is now (q: the database or the confirm transaction). */
  async analyse(q: Knex | Knex.Transaction, records: Partial<Record<ImportField, string>>[]): Promise<ImportAnalysis> {
    // read through q: inside the confirm transaction a second connection may not be available
    const categories = await this.d.settings.categories({ includeInactive: true }, q);
    const catByName = new Map<string, (typeof categories)[number]>();
    for (const c of categories) for (const n of [c.nameDe, c.nameEn, c.code]) catByName.set(normaliseHeader(n), c);
    const categoryList = categories.filter((c) => c.active).map((c) => c.nameDe).join(', ');

    const rows: ImportRow[] = records.map((raw, i) => {
      const errors: Issue[] = [];
      const warnings: Issue[] = [];
      const v: ImportValues = {
        memberNumber: null,
        legalName: cell(raw.legalName).replace(/\s+/g, ' '),
        legalForm: cell(raw.legalForm),
        street: cell(raw.street),
        postcode: cell(raw.postcode),
        city: cell(raw.city),
        country: 'DE',
        vatId: cell(raw.vatId).replace(/[\s.-]/g, '').toUpperCase(),
        categoryId: null,
        categoryLabel: cell(raw.category),
        employeeBand: '',
        joinDate: '',
        repName: cell(raw.repName),
        repEmail: cell(raw.repEmail).toLowerCase(),
        repPhone: cell(raw.repPhone),
        billingEmail: cell(raw.billingEmail).toLowerCase(),
      };
      const mn = cell(raw.memberNumber);
      if (mn) {
        const m = /^(?:M-?)?0*(\d{1,9})$/i.exec(mn);
        if (m && Number(m[1]) > 0) v.memberNumber = Number(m[1]);
        else errors.push({ field: 'memberNumber', key: 'memberNumber', params: { value: mn } });
      }
      const country = cell(raw.country);
      let countryKnown = true;
      if (country) {
        const c = /^[A-Za-z]{2}$/.test(country) ? country.toUpperCase() : COUNTRY_NAMES[normaliseHeader(country)];
        if (c) v.country = c;
        else { countryKnown = false; errors.push({ field: 'country', key: 'country', params: { value: country } }); }
      }
      // the organisation's fields by the register's rules (organisation-fields.ts), as in every form
      const org = IMPORT_ORGANISATION.safeParse({ legalName: v.legalName, legalForm: v.legalForm, street: v.street, postcode: v.postcode, city: v.city, country: v.country, vatId: v.vatId });
      if (org.success) Object.assign(v, org.data);
      else {
        for (const issue of org.error.issues) {
          const f = issue.path[0];
          if (!isImportOrgField(f)) continue;
          if (issue.message === 'common.validation.required') errors.push({ field: f, key: 'required', params: { column: GERMAN_HEADERS[f] } });
          else if (issue.message === 'common.validation.tooLong') errors.push({ field: f, key: 'tooLong', params: { column: GERMAN_HEADERS[f], max: f === 'postcode' || f === 'country' ? 0 : ORGANISATION_MAX[f] } });
          else if (f === 'country') { if (countryKnown) errors.push({ field: 'country', key: 'country', params: { value: country } }); }
          else if (f === 'vatId') errors.push({ field: 'vatId', key: issue.message === 'common.validation.vatIdChecksum' ? 'vatChecksum' : 'vatFormat', params: { value: v.vatId } });
        }
      }
      const pc = postcodeError(v.postcode, v.country, true);
      if (pc === 'common.validation.required') errors.push({ field: 'postcode', key: 'required', params: { column: GERMAN_HEADERS.postcode } });
      else if (pc) errors.push({ field: 'postcode', key: pc === 'common.validation.postcodeDE' ? 'postcodeDE' : 'postcode', params: { value: v.postcode } });
      if (!v.categoryLabel) errors.push({ field: 'category', key: 'required', params: { column: GERMAN_HEADERS.category } });
      const tooLong: [ImportField, string, number][] = [['repName', v.repName, 200], ['repPhone', v.repPhone, 60]];
      for (const [f, val, max] of tooLong) if (val.length > max) errors.push({ field: f, key: 'tooLong', params: { column: GERMAN_HEADERS[f], max } });
      if (v.categoryLabel) {
        const c = catByName.get(normaliseHeader(v.categoryLabel));
        if (c) { v.categoryId = c.id; v.categoryLabel = c.nameDe; }
        else errors.push({ field: 'category', key: 'category', params: { value: v.categoryLabel, known: categoryList } });
      }
      const band = parseBand(cell(raw.employeeBand));
      if (band === null) errors.push({ field: 'employeeBand', key: 'employeeBand', params: { value: cell(raw.employeeBand) } });
      else v.employeeBand = band;
      const jd = cell(raw.joinDate);
      if (!jd) errors.push({ field: 'joinDate', key: 'required', params: { column: GERMAN_HEADERS.joinDate } });
      else {
        const d = parseDate(jd);
        if (d) v.joinDate = d;
        else errors.push({ field: 'joinDate', key: 'date', params: { value: jd } });
      }
      for (const f of ['repEmail', 'billingEmail'] as const) {
        if (v[f] && (!EMAIL.test(v[f]) || v[f].length > 254)) errors.push({ field: f, key: 'email', params: { column: GERMAN_HEADERS[f], value: v[f] } });
      }
      if (!v.repName && !v.repEmail) warnings.push({ field: 'repName', key: 'noRepresentative' });
      return { line: i + 2, raw, values: v, errors, warnings, importable: false };
    });

    // duplicates inside the file
    const seenNumber = new Map<number, number>();
    const seenVat = new Map<string, number>();
    const seenName = new Map<string, number>();
    for (const r of rows) {
      const v = r.values;
      if (v.memberNumber != null) {
        const first = seenNumber.get(v.memberNumber);
        if (first) r.errors.push({ field: 'memberNumber', key: 'memberNumberTwice', params: { line: first } });
        else seenNumber.set(v.memberNumber, r.line);
      }
      if (v.vatId) {
        const first = seenVat.get(v.vatId);
        if (first) r.warnings.push({ field: 'vatId', key: 'fileDuplicateVat', params: { line: first }, blocking: true });
        else seenVat.set(v.vatId, r.line);
      }
      if (v.legalName && v.postcode) {
        const k = `${nameKey(v.legalName)}|${v.postcode}`;
        const first = seenName.get(k);
        if (first) r.warnings.push({ field: 'legalName', key: 'fileDuplicateName', params: { line: first }, blocking: true });
        else seenName.set(k, r.line);
      }
    }

    // duplicates of members already in the register
    const existing = await duplicateCandidates(q, {
      memberNumbers: [...new Set(rows.map((r) => r.values.memberNumber).filter((n): n is number => n != null))],
      vatIds: [...new Set(rows.map((r) => r.values.vatId).filter(Boolean))],
      nameKeys: [...new Set(rows.map((r) => nameKey(r.values.legalName)).filter(Boolean))],
    });
    for (const r of rows) {
      const v = r.values;
      const byNumber = v.memberNumber != null ? existing.find((o) => Number(o.member_number) === v.memberNumber) : undefined;
      const byVat = v.vatId ? existing.find((o) => o.vat_id === v.vatId) : undefined;
      const byName = existing.find((o) => o.name_key === nameKey(v.legalName) && o.postcode === v.postcode);
      const memberRef = (o: DuplicateCandidate) => ({ memberNo: `M-${String(o.member_number).padStart(4, '0')}`, name: String(o.legal_name) });
      if (byNumber) r.warnings.push({ field: 'memberNumber', key: 'duplicateNumber', params: memberRef(byNumber), blocking: true });
      if (byVat) r.warnings.push({ field: 'vatId', key: 'duplicateVat', params: memberRef(byVat), blocking: true });
      if (byName && byName !== byVat) r.warnings.push({ field: 'legalName', key: 'duplicateName', params: memberRef(byName), blocking: true });
      r.importable = r.errors.length === 0 && !r.warnings.some((w) => w.blocking);
    }
    return {
      rows,
      counts: {
        total: rows.length,
        importable: rows.filter((r) => r.importable).length,
        withErrors: rows.filter((r) => r.errors.length).length,
        duplicates: rows.filter((r) => !r.errors.length && r.warnings.some((w) => w.blocking)).length,
        withWarnings: rows.filter((r) => r.warnings.length).length,
      },
    };
  }

  /** Parses an upload and keeps its preview server-side under a random key, so the confirmation imports exactly what was shown. */
  async preview(userId: number | null, fileName: string, bytes: Uint8Array): Promise<ImportBatch> {
    const { records, encoding, delimiter } = this.parseFile(bytes);
    const analysis = await this.analyse(this.d.db, records);
    const now = this.d.clock.now();
    const key = crypto.randomBytes(18).toString('base64url');
    const fileHash = crypto.createHash('sha256').update(bytes).digest('hex');
    // previews nobody confirmed are dropped after a day
    await deleteUnconfirmedBefore(this.d.db, iso(new Date(now.getTime() - 86_400_000)));
    const id = await insertBatch(this.d.db, {
      key,
      created_by: userId,
      file_name: path.basename(fileName || 'import.csv').slice(0, 255),
      file_hash: fileHash,
      encoding,
      delimiter,
      rows: JSON.stringify(records),
      status: 'previewed',
      created_at: iso(now),
    });
    return { id, key, fileName, fileHash, encoding, delimiter, status: 'previewed', importedCount: null, createdBy: userId, createdAt: iso(now), ...analysis };
  }

  /** A stored preview, analysed again against the register as it is now. */
  async batch(key: string): Promise<ImportBatch> {
    const b = await batchByKey(this.d.db, key);
    if (!b) throw new NotFoundError();
    const analysis = await this.analyse(this.d.db, JSON.parse(b.rows));
    return {
      // why: the three columns are written only by preview()/confirm() from these types
      id: Number(b.id), key: b.key, fileName: b.file_name, fileHash: b.file_hash, encoding: b.encoding as CsvEncoding, delimiter: b.delimiter as Delimiter,
      status: b.status as ImportBatch['status'], importedCount: b.imported_count == null ? null : Number(b.imported_count),
      createdBy: b.created_by == null ? null : Number(b.created_by), createdAt: b.created_at, ...analysis,
    };
  }

  /**
   * Imports the good rows of a previewed file in one transaction. `fileHash` and `expectedLines`
   * come from the preview page: if the file or the set of good rows changed since, nothing is
   * imported (ConflictError 'import_changed').
   */
  async confirm(actor: Actor, key: string, fileHash: string, expectedLines: number[]): Promise<{ imported: number; memberNumbers: number[] }> {
    return this.d.db.transaction(async (trx) => {
      const b = await batchByKey(trx, key);
      if (!b) throw new NotFoundError();
      if (b.status !== 'previewed') throw new ConflictError('import_done');
      if (b.file_hash !== fileHash) throw new ConflictError('import_changed');
      const analysis = await this.analyse(trx, JSON.parse(b.rows));
      const good = analysis.rows.filter((r) => r.importable);
      const lines = good.map((r) => r.line);
      const expected = [...expectedLines].sort((a, b2) => a - b2);
      if (lines.length !== expected.length || lines.some((l, i) => l !== expected[i])) throw new ConflictError('import_changed');
      const memberNumbers = await this.importRows(trx, actor, good);
      await markImported(trx, b.id, good.length, iso(this.d.clock.now()));
      await this.d.audit.record(trx, actor, 'members.imported', 'import_batch', Number(b.id), undefined, { fileName: b.file_name, fileHash: b.file_hash, count: good.length, memberNumbers });
      return { imported: good.length, memberNumbers };
    });
  }

  /** Creates the organisations (rows with a member number from the file first, so numbers given later are not taken by the counter). */
  async importRows(trx: Knex.Transaction, actor: Actor, rows: ImportRow[]): Promise<number[]> {
    const ordered = [...rows.filter((r) => r.values.memberNumber != null), ...rows.filter((r) => r.values.memberNumber == null)];
    const numbers: number[] = [];
    for (const r of ordered) {
      const v = r.values;
      const org: NewOrganisation = {
        legalName: v.legalName, legalForm: v.legalForm, street: v.street, postcode: v.postcode, city: v.city, country: v.country,
        website: '', registerEntry: '', vatId: v.vatId, fieldOfActivity: '', employeeBand: v.employeeBand,
        categoryId: v.categoryId!, joinDate: v.joinDate, ...(v.memberNumber != null ? { memberNumber: v.memberNumber } : {}),
      };
      const contacts: NewContact[] = [];
      const sameBilling = !!v.billingEmail && v.billingEmail === v.repEmail;
      if (v.repName || v.repEmail || v.repPhone) {
        contacts.push({ name: v.repName, email: v.repEmail, phone: v.repPhone, position: '', isRepresentative: true, isBilling: sameBilling, locale: 'de', consentEmailInvitations: false });
      }
      if (v.billingEmail && !sameBilling) {
        contacts.push({ name: '', email: v.billingEmail, phone: '', position: '', isRepresentative: false, isBilling: true, locale: 'de', consentEmailInvitations: false });
      }
      const { memberNumber } = await this.d.members.createOrganisation(trx, actor, org, contacts, { invite: false, welcome: false });
      numbers.push(memberNumber);
    }
    return numbers;
  }
}
