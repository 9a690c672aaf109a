import fs from 'node:fs';
import path from 'node:path';
import { Router, type Request, type Response } from 'express';
import type { Context } from '../context.ts';
import type { AuditEntry } from '../audit/audit.service.ts';
import { ROLES, isRole } from '../auth/roles.ts';
import type { User } from '../auth/users.service.ts';
import { AppError } from '../errors.ts';
import { formatDate, formatDateTime } from '../i18n/format.ts';
import { flash, h, idParam, requireRole } from '../web/middleware.ts';
import { parseForm, str } from '../web/forms.ts';
import { viewsDir } from '../web/views.ts';
import { formatIban } from '../settings/bank.ts';
import { centsToEuroInput } from '../settings/money.ts';
import { AUTHORITY_CODES, DATA_PROTECTION_AUTHORITIES, STRIPE_PAYMENT_METHODS, type BylawsRules, type Category } from '../settings/settings.schemas.ts';
import { PAYMENT_METHODS_MARKER, categoryFormSchema, keptRuleValues, majorityField, privacyFormSchema, settingsFormSchema, splitSettings, toArray, userCreateSchema, userEditSchema } from './admin.schemas.ts';
import { BGB_MAJORITIES, MAJORITY_PRESETS, VOTING_KINDS, parseRuleCode, ruleCode } from '../assemblies/majority.ts';
import { BGB_ELECTION, RUNOFF_RULES, TIE_RULES } from '../assemblies/election.ts'; // h/minutes
import { describeRule } from '../assemblies/results.ts';
import { actorOf } from '../web/actor.ts';
import { BOOKS_RETENTION_YEARS, RETENTION_KINDS } from '../retention/retention.service.ts';

const MAIL_PAGE_SIZE = 50;
const AUDIT_PAGE_SIZE = 50;
const MAIL_STATUSES = ['queued', 'sending', 'sent', 'failed'] as const;
const COUNTRIES = ['DE', 'AT', 'CH', 'NL', 'BE', 'FR', 'PL', 'CZ', 'DK', 'LU', 'IT', 'ES', 'SE', 'GB', 'US', 'JP', 'CN'];

/** Builds a query string from the non-empty values. */
function qs(params: Record<string, string | number | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

const BADGE: Record<string, string> = { queued: 'badge-warn', sending: 'badge-info', sent: 'badge-ok', failed: 'badge-bad' };

function categoryFormValues(c: Category): Record<string, unknown> {
  const rule = c.feeRule;
  return {
    code: c.code, nameDe: c.nameDe, nameEn: c.nameEn, hasVote: c.hasVote, sortOrder: String(c.sortOrder),
    active: c.active, openToApplicants: c.openToApplicants, feeType: rule.type,
    amount: rule.type === 'fixed' ? centsToEuroInput(rule.amountCents) : '',
    tierSmall: rule.type === 'tiers' ? centsToEuroInput(rule.tiers['1-49']) : '',
    tierMedium: rule.type === 'tiers' ? centsToEuroInput(rule.tiers['50-249']) : '',
    tierLarge: rule.type === 'tiers' ? centsToEuroInput(rule.tiers['250+']) : '',
  };
}

function show(v: unknown, t: Request['t']): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return t(v ? 'common.yes' : 'common.no');
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) return v.join(', ');
  return JSON.stringify(v);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An audit entry for display: before/after as rows of field, old value, new value. */
