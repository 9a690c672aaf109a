import crypto from 'node:crypto';
import type { NextFunction, Request, Response, RequestHandler } from 'express';
import { csrfSync } from 'csrf-sync';
import { DEFAULT_LOCALE, isLocale, tFor } from '../i18n/i18n.ts';
import type { Role } from '../auth/roles.ts';
import { ForbiddenError, NotFoundError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import './types.ts';

/** Gives every request an id (also in the X-Request-Id header and the error page). */
export function requestId(): RequestHandler {
  return (req, res, next) => {
    req.id = crypto.randomUUID();
    res.setHeader('X-Request-Id', req.id);
    next();
  };
}

/** Path for logs: long opaque segments (e-mail link tokens) are replaced, query strings dropped. */
export function safePath(p: string): string {
  return p.replace(/\/[A-Za-z0-9_-]{20,}/g, '/:token');
}

export function accessLog(log: Logger): RequestHandler {
  return (req, res, next) => {
    // the level is read per request (it may be changed while running); below info nothing is written
    if (!log.isLevelEnabled('info')) return next();
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      // h/harden: the full path (a router's req.path is relative to its mount point), never the query string
      const full = req.originalUrl.split('?')[0];
      if (full.startsWith('/static/')) return;
      log.info({ reqId: req.id, method: req.method, path: safePath(full), status: res.statusCode, ms: Math.round(ms * 10) / 10, userId: req.user?.id }, 'request');
    });
    next();
  };
}

/**
 * Headers that are the same on every response (helmet's, whose options here hold no function
 * of the request), worked out once by running the middleware against a recording response and
 * then set in one step: helmet's chain of a dozen middlewares per request cost more than the
 * headers themselves. When the middleware does not finish at once or reads the request, it is
 * used as it is.
 */
export function constantHeaders(middleware: RequestHandler): RequestHandler {
  // in the middleware's order: a header set, or removed (value undefined)
  const steps: [string, string | number | readonly string[] | undefined][] = [];
  let finished = false;
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) { steps.push([name, value]); return recorder; },
    removeHeader(name: string) { steps.push([name, undefined]); },
  };
  // a request with nothing in it: a middleware that looks at it fails here, and is then kept as it is
  const request = Object.freeze({});
  try {
    // why: the recorder has the two methods of a response that the middleware calls
    middleware(request as Request, recorder as unknown as Response, (err?: unknown) => { finished = err === undefined; });
  } catch {
    finished = false;
  }
  if (!finished) return middleware;
  return (_req, res, next) => {
    for (const [name, value] of steps) {
      if (value === undefined) res.removeHeader(name);
      else res.setHeader(name, value);
    }
    next();
  };
}

/**
 * Language: ?lang=xx switches (and is remembered in the session), then the session,
 * then the signed-in user's choice, then German.
 */
export function locale(): RequestHandler {
  return (req, res, next) => {
    const q = req.query.lang;
    if (isLocale(q)) req.session.locale = q;
    req.locale = req.session.locale ?? (req.user?.locale && isLocale(req.user.locale) ? req.user.locale : DEFAULT_LOCALE);
    req.t = tFor(req.locale);
    res.locals.locale = req.locale;
    res.locals.otherLocale = req.locale === 'de' ? 'en' : 'de';
    res.locals.t = req.t;
    next();
  };
}

export function flash(req: Request, kind: 'success' | 'error' | 'info', text: string): void {
  req.session.flash = [...(req.session.flash ?? []), { kind, text }];
}

/** h/harden: a path on this site: one leading slash (browsers read '//x' and '/\\x' as another host). */
export function localPath(p: string): string {
  return `/${p.replace(/^[/\\]+/, '')}`;
}

/** h/harden: signed-in pages are never kept by the browser or a proxy (Back after sign-out shows nothing). */
export function noStoreWhenSignedIn(): RequestHandler {
  return (req, res, next) => {
    if (req.user) res.setHeader('Cache-Control', 'no-store');
    next();
  };
}

/** Things every page needs: the user, their roles, flash messages, the current path. */
export function locals(): RequestHandler {
  return (req, res, next) => {
    const user = req.user;
    res.locals.user = user;
    res.locals.roles = Object.fromEntries((user?.roles ?? []).map((r) => [r, true]));
    res.locals.isStaff = !!user?.roles.some((r) => r !== 'member');
    res.locals.currentPath = localPath(req.path); // h/harden: never '//host/…' (an off-site link)
    res.locals.currentUrl = req.originalUrl;
    if (req.session.flash?.length) {
      res.locals.flash = req.session.flash;
      delete req.session.flash;
    }
    next();
  };
}

const { generateToken, csrfSynchronisedProtection } = csrfSync({
  getTokenFromRequest: (req) => (req.body && typeof req.body._csrf === 'string' ? req.body._csrf : (req.headers['x-csrf-token'] as string | undefined)), // why: Node types a header as string | string[]; a CSRF token header is sent once, so a string or absent
  getTokenFromState: (req) => req.session.csrfToken,
  storeTokenInState: (req, token) => {
    req.session.csrfToken = token;
  },
  size: 32,
});

/**
 * CSRF (synchroniser token in the session) on every state change; a token for every form.
 * h/harden: the token is made when a page prints it (a form), not on every request: a page
 * without a form then stores no session (saveUninitialized: false) and sets no cookie.
 */
export function csrf(): RequestHandler {
  return (req, res, next) => {
    let token: string | undefined;
    res.locals.csrfToken = { toString: () => (token ??= generateToken(req)) };
    csrfSynchronisedProtection(req, res, next);
  };
}

/** Issues a new CSRF token, e.g. after login regenerated the session. */
export function refreshCsrf(req: Request, res: Response): void {
  res.locals.csrfToken = generateToken(req, true);
}

/** Signed in with at least one of the roles; otherwise to the login page (anonymous) or 403. */
export function requireRole(...roles: Role[]): RequestHandler {
  return (req, res, next) => {
    if (!req.user) {
      if (req.method === 'GET') req.session.returnTo = req.originalUrl;
      res.redirect(303, '/login');
      return;
    }
    if (!req.user.roles.some((r) => roles.includes(r))) {
      next(new ForbiddenError());
      return;
    }
    next();
  };
}

/** Wraps an async handler (Express 5 forwards rejections itself; this keeps the types tidy). */
export function h(fn: (req: Request, res: Response, next: NextFunction) => Promise<unknown> | unknown): RequestHandler {
  return (req, res, next) => Promise.resolve(fn(req, res, next)).then(() => undefined);
}

/** A route parameter as a positive integer id, or a 404. */
export function idParam(req: Request, name = 'id'): number {
  const v = Number(req.params[name]);
  if (!Number.isSafeInteger(v) || v <= 0) throw new NotFoundError();
  return v;
}
