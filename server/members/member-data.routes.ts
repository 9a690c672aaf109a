import { Router, type Request, type RequestHandler, type Response } from 'express';
import multer from 'multer';
import { z } from 'zod';
import type { Context } from '../context.ts';
import { berlinDate } from '../clock.ts';
import { AppError } from '../errors.ts';
import { flash, h, idParam, requireRole } from '../web/middleware.ts';
import { parseForm, str } from '../web/forms.ts';
import { formatMemberNumber } from '../i18n/format.ts';
import { ImportFileError, MAX_IMPORT_BYTES, type ImportBatch, type ImportRow } from './import.service.ts';
import { parseFilter, PRINT_LIMIT, type MemberFilter } from './export.service.ts';
import { CONSENT_KINDS } from './gdpr.service.ts';
import { actorOf } from '../web/actor.ts';
import { dateField } from '../web/fields.ts'; // h/harden2

const BOARD = ['board'] as const;
const EXPORTERS = ['board', 'treasurer', 'admin'] as const;
const PREVIEW_PROBLEM_ROWS = 1000;
const PREVIEW_GOOD_ROWS = 500;

/**
 * Parses the multipart upload of the import form BEFORE the CSRF check (mounted in app.ts ahead
 * of csrf()), so the synchroniser token travels as an ordinary hidden field in the form body and
 * the global CSRF check stays as it is. Only POST /board/import with multipart/form-data, only
 * for signed-in board members (the role is checked before a byte is buffered), one
 * file of at most 10 MB in memory. A file over the limit is drained and reported to the route
 * (res.locals.uploadError), which answers with a clear 413 page after the CSRF check.
 */
export function importUploadParser(): RequestHandler {
  const upload = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: MAX_IMPORT_BYTES, files: 1, fields: 5, fieldSize: 1024, parts: 6 },
  }).single('file');
  const guard = requireRole(...BOARD);
  return (req, res, next) => {
    if (req.method !== 'POST' || (req.path !== '/' && req.path !== '') || !req.is('multipart/form-data')) { next(); return; }
    guard(req, res, (err?: unknown) => {
      if (err) { next(err); return; }
      upload(req, res, (e?: unknown) => {
        if (e instanceof multer.MulterError) { res.locals.uploadError = e.code; next(); return; }
        if (e) { res.locals.uploadError = 'MALFORMED'; next(); return; }
        next();
      });
    });
  };
}

const consentSchema = z.object({
  contactId: z.coerce.number().int().positive({ message: 'common.validation.choice' }),
  kind: z.enum(CONSENT_KINDS, { message: 'common.validation.choice' }),
  version: z.string().trim().max(40, { message: 'common.validation.tooLong' }),
  givenOn: dateField({ yearsAhead: 0, earliestYear: 1990 }, 'memberdata.gdpr.consents.badDate'), // h/harden2: a real date, not after today (2027-02-30 gave a 500)
});

function describeFilter(req: Request, f: Record<string, unknown>, categories: Map<string, string>): string {
  const parts: string[] = [];
  if (f.organisationId) parts.push(req.t('memberdata.exports.filter.organisation', { id: f.organisationId }));
  if (f.q) parts.push(`${req.t('memberdata.exports.filter.q')}: „${String(f.q)}“`);
  if (f.status) parts.push(`${req.t('memberdata.exports.filter.status')}: ${req.t(`memberdata.status.${String(f.status)}`)}`);
  if (f.category) parts.push(`${req.t('memberdata.exports.filter.category')}: ${categories.get(String(f.category)) ?? String(f.category)}`);
  if (f.year) parts.push(`${req.t('memberdata.exports.filter.year')}: ${String(f.year)}`);
  return parts.length ? parts.join(' · ') : req.t('memberdata.exports.filter.all');
}

async function categoryNames(ctx: Context, req: Request): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  for (const c of await ctx.settings.categories({ includeInactive: true })) {
    const n = req.locale === 'en' ? c.nameEn : c.nameDe;
    m.set(String(c.id), n);
    m.set(c.code, n);
  }
  return m;
}

function issueText(req: Request, i: { key: string; params?: Record<string, string | number> }): string {
  return req.t(`memberdata.import.issues.${i.key}`, i.params ?? {});
}