function auditRow(e: AuditEntry, t: Request['t']) {
  const b = e.before;
  const a = e.after;
  let changes: { field: string; before: string; after: string }[] | undefined;
  let raw: { before?: string; after?: string } | undefined;
  if ((b === null || isPlainObject(b)) && (a === null || isPlainObject(a))) {
    const keys = [...new Set([...Object.keys(b ?? {}), ...Object.keys(a ?? {})])];
    changes = keys
      .filter((k) => !(b && a && JSON.stringify(b[k]) === JSON.stringify(a[k]))) // services may record unchanged fields too
      .map((k) => ({ field: k, before: show(b?.[k], t), after: show(a?.[k], t) }));
  } else {
    raw = { before: b === null ? undefined : JSON.stringify(b, null, 2), after: a === null ? undefined : JSON.stringify(a, null, 2) };
  }
  const link =
    e.entityId == null ? undefined
      : e.entityType === 'user' ? `/admin/users/${e.entityId}`
        : e.entityType === 'category' ? `/admin/categories/${e.entityId}/edit`
          : e.entityType === 'mail' ? `/admin/mail/${e.entityId}`
            : undefined;
  return { ...e, changes, raw, link, hasBefore: changes?.some((c) => c.before !== '') ?? false };
}

function userStatus(u: User, now: string, req: Request): { label: string; badge: string } {
  if (u.disabled) return { label: req.t('admin.users.statusDisabled'), badge: 'badge-bad' };
  if (u.lockedUntil && u.lockedUntil > now) return { label: req.t('admin.users.statusLocked', { until: formatDateTime(u.lockedUntil, req.locale) }), badge: 'badge-warn' };
  if (!u.hasPassword) return { label: req.t('admin.users.statusInvited'), badge: 'badge-info' };
  return { label: req.t('admin.users.statusActive'), badge: 'badge-ok' };
}

