import { expect } from 'chai';
import request from 'supertest';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';

describe('foundation: pages, headers and errors', () => {
  let env: TestEnv;
  before(async () => {
    env = await createTestEnv();
  });
  after(async () => env.close());

  it('serves the home page in German by default and in English on request', async () => {
    const de = await request(env.app).get('/');
    expect(de.status).to.equal(200);
    expect(de.text).to.contain('<html lang="de">');
    expect(de.text).to.contain('Mitglied werden');
    const en = await request(env.app).get('/?lang=en');
    expect(en.text).to.contain('<html lang="en">');
    expect(en.text).to.contain('Become a member');
  });

  it('sends a strict Content-Security-Policy without inline scripts', async () => {
    const res = await request(env.app).get('/');
    const csp = res.headers['content-security-policy'];
    expect(csp).to.contain("script-src 'self'");
    expect(csp).not.to.contain('unsafe-inline');
    expect(csp).not.to.contain('upgrade-insecure-requests');
    expect(res.text).not.to.match(/<script(?![^>]*\bsrc=)[^>]*>/);
  });

  it('answers unknown routes with a friendly 404 page', async () => {
    const res = await request(env.app).get('/no/such/page');
    expect(res.status).to.equal(404);
    expect(res.text).to.contain('Seite nicht gefunden');
    expect(res.text).to.contain('href="/"');
  });

  it('answers oversized bodies with 413', async () => {
    const res = await request(env.app).post('/login').type('form').send({ email: 'x'.repeat(600_000), password: 'y' }); // h/harden2: over the forms' 512 kB
    expect(res.status).to.equal(413);
    expect(res.text).to.contain('zu groß');
  });

  it('refuses a state change without a CSRF token', async () => {
    const res = await request(env.app).post('/password/forgot').type('form').send({ email: 'a@b.de' });
    expect(res.status).to.equal(403);
    expect(res.text).to.contain('Formular abgelaufen');
  });

  it('reports health', async () => {
    const res = await request(env.app).get('/healthz');
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({ status: 'ok' });
  });
});
