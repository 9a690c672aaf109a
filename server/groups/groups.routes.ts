import { Router, type Request, type RequestHandler, type Response } from 'express';
import multer from 'multer';
import type { Context } from '../context.ts';
import { ForbiddenError, ValidationError, type FieldErrors } from '../errors.ts';
import { flash, h, idParam, requireRole } from '../web/middleware.ts';
import { parseForm } from '../web/forms.ts';
import { GroupRuleError, meetingFormValues, type Viewer } from './groups.service.ts';
import {
  MAX_DOCUMENT_BYTES, MEETING_FORMATS, NAME_MAX, PURPOSE_MAX, addMemberSchema, documentSchema, groupEditSchema, groupSchema, meetingSchema, messageSchema,
  requestSchema, rsvpSchema,
} from './groups.schemas.ts';

/**
 * Working groups: the same pages for the portal (/portal/groups, member contacts; mounted after
 * the portal's router, whose navigation and organisation check run first) and for the board
 * (/board/groups, with the overview and the group form). What a viewer may see and do is decided
 * by GroupsService (lead, member, non-member, board); the personal RSVP links are /g/:token.
 */

const UPLOAD_PATH = /^\/(portal|board)\/groups\/\d+\/documents\/?$/;

/** The group documents' multipart upload (PDF, 10 MB), parsed before the CSRF check reads its token field. */
export function groupsUploadParser(): RequestHandler {
  const upload = multer({
    storage: multer.memoryStorage(),
    defParamCharset: 'utf8',
    limits: { fileSize: MAX_DOCUMENT_BYTES, files: 1, fields: 6, fieldSize: 1024, parts: 7 },
  }).single('file');
  const guard = requireRole('member', 'board');
  return (req, res, next) => {
    if (req.method !== 'POST' || !UPLOAD_PATH.test(req.originalUrl.split('?')[0]) || !req.is('multipart/form-data')) { next(); return; }
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

function viewerOf(req: Request): Viewer {
  const u = req.user!;
  return { userId: u.id, label: u.displayName, email: u.email, contactId: u.contactId, isBoard: u.roles.includes('board') };
}

function translate(req: Request, fields: FieldErrors): FieldErrors {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, req.t(v)]));
}

function body(req: Request): Record<string, unknown> {
  const b: unknown = req.body;
  return b && typeof b === 'object' ? { ...(b as Record<string, unknown>) } : {}; // why: the body parsers give an object of fields (or nothing)
}

