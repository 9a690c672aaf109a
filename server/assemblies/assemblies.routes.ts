import { Router, type Request, type RequestHandler, type Response } from 'express';
import multer from 'multer';
import type { TFunction } from 'i18next';
import type { Context } from '../context.ts';
import { flash, h, idParam, requireRole } from '../web/middleware.ts';
import { parseForm } from '../web/forms.ts';
import { formatDate, formatDateTime } from '../i18n/format.ts';
import { correctionLines } from './minutes-document.ts';
import { renderMail } from '../mail/render.ts';
import type { FieldErrors } from '../errors.ts';
import { AGENDA_KINDS, ASSEMBLY_KINDS, ELECTION_ROWS_MAX, FORMATS, agendaItemSchema, assemblySchema, attendanceSchema, minutesSchema, resolutionSchema, sendSchema } from './assemblies.schemas.ts';
import { AssemblyRuleError, FieldRuleError, LateNoticeError, MAX_UPLOAD_BYTES, ruleKey, type Assembly } from './assemblies.model.ts';
import { describeElectionRule, describeOutcome, describeResult, describeRule, candidateVotes, type Resolution } from './results.ts';
import { renderLettersPdf } from './letter-pdf.ts';
import { berlinDay } from './notice.ts';
import { actorOf } from '../web/actor.ts';
import { readBerlinTime } from './berlin-time.ts';

/** The two multipart forms of the board: a document for the invitees, and the minutes as PDF. */
const UPLOAD_PATH = /^\/\d+\/(attachments|minutes\/file)\/?$/;

/**
 * Parses the multipart uploads of the assemblies pages BEFORE the global CSRF check (mounted in
 * app.ts ahead of it at /board/assemblies, like the member import's parser), so the check can read
 * the form's `_csrf` field; the check itself stays as it is. Only POST to the two upload paths with
 * multipart/form-data, only for signed-in board members (the role is checked before a byte is
 * buffered), one file of at most 10 MB in memory. A file over the limit is reported to the route
 * (res.locals.uploadError), which answers with a clear message after the CSRF check.
 */
export function assemblyUploadParser(): RequestHandler {
  const upload = multer({
    storage: multer.memoryStorage(),
    defParamCharset: 'utf8', // browsers send file names as UTF-8 (Protokoll_März.pdf)
    limits: { fileSize: MAX_UPLOAD_BYTES, files: 1, fields: 5, fieldSize: 1024, parts: 6 },
  }).single('file');
  const guard = requireRole('board');
  return (req, res, next) => {
    if (req.method !== 'POST' || !UPLOAD_PATH.test(req.path) || !req.is('multipart/form-data')) { next(); return; }
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

/** The uploaded file, or the message why there is none. */
function uploadedFile(req: Request, res: Response): { file: { filename: string; contentType: string; content: Buffer } } | { error: string } {
  const maxMb = MAX_UPLOAD_BYTES / 1024 / 1024;
  const e = res.locals.uploadError as string | undefined; // why: set only by assemblyUploadParser above, to a multer error code
  if (e === 'LIMIT_FILE_SIZE') return { error: req.t('assemblies.attachments.tooLarge', { maxMb }) };
  if (e) return { error: req.t('assemblies.attachments.malformed') };
  if (!req.file || !req.file.size) return { error: req.t('assemblies.attachments.noFile') };
  return { file: { filename: req.file.originalname, contentType: req.file.mimetype, content: req.file.buffer } };
}

/** The message of a refused action, with dates in the page's language. */
export function ruleMessage(t: TFunction, locale: 'de' | 'en', err: AssemblyRuleError): string {
  const params: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(err.params)) params[k] = typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v) ? formatDate(v, locale) : v;
  return t(ruleKey(err.code), params);
}

/** Runs a state change; a refused rule becomes an error message on the page it came from. */
export async function act(req: Request, res: Response, back: string, fn: () => Promise<unknown>, success?: string): Promise<void> {
  try {
    await fn();
    if (success) flash(req, 'success', req.t(success));
  } catch (err) {
    if (!(err instanceof AssemblyRuleError)) throw err;
    flash(req, 'error', ruleMessage(req.t, req.locale, err));
  }
  res.redirect(303, back);
}

/** h/notice: like act(), but a change refused for its notice period goes to `onLate` (the form again, the message next to the field). */
async function actOrLate(req: Request, res: Response, back: string, fn: () => Promise<unknown>, success: string | undefined, onLate: (err: LateNoticeError) => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof LateNoticeError) return onLate(err);
    if (!(err instanceof AssemblyRuleError)) throw err;
    flash(req, 'error', ruleMessage(req.t, req.locale, err));
    return res.redirect(303, back);
  }
  if (success) flash(req, 'success', req.t(success));
  res.redirect(303, back);
}

