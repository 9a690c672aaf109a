import { Router, type Request, type Response } from 'express';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import { rateLimit } from 'express-rate-limit';
import type { Context } from '../context.ts';
import { flash, h, refreshCsrf } from '../web/middleware.ts';
import { parseForm } from '../web/forms.ts';
import { forgotSchema, loginSchema, newPasswordSchema } from './auth.schemas.ts';
import { normaliseEmail, type User } from './users.service.ts';
import { deviceMark, deviceMarks, KNOWN_DEVICE_COOKIE } from './login-throttle.ts';
import { MIN_PASSWORD_LENGTH } from './passwords.ts';

export { RESET_TTL_MS } from './access-links.service.ts';
import type { AccessPurpose } from './access-links.service.ts';
export { INVITATION_TTL_MS } from './invitation.ts';

export function setupPassport(ctx: Context): void {
  // passport keeps a list of (de)serializers: a second app in the same process (one per test
  // file) would otherwise be served by the first one's closed database
  const registry = passport as unknown as { _serializers: unknown[]; _deserializers: unknown[] }; // why: passport's private lists, present in 0.7 (pinned)
  registry._serializers = [];
  registry._deserializers = [];
  passport.use(
    new LocalStrategy({ usernameField: 'email', passwordField: 'password', passReqToCallback: true }, (req, email, password, done) => {
      // h/harden: throttled per address and source; a device that signed in to the address before is not slowed
      const knownDevice = deviceMarks(req.headers.cookie).includes(deviceMark(ctx.config.sessionSecret, normaliseEmail(email)));
      ctx.users.authenticate(email, password, { source: req.ip ?? '', knownDevice }).then(
        (r) => (r.ok ? done(null, r.user) : done(null, false, { message: r.reason === 'throttled' ? `throttled:${r.retryAfterMs}` : r.reason })),
        (err) => done(err),
      );
    }),
  );
  passport.serializeUser((user, done) => done(null, (user as User).id)); // why: req.user is always a User (deserializeUser below)
  passport.deserializeUser((id: number, done) => {
    ctx.users.forSession(id).then(
      (u) => done(null, u && !u.disabled ? u : false),
      (err) => done(err),
    );
  });
}

/** Where a user lands after signing in. */
export function homeFor(user: User): string {
  if (user.roles.includes('board')) return '/board/applications';
  if (user.roles.includes('admin')) return '/admin';
  if (user.roles.includes('treasurer')) return '/board/members';
  if (user.roles.includes('member')) return '/portal';
  return '/';
}

