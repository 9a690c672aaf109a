import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { addOrg, orgInput } from './members.fixtures.ts';
import { CachedSessionStore } from '../../server/web/session-store.ts';
import { MembersService } from '../../server/members/members.service.ts';
import { listQuerySchema } from '../../server/members/members.schemas.ts';
import { tFor } from '../../server/i18n/i18n.ts';

/**
 * What a signed-in page keeps in memory between requests (the session, the user, the
 * register's numbers, texts) must never show something that has changed: these tests change
 * things the way other parts of the app do, directly in the database, and look at once.
 */
describe('request caches: sessions, signed-in users, register numbers, texts', () => {
  let env: TestEnv;
  let cats: Record<string, number>;
  let boardId: number;

  before(async () => {
    env = await createTestEnv();
    cats = await makeCategories(env.ctx);
    boardId = await makeUser(env.ctx, 'board@test.example', ['board'], 'Berta Vorstand');
    await addOrg(env, orgInput(cats.company, { legalName: 'Harzer Spezialchemie GmbH', city: 'Goslar', joinDate: '2015-03-01' }));
  });
  after(async () => env.close());

  it('a role taken away, a role given or an account disabled counts on the very next page', async () => {
    const board = new Browser(env.app);
    await board.login('board@test.example', PASSWORD);
    expect((await board.get('/board/members')).status).to.equal(200);
    expect((await board.get('/board/members')).status).to.equal(200); // the user is now kept

    // as the members' register or the GDPR anonymisation do: roles and accounts change through
    // the users service (the only writer of users and user_roles), not through the admin's page
    await env.ctx.users.setRoles(boardId, ['treasurer']);
    const asTreasurer = await board.get('/board/applications');
    expect(asTreasurer.status).to.equal(403);
    expect((await board.get('/treasurer')).status).to.equal(200);

    await env.ctx.users.disable(boardId);
    const out = await board.get('/treasurer');
    expect(out.status).to.equal(303);
    expect(out.headers.location).to.equal('/login');

    await env.ctx.users.update({ userId: null, label: 'test' }, boardId, { displayName: 'Berta Vorstand', roles: ['board'], disabled: false, locale: 'de' });
  });

  it('a sign-out ends the session at once; a session removed by another process counts here within the fresh time', async () => {
    const store = new CachedSessionStore({ knex: env.db, tableName: 'sessions', cleanupInterval: 0 }, 200);
    const cookie = { maxAge: 3_600_000, originalMaxAge: 3_600_000, expires: new Date(Date.now() + 3_600_000), httpOnly: true, path: '/' };
    await store.set('sid-a', { cookie, csrfToken: 'tok-a' } as never);
    const first = (await store.get('sid-a')) as unknown as { csrfToken: string };
    expect(first.csrfToken).to.equal('tok-a');
    // what a request does to its copy stays with that request
    first.csrfToken = 'changed by a request that was not saved';
    expect(((await store.get('sid-a')) as unknown as { csrfToken: string }).csrfToken).to.equal('tok-a');

    await store.destroy('sid-a');
    expect(await store.get('sid-a')).to.equal(null);

    // another process signs out: the row is gone, this process notices after the fresh time
    await store.set('sid-b', { cookie, csrfToken: 'tok-b' } as never);
    await env.db('sessions').where({ sid: 'sid-b' }).delete();
    expect(await store.get('sid-b')).to.not.equal(null);
    await new Promise((r) => setTimeout(r, 250));
    expect(await store.get('sid-b')).to.equal(null);

    // an expired session is not handed out from memory either
    const expired = { ...cookie, maxAge: -2_000, expires: new Date(Date.now() - 2_000) };
    await store.set('sid-c', { cookie: expired } as never);
    expect(await store.get('sid-c')).to.equal(null);
  });

  it('many register pages at once read the register numbers once, and a change shows on the next page', async () => {
    const saved = MembersService.CACHE_MS;
    MembersService.CACHE_MS = 0; // every page finds the cache run out
    const census: string[] = [];
    const listen = (q: { sql: string }) => { if (/group by/i.test(q.sql) && /category_id/.test(q.sql)) census.push(q.sql); };
    env.db.on('query', listen);
    try {
      const query = listQuerySchema.parse({});
      const pages = await Promise.all(Array.from({ length: 10 }, () => env.ctx.members.list(query)));
      expect(census).to.have.length(1);
      expect(pages.every((p) => p.stats.active === 1)).to.equal(true);
    } finally {
      env.db.off('query', listen);
      MembersService.CACHE_MS = saved;
    }
    await env.ctx.members.list(listQuerySchema.parse({})); // cached again
    await addOrg(env, orgInput(cats.research, { legalName: 'TU Clausthal', city: 'Clausthal-Zellerfeld', joinDate: '2016-05-10' }));
    const after = await env.ctx.members.list(listQuerySchema.parse({}));
    expect(after.stats.active).to.equal(2);
    expect(after.page.items.map((i) => i.legalName)).to.include('TU Clausthal');
    expect(after.page.items.find((i) => i.legalName === 'TU Clausthal')?.categoryNameDe).to.be.a('string').and.not.equal('');
  });

  it('texts kept per language still follow counts, names and language', () => {
    const de = tFor('de');
    const en = tFor('en');
    expect(de('members.list.count', { count: 1 })).to.equal('1 Organisation');
    expect(de('members.list.count', { count: 2 })).to.equal('2 Organisationen');
    expect(de('members.list.count', { count: 1 })).to.equal('1 Organisation');
    expect(en('members.list.count', { count: 1 })).to.match(/^1 organisation$/i);
    expect(en('members.list.count', { count: 2 })).to.match(/^2 organisations$/i);
    // a number and the same digits as text are different options
    expect(de('members.list.countCapped', { cap: 500 })).to.contain('500');
    expect(de('members.list.countCapped', { cap: '501' })).to.contain('501');
    expect(de('members.list.title')).to.equal(de('members.list.title'));
    expect(en('members.list.title')).to.not.equal(de('members.list.title'));
  });
});
