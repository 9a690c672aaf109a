import { Router, type Request, type Response } from 'express';
import type { Context } from '../context.ts';
import type { Actor } from '../audit/audit.service.ts';
import { ForbiddenError } from '../errors.ts';
import { flash, h, idParam, requireRole } from '../web/middleware.ts';
import { parseForm } from '../web/forms.ts';
import { motionSchema, proxySchema, rsvpSchema } from './assemblies.schemas.ts';
import { AssemblyRuleError, FieldRuleError, type Assembly, type Invitation, type LinkProblem } from './assemblies.model.ts';
import { ruleMessage, sendFile } from './assemblies.routes.ts';
import { describeOutcome } from './results.ts';
import { mountMemberBallots } from './ballots.routes.ts'; // h/evote

type Resolved = { ok: true; invitation: Invitation; assembly: Assembly } | { ok: false; reason: LinkProblem; assembly?: Assembly };

const PROBLEM_STATUS: Record<LinkProblem, number> = { unknown: 404, expired: 410, left: 403, cancelled: 410 };

function problemPage(req: Request, res: Response, r: { reason: LinkProblem; assembly?: Assembly }): void {
  res.status(PROBLEM_STATUS[r.reason]).render('assemblies/link-problem', {
    title: req.t(`assemblies.link.${r.reason}.title`), reason: r.reason, assembly: r.assembly,
    text: req.t(`assemblies.link.${r.reason}.text`), portal: !!req.user?.roles.includes('member'),
  });
}

/**
 * The member's page for one assembly: RSVP, proxy, motions. Reached by the personal link from
 * the invitation (no login; the link allows only that organisation's answers for that assembly)
 * or from the portal. A wrong, expired or no longer valid link changes nothing.
 */
function memberPages(ctx: Context, resolve: (req: Request) => Promise<Resolved>, base: (req: Request) => string, via: 'link' | 'portal', actorFor: (req: Request, inv: Invitation) => Actor): Router {
  const r = Router({ mergeParams: true });
  const svc = ctx.assemblies;

  const withInvitation = (fn: (req: Request, res: Response, inv: Invitation, a: Assembly) => Promise<void>) => h(async (req, res) => {
    const resolved = await resolve(req);
    if (!resolved.ok) return problemPage(req, res, resolved);
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-store');
    await fn(req, res, resolved.invitation, resolved.assembly);
  });

  const render = async (req: Request, res: Response, inv: Invitation, a: Assembly, errors: Record<string, Record<string, string>> = {}, values: Record<string, Record<string, unknown>> = {}) => {
    const view = await svc.answers.memberView(inv, a);
    const ballots = await svc.ballots.openFor(a.id, inv.organisationId); // h/evote: the open ballots this member votes in
    res.status(Object.keys(errors).length ? 422 : 200).render('assemblies/member', {
      title: a.title, section: via === 'portal' ? 'portal' : undefined, assembly: a, invitation: inv, base: base(req), view, errors,
      rsvpValues: values.rsvp ?? (view.rsvp ? { attending: view.rsvp.attending ? 'yes' : 'no', peopleCount: String(view.rsvp.peopleCount || ''), names: view.rsvp.names, mode: view.rsvp.mode } : { peopleCount: '1' }),
      motionValues: values.motion ?? {},
      ballots: ballots.map((b) => ({ id: b.ballot.id, question: b.ballot.question, closesAt: b.ballot.closesAt, toCast: b.carries.filter((c) => !c.voted && !c.countedByHand).length, carries: b.carries.length })), // h/evote
    });
  };

  const act = async (req: Request, res: Response, fn: () => Promise<unknown>, success: string, anchor: string) => {
    try {
      await fn();
      flash(req, 'success', req.t(success));
    } catch (err) {
      if (!(err instanceof AssemblyRuleError)) throw err;
      flash(req, 'error', ruleMessage(req.t, req.locale, err));
    }
    res.redirect(303, `${base(req)}#${anchor}`);
  };

  r.get('/', withInvitation(async (req, res, inv, a) => render(req, res, inv, a)));

  r.post('/rsvp', withInvitation(async (req, res, inv, a) => {
    const p = parseForm(rsvpSchema, req.body, req.t);
    if (!p.ok) return render(req, res, inv, a, { rsvp: p.errors }, { rsvp: req.body });
    try { // h/attend: a refused field (the way of taking part) is shown next to it, with what was typed
      await svc.answers.rsvp(actorFor(req, inv), inv, p.data, via);
    } catch (err) {
      if (!(err instanceof FieldRuleError)) return act(req, res, () => Promise.reject(err), '', 'rsvp');
      return render(req, res, inv, a, { rsvp: Object.fromEntries(Object.entries(err.fields).map(([k, v]) => [k, req.t(v.code)])) }, { rsvp: req.body });
    }
    flash(req, 'success', req.t('assemblies.member.rsvpSaved'));
    res.redirect(303, `${base(req)}#rsvp`);
  }));

  r.post('/proxy', withInvitation(async (req, res, inv, a) => {
    const p = parseForm(proxySchema, req.body, req.t);
    if (!p.ok) return render(req, res, inv, a, { proxy: p.errors });
    await act(req, res, () => svc.answers.giveProxy(actorFor(req, inv), inv, p.data.holderOrganisationId, via), 'assemblies.member.proxyGiven', 'proxy');
  }));

  r.post('/proxy/withdraw', withInvitation(async (req, res, inv) => {
    await act(req, res, () => svc.answers.withdrawProxy(actorFor(req, inv), inv), 'assemblies.member.proxyWithdrawn', 'proxy');
  }));

  r.post('/motions', withInvitation(async (req, res, inv, a) => {
    const p = parseForm(motionSchema, req.body, req.t);
    if (!p.ok) return render(req, res, inv, a, { motion: p.errors }, { motion: req.body });
    await act(req, res, () => svc.answers.submitMotion(actorFor(req, inv), inv, p.data, via), 'assemblies.member.motionSaved', 'motions');
  }));

  mountMemberBallots(r, ctx, withInvitation, base, via, actorFor); // h/evote: the ballots' forms

  r.get('/attachments/:attId', withInvitation(async (req, res, _inv, a) => {
    sendFile(res, await svc.attachments.forMember(a.id, idParam(req, 'attId')));
  }));

  return r;
}

