import { Router, type NextFunction, type Request, type Response } from 'express';
import type { Context } from '../context.ts';
import { AppError, NotFoundError, ValidationError, type FieldErrors } from '../errors.ts';
import { flash, h, idParam, requireRole } from '../web/middleware.ts';
import { parseForm } from '../web/forms.ts';
import { EMPLOYEE_BANDS, type Category } from '../settings/settings.schemas.ts';
import { contactSchema, countryOptions, postcodeError } from '../members/members.schemas.ts';
import type { Contact, Organisation } from '../members/members.service.ts';
import { formatMoney } from '../i18n/format.ts';
import { tFor } from '../i18n/i18n.ts';
import { changedFields, displayValue, type ChangeRequest, type FieldChange } from './portal.service.ts';
import { REQUESTABLE_FIELDS, approveSchema, changeRequestSchema, languageSchema, rejectSchema, representativeSchema } from './portal.schemas.ts';
import { actorOf } from '../web/actor.ts';
import { einvoicePreferenceSchema } from '../einvoice/preference.ts'; // h/einvoice

const orgOf = (req: Request): number => req.user!.organisationId!;

function translate(req: Request, fields: FieldErrors): FieldErrors {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, req.t(v)]));
}

function isCode(e: unknown, code: string): boolean {
  return e instanceof AppError && e.code === code;
}

/** Checkbox fields as booleans for re-rendering a contact form with the user's input. */
function checkboxValues(body: Record<string, unknown> | undefined): Record<string, unknown> {
  const v = { ...(body ?? {}) };
  for (const k of ['isBilling', 'consentEmailInvitations', 'invite']) v[k] = v[k] === 'yes';
  return v;
}

function organisationValues(o: Organisation): Record<string, unknown> {
  return Object.fromEntries(REQUESTABLE_FIELDS.map((f) => [f, o[f]]));
}

const categoryName = (req: Request, c: Category | undefined) => (c ? (req.locale === 'en' ? c.nameEn : c.nameDe) : '');

/** A request's fields for a page: label and values for people. */
function requestRows(req: Request, r: ChangeRequest, fields?: FieldChange[]) {
  const list = fields ?? changedFields(r.changes).map((field) => ({
    field, before: r.previous[field] ?? '', after: r.changes[field] ?? '', current: '', conflict: false,
  }));
  return list.map((f) => ({
    field: f.field,
    label: req.t(`members.fields.${f.field}`),
    before: displayValue(req.t, f.field, f.before),
    after: displayValue(req.t, f.field, f.after),
    current: displayValue(req.t, f.field, f.current),
    conflict: f.conflict,
    applied: f.current === f.after && f.current !== f.before,
  }));
}

function requestView(req: Request, r: ChangeRequest, fields?: FieldChange[]) {
  return { ...r, statusLabel: req.t(`portal.requests.status.${r.status}`), rows: requestRows(req, r, fields) };
}

/**
 * The member portal (mounted at /portal): a member contact sees and edits only their own
 * organisation, which always comes from the signed-in user (never from the URL). A member
 * account without a contact gets a clear 403 page. The invoices (/portal/invoices) and the
 * assemblies (/portal/assemblies) are other modules' routers, linked from the navigation.
 */
