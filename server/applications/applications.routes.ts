import crypto from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { Context } from '../context.ts';
import { flash, h, idParam, requireRole } from '../web/middleware.ts';
import { parseForm } from '../web/forms.ts';
import { renderBadLink } from '../auth/auth.routes.ts';
import { AppError, ConflictError } from '../errors.ts';
import type { FieldErrors } from '../errors.ts';
import type { Locale } from '../i18n/i18n.ts';
import { formatMemberNumber } from '../i18n/format.ts';
import { EMPLOYEE_BANDS, type Category } from '../settings/settings.schemas.ts';
import {
  ANSWER_FIELDS, APPLICATION_FIELDS, COUNTRIES, OTHER_CONTACT_SLOTS,
  approveSchema, commentSchema, parseAnswer, parseApplication, pickStrings, questionSchema, rejectSchema, resendSchema, withdrawSchema,
} from './applications.schemas.ts';
import { STATUSES, isStatus, type Application, type ApplicationStatus, type DuplicateHint } from './applications.service.ts';
import { actorOf } from '../web/actor.ts';
import { formatIban } from '../settings/bank.ts';

/** The honeypot: hidden from people (CSS, aria-hidden, no tab stop); bots fill it. */
export const HONEYPOT_FIELD = 'website_confirm';

function countryOptions(locale: Locale) {
  const names = new Intl.DisplayNames([locale], { type: 'region' });
  const collator = new Intl.Collator(locale);
  const [first, ...rest] = COUNTRIES;
  return [first, ...[...rest].sort((a, b) => collator.compare(names.of(a) ?? a, names.of(b) ?? b))].map((code) => ({ code, name: names.of(code) ?? code }));
}

function countryName(code: string, locale: Locale): string {
  try {
    return new Intl.DisplayNames([locale], { type: 'region' }).of(code) ?? code;
  } catch {
    return code;
  }
}

const categoryName = (c: Category | undefined, locale: Locale) => (c ? (locale === 'en' ? c.nameEn : c.nameDe) : '');

function rateLimitHandler(req: Request, res: Response) {
  res.status(429).render('errors/error', { title: req.t('common.errors.title429'), text: req.t('common.errors.text429') });
}

const STATUS_CLASS: Record<ApplicationStatus, string> = {
  unconfirmed: '', submitted: 'badge-info', info_requested: 'badge-warn', approved: 'badge-ok', rejected: 'badge-bad', withdrawn: '',
};

