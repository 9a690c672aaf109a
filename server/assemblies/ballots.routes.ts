import { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import type { Context } from '../context.ts';
import type { Actor } from '../audit/audit.service.ts';
import { flash, h, idParam, requireRole } from '../web/middleware.ts';
import { parseForm } from '../web/forms.ts';
import { actorOf } from '../web/actor.ts';
import { AssemblyRuleError, FieldRuleError, type Assembly, type Invitation } from './assemblies.model.ts';
import { ruleMessage } from './assemblies.routes.ts';
import { describeElectionRule, describeResult, describeRule } from './results.ts';
import { secretByDefault, type Ballot, type VoterView } from './ballots.service.ts';
import type { BallotVia } from './ballots.tables.ts';

/**
 * h/evote: the pages of electronic ballots. The chair's (board): open a ballot per agenda item,
 * follow the participation live (a page that refreshes itself without JavaScript, polled every
 * 2 s with it), enter the show of hands of the room, close; the check-in tablet (board-operated:
 * a member checked in in the room votes on it). The voters': a form per ballot in the portal and
 * behind the personal assembly link.
 */

const text = (max: number) => z.string().trim().max(max, 'common.validation.tooLong');
const openSchema = z.object({
  question: text(500).optional().transform((v) => v ?? ''),
  minutes: z.preprocess((v) => (v === '' || v === undefined ? '10' : v), z.coerce.number({ message: 'common.validation.number' }).int('common.validation.number').min(1, 'ballots.errors.minutes').max(240, 'ballots.errors.minutes')),
  candidates: text(6000).optional().transform((v) => v ?? ''),
  maxChoices: z.preprocess((v) => (v === '' || v === undefined ? '1' : v), z.coerce.number({ message: 'common.validation.number' }).int('common.validation.number').min(1, 'ballots.errors.max_choices_min').max(30, 'common.validation.number')),
  secret: z.preprocess((v) => v === '1' || v === 'on', z.boolean()),
});

function list(v: unknown): string[] {
  if (typeof v === 'string') return v ? [v] : [];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && !!x) : [];
}

/** The choices of a voting form: `all` for every vote carried, `m<id>` for one represented member. */
function readChoices(body: unknown): { forAll: string[]; perMember: Map<number, string[]> } {
  const b: Record<string, unknown> = body && typeof body === 'object' ? (body as Record<string, unknown>) : {}; // why: the urlencoded body is a plain object
  const perMember = new Map<number, string[]>();
  for (const [k, v] of Object.entries(b)) {
    const m = /^m(\d{1,9})$/.exec(k);
    if (m && list(v).length) perMember.set(Number(m[1]), list(v));
  }
  return { forAll: list(b.all), perMember };
}

/** The options of a ballot as the form shows them. */
function optionViews(req: Request, b: Ballot) {
  return b.options.map((o) => ({ key: o.key, label: o.label || req.t(`ballots.option.${o.key}`), candidate: !!o.label }));
}

function ballotWords(req: Request, b: Ballot) {
  return {
    secretWords: req.t(b.secret ? 'ballots.secretWords' : 'ballots.openWords'),
    choiceWords: b.kind === 'election' ? req.t('ballots.chooseUpTo', { count: b.maxChoices }) : '',
    multi: b.kind === 'election' && b.maxChoices > 1,
  };
}

function voteView(req: Request, v: VoterView) {
  const toCast = v.carries.filter((c) => !c.voted && !c.countedByHand);
  return {
    ...v, ...ballotWords(req, v.ballot), options: optionViews(req, v.ballot), toCast, separately: toCast.length > 1,
    carriesWords: req.t('ballots.carries', { count: v.carries.length }),
    allVoted: !toCast.length,
  };
}

async function refused(req: Request, res: Response, back: string, fn: () => Promise<unknown>, success: (r: unknown) => string): Promise<void> {
  try {
    const r = await fn();
    flash(req, 'success', success(r));
  } catch (err) {
    if (err instanceof FieldRuleError) flash(req, 'error', Object.values(err.fields).map((e) => req.t(e.code, e.params ?? {})).join(' '));
    else if (err instanceof AssemblyRuleError) flash(req, 'error', ruleMessage(req.t, req.locale, err));
    else throw err;
  }
  res.redirect(303, back);
}