export function portalRouter(ctx: Context): Router {
  const r = Router();
  const portal = ctx.portal;
  r.use(requireRole('member'));

  r.use((req: Request, res: Response, next: NextFunction) => {
    if (!req.user!.organisationId) {
      res.status(403).render('portal/no-organisation', { title: req.t('portal.noOrganisation.title'), section: 'portal' });
      return;
    }
    const p = req.baseUrl + req.path;
    const item = (href: string, key: string, current: boolean) => ({ href, label: req.t(`portal.nav.${key}`), current });
    res.locals.portalNav = [
      item('/portal', 'overview', p === '/portal' || p === '/portal/' || p.startsWith('/portal/contacts') || p.startsWith('/portal/organisation') || p.startsWith('/portal/requests')),
      item('/portal/invoices', 'invoices', p.startsWith('/portal/invoices')),
      item('/portal/assemblies', 'assemblies', p.startsWith('/portal/assemblies')),
      { href: '/portal/demands', label: req.t('demands.portal.nav'), current: p.startsWith('/portal/demands') }, // h/demand: the minority's demand (§ 37 BGB)
      { href: '/portal/directory', label: req.t('directory.portal.nav'), current: p.startsWith('/portal/directory') }, // h/lead2: the public directory profile
      { href: '/portal/sepa', label: req.t('sepa.portal.nav'), current: p.startsWith('/portal/sepa') }, // h/sepa: SEPA mandates
      { href: '/portal/groups', label: req.t('groups.portal.nav'), current: p.startsWith('/portal/groups') }, // h/groups: working groups
      item('/portal/documents', 'documents', p.startsWith('/portal/documents')),
      item('/portal/account', 'account', p.startsWith('/portal/account')),
    ];
    next();
  });

  const countries = (req: Request, current?: unknown) => countryOptions((k) => req.t(k), req.locale, current);
  const bands = (req: Request) => EMPLOYEE_BANDS.map((code) => ({ code, name: req.t(`common.bands.${code}`) }));

  // --- overview ------------------------------------------------------------------------------

  r.get('/', h(async (req, res) => {
    const { organisation, category, contacts, requests } = await portal.overview(orgOf(req));
    const own = req.user!.contactId;
    res.render('portal/home', {
      title: req.t('portal.title'),
      section: 'portal',
      organisation,
      categoryName: categoryName(req, category),
      hasVote: !!category?.hasVote,
      statusLabel: req.t(`members.status.${organisation.status}`),
      websiteUrl: /^https?:\/\//i.test(organisation.website) ? organisation.website : undefined,
      countryName: req.t(`common.countries.${organisation.country}`, { defaultValue: organisation.country }),
      bandName: organisation.employeeBand ? req.t(`common.bands.${organisation.employeeBand}`, { defaultValue: organisation.employeeBand }) : '',
      contacts: contacts.map((c) => ({ ...c, own: c.id === own, canRemove: portal.canRemoveContact(c, own) })),
      pending: requests.filter((x) => x.status === 'pending').map((x) => requestView(req, x)),
      decided: requests.filter((x) => x.status !== 'pending').slice(0, 5).map((x) => requestView(req, x)),
    });
  }));

  // --- organisation data: change requests ---------------------------------------------------

  const renderOrganisation = (req: Request, res: Response, org: Organisation, values: Record<string, unknown>, errors?: FieldErrors) =>
    res.render('portal/organisation', {
      title: req.t('portal.organisation.title'), section: 'portal', organisation: org, values, errors, countries: countries(req, values.country), bands: bands(req),
    });

  r.get('/organisation', h(async (req, res) => {
    const { organisation, requests } = await portal.overview(orgOf(req));
    res.locals.pendingCount = requests.filter((x) => x.status === 'pending').length;
    renderOrganisation(req, res, organisation, organisationValues(organisation));
  }));

  r.post('/organisation', h(async (req, res) => {
    const { organisation } = await portal.overview(orgOf(req));
    let parsed = parseForm(changeRequestSchema, req.body ?? {}, req.t);
    const pcError = postcodeError(req.body?.postcode, req.body?.country);
    if (pcError) parsed = { ok: false, errors: { ...(parsed.ok ? {} : parsed.errors), postcode: parsed.ok || !parsed.errors.postcode ? req.t(pcError) : parsed.errors.postcode } };
    if (!parsed.ok) {
      res.status(422);
      return renderOrganisation(req, res, organisation, req.body ?? {}, parsed.errors);
    }
    const { id } = await portal.requestChange(actorOf(req), orgOf(req), parsed.data);
    flash(req, id ? 'success' : 'info', req.t(id ? 'portal.organisation.requested' : 'portal.organisation.unchanged'));
    res.redirect(303, id ? `/portal/requests/${id}` : '/portal');
  }));

  r.get('/requests/:id', h(async (req, res) => {
    const request = await portal.requestOf(orgOf(req), idParam(req));
    res.render('portal/request', { title: req.t('portal.requests.detailTitle'), section: 'portal', request: requestView(req, request) });
  }));

  r.post('/requests/:id/withdraw', h(async (req, res) => {
    const id = idParam(req);
    try {
      await portal.withdraw(actorOf(req), orgOf(req), id);
      flash(req, 'success', req.t('portal.requests.withdrawn'));
    } catch (e) {
      if (!isCode(e, 'already_decided')) throw e;
      flash(req, 'error', req.t('portal.requests.alreadyDecided'));
    }
    res.redirect(303, `/portal/requests/${id}`);
  }));

  // --- contacts ------------------------------------------------------------------------------

  const renderContact = (req: Request, res: Response, values: Record<string, unknown>, extra: { contact?: Contact; errors?: FieldErrors; conflict?: boolean; differences?: unknown[] } = {}) =>
    res.render('portal/contact', {
      title: req.t(extra.contact ? 'portal.contacts.editTitle' : 'portal.contacts.newTitle'), section: 'portal', values, ...extra,
    });

  r.get('/contacts/new', h(async (req, res) => {
    renderContact(req, res, { locale: req.locale, consentEmailInvitations: true, version: 0 });
  }));

  r.post('/contacts/new', h(async (req, res) => {
    const parsed = parseForm(contactSchema, req.body ?? {}, req.t);
    if (!parsed.ok) { res.status(422); return renderContact(req, res, checkboxValues(req.body), { errors: parsed.errors }); }
    try {
      await portal.addContact(actorOf(req), orgOf(req), parsed.data);
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      res.status(422);
      return renderContact(req, res, checkboxValues(req.body), { errors: translate(req, e.fields) });
    }
    flash(req, 'success', req.t('portal.contacts.added'));
    res.redirect(303, '/portal#contacts');
  }));

  r.get('/contacts/:cid/edit', h(async (req, res) => {
    const c = await portal.contact(orgOf(req), idParam(req, 'cid'));
    renderContact(req, res, { ...c }, { contact: c });
  }));

  r.post('/contacts/:cid/edit', h(async (req, res) => {
    const cid = idParam(req, 'cid');
    const c = await portal.contact(orgOf(req), cid);
    const parsed = parseForm(contactSchema, req.body ?? {}, req.t);
    if (!parsed.ok) { res.status(422); return renderContact(req, res, checkboxValues(req.body), { contact: c, errors: parsed.errors }); }
    try {
      await portal.updateContact(actorOf(req), orgOf(req), cid, parsed.data);
    } catch (e) {
      if (e instanceof ValidationError) { res.status(422); return renderContact(req, res, checkboxValues(req.body), { contact: c, errors: translate(req, e.fields) }); }
      if (!isCode(e, 'changed_meanwhile')) throw e;
      // Someone saved in between: show the current data (with its version) and what this user typed.
      const current = await portal.contact(orgOf(req), cid);
      const show = (k: string, v: string | boolean) => (typeof v === 'boolean' ? req.t(v ? 'common.yes' : 'common.no') : k === 'locale' ? req.t(`portal.locale.${v}`) : v);
      const differences = portal.contactDifferences(parsed.data, current)
        .map((d) => ({ field: req.t(`portal.contacts.fields.${d.field}`), yours: show(d.field, d.yours), theirs: show(d.field, d.theirs) }));
      res.status(409);
      return renderContact(req, res, { ...current }, { contact: current, conflict: true, differences });
    }
    flash(req, 'success', req.t('portal.contacts.saved'));
    res.redirect(303, '/portal#contacts');
  }));

  r.post('/contacts/:cid/representative', h(async (req, res) => {
    const cid = idParam(req, 'cid');
    await portal.contact(orgOf(req), cid); // 404 for another organisation's contact
    const parsed = parseForm(representativeSchema, req.body ?? {}, req.t);
    if (!parsed.ok) {
      flash(req, 'error', req.t('portal.contacts.conflict'));
      return res.redirect(303, '/portal#contacts');
    }
    try {
      const { changed } = await portal.makeRepresentative(actorOf(req), orgOf(req), cid, parsed.data.version);
      if (changed) flash(req, 'success', req.t('portal.contacts.representativeMoved'));
    } catch (e) {
      if (e instanceof ValidationError) flash(req, 'error', req.t(Object.values(e.fields)[0] ?? 'common.validation.invalid'));
      else if (isCode(e, 'changed_meanwhile')) flash(req, 'error', req.t('portal.contacts.conflict'));
      else throw e;
    }
    res.redirect(303, '/portal#contacts');
  }));

  r.post('/contacts/:cid/delete', h(async (req, res) => {
    const cid = idParam(req, 'cid');
    try {
      await portal.removeContact(actorOf(req), orgOf(req), cid, req.user!.contactId);
      flash(req, 'success', req.t('portal.contacts.removed'));
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      flash(req, 'error', req.t(Object.values(e.fields)[0] ?? 'common.validation.invalid'));
    }
    res.redirect(303, '/portal#contacts');
  }));

  // --- documents -----------------------------------------------------------------------------

  // h/einvoice: the member chooses the form of its invoices (hybrid PDF, XRechnung, both) and, as a public body, its Leitweg-ID
  const renderEinvoice = (req: Request, res: Response, org: Organisation, values: Record<string, unknown>, errors?: FieldErrors) =>
    res.render('members/einvoice', {
      title: req.t('einvoice.preference.title'), section: 'portal', organisation: org, values, errors, action: '/portal/einvoice', back: '/portal',
    });
  r.get('/einvoice', h(async (req, res) => {
    const { organisation } = await portal.overview(orgOf(req));
    renderEinvoice(req, res, organisation, { ...organisation.einvoice });
  }));
  r.post('/einvoice', h(async (req, res) => {
    const { organisation } = await portal.overview(orgOf(req));
    const parsed = parseForm(einvoicePreferenceSchema, req.body, req.t);
    if (!parsed.ok) {
      res.status(422);
      renderEinvoice(req, res, organisation, { ...(req.body as Record<string, unknown>), publicBody: (req.body as Record<string, unknown>).publicBody === '1' }, parsed.errors); // why: urlencoded body
      return;
    }
    await ctx.members.setEInvoicePreference(actorOf(req), orgOf(req), parsed.data);
    flash(req, 'success', req.t('einvoice.preference.saved'));
    res.redirect(303, '/portal');
  }));

  r.get('/documents', h(async (req, res) => {
    const [categories, rules] = await Promise.all([ctx.settings.categories(), ctx.settings.rules()]);
    const locale = req.locale;
    const fees = categories.map((c) => {
      const rule = c.feeRule;
      return {
        name: categoryName(req, c),
        hasVote: c.hasVote,
        fixed: rule.type === 'fixed' ? formatMoney(rule.amountCents, locale) : undefined,
        tiers: rule.type === 'tiers'
          ? EMPLOYEE_BANDS.map((band) => ({ band: req.t(`common.bands.${band}`), amount: formatMoney(rule.tiers[band] ?? 0, locale) }))
          : undefined,
      };
    });
    res.render('portal/documents', { title: req.t('portal.documents.title'), section: 'portal', fees, rules });
  }));

  // h/gdpr: a contact's own data (Art. 15/20) as JSON; only contacts of the signed-in member's own organisation
  r.post('/data-export', h(async (req, res) => {
    const raw = req.body?.contactId;
    const contactId = raw === undefined || raw === '' ? req.user!.contactId : Number(raw);
    if (!contactId || !Number.isSafeInteger(contactId) || contactId <= 0) throw new NotFoundError();
    const data = await ctx.gdpr.exportContactLogged(actorOf(req), orgOf(req), contactId); // NotFoundError for a contact of another organisation
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="dsgvo-auskunft-${String(data.organisation.memberNo)}-${contactId}.json"`);
    res.setHeader('Cache-Control', 'no-store');
    res.send(JSON.stringify(data, null, 2));
  }));

  // --- account and language ------------------------------------------------------------------

  r.get('/account', h(async (req, res) => {
    const contact = req.user!.contactId ? await portal.contact(orgOf(req), req.user!.contactId) : undefined;
    res.render('portal/account', { title: req.t('portal.account.title'), section: 'portal', contact, current: contact?.locale ?? req.user!.locale });
  }));

  r.post('/account', h(async (req, res) => {
    const parsed = parseForm(languageSchema, req.body ?? {}, req.t);
    if (!parsed.ok) {
      res.status(422);
      const contact = req.user!.contactId ? await portal.contact(orgOf(req), req.user!.contactId) : undefined;
      return res.render('portal/account', { title: req.t('portal.account.title'), section: 'portal', contact, current: req.body?.locale, errors: parsed.errors });
    }
    try {
      await portal.setLanguage(actorOf(req), req.user!.id, orgOf(req), req.user!.contactId, parsed.data.locale);
    } catch (e) {
      if (!isCode(e, 'changed_meanwhile')) throw e;
      flash(req, 'error', req.t('portal.contacts.conflict'));
      return res.redirect(303, '/portal/account');
    }
    req.session.locale = parsed.data.locale;
    flash(req, 'success', tFor(parsed.data.locale)('portal.account.saved'));
    res.redirect(303, '/portal/account');
  }));

  return r;
}

/**
 * The board's side of the change requests (mounted at /board/change-requests): the list of
 * pending (and decided) requests, a request with the values before, requested and now per
 * field, approve (applied through the register) or reject with a note.
 */
export function portalRequestsBoardRouter(ctx: Context): Router {
  const r = Router();
  const portal = ctx.portal;
  r.use(requireRole('board'));

  r.get('/', h(async (req, res) => {
    const show = req.query.show === 'decided' ? 'decided' : 'pending';
    const list = await portal.listRequests(show);
    res.render('portal/board-requests', {
      title: req.t('portal.board.title'), section: 'change-requests', show, decided: show === 'decided',
      requests: list.map((x) => requestView(req, x)),
    });
  }));

  const renderDetail = async (req: Request, res: Response, id: number, extra: Record<string, unknown> = {}) => {
    const { request, organisation, fields } = await portal.requestDetail(id);
    const view = requestView(req, request, fields);
    res.render('portal/board-request', {
      title: req.t('portal.board.detailTitle', { organisation: organisation.legalName }), section: 'change-requests',
      request: view, organisation, pending: request.status === 'pending', hasConflict: fields.some((f) => f.conflict), ...extra,
    });
  };

  r.get('/:id', h(async (req, res) => renderDetail(req, res, idParam(req))));

  r.post('/:id/approve', h(async (req, res) => {
    const id = idParam(req);
    const parsed = parseForm(approveSchema, req.body ?? {}, req.t);
    if (!parsed.ok) { res.status(422); return renderDetail(req, res, id, { approveErrors: parsed.errors, values: { approveNote: req.body?.note } }); }
    try {
      await portal.approve(actorOf(req), id, parsed.data.note);
    } catch (e) {
      if (isCode(e, 'changed_meanwhile')) { res.status(409); return renderDetail(req, res, id, { conflict: true, values: { approveNote: req.body?.note } }); }
      if (isCode(e, 'already_decided')) { flash(req, 'error', req.t('portal.requests.alreadyDecided')); return res.redirect(303, `/board/change-requests/${id}`); }
      throw e;
    }
    flash(req, 'success', req.t('portal.board.approved'));
    res.redirect(303, '/board/change-requests');
  }));

  r.post('/:id/reject', h(async (req, res) => {
    const id = idParam(req);
    const parsed = parseForm(rejectSchema, req.body ?? {}, req.t);
    if (!parsed.ok) { res.status(422); return renderDetail(req, res, id, { rejectErrors: parsed.errors, values: { rejectNote: req.body?.note } }); }
    try {
      await portal.reject(actorOf(req), id, parsed.data.note);
    } catch (e) {
      if (isCode(e, 'already_decided')) { flash(req, 'error', req.t('portal.requests.alreadyDecided')); return res.redirect(303, `/board/change-requests/${id}`); }
      throw e;
    }
    flash(req, 'success', req.t('portal.board.rejected'));
    res.redirect(303, '/board/change-requests');
  }));

  return r;
}
