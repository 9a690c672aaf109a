import crypto from 'node:crypto';
import { z } from 'zod';
import { Router, type Request, type Response } from 'express';
import { DateTime } from 'luxon';
import type { Context } from '../context.ts';
import { AppError, NotFoundError } from '../errors.ts';
import { flash, h, idParam, requireRole } from '../web/middleware.ts';
import { parseForm } from '../web/forms.ts';
import { berlinDate, ZONE } from '../clock.ts';
import { formatDate, formatMoney, formatQuantity } from '../i18n/format.ts';
import { centsToEuroInput } from '../settings/money.ts';
import { INVOICE_STATUSES } from './invoice.ts';
import { isValidYear, type Dashboard, type IssueResult } from './dues.service.ts';
import { cancelSchema, creditSchema, listFilterSchema, paymentSchema, refundSchema, remindersStopSchema, reversalSchema, yearFormSchema } from './dues.schemas.ts';
import { ITEM_ROWS, ITEM_VAT, itemField, itemsFormSchema } from './dues.schemas.ts'; // h/items
import { ValidationError, type FieldErrors } from '../errors.ts';
import { MAX_PAID_FACTOR } from './payments.service.ts';
import { datevBookings, datevBuchungsstapel, invoicesCsv, paymentsCsv } from './datev-export.ts';
import { DATEV_CHART_DEFAULTS, datevSchema } from '../settings/settings.schemas.ts';
import { actorOf } from '../web/actor.ts';
import { EInvoiceRefused } from './dues.service.ts'; // h/einvoice
import { einvoiceRefusal } from '../einvoice/words.ts'; // h/einvoice
import { EINVOICE_PAYMENT_MEANS, einvoiceSchema } from '../settings/settings.schemas.ts'; // h/einvoice

/** Server-rendered bar chart (inline SVG, no script): one bar per month. */
export function paymentsChart(d: Dashboard, locale: 'de' | 'en') {
  const max = Math.max(1, ...d.months.map((m) => m.cents));
  const barW = 28;
  const gap = 8;
  const chartH = 140;
  const top = 16;
  const bars = d.months.map((m, i) => {
    const hgt = m.cents > 0 ? Math.max(2, Math.round((m.cents / max) * chartH)) : 0;
    const dt = DateTime.fromISO(`${m.month}-01`).setLocale(locale === 'en' ? 'en-GB' : 'de-DE');
    return {
      x: i * (barW + gap) + gap,
      y: top + chartH - hgt,
      w: barW,
      h: hgt,
      labelX: i * (barW + gap) + gap + barW / 2,
      labelY: top + chartH + 14,
      label: dt.toFormat('LLL'),
      yearLabel: dt.month === 1 || i === 0 ? dt.toFormat('yyyy') : '',
      title: `${dt.toFormat('LLLL yyyy')}: ${formatMoney(m.cents, locale)}`,
      amount: formatMoney(m.cents, locale),
      monthName: dt.toFormat('LLLL yyyy'),
    };
  });
  return { width: d.months.length * (barW + gap) + gap, height: top + chartH + 34, baseY: top + chartH, bars, max: formatMoney(max, locale), empty: d.months.every((m) => m.cents === 0) };
}

/**
 * The treasurer's pages under /treasurer: dashboard, fee schedule, dues run, invoices,
 * payments, cancellations, reminders, exports. Treasurer does everything; admin may read;
 * board may see the dashboard.
 */
