import { Router, type Request, type Response } from 'express';
import type { z } from 'zod';
import type { Context } from '../context.ts';
import type { Actor } from '../audit/audit.service.ts';
import { AppError, ValidationError, type FieldErrors } from '../errors.ts';
import { flash, h, idParam, requireRole } from '../web/middleware.ts';
import { parseForm } from '../web/forms.ts';
import { formatDate } from '../i18n/format.ts';
import { berlinDate } from '../clock.ts';
import { EMPLOYEE_BANDS } from '../settings/settings.schemas.ts';
import { readableAudit } from './audit-words.ts';
import {
  countryOptions, SORTS, categoryChangeSchema, contactSchema, dissolutionSchema, exclusionSchema, listQuerySchema,
  noticeSchema, organisationEditSchema, postcodeError, reactivationSchema, withdrawNoticeSchema, type ListQuery,
} from './members.schemas.ts';
import { MIN_CONTAINS } from './members.repository.ts';
import type { Organisation } from './members.service.ts';
import { noticeExitDate, statusActions } from './exit-rules.ts';
import { actorOf } from '../web/actor.ts';
import { einvoicePreferenceSchema } from '../einvoice/preference.ts'; // h/einvoice

/** Field errors from the service (i18n keys) in the user's language. */
function translate(req: Request, fields: FieldErrors): FieldErrors {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, req.t(v)]));
}

function isConflict(e: unknown): boolean {
  return e instanceof AppError && e.status === 409 && e.code === 'changed_meanwhile';
}

