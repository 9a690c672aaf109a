import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { DateTime } from 'luxon';
import knexFactory, { type Knex } from 'knex';
import { createDb } from '../../server/db/knex.ts';
import { loadConfig } from '../../server/config.ts';
import { createContext, type Context } from '../../server/context.ts';
import { createApp, type AppHandle } from '../../server/app.ts';
import { createLogger } from '../../server/logger.ts';
import { systemClock } from '../../server/clock.ts';
import { verifyPassword } from '../../server/auth/passwords.ts';
import { createTestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeUser } from '../helpers/fixtures.ts';
import { SmtpSink } from '../fakes/smtp-sink.ts';
import { seedDemoIfEmpty, DEMO_CATEGORIES, DEMO_PASSWORD } from '../../seeds/demo.ts';
import { parseFoundingMembers } from '../../seeds/founding-members.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The database of a data directory: its SQLite file, or, when TEST_DATABASE_URL is set, a
 * schema of its own in that PostgreSQL database (chosen through the connection's search_path).
 */
const databaseUrls = new Map<string, string>();
const pgSchemas: string[] = [];
const PG_URL = process.env.TEST_DATABASE_URL;

async function workspace(opts: { sqliteOnly?: boolean } = {}): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'verein-cli-'));
  if (PG_URL && !opts.sqliteOnly) {
    const schema = `t_cli_${crypto.randomBytes(5).toString('hex')}`;
    const admin = knexFactory({ client: 'pg', connection: PG_URL });
    await admin.raw(`create schema ${schema}`);
    await admin.destroy();
    pgSchemas.push(schema);
    databaseUrls.set(dir, `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`);
  } else {
    databaseUrls.set(dir, '');
  }
  return dir;
}

function childEnv(dataDir: string, env: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, NODE_ENV: 'development', DATA_DIR: dataDir, DATABASE_URL: databaseUrls.get(dataDir) ?? '', SMTP_URL: '', LOG_LEVEL: '', ...env };
}

function cli(dataDir: string, args: string[], env: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--import', 'tsx', 'server/cli/main.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
    input: '', // no terminal: nothing is asked
    timeout: 60_000,
    env: childEnv(dataDir, env),
  });
}

/** Like cli(), but without blocking this process (for a child that talks to a listener running here). */
function cliAsync(dataDir: string, args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/cli/main.ts', ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: childEnv(dataDir, env),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill(), 60_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

function ibanValid(iban: string): boolean {
  const s = iban.slice(4) + iban.slice(0, 4);
  let r = 0;
  for (const ch of s) for (const d of /[A-Z]/.test(ch) ? String(ch.charCodeAt(0) - 55) : ch) r = (r * 10 + Number(d)) % 97;
  return /^DE\d{20}$/.test(iban) && r === 1;
}

/** Opens the SQLite file a CLI run wrote, with the app's context around it. */
function openData(dataDir: string): { db: Knex; ctx: Context; handle: AppHandle } {
  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, DATABASE_URL: databaseUrls.get(dataDir) ?? '', BASE_URL: 'http://127.0.0.1:3999', LOG_LEVEL: 'silent' });
  const db = createDb(config.database);
  const ctx = createContext({ config, db, clock: systemClock, log: createLogger('silent') });
  return { db, ctx, handle: createApp(ctx) };
}

