import { spawn, type ChildProcess } from 'node:child_process';
import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { addOrg, orgInput } from './members.fixtures.ts';
import { FEED_APPLICATION_NAME } from '../../server/db/change-feed.ts';

/**
 * Two app processes on one PostgreSQL schema, each with its caches of sessions, signed-in users
 * and settings: a change made through one counts on the very next request through the other
 * (LISTEN/NOTIFY, server/db/change-feed.ts). On SQLite there is one process: skipped.
 */

const SESSION_SECRET = 'cross-process-test-secret-0123456789abcdef';

interface Child {
  proc: ChildProcess;
  base: string;
}

function startChild(schema: string): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'test/fakes/app-child.ts'], {
    env: {
      ...process.env, NODE_ENV: 'test', DATABASE_URL: process.env.TEST_DATABASE_URL, PG_SCHEMA: schema, SESSION_SECRET,
      BASE_URL: 'http://127.0.0.1:3999', LOG_LEVEL: 'silent', SEED_DEMO: 'never', DATA_DIR: `/tmp/verein-cross-${schema}`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`app process did not start: ${err}`)), 60_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = out.match(/\{"port":(\d+)\}/);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, base: `http://127.0.0.1:${m[1]}` });
      }
    });
    proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`app process exited (${code}): ${err}`));
    });
  });
}

function stopChild(c: Child | undefined): Promise<void> {
  if (!c || c.proc.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => c.proc.kill('SIGKILL'), 10_000);
    c.proc.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    c.proc.kill('SIGTERM');
  });
}

/** A browser whose one session cookie goes to either process. */
class Person {
  cookie = '';

  async request(base: string, path: string, init: { method?: string; form?: Record<string, string | string[]> } = {}): Promise<{ status: number; location: string | null; text: string }> {
    let body: string | undefined;
    if (init.form) {
      const p = new URLSearchParams();
      for (const [k, v] of Object.entries(init.form)) for (const x of Array.isArray(v) ? v : [v]) p.append(k, x);
      body = p.toString();
    }
    const res = await fetch(base + path, {
      method: init.method ?? (body ? 'POST' : 'GET'),
      redirect: 'manual',
      headers: { ...(this.cookie ? { cookie: this.cookie } : {}), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      body,
    });
    const set = res.headers.getSetCookie().find((c) => c.startsWith('sid='));
    if (set) this.cookie = set.split(';')[0];
    return { status: res.status, location: res.headers.get('location'), text: await res.text() };
  }

  /** Loads the form page, takes its CSRF token and posts the form. */
  async submit(base: string, formPath: string, form: Record<string, string | string[]>, action = formPath) {
    const page = await this.request(base, formPath);
    const m = page.text.match(/name="_csrf" value="([^"]+)"/);
    if (!m) throw new Error(`no CSRF token on ${formPath} (${page.status})`);
    return this.request(base, action, { form: { ...form, _csrf: m[1] } });
  }

  async login(base: string, email: string) {
    const res = await this.submit(base, '/login', { email, password: PASSWORD });
    if (res.status !== 303) throw new Error(`login failed for ${email}: ${res.status}`);
  }
}

const SETTINGS = {
  name: 'ChemieNetzwerk Harz e.V.', street: 'Adolph-Roemer-Straße 2A', postcode: '38678', city: 'Clausthal-Zellerfeld', country: 'DE',
  registerCourt: 'Amtsgericht Braunschweig', registerNumber: 'VR 201234', taxNumber: '21/270/12345', boardMembers: 'Dr. Anna Beispiel (Vorsitzende)',
  contactEmail: 'vorstand@chemienetzwerk-harz.de', website: 'www.chemienetzwerk-harz.de', bankHolder: 'ChemieNetzwerk Harz e.V.',
  iban: 'de89 3704 0044 0532 0130 00', bic: 'cobadeffxxx', bankName: 'Commerzbank Goslar', sepaCreditorId: 'DE98ZZZ09999999999',
  privacyNoticeVersion: '2026-11', bylawsUrl: '/documents/satzung', invitationNoticeDays: '21', motionDeadlineDays: '10', proxiesAllowed: '1',
  maxProxiesPerHolder: '3', quorumPercent: '25', terminationNoticeMonths: '3', terminationToYearEnd: '1', duesDueDays: '30', proRata: 'full_year',
  reminder1Days: '14', reminder2Days: '28', invoiceTaxNote: 'Echter Mitgliedsbeitrag, nicht umsatzsteuerbar.', applicationRetentionMonths: '6',
  contactRetentionYears: '1', invoiceRetentionYears: '10', unconfirmedApplicationDays: '30', mailBodyRetentionDays: '180', auditDetailRetentionYears: '3',
};

