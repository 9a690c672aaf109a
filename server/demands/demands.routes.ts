import { Router, type Request, type Response } from 'express';
import type { Context } from '../context.ts';
import type { FieldErrors } from '../errors.ts';
import { ForbiddenError } from '../errors.ts';
import { flash, h, idParam, requireRole } from '../web/middleware.ts';
import { parseForm } from '../web/forms.ts';
import { actorOf } from '../web/actor.ts';
import { DemandRuleError, type Demand } from './demands.service.ts';
import { PURPOSE_MAX, REASONS_MAX, demandSchema, linkSchema, rejectSchema } from './demands.schemas.ts';

/**
 * The minority's demand for an assembly (§ 37 BGB): the portal's pages (/portal/demands, the
 * organisation always from the signed-in contact, never from the URL), the board's pages
 * (/board/demands), and the demands awaiting the board on its assemblies page.
 */

const stateBadge: Record<Demand['state'], string> = { collecting: 'badge-info', reached: 'badge-warn', linked: 'badge-warn', fulfilled: 'badge-ok', rejected: 'badge-bad' };

function present(req: Request, x: Demand) {
  return {
    ...x,
    stateLabel: req.t(`demands.state.${x.state}`),
    stateBadge: stateBadge[x.state],
    progressText: req.t(x.progress.reached ? 'demands.progress.reached' : 'demands.progress.missing', {
      supporters: x.progress.supporters, required: x.progress.required, members: x.progress.members, missing: x.progress.missing, count: x.progress.missing,
    }),
  };
}

async function ruleText(ctx: Context, req: Request): Promise<string> {
  const w = await ctx.demands.ruleWords();
  return req.t(w.key, w.values);
}

function ruleError(req: Request, e: unknown): string {
  if (!(e instanceof DemandRuleError)) throw e;
  return req.t(`demands.errors.${e.code}`);
}

/** /portal/demands: mounted after the portal's router, whose navigation and organisation check run first. */
export function demandsPortalRouter(ctx: Context): Router {
  const r = Router();
  r.use(requireRole('member'));
  const orgOf = (req: Request): number => {
    const id = req.user!.organisationId;
    if (!id) throw new ForbiddenError('no_organisation');
    return id;
  };

  r.get('/', h(async (req, res) => {
    const list = await ctx.demands.portalList(orgOf(req));
    res.render('demands/portal-list', {
      title: req.t('demands.portal.title'), section: 'portal', rule: await ruleText(ctx, req),
      open: list.filter((x) => x.status === 'open').map((x) => present(req, x)),
      decided: list.filter((x) => x.status !== 'open').map((x) => present(req, x)),
    });
  }));

  const renderNew = async (req: Request, res: Response, values: Record<string, unknown>, errors?: FieldErrors) => {
    res.status(errors ? 422 : 200).render('demands/portal-new', {
      title: req.t('demands.new.title'), section: 'portal', values, errors, rule: await ruleText(ctx, req), purposeMax: PURPOSE_MAX, reasonsMax: REASONS_MAX,
    });
  };

  r.get('/new', h(async (req, res) => renderNew(req, res, {})));

  r.post('/new', h(async (req, res) => {
    const body: Record<string, unknown> = { purpose: typeof req.body?.purpose === 'string' ? req.body.purpose : '', reasons: typeof req.body?.reasons === 'string' ? req.body.reasons : '' };
    const p = parseForm(demandSchema, body, req.t);
    if (!p.ok) return renderNew(req, res, body, p.errors);
    try {
      const id = await ctx.demands.create(actorOf(req), orgOf(req), req.user!.contactId, p.data);
      flash(req, 'success', req.t('demands.new.saved'));
      res.redirect(303, `/portal/demands#demand-${id}`);
    } catch (e) {
      flash(req, 'error', ruleError(req, e));
      return renderNew(req, res, body, {});
    }
  }));

  const act = (fn: (req: Request, id: number) => Promise<void>, success: string) => h(async (req, res) => {
    const id = idParam(req);
    try {
      await fn(req, id);
      flash(req, 'success', req.t(success));
    } catch (e) {
      flash(req, 'error', ruleError(req, e));
    }
    res.redirect(303, `/portal/demands#demand-${id}`);
  });

  r.post('/:id/support', act((req, id) => ctx.demands.support(actorOf(req), orgOf(req), req.user!.contactId, id), 'demands.portal.supported'));
  r.post('/:id/withdraw', act((req, id) => ctx.demands.withdraw(actorOf(req), orgOf(req), id), 'demands.portal.withdrawn'));
  return r;
}

