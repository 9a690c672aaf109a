import { Writable } from 'node:stream';
import { expect } from 'chai';
import request from 'supertest';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { createLogger } from '../../server/logger.ts';
import { configWarnings, loadConfig } from '../../server/config.ts';
import { ACCOUNT_FAILURES, ACCOUNT_SLOW_MS, PAIR_FAILURES } from '../../server/auth/login-throttle.ts';
import Stripe from 'stripe';
import { StripeFake } from '../fakes/stripe-fake.ts';
import { StripeGateway } from '../../server/stripe/stripe-gateway.ts';

const NEW_PASSWORD = 'Brocken-Blick-2027';

/** A browser whose requests come from `ip` (the app trusts one proxy hop in these tests). */
function from(env: TestEnv, ip: string, b = new Browser(env.app)) {
  const submit = async (formUrl: string, data: Record<string, unknown>, action?: string) => {
    const page = await b.agent.get(formUrl).set('X-Forwarded-For', ip);
    return b.agent.post(action ?? formUrl).set('X-Forwarded-For', ip).type('form').send({ ...data, _csrf: Browser.csrfFrom(page.text) });
  };
  return { b, submit, login: (email: string, password: string) => submit('/login', { email, password }) };
}

const text = (html: string) => /<main[\s\S]*<\/main>/.exec(html)?.[0].replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ') ?? '';

describe('sign-in throttle: per address and source, nobody can lock out the real user', function () {
  this.timeout(180_000);
  let env: TestEnv;
  before(async () => {
    env = await createTestEnv({ env: { TRUST_PROXY: '1' } });
    for (const e of ['victim@throttle.example', 'admin@throttle.example', 'spread@throttle.example', 'known@throttle.example']) await makeUser(env.ctx, e, ['admin']);
  });
  after(async () => env.close());

  it('an attacker guessing from one source waits; the real user from another source signs in at once', async () => {
    const attacker = from(env, '203.0.113.9');
    for (let i = 1; i < PAIR_FAILURES; i++) expect((await attacker.login('victim@throttle.example', `guess-${i}`)).status).to.equal(401);
    const last = await attacker.login('victim@throttle.example', 'guess-last');
    expect(last.status).to.equal(429);
    expect(last.headers['retry-after']).to.equal('900');
    expect(text(last.text)).to.contain('Zu viele Fehlversuche von diesem Anschluss');
    // even the right password from the attacker's source waits
    expect((await attacker.login('victim@throttle.example', PASSWORD)).status).to.equal(429);
    // the real user, elsewhere, is not affected
    const real = await from(env, '198.51.100.7').login('victim@throttle.example', PASSWORD);
    expect(real.status).to.equal(303);
    // and the attacker's source may still try other addresses (the IP limiter bounds that)
    expect((await attacker.login('admin@throttle.example', PASSWORD)).status).to.equal(303);
  });

  it('answers a known and an unknown address alike, attempt for attempt', async () => {
    const answers = async (email: string) => {
      const s = from(env, '192.0.2.44');
      const out: string[] = [];
      for (let i = 0; i <= PAIR_FAILURES; i++) {
        const r = await s.login(email, `wrong-${i}`);
        out.push(`${r.status} ${r.headers['retry-after'] ?? ''} ${text(r.text).replace(email, 'EMAIL')}`);
      }
      return out;
    };
    const known = await answers('admin@throttle.example');
    const unknown = await answers('nobody@throttle.example');
    expect(unknown).to.deep.equal(known);
    expect(known.at(-1)).to.match(/^429 /);
  });

  it('many sources guessing one address only slow new devices; a device that signed in before is never slowed', async () => {
    const usual = from(env, '198.51.100.20');
    expect((await usual.login('known@throttle.example', PASSWORD)).status).to.equal(303);
    await usual.b.submit('/account', {}, '/logout');
    for (let i = 0; i < ACCOUNT_FAILURES; i++) expect((await from(env, `203.0.113.${100 + i}`).login('known@throttle.example', 'guess')).status).to.equal(401);
    // a new device waits a little (never minutes), then gets in
    const newDevice = from(env, '198.51.100.99');
    const slowed = await newDevice.login('known@throttle.example', PASSWORD);
    expect(slowed.status).to.equal(429);
    expect(Number(slowed.headers['retry-after'])).to.be.at.most(ACCOUNT_SLOW_MS / 1000);
    expect(text(slowed.text)).to.contain('Bitte warten Sie');
    // the usual device, even from a new address (a phone on the move), is not slowed at all
    const again = from(env, '100.64.0.1', usual.b);
    expect((await again.login('known@throttle.example', PASSWORD)).status).to.equal(303);
    env.clock.advance(ACCOUNT_SLOW_MS + 1000);
    expect((await newDevice.login('known@throttle.example', PASSWORD)).status).to.equal(303);
    // the administration sees it, audited once
    expect(await env.ctx.audit.list({ action: 'user.locked' })).to.have.length(1);
  });
});