function groupPages(ctx: Context, base: '/portal/groups' | '/board/groups'): Router {
  const r = Router();
  const svc = ctx.groups;
  const section = base === '/portal/groups' ? 'portal' : 'groups';

  /** A refused rule becomes a message on the group's page. */
  const act = (fn: (req: Request, id: number) => Promise<unknown>, success: string, anchor = '') => h(async (req, res) => {
    const id = idParam(req);
    try {
      await fn(req, id);
      flash(req, 'success', req.t(success));
    } catch (e) {
      if (e instanceof GroupRuleError) flash(req, 'error', req.t(`groups.errors.${e.code}`));
      else if (e instanceof ValidationError) flash(req, 'error', Object.values(translate(req, e.fields)).join(' '));
      else throw e;
    }
    res.redirect(303, `${base}/${id}${anchor}`);
  });

  const renderDetail = async (req: Request, res: Response, id: number, forms: { form?: string; values?: Record<string, unknown>; errors?: FieldErrors } = {}) => {
    const v = viewerOf(req);
    const d = await svc.detail(v, id, req.locale);
    const upcoming = d.meetings.filter((m) => !m.past);
    const past = d.meetings.filter((m) => m.past);
    res.status(forms.errors ? 422 : 200).render('groups/show', {
      title: d.group.name, section, base, d, upcoming, past, form: forms.form, values: forms.values ?? {}, errors: forms.errors,
      canJoin: !d.isMember && !!v.contactId && d.group.access === 'open',
      canRequest: !d.isMember && !!v.contactId && d.group.access === 'invitation' && !d.requested,
      canLeave: d.isMember && d.group.leadContactId !== v.contactId,
      maxMb: MAX_DOCUMENT_BYTES / 1024 / 1024,
    });
  };

  r.get('/:id', h(async (req, res) => renderDetail(req, res, idParam(req))));

  r.post('/:id/join', act((req, id) => svc.join(viewerOf(req), id), 'groups.flash.joined'));
  r.post('/:id/leave', act((req, id) => svc.leave(viewerOf(req), id), 'groups.flash.left'));
  r.post('/:id/request', h(async (req, res) => {
    const id = idParam(req);
    const p = parseForm(requestSchema, body(req), req.t);
    if (!p.ok) return renderDetail(req, res, id, { form: 'request', values: body(req), errors: p.errors });
    try {
      await svc.requestJoin(viewerOf(req), id, p.data.message);
      flash(req, 'success', req.t('groups.flash.requested'));
    } catch (e) {
      if (!(e instanceof GroupRuleError)) throw e;
      flash(req, 'error', req.t(`groups.errors.${e.code}`));
    }
    res.redirect(303, `${base}/${id}`);
  }));
  r.post('/:id/request/withdraw', act((req, id) => svc.withdrawRequest(viewerOf(req), id), 'groups.flash.requestWithdrawn'));
  r.post('/:id/requests/:rid/accept', act((req, id) => svc.decideRequest(viewerOf(req), id, idParam(req, 'rid'), true), 'groups.flash.accepted', '#members'));
  r.post('/:id/requests/:rid/decline', act((req, id) => svc.decideRequest(viewerOf(req), id, idParam(req, 'rid'), false), 'groups.flash.declined', '#members'));
  r.post('/:id/members/:contactId/remove', act((req, id) => svc.removeMember(viewerOf(req), id, idParam(req, 'contactId')), 'groups.flash.removed', '#members'));

  r.post('/:id/members', h(async (req, res) => {
    const id = idParam(req);
    const p = parseForm(addMemberSchema, body(req), req.t);
    if (!p.ok) return renderDetail(req, res, id, { form: 'add', values: body(req), errors: p.errors });
    try {
      await svc.addMember(viewerOf(req), id, p.data.email);
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      return renderDetail(req, res, id, { form: 'add', values: body(req), errors: translate(req, e.fields) });
    }
    flash(req, 'success', req.t('groups.flash.added'));
    res.redirect(303, `${base}/${id}#members`);
  }));

  r.post('/:id/message', h(async (req, res) => {
    const id = idParam(req);
    const p = parseForm(messageSchema, body(req), req.t);
    if (!p.ok) return renderDetail(req, res, id, { form: 'message', values: body(req), errors: p.errors });
    try {
      const n = await svc.sendMessage(viewerOf(req), id, p.data);
      flash(req, 'success', req.t('groups.flash.messageSent', { count: n }));
    } catch (e) {
      if (!(e instanceof GroupRuleError)) throw e;
      flash(req, 'error', req.t(`groups.errors.${e.code}`));
    }
    res.redirect(303, `${base}/${id}`);
  }));

  // --- documents -------------------------------------------------------------------------

  r.post('/:id/documents', h(async (req, res) => {
    const id = idParam(req);
    const values = body(req);
    const p = parseForm(documentSchema, values, req.t);
    const upload = res.locals.uploadError as string | undefined; // why: set only by groupsUploadParser, to a multer error code
    const fileError = upload === 'LIMIT_FILE_SIZE' ? req.t('groups.validation.tooLarge', { maxMb: MAX_DOCUMENT_BYTES / 1024 / 1024 })
      : upload ? req.t('groups.validation.malformed')
        : !req.file || !req.file.size ? req.t('groups.validation.noFile') : undefined;
    if (!(await svc.access(viewerOf(req), id)).canManage) throw new ForbiddenError();
    if (!p.ok || fileError) {
      return renderDetail(req, res, id, { form: 'document', values, errors: { ...(p.ok ? {} : p.errors), ...(fileError ? { file: fileError } : {}) } });
    }
    try {
      await svc.upload(viewerOf(req), id, p.data, { filename: req.file!.originalname, content: req.file!.buffer });
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      return renderDetail(req, res, id, { form: 'document', values, errors: Object.fromEntries(Object.entries(e.fields).map(([k, v]) => [k, req.t(v, { maxMb: MAX_DOCUMENT_BYTES / 1024 / 1024 })])) });
    }
    flash(req, 'success', req.t('groups.flash.uploaded'));
    res.redirect(303, `${base}/${id}#documents`);
  }));

  r.get('/:id/documents/:did', h(async (req, res) => {
    const file = await svc.document(viewerOf(req), idParam(req), idParam(req, 'did'));
    res.setHeader('Content-Type', 'application/pdf');
    res.setHeader('Content-Disposition', `inline; filename="${file.filename.replace(/[^A-Za-z0-9._-]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(file.filename)}`);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.send(file.content);
  }));
  r.post('/:id/documents/:did/delete', act((req, id) => svc.deleteDocument(viewerOf(req), id, idParam(req, 'did')), 'groups.flash.documentDeleted', '#documents'));

  // --- meetings --------------------------------------------------------------------------

  const renderMeetingForm = async (req: Request, res: Response, id: number, meetingId: number | null, values: Record<string, unknown>, errors?: FieldErrors) => {
    const a = await svc.access(viewerOf(req), id, req.locale);
    if (!a.canManage) throw new ForbiddenError();
    const answers = meetingId ? await svc.answers(viewerOf(req), id, meetingId) : [];
    res.status(errors ? 422 : 200).render('groups/meeting-form', {
      title: req.t(meetingId ? 'groups.meeting.editTitle' : 'groups.meeting.newTitle'), section, base, group: a.group, meetingId, values, errors,
      formats: MEETING_FORMATS.map((f) => ({ value: f, label: req.t(`groups.format.${f}`), selected: values.format === f })),
      askDst: !!errors?.dst, answers,
      action: meetingId ? `${base}/${id}/meetings/${meetingId}/edit` : `${base}/${id}/meetings/new`,
    });
  };

  r.get('/:id/meetings/new', h(async (req, res) => renderMeetingForm(req, res, idParam(req), null, { durationMinutes: '120', format: 'in_person' })));
  r.post('/:id/meetings/new', h(async (req, res) => {
    const id = idParam(req);
    const values = body(req);
    const p = parseForm(meetingSchema, values, req.t);
    if (!p.ok) return renderMeetingForm(req, res, id, null, values, p.errors);
    try {
      await svc.scheduleMeeting(viewerOf(req), id, p.data);
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      return renderMeetingForm(req, res, id, null, values, translate(req, e.fields));
    }
    flash(req, 'success', req.t('groups.flash.scheduled'));
    res.redirect(303, `${base}/${id}#meetings`);
  }));

  r.get('/:id/meetings/:mid/edit', h(async (req, res) => {
    const id = idParam(req);
    const m = await svc.meeting(viewerOf(req), id, idParam(req, 'mid'));
    return renderMeetingForm(req, res, id, m.id, meetingFormValues(m));
  }));
  r.post('/:id/meetings/:mid/edit', h(async (req, res) => {
    const id = idParam(req);
    const mid = idParam(req, 'mid');
    const values = body(req);
    const p = parseForm(meetingSchema, values, req.t);
    if (!p.ok) return renderMeetingForm(req, res, id, mid, values, p.errors);
    try {
      const { mailed } = await svc.updateMeeting(viewerOf(req), id, mid, { ...p.data, version: Number(values.version) || 0 });
      flash(req, 'success', req.t(mailed ? 'groups.flash.updated' : 'groups.flash.unchanged'));
    } catch (e) {
      if (e instanceof ValidationError) return renderMeetingForm(req, res, id, mid, values, translate(req, e.fields));
      if (!(e instanceof GroupRuleError)) throw e;
      flash(req, 'error', req.t(`groups.errors.${e.code}`));
    }
    res.redirect(303, `${base}/${id}#meetings`);
  }));
  r.post('/:id/meetings/:mid/cancel', act((req, id) => svc.cancelMeeting(viewerOf(req), id, idParam(req, 'mid')), 'groups.flash.cancelled', '#meetings'));
  r.post('/:id/meetings/:mid/rsvp', h(async (req, res) => {
    const id = idParam(req);
    const p = parseForm(rsvpSchema, body(req), req.t);
    if (!p.ok) {
      flash(req, 'error', p.errors.answer ?? req.t('common.validation.invalid'));
      return res.redirect(303, `${base}/${id}#meetings`);
    }
    return act((rq, gid) => svc.rsvp(viewerOf(rq), gid, idParam(rq, 'mid'), p.data.answer), 'groups.flash.rsvpSaved', '#meetings')(req, res, () => undefined);
  }));
  return r;
}