describe('cli: commands as child processes against a fresh data directory', function () {
  this.timeout(120_000);
  after(async () => {
    for (const d of databaseUrls.keys()) fs.rmSync(d, { recursive: true, force: true });
    if (PG_URL && pgSchemas.length) {
      const admin = knexFactory({ client: 'pg', connection: PG_URL });
      for (const schema of pgSchemas) await admin.raw(`drop schema if exists ${schema} cascade`);
      await admin.destroy();
    }
  });

  it('explains itself: help lists the commands, an unknown command or a missing option exits 2', async () => {
    const dir = await workspace();
    const help = cli(dir, ['help']);
    expect(help.status).to.equal(0);
    for (const c of ['user:create', 'seed:demo', 'mail:send', 'backup', 'dues:run', 'invoices:reconcile', 'reminders:send', 'members:import']) {
      expect(help.stdout).to.contain(c);
    }

    const [unknown, noYear, none] = await Promise.all([
      cliAsync(dir, ['frobnicate']), cliAsync(dir, ['dues:run']), cliAsync(dir, []),
    ]);
    expect(unknown.status).to.equal(2);
    expect(unknown.stderr).to.contain('Unknown command "frobnicate"');
    expect(unknown.stderr).to.contain('Usage: npm run cli');
    expect(noYear.status).to.equal(2);
    expect(noYear.stderr).to.contain('--year is required');
    expect(none.status).to.equal(2);
    expect(none.stdout).to.contain('Usage: npm run cli');
  });

  it('refuses a bad configuration with the name of the setting', async () => {
    const r = cli(await workspace(), ['mail:send'], { PORT: 'abc' });
    expect(r.status).to.equal(2);
    expect(r.stderr).to.contain('Invalid configuration');
    expect(r.stderr).to.contain('PORT');
  });

  it('user:create checks its input, creates the user with its roles, and refuses a second one with the same address', async () => {
    const dir = await workspace();
    // bad input is refused before anything is written (run side by side to save time)
    const [noEmail, badEmail, badRole, noRole, shortPw, unknownOption] = await Promise.all([
      cliAsync(dir, ['user:create', '--role', 'admin']),
      cliAsync(dir, ['user:create', '--email', 'not-an-address', '--role', 'admin']),
      cliAsync(dir, ['user:create', '--email', 'a@verein.example', '--role', 'chairman']),
      cliAsync(dir, ['user:create', '--email', 'a@verein.example']),
      cliAsync(dir, ['user:create', '--email', 'a@verein.example', '--role', 'admin', '--password', 'kurz']),
      cliAsync(dir, ['user:create', '--email', 'a@verein.example', '--role', 'admin', '--admin']),
    ]);
    expect(noEmail.status).to.equal(2);
    expect(noEmail.stderr).to.contain('--email is required');
    expect(badEmail.status).to.equal(2);
    expect(badEmail.stderr).to.contain('is not an e-mail address');
    expect(badRole.status).to.equal(2);
    expect(badRole.stderr).to.contain('unknown role "chairman"');
    expect(noRole.status).to.equal(2);
    expect(noRole.stderr).to.contain('--role is required');
    expect(shortPw.status).to.equal(2);
    expect(shortPw.stderr).to.contain('at least 10 characters');
    expect(unknownOption.status).to.equal(2);
    expect(unknownOption.stderr).to.contain("Unknown option '--admin'");

    const ok = cli(dir, ['user:create', '--email', 'Erste.Admin@Verein.example', '--role', 'admin', '--role', 'board', '--name', 'Erste Admin', '--password', 'sehr-geheimes-pw']);
    expect(ok.status, ok.stderr).to.equal(0);
    expect(ok.stdout).to.contain('Created user');
    expect(ok.stdout).not.to.contain('sehr-geheimes-pw');

    const again = cli(dir, ['user:create', '--email', 'erste.admin@verein.example', '--role', 'board', '--password', 'anderes-passwort']);
    expect(again.status).to.equal(1);
    expect(again.stderr).to.contain('exists already');

    const { db, handle } = openData(dir);
    try {
      const users = await db('users');
      expect(users).to.have.length(1);
      expect(users[0].email).to.equal('erste.admin@verein.example');
      expect(users[0].display_name).to.equal('Erste Admin');
      expect(await verifyPassword('sehr-geheimes-pw', users[0].password_hash)).to.equal(true);
      const roles = (await db('user_roles').where({ user_id: users[0].id })).map((r) => r.role).sort();
      expect(roles).to.deep.equal(['admin', 'board']);
      const audit = (await db('audit_log').where({ action: 'user.created' }).first())!;
      expect(audit.actor_label).to.equal('cli');
      // and the user can sign in
      const res = await new Browser(handle.app).login('erste.admin@verein.example', 'sehr-geheimes-pw');
      expect(res.headers.location).to.equal('/board/applications');
    } finally {
      handle.close();
      await db.destroy();
    }
  });

  it('user:create without --password and without a terminal generates one and prints it once', async () => {
    const dir = await workspace();
    const r = cli(dir, ['user:create', '--email', 'kasse@verein.example', '--role', 'treasurer']);
    expect(r.status, r.stderr).to.equal(0);
    const m = r.stdout.match(/Generated password[^\n]*\n\s+(\S+)/);
    expect(m, r.stdout).to.not.equal(null);
    const password = m![1];
    expect(password.length).to.be.at.least(16);
    expect(r.stdout.split(password)).to.have.length(2); // exactly once
    const { db, handle } = openData(dir);
    try {
      const u = (await db('users').where({ email: 'kasse@verein.example' }).first())!;
      expect(await verifyPassword(password, u.password_hash)).to.equal(true);
      expect(u.display_name).to.equal('kasse');
    } finally {
      handle.close();
      await db.destroy();
    }
  });

  it('seed:demo fills the demo association, its 20 founding members and demo logins, and refuses a second time', async () => {
    const dir = await workspace();
    const r = cli(dir, ['seed:demo']);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('20 founding members');
    expect(r.stdout).to.contain('Demo data filled in');
    for (const login of ['admin@demo.example', 'vorstand@demo.example', 'kasse@demo.example', 'k.woelfel@harzer-spezialchemie.example']) {
      expect(r.stdout).to.contain(login);
    }
    expect(r.stdout).to.contain(DEMO_PASSWORD);

    const { db, ctx, handle } = openData(dir);
    try {
      const a = await ctx.settings.association();
      expect(a.name).to.equal('ChemieNetzwerk Harz e.V.');
      expect(a.city).to.equal('Goslar');
      expect(`${a.registerCourt} ${a.registerNumber}`).to.equal('Amtsgericht Braunschweig VR 201234');
      expect(a.contactEmail).to.equal('vorstand@chemienetzwerk-harz.example');
      expect(a.taxNumber).to.not.equal('');
      expect(a.boardMembers).to.not.equal('');
      expect(ibanValid(a.iban), a.iban).to.equal(true);
      const rules = await ctx.settings.rules();
      expect(rules.invitationNoticeDays).to.equal(14);
      expect(rules.duesDueDays).to.equal(30);

      const cats = await ctx.settings.categories({ includeInactive: true });
      const byCode = Object.fromEntries(cats.map((c) => [c.code, c]));
      expect(byCode.company.feeRule).to.deep.equal({ type: 'tiers', tiers: { '1-49': 50000, '50-249': 120000, '250+': 250000 } });
      expect(byCode.research.feeRule).to.deep.equal({ type: 'fixed', amountCents: 30000 });
      expect(byCode.supporting.feeRule).to.deep.equal({ type: 'fixed', amountCents: 25000 });
      expect(byCode.supporting.hasVote).to.equal(false);
      expect(byCode.honorary.feeRule).to.deep.equal({ type: 'fixed', amountCents: 0 });
      expect(byCode.honorary.openToApplicants).to.equal(false);

      const orgs = await db('organisations').orderBy('member_number');
      expect(orgs.map((o) => Number(o.member_number))).to.deep.equal(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(orgs[0].legal_name).to.equal('Harzer Spezialchemie GmbH');
      expect(orgs[0].join_date).to.equal('2015-03-01');
      expect(orgs[0].employee_band).to.equal('250+');
      expect(orgs[0].category_id).to.equal(byCode.company.id);
      expect(orgs[3].legal_name).to.equal('Institut für Prozesstechnik Clausthal e.V.');
      expect(orgs[3].category_id).to.equal(byCode.research.id);
      expect(orgs[9].legal_name).to.equal('Liebenburger Feinmetalle GmbH');
      expect(orgs[9].join_date).to.equal('2016-04-15');
      expect(orgs[16].category_id).to.equal(byCode.supporting.id);
      expect(orgs.every((o) => o.status === 'active')).to.equal(true);

      const contacts = await db('contacts');
      expect(contacts.filter((c) => c.is_representative === 1 || c.is_representative === true)).to.have.length(20);
      const billing = contacts.filter((c) => (c.is_billing === 1 || c.is_billing === true) && !(c.is_representative === 1 || c.is_representative === true));
      expect(billing.map((c) => c.email).sort()).to.include.members(['buchhaltung@harzer-spezialchemie.example', 'ap@vienenburger-glas.example']);
      expect(billing).to.have.length(8);
      expect(contacts.find((c) => c.email === 'a.yilmaz@zrf-harz.example')?.name).to.equal('Dr. Ayşe Yılmaz');

      // the demo's mails are the two assemblies' invitations and the past one's minutes, and one working group's meeting invitation, to representatives only
      const mails = await db('mail_messages');
      expect(new Set(mails.map((m) => m.template).filter((t) => !String(t).startsWith('group_meeting_')))).to.deep.equal(new Set(['assembly_invitation', 'assembly_minutes']));
      expect(mails.some((m) => String(m.template).startsWith('group_meeting_'))).to.equal(true);
      const representatives = new Set(contacts.filter((c) => (c.is_representative === 1 || c.is_representative === true)).map((c) => c.email));
      expect(mails.every((m) => representatives.has(m.to_address))).to.equal(true);

      // the portal user is the representative of M-0001
      const portalUser = await ctx.users.byEmail('k.woelfel@harzer-spezialchemie.example');
      expect(portalUser?.roles).to.deep.equal(['member']);
      expect(portalUser?.organisationId).to.equal(Number(orgs[0].id));

      // every demo login works with the demo password and lands on its start page
      const homes: [string, string][] = [
        ['admin@demo.example', '/admin'], ['vorstand@demo.example', '/board/applications'],
        ['kasse@demo.example', '/board/members'], ['k.woelfel@harzer-spezialchemie.example', '/portal'],
      ];
      for (const [email, home] of homes) {
        const res = await new Browser(handle.app).login(email, DEMO_PASSWORD);
        expect(res.headers.location, email).to.equal(home);
      }

      if (await db.schema.hasTable('applications')) {
        const apps = await db('applications').orderBy('id');
        expect(apps.map((x) => x.status)).to.deep.equal(['submitted', 'info_requested']);
        const year = DateTime.now().setZone('Europe/Berlin').year; // the CLI runs on the system clock
        expect(apps.map((x) => x.reference)).to.deep.equal([`A-${year}-0001`, `A-${year}-0002`]);
        // they wait in the board's queue
        const board = new Browser(handle.app);
        await board.login('vorstand@demo.example', DEMO_PASSWORD);
        const queue = await board.get('/board/applications');
        expect(queue.status).to.equal(200);
        expect(queue.text).to.contain('Rammelsberg Sensorik GmbH');
        expect(queue.text).to.contain('Harzer Kreislaufwirtschaft UG');
      }
    } finally {
      handle.close();
      await db.destroy();
    }

    const again = cli(dir, ['seed:demo']);
    expect(again.status).to.equal(1);
    expect(again.stderr).to.contain('already has 20 member organisation(s)');
    const check = openData(dir);
    try {
      expect(Number((await check.db('organisations').count({ n: '*' }))[0].n)).to.equal(20);
      expect(Number((await check.db('users').count({ n: '*' }))[0].n)).to.equal(4);
    } finally {
      check.handle.close();
      await check.db.destroy();
    }
  });

  it('mail:send flushes the outbox and reports sent, failed and waiting', async () => {
    const sink = await SmtpSink.start();
    const dir = await workspace();
    try {
      expect(cli(dir, ['user:create', '--email', 'a@verein.example', '--role', 'admin', '--password', 'irgendwas-langes']).status).to.equal(0);
      const { db, ctx, handle } = openData(dir);
      try {
        await db.transaction(async (trx) => {
          for (const to of ['eins@verein.example', 'zwei@verein.example', 'kaputt@verein.example']) {
            await ctx.outbox.enqueue(trx, { template: 'test', locale: 'de', to, content: { subject: `Test an ${to}`, paragraphs: ['Hallo'], signature: 'Verein' } });
          }
        });
      } finally {
        handle.close();
        ctx.outbox.close();
        await db.destroy();
      }
      sink.failRecipient('kaputt@verein.example', 550);
      const r = await cliAsync(dir, ['mail:send'], { SMTP_URL: sink.url });
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout).to.contain('sent 2, failed 1, waiting 0');
      expect(sink.messages.map((m) => m.envelopeTo[0]).sort()).to.deep.equal(['eins@verein.example', 'zwei@verein.example']);

      const again = await cliAsync(dir, ['mail:send'], { SMTP_URL: sink.url });
      expect(again.stdout).to.contain('sent 0, failed 0, waiting 0');
      expect(sink.messages).to.have.length(2);
    } finally {
      await sink.stop();
    }
  });

  it('mail:send without SMTP_URL writes .eml files under the data directory', async () => {
    const dir = await workspace();
    expect(cli(dir, ['seed:demo']).status).to.equal(0);
    const { db, ctx, handle } = openData(dir);
    let queued: number;
    try {
      await db.transaction((trx) => ctx.outbox.enqueue(trx, { template: 'test', locale: 'de', to: 'x@verein.example', content: { subject: 'Datei', paragraphs: ['Hallo'], signature: 'Verein' } }));
      queued = (await db('mail_messages').where({ status: 'queued' })).length; // with the demo assemblies' mails
    } finally {
      handle.close();
      await db.destroy();
    }
    expect(queued).to.be.greaterThan(1);
    const r = cli(dir, ['mail:send']);
    expect(r.stdout).to.contain(`sent ${queued}, failed 0, waiting 0`);
    expect(fs.readdirSync(path.join(dir, 'mail')).filter((f) => f.endsWith('.eml'))).to.have.length(queued);
  });

  it('retention:run --dry-run counts what is due and changes nothing; retention:run applies it', async () => {
    const dir = await workspace();
    expect(cli(dir, ['seed:demo']).status).to.equal(0);
    const dry = cli(dir, ['retention:run', '--dry-run']);
    expect(dry.status, dry.stderr).to.equal(0);
    expect(dry.stdout).to.contain('Retention run (dry run: nothing is changed)');
    expect(dry.stdout).to.match(/\s0 applications due for deletion/);
    expect(dry.stdout).to.match(/\s0 mail bodies due for removal/);
    const real = cli(dir, ['retention:run']);
    expect(real.status, real.stderr).to.equal(0);
    expect(real.stdout).to.match(/\s0 former members anonymised/);
    const { db, handle } = openData(dir);
    try {
      expect((await db('retention_runs').orderBy('id')).map((r) => [r.trigger, Boolean(r.dry_run), r.status])).to.deep.equal([['cli', true, 'done'], ['cli', false, 'done']]);
    } finally {
      handle.close();
      await db.destroy();
    }
  });

  it('dues:run issues the year\'s invoices through the same job as the web interface, and mail:send sends them', async () => {
    const dir = await workspace();
    expect(cli(dir, ['seed:demo']).status).to.equal(0);
    const bad = cli(dir, ['dues:run', '--year', 'next']);
    expect(bad.status).to.equal(2);
    const run = cli(dir, ['dues:run', '--year', '2027']);
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stdout).to.contain('20/20');
    const again = cli(dir, ['dues:run', '--year', '2027']);
    expect(again.status, again.stderr).to.equal(0);
    const { db, handle } = openData(dir);
    try {
      const invoices = await db('invoices').select('number');
      expect(invoices).to.have.length(20); // the second run skipped every member
      expect(invoices.map((r) => r.number).sort()[0]).to.equal('2027-0001');
    } finally {
      handle.close();
      await db.destroy();
    }
    const mail = cli(dir, ['mail:send']);
    expect(mail.stdout).to.match(/sent (\d+), failed 0, waiting 0/);
    expect(Number(mail.stdout.match(/sent (\d+)/)![1])).to.be.at.least(20);
  });

  it('members:import reads the founding members CSV into an empty register and skips them the second time', async () => {
    const dir = await workspace();
    const csv = path.join(root, 'seeds/founding-members.csv');
    // the admin sets up the categories first (an empty register without demo data)
    expect(cli(dir, ['user:create', '--email', 'admin@verein.example', '--role', 'admin', '--password', 'ein-langes-passwort']).status).to.equal(0);
    const setup = openData(dir);
    try {
      for (const [i, c] of DEMO_CATEGORIES.entries()) await setup.ctx.settings.saveCategory({ userId: null, label: 'test' }, { ...c, sortOrder: i, active: true });
    } finally {
      setup.handle.close();
      await setup.db.destroy();
    }
    const dry = cli(dir, ['members:import', csv, '--dry-run']);
    expect(dry.status, dry.stderr).to.equal(0);
    expect(dry.stdout).to.contain('20 to import');
    const first = cli(dir, ['members:import', csv]);
    expect(first.status, first.stderr).to.equal(0);
    const second = cli(dir, ['members:import', csv]);
    expect(second.status, second.stderr).to.equal(0);
    expect(second.stdout).to.contain('0 to import');
    const missing = cli(dir, ['members:import', path.join(dir, 'nope.csv')]);
    expect(missing.status).to.equal(2);
    expect(missing.stderr).to.contain('does not exist');
    const { db, handle } = openData(dir);
    try {
      expect(Number((await db('organisations').count({ n: '*' }))[0].n)).to.equal(20);
    } finally {
      handle.close();
      await db.destroy();
    }
  });

  it('backup writes a consistent copy of the SQLite database; refuses to overwrite; points to pg_dump for PostgreSQL', async () => {
    const dir = await workspace({ sqliteOnly: true });
    expect(cli(dir, ['seed:demo']).status).to.equal(0);
    const r = cli(dir, ['backup']);
    expect(r.status, r.stderr).to.equal(0);
    const files = fs.readdirSync(dir).filter((f) => /^backup-\d{8}-\d{6}\.sqlite$/.test(f));
    expect(files, fs.readdirSync(dir).join(',')).to.have.length(1);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('backup-') && !f.endsWith('.sqlite'))).to.have.length(0);
    expect(r.stdout).to.contain('integrity check ok, 20 organisations');

    // the copy is a working database
    const copy = createDb({ client: 'better-sqlite3', filename: path.join(dir, files[0]) });
    try {
      expect(Number((await copy('organisations').count({ n: '*' }))[0].n)).to.equal(20);
      expect((await copy('users').where({ email: 'admin@demo.example' }).first())?.email).to.equal('admin@demo.example');
    } finally {
      await copy.destroy();
    }

    const target = path.join(dir, 'named.sqlite');
    expect(cli(dir, ['backup', target]).status).to.equal(0);
    const twice = cli(dir, ['backup', target]);
    expect(twice.status).to.equal(2);
    expect(twice.stderr).to.contain('exists already');

    const pg = cli(dir, ['backup'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    expect(pg.status).to.equal(2);
    expect(pg.stderr).to.contain('pg_dump');
  });
});