describe('sessions: a new password ends the others, pages without a form store none, expired ones are purged', function () {
  this.timeout(60_000);
  let env: TestEnv;
  before(async () => {
    env = await createTestEnv();
  });
  after(async () => env.close());
  const sessions = async () => Number((await env.db('sessions').count({ n: '*' }).first())!.n);

  it('a password reset ends every other session of the account', async () => {
    await makeUser(env.ctx, 'reset@sessions.example', ['board']);
    const laptop = new Browser(env.app);
    await laptop.login('reset@sessions.example', PASSWORD);
    const phone = new Browser(env.app);
    await phone.login('reset@sessions.example', PASSWORD);
    expect((await laptop.get('/board/members')).status).to.equal(200);
    const other = new Browser(env.app);
    await other.submit('/password/forgot', { email: 'reset@sessions.example' });
    const [mail] = await env.ctx.outbox.forRecipient('reset@sessions.example');
    const link = mail.text.match(/http:\/\/127\.0\.0\.1:3999(\/password\/reset\/[A-Za-z0-9_-]+)/)![1];
    expect((await other.submit(link, { password: NEW_PASSWORD, confirm: NEW_PASSWORD })).status).to.equal(303);
    for (const b of [laptop, phone]) {
      const res = await b.get('/board/members');
      expect(res.status).to.equal(303);
      expect(res.headers.location).to.equal('/login');
    }
    await new Browser(env.app).login('reset@sessions.example', NEW_PASSWORD);
  });

  it('a page without a form sets no cookie and stores no session; the login form still works', async () => {
    const before = await sessions();
    for (const url of ['/', '/privacy', '/healthz', '/no-such-page']) {
      const res = await request(env.app).get(url);
      expect(res.headers['set-cookie'], url).to.equal(undefined);
    }
    expect(await sessions()).to.equal(before);
    await makeUser(env.ctx, 'fresh@sessions.example', ['admin']);
    const b = new Browser(env.app);
    const page = await b.get('/login');
    expect(page.headers['set-cookie']?.[0]).to.match(/^sid=/);
    expect((await b.login('fresh@sessions.example', PASSWORD)).headers.location).to.equal('/admin');
  });

  it('purges expired sessions', async () => {
    await env.db('sessions').insert({ sid: 'old-one', sess: JSON.stringify({ cookie: {} }), expired: new Date(Date.now() - 60_000).toISOString() });
    await env.db('sessions').insert({ sid: 'live-one', sess: JSON.stringify({ cookie: {} }), expired: new Date(Date.now() + 3_600_000).toISOString() });
    await env.handle.sessionStore.purgeExpired();
    const left = (await env.db('sessions').select('sid')).map((r) => r.sid);
    expect(left).to.include('live-one');
    expect(left).not.to.include('old-one');
  });

  it('signed-in pages are never cached (Back after sign-out shows nothing)', async () => {
    await makeUser(env.ctx, 'cache@sessions.example', ['board']);
    const b = new Browser(env.app);
    await b.login('cache@sessions.example', PASSWORD);
    for (const url of ['/board/members', '/account', '/']) expect((await b.get(url)).headers['cache-control'], url).to.equal('no-store');
  });

  it("the 404 page's language link stays on this site", async () => {
    for (const url of ['//evil.example/login', '/\\evil.example/login', '///evil.example']) {
      const res = await request(env.app).get(url);
      expect(res.status).to.equal(404);
      const hrefs = [...res.text.matchAll(/href="([^"]*)"/g)].map((m) => m[1]);
      for (const h of hrefs) expect(h, url).not.to.match(/^(\/\/|\/\\|https?:)/);
      expect(hrefs).to.include('/?lang=en');
    }
  });
});