export function authRouter(ctx: Context, sessions?: { destroyForUser(userId: number, keepSid?: string): Promise<number> }): Router {
  const r = Router();
  const test = ctx.config.env === 'test';
  const loginLimiter = rateLimit({
    windowMs: 15 * 60_000,
    limit: test ? 1000 : 30,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    skipSuccessfulRequests: true,
    handler: (req, res) => {
      res.status(429).render('errors/error', { title: req.t('common.errors.title429'), text: req.t('common.errors.text429') });
    },
  });
  const mailLimiter = rateLimit({ windowMs: 60 * 60_000, limit: test ? 1000 : 10, standardHeaders: 'draft-7', legacyHeaders: false,
    handler: (req, res) => {
      res.status(429).render('errors/error', { title: req.t('common.errors.title429'), text: req.t('common.errors.text429') });
    } });

  r.get('/login', (req, res) => {
    if (req.user) return res.redirect(303, homeFor(req.user));
    res.render('auth/login', { title: req.t('auth.login.title'), values: {} });
  });

  r.post('/login', loginLimiter, (req, res, next) => {
    const parsed = parseForm(loginSchema, req.body, req.t);
    const values = { email: typeof req.body?.email === 'string' ? req.body.email : '' };
    if (!parsed.ok) return res.status(422).render('auth/login', { title: req.t('auth.login.title'), values, errors: parsed.errors });
    passport.authenticate('local', (err: unknown, user: User | false, info?: { message?: string }) => {
      if (err) return next(err);
      if (!user) {
        if (info?.message?.startsWith('throttled:')) {
          // the same answer for every address, known or not
          const seconds = Math.max(1, Math.ceil(Number(info.message.slice('throttled:'.length)) / 1000));
          res.setHeader('Retry-After', String(seconds));
          const loginError = seconds > 90 ? req.t('auth.login.throttledMinutes', { count: Math.ceil(seconds / 60) }) : req.t('auth.login.throttledSeconds', { count: seconds });
          return res.status(429).render('auth/login', { title: req.t('auth.login.title'), values, loginError });
        }
        const key = info?.message === 'disabled' ? 'auth.login.disabled' : 'auth.login.invalid';
        return res.status(401).render('auth/login', { title: req.t('auth.login.title'), values, loginError: req.t(key) });
      }
      rememberDevice(req, res, ctx, user.email);
      const returnTo = req.session.returnTo;
      const locale = req.session.locale;
      // passport 0.7 regenerates the session at login (no fixation); carry over the language choice
      req.logIn(user, (e) => {
        if (e) return next(e);
        if (locale) req.session.locale = locale;
        refreshCsrf(req, res);
        ctx.log.info({ userId: user.id }, 'login');
        res.redirect(303, returnTo && returnTo.startsWith('/') && !/^\/[/\\]/.test(returnTo) ? returnTo : homeFor(user));
      });
    })(req, res, next);
  });

  r.post('/logout', (req, res, next) => {
    req.logout((err) => {
      if (err) return next(err);
      res.redirect(303, '/');
    });
  });

  r.get('/password/forgot', (req, res) => {
    res.render('auth/forgot', { title: req.t('auth.forgot.title'), values: {} });
  });

  r.post('/password/forgot', mailLimiter, h(async (req, res) => {
    const parsed = parseForm(forgotSchema, req.body, req.t);
    if (!parsed.ok) {
      return res.status(422).render('auth/forgot', { title: req.t('auth.forgot.title'), values: req.body ?? {}, errors: parsed.errors });
    }
    const user = await ctx.users.byEmail(parsed.data.email);
    if (user && !user.disabled) await ctx.accessLinks.send({ userId: null, label: 'system' }, user, 'user.password_reset_requested');
    // the same answer whether or not the address is known
    res.render('auth/forgot-sent', { title: req.t('auth.forgot.title') });
  }));

  const showSetPassword = (purpose: AccessPurpose) =>
    h(async (req: Request, res: Response) => {
      const { check, user } = await ctx.accessLinks.check(purpose, String(req.params.token));
      if (!check.ok) return renderBadLink(req, res, check.reason);
      res.render('auth/set-password', { title: req.t(`auth.${purpose}.title`), purpose, email: user?.email, minLength: MIN_PASSWORD_LENGTH });
    });

  const doSetPassword = (purpose: AccessPurpose) =>
    h(async (req: Request, res: Response) => {
      const { check, user } = await ctx.accessLinks.check(purpose, String(req.params.token));
      if (!check.ok) return renderBadLink(req, res, check.reason);
      if (!user) return renderBadLink(req, res, 'unknown');
      const parsed = parseForm(newPasswordSchema, req.body, req.t);
      if (!parsed.ok) {
        return res.status(422).render('auth/set-password', { title: req.t(`auth.${purpose}.title`), purpose, email: user.email, errors: parsed.errors, minLength: MIN_PASSWORD_LENGTH });
      }
      if (!(await ctx.accessLinks.setPassword(check.id, user, parsed.data.password))) return renderBadLink(req, res, 'used');
      // h/harden: a new password ends every session of the account (a stolen one included)
      const ended = await sessions?.destroyForUser(user.id, req.sessionID);
      if (ended) ctx.log.info({ userId: user.id, sessions: ended }, 'sessions ended after a new password');
      flash(req, 'success', req.t('auth.passwordSet'));
      res.redirect(303, '/login');
    });

  r.get('/password/reset/:token', showSetPassword('reset_password'));
  r.post('/password/reset/:token', doSetPassword('reset_password'));
  r.get('/welcome/:token', showSetPassword('set_password'));
  r.post('/welcome/:token', doSetPassword('set_password'));

  r.get('/account', (req, res) => {
    if (!req.user) return res.redirect(303, '/login');
    res.render('auth/account', { title: req.t('auth.account.title') });
  });
  r.post('/account/locale', h(async (req, res) => {
    if (!req.user) return res.redirect(303, '/login');
    const l = req.body?.locale === 'en' ? 'en' : 'de';
    await ctx.users.setLocale(req.user.id, l);
    req.session.locale = l;
    res.redirect(303, '/account');
  }));

  return r;
}

/** h/harden: marks this device as one that signed in to the address (a year; up to five addresses). */
function rememberDevice(req: Request, res: Response, ctx: Context, email: string): void {
  const mark = deviceMark(ctx.config.sessionSecret, normaliseEmail(email));
  const marks = [mark, ...deviceMarks(req.headers.cookie).filter((m) => m !== mark)].slice(0, 5);
  res.cookie(KNOWN_DEVICE_COOKIE, marks.join('.'), { httpOnly: true, sameSite: 'lax', secure: ctx.config.secureCookies, maxAge: 365 * 86_400_000, path: '/login' });
}

export function renderBadLink(req: Request, res: Response, reason: 'unknown' | 'expired' | 'used', offerNew = { url: '/password/forgot', label: req.t('auth.badLink.requestNew') }): void {
  res.status(reason === 'unknown' ? 404 : 410).render('errors/error', {
    title: req.t(`auth.badLink.${reason}Title`),
    text: req.t(`auth.badLink.${reason}Text`),
    offerNew,
  });
}
