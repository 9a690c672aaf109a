import type { Writable } from 'node:stream';
import type { Knex } from 'knex';
import type ExcelJSType from 'exceljs';
import { iso, type Clock } from '../clock.ts';
import type { SettingsService } from '../settings/settings.service.ts';
import { completeExportLog, countForExport, exportContacts, exportLogPage, exportPage, insertExportLog, type ExportContactRow, type ExportQueryFilter } from './exports.repository.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import { tFor, type Locale } from '../i18n/i18n.ts';
import { formatMemberNumber } from '../i18n/format.ts';
import { csvLine, neutraliseFormula, UTF8_BOM } from './csv.ts';
import { ENGLISH_HEADERS, GERMAN_HEADERS, type ImportField } from './import.service.ts';

/** The register's list filter (the same query parameters as /board/members). */
export interface MemberFilter {
  q?: string;
  status?: string; // active | notice_given | former | current (active or notice given)
  category?: string; // a category id or code
  year?: number; // join year
}

export type ExportFormat = 'csv' | 'xlsx' | 'print' | 'gdpr_json';
export const STATUSES = ['active', 'notice_given', 'former'] as const;

/** One exported member with its representative and billing address. */
export interface ExportMember {
  id: number;
  memberNumber: number;
  memberNo: string;
  legalName: string;
  legalForm: string;
  street: string;
  postcode: string;
  city: string;
  country: string;
  vatId: string;
  categoryName: string;
  employeeBand: string;
  joinDate: string;
  status: string;
  exitDate: string | null;
  repName: string;
  repEmail: string;
  repPhone: string;
  billingEmail: string;
}

export interface ExportLogEntry {
  id: number;
  at: string;
  userId: number | null;
  actorLabel: string;
  format: ExportFormat;
  filter: Record<string, unknown>;
  memberIds: number[] | null;
  rowCount: number;
  purpose: string;
  completedAt: string | null;
}

const EXPORT_FIELDS: ImportField[] = ['memberNumber', 'legalName', 'legalForm', 'street', 'postcode', 'city', 'country', 'vatId', 'category', 'employeeBand', 'joinDate', 'repName', 'repEmail', 'repPhone', 'billingEmail'];
export const PRINT_LIMIT = 5000;
const PAGE = 1000;

/** Reads the filter from a query string or form body, dropping anything unknown. */
export function parseFilter(input: Record<string, unknown>): MemberFilter {
  const s = (v: unknown) => (typeof v === 'string' ? v.trim().slice(0, 200) : '');
  const f: MemberFilter = {};
  const q = s(input.q);
  if (q) f.q = q;
  const status = s(input.status);
  if (status === 'current' || (STATUSES as readonly string[]).includes(status)) f.status = status; // why: widening a const tuple to test membership
  const category = s(input.category);
  if (/^[A-Za-z0-9_-]{1,40}$/.test(category)) f.category = category;
  const year = s(input.year);
  if (/^\d{4}$/.test(year)) f.year = Number(year);
  return f;
}

/** Waits until the stream takes more data; false when the client has gone. */
async function drained(out: Writable): Promise<boolean> {
  if (out.destroyed || out.writableEnded) return false;
  if (!out.writableNeedDrain) return true;
  await new Promise<void>((resolve) => {
    const done = () => { out.off('drain', done); out.off('close', done); resolve(); };
    out.on('drain', done);
    out.on('close', done);
  });
  return !out.destroyed;
}

interface Deps {
  db: Knex;
  clock: Clock;
  audit: AuditService;
  settings: SettingsService;
}

/** Exports of the member list (CSV, XLSX, print) and their log (BGH II ZR 219/09: who got which members' contact data). */
export class ExportService {
  constructor(private d: Deps) {}

  /** The filter as the queries take it: a category code becomes its id (from the settings' cached categories). */
  private async queryFilter(f: MemberFilter): Promise<ExportQueryFilter> {
    const out: ExportQueryFilter = { q: f.q, status: f.status, year: f.year };
    if (f.category) {
      if (/^\d+$/.test(f.category)) out.categoryIds = [Number(f.category)];
      else out.categoryIds = (await this.d.settings.categories({ includeInactive: true })).filter((c) => c.code === f.category).map((c) => c.id);
    }
    return out;
  }