describe('logs and deployment warnings', () => {
  it('the access log has the full path of routed pages and leaves out static files', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _enc, cb) { lines.push(...String(chunk).split('\n').filter(Boolean)); cb(); } });
    const env = await createTestEnv({ log: createLogger('info', sink) });
    try {
      await makeUser(env.ctx, 'log@test.example', ['board']);
      const b = new Browser(env.app);
      await b.login('log@test.example', PASSWORD);
      await b.get('/board/members?q=M%C3%BCller');
      await b.get('/board/assemblies/new');
      await b.get('/static/css/app.css');
      const paths = lines.map((l) => JSON.parse(l) as { msg: string; path?: string }).filter((e) => e.msg === 'request').map((e) => e.path);
      expect(paths).to.include('/board/members');
      expect(paths).to.include('/board/assemblies/new');
      expect(paths.some((p) => p?.startsWith('/static'))).to.equal(false);
      expect(lines.join('\n')).not.to.contain('ller');
    } finally {
      await env.close();
    }
  });

  it('warns about TRUST_PROXY at start and in /healthz; TRUST_PROXY=1 is one proxy hop', async () => {
    const https = configWarnings(loadConfig({ NODE_ENV: 'test', BASE_URL: 'https://verein.example' }));
    expect(https.join(' ')).to.contain('TRUST_PROXY=1');
    expect(configWarnings(loadConfig({ NODE_ENV: 'test', TRUST_PROXY: 'true' })).join(' ')).to.contain('X-Forwarded-For');
    const one = loadConfig({ NODE_ENV: 'test', BASE_URL: 'https://verein.example', TRUST_PROXY: '1' });
    expect(one.trustProxy).to.equal(1);
    expect(configWarnings(one)).to.deep.equal([]);
    const env = await createTestEnv({ env: { BASE_URL: 'https://verein.example' } });
    try {
      const res = await request(env.app).get('/healthz');
      expect(res.body.status).to.equal('ok');
      expect(res.body.details.warnings.join(' ')).to.contain('TRUST_PROXY');
    } finally {
      await env.close();
    }
    const ok = await createTestEnv({ env: { TRUST_PROXY: '1' } });
    try {
      expect((await request(ok.app).get('/healthz')).body).to.deep.equal({ status: 'ok' });
    } finally {
      await ok.close();
    }
  });
});

describe('stripe webhook: a signed but malformed body, and the time tolerance both ways', () => {
  let env: TestEnv;
  let fake: StripeFake;
  before(async () => {
    fake = await new StripeFake().start();
    const gateway = new StripeGateway({ secretKey: fake.apiKey, webhookSecret: fake.webhookSecret, apiUrl: fake.url });
    env = await createTestEnv({ env: { STRIPE_SECRET_KEY: fake.apiKey, STRIPE_API_URL: fake.url, STRIPE_WEBHOOK_SECRET: fake.webhookSecret }, gateway });
  });
  after(async () => {
    await env.close();
    await fake.stop();
  });
  const post = (body: string, signature: string) => request(env.app).post('/webhooks/stripe').set('Content-Type', 'application/json').set('Stripe-Signature', signature).send(body);
  const sign = (body: string, timestamp?: number) => Stripe.webhooks.generateTestHeaderString({ payload: body, secret: fake.webhookSecret, ...(timestamp ? { timestamp } : {}) });

  it('answers 400 to a correctly signed body that is not an event, and stores nothing', async () => {
    for (const body of ['null', '[]', '[{"id":"evt_1"}]', '{}', '{"type":"invoice.paid"}', '{"id":"","type":"x"}', '"text"', '42']) {
      const res = await post(body, sign(body));
      expect(res.status, body).to.equal(400);
    }
    expect(Number((await env.db('stripe_events').count({ n: '*' }).first())!.n)).to.equal(0);
  });

  it('refuses a signature dated more than 300 s away, in the past or in the future', async () => {
    const now = Math.floor(Date.now() / 1000);
    const ev = JSON.stringify(fake.event('customer.created', { id: 'cus_x', object: 'customer' }));
    expect((await post(ev, sign(ev, now + 3600))).status).to.equal(401);
    expect((await post(ev, sign(ev, now - 3600))).status).to.equal(401);
    expect((await post(ev, sign(ev, now + 200))).status).to.equal(200);
  });
});
