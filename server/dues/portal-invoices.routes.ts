import { Router } from 'express';
import type { Context } from '../context.ts';
import { ForbiddenError, NotFoundError } from '../errors.ts';
import { h, requireRole } from '../web/middleware.ts';
import { payMethodsText } from './invoice.ts';

/**
 * The member portal's invoices (mount under /portal): GET /invoices lists the own
 * organisation's invoices with status and pay link; GET /invoices/:id.pdf gives the PDF of an
 * invoice that belongs to the signed-in contact's organisation (404 for any other).
 */
export function portalInvoicesRouter(ctx: Context): Router {
  const r = Router();
  r.use(requireRole('member'));

  r.get('/invoices', h(async (req, res) => {
    const orgId = req.user!.organisationId;
    if (!orgId) throw new ForbiddenError('no_organisation');
    // h/money2: the pay link names the methods its page offers
    const invoices = (await ctx.dues.invoicesForOrganisation(orgId)).map((inv) => ({ ...inv, payMethodsText: payMethodsText(req.t, inv.payMethods) }));
    res.render('dues/portal-invoices', { title: req.t('dues.portal.title'), section: 'portal', invoices });
  }));

  r.get('/invoices/:file', h(async (req, res) => {
    const orgId = req.user!.organisationId;
    if (!orgId) throw new ForbiddenError('no_organisation');
    const m = /^(\d{1,12})\.pdf$/.exec(String(req.params.file));
    if (!m) throw new NotFoundError();
    const { invoice, pdf } = await ctx.dues.organisationPdf(orgId, Number(m[1]));
    res.type('application/pdf').set('Content-Disposition', `inline; filename="${invoice.number}.pdf"`).send(pdf);
  }));

  return r;
}