/** Personal links from the invitation: /a/:token (no login). */
export function assembliesPublicRouter(ctx: Context): Router {
  const r = Router();
  r.use('/a/:token', memberPages(
    ctx,
    (req) => ctx.assemblies.answers.resolveLink(String(req.params.token)),
    (req) => `/a/${String(req.params.token)}`,
    'link',
    (_req, inv) => ({ userId: null, label: `link: ${inv.organisationName}`.slice(0, 200) }),
  ));
  return r;
}

/** The same pages in the member portal: /portal/assemblies and /portal/assemblies/:id. */
export function assembliesPortalRouter(ctx: Context): Router {
  const r = Router();
  r.use(requireRole('member'));
  const orgOf = (req: Request): number => {
    const orgId = req.user!.organisationId;
    if (!orgId) throw new ForbiddenError('no_organisation');
    return orgId;
  };
  r.get('/', h(async (req, res) => {
    const list = await ctx.assemblies.answers.portalList(orgOf(req));
    res.render('assemblies/portal-list', { title: req.t('assemblies.portal.title'), section: 'portal', assemblies: list, history: await ctx.assemblies.day.assembliesAttendedBy(orgOf(req)) });
  }));
  // an assembly that is over: the record (own answer, resolutions, minutes once sent), read-only
  r.get('/:id', h(async (req, res, next) => {
    const orgId = orgOf(req);
    const resolved = await ctx.assemblies.answers.resolvePortal(orgId, idParam(req));
    if (resolved.ok || resolved.reason !== 'expired' || !resolved.assembly) return next();
    const a = resolved.assembly;
    const [agenda, resolutions, minutes, history] = await Promise.all([
      ctx.assemblies.assembly.agenda(a.id), ctx.assemblies.day.resolutions(a.id), ctx.assemblies.minutes.get(a.id), ctx.assemblies.day.assembliesAttendedBy(orgId),
    ]);
    const own = history.find((x) => x.assemblyId === a.id);
    res.setHeader('Cache-Control', 'no-store');
    res.render('assemblies/portal-record', {
      title: a.title, section: 'portal', assembly: a, own,
      agenda: agenda.map((it) => {
        const r = resolutions.get(it.id);
        return { ...it, outcomeWords: r ? describeOutcome(req.t, req.locale, r.outcome) : '', counts: r };
      }),
      minutes: minutes?.sentAt ? minutes : undefined,
    });
  }));
  r.use('/:id', memberPages(
    ctx,
    async (req) => ctx.assemblies.answers.resolvePortal(orgOf(req), idParam(req)),
    (req) => `/portal/assemblies/${idParam(req)}`,
    'portal',
    (req) => ({ userId: req.user!.id, label: req.user!.displayName }),
  ));
  return r;
}