  async count(f: MemberFilter): Promise<number> {
    return countForExport(this.d.db, await this.queryFilter(f));
  }

  /** The filtered members in member-number order, page by page (keyset, so memory stays constant however many there are). */
  async *pages(f: MemberFilter, locale: Locale, limit = Infinity): AsyncGenerator<ExportMember[]> {
    const cats = new Map<number, string>();
    for (const c of await this.d.settings.categories({ includeInactive: true })) cats.set(c.id, locale === 'en' ? c.nameEn : c.nameDe);
    const filter = await this.queryFilter(f);
    let last = -1;
    let left = limit;
    while (left > 0) {
      const orgs = await exportPage(this.d.db, filter, last, Math.min(PAGE, left));
      if (!orgs.length) return;
      const contacts = await exportContacts(this.d.db, orgs.map((o) => Number(o.id)));
      const t = (v: unknown) => v === true || v === 1 || v === '1';
      const byOrg = new Map<number, ExportContactRow[]>();
      for (const c of contacts) {
        const k = Number(c.organisation_id);
        const list = byOrg.get(k);
        if (list) list.push(c); else byOrg.set(k, [c]);
      }
      yield orgs.map((o) => {
        const own = byOrg.get(Number(o.id)) ?? [];
        const rep = own.find((c) => t(c.is_representative));
        const billing = own.find((c) => t(c.is_billing));
        return {
          id: Number(o.id),
          memberNumber: Number(o.member_number),
          memberNo: formatMemberNumber(Number(o.member_number)),
          legalName: o.legal_name,
          legalForm: o.legal_form,
          street: o.street,
          postcode: o.postcode,
          city: o.city,
          country: o.country,
          vatId: o.vat_id,
          categoryName: cats.get(Number(o.category_id)) ?? '',
          employeeBand: o.employee_band,
          joinDate: o.join_date,
          status: o.status,
          exitDate: o.exit_date,
          repName: rep?.name ?? '',
          repEmail: rep?.email ?? '',
          repPhone: rep?.phone ?? '',
          billingEmail: billing?.email ?? '',
        };
      });
      last = Number(orgs[orgs.length - 1].member_number);
      left -= orgs.length;
    }
  }

  /** Writes the log entry (export log and audit log) before any data leaves; returns its id. */
  async startLog(actor: Actor, format: ExportFormat, filter: Record<string, unknown>, purpose: string, expectedCount: number): Promise<number> {
    return this.d.db.transaction(async (trx) => {
      const id = await insertExportLog(trx, {
        at: iso(this.d.clock.now()),
        user_id: actor.userId,
        actor_label: actor.label.slice(0, 200),
        format,
        filter: JSON.stringify(filter),
        row_count: expectedCount,
        purpose: purpose.slice(0, 500),
      });
      await this.d.audit.record(trx, actor, 'members.exported', 'export', id, undefined, { format, filter, purpose, count: expectedCount });
      return id;
    });
  }

  /** Records which members the export contained once it has been written. */
  async finishLog(id: number, memberIds: number[]): Promise<void> {
    await completeExportLog(this.d.db, id, { member_ids: JSON.stringify(memberIds), row_count: memberIds.length, completed_at: iso(this.d.clock.now()) });
  }

  private headers(locale: Locale): string[] {
    const t = tFor(locale);
    const names = locale === 'en' ? ENGLISH_HEADERS : GERMAN_HEADERS;
    return [...EXPORT_FIELDS.map((f) => names[f]), t('memberdata.export.columns.status'), t('memberdata.export.columns.exitDate')];
  }