/** Public pages: the form, the confirmation link, a new link, the answer to the board's question. */
export function applicationsPublicRouter(ctx: Context): Router {
  const r = Router();
  const test = ctx.config.env === 'test';
  const applyLimiter = rateLimit({ windowMs: 60 * 60_000, limit: test ? 1000 : 20, standardHeaders: 'draft-7', legacyHeaders: false, handler: rateLimitHandler });
  const mailLimiter = rateLimit({ windowMs: 60 * 60_000, limit: test ? 1000 : 10, standardHeaders: 'draft-7', legacyHeaders: false, handler: rateLimitHandler });

  const openCategories = () => ctx.applications.openCategories();

  function orgOptions(req: Request) {
    return {
      countries: countryOptions(req.locale),
      bands: EMPLOYEE_BANDS.map((b) => ({ value: b, label: req.t(`common.bands.${b}`) })),
    };
  }

  async function renderForm(req: Request, res: Response, values: Record<string, string>, errors?: FieldErrors) {
    const association = res.locals.association ?? (await ctx.settings.association());
    const otherContacts = OTHER_CONTACT_SLOTS.map((n) => {
      const f = (k: string) => ({ name: `other${n}_${k}`, value: values[`other${n}_${k}`] ?? '', error: errors?.[`other${n}_${k}`] });
      return { n, name: f('name'), position: f('position'), email: f('email'), phone: f('phone') };
    });
    res.status(errors ? 422 : 200).render('applications/form', {
      title: req.t('applications.form.title'),
      values,
      errors,
      ...orgOptions(req),
      categories: (await openCategories()).map((c) => ({ id: c.id, name: categoryName(c, req.locale) })),
      otherContacts,
      bylawsUrl: association.bylawsUrl || '/documents/satzung',
      privacyVersion: association.privacyNoticeVersion,
      mandateCreditor: await ctx.applications.mandateCreditor(), // h/bank2: the SEPA mandate section, only with a creditor ID
    });
  }

  r.get('/apply', h(async (req, res) => {
    await renderForm(req, res, { country: 'DE', submission_key: crypto.randomBytes(24).toString('base64url') });
  }));

  r.post('/apply', applyLimiter, h(async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>; // why: a urlencoded body is an object; each field is checked before use
    if (typeof body[HONEYPOT_FIELD] === 'string' && body[HONEYPOT_FIELD].trim() !== '') {
      // pretend success, store nothing
      ctx.log.info({ reqId: req.id }, 'application form honeypot filled; dropped');
      return res.redirect(303, '/apply/submitted');
    }
    const raw = pickStrings(body, APPLICATION_FIELDS);
    if (!/^[A-Za-z0-9_-]{20,64}$/.test(raw.submission_key)) raw.submission_key = crypto.randomBytes(24).toString('base64url');
    const parsed = parseApplication(raw, req.t, (await openCategories()).map((c) => c.id), { mandate: !!(await ctx.applications.mandateCreditor()) });
    if (!parsed.ok) return renderForm(req, res, raw, parsed.errors);
    await ctx.applications.submit(parsed.data, req.locale);
    res.redirect(303, '/apply/submitted');
  }));

  r.get('/apply/submitted', (req, res) => {
    res.render('applications/submitted', { title: req.t('applications.submitted.title') });
  });

  const badConfirmLink = (req: Request, res: Response, reason: 'unknown' | 'expired' | 'used') =>
    renderBadLink(req, res, reason, { url: '/apply/resend', label: req.t('applications.resend.offer') });

  r.get('/apply/confirm/:token', h(async (req, res) => {
    const check = await ctx.applications.checkConfirmLink(String(req.params.token));
    if (!check.ok) return badConfirmLink(req, res, check.reason);
    res.render('applications/confirm', { title: req.t('applications.confirm.title'), application: check.application });
  }));

  r.post('/apply/confirm/:token', h(async (req, res) => {
    const result = await ctx.applications.confirm(String(req.params.token));
    if (!result.ok) return badConfirmLink(req, res, result.reason);
    flash(req, 'success', req.t('applications.confirmed.reference', { reference: result.reference }));
    res.redirect(303, '/apply/confirmed');
  }));

  r.get('/apply/confirmed', (req, res) => {
    res.render('applications/confirmed', { title: req.t('applications.confirmed.title') });
  });

  r.get('/apply/resend', (req, res) => {
    res.render('applications/resend', { title: req.t('applications.resend.title'), values: {} });
  });

  r.post('/apply/resend', mailLimiter, h(async (req, res) => {
    const raw = pickStrings(req.body, ['email']);
    const parsed = parseForm(resendSchema, raw, req.t);
    if (!parsed.ok) return res.status(422).render('applications/resend', { title: req.t('applications.resend.title'), values: raw, errors: parsed.errors });
    await ctx.applications.resendConfirmation(parsed.data.email);
    // the same answer whether or not an application exists for the address
    res.redirect(303, '/apply/resend/sent');
  }));

  r.get('/apply/resend/sent', (req, res) => {
    res.render('applications/resend-sent', { title: req.t('applications.resend.title') });
  });

  const badAnswerLink = async (req: Request, res: Response, reason: 'unknown' | 'expired' | 'used') => {
    const association = res.locals.association ?? (await ctx.settings.association());
    renderBadLink(req, res, reason, { url: `mailto:${association.contactEmail}`, label: req.t('applications.answer.contactBoard') });
  };

  async function renderAnswer(req: Request, res: Response, application: Application, messages: unknown[], values: Record<string, string>, errors?: FieldErrors) {
    res.status(errors ? 422 : 200).render('applications/answer', {
      title: req.t('applications.answer.title'), application, messages, values, errors, ...orgOptions(req),
    });
  }

  r.get('/apply/answer/:token', h(async (req, res) => {
    const check = await ctx.applications.checkAnswerLink(String(req.params.token));
    if (!check.ok) return badAnswerLink(req, res, check.reason);
    const a = check.application;
    const values: Record<string, string> = {
      legal_name: a.legalName, legal_form: a.legalForm, street: a.street, postcode: a.postcode, city: a.city, country: a.country,
      website: a.website, register_entry: a.registerEntry, vat_id: a.vatId, field_of_activity: a.fieldOfActivity, employee_band: a.employeeBand, answer: '',
    };
    await renderAnswer(req, res, a, check.messages, values);
  }));

  r.post('/apply/answer/:token', h(async (req, res) => {
    const token = String(req.params.token);
    const check = await ctx.applications.checkAnswerLink(token);
    if (!check.ok) return badAnswerLink(req, res, check.reason);
    const raw = pickStrings(req.body, ANSWER_FIELDS);
    const parsed = parseAnswer(raw, req.t);
    if (!parsed.ok) return renderAnswer(req, res, check.application, check.messages, raw, parsed.errors);
    const result = await ctx.applications.answer(token, parsed.data);
    if (!result.ok) return badAnswerLink(req, res, result.reason);
    res.redirect(303, '/apply/answered');
  }));

  r.get('/apply/answered', (req, res) => {
    res.render('applications/answered', { title: req.t('applications.answered.title') });
  });

  return r;
}

