import { Router, type Request, type RequestHandler, type Response } from 'express';
import multer from 'multer';
import type { Context } from '../context.ts';
import { AppError, ValidationError, type FieldErrors } from '../errors.ts';
import { flash, h, idParam, requireRole } from '../web/middleware.ts';
import { actorOf } from '../web/actor.ts';
import { formatMoney } from '../i18n/format.ts';
import { formatIban } from '../settings/bank.ts';
import { BankFieldError, BankService, lineKind, type Proposal } from './bank.service.ts';
import { CsvMappingNeeded } from './statement-file.ts';
import { MAX_FILE_BYTES, MAX_FILE_MB, StatementFileError, type CsvMapping } from './statement.ts';

/**
 * Parses the statement upload (multipart) BEFORE the CSRF check, as the member import does
 * (mounted in app.ts ahead of csrf()): only POST /treasurer/bank/import and /mapping, only for
 * a signed-in treasurer (checked before a byte is buffered), one file smaller than 50 MB.
 * A file over the limit is drained and reported to the route (res.locals.uploadError),
 * which answers with a clear page after the CSRF check.
 */
export function bankUploadParser(): RequestHandler {
  const upload = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: MAX_FILE_BYTES, files: 1, fields: 20, fieldSize: 1024, parts: 21 },
  }).single('file');
  const guard = requireRole('treasurer');
  return (req, res, next) => {
    if (req.method !== 'POST' || (req.path !== '/import' && req.path !== '/mapping') || !req.is('multipart/form-data')) { next(); return; }
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

const MAPPING_FIELDS = ['bookingDate', 'amount', 'name', 'iban', 'text', 'valueDate', 'account'] as const;
const REQUIRED_MAPPING: readonly string[] = ['bookingDate', 'amount', 'name', 'text'];

/** The treasurer dashboard's count of unmatched bank bookings (res.locals.bankOpen on GET /treasurer). */
export function bankDashboardHook(ctx: Context): Router {
  const r = Router();
  r.get('/', h(async (req, res, next) => {
    if (req.user?.roles.some((x) => x === 'treasurer' || x === 'admin')) res.locals.bankOpen = { count: await ctx.bank.openCount() };
    next();
  }));
  return r;
}

/** The organisation's bank bookings on the board's member page (res.locals.bankBookings on GET /board/members/:id). */
export function bankMemberHook(ctx: Context): Router {
  const r = Router();
  r.get('/:id', h(async (req, res, next) => {
    if (/^\d{1,9}$/.test(String(req.params.id)) && req.user?.roles.some((x) => x === 'board' || x === 'treasurer' || x === 'admin')) {
      res.locals.bankBookings = await ctx.bank.forOrganisation(Number(req.params.id));
    }
    next();
  }));
  return r;
}

/** The treasurer's bank pages under /treasurer/bank: import, proposals, queue, decisions and undo. Treasurer writes, admin reads. */
export function bankRouter(ctx: Context): Router {
  const r = Router();
  r.use(requireRole('treasurer', 'admin'));
  const write = requireRole('treasurer');

  const present = (req: Request, p: Proposal | null) => p && ({
    ...p,
    fingerprint: BankService.fingerprint(p),
    confidenceText: req.t(`bank.confidence.${p.confidence}`),
    reasonTexts: p.reasons.map((x) => req.t(`bank.reasons.${x.key}`, { ...x.values, money: typeof x.values.cents === 'number' ? formatMoney(x.values.cents, req.locale) : '' })),
    numbers: p.allocations.map((a) => `${a.number} (${formatMoney(a.amountCents, req.locale)})`).join(', '),
  });

  const kindText = (req: Request, l: { kind: string; returnReason: string | null }) =>
    l.kind === 'return' ? req.t('bank.kind.return', { reason: l.returnReason ?? '?' }) : req.t(`bank.kind.${l.kind}`);

  const renderIndex = async (req: Request, res: Response, status = 200, extra: Record<string, unknown> = {}) => {
    const o = await ctx.bank.overview();
    const own = (await ctx.settings.association()).iban;
    res.status(status).render('bank/index', {
      title: req.t('bank.title'), section: 'dues', maxMb: MAX_FILE_MB, ownIban: own ? formatIban(own) : '',
      canWrite: req.user!.roles.includes('treasurer'),
      open: o.open.map((l) => ({ ...l, kindText: kindText(req, l), proposal: present(req, l.proposal) })),
      sureCount: o.open.filter((l) => l.proposal?.confidence === 'sure').length,
      booked: o.booked, notDues: o.notDues, returned: o.returned.map((l) => ({ ...l, kindText: kindText(req, { kind: lineKind(l), returnReason: l.returnReason }) })), openCount: o.openCount, statements: o.statements,
      ...extra,
    });
  };

  const fileError = (req: Request, e: StatementFileError): string => {
    const base = req.t(`bank.errors.file.${e.code}`, { ...e.params, maxMb: MAX_FILE_MB, defaultValue: req.t('bank.errors.file.not_statement') });
    return e.params.file ? `${String(e.params.file)}: ${base}` : base;
  };

  const uploadProblem = (req: Request, res: Response): string | null => {
    const uploadError = res.locals.uploadError as string | undefined; // why: set by bankUploadParser, a string or nothing
    if (uploadError === 'LIMIT_FILE_SIZE') return req.t('bank.errors.file.too_large', { maxMb: MAX_FILE_MB });
    if (uploadError) return req.t('bank.errors.file.upload');
    if (!req.file) return req.t('bank.errors.file.no_file');
    if (!req.file.size) return req.t('bank.errors.file.empty');
    return null;
  };

  const afterImport = (req: Request, res: Response, result: Awaited<ReturnType<BankService['import']>>) => {
    flash(req, 'success', req.t('bank.imported', { count: result.newLines, lines: result.lines, statements: result.statements, sure: result.sure, returns: result.returns }));
    res.redirect(303, '/treasurer/bank');
  };

  const renderMapping = (req: Request, res: Response, status: number, header: string[], signature: string, errors: FieldErrors = {}, values: Record<string, unknown> = {}) => {
    res.status(status).render('bank/mapping', {
      title: req.t('bank.mapping.title'), section: 'dues', signature, errors: Object.keys(errors).length ? errors : undefined, maxMb: MAX_FILE_MB,
      fields: MAPPING_FIELDS.map((f) => ({
        name: f, label: req.t(`bank.mapping.fields.${f}`), required: REQUIRED_MAPPING.includes(f), error: errors[f],
        options: header.map((hd, i) => ({ index: i, label: hd || `#${i + 1}`, selected: String(values[f] ?? '') === String(i) })),
      })),
    });
  };

  r.get('/', h(async (req, res) => renderIndex(req, res)));

  r.post('/import', write, h(async (req, res) => {
    const problem = uploadProblem(req, res);
    if (problem) return renderIndex(req, res, res.locals.uploadError === 'LIMIT_FILE_SIZE' ? 413 : 422, { error: problem });
    try {
      afterImport(req, res, await ctx.bank.import(actorOf(req), req.file!.originalname, req.file!.buffer));
    } catch (e) {
      if (e instanceof CsvMappingNeeded) return renderMapping(req, res, 200, e.header, e.signature);
      if (e instanceof StatementFileError) return renderIndex(req, res, 422, { error: fileError(req, e) });
      throw e;
    }
  }));

  r.post('/mapping', write, h(async (req, res) => {
    const problem = uploadProblem(req, res);
    if (problem) return renderIndex(req, res, res.locals.uploadError === 'LIMIT_FILE_SIZE' ? 413 : 422, { error: problem });
    const body = req.body as Record<string, unknown>; // why: multer's parsed fields, each read as a string below
    const errors: FieldErrors = {};
    const mapping: Record<string, number> = {};
    for (const f of MAPPING_FIELDS) {
      const v = String(body[f] ?? '');
      if (v === '') {
        if (REQUIRED_MAPPING.includes(f)) errors[f] = req.t('bank.mapping.required');
        mapping[f] = -1;
      } else if (/^\d{1,3}$/.test(v)) mapping[f] = Number(v);
      else errors[f] = req.t('common.validation.choice');
    }
    const mapped: CsvMapping = {
      bookingDate: mapping.bookingDate, amount: mapping.amount, name: mapping.name, iban: mapping.iban, text: mapping.text, account: mapping.account, valueDate: mapping.valueDate,
    };
    try {
      if (Object.keys(errors).length) {
        const { header, signature } = await ctx.bank.csvHeader(req.file!.buffer);
        return renderMapping(req, res, 422, header, signature, errors, body);
      }
      afterImport(req, res, await ctx.bank.import(actorOf(req), req.file!.originalname, req.file!.buffer, mapped));
    } catch (e) {
      if (e instanceof CsvMappingNeeded) return renderMapping(req, res, 422, e.header, e.signature, errors, body);
      if (e instanceof StatementFileError) return renderIndex(req, res, 422, { error: fileError(req, e) });
      throw e;
    }
  }));

  r.post('/confirm-all', write, h(async (req, res) => {
    const r2 = await ctx.bank.confirmAllSure(actorOf(req));
    flash(req, r2.booked ? 'success' : 'info', req.t('bank.confirmedAll', { count: r2.booked }) + (r2.failed ? ` ${req.t('bank.confirmFailed', { count: r2.failed })}` : ''));
    res.redirect(303, '/treasurer/bank');
  }));

  const lineRedirect = (res: Response, id: number) => res.redirect(303, `/treasurer/bank/lines/${id}`);

  const renderLine = async (req: Request, res: Response, id: number, status = 200, extra: Record<string, unknown> = {}) => {
    const line = await ctx.bank.line(id);
    const numbers = new Map(await Promise.all(line.allocations.map(async (a) => [a.invoiceId, (await ctx.dues.get(a.invoiceId)).number] as const)));
    const proposal = line.status === 'open' ? (await ctx.bank.proposals()).find((p) => p.lineId === id) ?? null : null;
    res.status(status).render('bank/line', {
      title: req.t('bank.line.title'), section: 'dues', line: { ...line, kindText: kindText(req, line), allocations: line.allocations.map((a) => ({ ...a, number: numbers.get(a.invoiceId) ?? '' })) }, proposal: present(req, proposal),
      canWrite: req.user!.roles.includes('treasurer'), errors: {}, values: {}, ...extra,
    });
  };

  r.get('/lines/:id', h(async (req, res) => renderLine(req, res, idParam(req))));

  const decided = (req: Request, res: Response, id: number, err: unknown): boolean => {
    if (err instanceof AppError && (err.code === 'bank_line_decided' || err.code === 'bank_proposal_changed' || err.code === 'bank_line_not_booked')) {
      flash(req, 'error', req.t(`bank.errors.${err.code}`));
      lineRedirect(res, id);
      return true;
    }
    return false;
  };

  const fieldErrors = (req: Request, err: ValidationError): FieldErrors =>
    Object.fromEntries(Object.entries(err.fields).map(([k, v]) => [k, req.t(v, err instanceof BankFieldError ? err.params : {})]));

  r.post('/lines/:id/confirm', write, h(async (req, res) => {
    const id = idParam(req);
    try {
      await ctx.bank.confirm(actorOf(req), id, String((req.body as Record<string, unknown>).fingerprint ?? '')); // why: the urlencoded form body
      flash(req, 'success', req.t('bank.bookedDone'));
      res.redirect(303, String((req.body as Record<string, unknown>).back ?? '') === 'line' ? `/treasurer/bank/lines/${id}` : '/treasurer/bank'); // why: the urlencoded form body
    } catch (err) {
      if (!decided(req, res, id, err)) throw err;
    }
  }));

  /**
   * The three decisions on a line taken from a form with one text field (assign by numbers,
   * "not dues" with a note, undo with a reason): the same handling for each, a field error
   * re-renders the line with what was typed, a line decided meanwhile is said so.
   */
  const lineDecisions: { path: string; field: string; max: number; done: string; act: (actor: ReturnType<typeof actorOf>, id: number, text: string) => Promise<void> }[] = [
    { path: 'assign', field: 'numbers', max: 500, done: 'bank.bookedDone', act: (a, id, text) => ctx.bank.assign(a, id, text) },
    { path: 'not-dues', field: 'note', max: 1000, done: 'bank.markedNotDues', act: (a, id, text) => ctx.bank.notDues(a, id, text) },
    { path: 'undo', field: 'reason', max: 1000, done: 'bank.undone', act: (a, id, text) => ctx.bank.undo(a, id, text) },
  ];
  for (const d of lineDecisions) {
    r.post(`/lines/:id/${d.path}`, write, h(async (req, res) => {
      const id = idParam(req);
      const body = req.body as Record<string, unknown>; // why: the urlencoded form body, read as strings
      try {
        await d.act(actorOf(req), id, String(body[d.field] ?? '').slice(0, d.max));
        flash(req, 'success', req.t(d.done));
        lineRedirect(res, id);
      } catch (err) {
        if (err instanceof ValidationError) return renderLine(req, res, id, 422, { errors: fieldErrors(req, err), values: body });
        if (!decided(req, res, id, err)) throw err;
      }
    }));
  }

  return r;
}