function tabs(req: Request, a: Assembly, current: string) {
  const base = `/board/assemblies/${a.id}`;
  return [
    { key: 'overview', href: base },
    { key: 'recipients', href: `${base}/recipients` },
    { key: 'answers', href: `${base}/answers` },
    { key: 'day', href: `${base}/day` },
    { key: 'results', href: `${base}/results` },
  ].map((x) => ({ ...x, label: req.t(`assemblies.tabs.${x.key}`), current: x.key === current }));
}

function choices(req: Request) {
  return {
    kinds: ASSEMBLY_KINDS.map((k) => ({ value: k, label: req.t(`assemblies.kinds.${k}`) })),
    formats: FORMATS.map((k) => ({ value: k, label: req.t(`assemblies.formats.${k}`) })),
    agendaKinds: AGENDA_KINDS.map((k) => ({ value: k, label: req.t(`assemblies.agendaKinds.${k}`) })),
  };
}

function formValues(a: Assembly) {
  const t = readBerlinTime(a.local.date, a.local.time);
  return {
    title: a.title, kind: a.kind, date: a.local.date, time: a.local.time, durationMinutes: String(a.durationMinutes), format: a.format,
    location: a.location, participationInfo: a.participationInfo, copyAllContacts: a.copyAllContacts,
    onlineLink: a.onlineLink, onlineMeetingId: a.onlineMeetingId, onlineAccessCode: a.onlineAccessCode, // h/attend
    timeOffset: t.kind === 'ambiguous' ? (new Date(a.startsAt).getTime() === new Date(t.earlier).getTime() ? 'summer' : 'winter') : undefined,
  };
}

/** For a time in the doubled autumn hour: the two instants it can mean, to choose from. */
function timeChoices(req: Request, values: Record<string, unknown>) {
  const date = typeof values.date === 'string' ? values.date.trim() : '';
  const time = typeof values.time === 'string' ? values.time.trim() : '';
  if (readBerlinTime(date, time).kind !== 'ambiguous') return undefined;
  return (['summer', 'winter'] as const).map((value) => ({ value, label: req.t(`assemblies.form.timeOffset.${value}`, { time }), checked: values.timeOffset === value }));
}

