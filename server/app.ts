import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import session from 'express-session';
import helmet from 'helmet';
import passport from 'passport';
import { CachedSessionStore } from './web/session-store.ts';
import type { Context } from './context.ts';
import { configWarnings } from './config.ts';
import { AppError, ValidationError } from './errors.ts';
import { accessLog, constantHeaders, csrf, locale, locals, noStoreWhenSignedIn, requestId, requireRole } from './web/middleware.ts';
import { setupViews, viewsDir } from './web/views.ts';
import { ControlCharactersError, refuseControlCharacters } from './web/forms.ts';
import { formsClock } from './web/fields.ts'; // h/harden2
import { DEFAULT_LOCALE, isLocale, tFor } from './i18n/i18n.ts';
import { setupPassport, authRouter } from './auth/auth.routes.ts';
import { publicRouter } from './web/public.routes.ts';
import { applicationsPublicRouter, applicationsBoardRouter } from './applications/applications.routes.ts';
import { adminRouter } from './admin/admin.routes.ts';
import { portalRouter, portalRequestsBoardRouter } from './portal/portal.routes.ts';
import { duesRouter } from './dues/dues.routes.ts';
import { portalInvoicesRouter } from './dues/portal-invoices.routes.ts';
import { membersRouter } from './members/members.routes.ts';
import { stripeWebhookRouter } from './dues/webhooks.routes.ts';
import { importUploadParser, memberDataRouter } from './members/member-data.routes.ts';
import { assembliesBoardRouter, assemblyUploadParser } from './assemblies/assemblies.routes.ts';
import { assembliesPublicRouter, assembliesPortalRouter } from './assemblies/rsvp.routes.ts';
import { writtenBoardRouter, writtenPublicRouter } from './assemblies/written.routes.ts'; // h/written
import { ballotsBoardRouter } from './assemblies/ballots.routes.ts'; // h/evote
// h/demand: the minority's demand for an assembly (§ 37 BGB)
import { directoryBoardRouter, directoryPortalRouter, directoryPublicRouter, directoryUploadParser } from './directory/directory.routes.ts'; // h/lead2
import { demandsBoardRouter, demandsDashboardHook, demandsPortalRouter } from './demands/demands.routes.ts';
import { sepaBoardRouter, sepaDashboardHook, sepaMemberHook, sepaPortalRouter, sepaTreasurerRouter } from './sepa/sepa.routes.ts'; // h/sepa
import { bankDashboardHook, bankMemberHook, bankRouter, bankUploadParser } from './bank/bank.routes.ts'; // h/bank
// h/groups: working groups
import { groupsBoardRouter, groupsPortalRouter, groupsPublicRouter, groupsUploadParser } from './groups/groups.routes.ts';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

export interface AppHandle {
  app: express.Express;
  sessionStore: CachedSessionStore;
  /** Stops the session cleanup timer and the change feed's listening connection. */
  close(): Promise<void>;
}