describe('caches across processes (PostgreSQL): two app processes on one database', function () {
  this.timeout(120_000);
  let env: TestEnv | undefined;
  let a: Child | undefined;
  let b: Child | undefined;
  let boardId: number;

  before(async function () {
    if (!process.env.TEST_DATABASE_URL) {
      console.log('    (skipped: needs PostgreSQL, set TEST_DATABASE_URL; on SQLite there is only one process)');
      this.skip();
    }
    env = await createTestEnv();
    if (env.config.database.client !== 'pg' || !env.config.database.searchPath) throw new Error('expected a PostgreSQL schema');
    const schema = env.config.database.searchPath[0];
    await makeUser(env.ctx, 'admin@test.example', ['admin'], 'Ada Admin');
    boardId = await makeUser(env.ctx, 'board@test.example', ['board'], 'Berta Vorstand');
    await makeUser(env.ctx, 'kasse@test.example', ['treasurer'], 'Karl Kasse');
    [a, b] = await Promise.all([startChild(schema), startChild(schema)]);
  });

  after(async () => {
    await Promise.all([stopChild(a), stopChild(b)]);
    await env?.close();
  });

  it('a role taken away through one process is refused on the very next request through the other', async () => {
    const board = new Person();
    await board.login(a!.base, 'board@test.example');
    for (const c of [a!, b!, a!, b!]) expect((await board.request(c.base, '/board/applications')).status).to.equal(200); // both keep session and user

    const admin = new Person();
    await admin.login(a!.base, 'admin@test.example');
    const saved = await admin.submit(a!.base, `/admin/users/${boardId}`, { displayName: 'Berta Vorstand', roles: ['treasurer'], locale: 'de' });
    expect(saved.status).to.equal(303);
    expect((await board.request(b!.base, '/board/applications')).status).to.equal(403);
    expect((await board.request(b!.base, '/treasurer')).status).to.equal(200);

    // and back, the other way round: the role given through B counts in A, which kept the user without it
    expect((await board.request(a!.base, '/board/applications')).status).to.equal(403);
    const again = await admin.submit(b!.base, `/admin/users/${boardId}`, { displayName: 'Berta Vorstand', roles: ['board'], locale: 'de' });
    expect(again.status).to.equal(303);
    expect((await board.request(a!.base, '/board/applications')).status).to.equal(200);
  });

  it('a sign-out through one process ends the session in the other at once', async () => {
    const kasse = new Person();
    await kasse.login(b!.base, 'kasse@test.example');
    for (const c of [a!, b!, a!]) expect((await kasse.request(c.base, '/treasurer')).status).to.equal(200);
    const page = await kasse.request(b!.base, '/treasurer');
    const token = page.text.match(/name="_csrf" value="([^"]+)"/)?.[1];
    expect(token).to.be.a('string');
    const signedIn = kasse.cookie;
    const out = await kasse.request(b!.base, '/logout', { form: { _csrf: token! } });
    expect(out.status).to.equal(303);
    kasse.cookie = signedIn; // the cookie of the session that was ended (another tab, a copied cookie)
    const after = await kasse.request(a!.base, '/treasurer');
    expect(after.status).to.equal(303);
    expect(after.location).to.equal('/login');
  });

  it("the register's numbers follow a member added by another process at once", async () => {
    const cats = await makeCategories(env!.ctx);
    await addOrg(env!, orgInput(cats.company, { legalName: 'Harzer Spezialchemie GmbH', joinDate: '2015-03-01' }));
    const board = new Person();
    await board.login(a!.base, 'board@test.example');
    const active = (html: string) => html.match(/<strong>(\d+)<\/strong> Mitglieder \(/)?.[1];
    for (const c of [a!, b!, a!, b!]) expect(active((await board.request(c.base, '/board/members')).text)).to.equal('1'); // both keep the numbers
    await env!.ctx.changes.start(); // this process (the test's own context, like the CLI) writes and announces
    await addOrg(env!, orgInput(cats.research, { legalName: 'TU Clausthal', joinDate: '2016-05-10' }));
    // a notice sent with a commit is not waited for by the writer (unlike the role and sign-out notices above): it
    // arrives within milliseconds, well before the numbers' 5 seconds run out
    for (const c of [a!, b!]) {
      const started = Date.now();
      let n = active((await board.request(c.base, '/board/members')).text);
      while (n !== '2' && Date.now() - started < 1_000) {
        await new Promise((r) => setTimeout(r, 20));
        n = active((await board.request(c.base, '/board/members')).text);
      }
      expect(n).to.equal('2');
    }
  });

  it('a settings change through one process shows on the next page of the other', async () => {
    const admin = new Person();
    await admin.login(a!.base, 'admin@test.example');
    const form = await admin.request(a!.base, '/admin/settings');
    const token = form.text.match(/name="_csrf" value="([^"]+)"/)?.[1];
    expect(token).to.be.a('string');
    const visitor = new Person();
    for (const c of [a!, b!, b!]) expect((await visitor.request(c.base, '/')).text).to.not.contain('Netzwerk Zwei'); // both keep the settings
    const saved = await admin.request(a!.base, '/admin/settings', { form: { ...SETTINGS, name: 'ChemieNetzwerk Zwei e.V.', _csrf: token! } });
    expect(saved.status).to.equal(303);
    expect((await visitor.request(b!.base, '/')).text).to.contain('ChemieNetzwerk Zwei e.V.');
  });
});

