import { Router, type Request, type Response } from 'express';
import type { Context } from '../context.ts';
import { flash, h, idParam, requireRole } from '../web/middleware.ts';
import { parseForm } from '../web/forms.ts';
import { actorOf } from '../web/actor.ts';
import type { FieldErrors } from '../errors.ts';
import { AssemblyRuleError, FieldRuleError } from './assemblies.model.ts';
import { VOTING_KINDS } from './majority.ts';
import { readBerlinTime } from './berlin-time.ts';
import { berlinDay } from './notice.ts';
import { renderLettersPdf } from './letter-pdf.ts';
import { ruleMessage, sendFile } from './assemblies.routes.ts';
import { describeWrittenRule, writtenAnswerSchema, writtenInputSchema, writtenRuleOf, type ResolvedWrittenLink, type WrittenResolution } from './written.service.ts';

/** A refused action as a message: written.errors.<code> for the module's own codes, the assemblies' otherwise. */
function message(req: Request, err: AssemblyRuleError): string {
  return err.code.startsWith('written_') ? req.t(`written.errors.${err.code}`, err.params) : ruleMessage(req.t, req.locale, err);
}

function fieldErrors(req: Request, err: FieldRuleError): FieldErrors {
  return Object.fromEntries(Object.entries(err.fields).map(([field, e]) => [field, req.t(`written.errors.${e.code}`, e.params ?? {})]));
}

/** The board's pages: list, new, edit, send, letters, the live state, and the result. */
export function writtenBoardRouter(ctx: Context): Router {
  const r = Router();
  r.use(requireRole('board'));
  const svc = ctx.assemblies.written;

  const kinds = (req: Request) => VOTING_KINDS.map((k) => ({ value: k, label: req.t(`assemblies.agendaKinds.${k}`) }));

  const timeChoices = (req: Request, values: Record<string, unknown>) => {
    const date = typeof values.date === 'string' ? values.date.trim() : '';
    const time = typeof values.time === 'string' ? values.time.trim() : '';
    if (readBerlinTime(date, time).kind !== 'ambiguous') return undefined;
    return (['summer', 'winter'] as const).map((value) => ({ value, label: req.t(`assemblies.form.timeOffset.${value}`, { time }), checked: values.timeOffset === value }));
  };

  const renderForm = async (req: Request, res: Response, values: Record<string, unknown>, errors: FieldErrors, existing?: WrittenResolution) => {
    const rules = await ctx.settings.rules();
    const kind = VOTING_KINDS.find((k) => k === values.kind) ?? 'resolution';
    res.status(Object.keys(errors).length ? 422 : 200).render('written/form', {
      title: req.t(existing ? 'written.form.editTitle' : 'written.form.newTitle'), section: 'assemblies', values, errors, kinds: kinds(req), existing,
      timeChoices: timeChoices(req, values), ruleWords: describeWrittenRule(req.t, writtenRuleOf(rules, kind)),
      action: existing ? `/board/written-resolutions/${existing.id}` : '/board/written-resolutions',
    });
  };

  const save = async (req: Request, res: Response, existing?: WrittenResolution) => {
    const values = (req.body ?? {}) as Record<string, unknown>; // why: urlencoded bodies are plain objects; every field is read through the schema
    const p = parseForm(writtenInputSchema, values, req.t);
    if (!p.ok) return renderForm(req, res, values, p.errors, existing);
    try {
      const id = existing ? (await svc.update(actorOf(req), existing.id, p.data), existing.id) : await svc.create(actorOf(req), p.data);
      flash(req, 'success', req.t('written.form.saved'));
      res.redirect(303, `/board/written-resolutions/${id}`);
    } catch (err) {
      if (err instanceof FieldRuleError) return renderForm(req, res, values, fieldErrors(req, err), existing);
      if (!(err instanceof AssemblyRuleError)) throw err;
      flash(req, 'error', message(req, err));
      res.redirect(303, existing ? `/board/written-resolutions/${existing.id}` : '/board/written-resolutions');
    }
  };

  r.get('/', h(async (req, res) => {
    res.render('written/list', { title: req.t('written.list.title'), section: 'assemblies', resolutions: await svc.list() });
  }));

  r.get('/new', h(async (req, res) => renderForm(req, res, { kind: 'resolution', time: '23:59' }, {})));
  r.post('/', h(async (req, res) => save(req, res)));

  r.get('/:id', h(async (req, res) => {
    const v = await svc.view(idParam(req));
    res.render('written/show', {
      title: v.resolution.title, section: 'assemblies', ...v,
      ruleWords: describeWrittenRule(req.t, v.rule), outcomeWords: svc.describeOutcome(req.t, v.outcome, v.counts),
    });
  }));

  r.get('/:id/edit', h(async (req, res) => {
    const w = await svc.get(idParam(req));
    if (w.status !== 'draft') { res.redirect(303, `/board/written-resolutions/${w.id}`); return; }
    await renderForm(req, res, { title: w.title, motionText: w.motionText, kind: w.kind, date: w.deadline.date, time: w.deadline.time }, {}, w);
  }));
  r.post('/:id', h(async (req, res) => save(req, res, await svc.get(idParam(req)))));

  const act = (path: string, fn: (req: Request, id: number) => Promise<string>) => r.post(`/:id/${path}`, h(async (req, res) => {
    const id = idParam(req);
    await svc.get(id);
    try {
      flash(req, 'success', await fn(req, id));
    } catch (err) {
      if (!(err instanceof AssemblyRuleError)) throw err;
      flash(req, 'error', message(req, err));
    }
    res.redirect(303, `/board/written-resolutions/${id}`);
  }));

  act('send', async (req, id) => req.t('written.show.sent', await svc.send(actorOf(req), id)));
  act('determine', async (req, id) => req.t((await svc.determine(actorOf(req), id)).adopted ? 'written.show.determinedAdopted' : 'written.show.determinedRejected'));

  r.post('/:id/letters', h(async (req, res) => {
    const id = idParam(req);
    try {
      const letters = await svc.prepareLetters(actorOf(req), id);
      const now = ctx.clock.now();
      const pdf = await renderLettersPdf(letters, await ctx.settings.association(), berlinDay(now), now);
      sendFile(res, { filename: req.t('written.letter.file', { id }), contentType: 'application/pdf', content: pdf }, 'attachment');
    } catch (err) {
      if (!(err instanceof AssemblyRuleError)) throw err;
      flash(req, 'error', message(req, err));
      res.redirect(303, `/board/written-resolutions/${id}`);
    }
  }));

  r.post('/:id/result-letters', h(async (req, res) => {
    const id = idParam(req);
    try {
      const letters = await svc.prepareResultLetters(actorOf(req), id);
      const now = ctx.clock.now();
      const pdf = await renderLettersPdf(letters, await ctx.settings.association(), berlinDay(now), now);
      sendFile(res, { filename: req.t('written.letter.resultFile', { id }), contentType: 'application/pdf', content: pdf }, 'attachment');
    } catch (err) {
      if (!(err instanceof AssemblyRuleError)) throw err;
      flash(req, 'error', message(req, err));
      res.redirect(303, `/board/written-resolutions/${id}`);
    }
  }));

  return r;
}