/** The query string of the list with some parameters replaced (for sort links and paging). */
function listUrl(q: ListQuery, change: Partial<Record<string, string | number | undefined>>): string {
  const p = new URLSearchParams();
  const base: Record<string, string | number | undefined> = { q: q.q, status: q.status, category: q.category, year: q.year, payment: q.payment, sort: q.sort, dir: q.dir };
  for (const [k, v] of Object.entries({ ...base, ...change })) {
    if (v === undefined || v === '' || (k === 'sort' && v === 'number') || (k === 'dir' && v === 'asc')) continue;
    p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `/board/members?${s}` : '/board/members';
}

function organisationValues(o: Organisation): Record<string, unknown> {
  return {
    legalName: o.legalName, legalForm: o.legalForm, street: o.street, postcode: o.postcode, city: o.city, country: o.country,
    website: o.website, registerEntry: o.registerEntry, vatId: o.vatId, fieldOfActivity: o.fieldOfActivity,
    employeeBand: o.employeeBand, notes: o.notes ?? '', version: o.version,
  };
}

/**
 * The board's member register. Board members read and edit; treasurer and admin read;
 * member contacts never (they have the portal). Every route checks the role.
 */
export function membersRouter(ctx: Context): Router {
  const r = Router();
  const read = requireRole('board', 'treasurer', 'admin');
  const write = requireRole('board');
  r.use(read);

  // Only numeric ids belong to this router; other paths fall through to routers mounted later.
  r.param('id', (_req, _res, next, value) => (/^\d{1,12}$/.test(String(value)) ? next() : next('route')));
  r.param('cid', (_req, _res, next, value) => (/^\d{1,12}$/.test(String(value)) ? next() : next('route')));

  const countries = (req: Request, current?: unknown) => countryOptions((k) => req.t(k), req.locale, current);
  const bands = (req: Request) => EMPLOYEE_BANDS.map((code) => ({ code, name: req.t(`common.bands.${code}`) }));
  const canEdit = (req: Request) => !!req.user?.roles.includes('board');

  r.get('/', read, h(async (req, res) => {
    const query = listQuerySchema.parse(req.query ?? {});
    const payment = query.payment ? ctx.dues.organisationsByPayment(query.payment) : null; // h/stripe
    const { page, stats, years } = await ctx.members.list(query, { organisationIds: payment?.ids });
    const categories = await ctx.settings.categories({ includeInactive: true });
    const sorts = SORTS.map((s) => ({
      key: s,
      label: req.t(`members.list.sort.${s}`),
      url: listUrl(query, { sort: s, dir: query.sort === s && query.dir === 'asc' ? 'desc' : 'asc' }),
      current: query.sort === s,
      ariaSort: query.sort === s ? (query.dir === 'asc' ? 'ascending' : 'descending') : undefined,
    }));
    const filtered = !!(query.q || query.status || query.category || query.year || query.payment);
    const statusLabels: Record<string, string> = {};
    const en = req.locale === 'en';
    res.render('members/list', {
      title: req.t('members.list.title'),
      section: 'members',
      query,
      // per row: texts prepared here (labels looked up once per page), so that the template
      // only reads values: a helper call per cell and row cost more than the rest of the row
      items: page.items.map((i) => Object.assign(i, {
        categoryName: en ? i.categoryNameEn : i.categoryNameDe,
        statusLabel: (statusLabels[i.status] ??= req.t(`members.status.${i.status}`)),
        badge: i.status === 'active' ? 'badge-ok' : i.status === 'former' ? 'badge-bad' : 'badge-warn',
        joinDateText: formatDate(i.joinDate, req.locale),
        exitDateText: i.exitDate ? formatDate(i.exitDate, req.locale) : '',
      })),
      categoryOptions: categories.map((c) => ({ id: c.id, name: en ? c.nameEn : c.nameDe, selected: c.id === query.category })),
      yearOptions: years.map((year) => ({ year, selected: year === query.year })),
      // h/stripe: the payment-status filter (dues of the current year)
      paymentYear: Number(berlinDate(ctx.clock.now()).slice(0, 4)),
      paymentOptions: ['paid', 'open', 'overdue'].map((v) => ({ value: v, label: req.t(`stripesync.register.${v}`), selected: v === query.payment })),
      total: page.total,
      totalCapped: page.totalCapped,
      cap: page.cap,
      filtered,
      shortTerm: query.q.trim().length > 0 && Array.from(query.q.trim()).length < MIN_CONTAINS,
      stats,
      sorts,
      canEdit: canEdit(req),
      nextUrl: page.nextCursor ? listUrl(query, { after: page.nextCursor }) : undefined,
      prevUrl: page.prevCursor ? listUrl(query, { before: page.prevCursor }) : undefined,
      firstUrl: query.after || query.before ? listUrl(query, {}) : undefined,
    });
  }));

  r.get('/:id', read, h(async (req, res) => {
    const id = idParam(req);
    const detail = await ctx.members.detail(id);
    const assemblies = await ctx.assemblies.day.assembliesAttendedBy(id);
    // h/money: the member's invoices and bookings (dues), and the single invoice for the treasurer
    const money = await ctx.dues.accountOf(id, req.locale);
    const directory = await ctx.directory.statusOf(id); // h/lead2: the directory profile's state
    const allCategories = await ctx.settings.categories({ includeInactive: true });
    const organisationGroups = await ctx.groups.ofOrganisation(id, req.locale); // h/groups: the working groups its contacts are in
    res.render('members/detail', {
      title: detail.organisation.legalName,
      section: 'members',
      ...detail,
      audit: readableAudit(detail.audit, req.t, req.locale, (cid) => { const c = allCategories.find((x) => x.id === cid); return c && (req.locale === 'en' ? c.nameEn : c.nameDe); }),
      assemblies,
      money,
      directory, // h/lead2
      canOpenInvoices: !!req.user?.roles.some((x) => x === 'treasurer' || x === 'admin'),
      canInvoice: !!req.user?.roles.includes('treasurer'),
      canEdit: canEdit(req),
      representativeMissing: detail.contacts.length > 0 && !detail.contacts.some((c) => c.isRepresentative),
      organisationGroups, groupLinks: !!req.user?.roles.includes('board'), // h/groups
    });
  }));

  // --- h/einvoice: public body with Leitweg-ID, the form of the member's invoices ----------------
  const renderEinvoice = (req: Request, res: Response, org: Organisation, values: Record<string, unknown>, errors?: FieldErrors) =>
    res.render('members/einvoice', {
      title: req.t('einvoice.preference.title'), section: 'members', organisation: org, values, errors,
      action: `/board/members/${org.id}/einvoice`, back: `/board/members/${org.id}`,
    });
  r.get('/:id/einvoice', write, h(async (req, res) => {
    const org = (await ctx.members.detail(idParam(req))).organisation;
    renderEinvoice(req, res, org, { ...org.einvoice });
  }));
  r.post('/:id/einvoice', write, h(async (req, res) => {
    const id = idParam(req);
    const org = (await ctx.members.detail(id)).organisation;
    const parsed = parseForm(einvoicePreferenceSchema, req.body, req.t);
    if (!parsed.ok) {
      res.status(422);
      renderEinvoice(req, res, org, { ...(req.body as Record<string, unknown>), publicBody: (req.body as Record<string, unknown>).publicBody === '1' }, parsed.errors); // why: urlencoded body
      return;
    }
    await ctx.members.setEInvoicePreference(actorOf(req), id, parsed.data);
    flash(req, 'success', req.t('einvoice.preference.saved'));
    res.redirect(303, `/board/members/${id}`);
  }));

  // --- organisation data and notes -------------------------------------------------------

  const renderEdit = (req: Request, res: Response, org: Organisation, values: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    res.render('members/edit', {
      title: req.t('members.edit.title', { name: org.legalName }),
      section: 'members', organisation: org, values, countries: countries(req, values.country), bands: bands(req), ...extra,
    });

  r.get('/:id/edit', write, h(async (req, res) => {
    const org = await ctx.members.get(idParam(req));
    if (!org) throw new AppError(404, 'not_found');
    renderEdit(req, res, org, organisationValues(org));
  }));

  r.post('/:id/edit', write, h(async (req, res) => {
    const id = idParam(req);
    const org = await ctx.members.get(id);
    if (!org) throw new AppError(404, 'not_found');
    let parsed = parseForm(organisationEditSchema, req.body ?? {}, req.t);
    const pcError = postcodeError(req.body?.postcode, req.body?.country);
    if (pcError) parsed = { ok: false, errors: { ...(parsed.ok ? {} : parsed.errors), postcode: parsed.ok || !parsed.errors.postcode ? req.t(pcError) : parsed.errors.postcode } };
    if (!parsed.ok) return res.status(422).render('members/edit', {
      title: req.t('members.edit.title', { name: org.legalName }), section: 'members', organisation: org,
      values: req.body ?? {}, errors: parsed.errors, countries: countries(req, req.body?.country), bands: bands(req),
    });
    try {
      const { changed } = await ctx.members.updateOrganisation(actorOf(req), id, parsed.data);
      flash(req, 'success', req.t(changed ? 'members.edit.saved' : 'members.edit.unchanged'));
      res.redirect(303, `/board/members/${id}`);
    } catch (e) {
      if (!isConflict(e)) throw e;
      // Someone saved in between: show their data (with the new version) and what this user typed.
      const current = (await ctx.members.get(id))!;
      const mine = parsed.data as unknown as Record<string, unknown>; // why: the parsed form is a plain object of field values
      const theirs = organisationValues(current);
      const differences = Object.keys(theirs)
        .filter((k) => k !== 'version' && String(theirs[k] ?? '') !== String(mine[k] ?? ''))
        .map((k) => ({ field: req.t(`members.fields.${k}`), yours: String(mine[k] ?? ''), theirs: String(theirs[k] ?? '') }));
      res.status(409);
      renderEdit(req, res, current, theirs, { conflict: true, differences });
    }
  }));

  // --- category -----------------------------------------------------------------------------

  const renderCategory = async (req: Request, res: Response, org: Organisation, values: Record<string, unknown>, errors?: FieldErrors, conflict = false) => {
    const categories = (await ctx.settings.categories()).filter((c) => c.id !== org.categoryId);
    const current = await ctx.settings.category(org.categoryId);
    res.render('members/category', { title: req.t('members.category.title', { name: org.legalName }), section: 'members', organisation: org, current, categories, values, errors, conflict });
  };

  r.get('/:id/category', write, h(async (req, res) => {
    const org = await ctx.members.get(idParam(req));
    if (!org) throw new AppError(404, 'not_found');
    await renderCategory(req, res, org, { effectiveDate: berlinDate(ctx.clock.now()), version: org.version });
  }));

  r.post('/:id/category', write, h(async (req, res) => {
    const id = idParam(req);
    const org = await ctx.members.get(id);
    if (!org) throw new AppError(404, 'not_found');
    const parsed = parseForm(categoryChangeSchema, req.body ?? {}, req.t);
    if (!parsed.ok) { res.status(422); return renderCategory(req, res, org, req.body ?? {}, parsed.errors); }
    try {
      await ctx.members.changeCategory(actorOf(req), id, parsed.data);
      flash(req, 'success', req.t('members.category.saved'));
      res.redirect(303, `/board/members/${id}`);
    } catch (e) {
      if (e instanceof ValidationError) { res.status(422); return renderCategory(req, res, org, req.body ?? {}, translate(req, e.fields)); }
      if (!isConflict(e)) throw e;
      const current = (await ctx.members.get(id))!;
      res.status(409);
      return renderCategory(req, res, current, { ...req.body, version: current.version }, undefined, true);
    }
  }));

  // --- membership status: notice, exclusion, dissolution, reactivation, withdrawal -------------

  const renderStatus = async (req: Request, res: Response, org: Organisation, form?: string, values?: Record<string, unknown>, errors?: FieldErrors, conflict = false) => {
    const today = berlinDate(ctx.clock.now());
    const rules = await ctx.settings.rules();
    const actions = statusActions(org.status);
    const shown = actions.find((a) => a === form) ?? actions[0];
    res.render('members/status', {
      title: req.t('members.status.title', { name: org.legalName }),
      section: 'members',
      organisation: org,
      rules,
      noticeExample: formatDate(noticeExitDate(today, rules), req.locale),
      actions,
      form: shown,
      values: values && shown === form ? values : { receivedDate: today, effectiveDate: today },
      errors: shown === form ? errors : undefined,
      conflict,
    });
  };

  r.get('/:id/status', write, h(async (req, res) => {
    const org = await ctx.members.get(idParam(req));
    if (!org) throw new AppError(404, 'not_found');
    await renderStatus(req, res, org, typeof req.query.form === 'string' ? req.query.form : undefined);
  }));

  const statusAction = <S extends z.ZodType>(
    path: string,
    schema: S,
    run: (actor: Actor, id: number, data: z.infer<S>) => Promise<{ exitDate?: string; status?: string } | void>,
    message: string,
  ) => {
    r.post(`/:id/${path}`, write, h(async (req, res) => {
      const id = idParam(req);
      const org = await ctx.members.get(id);
      if (!org) throw new AppError(404, 'not_found');
      const parsed = parseForm(schema, req.body ?? {}, req.t);
      if (!parsed.ok) { res.status(422); return renderStatus(req, res, org, path, req.body ?? {}, parsed.errors); }
      try {
        const out = await run(actorOf(req), id, parsed.data);
        const exitDate = out && out.exitDate ? formatDate(out.exitDate, req.locale) : '';
        flash(req, 'success', req.t(message, { exitDate }));
        res.redirect(303, `/board/members/${id}`);
      } catch (e) {
        if (e instanceof ValidationError) { res.status(422); return renderStatus(req, res, org, path, req.body ?? {}, translate(req, e.fields)); }
        if (!isConflict(e)) throw e;
        const current = (await ctx.members.get(id))!;
        res.status(409);
        return renderStatus(req, res, current, path, { ...req.body, version: current.version }, undefined, true);
      }
    }));
  };
  statusAction('notice', noticeSchema, (a, id, d) => ctx.members.recordNotice(a, id, d), 'members.status.noticeSaved');
  statusAction('exclusion', exclusionSchema, (a, id, d) => ctx.members.exclude(a, id, d), 'members.status.exclusionSaved');
  statusAction('dissolution', dissolutionSchema, (a, id, d) => ctx.members.dissolve(a, id, d), 'members.status.dissolutionSaved');
  statusAction('reactivation', reactivationSchema, (a, id, d) => ctx.members.reactivate(a, id, d), 'members.status.reactivated');
  statusAction('withdrawal', withdrawNoticeSchema, (a, id, d) => ctx.members.withdrawNotice(a, id, d), 'members.status.withdrawn');

  // --- contacts ------------------------------------------------------------------------------

  const renderContact = (req: Request, res: Response, org: Organisation, values: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    res.render('members/contact', {
      title: req.t(extra.contactId ? 'members.contact.editTitle' : 'members.contact.newTitle', { name: org.legalName }),
      section: 'members', organisation: org, values, ...extra,
    });

  r.get('/:id/contacts/new', write, h(async (req, res) => {
    const org = await ctx.members.get(idParam(req));
    if (!org) throw new AppError(404, 'not_found');
    const hasRep = (await ctx.members.contacts(org.id)).some((c) => c.isRepresentative);
    renderContact(req, res, org, { locale: 'de', isRepresentative: !hasRep, invite: false, version: 0 });
  }));

  r.post('/:id/contacts/new', write, h(async (req, res) => {
    const id = idParam(req);
    const org = await ctx.members.get(id);
    if (!org) throw new AppError(404, 'not_found');
    const parsed = parseForm(contactSchema, req.body ?? {}, req.t);
    if (!parsed.ok) { res.status(422); return renderContact(req, res, org, checkboxValues(req.body), { errors: parsed.errors }); }
    await ctx.members.addContact(actorOf(req), id, parsed.data);
    flash(req, 'success', req.t('members.contact.added'));
    res.redirect(303, `/board/members/${id}`);
  }));

  r.get('/:id/contacts/:cid/edit', write, h(async (req, res) => {
    const org = await ctx.members.get(idParam(req));
    if (!org) throw new AppError(404, 'not_found');
    const c = await ctx.members.contact(org.id, idParam(req, 'cid'));
    renderContact(req, res, org, { ...c }, { contactId: c.id, contact: c });
  }));

  r.post('/:id/contacts/:cid/edit', write, h(async (req, res) => {
    const id = idParam(req);
    const cid = idParam(req, 'cid');
    const org = await ctx.members.get(id);
    if (!org) throw new AppError(404, 'not_found');
    const c = await ctx.members.contact(id, cid);
    const parsed = parseForm(contactSchema, req.body ?? {}, req.t);
    if (!parsed.ok) { res.status(422); return renderContact(req, res, org, checkboxValues(req.body), { contactId: cid, contact: c, errors: parsed.errors }); }
    try {
      await ctx.members.updateContact(actorOf(req), id, cid, parsed.data);
      flash(req, 'success', req.t('members.contact.saved'));
      res.redirect(303, `/board/members/${id}`);
    } catch (e) {
      if (e instanceof ValidationError) { res.status(422); return renderContact(req, res, org, checkboxValues(req.body), { contactId: cid, contact: c, errors: translate(req, e.fields) }); }
      if (!isConflict(e)) throw e;
      const current = await ctx.members.contact(id, cid);
      res.status(409);
      renderContact(req, res, org, { ...current }, { contactId: cid, contact: current, conflict: true });
    }
  }));

  r.post('/:id/contacts/:cid/delete', write, h(async (req, res) => {
    const id = idParam(req);
    const cid = idParam(req, 'cid');
    try {
      await ctx.members.removeContact(actorOf(req), id, cid);
      flash(req, 'success', req.t('members.contact.removed'));
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      flash(req, 'error', req.t(Object.values(e.fields)[0] ?? 'common.validation.invalid'));
    }
    res.redirect(303, `/board/members/${id}`);
  }));

  return r;
}

/** Checkbox fields as booleans for re-rendering a form with the user's input. */
function checkboxValues(body: Record<string, unknown> | undefined): Record<string, unknown> {
  const v = { ...(body ?? {}) };
  for (const k of ['isRepresentative', 'isBilling', 'consentEmailInvitations', 'invite']) v[k] = v[k] === 'yes';
  return v;
}