/** The board's ballot pages under /board/assemblies/:id/ballots. */
export function ballotsBoardRouter(ctx: Context): Router {
  const r = Router();
  const svc = ctx.assemblies;
  const board = requireRole('board');

  const ballotOf = async (req: Request): Promise<{ a: Assembly; b: Ballot }> => {
    const a = await svc.assembly.get(idParam(req));
    const b = await svc.ballots.get(idParam(req, 'ballotId'));
    if (b.assemblyId !== a.id) throw new AssemblyRuleError('ballots.errors.unknown');
    return { a, b };
  };

  const renderList = async (req: Request, res: Response, a: Assembly, form?: { itemId: number; values: Record<string, unknown>; errors: Record<string, string> }) => {
    const [agenda, ballots, rules] = await Promise.all([svc.assembly.agenda(a.id), svc.ballots.forAssembly(a.id), ctx.settings.rules()]);
    const started = svc.assembly.started(a);
    res.status(form ? 422 : 200).render('ballots/list', {
      title: req.t('ballots.list.title'), section: 'assemblies', assembly: a, started,
      items: agenda.flatMap((it) => (it.kind === 'report' ? [] : [{ ...it, kind: it.kind }])).map((it) => {
        const mine = form?.itemId === it.id ? form : undefined;
        const own = ballots.filter((b) => b.itemId === it.id);
        return {
          ...it, election: it.kind === 'election', ballots: own.map((b) => ({ ...b, statusWords: req.t(`ballots.status.${b.status}`) })),
          canOpen: started && a.status === 'invited' && !own.some((b) => b.status === 'open') && (it.kind === 'election' || !own.length),
          ruleWords: it.kind === 'election' ? describeElectionRule(req.t, rules.majorities.election, rules.elections) : describeRule(req.t, rules.majorities[it.kind]),
          values: mine?.values ?? { question: it.title, minutes: '10', maxChoices: '1', secret: secretByDefault(rules.ballotSecrecy, it.kind) ? '1' : '' },
          errors: mine?.errors,
        };
      }),
    });
  };

  r.get('/:id/ballots', board, h(async (req, res) => renderList(req, res, await svc.assembly.get(idParam(req)))));

  r.post('/:id/ballots/items/:itemId', board, h(async (req, res) => {
    const a = await svc.assembly.get(idParam(req));
    const itemId = idParam(req, 'itemId');
    const values: Record<string, unknown> = req.body ?? {};
    const p = parseForm(openSchema, values, req.t);
    if (!p.ok) return renderList(req, res, a, { itemId, values, errors: p.errors });
    try {
      const id = await svc.ballots.open(actorOf(req), a.id, {
        itemId, question: p.data.question, secret: p.data.secret, minutes: p.data.minutes, maxChoices: p.data.maxChoices,
        candidates: p.data.candidates.split(/\r?\n/).map((s) => s.trim()).filter(Boolean),
      });
      flash(req, 'success', req.t('ballots.flash.opened'));
      res.redirect(303, `/board/assemblies/${a.id}/ballots/${id}`);
    } catch (err) {
      if (err instanceof FieldRuleError) return renderList(req, res, a, { itemId, values, errors: Object.fromEntries(Object.entries(err.fields).map(([k, e]) => [k, req.t(e.code, e.params ?? {})])) });
      if (!(err instanceof AssemblyRuleError)) throw err;
      flash(req, 'error', ruleMessage(req.t, req.locale, err));
      res.redirect(303, `/board/assemblies/${a.id}/ballots`);
    }
  }));

  const renderChair = async (req: Request, res: Response, handsForm?: { values: Record<string, unknown>; errors: Record<string, string> }) => {
    const { a, b } = await ballotOf(req);
    const { participation } = await svc.ballots.participation(b.id);
    const item = await svc.assembly.agendaItem(a.id, b.itemId);
    const resolution = b.status === 'closed' ? (await svc.day.resolutions(a.id)).get(b.itemId) : undefined;
    const lines = b.status === 'closed' ? (await svc.ballots.minutesLines(a.id, req.t)).get(b.itemId) ?? [] : [];
    const open = b.status === 'open';
    res.status(handsForm ? 422 : 200).render('ballots/chair', {
      title: b.question, section: 'assemblies', assembly: a, ballot: b, item, participation, open, ...ballotWords(req, b),
      noscriptRefreshSeconds: open ? 5 : undefined, liveScript: open,
      options: optionViews(req, b).map((o) => ({ ...o, votes: b.result?.tallies[o.key] ?? 0, hands: b.hands?.[o.key] ?? 0 })),
      outcomeWords: resolution ? describeResult(req.t, req.locale, resolution) : '', lines,
      resolutionError: b.result?.resolutionError ? ruleMessage(req.t, req.locale, new AssemblyRuleError(b.result.resolutionError)) : '',
      canHands: open && !b.hands && b.maxChoices === 1 && participation.room.present > 0,
      handsValues: handsForm?.values ?? {}, handsErrors: handsForm?.errors,
      roomLeft: participation.room.present - participation.room.voted,
    });
  };

  r.get('/:id/ballots/:ballotId', board, h(async (req, res) => renderChair(req, res)));

  /** The participation for the chair's page, polled every 2 s (no external service). */
  r.get('/:id/ballots/:ballotId/live.json', board, h(async (req, res) => {
    const { b } = await ballotOf(req);
    const { participation } = await svc.ballots.participation(b.id);
    res.setHeader('Cache-Control', 'no-store');
    res.json({ status: b.status, closesAt: b.closesAt, ...participation });
  }));

  r.post('/:id/ballots/:ballotId/close', board, h(async (req, res) => {
    const { a, b } = await ballotOf(req);
    await refused(req, res, `/board/assemblies/${a.id}/ballots/${b.id}`, () => svc.ballots.close(actorOf(req), b.id), () => req.t('ballots.flash.closed'));
  }));

  r.post('/:id/ballots/:ballotId/hands', board, h(async (req, res) => {
    const { a, b } = await ballotOf(req);
    const values: Record<string, unknown> = req.body ?? {};
    try {
      await svc.ballots.enterHands(actorOf(req), b.id, Object.fromEntries(b.options.map((o) => [o.key, values[`h_${o.key}`]])));
    } catch (err) {
      if (err instanceof FieldRuleError) return renderChair(req, res, { values, errors: Object.fromEntries(Object.entries(err.fields).map(([k, e]) => [k, req.t(e.code, e.params ?? {})])) });
      if (!(err instanceof AssemblyRuleError)) throw err;
      flash(req, 'error', ruleMessage(req.t, req.locale, err));
      return res.redirect(303, `/board/assemblies/${a.id}/ballots/${b.id}`);
    }
    flash(req, 'success', req.t('ballots.flash.hands'));
    res.redirect(303, `/board/assemblies/${a.id}/ballots/${b.id}`);
  }));

  /* the check-in tablet: the board's device at the desk, a member of the room votes on it */
  r.get('/:id/ballots/:ballotId/tablet', board, h(async (req, res) => {
    const { a, b } = await ballotOf(req);
    const orgId = Number(req.query.member) || 0;
    const voters = await svc.ballots.tabletVoters(b.id);
    const chosen = orgId ? voters.find((v) => v.organisationId === orgId) : undefined;
    res.setHeader('Cache-Control', 'no-store');
    res.render('ballots/tablet', {
      title: req.t('ballots.tablet.title'), section: 'assemblies', assembly: a, ballot: b, voters, chosen, open: b.status === 'open',
      vote: chosen ? voteView(req, await svc.ballots.voterView(b, chosen.organisationId)) : undefined,
      action: chosen ? `/board/assemblies/${a.id}/ballots/${b.id}/tablet/${chosen.organisationId}` : '',
    });
  }));

  r.post('/:id/ballots/:ballotId/tablet/:orgId', board, h(async (req, res) => {
    const { a, b } = await ballotOf(req);
    const orgId = idParam(req, 'orgId');
    const names = await ctx.members.legalNames([orgId]);
    const actor: Actor = { userId: req.user!.id, label: `${req.user!.displayName} (tablet: ${names.get(orgId) ?? orgId})`.slice(0, 200) };
    await refused(req, res, `/board/assemblies/${a.id}/ballots/${b.id}/tablet`, () => svc.ballots.cast(actor, b.id, orgId, readChoices(req.body), 'tablet'),
      (n) => req.t('ballots.flash.counted', { count: (n as { counted: number }).counted })); // why: cast() resolves to { counted }
  }));

  return r;
}