/** /board/demands: the board's list and decisions. */
export function demandsBoardRouter(ctx: Context): Router {
  const r = Router();
  r.use(requireRole('board'));

  r.get('/', h(async (req, res) => {
    const list = await ctx.demands.boardList();
    res.render('demands/board-list', { title: req.t('demands.board.title'), section: 'assemblies', rule: await ruleText(ctx, req), demands: list.map((x) => present(req, x)) });
  }));

  const renderDetail = async (
    req: Request, res: Response, id: number,
    forms: { link?: Record<string, unknown>; reject?: Record<string, unknown> } = {}, errors: { link?: FieldErrors; reject?: FieldErrors } = {}, problem?: string,
  ) => {
    const { demand, supporters } = await ctx.demands.detail(id);
    const chosenAssembly = String(forms.link?.assemblyId ?? demand.assemblyId ?? '');
    const raw = forms.link?.items;
    const chosenItems = (Array.isArray(raw) ? raw : raw == null ? demand.agendaItemIds : [raw]).map(String);
    const choices = (await ctx.demands.linkChoices()).map((c) => ({
      ...c.assembly, selected: String(c.assembly.id) === chosenAssembly,
      agenda: c.agenda.map((i) => ({ ...i, checked: chosenItems.includes(String(i.id)) })),
    }));
    res.status(errors.link || errors.reject ? 422 : 200).render('demands/board-show', {
      title: req.t('demands.board.detailTitle'), section: 'assemblies', demand: present(req, demand), rule: await ruleText(ctx, req),
      supporters, choices, linkErrors: errors.link, rejectErrors: errors.reject, rejectValues: forms.reject ?? {},
      canDecide: demand.status !== 'rejected', canReject: demand.status === 'open', problem,
    });
  };

  r.get('/:id', h(async (req, res) => renderDetail(req, res, idParam(req))));

  r.post('/:id/link', h(async (req, res) => {
    const id = idParam(req);
    const body: Record<string, unknown> = req.body ?? {};
    const p = parseForm(linkSchema, body, req.t);
    if (!p.ok) return renderDetail(req, res, id, { link: body }, { link: p.errors });
    try {
      await ctx.demands.link(actorOf(req), id, p.data);
      flash(req, 'success', req.t('demands.board.linked'));
      res.redirect(303, `/board/demands/${id}`);
    } catch (e) {
      const msg = ruleError(req, e);
      return renderDetail(req, res, id, { link: body }, { link: { assemblyId: msg } }, msg);
    }
  }));

  r.post('/:id/reject', h(async (req, res) => {
    const id = idParam(req);
    const body: Record<string, unknown> = { reason: typeof req.body?.reason === 'string' ? req.body.reason : '', version: req.body?.version };
    const p = parseForm(rejectSchema, body, req.t);
    if (!p.ok) return renderDetail(req, res, id, { reject: body }, { reject: p.errors });
    try {
      await ctx.demands.reject(actorOf(req), id, p.data);
      flash(req, 'success', req.t('demands.board.rejected'));
      res.redirect(303, `/board/demands/${id}`);
    } catch (e) {
      const msg = ruleError(req, e);
      return renderDetail(req, res, id, { reject: body }, { reject: { reason: msg } }, msg);
    }
  }));
  return r;
}

/**
 * Mounted before the assemblies' board router: on the assemblies page (GET /board/assemblies) the
 * demands awaiting the board (threshold reached, or tied to an assembly not yet convened) are
 * handed to the page (partial demands-pending), so they stay in sight until the assembly is convened.
 */
export function demandsDashboardHook(ctx: Context): Router {
  const r = Router();
  r.get('/', h(async (req, res, next) => {
    if (req.user?.roles.includes('board')) {
      res.locals.pendingDemands = (await ctx.demands.pendingForBoard()).map((x) => present(req, x));
    }
    next();
  }));
  return r;
}
