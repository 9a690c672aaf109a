import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import express from 'express';
import { engine } from 'express-handlebars';
import session from 'express-session';

/**
 * The benchmark's second yardstick (issue 9), "the minimal signed-in page": what any app must
 * do to show one page of the register to a signed-in user, and nothing more. Express 5 with
 * express-session (its memory store, a signed cookie), one prepared better-sqlite3 keyset
 * query of 51 rows from the benchmark's database, and the register's table rendered with
 * express-handlebars (view cache on) in the bare layout of the first yardstick (no navigation,
 * no CSRF token, no language switch, no numbers at a glance, no filters).
 *
 * bench/run.ts starts it as a child process exactly as the app is started (the node flags of
 * `npm start`, NODE_ENV=production) with PORT, BENCH_DB (the SQLite file) and SESSION_SECRET
 * set, signs in with POST /login and loads GET /board/members like the app's first page.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const file = process.env.BENCH_DB;
if (!file) throw new Error('BENCH_DB: the SQLite file of the benchmark');

// the app's connection settings (server/db/knex.ts)
const db = new Database(file, { fileMustExist: true });
db.pragma('journal_mode = WAL');
db.pragma('foreign_keys = ON');
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = NORMAL');

interface Row { id: number; member_number: number; legal_name: string; city: string; join_date: string; status: string; exit_date: string | null; category_id: number }
const PAGE = 50;
const pageAfter = db.prepare<[number, number], Row>(
  'select id, member_number, legal_name, city, join_date, status, exit_date, category_id from organisations where member_number > ? order by member_number limit ?',
);
const categories = new Map((db.prepare('select id, name_de from membership_categories').all() as { id: number; name_de: string }[]).map((c) => [c.id, c.name_de]));
const STATUS: Record<string, string> = { active: 'aktiv', notice_given: 'gekündigt', former: 'ausgeschieden' };
const BADGE: Record<string, string> = { active: 'badge-ok', notice_given: 'badge-warn', former: 'badge-bad' };
const date = (d: string) => `${d.slice(8, 10)}.${d.slice(5, 7)}.${d.slice(0, 4)}`;

declare module 'express-session' {
  interface SessionData { userId?: number }
}

const app = express();
app.engine('hbs', engine({ extname: '.hbs', defaultLayout: 'main', layoutsDir: path.join(here, 'views/layouts') }));
app.set('view engine', 'hbs');
app.set('views', path.join(here, 'views'));
app.set('view cache', true);
app.set('etag', false);
app.disable('x-powered-by');
app.use(session({
  name: 'sid',
  secret: process.env.SESSION_SECRET ?? 'minimal-signed-in',
  resave: false,
  saveUninitialized: false,
  cookie: { httpOnly: true, sameSite: 'lax', maxAge: 8 * 3_600_000 },
}));

app.post('/login', (req, res, next) => {
  req.session.regenerate((err) => {
    if (err) return next(err);
    req.session.userId = 1;
    res.redirect(303, '/board/members');
  });
});

app.get('/board/members', (req, res) => {
  if (!req.session.userId) return res.redirect(303, '/login');
  const after = Number(req.query.after ?? 0) || 0;
  const got = pageAfter.all(after, PAGE + 1);
  const rows = got.slice(0, PAGE).map((r) => ({
    id: r.id,
    memberNo: `M-${String(r.member_number).padStart(4, '0')}`,
    legalName: r.legal_name,
    city: r.city,
    joinDateText: date(r.join_date),
    categoryName: categories.get(r.category_id) ?? '',
    statusLabel: STATUS[r.status] ?? r.status,
    badge: BADGE[r.status] ?? '',
    exitDateText: r.exit_date ? date(r.exit_date) : '',
  }));
  const last = rows[rows.length - 1];
  res.render('minimal-signed-in', { title: 'Mitglieder', rows, nextUrl: got.length > PAGE && last ? `/board/members?after=${got[PAGE - 1].member_number}` : undefined });
});

const port = Number(process.env.PORT ?? 0);
const server = http.createServer(app);
server.listen(port, '127.0.0.1', () => {
  const a = server.address();
  console.log(`minimal signed-in page listening on ${typeof a === 'object' && a ? a.port : port} (NODE_ENV=${process.env.NODE_ENV ?? ''})`);
});
const stop = () => server.close(() => { db.close(); process.exit(0); });
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
