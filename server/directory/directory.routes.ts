import { Router, type Request, type Response } from 'express';
import type { Context } from '../context.ts';
import { ForbiddenError, ValidationError, type FieldErrors } from '../errors.ts';
import { flash, h, requireRole } from '../web/middleware.ts';
import { parseForm } from '../web/forms.ts';
import { actorOf } from '../web/actor.ts';
import { DirectoryRuleError } from './directory.service.ts';
import { DESCRIPTION_MAX, DIRECTORY_FIELDS, TOWN_MAX, profileSchema } from './directory.schemas.ts';

/**
 * /portal/profile: the organisation's directory profile, edited by its contacts (the organisation
 * always from the signed-in contact, never from the URL). Mounted after the portal's router,
 * whose navigation and organisation check run first.
 */
export function directoryPortalRouter(ctx: Context): Router {
  const r = Router();
  r.use(requireRole('member'));
  const orgOf = (req: Request): number => {
    const id = req.user!.organisationId;
    if (!id) throw new ForbiddenError('no_organisation');
    return id;
  };

  const render = async (req: Request, res: Response, values?: Record<string, unknown>, errors?: FieldErrors) => {
    const { profile, contacts } = await ctx.directory.forPortal(orgOf(req));
    const v: Record<string, unknown> = values ?? (profile ? {
      descriptionDe: profile.descriptionDe, descriptionEn: profile.descriptionEn, fields: profile.fields, town: profile.town, website: profile.website,
      cooperationContactId: String(profile.cooperationContactId ?? ''), version: String(profile.version),
    } : { fields: [], version: '0', cooperationContactId: String(req.user!.contactId ?? '') });
    const chosen = (Array.isArray(v.fields) ? v.fields : v.fields ? [v.fields] : []).map(String);
    res.status(errors ? 422 : 200).render('directory/portal-profile', {
      title: req.t('directory.portal.title'), section: 'portal', profile, values: v, errors,
      statusLabel: req.t(`directory.status.${profile?.status ?? 'none'}`),
      canWithdraw: profile?.status === 'pending' || profile?.status === 'published',
      fields: DIRECTORY_FIELDS.map((code) => ({ code, label: req.t(`directory.fields.${code}`), checked: chosen.includes(code) })),
      contacts: contacts.filter((c) => c.email).map((c) => ({ id: c.id, name: c.name, selected: String(v.cooperationContactId ?? '') === String(c.id) })),
      descriptionMax: DESCRIPTION_MAX, townMax: TOWN_MAX,
    });
  };

  r.get('/', h(async (req, res) => render(req, res)));

  r.post('/', h(async (req, res) => {
    const b: unknown = req.body;
    const values = b && typeof b === 'object' ? { ...(b as Record<string, unknown>) } : {}; // why: the body parser gives an object of fields
    const p = parseForm(profileSchema, values, req.t);
    if (!p.ok) {
      // a refused entry of the fields list ("fields.1") is shown next to the list
      const errors: FieldErrors = {};
      for (const [k, m] of Object.entries(p.errors)) errors[k.startsWith('fields.') ? 'fields' : k] ??= m;
      return render(req, res, values, errors);
    }
    try {
      await ctx.directory.save(actorOf(req), orgOf(req), p.data);
    } catch (e) {
      if (e instanceof ValidationError) return render(req, res, values, Object.fromEntries(Object.entries(e.fields).map(([k, m]) => [k, req.t(m)])));
      if (e instanceof DirectoryRuleError) return render(req, res, values, { descriptionDe: req.t(`directory.errors.${e.code}`) });
      throw e;
    }
    flash(req, 'success', req.t(p.data.action === 'submit' ? 'directory.portal.submitted' : 'directory.portal.saved'));
    res.redirect(303, '/portal/profile');
  }));

  r.post('/withdraw', h(async (req, res) => {
    try {
      await ctx.directory.withdraw(actorOf(req), orgOf(req));
      flash(req, 'success', req.t('directory.portal.withdrawn'));
    } catch (e) {
      if (!(e instanceof DirectoryRuleError)) throw e;
      flash(req, 'error', req.t(`directory.errors.${e.code}`));
    }
    res.redirect(303, '/portal/profile');
  }));
  return r;
}