/** The board's pages: prepare, invite, follow the answers, run the day, record the results. */
export function assembliesBoardRouter(ctx: Context): Router {
  const r = Router();
  r.use(requireRole('board'));
  const svc = ctx.assemblies;

  r.get('/', h(async (req, res) => {
    const assemblies = await svc.assembly.list();
    const now = ctx.clock.now().toISOString();
    res.render('assemblies/list', {
      title: req.t('assemblies.list.title'), section: 'assemblies',
      upcoming: assemblies.filter((a) => a.startsAt >= now).reverse(),
      // an assembly invited to and whose day has come is shown as held, not as still "eingeladen"
      past: assemblies.filter((a) => a.startsAt < now).map((a) => ({ ...a, status: a.status === 'invited' ? 'held' : a.status })),
    });
  }));

  const renderForm = async (req: Request, res: Response, values: Record<string, unknown>, errors: FieldErrors, assembly?: Assembly, late?: LateNoticeError) => {
    const noticeDays = assembly?.status === 'invited' ? (await ctx.settings.rules()).invitationNoticeDays : undefined;
    res.status(Object.keys(errors).length ? 422 : 200).render('assemblies/form', {
      lateNotice: late ? lateWords(req, late) : undefined, noticeDays, // h/notice: the reason field for a change after the period
      title: req.t(assembly ? 'assemblies.form.editTitle' : 'assemblies.form.newTitle'), section: 'assemblies', assembly, values, errors: Object.keys(errors).length ? errors : undefined, ...choices(req),
      timeChoices: timeChoices(req, values),
      action: assembly ? `/board/assemblies/${assembly.id}` : '/board/assemblies',
    });
  };

  r.get('/new', h(async (req, res) => renderForm(req, res, { kind: 'ordinary', format: 'in_person', time: '18:00', durationMinutes: '120' }, {})));

  r.post('/', h(async (req, res) => {
    const p = parseForm(assemblySchema, req.body, req.t);
    if (!p.ok) return renderForm(req, res, req.body, p.errors);
    const id = await svc.assembly.create(actorOf(req), p.data);
    flash(req, 'success', req.t('assemblies.flash.created'));
    res.redirect(303, `/board/assemblies/${id}`);
  }));

  const renderShow = async (req: Request, res: Response, a: Assembly, form?: { errors: FieldErrors; values: Record<string, unknown> }) => {
    const [agenda, rules, job, overrides, attachments] = await Promise.all([
      svc.assembly.agenda(a.id), ctx.settings.rules(), svc.sending.jobView(a.id), svc.assembly.overrides(a.id), svc.attachments.list(a.id),
    ]);
    const notice = svc.assembly.noticeInfo(a, rules);
    const changes = await svc.assembly.changeNotices(a, rules, agenda); // h/notice
    res.status(form ? 422 : 200).render('assemblies/show', {
      changes, supplementRule: supplementRuleWords(req, changes.supplement), errors: form?.errors, values: form?.values ?? {},
      lateItemIds: agenda.filter((i) => i.lateNotice).map((i) => i.id),
      title: a.title, section: 'assemblies', assembly: a, tabs: tabs(req, a, 'overview'), notice,
      // each voting item with the majority its kind needs under the bylaws' rules (settings)
      agenda: agenda.map((it) => ({ ...it, majorityWords: it.kind === 'report' ? '' : describeRule(req.t, rules.majorities[it.kind]) })), job, overrides, attachments, flags: svc.assembly.flags(a, agenda), maxMb: MAX_UPLOAD_BYTES / 1024 / 1024,
      refreshSeconds: job?.active ? 2 : undefined, ...choices(req), itemValues: { kind: 'resolution' },
      // h/attend: whether the bylaws allow the format, said in words (warned before sending)
      remote: a.format === 'in_person' ? undefined : { allowed: svc.assembly.formatAllowed(a, rules), rule: req.t(`attend.remote.${rules.remoteParticipation}`) },
    });
  };

  r.get('/:id', h(async (req, res) => {
    const a = await svc.assembly.get(idParam(req));
    await svc.jobs.kick(a.id);
    await renderShow(req, res, a);
  }));

  r.get('/:id/edit', h(async (req, res) => {
    const a = await svc.assembly.get(idParam(req));
    renderForm(req, res, formValues(a), {}, a);
  }));

  r.post('/:id', h(async (req, res) => {
    const a = await svc.assembly.get(idParam(req));
    const p = parseForm(assemblySchema, req.body, req.t);
    if (!p.ok) return renderForm(req, res, req.body, p.errors, a);
    // h/notice: a change of date, time, place or format after the period: the message next to the changed fields, nothing saved
    await actOrLate(req, res, `/board/assemblies/${a.id}`, async () => {
      const { timeOrPlaceChanged } = await svc.assembly.update(actorOf(req), a.id, p.data, { noticeReason: reasonField(req, 'noticeReason') });
      flash(req, 'success', req.t(timeOrPlaceChanged ? 'assemblies.flash.updatedSendUpdate' : 'assemblies.flash.updated'));
    }, undefined, async (err) => renderForm(req, res, req.body, lateErrors(req, err, 'noticeReason'), a, err));
  }));

  /* agenda */
  const renderItemForm = async (req: Request, res: Response, a: Assembly, values: object, errors: FieldErrors, itemId?: number, late?: LateNoticeError) => {
    res.status(Object.keys(errors).length ? 422 : 200).render('assemblies/agenda-item', {
      lateNotice: late ? lateWords(req, late) : undefined, // h/notice
      title: req.t(itemId ? 'assemblies.agenda.editTitle' : 'assemblies.agenda.addTitle'), section: 'assemblies', assembly: a, values, errors: Object.keys(errors).length ? errors : undefined, ...choices(req),
      action: itemId ? `/board/assemblies/${a.id}/agenda/${itemId}` : `/board/assemblies/${a.id}/agenda`,
    });
  };

  r.post('/:id/agenda', h(async (req, res) => {
    const a = await svc.assembly.get(idParam(req));
    const p = parseForm(agendaItemSchema, req.body, req.t);
    if (!p.ok) return renderItemForm(req, res, a, req.body, p.errors);
    // h/notice: a new item after the supplement period
    await actOrLate(req, res, `/board/assemblies/${a.id}#agenda`, () => svc.assembly.addAgendaItem(actorOf(req), a.id, p.data, { noticeReason: reasonField(req, 'noticeReason') }), 'assemblies.flash.itemAdded',
      (err) => renderItemForm(req, res, a, req.body, lateErrors(req, err, 'noticeReason', ['title']), undefined, err));
  }));

  r.get('/:id/agenda/:itemId/edit', h(async (req, res) => {
    const a = await svc.assembly.get(idParam(req));
    const item = await svc.assembly.agendaItem(a.id, idParam(req, 'itemId'));
    await renderItemForm(req, res, a, item, {}, item.id);
  }));

  r.post('/:id/agenda/:itemId', h(async (req, res) => {
    const a = await svc.assembly.get(idParam(req));
    const itemId = idParam(req, 'itemId');
    const p = parseForm(agendaItemSchema, req.body, req.t);
    if (!p.ok) return renderItemForm(req, res, a, req.body, p.errors, itemId);
    await act(req, res, `/board/assemblies/${a.id}#agenda`, () => svc.assembly.updateAgendaItem(actorOf(req), a.id, itemId, p.data), 'assemblies.flash.itemUpdated');
  }));

  r.post('/:id/agenda/:itemId/move', h(async (req, res) => {
    const id = idParam(req);
    const dir = req.body?.direction === 'up' ? 'up' : 'down';
    await act(req, res, `/board/assemblies/${id}#agenda`, () => svc.assembly.moveAgendaItem(actorOf(req), id, idParam(req, 'itemId'), dir));
  }));

  r.post('/:id/agenda/:itemId/delete', h(async (req, res) => {
    const id = idParam(req);
    await act(req, res, `/board/assemblies/${id}#agenda`, () => svc.assembly.deleteAgendaItem(actorOf(req), id, idParam(req, 'itemId')), 'assemblies.flash.itemDeleted');
  }));

  /* preview and sending */
  r.get('/:id/preview', h(async (req, res) => {
    const a = await svc.assembly.get(idParam(req));
    const orgId = Number(req.query.organisation) || undefined;
    const preview = await svc.sending.preview(a.id, orgId);
    res.render('assemblies/preview', { title: req.t('assemblies.preview.title'), section: 'assemblies', assembly: a, preview });
  }));

  r.get('/:id/preview/html', h(async (req, res) => {
    const a = await svc.assembly.get(idParam(req));
    const preview = await svc.sending.preview(a.id, Number(req.query.organisation) || undefined);
    res.type('html').send(preview.html);
  }));

  r.post('/:id/send', h(async (req, res) => {
    const id = idParam(req);
    const p = parseForm(sendSchema, req.body, req.t);
    const reason = p.ok ? p.data.overrideReason : '';
    const formatConfirmed = p.ok && p.data.formatConfirmed; // h/attend
    await act(req, res, `/board/assemblies/${id}`, () => svc.sending.startSending(actorOf(req), id, reason, { formatConfirmed }), 'assemblies.flash.sending');
  }));

  r.post('/:id/send-update', h(async (req, res) => {
    const id = idParam(req);
    // h/notice: the update after the notice period, without a reason
    await actOrLate(req, res, `/board/assemblies/${id}`, () => svc.sending.sendUpdate(actorOf(req), id, reasonField(req, 'updateReason')), 'assemblies.flash.sending',
      async (err) => renderShow(req, res, await svc.assembly.get(id), { errors: lateErrors(req, err, 'updateReason'), values: req.body ?? {} }));
  }));

  r.post('/:id/cancel', h(async (req, res) => {
    const id = idParam(req);
    await act(req, res, `/board/assemblies/${id}`, () => svc.sending.cancel(actorOf(req), id), 'assemblies.flash.cancelled');
  }));

  r.post('/:id/supplement', h(async (req, res) => {
    const id = idParam(req);
    // h/notice: the supplement after its period, without a reason
    await actOrLate(req, res, `/board/assemblies/${id}`, () => svc.sending.sendSupplement(actorOf(req), id, reasonField(req, 'supplementReason')), 'assemblies.flash.sending',
      async (err) => renderShow(req, res, await svc.assembly.get(id), { errors: lateErrors(req, err, 'supplementReason'), values: req.body ?? {} }));
  }));

  r.post('/:id/remind', h(async (req, res) => {
    const id = idParam(req);
    await act(req, res, `/board/assemblies/${id}/recipients`, () => svc.sending.sendReminder(actorOf(req), id), 'assemblies.flash.sending');
  }));

  r.post('/:id/jobs/:jobId/retry', h(async (req, res) => {
    const id = idParam(req);
    await act(req, res, `/board/assemblies/${id}`, () => svc.jobs.retry(actorOf(req), id, idParam(req, 'jobId')), 'assemblies.flash.sending');
  }));

  r.get('/:id/recipients', h(async (req, res) => {
    const a = await svc.assembly.get(idParam(req));
    const [log, job, agenda] = await Promise.all([svc.sending.deliveryLog(a.id), svc.sending.jobView(a.id), svc.assembly.agenda(a.id)]);
    res.render('assemblies/recipients', {
      title: req.t('assemblies.recipients.title'), section: 'assemblies', assembly: a, tabs: tabs(req, a, 'recipients'), log, job, flags: svc.assembly.flags(a, agenda),
      emailCount: log.filter((l) => l.channel === 'email').length, letters: log.filter((l) => l.channel === 'letter'),
      failed: log.filter((l) => l.failed).length, unanswered: log.filter((l) => !l.answered && l.channel === 'email').length,
    });
  }));

  r.post('/:id/invitations/:invId/resend', h(async (req, res) => {
    const id = idParam(req);
    await act(req, res, `/board/assemblies/${id}/recipients`, () => svc.sending.resend(actorOf(req), id, idParam(req, 'invId')), 'assemblies.flash.resent');
  }));

  r.post('/:id/letters', h(async (req, res) => {
    const a = await svc.assembly.get(idParam(req));
    try {
      const letters = await svc.sending.prepareLetters(actorOf(req), a.id);
      const association = await ctx.settings.association();
      res.render('assemblies/letters', {
        title: req.t('assemblies.letters.title'), section: 'assemblies', assembly: a, association, today: ctx.clock.now().toISOString(),
        letters: letters.map((l) => ({ ...l, text: renderMail(l.content, l.invitation.locale).text })),
      });
    } catch (err) {
      if (!(err instanceof AssemblyRuleError)) throw err;
      flash(req, 'error', ruleMessage(req.t, req.locale, err));
      res.redirect(303, `/board/assemblies/${a.id}/recipients`);
    }
  }));

  /**
   * The letters as PDF: all of them (one letter per page) or one invitation's. Like the printed
   * view, every download issues fresh personal links (audited as letters printed).
   */
  const lettersPdf = async (req: Request, res: Response, invitationId?: number) => {
    const a = await svc.assembly.get(idParam(req));
    try {
      const letters = await svc.sending.prepareLetters(actorOf(req), a.id, { invitationId, format: 'pdf' });
      const association = await ctx.settings.association();
      const now = ctx.clock.now();
      const today = berlinDay(now);
      const pdf = await renderLettersPdf(letters, association, today, now);
      const filename = invitationId !== undefined
        ? req.t('assemblies.letters.pdf.fileOne', { no: letters[0].invitation.memberNo })
        : req.t('assemblies.letters.pdf.fileAll', { date: today });
      sendFile(res, { filename, contentType: 'application/pdf', content: pdf }, 'attachment');
    } catch (err) {
      if (!(err instanceof AssemblyRuleError)) throw err;
      flash(req, 'error', ruleMessage(req.t, req.locale, err));
      res.redirect(303, `/board/assemblies/${a.id}/recipients`);
    }
  };

  r.post('/:id/letters.pdf', h(async (req, res) => lettersPdf(req, res)));

  r.post('/:id/invitations/:invId/letter.pdf', h(async (req, res) => lettersPdf(req, res, idParam(req, 'invId'))));

  /* answers */
  r.get('/:id/answers', h(async (req, res) => {
    const a = await svc.assembly.get(idParam(req));
    const [answers, agenda, rules] = await Promise.all([svc.answers.overview(a.id), svc.assembly.agenda(a.id), ctx.settings.rules()]);
    const changes = await svc.assembly.changeNotices(a, rules, agenda); // h/notice: a motion put on the agenda late needs a reason
    res.render('assemblies/answers', {
      title: req.t('assemblies.answers.title'), section: 'assemblies', assembly: a, tabs: tabs(req, a, 'answers'), answers, flags: svc.assembly.flags(a, agenda),
      itemNeedsReason: changes.itemNeedsReason, supplement: changes.supplement,
    });
  }));

  r.post('/:id/motions/:motionId/agenda', h(async (req, res) => {
    const id = idParam(req);
    await act(req, res, `/board/assemblies/${id}/answers`, () => svc.answers.motionToAgenda(actorOf(req), id, idParam(req, 'motionId'), reasonField(req, 'noticeReason')), 'assemblies.flash.motionOnAgenda');
  }));

  /* the day */
  r.get('/:id/day', h(async (req, res) => {
    const a = await svc.assembly.get(idParam(req));
    const [day, agenda] = await Promise.all([svc.day.overview(a.id), svc.assembly.agenda(a.id)]);
    // h/attend: who would get the access data now
    const online = a.format === 'in_person' ? undefined : (await svc.day.onlineParticipants(a.id)).size;
    res.render('assemblies/day', { title: req.t('assemblies.day.title'), section: 'assemblies', assembly: a, tabs: tabs(req, a, 'day'), day, flags: svc.assembly.flags(a, agenda), online });
  }));

  // h/attend: the access data for online participants, in a message of their own
  r.post('/:id/access-data', h(async (req, res) => {
    const id = idParam(req);
    await act(req, res, `/board/assemblies/${id}/day#access-data`, async () => svc.sending.sendAccessData(actorOf(req), id, await svc.day.onlineParticipants(id)), 'attend.flash.accessSending');
  }));

  r.post('/:id/attendance/:orgId', h(async (req, res) => {
    const id = idParam(req);
    const p = parseForm(attendanceSchema, req.body, req.t);
    if (!p.ok) { flash(req, 'error', Object.values(p.errors)[0] ?? req.t('common.validation.invalid')); return res.redirect(303, `/board/assemblies/${id}/day`); } // h/harden: the field's own message
    const orgId = idParam(req, 'orgId');
    await act(req, res, `/board/assemblies/${id}/day#org-${orgId}`, () => svc.day.checkIn(actorOf(req), id, orgId, p.data.action, p.data.personName, p.data.mode ?? ''));
  }));

  r.get('/:id/print', h(async (req, res) => {
    const a = await svc.assembly.get(idParam(req));
    const day = await svc.day.overview(a.id);
    res.render('assemblies/print', { title: req.t('assemblies.print.title'), section: 'assemblies', assembly: a, day });
  }));

  /* afterwards */
  /** What the board typed into one item's result form, and the message next to each field. */
  interface ResultForm { itemId: number; values: Record<string, unknown>; errors: Record<string, string> }
  /** h/minutes: what the board typed into the minutes form, and the message next to each field. */
  interface MinutesForm { values: Record<string, unknown>; errors: Record<string, string> }

  const renderResults = async (req: Request, res: Response, a: Assembly, form?: ResultForm, minutesForm?: MinutesForm) => {
    const [agenda, resolutions, amendments, minutes, job, minutesFile, day] = await Promise.all([
      svc.assembly.agenda(a.id), svc.day.resolutions(a.id), svc.day.amendments(a.id), svc.minutes.get(a.id), svc.sending.jobView(a.id), svc.minutes.file(a.id), svc.day.overview(a.id),
    ]);
    const rules = await ctx.settings.rules();
    const locked = !!minutes?.sentAt;
    const minutesView = await minutesPageView(req, a.id, day, minutes, minutesForm);
    const ballotLines = await svc.ballots.minutesLines(a.id, req.t); // h/evote: the electronic ballots in words
    res.status(form || minutesForm ? 422 : 200).render('assemblies/results', {
      title: req.t('assemblies.results.title'), section: 'assemblies', assembly: a, tabs: tabs(req, a, 'results'), minutes, job, minutesFile, maxMb: MAX_UPLOAD_BYTES / 1024 / 1024,
      flags: svc.assembly.flags(a, agenda), canSendMinutes: svc.minutes.canSend(a, minutes), day, minutesView,
      items: agenda.map((it, i) => {
        const resolution = resolutions.get(it.id);
        const mine = form?.itemId === it.id ? form : undefined;
        const rule = it.kind === 'report' ? undefined : resolution?.outcome.rule ?? rules.majorities[it.kind];
        const election = it.kind === 'election' ? electionForm(mine?.values, resolution) : undefined; // h/minutes
        return {
          ...it, number: i + 1, votable: it.kind !== 'report', resolution, election,
          ruleWords: !rule ? '' : election ? describeElectionRule(req.t, rule, resolution?.election?.rules ?? rules.elections) : describeRule(req.t, rule),
          asksAbsentConsents: rule?.base === 'members' && rule.absentConsents,
          outcomeWords: resolution ? (resolution.election ? describeResult(req.t, req.locale, resolution) : describeOutcome(req.t, req.locale, resolution.outcome)) : '',
          locked, version: resolution?.version ?? 0,
          values: mine?.values ?? (resolution ? { yes: resolution.yes, no: resolution.election ? resolution.election.ballot.no : resolution.no, abstain: resolution.abstain, invalid: resolution.invalid, absentConsents: resolution.absentConsents, note: resolution.note } : {}),
          errors: mine?.errors, amendments: amendments.filter((m) => m.itemId === it.id), ballotLines: ballotLines.get(it.id) ?? [], // h/evote
        };
      }),
    });
  };

  /** h/minutes: an election's candidate rows (as typed, or as recorded, plus empty ones to fill in), its round and lot. */
  const electionForm = (typed: Record<string, unknown> | undefined, resolution: Resolution | undefined) => {
    const str = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
    const recorded = resolution?.election?.ballot;
    const rows = typed
      ? Array.from({ length: ELECTION_ROWS_MAX }, (_, i) => ({ name: str(typed[`cName${i + 1}`]), votes: str(typed[`cVotes${i + 1}`]) }))
      : (recorded?.candidates ?? []).map((c) => ({ name: c.name, votes: String(c.votes) }));
    const filled = rows.reduce((n, r, i) => (r.name || r.votes ? i + 1 : n), 0);
    const count = Math.min(ELECTION_ROWS_MAX, Math.max(4, filled + 2));
    return {
      rows: Array.from({ length: count }, (_, i) => ({ n: i + 1, name: rows[i]?.name ?? '', votes: rows[i]?.votes ?? '' })),
      round: typed ? str(typed.round) || '1' : String(recorded?.round ?? 1),
      lotWinner: typed ? str(typed.lotWinner) : recorded?.lotWinner ?? '',
      votesText: resolution ? candidateVotes(resolution) : '',
    };
  };

  r.get('/:id/results', h(async (req, res) => {
    await renderResults(req, res, await svc.assembly.get(idParam(req)));
  }));

  r.post('/:id/resolutions/:itemId', h(async (req, res) => {
    const a = await svc.assembly.get(idParam(req));
    const itemId = idParam(req, 'itemId');
    const values: Record<string, unknown> = req.body ?? {};
    // h/minutes: an election's rows cName1/cVotes1 … as one list
    const candidates = Array.from({ length: ELECTION_ROWS_MAX }, (_, i) => ({ name: values[`cName${i + 1}`] ?? '', votes: values[`cVotes${i + 1}`] ?? '' }));
    const p = parseForm(resolutionSchema, { ...values, candidates }, req.t);
    if (!p.ok) return renderResults(req, res, a, { itemId, values, errors: p.errors });
    try {
      const { quorate, amended } = await svc.day.recordResolution(actorOf(req), a.id, itemId, p.data);
      flash(req, quorate ? 'success' : 'error', req.t(!quorate ? 'assemblies.results.savedNotQuorate' : amended ? 'assemblies.results.amended' : 'assemblies.flash.resolutionSaved'));
    } catch (err) {
      if (err instanceof FieldRuleError) {
        const errors = Object.fromEntries(Object.entries(err.fields).map(([field, e]) => [field, req.t(e.code.startsWith('elections.') ? e.code : `assemblies.countErrors.${e.code}`, e.params ?? {})]));
        return renderResults(req, res, a, { itemId, values, errors });
      }
      if (!(err instanceof AssemblyRuleError)) throw err;
      flash(req, 'error', ruleMessage(req.t, req.locale, err));
    }
    res.redirect(303, `/board/assemblies/${a.id}/results`);
  }));

  /** h/minutes: the people checked in, to choose chair and minute-taker from; the form's values and messages; the minutes' history. */
  const minutesPageView = async (req: Request, assemblyId: number, day: Awaited<ReturnType<typeof svc.day.overview>>, minutes: Awaited<ReturnType<typeof svc.minutes.get>>, form?: MinutesForm) => {
    const people = [...new Map(day.rows.filter((r) => r.checkedInAt && r.personName.trim()).map((r) => [r.personName.trim(), `${r.personName.trim()} (${r.name})`])).entries()]
      .map(([value, label]) => ({ value, label }));
    const names = new Set(people.map((p) => p.value));
    const stored = { body: minutes?.body ?? '', chair: minutes?.chair ?? '', minuteTaker: minutes?.minuteTaker ?? '', signedOn: minutes?.signedOn ?? '' };
    // a stored name not (or no longer) in the list shows in the free-text field
    const values = form?.values ?? {
      body: stored.body, signedOn: stored.signedOn,
      chair: names.has(stored.chair) ? stored.chair : '', chairOther: names.has(stored.chair) ? '' : stored.chair,
      minuteTaker: names.has(stored.minuteTaker) ? stored.minuteTaker : '', minuteTakerOther: names.has(stored.minuteTaker) ? '' : stored.minuteTaker,
    };
    const options = (field: string) => people.map((p) => ({ ...p, selected: values[field] === p.value }));
    const doc = minutes?.sentAt ? await svc.minutes.document(assemblyId) : undefined;
    const history = doc ? [
      { at: minutes!.sentAt!, text: req.t('minutes.history.sent', { at: formatDateTime(minutes!.sentAt!, req.locale) }) },
      ...doc.amendments.map((x) => ({ at: x.at, text: correctionLines(req.locale, { ...doc, amendments: [x], items: [] })[0] })),
      ...doc.items.flatMap((it) => it.amendments.map((x) => ({ at: x.at, text: correctionLines(req.locale, { ...doc, amendments: [], items: [{ ...it, amendments: [x] }] })[0] }))),
      ...(minutes?.correctedSentAt ? [{ at: minutes.correctedSentAt, text: req.t('minutes.history.correctedSent', { at: formatDateTime(minutes.correctedSentAt, req.locale) }) }] : []),
    ].sort((x, y) => x.at.localeCompare(y.at)) : [];
    return {
      values, errors: form?.errors, chairOptions: options('chair'), minuteTakerOptions: options('minuteTaker'), noAttendees: !people.length,
      locked: !!minutes?.sentAt, history, canSendCorrected: !!minutes?.sentAt && (await svc.minutes.hasUnsentCorrections(assemblyId)),
    };
  };

  r.post('/:id/minutes', h(async (req, res) => {
    const a = await svc.assembly.get(idParam(req));
    const values: Record<string, unknown> = req.body ?? {};
    const p = parseForm(minutesSchema, values, req.t);
    if (!p.ok) return renderResults(req, res, a, undefined, { values, errors: p.errors });
    const day = await svc.day.overview(a.id);
    const present = new Set(day.rows.filter((r) => r.checkedInAt).map((r) => r.personName.trim()).filter(Boolean));
    const errors: Record<string, string> = {};
    for (const f of ['chair', 'minuteTaker'] as const) if (p.data[f] && !p.data[`${f}Other`] && !present.has(p.data[f])) errors[f] = req.t('minutes.errors.choice');
    if (Object.keys(errors).length) return renderResults(req, res, a, undefined, { values, errors });
    try {
      const { amended } = await svc.minutes.save(actorOf(req), a.id, {
        body: p.data.body, chair: p.data.chairOther || p.data.chair, minuteTaker: p.data.minuteTakerOther || p.data.minuteTaker, signedOn: p.data.signedOn, reason: p.data.reason,
      });
      flash(req, 'success', req.t(amended ? 'minutes.form.amended' : 'assemblies.flash.minutesSaved'));
    } catch (err) {
      if (err instanceof FieldRuleError) {
        const fieldErrors = Object.fromEntries(Object.entries(err.fields).map(([field, e]) => [field, req.t(`minutes.errors.${e.code}`, { ...e.params, date: typeof e.params?.date === 'string' ? formatDate(e.params.date, req.locale) : undefined })]));
        return renderResults(req, res, a, undefined, { values, errors: fieldErrors });
      }
      if (!(err instanceof AssemblyRuleError)) throw err;
      flash(req, 'error', ruleMessage(req.t, req.locale, err));
    }
    res.redirect(303, `/board/assemblies/${a.id}/results`);
  }));

  r.get('/:id/minutes.pdf', h(async (req, res) => {
    const a = await svc.assembly.get(idParam(req));
    sendFile(res, await svc.minutes.pdf(a.id, req.locale));
  }));

  r.post('/:id/minutes/send', h(async (req, res) => {
    const id = idParam(req);
    await act(req, res, `/board/assemblies/${id}/results`, () => svc.minutes.send(actorOf(req), id), 'assemblies.flash.sending');
  }));

  r.post('/:id/minutes/send-corrected', h(async (req, res) => {
    const id = idParam(req);
    await act(req, res, `/board/assemblies/${id}/results#minutes`, () => svc.minutes.sendCorrected(actorOf(req), id), 'assemblies.flash.sending');
  }));

  r.post('/:id/minutes/file', h(async (req, res) => {
    const id = idParam(req);
    const up = uploadedFile(req, res);
    if ('error' in up) { flash(req, 'error', up.error); return res.redirect(303, `/board/assemblies/${id}/results#minutes`); }
    await act(req, res, `/board/assemblies/${id}/results#minutes`, () => svc.minutes.saveFile(actorOf(req), id, up.file), 'assemblies.flash.minutesFileSaved');
  }));

  /* attachments */
  r.post('/:id/attachments', h(async (req, res) => {
    const id = idParam(req);
    const up = uploadedFile(req, res);
    if ('error' in up) { flash(req, 'error', up.error); return res.redirect(303, `/board/assemblies/${id}#attachments`); }
    await act(req, res, `/board/assemblies/${id}#attachments`, () => svc.attachments.add(actorOf(req), id, up.file), 'assemblies.flash.attachmentAdded');
  }));

  r.get('/:id/attachments/:attId', h(async (req, res) => {
    const file = await svc.attachments.get(idParam(req), idParam(req, 'attId'));
    sendFile(res, file);
  }));

  r.post('/:id/attachments/:attId/delete', h(async (req, res) => {
    const id = idParam(req);
    await act(req, res, `/board/assemblies/${id}`, () => svc.attachments.delete(actorOf(req), id, idParam(req, 'attId')), 'assemblies.flash.attachmentDeleted');
  }));

  return r;
}