/**
 * The voters' ballot pages inside the member's assembly page (portal or personal link):
 * GET/POST {base}/ballots/:ballotId. `withInvitation` resolves the link or the portal's member.
 */
export function mountMemberBallots(
  r: Router, ctx: Context,
  withInvitation: (fn: (req: Request, res: Response, inv: Invitation, a: Assembly) => Promise<void>) => RequestHandler,
  base: (req: Request) => string, via: BallotVia, actorFor: (req: Request, inv: Invitation) => Actor,
): void {
  const svc = ctx.assemblies.ballots;
  const ballotFor = async (req: Request, a: Assembly): Promise<Ballot> => {
    const b = await svc.get(idParam(req, 'ballotId'));
    if (b.assemblyId !== a.id) throw new AssemblyRuleError('ballots.errors.unknown');
    return b;
  };

  r.get('/ballots/:ballotId', withInvitation(async (req, res, inv, a) => {
    let b: Ballot;
    try { b = await ballotFor(req, a); } catch (err) {
      if (!(err instanceof AssemblyRuleError)) throw err;
      res.status(404).render('ballots/vote', { title: req.t('ballots.vote.title'), section: via === 'portal' ? 'portal' : undefined, assembly: a, base: base(req), missing: true });
      return;
    }
    const view = voteView(req, await svc.voterView(b, inv.organisationId));
    const resolution = b.status === 'closed' ? (await ctx.assemblies.day.resolutions(a.id)).get(b.itemId) : undefined;
    res.render('ballots/vote', {
      title: b.question, section: via === 'portal' ? 'portal' : undefined, assembly: a, invitation: inv, base: base(req), vote: view,
      action: `${base(req)}/ballots/${b.id}`, outcomeWords: resolution ? describeResult(req.t, req.locale, resolution) : '',
      refreshSeconds: b.status === 'open' && view.allVoted && view.carries.length ? 10 : undefined,
    });
  }));

  r.post('/ballots/:ballotId', withInvitation(async (req, res, inv, a) => {
    const b = await ballotFor(req, a);
    await refused(req, res, `${base(req)}/ballots/${b.id}`, () => svc.cast(actorFor(req, inv), b.id, inv.organisationId, readChoices(req.body), via),
      (n) => req.t('ballots.flash.counted', { count: (n as { counted: number }).counted })); // why: cast() resolves to { counted }
  }));
}
