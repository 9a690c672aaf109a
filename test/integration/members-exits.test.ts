import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { addOrg, contactInput, orgInput } from './members.fixtures.ts';
import { DueExitsTimer } from '../../server/members/due-exits.timer.ts';

describe('member register: notice, exclusion, dissolution, reactivation', () => {
  let env: TestEnv;
  let cats: Record<string, number>;
  let board: Browser;
  let treasurer: Browser;
  const ids: Record<string, number> = {};
  const version = async (id: number) => (await env.ctx.members.get(id))!.version;
  const history = async (id: number) => (await env.db('membership_history').where({ organisation_id: id }).orderBy('id')).map((h) => `${h.kind}@${h.effective_date}${h.status ? ':' + h.status : ''}`);

  before(async () => {
    env = await createTestEnv();
    env.clock.set('2026-09-30T10:00:00Z'); // 30.09.2026, the last day for a notice to the end of 2026
    cats = await makeCategories(env.ctx);
    await makeUser(env.ctx, 'board@test.example', ['board'], 'Berta Vorstand');
    await makeUser(env.ctx, 'treasurer@test.example', ['treasurer']);
    for (const k of ['a', 'b', 'c', 'd', 'e']) ids[k] = await addOrg(env, orgInput(k === 'e' ? cats.supporting : cats.company, { legalName: `Firma ${k.toUpperCase()} GmbH`, joinDate: '2018-01-01' }), [contactInput()]);
    board = new Browser(env.app);
    await board.login('board@test.example', PASSWORD);
    treasurer = new Browser(env.app);
    await treasurer.login('treasurer@test.example', PASSWORD);
  });
  after(async () => env.close());

  it('records a notice received on 30.09.: member until 31.12. of the same year, then former', async () => {
    const url = `/board/members/${ids.a}/status`;
    const page = await board.get(url);
    expect(page.text).to.contain('Eine heute eingegangene Kündigung beendet die Mitgliedschaft zum 31.12.2026.');
    const res = await board.submit(url, { receivedDate: '2026-09-30', note: 'Brief vom 28.09.', version: await version(ids.a) }, `/board/members/${ids.a}/notice`);
    expect(res.status).to.equal(303);
    const detail = await board.get(`/board/members/${ids.a}`);
    expect(detail.text).to.contain('Kündigung erfasst. Die Mitgliedschaft endet am 31.12.2026.');
    let org = (await env.ctx.members.get(ids.a))!;
    expect(org.status).to.equal('notice_given');
    expect(org.exitDate).to.equal('2026-12-31');
    const [a] = await env.ctx.audit.list({ entityType: 'organisation', entityId: ids.a, action: 'member.notice_recorded' });
    expect(a.actorLabel).to.equal('Berta Vorstand');
    expect(a.before).to.deep.include({ status: 'active', exitDate: null });
    expect(a.after).to.deep.include({ status: 'notice_given', exitDate: '2026-12-31', receivedDate: '2026-09-30' });

    // still a member (and counted) until the last day, a former member the day after
    env.clock.set('2026-12-31T22:30:00Z'); // 23:30 in Berlin, still 31.12.
    expect((await board.get('/board/members?status=notice_given')).text).to.contain('Firma A GmbH');
    expect((await env.ctx.members.get(ids.a))!.status).to.equal('notice_given');
    env.clock.set('2026-12-31T23:30:00Z'); // 00:30 on 01.01.2027 in Berlin
    // the server's minute timer applies the exit (no page read writes)
    expect((await board.get('/board/members?status=notice_given')).text).to.contain('Firma A GmbH');
    expect(await new DueExitsTimer(env.ctx.members, env.ctx.log).tick()).to.equal(1);
    const former = await board.get('/board/members?status=former');
    expect(former.text).to.contain('Firma A GmbH');
    org = (await env.ctx.members.get(ids.a))!;
    expect(org.status).to.equal('former');
    expect(await history(ids.a)).to.deep.equal(['joined@2018-01-01:active', 'notice_received@2026-09-30:notice_given', 'exited@2027-01-01:former']);
    const [x] = await env.ctx.audit.list({ entityType: 'organisation', entityId: ids.a, action: 'member.exited' });
    expect(x.actorLabel).to.equal('system');
    // running again does not exit twice
    await board.get('/board/members');
    expect(await new DueExitsTimer(env.ctx.members, env.ctx.log).tick()).to.equal(0);
    expect((await env.ctx.audit.list({ entityType: 'organisation', entityId: ids.a, action: 'member.exited' })).length).to.equal(1);
    expect(await env.ctx.members.countActive('2026-12-31')).to.equal(5);
    expect(await env.ctx.members.countActive('2027-01-01')).to.equal(4);
    env.clock.set('2026-09-30T10:00:00Z');
  });

  it('gives 31.12. of the next year for a notice received on 01.10.', async () => {
    env.clock.set('2026-10-01T10:00:00Z');
    const res = await board.submit(`/board/members/${ids.b}/status`, { receivedDate: '2026-10-01', note: '', version: await version(ids.b) }, `/board/members/${ids.b}/notice`);
    expect(res.status).to.equal(303);
    expect((await env.ctx.members.get(ids.b))!.exitDate).to.equal('2027-12-31');
    env.clock.set('2026-09-30T10:00:00Z');
  });

  it('refuses a notice dated in the future or before joining, in the form', async () => {
    const res = await board.submit(`/board/members/${ids.c}/status`, { receivedDate: '2026-10-05', note: 'x', version: await version(ids.c) }, `/board/members/${ids.c}/notice`);
    expect(res.status).to.equal(422);
    expect(res.text).to.contain('Das Datum darf nicht in der Zukunft liegen.');
    expect(res.text).to.contain('value="2026-10-05"');
    const bad = await board.submit(`/board/members/${ids.c}/status`, { receivedDate: '31.02.2026', version: await version(ids.c) }, `/board/members/${ids.c}/notice`);
    expect(bad.status).to.equal(422);
    expect(bad.text).to.contain('Dieses Datum gibt es nicht.'); // h/harden2: the shared date message (server/web/fields.ts)
    expect((await env.ctx.members.get(ids.c))!.status).to.equal('active');
  });

  it('withdraws a notice before it takes effect', async () => {
    const res = await board.submit(`/board/members/${ids.b}/status`, { note: 'Rücknahme per E-Mail', version: await version(ids.b) }, `/board/members/${ids.b}/withdrawal`);
    expect(res.status).to.equal(303);
    const org = (await env.ctx.members.get(ids.b))!;
    expect(org.status).to.equal('active');
    expect(org.exitDate).to.equal(null);
    expect(await history(ids.b)).to.deep.equal(['joined@2018-01-01:active', 'notice_received@2026-10-01:notice_given', 'notice_withdrawn@2026-09-30:active']);
    const [a] = await env.ctx.audit.list({ entityType: 'organisation', entityId: ids.b, action: 'member.notice_withdrawn' });
    expect(a.before).to.deep.include({ status: 'notice_given', exitDate: '2027-12-31' });
  });

  it('requires the resolution reference for an exclusion and records it', async () => {
    const url = `/board/members/${ids.c}/status`;
    const missing = await board.submit(`${url}?form=exclusion`, { reference: '', effectiveDate: '2026-09-30', version: await version(ids.c) }, `/board/members/${ids.c}/exclusion`);
    expect(missing.status).to.equal(422);
    expect(missing.text).to.contain('Bitte ausfüllen.');
    const res = await board.submit(`${url}?form=exclusion`, { reference: 'Vorstandsbeschluss 2026/07', effectiveDate: '2026-09-30', note: 'Beitrag zwei Jahre offen', version: await version(ids.c) }, `/board/members/${ids.c}/exclusion`);
    expect(res.status).to.equal(303);
    const org = (await env.ctx.members.get(ids.c))!;
    expect(org.status).to.equal('former');
    expect(org.exitDate).to.equal('2026-09-29');
    expect(org.exitReason).to.equal('exclusion');
    expect(org.exitReference).to.equal('Vorstandsbeschluss 2026/07');
    expect(await history(ids.c)).to.deep.equal(['joined@2018-01-01:active', 'excluded@2026-09-30', 'exited@2026-09-30:former']);
    const [a] = await env.ctx.audit.list({ entityType: 'organisation', entityId: ids.c, action: 'member.excluded' });
    expect(a.after).to.deep.include({ status: 'former', reference: 'Vorstandsbeschluss 2026/07' });
    const detail = await board.get(`/board/members/${ids.c}`);
    expect(detail.text).to.contain('Vorstandsbeschluss 2026/07');
    expect(detail.text).to.contain('Ausschluss erfasst');
  });

  it('records a dissolution with a future effective date as a scheduled exit', async () => {
    const res = await board.submit(`/board/members/${ids.d}/status?form=dissolution`, { effectiveDate: '2026-11-01', version: await version(ids.d) }, `/board/members/${ids.d}/dissolution`);
    expect(res.status).to.equal(303);
    const org = (await env.ctx.members.get(ids.d))!;
    expect(org.status).to.equal('notice_given');
    expect(org.exitDate).to.equal('2026-10-31');
    expect(await env.ctx.members.countActive('2026-10-31')).to.be.greaterThan(await env.ctx.members.countActive('2026-11-01'));
  });

  it('reactivates a former member, who is not counted for the gap in between', async () => {
    env.clock.set('2027-03-01T10:00:00Z');
    const url = `/board/members/${ids.c}/status`;
    const tooEarly = await board.submit(url, { effectiveDate: '2026-09-15', version: await version(ids.c) }, `/board/members/${ids.c}/reactivation`);
    expect(tooEarly.status).to.equal(422);
    expect(tooEarly.text).to.contain('Die Wiederaufnahme muss nach dem letzten Tag der Mitgliedschaft liegen.');
    const res = await board.submit(url, { effectiveDate: '2027-02-01', note: 'Beitrag bezahlt', version: await version(ids.c) }, `/board/members/${ids.c}/reactivation`);
    expect(res.status).to.equal(303);
    const org = (await env.ctx.members.get(ids.c))!;
    expect(org.status).to.equal('active');
    expect(org.exitDate).to.equal(null);
    expect(org.memberNumber).to.be.a('number');
    expect(await history(ids.c)).to.deep.equal(['joined@2018-01-01:active', 'excluded@2026-09-30', 'exited@2026-09-30:former', 'reactivated@2027-02-01:active']);
    // A, B, C, D, E before the exclusion; in the gap C is not counted (nor D, dissolved 01.11.);
    // from 01.02.2027 C counts again (A has left by then)
    expect(await env.ctx.members.countActive('2026-09-29')).to.equal(5);
    expect(await env.ctx.members.countActive('2026-12-01')).to.equal(3);
    expect(await env.ctx.members.countActive('2027-01-31')).to.equal(2);
    expect(await env.ctx.members.countActive('2027-02-01')).to.equal(3);
    const stats = await board.get('/board/members');
    expect(stats.status).to.equal(200);
  });

  it('counts voting members on any date by the category valid then', async () => {
    // E is a supporting member (no vote); A has left; C came back; D dissolved on 01.11.2026
    expect(await env.ctx.members.countVoting('2026-06-01')).to.equal(4);
    expect(await env.ctx.members.countVoting('2027-03-01')).to.equal(2); // B and C
    expect(await env.ctx.members.countActive('2027-03-01')).to.equal(3); // B, C, E
  });

  it('refuses status changes by the treasurer', async () => {
    const page = await treasurer.get(`/board/members/${ids.e}`);
    expect(page.status).to.equal(200);
    const token = Browser.csrfFrom(page.text);
    for (const action of ['notice', 'exclusion', 'dissolution', 'reactivation', 'withdrawal']) {
      const res = await treasurer.agent.post(`/board/members/${ids.e}/${action}`).type('form').send({ _csrf: token, receivedDate: '2026-09-01', effectiveDate: '2026-09-01', reference: 'x', version: 1 });
      expect(res.status, action).to.equal(403);
    }
    expect((await treasurer.get(`/board/members/${ids.e}/status`)).status).to.equal(403);
    expect((await env.ctx.members.get(ids.e))!.status).to.equal('active');
  });

  it('shows a conflict instead of applying a status change on stale data', async () => {
    const stale = await version(ids.e);
    const edit = await board.submit(`/board/members/${ids.e}/edit`, { legalName: 'Firma E GmbH', legalForm: 'GmbH', street: 'Neu 1', postcode: '38640', city: 'Goslar', country: 'DE', employeeBand: '1-49', version: stale });
    expect(edit.status).to.equal(303);
    const res = await board.submit(`/board/members/${ids.e}/status`, { receivedDate: '2027-03-01', version: stale }, `/board/members/${ids.e}/notice`);
    expect(res.status).to.equal(409);
    expect(res.text).to.contain('Inzwischen von jemand anderem geändert.');
    expect((await env.ctx.members.get(ids.e))!.status).to.equal('active');
  });
});