/** The board's queue, the detail page and the decisions. */
export function applicationsBoardRouter(ctx: Context): Router {
  const r = Router();
  r.use(requireRole('board'));

  const statusLabel = (req: Request, s: string) => req.t(`applications.status.${s}`);
  const dupTitle = (req: Request, d: DuplicateHint) =>
    `${d.label} ${d.name} (${req.t(`applications.duplicateReason.${d.reason}`)})`;

  r.get('/', h(async (req, res) => {
    const status = isStatus(req.query.status) ? req.query.status : undefined;
    const page = Math.max(1, Math.min(10_000, Number(req.query.page) || 1));
    const result = await ctx.applications.queue({ status, page });
    const { counts, categories } = result;
    const tabs = [
      { status: '', label: req.t('applications.status.queue'), count: result.queueCount, current: !status },
      ...STATUSES.map((s) => ({ status: s, label: statusLabel(req, s), count: counts[s], current: status === s })),
    ];
    const base = `/board/applications?${status ? `status=${status}&` : ''}page=`;
    res.render('board/applications', {
      title: req.t('applications.board.title'),
      section: 'applications',
      tabs,
      heading: status ? statusLabel(req, status) : req.t('applications.status.queue'),
      total: result.total,
      rows: result.rows.map((a) => ({
        ...a,
        statusLabel: statusLabel(req, a.status),
        statusClass: STATUS_CLASS[a.status],
        categoryName: categoryName(categories.find((c) => c.id === a.categoryId), req.locale),
        duplicateTitle: a.duplicates.map((d) => dupTitle(req, d)).join('; '),
        // "Harzer Spezialchemie GmbH" is not followed by "GmbH" again
        legalForm: a.legalForm && !a.legalName.toLocaleLowerCase('de').replace(/\s+/g, ' ').trim().endsWith(a.legalForm.toLocaleLowerCase('de').replace(/\s+/g, ' ').trim()) ? a.legalForm : '',
      })),
      pager: {
        page: result.page, pages: result.pages,
        prevUrl: result.page > 1 ? base + (result.page - 1) : undefined,
        nextUrl: result.page < result.pages ? base + (result.page + 1) : undefined,
      },
    });
  }));

  async function renderDetail(req: Request, res: Response, id: number, values: Record<string, string> = {}, errors?: FieldErrors) {
    const d = await ctx.applications.detail(id);
    const { application: a, categories, audit } = d;
    res.status(errors ? 422 : 200).render('board/application', {
      title: `${a.reference} · ${a.legalName}`,
      section: 'applications',
      a,
      // h/bank2: the SEPA mandate granted on the form (created with the member on approval)
      mandateText: a.mandate ? `${req.t(`sepa.scheme.${a.mandate.scheme}`)} · ${a.mandate.holder} · ${formatIban(a.mandate.iban)}` : '',
      statusLabel: statusLabel(req, a.status),
      statusClass: STATUS_CLASS[a.status],
      decided: !!a.decidedAt,
      decidedByName: d.decidedByName ?? req.t('common.none'),
      memberNumber: d.memberNumber,
      countryName: countryName(a.country, req.locale),
      bandLabel: req.t(`common.bands.${a.employeeBand}`),
      languageName: a.locale === 'en' ? 'English' : 'Deutsch',
      categoryName: categoryName(categories.find((c) => c.id === a.categoryId), req.locale),
      allCategories: categories.filter((c) => c.active).map((c) => ({ id: c.id, name: categoryName(c, req.locale) })),
      contacts: d.contacts.map((c) => ({ ...c, roleLabel: req.t(`applications.roles.${c.role}`) })),
      representativeEmail: d.contacts.find((c) => c.role === 'representative')?.email ?? '',
      messages: d.messages.map((m) => ({ ...m, kindLabel: req.t(`applications.messageKind.${m.kind}`) })),
      duplicates: d.duplicates.map((x) => ({
        ...x,
        statusLabel: x.kind === 'application' ? statusLabel(req, x.status) : req.t(`applications.orgStatus.${x.status}`, { defaultValue: x.status }),
        reasonLabel: req.t(`applications.duplicateReason.${x.reason}`),
      })),
      audit: audit.map((e) => ({ ...e, actor: e.actorLabel === 'applicant' ? req.t('applications.detail.applicant') : e.actorLabel, actionLabel: req.t(`applications.audit.${e.action.replace(/^application\./, '')}`, { defaultValue: e.action }) })),
      canDecide: d.canDecide,
      canWithdraw: d.canWithdraw,
      values: { approve_join_date: d.defaultJoinDate, approve_category_id: String(a.categoryId), ...values },
      errors,
    });
  }

  function renderConflict(req: Request, res: Response, id: number) {
    res.status(409).render('errors/error', {
      title: req.t('applications.conflict.title'),
      text: req.t('applications.conflict.text'),
      offerNew: { url: `/board/applications/${id}`, label: req.t('applications.conflict.back') },
    });
  }

  /** Runs a decision; a conflict (someone else decided first) gives the "already decided" page. */
  async function decide(req: Request, res: Response, id: number, work: () => Promise<string>) {
    let message: string;
    try {
      message = await work();
    } catch (err) {
      if (err instanceof ConflictError) return renderConflict(req, res, id);
      throw err;
    }
    flash(req, 'success', message);
    res.redirect(303, `/board/applications/${id}`);
  }

  r.get('/:id', h(async (req, res) => {
    await renderDetail(req, res, idParam(req));
  }));

  r.post('/:id/comment', h(async (req, res) => {
    const id = idParam(req);
    const raw = pickStrings(req.body, ['comment_body']);
    const parsed = parseForm(commentSchema, raw, req.t);
    if (!parsed.ok) return renderDetail(req, res, id, raw, parsed.errors);
    await ctx.applications.comment(actorOf(req), id, parsed.data.comment_body);
    flash(req, 'success', req.t('applications.flash.commented'));
    res.redirect(303, `/board/applications/${id}`);
  }));

  r.post('/:id/question', h(async (req, res) => {
    const id = idParam(req);
    const raw = pickStrings(req.body, ['question_body']);
    const parsed = parseForm(questionSchema, raw, req.t);
    if (!parsed.ok) return renderDetail(req, res, id, raw, parsed.errors);
    await decide(req, res, id, async () => {
      await ctx.applications.askQuestion(actorOf(req), id, parsed.data.question_body);
      return req.t('applications.flash.questionSent');
    });
  }));

  r.post('/:id/approve', h(async (req, res) => {
    const id = idParam(req);
    const raw = pickStrings(req.body, ['version', 'approve_resolution_ref', 'approve_join_date', 'approve_category_id']);
    const parsed = parseForm(approveSchema, raw, req.t);
    if (!parsed.ok) return renderDetail(req, res, id, raw, parsed.errors);
    try {
      await decide(req, res, id, async () => {
        const { memberNumber } = await ctx.applications.approve(actorOf(req), id, {
          version: parsed.data.version, resolutionRef: parsed.data.approve_resolution_ref, joinDate: parsed.data.approve_join_date, categoryId: parsed.data.approve_category_id,
        });
        return req.t('applications.flash.approved', { memberNo: formatMemberNumber(memberNumber) });
      });
    } catch (err) {
      if (err instanceof AppError && err.code === 'invalid_category') {
        return renderDetail(req, res, id, raw, { approve_category_id: req.t('common.validation.choice') });
      }
      throw err;
    }
  }));

  r.post('/:id/reject', h(async (req, res) => {
    const id = idParam(req);
    const raw = pickStrings(req.body, ['version', 'reject_resolution_ref', 'reject_reason']);
    const parsed = parseForm(rejectSchema, raw, req.t);
    if (!parsed.ok) return renderDetail(req, res, id, raw, parsed.errors);
    await decide(req, res, id, async () => {
      await ctx.applications.reject(actorOf(req), id, {
        version: parsed.data.version, resolutionRef: parsed.data.reject_resolution_ref, reason: parsed.data.reject_reason,
      });
      return req.t('applications.flash.rejected');
    });
  }));

  r.post('/:id/withdraw', h(async (req, res) => {
    const id = idParam(req);
    const raw = pickStrings(req.body, ['version', 'withdraw_note']);
    const parsed = parseForm(withdrawSchema, raw, req.t);
    if (!parsed.ok) return renderDetail(req, res, id, raw, parsed.errors);
    await decide(req, res, id, async () => {
      await ctx.applications.withdraw(actorOf(req), id, { version: parsed.data.version, note: parsed.data.withdraw_note });
      return req.t('applications.flash.withdrawn');
    });
  }));

  return r;
}