/** /portal/groups: every group; a contact's own ones first. */
export function groupsPortalRouter(ctx: Context): Router {
  const r = Router();
  r.use(requireRole('member'));
  r.get('/', h(async (req, res) => {
    const list = await ctx.groups.portalList(viewerOf(req), req.locale);
    res.render('groups/portal-list', { title: req.t('groups.portal.title'), section: 'portal', mine: list.filter((g) => g.isMember), others: list.filter((g) => !g.isMember) });
  }));
  r.use(groupPages(ctx, '/portal/groups'));
  return r;
}

/** /board/groups: the overview (groups, next meetings, membership), the group form, and the group pages. */
export function groupsBoardRouter(ctx: Context): Router {
  const r = Router();
  r.use(requireRole('board'));
  r.get('/', h(async (req, res) => {
    res.render('groups/dashboard', { title: req.t('groups.board.title'), section: 'groups', groups: await ctx.groups.dashboard(req.locale) });
  }));

  const renderForm = async (req: Request, res: Response, id: number | null, values: Record<string, unknown>, errors?: FieldErrors) => {
    const sponsors = (await ctx.groups.sponsorChoices()).map((s) => ({ ...s, selected: String(values.sponsorUserId ?? '') === String(s.id) }));
    res.status(errors ? 422 : 200).render('groups/form', {
      title: req.t(id ? 'groups.form.editTitle' : 'groups.form.newTitle'), section: 'groups', id, values, errors, sponsors, nameMax: NAME_MAX, purposeMax: PURPOSE_MAX,
      action: id ? `/board/groups/${id}/edit` : '/board/groups/new',
    });
  };

  r.get('/new', h(async (req, res) => renderForm(req, res, null, { access: 'open' })));
  r.post('/new', h(async (req, res) => {
    const values = body(req);
    const p = parseForm(groupSchema, values, req.t);
    if (!p.ok) return renderForm(req, res, null, values, p.errors);
    try {
      const id = await ctx.groups.create(viewerOf(req), p.data);
      flash(req, 'success', req.t('groups.flash.created'));
      res.redirect(303, `/board/groups/${id}`);
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      return renderForm(req, res, null, values, translate(req, e.fields));
    }
  }));

  r.get('/:id/edit', h(async (req, res) => {
    const id = idParam(req);
    const a = await ctx.groups.access(viewerOf(req), id);
    const lead = a.members.find((m) => m.contactId === a.group.leadContactId);
    const g = a.group;
    return renderForm(req, res, id, {
      nameDe: g.nameDe, nameEn: g.nameEn, purposeDe: g.purposeDe, purposeEn: g.purposeEn, leadEmail: lead?.email ?? '',
      sponsorUserId: g.sponsorUserId ?? '', access: g.access, version: g.version,
    });
  }));
  r.post('/:id/edit', h(async (req, res) => {
    const id = idParam(req);
    const values = body(req);
    const p = parseForm(groupEditSchema, values, req.t);
    if (!p.ok) return renderForm(req, res, id, values, p.errors);
    try {
      await ctx.groups.update(viewerOf(req), id, p.data);
    } catch (e) {
      if (e instanceof ValidationError) return renderForm(req, res, id, values, translate(req, e.fields));
      if (e instanceof GroupRuleError) return renderForm(req, res, id, values, { nameDe: req.t(`groups.errors.${e.code}`) });
      throw e;
    }
    flash(req, 'success', req.t('groups.flash.saved'));
    res.redirect(303, `/board/groups/${id}`);
  }));
  r.use(groupPages(ctx, '/board/groups'));
  return r;
}