const PROBLEM_STATUS = { unknown: 404, expired: 410, left: 403, decided: 410 } as const;

/** The member's page behind the personal link /w/:token (no login): the motion, the deadline, the answer. */
export function writtenPublicRouter(ctx: Context): Router {
  const r = Router();
  const svc = ctx.assemblies.written;

  const page = (req: Request, res: Response, resolved: ResolvedWrittenLink, extra: { errors?: FieldErrors; values?: Record<string, unknown>; status?: number } = {}) => {
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-store');
    if (!resolved.ok) {
      res.status(PROBLEM_STATUS[resolved.reason]).render('written/problem', {
        title: req.t(`written.link.${resolved.reason}.title`), text: req.t(`written.link.${resolved.reason}.text`), resolution: resolved.resolution, ballot: resolved.ballot,
      });
      return;
    }
    const { resolution, ballot } = resolved;
    res.status(extra.status ?? (extra.errors ? 422 : 200)).render('written/answer', {
      title: resolution.title, resolution, ballot, base: `/w/${String(req.params.token)}`,
      ruleWords: resolution.rule ? describeWrittenRule(req.t, resolution.rule) : '',
      errors: extra.errors ?? {}, values: extra.values ?? { name: ballot.contactName },
    });
  };

  r.get('/:token', h(async (req, res) => page(req, res, await svc.resolveLink(String(req.params.token)))));

  r.post('/:token', h(async (req, res) => {
    const token = String(req.params.token);
    const resolved = await svc.resolveLink(token);
    if (!resolved.ok || resolved.ballot.answer) return page(req, res, resolved, { status: resolved.ok ? 409 : undefined });
    const values = (req.body ?? {}) as Record<string, unknown>; // why: urlencoded bodies are plain objects; every field is read through the schema
    const p = parseForm(writtenAnswerSchema, values, req.t);
    if (!p.ok) return page(req, res, resolved, { errors: p.errors, values });
    try {
      await svc.answer(token, p.data);
      flash(req, 'success', req.t('written.answer.saved'));
    } catch (err) {
      if (!(err instanceof AssemblyRuleError)) throw err;
      flash(req, 'error', message(req, err));
    }
    res.redirect(303, `/w/${token}`);
  }));

  return r;
}