export function duesRouter(ctx: Context): Router {
  const r = Router();
  r.use(requireRole('treasurer', 'admin', 'board'));
  const read = requireRole('treasurer', 'admin');
  const write = requireRole('treasurer');

  const defaultYear = async (): Promise<number> => {
    const years = [...(await ctx.dues.scheduleYears()), ...(await ctx.dues.yearsWithInvoices())];
    return years.length ? Math.max(...years) : DateTime.fromJSDate(ctx.clock.now(), { zone: ZONE }).year;
  };
  const yearOf = async (req: Request): Promise<number> => {
    if (req.query.year === undefined || req.query.year === '') return defaultYear();
    const y = Number(req.query.year);
    if (!isValidYear(y)) throw new NotFoundError();
    return y;
  };
  const yearParam = (req: Request): number => {
    const y = Number(req.params.year);
    if (!isValidYear(y)) throw new NotFoundError();
    return y;
  };

  r.get('/', h(async (req, res) => {
    const year = await yearOf(req);
    const d = await ctx.dues.dashboard(year);
    const years = [...new Set([year, year + 1, year - 1, ...(await ctx.dues.yearsWithInvoices()), ...(await ctx.dues.scheduleYears())])].sort((a, b) => b - a);
    const recent = await ctx.dues.list({ year, perPage: 10 });
    res.render('dues/dashboard', {
      title: req.t('dues.dashboard.title', { year }), section: 'dues', year, years, d, chart: paymentsChart(d, req.locale), recent: recent.rows,
      stripeFlags: ctx.stripe.enabled ? await ctx.dues.stripeFlags(year) : null, // h/stripe
      canWrite: req.user!.roles.includes('treasurer'), canRead: req.user!.roles.some((x) => x === 'treasurer' || x === 'admin'),
    });
  }));

  // ------------------------------------------------------------ fee schedule
  r.get('/fees/:year', read, h(async (req, res) => {
    const year = yearParam(req);
    const schedule = await ctx.dues.feeSchedule(year);
    const categories = await ctx.settings.categories({ includeInactive: true });
    const rules = await ctx.settings.rules();
    const issued = (await ctx.dues.list({ year, perPage: 1 })).total > 0;
    res.render('dues/fees', { title: req.t('dues.fees.title', { year }), section: 'dues', year, schedule, categories, rules, issued, canWrite: req.user!.roles.includes('treasurer') });
  }));

  r.post('/fees', write, h(async (req, res) => {
    const parsed = parseForm(yearFormSchema, req.body, req.t);
    if (!parsed.ok) throw new NotFoundError();
    const year = parsed.data.year;
    try {
      await ctx.dues.freezeFeeSchedule(actorOf(req), year);
      flash(req, 'success', req.t('dues.fees.frozen', { year }));
    } catch (err) {
      if (err instanceof AppError && err.code === 'schedule_in_use') flash(req, 'error', req.t('dues.fees.inUse', { year }));
      else throw err;
    }
    res.redirect(303, `/treasurer/fees/${year}`);
  }));

  // ------------------------------------------------------------ dues run
  r.get('/runs/new/:year', read, h(async (req, res) => {
    const year = yearParam(req);
    const preview = await ctx.dues.preview(year);
    const runs = await ctx.duesRuns.runsOfYear(year);
    const running = runs.find((x) => x.status === 'running' || x.status === 'queued');
    const taxMissing = (await ctx.dues.missingTaxSettings()).map((k) => req.t(`money.tax.${k}`)); // h/money
    res.render('dues/run-preview', { title: req.t('dues.run.previewTitle', { year }), section: 'dues', year, preview, runs, running, canWrite: req.user!.roles.includes('treasurer') && !taxMissing.length, taxMissing });
  }));

  r.post('/runs', write, h(async (req, res) => {
    const parsed = parseForm(yearFormSchema, req.body, req.t);
    if (!parsed.ok) throw new NotFoundError();
    const year = parsed.data.year;
    try {
      const { runId } = await ctx.duesRuns.start(actorOf(req), year);
      res.redirect(303, `/treasurer/runs/${runId}`);
    } catch (err) {
      if (err instanceof AppError && (err.code === 'job_running' || err.code === 'no_fee_schedule' || err.code === 'tax_settings_missing')) {
        flash(req, 'error', req.t(`dues.run.${err.code}`, { year }));
        res.redirect(303, `/treasurer/runs/new/${year}`);
        return;
      }
      throw err;
    }
  }));

  r.get('/runs/:id', read, h(async (req, res) => {
    const run = await ctx.duesRuns.run(idParam(req));
    const active = run.job.status === 'queued' || run.job.status === 'running';
    const failed = active ? [] : await ctx.duesRuns.failedOf(run.id); // h/stripe
    res.render('dues/run', {
      title: req.t('dues.run.title', { year: run.year }), section: 'dues', run, job: run.job, active,
      refreshSeconds: active ? 2 : undefined, result: run.job.result,
      failed, canWrite: req.user!.roles.includes('treasurer'), // h/stripe
    });
  }));

  // ------------------------------------------------------------ invoices
  r.get('/invoices', read, h(async (req, res) => {
    const f = listFilterSchema.parse(req.query);
    const year = f.year;
    const list = await ctx.dues.list({ year, status: f.status, q: f.q, overdue: f.overdue === '1', page: f.page });
    const qs = (page: number) => {
      const p = new URLSearchParams();
      if (year) p.set('year', String(year));
      if (f.status) p.set('status', f.status);
      if (f.q) p.set('q', f.q);
      if (f.overdue) p.set('overdue', '1');
      p.set('page', String(page));
      return `/treasurer/invoices?${p.toString()}`;
    };
    res.render('dues/invoices', {
      title: req.t('dues.invoices.title'), section: 'dues', list, filter: f, year, statuses: INVOICE_STATUSES, flags: await ctx.dues.leftFlags(list.rows, req.locale), // h/money
      years: await ctx.dues.yearsWithInvoices(),
      pager: { page: list.page, pages: list.pages, prevUrl: list.page > 1 ? qs(list.page - 1) : null, nextUrl: list.page < list.pages ? qs(list.page + 1) : null },
    });
  }));

  const renderInvoice = async (req: Request, res: Response, id: number, extra: Record<string, unknown> = {}) => {
    const invoice = await ctx.dues.get(id);
    const payments = await ctx.payments.forInvoice(id);
    const today = berlinDate(ctx.clock.now());
    res.render('dues/invoice', {
      title: req.t('dues.invoice.title', { number: invoice.number }), section: 'dues', invoice, payments: ctx.payments.withFlags(payments),
      excess: ctx.dues.excessOf(invoice), // h/money
      leftFlag: (await ctx.dues.leftFlags([invoice], req.locale))[invoice.id] ?? '',
      overdue: invoice.openCents > 0 && invoice.dueDate < today,
      ...ctx.dues.actions(invoice),
      canWrite: req.user!.roles.includes('treasurer'),
      values: { date: today, amount: invoice.openCents > 0 ? centsToEuroInput(invoice.openCents) : '', reference: invoice.number },
      ...extra,
    });
  };

  r.get('/invoices/:id', read, h(async (req, res) => renderInvoice(req, res, idParam(req))));

  // ------------------------------------------------------------ h/money: corrections of payments
  const tFields = (req: Request, fields: FieldErrors, params: Record<string, unknown> = {}): FieldErrors =>
    Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, req.t(v, params)]));

  const renderReverse = async (req: Request, res: Response, paymentId: number, extra: Record<string, unknown> = {}) => {
    const payment = await ctx.payments.get(paymentId);
    const invoice = await ctx.dues.get(payment.invoiceId);
    res.render('dues/payment-reverse', {
      title: req.t('money.reverse.title'), section: 'dues', invoice, payment,
      values: { date: berlinDate(ctx.clock.now()), amount: centsToEuroInput(payment.amountCents), reason: '' }, ...extra,
    });
  };

  r.get('/payments/:id/reverse', write, h(async (req, res) => renderReverse(req, res, idParam(req))));

  r.post('/payments/:id/reverse', write, h(async (req, res) => {
    const id = idParam(req);
    const payment = await ctx.payments.get(id);
    const parsed = parseForm(reversalSchema, req.body, req.t);
    if (!parsed.ok) {
      res.status(422);
      await renderReverse(req, res, id, { errors: parsed.errors, values: req.body });
      return;
    }
    try {
      await ctx.payments.reverse(actorOf(req), id, { date: parsed.data.date, amountCents: parsed.data.amount, reason: parsed.data.reason });
      flash(req, 'success', req.t('money.reverse.done'));
      res.redirect(303, `/treasurer/invoices/${payment.invoiceId}`);
    } catch (err) {
      if (err instanceof ValidationError) {
        res.status(422);
        await renderReverse(req, res, id, { errors: tFields(req, err.fields, { paid: formatMoney(payment.amountCents, req.locale) }), values: req.body });
        return;
      }
      if (err instanceof AppError && (err.code === 'stripe_payment' || err.code === 'not_reversible')) {
        flash(req, 'error', req.t(`money.reverse.${err.code}`));
        res.redirect(303, `/treasurer/invoices/${payment.invoiceId}`);
        return;
      }
      throw err;
    }
  }));

  const renderOverpayment = async (req: Request, res: Response, invoiceId: number, extra: Record<string, unknown> = {}) => {
    const invoice = await ctx.dues.get(invoiceId);
    const excess = ctx.dues.excessOf(invoice);
    res.render('dues/overpayment', {
      title: req.t('money.overpayment.title', { number: invoice.number }), section: 'dues', invoice, excess,
      values: { date: berlinDate(ctx.clock.now()), amount: centsToEuroInput(excess), reason: '' }, creditValues: { reason: '' }, ...extra,
    });
  };

  r.get('/invoices/:id/overpayment', write, h(async (req, res) => renderOverpayment(req, res, idParam(req))));

  r.post('/invoices/:id/refund', write, h(async (req, res) => {
    const id = idParam(req);
    await ctx.dues.get(id);
    const parsed = parseForm(refundSchema, req.body, req.t);
    if (!parsed.ok) {
      res.status(422);
      await renderOverpayment(req, res, id, { errors: parsed.errors, values: req.body });
      return;
    }
    try {
      await ctx.payments.refund(actorOf(req), id, { date: parsed.data.date, amountCents: parsed.data.amount, reason: parsed.data.reason });
      flash(req, 'success', req.t('money.overpayment.refunded'));
      res.redirect(303, `/treasurer/invoices/${id}`);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      res.status(422);
      await renderOverpayment(req, res, id, { errors: tFields(req, err.fields), values: req.body });
    }
  }));

  r.post('/invoices/:id/credit', write, h(async (req, res) => {
    const id = idParam(req);
    await ctx.dues.get(id);
    const parsed = parseForm(creditSchema, req.body, req.t);
    if (!parsed.ok) {
      res.status(422);
      await renderOverpayment(req, res, id, { creditErrors: parsed.errors, creditValues: req.body });
      return;
    }
    try {
      const c = await ctx.payments.carryCredit(actorOf(req), id, { reason: parsed.data.reason });
      flash(req, 'success', c.appliedTo
        ? req.t('money.overpayment.creditApplied', { amount: formatMoney(c.creditCents, req.locale), number: c.appliedTo })
        : req.t('money.overpayment.creditKept', { amount: formatMoney(c.creditCents, req.locale) }));
      res.redirect(303, `/treasurer/invoices/${id}`);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      res.status(422);
      await renderOverpayment(req, res, id, { creditErrors: tFields(req, err.fields), creditValues: req.body });
    }
  }));

  r.get('/invoices/:id/pdf', read, h(async (req, res) => {
    const { invoice, pdf } = await ctx.dues.pdf(idParam(req));
    res.type('application/pdf').set('Content-Disposition', `inline; filename="${invoice.number}.pdf"`).send(pdf);
  }));

  r.post('/invoices/:id/payments', write, h(async (req, res) => {
    const id = idParam(req);
    await ctx.dues.get(id);
    const parsed = parseForm(paymentSchema, req.body, req.t);
    if (!parsed.ok) {
      res.status(422);
      await renderInvoice(req, res, id, { errors: parsed.errors, values: req.body });
      return;
    }
    try {
      const r2 = await ctx.payments.record(actorOf(req), id, { date: parsed.data.date, amountCents: parsed.data.amount, reference: parsed.data.reference });
      flash(req, r2.overpayment ? 'info' : 'success', req.t(r2.overpayment ? 'dues.payments.recordedOver' : 'dues.payments.recorded'));
    } catch (err) {
      if (err instanceof ValidationError) {
        const inv = await ctx.dues.get(id);
        res.status(422);
        await renderInvoice(req, res, id, { errors: tFields(req, err.fields, { max: formatMoney(MAX_PAID_FACTOR * inv.amountCents, req.locale) }), values: req.body });
        return;
      }
      if (err instanceof AppError && err.code === 'invoice_not_payable') flash(req, 'error', req.t('dues.payments.notPayable'));
      else throw err;
    }
    res.redirect(303, `/treasurer/invoices/${id}`);
  }));

  r.post('/invoices/:id/cancel', write, h(async (req, res) => {
    const id = idParam(req);
    await ctx.dues.get(id);
    const parsed = parseForm(cancelSchema, req.body, req.t);
    if (!parsed.ok) {
      res.status(422);
      await renderInvoice(req, res, id, { cancelErrors: parsed.errors });
      return;
    }
    try {
      const c = await ctx.dues.cancelInvoice(actorOf(req), id, parsed.data.reason);
      flash(req, 'success', req.t('dues.cancel.done', { number: c.number }));
      if (c.stripeError) flash(req, 'error', req.t('dues.cancel.stripeFailed'));
      res.redirect(303, `/treasurer/invoices/${c.cancellationId}`);
    } catch (err) {
      if (err instanceof EInvoiceRefused) { // h/einvoice
        flash(req, 'error', einvoiceRefusal(req.t, err.fields));
        res.redirect(303, `/treasurer/invoices/${id}`);
        return;
      }
      if (err instanceof ValidationError) { // h/debit: a direct debit at the bank collects it: recall it first
        res.status(422);
        await renderInvoice(req, res, id, { cancelErrors: Object.fromEntries(Object.entries(err.fields).map(([k, v]) => [k, req.t(v)])), cancelValues: { reason: parsed.data.reason } });
        return;
      }
      if (err instanceof AppError && (err.code === 'already_cancelled' || err.code === 'not_an_invoice')) {
        flash(req, 'error', req.t('dues.cancel.notPossible'));
        res.redirect(303, `/treasurer/invoices/${id}`);
        return;
      }
      throw err;
    }
  }));

  // h/fee: an issued invoice that did not go out (Stripe unreachable) is delivered now
  r.post('/invoices/:id/deliver', write, h(async (req, res) => {
    const id = idParam(req);
    const out = await ctx.dues.deliverNow(actorOf(req), id);
    const number = (await ctx.dues.get(id)).number;
    if (out.delivered) flash(req, 'success', req.t('dues.deliver.done', { number }));
    else flash(req, 'error', req.t('dues.deliver.failed', { number, error: out.error ?? '' }));
    res.redirect(303, `/treasurer/invoices/${id}`);
  }));

  r.post('/invoices/:id/reissue', write, h(async (req, res) => {
    const id = idParam(req);
    const inv = await ctx.dues.get(id);
    if (!ctx.dues.actions(inv).reissuable) {
      flash(req, 'error', req.t('dues.reissue.notPossible'));
      res.redirect(303, `/treasurer/invoices/${id}`);
      return;
    }
    const r2 = await ctx.dues.issueAndDeliver(actorOf(req), inv.organisationId, inv.year);
    if (r2.issued) {
      flash(req, 'success', req.t('dues.reissue.done', { number: r2.number }));
      res.redirect(303, `/treasurer/invoices/${r2.invoiceId}`);
    } else if (r2.reason === 'tax_settings') {
      flash(req, 'error', req.t('money.single.refused.tax_settings', { year: inv.year }));
      res.redirect(303, `/treasurer/invoices/${id}`);
    } else if (r2.reason === 'einvoice') { // h/einvoice
      flash(req, 'error', einvoiceRefusal(req.t, r2.fields ?? []));
      res.redirect(303, `/treasurer/invoices/${id}`);
    } else if (r2.reason === 'left') {
      flash(req, 'error', req.t('money.left.refused', { date: formatDate(r2.exitDate ?? '', req.locale), year: inv.year }));
      res.redirect(303, `/treasurer/invoices/${id}`);
    } else {
      flash(req, 'error', req.t(`dues.run.skip.${r2.reason}`));
      res.redirect(303, r2.invoiceId ? `/treasurer/invoices/${r2.invoiceId}` : `/treasurer/invoices/${id}`);
    }
  }));

  r.post('/invoices/:id/reminders', write, h(async (req, res) => {
    const id = idParam(req);
    await ctx.dues.get(id);
    const parsed = parseForm(remindersStopSchema, req.body, req.t);
    if (parsed.ok) {
      await ctx.dues.stopReminders(actorOf(req), id, parsed.data.stopped === '1');
      flash(req, 'success', req.t(parsed.data.stopped === '1' ? 'dues.reminders.stoppedFlash' : 'dues.reminders.resumedFlash'));
    }
    res.redirect(303, `/treasurer/invoices/${id}`);
  }));

  // ------------------------------------------------------------ h/money: a single invoice for one member (no run)
  r.post('/organisations/:id/invoice', write, h(async (req, res) => {
    const orgId = idParam(req);
    const back = `/board/members/${orgId}`;
    const parsed = parseForm(yearFormSchema, req.body, req.t);
    if (!parsed.ok) {
      // the form sits on the member page: its message (e.g. a control character removed) comes back there
      flash(req, 'error', Object.values(parsed.errors)[0] ?? req.t('dues.validation.year'));
      res.redirect(303, back);
      return;
    }
    const year = parsed.data.year;
    const r2 = await ctx.dues.issueSingle(actorOf(req), orgId, year);
    if (r2.issued) {
      if (r2.undelivered) flash(req, 'error', `${req.t('money.single.done', { number: r2.number })} ${req.t('dues.items.notDelivered', { numbers: r2.number })}`);
      else flash(req, 'success', req.t('money.single.done', { number: r2.number }));
      res.redirect(303, `/treasurer/invoices/${r2.invoiceId}`);
      return;
    }
    if (r2.reason === 'einvoice') { // h/einvoice
      flash(req, 'error', einvoiceRefusal(req.t, r2.fields ?? []));
      res.redirect(303, back);
      return;
    }
    const number = r2.invoiceId ? (await ctx.dues.get(r2.invoiceId)).number : '';
    flash(req, 'error', req.t(`money.single.refused.${r2.reason}`, { year, number, date: formatDate(r2.exitDate ?? '', req.locale) }));
    res.redirect(303, back);
  }));

  // ------------------------------------------------------------ h/items: an invoice with further items (an event fee with VAT)
  const renderItems = async (req: Request, res: Response, orgId: number, values: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
    const org = await ctx.members.get(orgId);
    if (!org) throw new NotFoundError();
    const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : '');
    const errors = (extra.errors ?? {}) as Record<string, string>;
    const rows = Array.from({ length: ITEM_ROWS }, (_, i) => {
      const row = i + 1;
      const f = (x: 'Name' | 'Qty' | 'Price' | 'Vat') => ({ name: itemField(row, x), value: str(itemField(row, x)), error: errors[itemField(row, x)] });
      const vat = f('Vat');
      return { row, name: f('Name'), qty: f('Qty'), price: f('Price'), vat, vats: ITEM_VAT.map((v) => ({ value: v, selected: (vat.value || '19') === v })) };
    });
    res.status(extra.errors || extra.refusal ? 422 : 200).render('dues/items', {
      title: req.t('dues.items.title'), section: 'dues', organisation: org, rows, values,
      withDues: str('withDues') === '1', ...extra,
    });
  };

  r.get('/organisations/:id/invoice/items', write, h(async (req, res) => {
    const today = berlinDate(ctx.clock.now());
    await renderItems(req, res, idParam(req), { requestKey: crypto.randomBytes(18).toString('base64url'), serviceStart: today, serviceEnd: today, year: String(await defaultYear()) }); // the year the member page offers (the latest with a fee schedule)
  }));

  r.post('/organisations/:id/invoice/items', write, h(async (req, res) => {
    const orgId = idParam(req);
    const body = req.body as Record<string, unknown>; // why: express.urlencoded gives an object of strings
    const parsed = parseForm(itemsFormSchema, body, req.t);
    if (!parsed.ok) {
      await renderItems(req, res, orgId, body, { errors: parsed.errors });
      return;
    }
    const input = { items: parsed.data.items, duesYear: parsed.data.duesYear, serviceStart: parsed.data.serviceStart, serviceEnd: parsed.data.serviceEnd, requestKey: parsed.data.requestKey };
    const refusal = (skip: IssueResult & { issued: false }, number = ''): string => skip.reason === 'einvoice'
      ? einvoiceRefusal(req.t, skip.fields ?? [])
      : req.t(`dues.items.refused.${skip.reason}`, { year: input.duesYear ?? '', number, date: formatDate(skip.exitDate ?? '', req.locale) });
    const numberOf = async (id?: number) => (id ? (await ctx.dues.get(id)).number : '');
    if (parsed.data.preview) {
      const p = await ctx.dues.previewWithItems(orgId, input);
      if (!p.ok) {
        const skip = p.skip as IssueResult & { issued: false };
        await renderItems(req, res, orgId, body, { refusal: refusal(skip, await numberOf(skip.invoiceId)) });
        return;
      }
      await renderItems(req, res, orgId, body, {
        preview: {
          split: p.invoices.length > 1,
          invoices: p.invoices.map((inv) => ({
            ...inv,
            lines: inv.lines.map((l) => ({ ...l, quantity: formatQuantity(l.quantityMilli, req.locale), rate: l.category === 'S' ? `${l.ratePercent} %` : req.t('dues.items.vat.O') })),
            fields: inv.fields.length ? einvoiceRefusal(req.t, inv.fields) : '',
          })),
        },
      });
      return;
    }
    const r2 = await ctx.dues.issueWithItems(actorOf(req), orgId, input);
    if (r2.issued) {
      const numbers = r2.invoices.map((i) => i.number);
      const done = numbers.length > 1 ? req.t('dues.items.doneTwo', { first: numbers[0], second: numbers[1] }) : req.t('money.single.done', { number: numbers[0] });
      // h/fee: issued, but Stripe was unreachable: the e-mail waits (the invoice page shows Stripe's message)
      if (r2.undelivered?.length) flash(req, 'error', `${done} ${req.t('dues.items.notDelivered', { numbers: r2.undelivered.join(', ') })}`);
      else flash(req, 'success', done);
      res.redirect(303, `/treasurer/invoices/${r2.invoices[0]!.invoiceId}`);
      return;
    }
    await renderItems(req, res, orgId, body, { refusal: refusal(r2, await numberOf(r2.invoiceId)) });
  }));

  // ------------------------------------------------------------ overdue and reminders
  r.get('/overdue', read, h(async (req, res) => {
    const f = listFilterSchema.parse(req.query);
    const list = await ctx.dues.list({ overdue: true, q: f.q, page: f.page, perPage: 100 });
    const rules = await ctx.settings.rules();
    res.render('dues/overdue', { title: req.t('dues.overdue.title'), section: 'dues', list, rules, canWrite: req.user!.roles.includes('treasurer') });
  }));

  r.post('/reminders', write, h(async (req, res) => {
    const r2 = await ctx.reminders.sendDue(actorOf(req));
    flash(req, 'success', req.t('dues.reminders.sent', { first: req.t('dues.reminders.sentFirst', { count: r2.first }), second: req.t('dues.reminders.sentSecond', { count: r2.second }) }));
    res.redirect(303, '/treasurer/overdue');
  }));

  // ------------------------------------------------------------ exports
  r.get('/export/invoices-:year.csv', read, h(async (req, res) => {
    const year = yearParam(req);
    const rows = await ctx.dues.exportRows(actorOf(req), year);
    res.type('text/csv; charset=utf-8').set('Content-Disposition', `attachment; filename="rechnungen-${year}.csv"`).send(invoicesCsv(rows));
  }));

  // h/einvoice: an invoice's XML (EN 16931 as embedded, or XRechnung), a year's e-invoices as ZIP, the e-invoice settings
  r.get('/invoices/:id/xml', read, h(async (req, res) => {
    const profile = req.query.profile === 'xrechnung' ? 'xrechnung' : 'en16931';
    const { invoice, xml } = await ctx.dues.xml(idParam(req), profile);
    res.type('application/xml; charset=utf-8')
      .set('Content-Disposition', `attachment; filename="${profile === 'xrechnung' ? 'xrechnung' : 'factur-x'}-${invoice.number}.xml"`).send(xml);
  }));
  r.get('/export/einvoices-:year.zip', read, h(async (req, res) => {
    const year = yearParam(req);
    const { zip } = await ctx.dues.einvoiceZip(actorOf(req), year);
    res.type('application/zip').set('Content-Disposition', `attachment; filename="e-rechnungen-${year}.zip"`).send(zip);
  }));
  const renderEinvoice = async (req: Request, res: Response, extra: Record<string, unknown> = {}) => {
    const values = await ctx.settings.einvoice();
    res.render('dues/einvoice', {
      title: req.t('einvoice.settings.title'), section: 'dues', values, year: await defaultYear(), canWrite: req.user!.roles.includes('treasurer'),
      means: EINVOICE_PAYMENT_MEANS.map((m) => ({ value: m, checked: values.paymentMeans.includes(m) })), ...extra,
    });
  };
  r.get('/einvoice', read, h(async (req, res) => renderEinvoice(req, res)));
  r.post('/einvoice', write, h(async (req, res) => {
    const body = req.body as Record<string, unknown>; // why: express.urlencoded gives an object of strings and string arrays
    const means = ([] as unknown[]).concat(body.paymentMeans ?? []);
    const parsed = einvoiceSchema.safeParse({ ...body, paymentMeans: means });
    // control characters (taken out by refuseControlCharacters) are named next to their field first
    const control = parseForm(z.record(z.string(), z.unknown()), body, req.t);
    if (!parsed.success || !control.ok) {
      const errors: Record<string, string> = control.ok ? {} : { ...control.errors };
      if (!parsed.success) for (const i of parsed.error.issues) errors[String(i.path[0])] ??= req.t(`einvoice.settings.invalid.${String(i.path[0])}`);
      res.status(422);
      await renderEinvoice(req, res, {
        errors, values: body,
        means: EINVOICE_PAYMENT_MEANS.map((m) => ({ value: m, checked: means.includes(m) })),
      });
      return;
    }
    await ctx.settings.updateEinvoice(actorOf(req), parsed.data);
    flash(req, 'success', req.t('einvoice.settings.saved'));
    res.redirect(303, '/treasurer/einvoice');
  }));

  // h/money: the DATEV Buchungsstapel of a calendar year, and its accounts
  r.get('/export/datev-:year.csv', read, h(async (req, res) => {
    const year = yearParam(req);
    const invoices = (await Promise.all([year - 1, year].map((y) => ctx.dues.exportRows(actorOf(req), y)))).flat();
    const payments = (await Promise.all([year - 1, year, year + 1].filter(isValidYear).map((y) => ctx.payments.exportYear(actorOf(req), y)))).flat();
    const settings = await ctx.settings.datev();
    const file = datevBuchungsstapel(datevBookings(year, invoices, payments, settings), { year, settings, createdAt: ctx.clock.now(), title: `Mitgliedsbeiträge ${year}` });
    res.type('text/csv; charset=windows-1252').set('Content-Disposition', `attachment; filename="EXTF_Buchungsstapel_Beitraege_${year}.csv"`).send(file);
  }));

  const renderDatev = async (req: Request, res: Response, extra: Record<string, unknown> = {}) => {
    res.render('dues/datev', { title: req.t('money.datev.title'), section: 'dues', values: await ctx.settings.datev(), defaults: DATEV_CHART_DEFAULTS, year: await defaultYear(), canWrite: req.user!.roles.includes('treasurer'), ...extra });
  };
  r.get('/datev', read, h(async (req, res) => renderDatev(req, res)));
  r.post('/datev', write, h(async (req, res) => {
    const parsed = datevSchema.safeParse(req.body);
    if (!parsed.success) {
      const errors: FieldErrors = {};
      for (const i of parsed.error.issues) errors[String(i.path[0])] ??= req.t('money.datev.invalid');
      res.status(422);
      await renderDatev(req, res, { errors, values: req.body });
      return;
    }
    await ctx.settings.updateDatev(actorOf(req), parsed.data);
    flash(req, 'success', req.t('money.datev.saved'));
    res.redirect(303, '/treasurer/datev');
  }));

  r.get('/export/payments-:year.csv', read, h(async (req, res) => {
    const year = yearParam(req);
    const rows = await ctx.payments.exportYear(actorOf(req), year);
    res.type('text/csv; charset=utf-8').set('Content-Disposition', `attachment; filename="zahlungen-${year}.csv"`).send(paymentsCsv(rows));
  }));

  // ------------------------------------------------------------ h/stripe: Stripe and our books in one state
  /** The retry of a run's failed deliveries: only those, with Stripe's message per member on the run page. */
  r.post('/runs/:id/retry', write, h(async (req, res) => {
    const id = idParam(req);
    const out = await ctx.duesRuns.retryFailed(actorOf(req), id);
    flash(req, out.failed ? 'error' : 'success', req.t(out.failed ? 'stripesync.run.retriedSome' : 'stripesync.run.retried', { delivered: out.delivered, failed: out.failed }));
    res.redirect(303, `/treasurer/runs/${id}`);
  }));

  /** Reconcile: every Stripe-backed invoice compared with Stripe, differences repaired and listed. */
  r.get('/reconcile', read, h(async (req, res) => {
    res.render('dues/reconcile', { title: req.t('stripesync.reconcile.title'), section: 'dues', enabled: ctx.stripe.enabled, canWrite: req.user!.roles.includes('treasurer') });
  }));
  r.post('/reconcile', write, h(async (req, res) => {
    const result = await ctx.stripe.reconcile();
    await ctx.audit.record(ctx.db, actorOf(req), 'invoices.reconciled', 'invoice', null, undefined, { checked: result.checked, changed: result.changed, failed: result.failed });
    const changes = (result.changes ?? []).map((c) => ({ ...c, text: req.t(`stripesync.reconcile.what.${c.what.replace(/\./g, '_')}`, { defaultValue: c.what }) }));
    res.render('dues/reconcile', { title: req.t('stripesync.reconcile.title'), section: 'dues', enabled: ctx.stripe.enabled, canWrite: true, result, changes });
  }));

  return r;
}
