import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { makeOrg, linkFor, TEST_ACTOR } from './assemblies.fixtures.ts';

describe('assemblies: personal links, proxies, motions, the day and the minutes', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let board: Browser;
  let assemblyId: number;
  const org: Record<string, number> = {};
  const link: Record<string, string> = {};

  before(async () => {
    env = await createTestEnv();
    const cats = await makeCategories(env.ctx);
    await makeUser(env.ctx, 'board@test.example', ['board']);
    for (const k of ['a', 'b', 'c', 'd', 'e']) {
      org[k] = await makeOrg(env.ctx, { name: `Mitglied ${k.toUpperCase()} GmbH`, categoryId: cats.company, repEmail: `${k}@m.example` });
    }
    await env.ctx.settings.updateRules(TEST_ACTOR, { ...(await env.ctx.settings.rules()), maxProxiesPerHolder: 1, quorumPercent: 50 });
    assemblyId = await env.ctx.assemblies.assembly.create(TEST_ACTOR, {
      title: 'MV 2026', kind: 'ordinary', date: '2026-12-19', time: '18:00', durationMinutes: 120, format: 'hybrid',
      location: 'Goslar', participationInfo: 'Zugang per Videokonferenz; Abstimmung im Chat.', copyAllContacts: false,
    });
    await env.ctx.assemblies.assembly.addAgendaItem(TEST_ACTOR, assemblyId, { title: 'Bericht', kind: 'report', description: '', proposedText: '' });
    await env.ctx.assemblies.assembly.addAgendaItem(TEST_ACTOR, assemblyId, { title: 'Entlastung', kind: 'resolution', description: '', proposedText: '' });
    await env.ctx.assemblies.sending.startSending(TEST_ACTOR, assemblyId);
    await env.ctx.assemblies.jobs.idle(assemblyId);
    for (const k of Object.keys(org)) link[k] = await linkFor(env.ctx, `${k}@m.example`);
    board = new Browser(env.app);
    await board.login('board@test.example', PASSWORD);
  });
  after(async () => env.close());

  async function post(k: string, path: string, data: Record<string, string>) {
    const b = new Browser(env.app);
    // once answers are closed the page has no form: take the session's token from the login page
    const page0 = await b.get(link[k]);
    const res = page0.text.includes('name="_csrf"')
      ? await b.submit(link[k], data, `${link[k]}${path}`)
      : await b.submit('/login', data, `${link[k]}${path}`);
    const page = res.status === 303 ? await b.get(res.headers.location) : res;
    return { res, page };
  }

  it('takes an RSVP through the personal link without login, for that organisation only', async () => {
    const page = await new Browser(env.app).get(link.a);
    expect(page.status).to.equal(200);
    expect(page.text).to.contain('Persönliche Seite für Mitglied A GmbH');
    expect(page.text).to.contain('Zugang per Videokonferenz');
    const { res, page: after } = await post('a', '/rsvp', { attending: 'yes', peopleCount: '2', names: 'Anna Berg', mode: 'room' });
    expect(res.status).to.equal(303);
    expect(after.text).to.contain('Ihre Rückmeldung ist gespeichert.');
    const rows = await env.db('assembly_rsvps').where({ assembly_id: assemblyId });
    expect(rows).to.have.length(1);
    expect(Number(rows[0].organisation_id)).to.equal(org.a);
    const invalid = await post('b', '/rsvp', { attending: 'yes', peopleCount: '0', names: '' });
    expect(invalid.res.status).to.equal(422);
    expect(invalid.res.text).to.contain('Bitte mindestens eine Person angeben.');
    const answers = await board.get(`/board/assemblies/${assemblyId}/answers`);
    expect(answers.text).to.contain('Anna Berg');
  });

  it('enforces the proxy rules: not to oneself, no chains, the limit per holder, withdraw', async () => {
    let r = await post('a', '/proxy', { holderOrganisationId: String(org.a) });
    expect(r.page.text).to.contain('Sie können sich nicht selbst bevollmächtigen.');
    r = await post('a', '/proxy', { holderOrganisationId: String(org.b) });
    expect(r.page.text).to.contain('Die Vollmacht ist erteilt.');
    expect(r.page.text).to.contain('Ihre Stimme wird von Mitglied B GmbH vertreten.');
    // B holds A's vote: B cannot pass its own on
    r = await post('b', '/proxy', { holderOrganisationId: String(org.c) });
    expect(r.page.text).to.contain('vertritt bereits andere Mitglieder');
    // A has given its vote away: A cannot hold C's
    r = await post('c', '/proxy', { holderOrganisationId: String(org.a) });
    expect(r.page.text).to.contain('Mitglied A GmbH hat seine eigene Stimme bereits übertragen');
    // limit 1 per holder
    r = await post('c', '/proxy', { holderOrganisationId: String(org.b) });
    expect(r.page.text).to.contain('Mitglied B GmbH hält bereits 1 Vollmachten');
    r = await post('a', '/proxy', { holderOrganisationId: String(org.c) });
    expect(r.page.text).to.contain('Sie haben bereits eine Vollmacht erteilt.');
    // withdraw, then C may give its vote to B
    r = await post('a', '/proxy/withdraw', {});
    expect(r.page.text).to.contain('Die Vollmacht ist widerrufen.');
    r = await post('c', '/proxy', { holderOrganisationId: String(org.b) });
    expect(r.page.text).to.contain('Die Vollmacht ist erteilt.');
    const active = await env.db('assembly_proxies').where({ assembly_id: assemblyId }).whereNull('withdrawn_at');
    expect(active.map((p) => [Number(p.giver_organisation_id), Number(p.holder_organisation_id)])).to.deep.equal([[org.c, org.b]]);
    const audit = await env.ctx.audit.list({ entityType: 'assembly', entityId: assemblyId, action: 'assembly.proxy_withdrawn' });
    expect(audit).to.have.length(1);
  });

  it('accepts motions until the deadline and refuses them after, naming the deadline', async () => {
    let r = await post('d', '/motions', { title: 'Antrag auf Beitragssenkung', body: 'Wir beantragen …', submittedBy: 'Dora D.' });
    expect(r.page.text).to.contain('Ihr Antrag ist eingegangen.');
    const answers = await board.get(`/board/assemblies/${assemblyId}/answers`);
    expect(answers.text).to.contain('Antrag auf Beitragssenkung');
    env.clock.set('2026-12-12T23:30:00Z'); // 13 Dec in Berlin: deadline (12 Dec) has passed
    try {
      r = await post('d', '/motions', { title: 'Zu spät', body: 'Text', submittedBy: '' });
      expect(r.page.text).to.contain('Die Antragsfrist ist am 12.12.2026 abgelaufen.');
      expect(await env.db('assembly_motions').where({ title: 'Zu spät' })).to.have.length(0);
    } finally {
      env.clock.set('2026-11-25T09:00:00Z');
    }
  });

  it('shows a clear page for a wrong, expired or no longer valid link and changes nothing', async () => {
    const wrong = await new Browser(env.app).get(`/a/${'x'.repeat(43)}`);
    expect(wrong.status).to.equal(404);
    expect(wrong.text).to.contain('Link ungültig');
    const post404 = await new Browser(env.app).agent.post(`/a/${'x'.repeat(43)}/rsvp`).type('form').send({});
    expect([403, 404]).to.include(post404.status);

    const count = async () => Number((await env.db('assembly_rsvps').count({ n: '*' }))[0].n);
    const before = await count();
    const b = new Browser(env.app);
    const page = await b.get(link.e);
    const token = Browser.csrfFrom(page.text);
    env.clock.set('2026-12-19T23:30:00Z'); // the day after the assembly (Berlin)
    try {
      const expired = await b.get(link.e);
      expect(expired.status).to.equal(410);
      expect(expired.text).to.contain('Link abgelaufen');
      const late = await b.agent.post(`${link.e}/rsvp`).type('form').send({ _csrf: token, attending: 'yes', peopleCount: '1', mode: 'room' });
      expect(late.status).to.equal(410);
      expect(await count()).to.equal(before);
    } finally {
      env.clock.set('2026-11-25T09:00:00Z');
    }
    await env.db('organisations').where({ id: org.e }).update({ exit_date: '2026-11-01', status: 'former' });
    try {
      const left = await b.get(link.e);
      expect(left.status).to.equal(403);
      expect(left.text).to.contain('Keine Mitgliedschaft');
      const res = await b.agent.post(`${link.e}/rsvp`).type('form').send({ _csrf: token, attending: 'yes', peopleCount: '1', mode: 'room' });
      expect(res.status).to.equal(403);
      expect(await count()).to.equal(before);
    } finally {
      await env.db('organisations').where({ id: org.e }).update({ exit_date: null, status: 'active' });
    }
  });

  it('closes answers when the assembly starts', async () => {
    env.clock.set('2026-12-19T17:30:00Z');
    try {
      const r = await post('d', '/rsvp', { attending: 'no', peopleCount: '', names: '' });
      expect(r.page.text).to.contain('Die Versammlung hat bereits begonnen');
      const w = await post('c', '/proxy/withdraw', {});
      expect(w.page.text).to.contain('Die Versammlung hat bereits begonnen');
    } finally {
      env.clock.set('2026-11-25T09:00:00Z');
    }
  });

  it('runs the day: check-in, votes present including proxies, quorum, printable lists', async () => {
    env.clock.set('2026-12-19T16:45:00Z');
    try {
      let day = await board.get(`/board/assemblies/${assemblyId}/day`);
      expect(day.text).to.contain('nicht beschlussfähig (mindestens 3 Stimmen nötig)');
      await board.submit(`/board/assemblies/${assemblyId}/day`, { action: 'in', personName: 'Anna Berg', mode: 'room' }, `/board/assemblies/${assemblyId}/attendance/${org.a}`);
      await board.submit(`/board/assemblies/${assemblyId}/day`, { action: 'in', personName: '', mode: 'room' }, `/board/assemblies/${assemblyId}/attendance/${org.b}`);
      const v = await env.ctx.assemblies.day.overview(assemblyId);
      expect(v.votes).to.deep.equal({ present: 3, own: 2, byProxy: 1 }); // B holds C's vote
      expect(v.quorum).to.include({ needed: 3, met: true, votingMembers: 5 });
      day = await board.get(`/board/assemblies/${assemblyId}/day`);
      expect(day.text).to.contain('beschlussfähig (mindestens 3 Stimmen)');
      await board.submit(`/board/assemblies/${assemblyId}/day`, { action: 'out' }, `/board/assemblies/${assemblyId}/attendance/${org.b}`);
      expect((await env.ctx.assemblies.day.overview(assemblyId)).votes).to.deep.equal({ present: 1, own: 1, byProxy: 0 });
      const print = await board.get(`/board/assemblies/${assemblyId}/print`);
      expect(print.text).to.contain('Anwesenheits- und Vollmachtsliste');
      expect(print.text).to.contain('Mitglied C GmbH');
      expect(print.text).to.contain('Anna Berg');
    } finally {
      env.clock.set('2026-11-25T09:00:00Z');
    }
  });

  it('records resolutions and minutes afterwards and sends the minutes to the members', async () => {
    env.clock.set('2026-12-20T10:00:00Z');
    try {
      const items = await env.ctx.assemblies.assembly.agenda(assemblyId);
      // the counts are checked against the votes present: A, B with C's proxy, and D are in the room
      await board.submit(`/board/assemblies/${assemblyId}/day`, { action: 'in', personName: '', mode: 'room' }, `/board/assemblies/${assemblyId}/attendance/${org.b}`);
      await board.submit(`/board/assemblies/${assemblyId}/day`, { action: 'in', personName: '', mode: 'room' }, `/board/assemblies/${assemblyId}/attendance/${org.d}`);
      const res = await board.submit(`/board/assemblies/${assemblyId}/results`, { yes: '3', no: '1', abstain: '0', note: '' }, `/board/assemblies/${assemblyId}/resolutions/${items[1].id}`);
      expect(res.status).to.equal(303);
      await board.submit(`/board/assemblies/${assemblyId}/results`, { body: 'Protokoll der MV 2026\nBeginn 18:05 Uhr.' }, `/board/assemblies/${assemblyId}/minutes`);
      await board.submit(`/board/assemblies/${assemblyId}/results`, {}, `/board/assemblies/${assemblyId}/minutes/send`);
      await env.ctx.assemblies.jobs.idle(assemblyId);
      const mails = await env.db('mail_messages').where({ template: 'assembly_minutes' });
      expect(mails).to.have.length(5);
      expect(mails[0].text_body).to.contain('Protokoll der MV 2026');
      expect(mails[0].text_body).to.contain('TOP 2 Entlastung: angenommen (Ja 3, Nein 1, Enthaltungen 0)');
      const page = await board.get(`/board/assemblies/${assemblyId}/results`);
      expect(page.text).to.contain('angenommen');
    } finally {
      env.clock.set('2026-11-25T09:00:00Z');
    }
  });

  it('offers the same page in the member portal, for the own organisation only', async () => {
    const userId = await makeUser(env.ctx, 'member.b@test.example', ['member']);
    await env.db('contacts').where({ organisation_id: org.b, is_representative: true }).update({ user_id: userId });
    const m = new Browser(env.app);
    await m.login('member.b@test.example', PASSWORD);
    const list = await m.get('/portal/assemblies');
    expect(list.status).to.equal(200);
    expect(list.text).to.contain('MV 2026');
    const page = await m.get(`/portal/assemblies/${assemblyId}`);
    expect(page.status).to.equal(200);
    expect(page.text).to.contain('Persönliche Seite für Mitglied B GmbH');
    expect((await m.get(`/portal/assemblies/${assemblyId + 1000}`)).status).to.equal(404);
    expect((await m.get(`/board/assemblies/${assemblyId}`)).status).to.equal(403);
  });

  it('tells the register and the portal which assemblies an organisation attended', async () => {
    const a = await env.ctx.assemblies.day.assembliesAttendedBy(org.a);
    expect(a).to.have.length(1);
    expect(a[0]).to.include({ assemblyId, title: 'MV 2026', rsvp: 'yes', attended: true, proxyTo: null });
    const c = await env.ctx.assemblies.day.assembliesAttendedBy(org.c);
    expect(c[0]).to.include({ attended: false, proxyTo: 'Mitglied B GmbH' });
  });
});