/** Builds the web app around a context; never listens itself. */
export function createApp(ctx: Context): AppHandle {
  const app = express();
  const { config } = ctx;
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.set('query parser', 'simple');
  app.set('etag', false); // pages are personal and not cached; hashing each one cost time
  setupViews(app, config.env !== 'development');

  app.use(requestId());
  app.use(accessLog(ctx.log));
  app.use(constantHeaders(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          'default-src': ["'self'"],
          'script-src': ["'self'"],
          'style-src': ["'self'"],
          'img-src': ["'self'", 'data:'],
          'font-src': ["'self'"],
          'form-action': ["'self'"],
          'frame-ancestors': ["'none'"],
          'base-uri': ["'self'"],
          'object-src': ["'none'"],
          ...(config.secureCookies ? { 'upgrade-insecure-requests': [] } : {}),
        },
      },
      strictTransportSecurity: config.secureCookies,
    }),
  ));

  app.use('/static/pico', express.static(path.join(root, 'node_modules/@picocss/pico/css'), { maxAge: '7d' }));
  app.use('/static', express.static(path.join(root, 'public'), { maxAge: '1h' }));
  app.get('/healthz', async (_req, res) => {
    try {
      await ctx.db.raw('select 1');
      const warnings = configWarnings(config); // h/harden
      res.json(warnings.length ? { status: 'ok', details: { warnings } } : { status: 'ok' });
    } catch {
      res.status(503).json({ status: 'db_unavailable' });
    }
  });

  // Stripe webhooks: raw body for the signature, no session, no CSRF, so before all of those.
  app.use(stripeWebhookRouter(ctx));

  // h/harden2: limits that agree with the longest texts the forms accept, counted in bytes as sent
  // (a character may take 9 bytes when encoded, "€" → %E2%82%AC): the minutes (200,000 characters)
  // 2 MB, every other form 512 kB (an agenda item's two 20,000-character texts); a text over its
  // length is refused by the form with a message next to the field, what was typed kept
  app.post('/board/assemblies/:id/minutes', express.urlencoded({ extended: true, limit: '2mb', parameterLimit: 500 }));
  app.use(express.urlencoded({ extended: true, limit: '512kb', parameterLimit: 500 }));
  app.use(express.json({ limit: '100kb' }));

  // the caches below (sessions, users, settings, the register's numbers) follow other processes' changes
  void ctx.changes.start();
  const sessionStore = new CachedSessionStore({ knex: ctx.db, tableName: 'sessions', cleanupInterval: config.env === 'test' ? 0 : 15 * 60_000, changes: ctx.changes });
  app.use(
    session({
      name: config.secureCookies ? '__Host-sid' : 'sid',
      secret: config.sessionSecret,
      store: sessionStore,
      resave: false,
      saveUninitialized: false,
      rolling: false,
      cookie: { httpOnly: true, sameSite: 'lax', secure: config.secureCookies, maxAge: 8 * 3_600_000, path: '/' },
    }),
  );
  setupPassport(ctx);
  app.use(passport.initialize());
  app.use(passport.session());
  app.use(noStoreWhenSignedIn()); // h/harden
  app.use(locale());
  app.use(locals());
  app.use(async (_req, res, next) => {
    res.locals.association = await ctx.settings.association();
    next();
  });
  // the member import's multipart upload is parsed (board only, 10 MB) before the CSRF check reads its token field
  app.use('/board/import', importUploadParser());
  app.use('/board/assemblies', assemblyUploadParser()); // assembly documents and minutes PDF, same rules
  app.use('/portal/directory', directoryUploadParser()); // h/lead2: the directory profile's logo (members, 2 MB)
  app.use('/treasurer/bank', bankUploadParser()); // h/bank: bank statements (smaller than 50 MB), same rules
  app.use(groupsUploadParser()); // h/groups: the working groups' PDF documents (portal and board)
  app.use(refuseControlCharacters()); // h/harden: after every body parser (multipart above), before anything reads a field
  app.use(formsClock(ctx.clock)); // h/harden2: the date bounds of every form measure "today" by the app's clock
  app.use(csrf());

  // the register first: no router before it serves a path under /board/members, and every
  // router mounted at / costs a look at each of its routes on every request that passes it
  app.use('/board/members', sepaMemberHook(ctx)); // h/sepa: the member's mandates on the member page
  app.use('/board/members', bankMemberHook(ctx)); // h/bank: the organisation's bank bookings on the member page (serves nothing)
  app.use('/board/members', membersRouter(ctx));
  app.use(publicRouter(ctx));
  app.use(authRouter(ctx, sessionStore));
  app.use(applicationsPublicRouter(ctx));
  app.use('/board/applications', applicationsBoardRouter(ctx));
  app.use('/board/assemblies', demandsDashboardHook(ctx)); // h/demand: the demands awaiting the board, on the assemblies page
  app.use('/board/demands', demandsBoardRouter(ctx)); // h/demand
  app.use('/board/assemblies', ballotsBoardRouter(ctx)); // h/evote: electronic ballots
  app.use('/board/assemblies', assembliesBoardRouter(ctx));
  app.use('/board/change-requests', requireRole('board'), portalRequestsBoardRouter(ctx));
  app.use('/portal/assemblies', assembliesPortalRouter(ctx));
  app.use(assembliesPublicRouter(ctx)); // /a/:token, personal invitation links
  // h/written: resolutions without an assembly: the board's pages and the members' links /w/:token
  app.use('/board/written-resolutions', writtenBoardRouter(ctx));
  app.use('/w', writtenPublicRouter(ctx));
  app.use('/board', memberDataRouter(ctx)); // /board/import, /board/exports, /board/gdpr
  app.use('/admin', adminRouter(ctx));
  app.use('/portal', portalRouter(ctx));
  app.use('/portal', portalInvoicesRouter(ctx));
  app.use('/portal/demands', demandsPortalRouter(ctx)); // h/demand: after the portal's router, whose navigation and organisation check run first
  // h/sepa: SEPA direct debits: the board's mandate entry, the portal's mandates, the treasurer's runs and returns
  app.use('/board/sepa', sepaBoardRouter(ctx));
  app.use('/portal/sepa', sepaPortalRouter(ctx));
  app.use('/treasurer/sepa', sepaTreasurerRouter(ctx));
  app.use('/treasurer', sepaDashboardHook(ctx));
  // h/sepa: end
  app.use('/treasurer/bank', bankRouter(ctx)); // h/bank
  app.use('/treasurer', bankDashboardHook(ctx)); // h/bank: unmatched bookings on the dashboard
  app.use('/treasurer', duesRouter(ctx));
  // h/lead2: the network's public directory (/netzwerk), the board's review, the portal's profile form
  app.use(directoryPublicRouter(ctx));
  app.use('/board/directory', directoryBoardRouter(ctx));
  app.use('/portal/directory', directoryPortalRouter(ctx));
  // h/groups: working groups: the board's overview and pages, the portal's (after the portal's router: navigation, organisation check), the RSVP links /g/:token
  app.use('/board/groups', groupsBoardRouter(ctx));
  app.use('/portal/groups', groupsPortalRouter(ctx));
  app.use('/g', groupsPublicRouter(ctx));

  app.use((req: Request, res: Response) => {
    res.locals.currentPath = '/'; // h/harden: no route matched: the language link goes home, never to the raw path
    res.status(404).render('errors/error', { title: req.t('common.errors.title404'), text: req.t('common.errors.text404') });
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = err as { type?: string; status?: number; code?: string; message?: string; stack?: string }; // why: an error handler receives unknown; only optional fields are read, each checked before use
    if (!req.t) {
      req.locale = isLocale(req.query?.lang) ? req.query.lang : DEFAULT_LOCALE;
      req.t = tFor(req.locale);
      res.locals.t = req.t;
      res.locals.locale = req.locale;
    }
    const t = req.t;
    let status = 500;
    let title = t('common.errors.title500');
    let text = t('common.errors.text500', { requestId: req.id });
    if (e?.type === 'entity.too.large' || e?.status === 413) {
      status = 413; title = t('common.errors.title413'); text = t('common.errors.text413');
    } else if (e?.code === 'EBADCSRFTOKEN' || (e?.status === 403 && e?.message === 'invalid csrf token')) {
      status = 403; title = t('common.errors.titleCsrf'); text = t('common.errors.textCsrf');
    } else if (err instanceof ControlCharactersError) {
      status = 422; title = t('input.controlTitle'); text = t('input.controlText', { fields: err.fields.join(', ') });
    } else if (err instanceof ValidationError) {
      status = 422; title = t('common.formHasErrors'); text = '';
    } else if (err instanceof AppError) {
      status = err.status;
      if (status === 404) { title = t('common.errors.title404'); text = t('common.errors.text404'); }
      else if (status === 403) { title = t('common.errors.title403'); text = t('common.errors.text403'); }
      else if (status === 409) { title = t('common.errors.titleConflict'); text = t('common.errors.textConflict'); }
      else if (status < 500) { title = t(`errors.${err.code}`, { defaultValue: t('common.errors.title500') }); text = ''; }
    } else if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
      status = e.status;
      title = status === 404 ? t('common.errors.title404') : t('common.errors.title500');
      text = status === 404 ? t('common.errors.text404') : '';
    }
    if (status >= 500) ctx.log.error({ reqId: req.id, err: { message: e?.message, stack: e?.stack } }, 'unhandled error');
    if (res.headersSent) return;
    res.status(status);
    try {
      res.render('errors/error', { title, text, requestId: req.id });
    } catch {
      res.type('text/plain').send(title);
    }
  });

  return {
    app,
    sessionStore,
    close() {
      const s = sessionStore as unknown as { nextDbCleanup?: NodeJS.Timeout }; // why: the store's cleanup timer is not in its type
      if (s.nextDbCleanup) clearTimeout(s.nextDbCleanup);
      return ctx.changes.close();
    },
  };
}

export { viewsDir };