describe('caches across processes (PostgreSQL): the listening connection lost', function () {
  this.timeout(60_000);
  let env: TestEnv | undefined;

  before(async function () {
    if (!process.env.TEST_DATABASE_URL) {
      console.log('    (skipped: needs PostgreSQL, set TEST_DATABASE_URL)');
      this.skip();
    }
    env = await createTestEnv();
  });
  after(async () => env?.close());

  it('drops and bypasses the caches while not listening, and listens again by itself', async () => {
    const { ctx } = env!;
    const until = async (ok: () => boolean) => {
      for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
      expect(ok()).to.equal(true);
    };
    await ctx.changes.start();
    expect(ctx.changes.live).to.equal(true);
    const id = await makeUser(ctx, 'lost@test.example', ['board'], 'Lena Lost');
    expect((await ctx.users.forSession(id))?.roles).to.deep.equal(['board']);
    let dropped = 0;
    const off = ctx.changes.subscribe('users', (p) => { if (p === undefined) dropped++; });

    // the server ends the listening connection (a restart, a network failure)
    await env!.db.raw('select pg_terminate_backend(pid) from pg_stat_activity where application_name = ? and pid <> pg_backend_pid()', [FEED_APPLICATION_NAME]);
    await until(() => !ctx.changes.live);
    expect(dropped).to.be.greaterThan(0);
    // a change behind the service's back (as another process whose notice is missed) shows at once: nothing is kept
    await env!.db('user_roles').where({ user_id: id }).update({ role: 'treasurer' });
    expect((await ctx.users.forSession(id))?.roles).to.deep.equal(['treasurer']);
    await env!.db('user_roles').where({ user_id: id }).update({ role: 'member' });
    expect((await ctx.users.forSession(id))?.roles).to.deep.equal(['member']);

    await until(() => ctx.changes.live);
    off();
    expect((await ctx.users.forSession(id))?.roles).to.deep.equal(['member']);
  });
});