  /** Row formatter for one export: labels looked up once, calendar dates rewritten as 01.03.2015 without a date library (fast for 100,000 rows). */
  private formatter(locale: Locale): (m: ExportMember) => string[] {
    const t = tFor(locale);
    const labels = new Map<string, string>(STATUSES.map((s) => [s, t(`memberdata.status.${s}`)]));
    const de = (d: string | null) => (d && /^\d{4}-\d{2}-\d{2}$/.test(d) ? `${d.slice(8, 10)}.${d.slice(5, 7)}.${d.slice(0, 4)}` : '');
    return (m) => [m.memberNo, m.legalName, m.legalForm, m.street, m.postcode, m.city, m.country, m.vatId, m.categoryName, m.employeeBand,
      de(m.joinDate), m.repName, m.repEmail, m.repPhone, m.billingEmail, labels.get(m.status) ?? m.status, de(m.exitDate)];
  }

  /**
   * Streams the filtered list as CSV for German Excel: UTF-8 with BOM, semicolons, CRLF,
   * dates as 01.03.2015, formula-like cells neutralised. The same columns as the import.
   */
  async writeCsv(out: Writable, f: MemberFilter, locale: Locale, logId: number): Promise<void> {
    const ids: number[] = [];
    const values = this.formatter(locale);
    out.write(UTF8_BOM + csvLine(this.headers(locale)));
    for await (const page of this.pages(f, locale)) {
      let chunk = '';
      for (const m of page) { chunk += csvLine(values(m)); ids.push(m.id); }
      out.write(chunk);
      if (!(await drained(out))) break;
    }
    await this.finishLog(logId, ids);
    out.end();
  }

  /** Streams the filtered list as an XLSX workbook (join and exit dates as real dates, formula-like values as text cells). */
  async writeXlsx(out: Writable, f: MemberFilter, locale: Locale, logId: number): Promise<void> {
    const ids: number[] = [];
    // exceljs (about 27 MB) is loaded on the first XLSX export, not at start
    const ExcelJS: typeof ExcelJSType = (await import('exceljs')).default;
    const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
    const ws = wb.addWorksheet(tFor(locale)('memberdata.export.sheetName'));
    const headers = this.headers(locale);
    ws.columns = headers.map((h, i) => ({ header: h, width: [10, 40, 14, 30, 8, 22, 6, 15, 22, 10, 12, 28, 36, 20, 36, 14, 12][i] ?? 16 }));
    ws.getRow(1).font = { bold: true };
    ws.getRow(1).commit();
    const toDate = (d: string | null) => (d ? new Date(`${d}T00:00:00Z`) : null);
    const values = this.formatter(locale);
    for await (const page of this.pages(f, locale)) {
      for (const m of page) {
        // h/harden: in XLSX a string is a text cell (never a formula): written as typed, no visible
        // apostrophe; cells that would look like a formula when edited get the text format '@'
        const v: (string | Date | null)[] = values(m);
        v[10] = toDate(m.joinDate);
        v[16] = toDate(m.exitDate);
        const row = ws.addRow(v);
        v.forEach((c, i) => { if (typeof c === 'string' && neutraliseFormula(c) !== c) row.getCell(i + 1).numFmt = '@'; });
        row.getCell(11).numFmt = 'dd.mm.yyyy';
        row.getCell(17).numFmt = 'dd.mm.yyyy';
        row.commit();
        ids.push(m.id);
      }
      if (!(await drained(out))) break;
    }
    ws.commit();
    await wb.commit();
    await this.finishLog(logId, ids);
  }

  /** The members for the printable list (at most PRINT_LIMIT). */
  async printRows(f: MemberFilter, locale: Locale): Promise<ExportMember[]> {
    const rows: ExportMember[] = [];
    for await (const page of this.pages(f, locale, PRINT_LIMIT)) rows.push(...page);
    return rows;
  }

  async log(opts: { limit?: number; beforeId?: number } = {}): Promise<ExportLogEntry[]> {
    return (await exportLogPage(this.d.db, Math.min(opts.limit ?? 50, 200), opts.beforeId)).map((r) => ({
      id: Number(r.id),
      at: r.at,
      userId: r.user_id == null ? null : Number(r.user_id),
      actorLabel: r.actor_label,
      format: r.format as ExportFormat, // why: written only by this service, from ExportFormat
      filter: JSON.parse(r.filter),
      memberIds: r.member_ids ? JSON.parse(r.member_ids) : null,
      rowCount: Number(r.row_count),
      purpose: r.purpose,
      completedAt: r.completed_at,
    }));
  }
}