export function sendFile(res: Response, file: { filename: string; contentType: string; content: Buffer }, disposition: 'inline' | 'attachment' = 'inline'): void {
  res.setHeader('Content-Type', file.contentType);
  res.setHeader('Content-Disposition', `${disposition}; filename="${file.filename.replace(/[^A-Za-z0-9._-]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(file.filename)}`);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.send(file.content);
}

/* h/notice: the late-change messages and reason fields */

/** A reason typed into a form (trimmed, at most 1000 characters); '' when absent. */
function reasonField(req: Request, name: string): string {
  const v: unknown = req.body?.[name];
  return typeof v === 'string' ? v.trim().slice(0, 1000) : '';
}

/** The refusal's message next to the changed fields and "please give a reason" next to the reason field. */
function lateErrors(req: Request, err: LateNoticeError, reasonName: string, fields: string[] = err.fields): FieldErrors {
  const message = ruleMessage(req.t, req.locale, err);
  const out: FieldErrors = {};
  for (const f of fields) if (f !== reasonName) out[f] = message;
  out[reasonName] = `${message} ${req.t('notice.reasonRequired')}`;
  return out;
}

/** The warning shown with a reason field: which period, the last day, and that resolutions would be void. */
function lateWords(req: Request, err: LateNoticeError): { warning: string } {
  return { warning: req.t(`notice.warning.${err.notice.change}`, { lastSendDay: formatDate(err.notice.lastSendDay, req.locale), days: err.notice.noticeDays }) };
}

/** The supplementary-agenda period in words (the bylaws' rule, as the settings say). */
function supplementRuleWords(req: Request, n: { noticeDays: number; sameAsInvitation: boolean }): string {
  return req.t(n.sameAsInvitation ? 'notice.rule.supplementSame' : 'notice.rule.supplementOwn', { days: n.noticeDays });
}