/** Administration: settings, categories, users and roles, mail log, audit log. */
export function adminRouter(ctx: Context): Router {
  const r = Router();
  const { admin } = ctx;
  const tabsFile = path.join(viewsDir, 'admin', '_tabs.hbs');
  let tabs: string | undefined;
  const tabsPartial = () => (tabs && ctx.config.env !== 'development' ? tabs : (tabs = fs.readFileSync(tabsFile, 'utf8')));

  /** Renders an admin page with the section tabs. */
  const render = (res: Response, view: string, tab: string, locals: Record<string, unknown>) =>
    res.render(`admin/${view}`, { section: 'admin', tab, partials: { adminTabs: tabsPartial() }, ...locals });

  r.use(requireRole('admin'));

  // ---- overview -------------------------------------------------------------------------
  r.get('/', h(async (req, res) => {
    const o = await admin.overview();
    render(res, 'index', 'overview', {
      title: req.t('admin.title'), o, recent: o.recentAudit.map((e) => auditRow(e, req.t)), transportKind: ctx.config.smtpUrl ? 'smtp' : 'file',
    });
  }));

  // ---- association settings and bylaws rules ---------------------------------------------
  /** Each voting kind's majority as a choice of rules in words, the BGB's default named. */
  const majorityChoices = (req: Request, values: Record<string, unknown>, errors?: Record<string, string>) => VOTING_KINDS.map((kind) => {
    const name = majorityField(kind);
    const chosen = typeof values[name] === 'string' ? values[name] : '';
    const current = parseRuleCode(chosen);
    const rules = current && !MAJORITY_PRESETS.some((p) => ruleCode(p) === chosen) ? [...MAJORITY_PRESETS, current] : MAJORITY_PRESETS;
    return {
      kind, name, label: req.t(`assemblies.agendaKinds.${kind}`), error: errors?.[name], bgb: describeRule(req.t, BGB_MAJORITIES[kind]),
      current: current ? describeRule(req.t, current) : '',
      options: rules.map((rule) => ({ value: ruleCode(rule), label: describeRule(req.t, rule), selected: ruleCode(rule) === chosen })),
    };
  });

  // h/minutes: the run-off and tie rules of elections as choices in words, the BGB's default named
  const electionChoices = (req: Request, values: Record<string, unknown>, errors?: Record<string, string>) => [
    { name: 'election_runoff', label: req.t('elections.settings.runoff'), choices: RUNOFF_RULES.map((v) => ({ v, text: req.t(`elections.rule.runoff.${v}`) })), bgb: req.t(`elections.rule.runoff.${BGB_ELECTION.runoff}`) },
    { name: 'election_tie', label: req.t('elections.settings.tie'), choices: TIE_RULES.map((v) => ({ v, text: req.t(`elections.rule.tie.${v}`) })), bgb: req.t(`elections.rule.tie.${BGB_ELECTION.tie}`) },
  ].map((f) => ({ name: f.name, label: f.label, bgb: f.bgb, error: errors?.[f.name], options: f.choices.map((c) => ({ value: c.v, label: c.text, selected: values[f.name] === c.v })) }));
  const electionValues = (rules: BylawsRules) => ({ election_runoff: rules.elections.runoff, election_tie: rules.elections.tie });

  const renderSettings = (req: Request, res: Response, values: Record<string, unknown>, errors?: Record<string, string>) =>
    render(res, 'settings', 'settings', {
      title: req.t('admin.settings.title'), values, errors, countries: COUNTRIES, majorities: majorityChoices(req, values, errors), elections: electionChoices(req, values, errors),
      supplementRule: supplementRuleWords(req, values), // h/notice
      // h/money2: the Stripe payment page's methods, as checkboxes (kept as ticked when the form comes back)
      stripeEnabled: ctx.stripe.enabled, paymentMethodsMarker: PAYMENT_METHODS_MARKER,
      paymentMethods: STRIPE_PAYMENT_METHODS.map((m) => ({ value: m, checked: toArray(values.paymentMethods).includes(m) })),
    });

  // h/notice: the supplementary-agenda period in words, as the form's values say (without a period of the bylaws' own: the invitation's)
  const supplementRuleWords = (req: Request, values: Record<string, unknown>): string => {
    const checked = (v: unknown) => v === true || v === '1' || v === 'on' || v === 'true';
    const own = String(values.supplementNoticeDays ?? '').trim();
    if (checked(values.supplementNoticeOwn) && /^\d{1,3}$/.test(own)) return req.t('notice.rule.supplementOwn', { days: Number(own) });
    const inv = String(values.invitationNoticeDays ?? '').trim();
    return req.t('notice.rule.supplementSame', { days: /^\d{1,3}$/.test(inv) ? Number(inv) : '?' });
  };

  /** The majorities as the form's values (majority_bylaws_change: "cast:3/4:ge"). */
  const majorityValues = (rules: BylawsRules) => Object.fromEntries(VOTING_KINDS.map((k) => [majorityField(k), ruleCode(rules.majorities[k])]));

  r.get('/settings', h(async (req, res) => {
    const [a, rules, stripe] = await Promise.all([ctx.settings.association(), ctx.settings.rules(), ctx.settings.stripeSettings()]);
    const { majorities: _majorities, elections: _elections, ...rest } = rules;
    renderSettings(req, res, { ...a, ...rest, ...majorityValues(rules), ...electionValues(rules), iban: formatIban(a.iban), paymentMethods: stripe.paymentMethods });
  }));

  r.post('/settings', h(async (req, res) => {
    // a form without a majority's field leaves that majority as it is
    const stored = await ctx.settings.rules();
    // a form from before a field existed keeps the stored value: every rule field but the checkboxes (h/harden2: no hand-kept list)
    const kept = keptRuleValues(stored);
    const body: Record<string, unknown> = { ...kept, ...majorityValues(stored), ...electionValues(stored), ...(req.body ?? {}) };
    // h/money2: a form without the payment methods' list keeps the stored methods; with it, no box ticked is none
    if (body[PAYMENT_METHODS_MARKER] === undefined) body.paymentMethods = (await ctx.settings.stripeSettings()).paymentMethods;
    else body.paymentMethods ??= [];
    const parsed = parseForm(settingsFormSchema, body, req.t);
    if (!parsed.ok) {
      res.status(422);
      return renderSettings(req, res, body, parsed.errors);
    }
    const split = splitSettings(parsed.data);
    // the privacy notice's version changes only with the notice (Administration → Datenschutzhinweise)
    split.association.privacyNoticeVersion = (await ctx.settings.association()).privacyNoticeVersion;
    const { changed } = await ctx.settings.updateSettings(actorOf(req), split);
    flash(req, changed ? 'success' : 'info', req.t(changed ? 'admin.settings.saved' : 'admin.settings.unchanged'));
    res.redirect(303, '/admin/settings');
  }));

  // ---- membership categories --------------------------------------------------------------
  r.get('/categories', h(async (req, res) => {
    const categories = await ctx.settings.categories({ includeInactive: true });
    render(res, 'categories', 'categories', {
      title: req.t('admin.categories.title'),
      categories: categories.map((c) => ({ ...c, name: req.locale === 'en' ? c.nameEn : c.nameDe })),
    });
  }));

  const renderCategory = (req: Request, res: Response, id: number | undefined, values: Record<string, unknown>, errors?: Record<string, string>) =>
    render(res, 'category-form', 'categories', {
      title: id ? req.t('admin.categories.editTitle', { name: values.nameDe }) : req.t('admin.categories.newTitle'),
      id, values, errors, action: id ? `/admin/categories/${id}/edit` : '/admin/categories/new',
    });

  const saveCategory = async (req: Request, res: Response, id: number | undefined) => {
    const parsed = parseForm(categoryFormSchema, req.body, req.t);
    if (!parsed.ok) {
      res.status(422);
      return renderCategory(req, res, id, req.body ?? {}, parsed.errors);
    }
    try {
      await ctx.settings.saveCategory(actorOf(req), { ...parsed.data, id });
    } catch (err) {
      if (err instanceof AppError && err.code === 'category_code_taken') {
        res.status(409);
        return renderCategory(req, res, id, req.body ?? {}, { code: req.t('admin.errors.category_code_taken') });
      }
      throw err;
    }
    const name = req.locale === 'en' ? parsed.data.nameEn : parsed.data.nameDe;
    flash(req, 'success', req.t(id ? 'admin.categories.saved' : 'admin.categories.created', { name }));
    res.redirect(303, '/admin/categories');
  };

  r.get('/categories/new', h(async (req, res) => {
    const all = await ctx.settings.categories({ includeInactive: true });
    const next = all.reduce((m, c) => Math.max(m, c.sortOrder), 0) + 1;
    renderCategory(req, res, undefined, { feeType: 'fixed', hasVote: true, active: true, openToApplicants: true, sortOrder: String(next) });
  }));
  r.post('/categories/new', h((req, res) => saveCategory(req, res, undefined)));

  r.get('/categories/:id/edit', h(async (req, res) => {
    const id = idParam(req);
    const c = await ctx.settings.category(id);
    if (!c) throw new AppError(404, 'not_found');
    renderCategory(req, res, id, categoryFormValues(c));
  }));
  r.post('/categories/:id/edit', h(async (req, res) => {
    const id = idParam(req);
    if (!(await ctx.settings.category(id))) throw new AppError(404, 'not_found');
    await saveCategory(req, res, id);
  }));

  // ---- users and roles --------------------------------------------------------------------
  r.get('/users', h(async (req, res) => {
    const q = str(req.query.q).trim().slice(0, 200);
    const role = isRole(req.query.role) ? req.query.role : '';
    const now = new Date(ctx.clock.now()).toISOString();
    const users = await ctx.users.list({ q: q || undefined, role: role || undefined });
    render(res, 'users', 'users', {
      title: req.t('admin.users.title'), q, role, roles: ROLES,
      users: users.map((u) => ({ ...u, status: userStatus(u, now, req) })),
    });
  }));

  const renderNewUser = (req: Request, res: Response, values: Record<string, unknown>, errors?: Record<string, string>) =>
    render(res, 'user-new', 'users', { title: req.t('admin.users.newTitle'), values, errors, roles: ROLES });

  r.get('/users/new', (req, res) => renderNewUser(req, res, { locale: 'de', roles: [] }));

  r.post('/users/new', h(async (req, res) => {
    const values = { ...req.body, roles: toArray(req.body?.roles) };
    const parsed = parseForm(userCreateSchema, req.body, req.t);
    if (!parsed.ok) {
      res.status(422);
      return renderNewUser(req, res, values, parsed.errors);
    }
    let id: number;
    try {
      id = await admin.inviteUser(actorOf(req), parsed.data);
    } catch (err) {
      if (err instanceof AppError && err.code === 'email_taken') {
        res.status(409);
        return renderNewUser(req, res, values, { email: req.t('admin.errors.email_taken') });
      }
      throw err;
    }
    flash(req, 'success', req.t('admin.users.created', { name: parsed.data.displayName, email: parsed.data.email.trim().toLowerCase() }));
    res.redirect(303, `/admin/users/${id}`);
  }));

  const renderUser = async (req: Request, res: Response, u: User, values: Record<string, unknown>, errors?: Record<string, string>, formError?: string) => {
    const now = new Date(ctx.clock.now()).toISOString();
    const history = (await ctx.audit.list({ entityType: 'user', entityId: u.id, limit: 10 })).map((e) => auditRow(e, req.t));
    render(res, 'user-edit', 'users', {
      title: req.t('admin.users.editTitle', { name: u.displayName }),
      u, status: userStatus(u, now, req), locked: !!(u.lockedUntil && u.lockedUntil > now),
      values, errors, formError, roles: ROLES, history,
    });
  };

  const loadUser = async (req: Request): Promise<User> => {
    const u = await ctx.users.byId(idParam(req));
    if (!u) throw new AppError(404, 'not_found');
    return u;
  };

  r.get('/users/:id', h(async (req, res) => {
    const u = await loadUser(req);
    await renderUser(req, res, u, { displayName: u.displayName, roles: u.roles, disabled: u.disabled, locale: u.locale });
  }));

  r.post('/users/:id', h(async (req, res) => {
    const u = await loadUser(req);
    const values = { ...req.body, roles: toArray(req.body?.roles) };
    const parsed = parseForm(userEditSchema, req.body, req.t);
    if (!parsed.ok) {
      res.status(422);
      return renderUser(req, res, u, values, parsed.errors);
    }
    try {
      await ctx.users.update(actorOf(req), u.id, parsed.data);
    } catch (err) {
      if (err instanceof AppError && err.code === 'last_admin') {
        res.status(409);
        return renderUser(req, res, u, values, undefined, req.t('admin.errors.last_admin'));
      }
      throw err;
    }
    flash(req, 'success', req.t('admin.users.saved', { name: parsed.data.displayName }));
    // someone who just took away their own admin role can no longer see this page
    const self = u.id === req.user!.id && !parsed.data.roles.includes('admin');
    res.redirect(303, self ? '/account' : `/admin/users/${u.id}`);
  }));

  r.post('/users/:id/access-link', h(async (req, res) => {
    const u = await loadUser(req);
    try {
      const purpose = await admin.sendAccessLink(actorOf(req), u.id);
      flash(req, 'success', req.t(purpose === 'set_password' ? 'admin.users.invitationSent' : 'admin.users.resetSent', { email: u.email }));
    } catch (err) {
      if (!(err instanceof AppError && err.code === 'user_disabled')) throw err;
      flash(req, 'error', req.t('admin.errors.user_disabled'));
    }
    res.redirect(303, `/admin/users/${u.id}`);
  }));

  r.post('/users/:id/unlock', h(async (req, res) => {
    const u = await loadUser(req);
    await admin.unlockUser(actorOf(req), u.id);
    flash(req, 'success', req.t('admin.users.unlocked', { name: u.displayName }));
    res.redirect(303, `/admin/users/${u.id}`);
  }));

  // ---- mail log ---------------------------------------------------------------------------
  r.get('/mail', h(async (req, res) => {
    const status = (MAIL_STATUSES as readonly string[]).includes(str(req.query.status)) ? str(req.query.status) : ''; // why: widening, to ask whether any string is one
    const q = str(req.query.q).trim().slice(0, 254);
    const requested = Math.max(1, Math.floor(Number(req.query.page)) || 1);
    const first = await ctx.outbox.list({ status: status || undefined, q: q || undefined, limit: MAIL_PAGE_SIZE, offset: (requested - 1) * MAIL_PAGE_SIZE });
    const pages = Math.max(1, Math.ceil(first.total / MAIL_PAGE_SIZE));
    const page = Math.min(requested, pages);
    const { rows, total } = page === requested ? first
      : await ctx.outbox.list({ status: status || undefined, q: q || undefined, limit: MAIL_PAGE_SIZE, offset: (page - 1) * MAIL_PAGE_SIZE });
    render(res, 'mail', 'mail', {
      title: req.t('admin.mail.title'), status, q, statuses: MAIL_STATUSES, total,
      transportKind: ctx.config.smtpUrl ? 'smtp' : 'file',
      rows: rows.map((m) => ({ ...m, badge: BADGE[m.status], waiting: m.status === 'queued' && m.attempts > 0 })),
      pager: {
        page, pages,
        prevUrl: page > 1 ? `/admin/mail${qs({ status, q, page: page - 1 })}` : undefined,
        nextUrl: page < pages ? `/admin/mail${qs({ status, q, page: page + 1 })}` : undefined,
      },
    });
  }));

  r.post('/mail/flush', h(async (req, res) => {
    const n = await ctx.outbox.flush();
    flash(req, 'info', req.t('admin.mail.flushed', { count: n }));
    res.redirect(303, '/admin/mail');
  }));

  r.get('/mail/:id', h(async (req, res) => {
    const m = await ctx.outbox.get(idParam(req));
    if (!m) throw new AppError(404, 'not_found');
    render(res, 'mail-detail', 'mail', {
      title: req.t('admin.mail.detailTitle', { to: m.to }), m, badge: BADGE[m.status],
      waiting: m.status === 'queued' && m.attempts > 0, retryable: m.status === 'queued' || m.status === 'failed',
    });
  }));

  r.post('/mail/:id/retry', h(async (req, res) => {
    const id = idParam(req);
    try {
      await admin.retryMail(actorOf(req), id);
      flash(req, 'success', req.t('admin.mail.retried'));
    } catch (err) {
      if (!(err instanceof AppError && err.code === 'mail_not_retryable')) throw err;
      flash(req, 'error', req.t('admin.errors.mail_not_retryable'));
    }
    res.redirect(303, `/admin/mail/${id}`);
  }));

  // ---- the privacy notice (h/lead) ---------------------------------------------------------
  const renderPrivacy = async (req: Request, res: Response, values: Record<string, unknown>, errors?: Record<string, string>) => {
    const a = await ctx.settings.association();
    render(res, 'privacy', 'privacy', {
      title: req.t('admin.privacy.title'), values, errors, version: a.privacyNoticeVersion,
      authorities: AUTHORITY_CODES.map((code) => ({ code, label: `${DATA_PROTECTION_AUTHORITIES[code].land}: ${DATA_PROTECTION_AUTHORITIES[code].name}`, selected: values.authority === code })),
    });
  };
  r.get('/privacy', h(async (req, res) => renderPrivacy(req, res, { ...(await ctx.settings.privacy()) })));
  r.post('/privacy', h(async (req, res) => {
    const parsed = parseForm(privacyFormSchema, req.body, req.t);
    if (!parsed.ok) {
      res.status(422);
      return renderPrivacy(req, res, req.body ?? {}, parsed.errors);
    }
    const { changed, version } = await ctx.settings.updatePrivacy(actorOf(req), parsed.data);
    flash(req, changed ? 'success' : 'info', changed ? req.t('admin.privacy.saved', { version }) : req.t('admin.settings.unchanged'));
    res.redirect(303, '/admin/privacy');
  }));

  // ---- retention runs (h/lead) ------------------------------------------------------------
  r.get('/retention', h(async (req, res) => {
    const [plan, runs] = await Promise.all([ctx.retention.plan(), ctx.retention.recent(20)]);
    render(res, 'retention', 'retention', {
      title: req.t('admin.retention.title'),
      kinds: RETENTION_KINDS.map((kind) => ({ kind, label: req.t(`admin.retention.kinds.${kind}`), due: plan.counts[kind] })),
      rulesWords: [
        req.t('admin.retention.rule.unconfirmed', { count: plan.rules.unconfirmedApplicationDays }),
        req.t('admin.retention.rule.decided', { count: plan.rules.applicationRetentionMonths, before: formatDate(plan.cutoffs.applicationsDecided) }),
        req.t('admin.retention.rule.formerMembers', { count: plan.rules.contactRetentionYears, before: formatDate(plan.cutoffs.formerMembersExitBefore, req.locale) }),
        req.t('admin.retention.rule.mail', { count: plan.rules.mailBodyRetentionDays, before: formatDate(plan.cutoffs.mail) }),
        req.t('admin.retention.rule.invoiceMail', { count: plan.rules.invoiceRetentionYears, before: formatDate(plan.cutoffs.invoiceMail) }),
        req.t('admin.retention.rule.audit', { count: plan.rules.auditDetailRetentionYears, before: formatDate(plan.cutoffs.audit) }),
        req.t('admin.retention.rule.books', { count: BOOKS_RETENTION_YEARS, before: formatDate(plan.cutoffs.books) }),
      ],
      runs: runs.map((run) => ({
        ...run, triggerLabel: req.t(`admin.retention.trigger.${run.trigger}`), statusLabel: req.t(`admin.retention.status.${run.status}`),
        badge: run.status === 'done' ? 'badge-ok' : run.status === 'running' ? 'badge-info' : 'badge-warn',
        summary: RETENTION_KINDS.map((k) => `${req.t(`admin.retention.kinds.${k}`)}: ${run.counts[k] ?? 0}`).join(' · '),
      })),
    });
  }));

  r.post('/retention/run', h(async (req, res) => {
    const run = await ctx.retention.run({ trigger: 'admin', actor: actorOf(req) });
    if (run?.status === 'done') flash(req, 'success', req.t('admin.retention.ran', RETENTION_KINDS.reduce((o, k) => ({ ...o, [k]: run.counts[k] ?? 0 }), {})));
    else flash(req, 'error', req.t('admin.retention.failed'));
    res.redirect(303, '/admin/retention');
  }));

  // ---- audit log --------------------------------------------------------------------------
  r.get('/audit', h(async (req, res) => {
    const entityType = str(req.query.entityType).trim().slice(0, 40);
    const action = str(req.query.action).trim().slice(0, 80);
    const before = Number(req.query.before);
    const beforeId = Number.isSafeInteger(before) && before > 0 ? before : undefined;
    const entries = await ctx.audit.list({ entityType: entityType || undefined, action: action || undefined, beforeId, limit: AUDIT_PAGE_SIZE + 1 });
    const more = entries.length > AUDIT_PAGE_SIZE;
    const shown = entries.slice(0, AUDIT_PAGE_SIZE);
    render(res, 'audit', 'audit', {
      title: req.t('admin.audit.title'), entityType, action, entityTypes: await admin.auditEntityTypes(),
      entries: shown.map((e) => auditRow(e, req.t)),
      olderUrl: more ? `/admin/audit${qs({ entityType, action, before: shown[shown.length - 1].id })}` : undefined,
      newestUrl: beforeId ? `/admin/audit${qs({ entityType, action })}` : undefined,
    });
  }));

  return r;
}
