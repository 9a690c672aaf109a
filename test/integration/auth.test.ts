import { Writable } from 'node:stream';
import { expect } from 'chai';
import request from 'supertest';
import { createTestEnv, MemoryTransport, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { createLogger } from '../../server/logger.ts';
import { safePath } from '../../server/web/middleware.ts';
import type { Role } from '../../server/auth/roles.ts';

const MIN = 60_000;
const NEW_PASSWORD = 'Brocken-Blick-2027';

/** The `sid` cookie value from a response, if it set one. */
function sidCookie(res: { headers: Record<string, unknown> }): string | undefined {
  const set = res.headers['set-cookie'] as string[] | undefined;
  const c = set?.find((s) => s.startsWith('sid='));
  return c?.split(';')[0];
}

/** The path of the last reset link sent to `to` (taken from the text part the outbox stored). */
async function resetLink(env: TestEnv, to: string): Promise<string> {
  const [mail] = await env.ctx.outbox.forRecipient(to);
  expect(mail, `a mail to ${to}`).to.not.equal(undefined);
  const m = mail.text.match(/http:\/\/127\.0\.0\.1:3999(\/password\/reset\/[A-Za-z0-9_-]+)/);
  expect(m, 'a reset link in the mail').to.not.equal(null);
  return m![1];
}

describe('auth: sign-in, lockout, logout, password reset', () => {
  let env: TestEnv;
  before(async () => {
    env = await createTestEnv();
  });
  after(async () => env.close());

  it('sends each role to its own start page after login', async () => {
    const cases: [Role[], string][] = [
      [['admin'], '/admin'],
      [['board'], '/board/applications'],
      [['treasurer'], '/board/members'],
      [['member'], '/portal'],
      [['admin', 'board'], '/board/applications'],
    ];
    for (const [roles, home] of cases) {
      const email = `${roles.join('-')}@login.example`;
      await makeUser(env.ctx, email, roles);
      const b = new Browser(env.app);
      const res = await b.login(email.toUpperCase(), PASSWORD); // addresses are matched case-insensitively
      expect(res.headers.location, roles.join('+')).to.equal(home);
      const account = await b.get('/account');
      expect(account.status).to.equal(200);
      expect(account.text).to.contain(email);
      // the login page sends a signed-in user home
      expect((await b.get('/login')).headers.location).to.equal(home);
    }
  });

  it('returns to the page that asked for a login', async () => {
    await makeUser(env.ctx, 'return@login.example', ['admin', 'board']);
    const b = new Browser(env.app);
    const first = await b.get('/admin');
    expect(first.status).to.equal(303);
    expect(first.headers.location).to.equal('/login');
    const res = await b.login('return@login.example', PASSWORD);
    expect(res.headers.location).to.equal('/admin');
  });

  it('refuses a wrong password and an unknown address with the same message, keeping the e-mail in the form', async () => {
    await makeUser(env.ctx, 'wrong@login.example', ['board']);
    const b = new Browser(env.app);
    const wrong = await b.submit('/login', { email: 'wrong@login.example', password: 'not-the-password' });
    expect(wrong.status).to.equal(401);
    expect(wrong.text).to.contain('E-Mail-Adresse oder Passwort stimmen nicht.');
    expect(wrong.text).to.contain('value="wrong@login.example"');
    expect(wrong.text).not.to.contain('not-the-password');
    const unknown = await b.submit('/login', { email: 'nobody@login.example', password: 'not-the-password' });
    expect(unknown.status).to.equal(401);
    expect(unknown.text).to.contain('E-Mail-Adresse oder Passwort stimmen nicht.');
    expect((await b.get('/account')).headers.location).to.equal('/login');
  });

  it('shows per-field errors for an empty login form', async () => {
    const b = new Browser(env.app);
    const res = await b.submit('/login', { email: '', password: '' });
    expect(res.status).to.equal(422);
    expect(res.text).to.match(/aria-invalid="true"/);
  });

  it('after 5 wrong passwords from one source, that source waits 15 minutes for that address, even with the right password', async () => {
    await makeUser(env.ctx, 'locked@login.example', ['treasurer']);
    const b = new Browser(env.app);
    for (let i = 1; i <= 4; i++) {
      const r = await b.submit('/login', { email: 'locked@login.example', password: `wrong-${i}` });
      expect(r.text, `attempt ${i}`).to.contain('E-Mail-Adresse oder Passwort stimmen nicht.');
    }
    const fifth = await b.submit('/login', { email: 'locked@login.example', password: 'wrong-5' });
    expect(fifth.status).to.equal(429);
    expect(fifth.text).to.contain('Zu viele Fehlversuche');

    const right = await b.submit('/login', { email: 'locked@login.example', password: PASSWORD });
    expect(right.status).to.equal(429);
    expect(right.text).to.contain('Zu viele Fehlversuche');

    env.clock.advance(14 * MIN);
    expect((await b.submit('/login', { email: 'locked@login.example', password: PASSWORD })).status).to.equal(429);

    env.clock.advance(1 * MIN + 1000);
    const after = await b.submit('/login', { email: 'locked@login.example', password: PASSWORD });
    expect(after.status).to.equal(303);
    expect(after.headers.location).to.equal('/board/members');
  });

  it('gives a new session id at login and ends the session at logout', async () => {
    await makeUser(env.ctx, 'session@login.example', ['admin']);
    const b = new Browser(env.app);
    const page = await b.get('/login');
    const before = sidCookie(page);
    expect(before, 'a session cookie before login').to.be.a('string');
    const login = await b.submit('/login', { email: 'session@login.example', password: PASSWORD });
    const after = sidCookie(login);
    expect(after, 'a session cookie from the login').to.be.a('string');
    expect(after).not.to.equal(before);
    // the cookie from before the login does not carry the signed-in session
    const fixated = await request(env.app).get('/account').set('Cookie', before!);
    expect(fixated.status).to.equal(303);

    const out = await b.submit('/account', {}, '/logout');
    expect(out.status).to.equal(303);
    expect(out.headers.location).to.equal('/');
    expect((await b.get('/account')).headers.location).to.equal('/login');
    // the signed-in cookie is dead after logout
    const replay = await request(env.app).get('/account').set('Cookie', after!);
    expect(replay.status).to.equal(303);
    expect(replay.headers.location).to.equal('/login');
  });

  it('resets a forgotten password by e-mail link, once', async () => {
    await makeUser(env.ctx, 'forgot@login.example', ['board'], 'Jörg Büttner');
    const b = new Browser(env.app);
    const sent = await b.submit('/password/forgot', { email: 'Forgot@Login.example' });
    expect(sent.status).to.equal(200);
    expect(sent.text).to.contain('Wenn ein Konto zu dieser Adresse existiert');

    const [mail] = await env.ctx.outbox.forRecipient('forgot@login.example');
    expect(mail.subject).to.contain('Passwort zurücksetzen');
    expect(mail.text).to.contain('Guten Tag Jörg Büttner,');
    expect(mail.html).to.contain('/password/reset/');
    const link = await resetLink(env, 'forgot@login.example');

    // the mail goes out through the outbox
    await env.ctx.outbox.flush();
    const transport = env.transport as MemoryTransport;
    expect(transport.sent.filter((m) => m.to === 'forgot@login.example')).to.have.length(1);

    const form = await b.get(link);
    expect(form.status).to.equal(200);
    expect(form.text).to.contain('forgot@login.example');

    const tooShort = await b.submit(link, { password: 'kurz', confirm: 'kurz' });
    expect(tooShort.status).to.equal(422);

    const done = await b.submit(link, { password: NEW_PASSWORD, confirm: NEW_PASSWORD });
    expect(done.status).to.equal(303);
    expect(done.headers.location).to.equal('/login');
    expect((await b.get('/login')).text).to.contain('Ihr Passwort ist gespeichert.');

    expect((await b.submit('/login', { email: 'forgot@login.example', password: PASSWORD })).status).to.equal(401);
    const login = await b.submit('/login', { email: 'forgot@login.example', password: NEW_PASSWORD });
    expect(login.status).to.equal(303);

    // the link works once
    const again = await new Browser(env.app).get(link);
    expect(again.status).to.equal(410);
    expect(again.text).to.contain('Link bereits verwendet');
    expect(again.text).to.contain('Neuen Link anfordern');
    expect(again.text).to.contain('href="/password/forgot"');
    const stored = await env.db('tokens').select('token_hash');
    expect(stored.map((t) => t.token_hash)).not.to.include(link.split('/').pop());
  });

  it('refuses an expired reset link with a clear page offering a new one', async () => {
    await makeUser(env.ctx, 'expired@login.example', ['board']);
    const b = new Browser(env.app);
    await b.submit('/password/forgot', { email: 'expired@login.example' });
    const link = await resetLink(env, 'expired@login.example');
    expect((await b.get(link)).status).to.equal(200);
    env.clock.advance(3 * 3_600_000);
    const page = await b.get(link);
    expect(page.status).to.equal(410);
    expect(page.text).to.contain('Link abgelaufen');
    expect(page.text).to.contain('Neuen Link anfordern');
    const post = await b.agent.post(link).type('form').send({ password: NEW_PASSWORD, confirm: NEW_PASSWORD, _csrf: Browser.csrfFrom((await b.get('/login')).text) });
    expect(post.status).to.equal(410);
    expect((await b.submit('/login', { email: 'expired@login.example', password: NEW_PASSWORD })).status).to.equal(401);
  });

  it('invalidates an earlier reset link when a new one is requested', async () => {
    await makeUser(env.ctx, 'twice@login.example', ['board']);
    const b = new Browser(env.app);
    await b.submit('/password/forgot', { email: 'twice@login.example' });
    const first = await resetLink(env, 'twice@login.example');
    await b.submit('/password/forgot', { email: 'twice@login.example' });
    const second = await resetLink(env, 'twice@login.example');
    expect(second).not.to.equal(first);
    expect((await b.get(first)).status).to.equal(410);
    expect((await b.get(second)).status).to.equal(200);
  });

  it('answers the same for an unknown address and sends nothing', async () => {
    const b = new Browser(env.app);
    const before = await env.db('mail_messages').count({ n: '*' });
    const res = await b.submit('/password/forgot', { email: 'unknown-person@login.example' });
    expect(res.status).to.equal(200);
    expect(res.text).to.contain('Wenn ein Konto zu dieser Adresse existiert');
    const after = await env.db('mail_messages').count({ n: '*' });
    expect(Number(after[0].n)).to.equal(Number(before[0].n));
  });

  it('lifts a lockout when the password is reset', async () => {
    await makeUser(env.ctx, 'unlock@login.example', ['board']);
    const b = new Browser(env.app);
    for (let i = 0; i < 5; i++) await b.submit('/login', { email: 'unlock@login.example', password: 'falsch-falsch' });
    expect((await b.submit('/login', { email: 'unlock@login.example', password: PASSWORD })).text).to.contain('Zu viele Fehlversuche');
    await b.submit('/password/forgot', { email: 'unlock@login.example' });
    const link = await resetLink(env, 'unlock@login.example');
    await b.submit(link, { password: NEW_PASSWORD, confirm: NEW_PASSWORD });
    expect((await b.submit('/login', { email: 'unlock@login.example', password: NEW_PASSWORD })).status).to.equal(303);
  });

  it('writes the reset mail in the language of the user', async () => {
    await env.ctx.users.create({ userId: null, label: 'test' }, { email: 'english@login.example', displayName: 'Ole Sørensen', roles: ['member'], password: PASSWORD, locale: 'en' });
    await new Browser(env.app).submit('/password/forgot', { email: 'english@login.example' });
    const [mail] = await env.ctx.outbox.forRecipient('english@login.example');
    expect(mail.locale).to.equal('en');
    expect(mail.subject).to.contain('Reset your password');
    expect(mail.text).to.contain('The link is valid for two hours');
  });
});

describe('auth: logs carry no passwords, tokens or e-mail addresses', () => {
  let env: TestEnv;
  const lines: string[] = [];
  before(async () => {
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        cb();
      },
    });
    env = await createTestEnv({ log: createLogger('info', sink) });
  });
  after(async () => env.close());

  it('logs a sign-in and reset flow at level info without personal data', async () => {
    const email = 'k.woelfel@harzer-spezialchemie.example';
    await makeUser(env.ctx, email, ['board']);
    const b = new Browser(env.app);
    await b.submit('/login', { email, password: 'wrong-password-123' });
    await b.login(email, PASSWORD);
    await b.submit('/account', {}, '/logout');
    await b.submit('/password/forgot', { email });
    const link = await resetLink(env, email);
    const token = link.split('/').pop()!;
    await b.get(link);
    await b.submit(link, { password: NEW_PASSWORD, confirm: NEW_PASSWORD });
    await b.get(`/login?email=${encodeURIComponent(email)}`);
    await env.ctx.outbox.flush();

    const all = lines.join('\n');
    expect(lines.length).to.be.greaterThan(10);
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries.some((e) => e.msg === 'login' && typeof e.userId === 'number')).to.equal(true);
    expect(entries.some((e) => e.msg === 'request' && e.path === '/password/reset/:token')).to.equal(true);
    expect(entries.some((e) => e.msg === 'mail sent')).to.equal(true);
    for (const secret of [email, 'harzer-spezialchemie', PASSWORD, 'wrong-password-123', NEW_PASSWORD, token]) {
      expect(all, secret).not.to.contain(secret);
    }
  });

  it('replaces link tokens in logged paths', () => {
    expect(safePath('/password/reset/Zk3m9Qp0aB7xYc2LdE5fGh8iJ')).to.equal('/password/reset/:token');
    expect(safePath('/welcome/abcdefghijklmnopqrstuvwxyz0123456789_-')).to.equal('/welcome/:token');
    expect(safePath('/board/members/42')).to.equal('/board/members/42');
  });
});