/** /g/:token: a member's personal RSVP link from a meeting invitation (no login; only that contact's answer for that meeting). */
export function groupsPublicRouter(ctx: Context): Router {
  const r = Router();
  const page = async (req: Request, res: Response, errors?: FieldErrors) => {
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-store');
    const link = await ctx.groups.resolveLink(String(req.params.token), req.locale);
    if (!link.ok) {
      res.status(link.reason === 'unknown' ? 404 : 410).render('groups/link-problem', { title: req.t(`groups.link.${link.reason}.title`), text: req.t(`groups.link.${link.reason}.text`) });
      return;
    }
    res.status(errors ? 422 : 200).render('groups/rsvp', {
      title: link.meeting.title, link, errors, token: String(req.params.token),
      answers: (['yes', 'no', 'maybe'] as const).map((a) => ({ value: a, label: req.t(`groups.answer.${a}`), checked: link.answer === a })),
    });
  };
  r.get('/:token', h(async (req, res) => page(req, res)));
  r.post('/:token', h(async (req, res) => {
    const p = parseForm(rsvpSchema, body(req), req.t);
    if (!p.ok) return page(req, res, p.errors);
    const problem = await ctx.groups.rsvpByLink(String(req.params.token), p.data.answer);
    if (!problem) flash(req, 'success', req.t('groups.flash.rsvpSaved'));
    res.redirect(303, `/g/${String(req.params.token)}`);
  }));
  return r;
}
