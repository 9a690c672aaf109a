import { Router } from 'express';
import type { Context } from '../context.ts';
import { h, requireRole } from '../web/middleware.ts';
import { ForbiddenError } from '../errors.ts';

/** The member portal: a member contact sees only their own organisation. */
export function portalRouter(ctx: Context): Router {
  const r = Router();
  r.use(requireRole('member'));
  r.get('/', h(async (req, res) => {
    const orgId = req.user!.organisationId;
    if (!orgId) throw new ForbiddenError('no_organisation');
    const organisation = await ctx.members.get(orgId);
    const contacts = await ctx.members.contacts(orgId);
    const category = organisation ? await ctx.settings.category(organisation.categoryId) : undefined;
    res.render('portal/home', { title: req.t('portal.title'), section: 'portal', organisation, contacts, category });
  }));
  return r;
}
