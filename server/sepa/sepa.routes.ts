import { Router, type Request, type Response } from 'express';
import type { Context } from '../context.ts';
import { ForbiddenError, NotFoundError, ValidationError, type FieldErrors } from '../errors.ts';
import { flash, h, idParam, requireRole } from '../web/middleware.ts';
import { parseForm } from '../web/forms.ts';
import { actorOf } from '../web/actor.ts';
import { berlinDate } from '../clock.ts';
import { formatDate } from '../i18n/format.ts';
import { formatIban } from '../settings/bank.ts';
import { centsToEuroInput, parseEuroToCents } from '../settings/money.ts';
import { RETURN_CODES } from './rules.ts';
import { SepaSettingsError, type MandateView } from './sepa.service.ts';
import { cancelDebitSchema, fileQuerySchema, mandateSchema, portalMandateSchema, returnSchema, revokeSchema, runSchema, sepaSettingsForm } from './sepa.schemas.ts';
import { sepaSchema } from '../settings/settings.schemas.ts';
import { PAIN_VERSIONS } from './pain008.ts';

/**
 * The SEPA direct debit pages: the treasurer's runs and returns (/treasurer/sepa), the board's
 * mandate entry on the member page (/board/sepa), the member's own mandates in the portal
 * (/portal/sepa), and the hooks that put mandates and collections on the member page and the
 * treasurer's dashboard.
 */

const stateBadge: Record<MandateView['state'], string> = { active: 'badge-ok', revoked: 'badge-bad', flagged: 'badge-warn', expired: 'badge-bad' };

function present(req: Request, m: MandateView) {
  return {
    ...m, ibanText: formatIban(m.iban), stateLabel: req.t(`sepa.state.${m.state}`), stateBadge: stateBadge[m.state],
    flagText: m.flagCode ? `${m.flagCode}: ${req.t(`sepa.reasons.${m.flagCode}`)}` : '', usable: m.state === 'active' || m.state === 'flagged',
  };
}

const tFields = (req: Request, fields: FieldErrors, params: Record<string, string> = {}): FieldErrors => Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, req.t(v, params)]));

function reasons(req: Request, chosen = '') {
  return RETURN_CODES.map((code) => ({ code, label: `${code} – ${req.t(`sepa.reasons.${code}`)}`, selected: code === chosen }));
}

async function settingsWords(ctx: Context, req: Request): Promise<string> {
  const s = await ctx.settings.sepa();
  return req.t('sepa.rules.words', { days: s.preNotificationDays, core: s.leadBusinessDaysCore, b2b: s.leadBusinessDaysB2b });
}

