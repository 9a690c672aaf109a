import { Router, type Request, type RequestHandler, type Response } from 'express';
import multer from 'multer';
import type { Context } from '../context.ts';
import { ConflictError, type FieldErrors } from '../errors.ts';
import { flash, h, idParam, requireRole } from '../web/middleware.ts';
import { parseForm, str } from '../web/forms.ts';
import { actorOf } from '../web/actor.ts';
import { DISTRICT_TOWNS } from './towns.ts';
import { LOGO_MAX_BYTES } from './logo.ts';
import { DirectoryError, type OwnProfile } from './directory.service.ts';
import { ENQUIRY_MESSAGE_MAX, enquirySchema, fieldsTextSchema, profileSchema, rejectSchema } from './directory.schemas.ts';

/**
 * The directory's pages: the portal's profile form (/portal/directory, the organisation always
 * from the signed-in contact), the board's review (/board/directory), and the public pages
 * (/netzwerk, a profile per member at /netzwerk/<slug>, the open data as JSON and CSV).
 */

/** The profile form's multipart body (the logo) is parsed before the CSRF check reads its token field. */
export function directoryUploadParser(): RequestHandler {
  const upload = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: LOGO_MAX_BYTES, files: 1, fields: 80, fieldSize: 40_000, parts: 82 },
  }).single('logo');
  const guard = requireRole('member');
  return (req, res, next) => {
    if (req.method !== 'POST' || req.path !== '/' || !req.is('multipart/form-data')) { next(); return; }
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

function errorText(req: Request, e: DirectoryError): string {
  return req.t(`directory.errors.${e.code}`, e.params);
}

/** /portal/directory: mounted after the portal's router, whose navigation and organisation check run first. */
export function directoryPortalRouter(ctx: Context): Router {
  const r = Router();
  r.use(requireRole('member'));
  const orgOf = (req: Request): number => req.user!.organisationId!;

  const render = async (req: Request, res: Response, own: OwnProfile, values: OwnProfile['values'], errors?: FieldErrors, status = 200) => {
    const settings = await ctx.directory.settings();
    const contacts = await ctx.members.contacts(orgOf(req));
    res.status(errors ? (status === 200 ? 422 : status) : 200).render('directory/portal', {
      title: req.t('directory.portal.title'), section: 'portal', own, values, errors,
      statusText: own.reviewStatus ? req.t(`directory.review.${own.reviewStatus}`) : req.t('directory.review.none'),
      fieldChoices: settings.fields.map((f) => ({ key: f.key, label: req.locale === 'en' ? f.en : f.de, checked: values.fields.includes(f.key) })),
      contactChoices: contacts.map((c) => ({ id: c.id, label: c.position ? `${c.name} (${c.position})` : c.name, selected: values.contactId === c.id })),
      towns: DISTRICT_TOWNS.map((t) => t.name), descriptionMax: settings.descriptionMax, logoMaxMb: LOGO_MAX_BYTES / 1024 / 1024,
    });
  };

  r.get('/', h(async (req, res) => {
    const own = await ctx.directory.own(orgOf(req));
    await render(req, res, own, own.values);
  }));

  r.get('/logo.png', h(async (req, res) => {
    const png = await ctx.directory.ownLogo(orgOf(req));
    if (!png) { res.status(404).end(); return; }
    res.type('image/png').set('Cache-Control', 'private, max-age=60').send(png);
  }));

  r.post('/', h(async (req, res) => {
    const own = await ctx.directory.own(orgOf(req));
    const body = (req.body ?? {}) as Record<string, unknown>; // why: express's parsed body is any; every field is read through the schema
    const typed: OwnProfile['values'] = {
      descriptionDe: str(body.descriptionDe), descriptionEn: str(body.descriptionEn),
      fields: (Array.isArray(body.fields) ? body.fields : body.fields == null ? [] : [body.fields]).map((x) => str(x)),
      town: str(body.town), website: str(body.website), contactId: Number(str(body.contactId)) || null, version: Number(str(body.version)) || 0,
    };
    const upload = res.locals.uploadError as string | undefined; // why: set only by directoryUploadParser above, to a multer error code
    if (upload) {
      const msg = upload === 'LIMIT_FILE_SIZE' ? req.t('directory.errors.logo_too_large') : req.t('directory.errors.upload');
      return render(req, res, own, typed, { logo: msg });
    }
    const p = parseForm(profileSchema, body, req.t);
    if (!p.ok) return render(req, res, own, typed, p.errors);
    const submit = str(body.action) === 'submit';
    try {
      await ctx.directory.save(actorOf(req), orgOf(req), p.data, req.file?.buffer, submit);
    } catch (e) {
      if (e instanceof ConflictError) return render(req, res, own, typed, { _form: req.t('directory.errors.conflict') }, 409);
      if (!(e instanceof DirectoryError)) throw e;
      return render(req, res, own, typed, { [e.field ?? '_form']: errorText(req, e) });
    }
    flash(req, 'success', req.t(submit ? 'directory.portal.submitted' : 'directory.portal.saved'));
    res.redirect(303, '/portal/directory');
  }));

  r.post('/withdraw', h(async (req, res) => {
    try {
      await ctx.directory.withdraw(actorOf(req), orgOf(req));
      flash(req, 'success', req.t('directory.portal.withdrawn'));
    } catch (e) {
      if (e instanceof DirectoryError) flash(req, 'error', errorText(req, e));
      else if (e instanceof ConflictError) flash(req, 'error', req.t('directory.errors.conflict'));
      else throw e;
    }
    res.redirect(303, '/portal/directory');
  }));

  return r;
}

/** /board/directory: the submitted profiles to approve or send back, what is published, enquiry counts, the fields. */
export function directoryBoardRouter(ctx: Context): Router {
  const r = Router();
  r.use(requireRole('board'));

  const render = async (req: Request, res: Response, extra: { errors?: FieldErrors; values?: Record<string, unknown>; rejectErrors?: Record<number, string> } = {}) => {
    const o = await ctx.directory.boardOverview(req.locale);
    const bad = !!extra.errors || !!extra.rejectErrors;
    res.status(bad ? 422 : 200).render('directory/board', {
      title: req.t('directory.board.title'), section: 'directory', ...o,
      pending: o.pending.map((x) => ({ ...x, rejectError: extra.rejectErrors?.[x.id] })),
      values: extra.values ?? { fieldsText: ctx.directory.fieldsText(o.settings), descriptionMax: o.settings.descriptionMax },
      errors: extra.errors,
    });
  };

  r.get('/', h(async (req, res) => render(req, res)));

  r.get('/:id/logo.png', h(async (req, res) => {
    const png = await ctx.directory.draftLogo(idParam(req));
    if (!png) { res.status(404).end(); return; }
    res.type('image/png').set('Cache-Control', 'private, max-age=60').send(png);
  }));

  const review = (name: 'approve' | 'reject') => r.post(`/:id/${name}`, h(async (req, res) => {
    const id = idParam(req);
    const version = Number(str(req.body?.version)) || 0;
    try {
      if (name === 'approve') await ctx.directory.approve(actorOf(req), id, version);
      else {
        const p = parseForm(rejectSchema, { note: str(req.body?.note), version }, req.t);
        if (!p.ok) return render(req, res, { rejectErrors: { [id]: p.errors.note ?? Object.values(p.errors)[0] } });
        await ctx.directory.reject(actorOf(req), id, version, p.data.note);
      }
      flash(req, 'success', req.t(name === 'approve' ? 'directory.board.approved' : 'directory.board.rejected'));
    } catch (e) {
      if (e instanceof DirectoryError && e.field === 'note') return render(req, res, { rejectErrors: { [id]: errorText(req, e) } });
      if (e instanceof DirectoryError) flash(req, 'error', errorText(req, e));
      else if (e instanceof ConflictError) flash(req, 'error', req.t('directory.errors.conflictBoard'));
      else throw e;
    }
    res.redirect(303, '/board/directory');
  }));
  review('approve');
  review('reject');

  r.post('/settings', h(async (req, res) => {
    const values = { fieldsText: str(req.body?.fieldsText), descriptionMax: str(req.body?.descriptionMax) };
    const p = parseForm(fieldsTextSchema, values, req.t);
    if (!p.ok) return render(req, res, { errors: p.errors, values });
    const parsed = ctx.directory.parseFieldsText(p.data.fieldsText);
    if (!parsed.ok) return render(req, res, { errors: { fieldsText: req.t('directory.validation.fieldsLine', { line: parsed.line }) }, values });
    await ctx.directory.updateSettings(actorOf(req), { fields: parsed.fields, descriptionMax: p.data.descriptionMax });
    flash(req, 'success', req.t('directory.board.settingsSaved'));
    res.redirect(303, '/board/directory#settings');
  }));

  return r;
}

const one = (v: unknown): string => (typeof v === 'string' ? v.slice(0, 200) : '');

/** The public pages: no sign-in; only approved profiles of current members, ever. */
export function directoryPublicRouter(ctx: Context): Router {
  const r = Router();

  r.get('/netzwerk.json', h(async (_req, res) => {
    res.set('Access-Control-Allow-Origin', '*').set('Cache-Control', 'public, max-age=300').json(await ctx.directory.exportJson());
  }));

  r.get('/netzwerk.csv', h(async (req, res) => {
    res.set('Cache-Control', 'public, max-age=300').type('text/csv; charset=utf-8')
      .attachment(req.locale === 'en' ? 'network-members.csv' : 'netzwerk-mitglieder.csv').send(await ctx.directory.exportCsv(req.locale));
  }));

  r.get('/netzwerk', h(async (req, res) => {
    const filter = { field: one(req.query.feld), town: one(req.query.ort), q: one(req.query.q) };
    const data = await ctx.directory.publicList(req.locale, filter);
    const association = await ctx.settings.association();
    const title = req.t('directory.public.title', { association: association.name });
    res.render('directory/public-list', {
      title, section: 'netzwerk', ...data, filter, filtered: !!(filter.field || filter.town || filter.q),
      meta: { description: req.t('directory.public.metaDescription', { association: association.name, count: data.total }), ogTitle: title, url: `${ctx.config.baseUrl}/netzwerk` },
    });
  }));

  r.get('/netzwerk/:slug/logo.png', h(async (req, res) => {
    const logo = await ctx.directory.publicLogo(String(req.params.slug));
    if (!logo) { res.status(404).end(); return; }
    if (req.headers['if-none-match'] === logo.etag) { res.status(304).end(); return; }
    res.type('image/png').set('Cache-Control', 'public, max-age=3600').set('ETag', logo.etag).set('X-Content-Type-Options', 'nosniff').send(logo.content);
  }));

  const renderProfile = async (req: Request, res: Response, slug: string, form: { values?: Record<string, unknown>; errors?: FieldErrors; status?: number; sent?: boolean } = {}) => {
    const entry = await ctx.directory.publicProfile(req.locale, slug);
    if (!entry) {
      res.status(404).render('errors/error', { title: req.t('common.errors.title404'), text: req.t('directory.public.gone') });
      return;
    }
    const association = await ctx.settings.association();
    res.status(form.status ?? (form.errors ? 422 : 200)).render('directory/public-profile', {
      title: entry.name, section: 'netzwerk', entry, values: form.values ?? {}, errors: form.errors, sent: form.sent, messageMax: ENQUIRY_MESSAGE_MAX,
      meta: {
        description: (entry.description || req.t('directory.public.metaProfile', { name: entry.name, association: association.name })).replace(/\s+/g, ' ').slice(0, 200),
        ogTitle: `${entry.name} · ${association.name}`, url: entry.url, image: entry.logoUrl ? `${ctx.config.baseUrl}${entry.logoUrl}` : undefined,
      },
    });
  };

  r.get('/netzwerk/:slug', h(async (req, res) => renderProfile(req, res, String(req.params.slug), { sent: req.query.gesendet === '1' })));

  r.post('/netzwerk/:slug/anfrage', h(async (req, res) => {
    const slug = String(req.params.slug);
    const values = { name: str(req.body?.name), email: str(req.body?.email), organisation: str(req.body?.organisation), message: str(req.body?.message), homepage: str(req.body?.homepage) };
    const p = parseForm(enquirySchema, values, req.t);
    if (!p.ok) return renderProfile(req, res, slug, { values, errors: p.errors });
    try {
      await ctx.directory.enquire(slug, p.data, req.ip ?? 'unknown');
    } catch (e) {
      if (e instanceof DirectoryError) return renderProfile(req, res, slug, { values, errors: { _form: errorText(req, e) }, status: e.status });
      throw e;
    }
    res.redirect(303, `/netzwerk/${encodeURIComponent(slug)}?gesendet=1#anfrage`);
  }));

  return r;
}