describe('seed: demo data on first start and the founding members file', () => {
  it('fills the demo into an empty database once, and never into one with users', async () => {
    const env = await createTestEnv();
    try {
      const lines: string[] = [];
      expect(await seedDemoIfEmpty(env.ctx, (l) => lines.push(l))).to.equal(true);
      expect(lines.join('\n')).to.match(/Demo data filled in: log in .*as/);
      expect(lines.join('\n')).to.contain('admin@demo.example');
      expect(lines.join('\n')).to.contain('demo-passwort');
      expect(await seedDemoIfEmpty(env.ctx, () => undefined)).to.equal(false);
      expect(Number((await env.db('organisations').count({ n: '*' }))[0].n)).to.equal(20);
    } finally {
      await env.close();
    }
    const other = await createTestEnv();
    try {
      await makeUser(other.ctx, 'first-admin@verein.example', ['admin']);
      expect(await seedDemoIfEmpty(other.ctx, () => undefined)).to.equal(false);
      expect(Number((await other.db('organisations').count({ n: '*' }))[0].n)).to.equal(0);
    } finally {
      await other.close();
    }
  });

  it('reads the founding members spreadsheet: BOM, semicolons, CRLF, German dates, member numbers and categories', () => {
    const raw = fs.readFileSync(path.join(root, 'seeds/founding-members.csv'));
    expect([...raw.subarray(0, 3)]).to.deep.equal([0xef, 0xbb, 0xbf]);
    const rows = parseFoundingMembers(raw.toString('utf8'));
    expect(rows).to.have.length(20);
    expect(rows[0]).to.deep.include({ memberNumber: 1, legalName: 'Harzer Spezialchemie GmbH', joinDate: '2015-03-01', categoryCode: 'company', employeeBand: '250+', billingEmail: 'buchhaltung@harzer-spezialchemie.example' });
    expect(rows[0].representative).to.deep.equal({ name: 'Dr. Katrin Wölfel', email: 'k.woelfel@harzer-spezialchemie.example', phone: '+49 5321 1234-0' });
    expect(rows[2].billingEmail).to.equal('');
    expect(rows[16].categoryCode).to.equal('supporting');
    expect(rows[19]).to.deep.include({ memberNumber: 20, joinDate: '2021-04-01', categoryCode: 'research' });

    expect(() => parseFoundingMembers('Mitgliedsnr;Firma\r\nM-1;X\r\n')).to.throw(/column "Rechtsform" missing/);
    const header = raw.toString('utf8').split('\r\n')[0];
    expect(() => parseFoundingMembers(`${header}\r\nM-0001;A;GmbH;S;1;O;DE;;Verein;1-49;31.02.2015;N;e@x.example;;\r\n`)).to.throw(/line 2: unknown category "Verein"/);
    expect(() => parseFoundingMembers(`${header}\r\nM-0001;A;GmbH;S;1;O;DE;;Unternehmen;1-49;31.02.2015;N;e@x.example;;\r\n`)).to.throw(/line 2: not a date/);
  });
});