/** /treasurer/sepa: runs, files, returns. Treasurer does everything, admin may read. */
export function sepaTreasurerRouter(ctx: Context): Router {
  const r = Router();
  r.use(requireRole('treasurer', 'admin'));
  const write = requireRole('treasurer');
  const canWrite = (req: Request) => !!req.user?.roles.includes('treasurer');

  r.get('/', h(async (req, res) => {
    await ctx.sepa.settleDue(actorOf(req));
    const runs = await ctx.sepa.runs();
    res.render('sepa/overview', {
      title: req.t('sepa.overview.title'), section: 'dues', runs, returns: await ctx.sepa.recentReturns(), canWrite: canWrite(req),
      problems: (await ctx.sepa.creditorProblems()).map((f) => req.t(`sepa.settingsField.${f}`)), rules: await settingsWords(ctx, req),
    });
  }));

  const renderNew = async (req: Request, res: Response, values: { dueDate?: string; invoiceIds?: string[] }, errors?: FieldErrors) => {
    const earliest = await ctx.sepa.earliestDueDate();
    const dueDate = values.dueDate || earliest;
    const items = await ctx.sepa.preview(dueDate);
    const chosen = values.invoiceIds ? new Set(values.invoiceIds) : null;
    res.status(errors ? 422 : 200).render('sepa/run-new', {
      title: req.t('sepa.run.newTitle'), section: 'dues', values: { dueDate }, errors, earliest, rules: await settingsWords(ctx, req),
      items: items.map((i) => ({ ...i, checked: chosen ? chosen.has(String(i.invoiceId)) : true })),
      totalCents: items.reduce((s, i) => s + i.amountCents, 0),
      problems: (await ctx.sepa.creditorProblems()).map((f) => req.t(`sepa.settingsField.${f}`)),
    });
  };

  r.get('/runs/new', write, h(async (req, res) => {
    const q = typeof req.query.dueDate === 'string' ? req.query.dueDate.slice(0, 10) : '';
    return renderNew(req, res, { dueDate: q });
  }));

  r.post('/runs', write, h(async (req, res) => {
    const p = parseForm(runSchema, req.body, req.t);
    const body = p.ok ? p.data : { dueDate: '', invoiceIds: undefined };
    const ids = body.invoiceIds === undefined ? [] : Array.isArray(body.invoiceIds) ? body.invoiceIds : [body.invoiceIds];
    if (!p.ok) return renderNew(req, res, { dueDate: body.dueDate, invoiceIds: ids }, p.errors);
    try {
      const out = await ctx.sepa.createRun(actorOf(req), { dueDate: body.dueDate, invoiceIds: ids.map(Number) });
      flash(req, 'success', req.t('sepa.run.created', { count: out.count }));
      res.redirect(303, `/treasurer/sepa/runs/${out.runId}`);
    } catch (err) {
      if (err instanceof ValidationError) return renderNew(req, res, { dueDate: body.dueDate, invoiceIds: ids }, tFields(req, err.fields, { date: formatDate(await ctx.sepa.earliestDueDate(), req.locale) }));
      if (err instanceof SepaSettingsError) {
        return renderNew(req, res, { dueDate: body.dueDate, invoiceIds: ids }, { dueDate: req.t('sepa.errors.settings', { fields: err.fields.map((f) => req.t(`sepa.settingsField.${f}`)).join(', ') }) });
      }
      throw err;
    }
  }));

  r.get('/runs/:id', h(async (req, res) => {
    await ctx.sepa.settleDue(actorOf(req));
    const { run, debits, files } = await ctx.sepa.run(idParam(req));
    res.render('sepa/run', {
      title: req.t('sepa.run.title', { id: run.id }), section: 'dues', run,
      debits: debits.map((d) => ({
        ...d, ibanText: formatIban(d.iban), statusLabel: req.t(`sepa.debitStatus.${d.status}`), recall: d.status === 'pending' && d.recallAskedAt != null,
        cancellable: canWrite(req) && d.status === 'pending', returnable: canWrite(req) && (d.status === 'pending' || d.status === 'collected'),
        // collected although a recall was asked: recalled at the bank after all, the booking is reversed on the take-out form
        lateRecall: canWrite(req) && d.status === 'collected' && !!d.recallAskedAt,
      })),
      files: files.map((f) => ({ ...f, links: PAIN_VERSIONS.map((v) => ({ version: v, href: `/treasurer/sepa/runs/${run.id}/file?scheme=${f.scheme}&sequence=${f.sequence}&version=${v}` })) })),
    });
  }));

  // taking a pending debit out of its collection (another payment came, the member asked, …)
  const renderCancel = async (req: Request, res: Response, values: { reason: string; recalled: boolean; wholeFile: boolean }, errors?: FieldErrors) => {
    const d = await ctx.sepa.debit(idParam(req));
    const late = d.status === 'collected' && !!d.recallAskedAt; // collected although a recall was asked: recalled too late, reversed here
    if (d.status !== 'pending' && !late && !errors) throw new NotFoundError();
    res.status(errors ? 422 : 200).render('sepa/debit-cancel', {
      title: req.t('sepa.cancel.title', { number: d.invoiceNumber }), section: 'dues', debit: d, values, errors, downloaded: !!d.fileDownloadedAt, late,
    });
  };

  r.get('/debits/:id/cancel', write, h(async (req, res) => renderCancel(req, res, { reason: '', recalled: false, wholeFile: false })));

  r.post('/debits/:id/cancel', write, h(async (req, res) => {
    const id = idParam(req);
    const p = parseForm(cancelDebitSchema, req.body, req.t);
    const raw = cancelDebitSchema.safeParse(req.body);
    const values = { reason: raw.success ? raw.data.reason : '', recalled: raw.success && raw.data.recalled === '1', wholeFile: raw.success && raw.data.wholeFile === '1' };
    if (!p.ok) return renderCancel(req, res, values, p.errors);
    try {
      await ctx.sepa.cancelDebit(actorOf(req), id, values);
    } catch (err) {
      if (err instanceof ValidationError) return renderCancel(req, res, values, tFields(req, err.fields));
      throw err;
    }
    const d = await ctx.sepa.debit(id);
    flash(req, 'success', req.t(d.wholeFileRecalled ? 'sepa.cancel.doneWholeFile' : d.fileDownloadedAt ? 'sepa.cancel.doneRecalled' : 'sepa.cancel.done', { number: d.invoiceNumber }));
    res.redirect(303, `/treasurer/sepa/runs/${d.runId}`);
  }));

  r.get('/runs/:id/file', h(async (req, res) => {
    const id = idParam(req);
    const q = fileQuerySchema.safeParse(req.query);
    if (!q.success) throw new NotFoundError();
    const f = await ctx.sepa.file(actorOf(req), id, q.data.scheme, q.data.sequence, q.data.version);
    res.setHeader('Content-Type', 'application/xml; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="${f.filename}"`);
    res.send(f.xml);
  }));

  // the settings of direct debits (pre-notification, lead times, return fee), audited by the settings service
  const renderSettings = async (req: Request, res: Response, values?: Record<string, string>, errors?: FieldErrors) => {
    const s = await ctx.settings.sepa();
    res.status(errors ? 422 : 200).render('sepa/settings', {
      title: req.t('sepa.settings.title'), section: 'dues', errors, rules: await settingsWords(ctx, req), canWrite: canWrite(req),
      values: values ?? { preNotificationDays: String(s.preNotificationDays), leadBusinessDaysCore: String(s.leadBusinessDaysCore), leadBusinessDaysB2b: String(s.leadBusinessDaysB2b), returnFee: centsToEuroInput(s.returnFeeCents), chargeReturnFee: s.chargeReturnFee ? '1' : '' },
    });
  };

  r.get('/settings', h(async (req, res) => renderSettings(req, res)));

  r.post('/settings', write, h(async (req, res) => {
    const p = parseForm(sepaSettingsForm, req.body, req.t);
    const raw = sepaSettingsForm.safeParse(req.body);
    const values = raw.success ? raw.data : { preNotificationDays: '', leadBusinessDaysCore: '', leadBusinessDaysB2b: '', returnFee: '', chargeReturnFee: '' };
    if (!p.ok) return renderSettings(req, res, values, p.errors);
    const fee = values.returnFee.trim() === '' ? 0 : parseEuroToCents(values.returnFee);
    // h/fee: the checkbox sends '1' when ticked and nothing when not; anything else is refused next to it
    const charge = values.chargeReturnFee === '1' ? true : values.chargeReturnFee === '' ? false : null;
    const parsed = sepaSchema.safeParse({ ...values, returnFeeCents: fee ?? -1, chargeReturnFee: charge });
    if (!parsed.success) {
      const errors: FieldErrors = {};
      for (const i of parsed.error.issues) {
        const k = String(i.path[0]) === 'returnFeeCents' ? 'returnFee' : String(i.path[0]);
        errors[k] ??= req.t(`sepa.settings.invalid.${k}`);
      }
      return renderSettings(req, res, values, errors);
    }
    await ctx.settings.updateSepa(actorOf(req), parsed.data);
    flash(req, 'success', req.t('sepa.settings.saved'));
    res.redirect(303, '/treasurer/sepa/settings');
  }));

  const renderReturn = async (req: Request, res: Response, values: Record<string, string>, errors?: FieldErrors) => {
    res.status(errors ? 422 : 200).render('sepa/return-new', {
      title: req.t('sepa.returns.newTitle'), section: 'dues', values, errors, reasons: reasons(req, values.reasonCode ?? ''),
    });
  };

  r.get('/returns/new', write, h(async (req, res) => {
    const s = await ctx.settings.sepa();
    const e2e = typeof req.query.endToEndId === 'string' ? req.query.endToEndId.slice(0, 35) : '';
    return renderReturn(req, res, { endToEndId: e2e, reasonCode: '', amount: '', bookedOn: berlinDate(ctx.clock.now()), fee: s.returnFeeCents ? centsToEuroInput(s.returnFeeCents) : '' });
  }));

  r.post('/returns', write, h(async (req, res) => {
    const p = parseForm(returnSchema, req.body, req.t);
    const raw = returnSchema.safeParse(req.body);
    const values = raw.success ? raw.data : { endToEndId: '', reasonCode: '', amount: '', bookedOn: '', fee: '' };
    if (!p.ok) return renderReturn(req, res, values, p.errors);
    const amountCents = parseEuroToCents(values.amount);
    const feeCents = values.fee.trim() === '' ? 0 : parseEuroToCents(values.fee);
    const errors: FieldErrors = {};
    if (amountCents === null || amountCents <= 0) errors.amount = req.t('common.validation.money');
    if (feeCents === null || feeCents < 0) errors.fee = req.t('common.validation.money');
    if (Object.keys(errors).length) return renderReturn(req, res, values, errors);
    try {
      const out = await ctx.sepa.recordReturn({ endToEndId: values.endToEndId, reasonCode: values.reasonCode, amountCents: amountCents ?? 0, bookedOn: values.bookedOn, feeCents: feeCents ?? 0 }, actorOf(req));
      const feeText = out.feeInvoiceId ? ` ${req.t('sepa.mail.returnTreasurer.feeCharged', { feeNumber: (await ctx.dues.get(out.feeInvoiceId)).number })}` : ''; // h/fee
      flash(req, 'success', req.t(out.mandateFlagged ? 'sepa.returns.savedFlagged' : 'sepa.returns.saved') + feeText);
      res.redirect(303, `/treasurer/invoices/${out.invoiceId}`);
    } catch (err) {
      if (err instanceof ValidationError) return renderReturn(req, res, values, tFields(req, err.fields));
      throw err;
    }
  }));
  return r;
}

/** GET /treasurer: the collections due and the recent returns on the treasurer's dashboard (mounted before the dues router). */
export function sepaDashboardHook(ctx: Context): Router {
  const r = Router();
  r.get('/', h(async (req, res, next) => {
    if (req.user?.roles.some((x) => x === 'treasurer' || x === 'admin')) {
      await ctx.sepa.settleDue(actorOf(req));
      res.locals.sepa = { ...(await ctx.sepa.dashboard()), canWrite: req.user.roles.includes('treasurer') };
    }
    next();
  }));
  return r;
}

/** GET /board/members/:id: the member's mandates, debits and returns on the member page (mounted before the members router). */
export function sepaMemberHook(ctx: Context): Router {
  const r = Router();
  r.get('/:id', h(async (req, res, next) => {
    const id = Number(req.params.id);
    if (req.user?.roles.some((x) => x === 'board' || x === 'treasurer' || x === 'admin') && Number.isSafeInteger(id) && id > 0) {
      const x = await ctx.sepa.ofOrganisation(id);
      res.locals.sepaMember = {
        organisationId: id, mandates: x.mandates.map((m) => present(req, m)), debits: x.debits.slice(0, 20), returns: x.returns,
        canEdit: req.user.roles.some((y) => y === 'board' || y === 'treasurer'),
      };
    }
    next();
  }));
  return r;
}

/** /board/sepa: a signed paper mandate entered by the board or the treasurer; revocation; clearing a flag. */
export function sepaBoardRouter(ctx: Context): Router {
  const r = Router();
  r.use(requireRole('board', 'treasurer'));

  const renderNew = async (req: Request, res: Response, orgId: number, values: Record<string, string>, errors?: FieldErrors) => {
    const org = await ctx.members.get(orgId);
    if (!org) throw new NotFoundError();
    res.status(errors ? 422 : 200).render('sepa/mandate-new', { title: req.t('sepa.mandate.newTitle'), section: 'members', org, values, errors });
  };

  r.get('/members/:id/mandates/new', h(async (req, res) => renderNew(req, res, idParam(req), { scheme: 'CORE', iban: '', bic: '', holder: '', signedOn: '', reference: '' })));

  r.post('/members/:id/mandates', h(async (req, res) => {
    const orgId = idParam(req);
    const raw = mandateSchema.safeParse(req.body);
    const values = raw.success ? raw.data : { scheme: '', iban: '', bic: '', holder: '', signedOn: '', reference: '' };
    const p = parseForm(mandateSchema, req.body, req.t);
    if (!p.ok) return renderNew(req, res, orgId, values, p.errors);
    if (!(await ctx.members.get(orgId))) throw new NotFoundError();
    try {
      await ctx.sepa.createMandate(actorOf(req), orgId, 'paper', p.data);
      flash(req, 'success', req.t('sepa.mandate.saved'));
      res.redirect(303, `/board/members/${orgId}#sepa-mandates`);
    } catch (err) {
      if (err instanceof ValidationError) return renderNew(req, res, orgId, values, tFields(req, err.fields));
      throw err;
    }
  }));

  r.post('/mandates/:id/revoke', h(async (req, res) => {
    const m = await ctx.sepa.mandate(idParam(req));
    const p = parseForm(revokeSchema, req.body, req.t);
    await ctx.sepa.revokeMandate(actorOf(req), m.id, p.ok ? p.data.reason : '');
    flash(req, 'success', req.t('sepa.mandate.revoked'));
    res.redirect(303, `/board/members/${m.organisationId}#sepa-mandates`);
  }));

  r.post('/mandates/:id/clear-flag', h(async (req, res) => {
    const m = await ctx.sepa.mandate(idParam(req));
    await ctx.sepa.clearFlag(actorOf(req), m.id);
    flash(req, 'success', req.t('sepa.mandate.flagCleared'));
    res.redirect(303, `/board/members/${m.organisationId}#sepa-mandates`);
  }));
  return r;
}

/** /portal/sepa: the member contact's own organisation's mandates; granting one online (signed today) and revoking. */
export function sepaPortalRouter(ctx: Context): Router {
  const r = Router();
  r.use(requireRole('member'));
  const orgOf = (req: Request): number => {
    const id = req.user!.organisationId;
    if (!id) throw new ForbiddenError('no_organisation');
    return id;
  };

  const render = async (req: Request, res: Response, values: Record<string, string>, errors?: FieldErrors) => {
    const a = await ctx.settings.association();
    res.status(errors ? 422 : 200).render('sepa/portal', {
      title: req.t('sepa.portal.title'), section: 'portal', values, errors,
      mandates: (await ctx.sepa.mandatesOf(orgOf(req))).map((m) => present(req, m)),
      mandateText: req.t('sepa.portal.mandateText', { creditor: a.name, creditorId: a.sepaCreditorId || '–' }),
    });
  };

  r.get('/', h(async (req, res) => render(req, res, { scheme: 'CORE', iban: '', bic: '', holder: '' })));

  r.post('/', h(async (req, res) => {
    const raw = mandateSchema.safeParse(req.body);
    const values = raw.success ? raw.data : { scheme: '', iban: '', bic: '', holder: '' };
    const p = parseForm(portalMandateSchema, req.body, req.t);
    if (!p.ok) return render(req, res, values, p.errors);
    try {
      await ctx.sepa.createMandate(actorOf(req), orgOf(req), 'portal', { ...p.data, signedOn: berlinDate(ctx.clock.now()) }, req.user!.contactId);
      flash(req, 'success', req.t('sepa.portal.saved'));
      res.redirect(303, '/portal/sepa');
    } catch (err) {
      if (err instanceof ValidationError) return render(req, res, values, tFields(req, err.fields));
      throw err;
    }
  }));

  r.post('/:id/revoke', h(async (req, res) => {
    await ctx.sepa.revokeMandate(actorOf(req), idParam(req), req.t('sepa.portal.revokedByMember'), orgOf(req));
    flash(req, 'success', req.t('sepa.mandate.revoked'));
    res.redirect(303, '/portal/sepa');
  }));
  return r;
}