function previewView(req: Request, b: ImportBatch) {
  const problems = b.rows.filter((r) => !r.importable || r.warnings.length);
  const good = b.rows.filter((r) => r.importable && !r.warnings.length);
  const shown = [...problems.slice(0, PREVIEW_PROBLEM_ROWS), ...good.slice(0, PREVIEW_GOOD_ROWS)].sort((a, c) => a.line - c.line);
  const row = (r: ImportRow) => ({
    line: r.line,
    state: r.errors.length ? 'error' : !r.importable ? 'duplicate' : r.warnings.length ? 'warning' : 'ok',
    memberNo: r.values.memberNumber != null ? formatMemberNumber(r.values.memberNumber) : '',
    legalName: r.values.legalName,
    place: [r.values.postcode, r.values.city].filter(Boolean).join(' '),
    category: r.values.categoryLabel,
    joinDate: r.values.joinDate,
    joinDateRaw: r.raw.joinDate ?? '',
    representative: [r.values.repName, r.values.repEmail].filter(Boolean).join(', '),
    errors: r.errors.map((i) => issueText(req, i)),
    warnings: r.warnings.map((i) => issueText(req, i)),
  });
  return {
    title: req.t('memberdata.import.preview.title'),
    section: 'members',
    batch: { key: b.key, fileName: b.fileName, fileHashShort: b.fileHash.slice(0, 12), fileHash: b.fileHash, status: b.status, importedCount: b.importedCount, createdAt: b.createdAt },
    encodingLabel: req.t(`memberdata.import.encodings.${b.encoding}`),
    delimiterLabel: req.t(`memberdata.import.delimiters.${b.delimiter === '\t' ? 'tab' : b.delimiter === ';' ? 'semicolon' : 'comma'}`),
    counts: b.counts,
    rows: shown.map(row),
    truncated: shown.length < b.rows.length,
    shownCount: shown.length,
    lines: b.rows.filter((r) => r.importable).map((r) => r.line).join(','),
    canImport: b.status === 'previewed' && b.counts.importable > 0,
  };
}

