import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import type { Role } from '../../server/auth/roles.ts';

describe('admin: only admins get in', () => {
  let env: TestEnv;
  let gets: string[];
  let posts: string[];
  before(async () => {
    env = await createTestEnv();
    const adminId = await makeUser(env.ctx, 'admin@example.org', ['admin'], 'Ada Admin');
    it('has every page complete in German and in English (no untranslated keys)', async () => {
    const admin = new Browser(env.app);
    await admin.login('admin@example.org', PASSWORD);
    for (const lang of ['de', 'en']) {
      await admin.get(`/admin?lang=${lang}`);
      for (const url of gets) {
        const res = await admin.get(url);
        expect(res.text, url).to.contain(`<html lang="${lang}">`);
        expect(res.text, `${url} (${lang})`).not.to.match(/(admin|common)\.[a-zA-Z]+\.[a-zA-Z]/);
      }
    }
  });

  for (const role of ['board', 'treasurer', 'member'] as Role[]) await makeUser(env.ctx, `${role}@example.org`, [role]);
    const { research } = await makeCategories(env.ctx);
    const mailId = await env.ctx.outbox.enqueue(env.db, {
      template: 'test', locale: 'de', to: 'x@example.org', content: { subject: 'Hallo', paragraphs: ['Text'], signature: 'Verein' },
    });
    gets = ['/admin', '/admin/settings', '/admin/categories', '/admin/categories/new', `/admin/categories/${research}/edit`, '/admin/users',
      '/admin/users/new', `/admin/users/${adminId}`, '/admin/mail', `/admin/mail/${mailId}`, '/admin/audit'];
    posts = ['/admin/settings', '/admin/categories/new', `/admin/categories/${research}/edit`, '/admin/users/new', `/admin/users/${adminId}`,
      `/admin/users/${adminId}/access-link`, `/admin/users/${adminId}/unlock`, '/admin/mail/flush', `/admin/mail/${mailId}/retry`];
  });
  after(async () => env.close());

  it('lets an admin open every page', async () => {
    const admin = new Browser(env.app);
    await admin.login('admin@example.org', PASSWORD);
    for (const url of gets) expect((await admin.get(url)).status, url).to.equal(200);
  });

  it('has every page complete in German and in English (no untranslated keys)', async () => {
    const admin = new Browser(env.app);
    await admin.login('admin@example.org', PASSWORD);
    for (const lang of ['de', 'en']) {
      await admin.get(`/admin?lang=${lang}`);
      for (const url of gets) {
        const res = await admin.get(url);
        expect(res.text, url).to.contain(`<html lang="${lang}">`);
        expect(res.text, `${url} (${lang})`).not.to.match(/(admin|common)\.[a-zA-Z]+\.[a-zA-Z]/);
      }
    }
  });

  for (const role of ['board', 'treasurer', 'member']) {
    it(`answers 403 to ${role} on every page and every form, and changes nothing`, async () => {
      const b = new Browser(env.app);
      await b.login(`${role}@example.org`, PASSWORD);
      for (const url of gets) {
        const res = await b.get(url);
        expect(res.status, url).to.equal(403);
        expect(res.text).to.contain('Kein Zugriff');
      }
      const auditBefore = (await env.ctx.audit.list({ limit: 500 })).length;
      for (const url of posts) {
        const res = await b.submit('/account', { name: 'Gekapert e.V.', email: 'evil@example.org', displayName: 'Evil', roles: ['admin'], locale: 'de' }, url);
        expect(res.status, url).to.equal(403);
      }
      expect((await env.ctx.settings.association()).name).to.equal('Mein Verein e.V.');
      expect(await env.ctx.users.byEmail('evil@example.org')).to.equal(undefined);
      expect((await env.ctx.audit.list({ limit: 500 })).length).to.equal(auditBefore);
    });
  }

  it('sends anonymous visitors to the login page, then back to the page they wanted', async () => {
    for (const url of gets) {
      const res = await new Browser(env.app).get(url);
      expect(res.status, url).to.equal(303);
      expect(res.headers.location, url).to.equal('/login');
    }
    const anon = new Browser(env.app);
    for (const url of posts) {
      const res = await anon.submit('/login', {}, url);
      expect(res.status, url).to.equal(303);
      expect(res.headers.location, url).to.equal('/login');
    }
    await anon.get('/admin/mail');
    const login = await anon.login('admin@example.org', PASSWORD);
    expect(login.headers.location).to.equal('/admin/mail');
  });
});