/** Import (board), exports (board, treasurer, admin), export log and GDPR (board); mounted at /board. */
export function memberDataRouter(ctx: Context): Router {
  const r = Router();

  // ---- import ----
  const renderUpload = (req: Request, res: Response, status: number, error?: string) => {
    res.status(status).render('member-data/import', { title: req.t('memberdata.import.title'), section: 'members', error, maxMb: MAX_IMPORT_BYTES / 1024 / 1024 });
  };

  r.get('/import', requireRole(...BOARD), (req, res) => renderUpload(req, res, 200));

  r.post('/import', requireRole(...BOARD), h(async (req, res) => {
    const uploadError = res.locals.uploadError as string | undefined; // why: set by the upload middleware above, a string or nothing
    if (uploadError === 'LIMIT_FILE_SIZE') return renderUpload(req, res, 413, req.t('memberdata.import.fatal.too_large', { maxMb: MAX_IMPORT_BYTES / 1024 / 1024 }));
    if (uploadError) return renderUpload(req, res, 400, req.t('memberdata.import.fatal.upload'));
    if (!req.file || !req.file.size) return renderUpload(req, res, 422, req.t(req.file ? 'memberdata.import.fatal.empty' : 'memberdata.import.fatal.no_file'));
    try {
      const batch = await ctx.memberImport.preview(req.user!.id, req.file.originalname, req.file.buffer);
      res.redirect(303, `/board/import/${batch.key}`);
    } catch (e) {
      if (e instanceof ImportFileError) return renderUpload(req, res, 422, req.t(`memberdata.import.fatal.${e.code}`, e.params));
      throw e;
    }
  }));

  r.get('/import/:key', requireRole(...BOARD), h(async (req, res) => {
    const key = String(req.params.key);
    if (!/^[A-Za-z0-9_-]{10,64}$/.test(key)) throw new AppError(404, 'not_found');
    const batch = await ctx.memberImport.batch(key);
    res.render('member-data/preview', previewView(req, batch));
  }));

  r.post('/import/:key/confirm', requireRole(...BOARD), h(async (req, res) => {
    const key = String(req.params.key);
    const lines = str(req.body.lines).split(',').filter((s) => /^\d+$/.test(s)).map(Number);
    try {
      const result = await ctx.memberImport.confirm(actorOf(req), key, str(req.body.fileHash), lines);
      flash(req, 'success', req.t('memberdata.import.done', { count: result.imported }));
      res.redirect(303, `/board/import/${key}`);
    } catch (e) {
      if (e instanceof AppError && (e.code === 'import_changed' || e.code === 'import_done')) {
        flash(req, 'error', req.t(`memberdata.import.${e.code}`));
        res.redirect(303, `/board/import/${key}`);
        return;
      }
      throw e;
    }
  }));

  // ---- exports ----
  r.get('/exports', requireRole(...EXPORTERS), h(async (req, res) => {
    const q = req.query as Record<string, unknown>; // why: Express parses the query string into an object
    const filter: MemberFilter = 'status' in q ? parseFilter(q) : { ...parseFilter(q), status: 'current' };
    const categories = await ctx.settings.categories({ includeInactive: true });
    res.render('member-data/exports', {
      title: req.t('memberdata.exports.title'),
      section: 'members',
      filter,
      count: await ctx.memberExports.count(filter),
      categories: categories.map((c) => ({ value: String(c.id), label: req.locale === 'en' ? c.nameEn : c.nameDe })),
      statuses: ['current', 'active', 'notice_given', 'former'].map((s) => ({ value: s, label: req.t(`memberdata.status.${s}`) })),
      isBoard: req.user!.roles.includes('board'),
      printLimit: PRINT_LIMIT,
    });
  }));

  // Downloads are GETs with the register's filter in the query (a link from the register works as is);
  // each one is logged before any data leaves.
  const startExport = async (req: Request, format: 'csv' | 'xlsx' | 'print') => {
    const query = req.query as Record<string, unknown>; // why: Express parses the query string into an object
    const filter = parseFilter(query);
    const purpose = str(query.purpose).trim().slice(0, 500);
    const count = await ctx.memberExports.count(filter);
    const logId = await ctx.memberExports.startLog(actorOf(req), format, { ...filter }, purpose, format === 'print' ? Math.min(count, PRINT_LIMIT) : count);
    return { filter, logId, count };
  };
  const fileName = (ext: string) => `mitglieder-${berlinDate(ctx.clock.now())}.${ext}`;

  r.get('/exports/members.csv', requireRole(...EXPORTERS), h(async (req, res) => {
    const { filter, logId } = await startExport(req, 'csv');
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="${fileName('csv')}"`);
    res.setHeader('Cache-Control', 'no-store');
    await ctx.memberExports.writeCsv(res, filter, req.locale, logId);
  }));

  r.get('/exports/members.xlsx', requireRole(...EXPORTERS), h(async (req, res) => {
    const { filter, logId } = await startExport(req, 'xlsx');
    res.setHeader('Content-Type', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    res.setHeader('Content-Disposition', `attachment; filename="${fileName('xlsx')}"`);
    res.setHeader('Cache-Control', 'no-store');
    await ctx.memberExports.writeXlsx(res, filter, req.locale, logId);
  }));

  r.get('/exports/print', requireRole(...EXPORTERS), h(async (req, res) => {
    const { filter, logId, count } = await startExport(req, 'print');
    const rows = await ctx.memberExports.printRows(filter, req.locale);
    await ctx.memberExports.finishLog(logId, rows.map((m) => m.id));
    res.setHeader('Cache-Control', 'no-store');
    res.render('member-data/print', {
      layout: false, // a page of its own: full width, print stylesheet, no site navigation
      title: req.t('memberdata.print.title'),
      section: 'members',
      rows: rows.map((m) => ({ ...m, statusLabel: req.t(`memberdata.status.${m.status}`) })),
      count: rows.length,
      total: count,
      truncated: count > rows.length,
      filterText: describeFilter(req, filter as Record<string, unknown>, await categoryNames(ctx, req)), // why: a MemberFilter is a plain object of optional fields
      generatedAt: ctx.clock.now().toISOString(),
      by: req.user!.displayName,
    });
  }));

  r.get('/gdpr/export-log', requireRole(...BOARD), h(async (req, res) => {
    const before = Number(req.query.before);
    const entries = await ctx.memberExports.log({ limit: 50, beforeId: Number.isSafeInteger(before) && before > 0 ? before : undefined });
    const cats = await categoryNames(ctx, req);
    res.render('member-data/export-log', {
      title: req.t('memberdata.exportLog.title'),
      section: 'members',
      entries: entries.map((e) => ({ ...e, formatLabel: req.t(`memberdata.formats.${e.format}`), filterText: describeFilter(req, e.filter, cats) })),
      olderUrl: entries.length === 50 ? `/board/gdpr/export-log?before=${entries[entries.length - 1].id}` : null,
    });
  }));

  // ---- GDPR ----
  r.get('/gdpr', requireRole(...BOARD), h(async (req, res) => {
    const q = typeof req.query.q === 'string' ? req.query.q.trim().slice(0, 200) : '';
    const found = (q ? await ctx.gdpr.findOrganisations(q) : []).map((o) => ({ ...o, status: req.t(`memberdata.status.${o.status}`) }));
    const rules = await ctx.settings.rules();
    const recent = await ctx.gdpr.recentAnonymisations();
    res.render('member-data/gdpr', {
      title: req.t('memberdata.gdpr.title'),
      section: 'members',
      q,
      found,
      searched: !!q,
      candidates: (await ctx.gdpr.anonymisationCandidatesWithBlocks()).map((c) => ({ ...c, blockedText: c.blocked ? req.t(c.blocked.key, { ...c.blocked.params, count: Number(c.blocked.params?.count ?? 1), name: c.legalName }) : '' })), // h/gdpr
      retentionYears: rules.contactRetentionYears,
      recent: recent.map((x) => ({ at: x.at, contacts: Number(x.contacts_count), id: Number(x.id), memberNo: formatMemberNumber(Number(x.member_number)), legalName: x.legal_name })),
    });
  }));

  r.post('/gdpr/anonymise', requireRole(...BOARD), h(async (req, res) => {
    const raw = req.body?.ids;
    const ids = (Array.isArray(raw) ? raw : [raw]).map(Number).filter((n) => Number.isSafeInteger(n) && n > 0);
    const result = await ctx.gdpr.anonymise(actorOf(req), ids);
    if (result.organisations || !result.refused.length) flash(req, 'success', req.t('memberdata.gdpr.anonymise.done', { count: result.organisations, contacts: result.contacts }));
    // h/gdpr: refused with the reason (unpaid invoices, an active mandate)
    for (const r of result.refused) flash(req, 'error', req.t(r.block.key, { ...r.block.params, count: Number(r.block.params?.count ?? 1), name: r.legalName }));
    res.redirect(303, '/board/gdpr');
  }));

  // h/gdpr: each further part of the export as a heading and one line per stored row
  const readableGroups = (req: Request, data: Awaited<ReturnType<typeof ctx.gdpr.exportOrganisation>>) => {
    const line = (r: Record<string, unknown>) => Object.entries(r).filter(([, v]) => v !== null && v !== '' && v !== undefined)
      .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(' · ');
    const groups: { title: string; rows: string[] }[] = [];
    const add = (rows: Record<string, unknown>[] | undefined, key: string) => { if (rows?.length) groups.push({ title: req.t(`gdpr.export.${key}`), rows: rows.map(line) }); };
    add(data.payments, 'payments');
    for (const [k, rows] of Object.entries(data.assemblies)) add(rows, `assemblies_${k}`);
    for (const [k, rows] of Object.entries(data.demands)) add(rows, `demands_${k}`);
    add(data.changeRequests, 'changeRequests');
    add(data.disclosures, 'disclosures');
    add(data.invoices, 'invoices');
    return groups;
  };

  const renderOrganisation = async (req: Request, res: Response, id: number, status = 200, errors?: Record<string, string>, values?: Record<string, unknown>) => {
    const data = await ctx.gdpr.exportOrganisation(id);
    const consents = await ctx.gdpr.consents(id);
    const contacts = data.contacts;
    res.status(status).render('member-data/gdpr-organisation', {
      title: req.t('memberdata.gdpr.organisation.title', { name: data.organisation.legalName }),
      section: 'members',
      id,
      data,
      org: data.organisation,
      contacts,
      consents: consents.map((c) => ({ ...c, kindLabel: req.t(`memberdata.consentKinds.${c.kind}`) })),
      kinds: CONSENT_KINDS.map((k) => ({ value: k, label: req.t(`memberdata.consentKinds.${k}`) })),
      contactOptions: contacts.map((c) => ({ value: String(c.id), label: c.name || c.email || `#${c.id}` })),
      auditEntries: data.auditEntries.slice(-200).reverse(),
      // h/gdpr: the rest of the data, readable, and the Art. 15(1) information
      moreData: readableGroups(req, data),
      info: data.information,
      errors,
      values: values ?? { givenOn: berlinDate(ctx.clock.now()), version: '' },
    });
  };

  r.get('/gdpr/organisations/:id', requireRole(...BOARD), h(async (req, res) => {
    await renderOrganisation(req, res, idParam(req));
  }));

  r.post('/gdpr/organisations/:id/export.json', requireRole(...BOARD), h(async (req, res) => {
    const id = idParam(req);
    const data = await ctx.gdpr.exportOrganisationLogged(actorOf(req), id);
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="dsgvo-auskunft-${String(data.organisation.memberNo)}-${berlinDate(ctx.clock.now())}.json"`);
    res.setHeader('Cache-Control', 'no-store');
    res.send(JSON.stringify(data, null, 2));
  }));

  r.post('/gdpr/organisations/:id/consents', requireRole(...BOARD), h(async (req, res) => {
    const id = idParam(req);
    const parsed = parseForm(consentSchema, req.body, req.t);
    if (!parsed.ok) return renderOrganisation(req, res, id, 422, parsed.errors, req.body);
    await ctx.gdpr.addConsent(actorOf(req), id, parsed.data);
    flash(req, 'success', req.t('memberdata.gdpr.consents.recorded'));
    res.redirect(303, `/board/gdpr/organisations/${id}`);
  }));

  r.post('/gdpr/consents/:id/withdraw', requireRole(...BOARD), h(async (req, res) => {
    const orgId = await ctx.gdpr.withdrawConsent(actorOf(req), idParam(req));
    flash(req, 'success', req.t('memberdata.gdpr.consents.withdrawn'));
    res.redirect(303, `/board/gdpr/organisations/${orgId}`);
  }));

  return r;
}
