import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { Browser } from '../helpers/http.ts';
import { SmtpSink } from '../fakes/smtp-sink.ts';
import { makeOrg, TEST_ACTOR } from './assemblies.fixtures.ts';
import { AssemblyRuleError } from '../../server/assemblies/assemblies.model.ts';
import type { AssemblyInput } from '../../server/assemblies/assemblies.schemas.ts';

/**
 * Issue 10 items 2 and 4: who is invited and how (every member, supporting members without a
 * vote; e-mail only with the contact's consent, a letter otherwise), and hybrid participation
 * (RSVP and check-in in the room or online, access data only to those online).
 */
const INPUT: AssemblyInput = {
  title: 'Hybride Mitgliederversammlung 2026', kind: 'ordinary', date: '2026-12-19', time: '18:00', durationMinutes: 150,
  format: 'hybrid', location: 'Kaiserpfalz Goslar, Kaiserbleek 6, 38640 Goslar', participationInfo: 'Teilnahme per Videokonferenz, Abstimmung per Handzeichen in der Kamera.',
  copyAllContacts: false, onlineLink: 'https://meet.example/mv2026', onlineMeetingId: '123 456 789', onlineAccessCode: 'Harz-4711',
};

describe('assemblies: who is invited and how, and hybrid participation', function () {
  this.timeout(120_000);
  let sink: SmtpSink;
  let env: TestEnv;
  let board: Browser;
  let id: number;
  const org: Record<string, number> = {};

  before(async () => {
    sink = await SmtpSink.start();
    env = await createTestEnv({ smtpUrl: sink.url });
    const cats = await makeCategories(env.ctx);
    await makeUser(env.ctx, 'board@test.example', ['board']);
    org.a = await makeOrg(env.ctx, { name: 'Harzer Spezialchemie GmbH', categoryId: cats.company, repEmail: 'a@harz.example' });
    org.b = await makeOrg(env.ctx, { name: 'Clausthal Research Institute', categoryId: cats.research, repEmail: 'b@tu.example', repLocale: 'en' });
    org.c = await makeOrg(env.ctx, { name: 'Ohne Einwilligung AG', categoryId: cats.company, repEmail: 'c@noconsent.example' });
    org.s = await makeOrg(env.ctx, { name: 'Förderbank Harz', categoryId: cats.supporting, repEmail: 's@foerder.example' });
    // C's representative withdrew consent to invitations by e-mail
    await env.db('contacts').where({ organisation_id: org.c }).update({ consent_email_invitations: false });
    id = await env.ctx.assemblies.assembly.create(TEST_ACTOR, INPUT);
    await env.ctx.assemblies.assembly.addAgendaItem(TEST_ACTOR, id, { title: 'Entlastung des Vorstands', description: '', kind: 'resolution', proposedText: '' });
    board = new Browser(env.app);
    await board.login('board@test.example', PASSWORD);
  });
  after(async () => {
    await env.close();
    await sink.stop();
  });

  it('invites supporting members, and by letter those whose contact has not consented to e-mail (delivery log, letter list, summary)', async () => {
    const res = await board.submit(`/board/assemblies/${id}`, {}, `/board/assemblies/${id}/send`);
    expect(res.status).to.equal(303);
    await env.ctx.assemblies.jobs.idle(id);
    await env.ctx.outbox.flush();
    await sink.waitFor(3);
    const received = sink.messages.flatMap((m) => m.envelopeTo).sort();
    expect(received).to.deep.equal(['a@harz.example', 'b@tu.example', 's@foerder.example']);
    expect(sink.to('c@noconsent.example')).to.have.length(0);
    // the invitation mail itself carries no access data (they go separately)
    expect(sink.to('a@harz.example')[0].parsed.text).to.not.contain('Harz-4711');

    const page = (await board.get(`/board/assemblies/${id}/recipients`)).text;
    expect(page).to.match(/<strong>3<\/strong>\s*per E-Mail/);
    expect(page).to.match(/<strong>1<\/strong>\s*per Brief/);
    expect(page).to.contain('per Brief: keine Einwilligung in E-Mail-Einladungen');
    expect(page).to.contain('Ohne Einwilligung AG');
    expect(page).to.contain('ohne Stimmrecht'); // the supporting member is marked
    expect(page).to.not.contain('[object Object]');

    const letters = await board.submit(`/board/assemblies/${id}/recipients`, {}, `/board/assemblies/${id}/letters`);
    expect(letters.status).to.equal(200);
    expect(letters.text).to.contain('Ohne Einwilligung AG');
    expect(letters.text).to.not.contain('Harzer Spezialchemie GmbH');
  });

  it('asks "vor Ort" or "online" in the RSVP of a hybrid assembly and keeps what was typed when it is missing', async () => {
    const invs = await env.ctx.assemblies.sending.invitations(id);
    const inv = (o: number) => invs.find((i) => i.organisationId === o)!;
    const missing = await env.ctx.assemblies.answers.rsvp(TEST_ACTOR, inv(org.a), { attending: 'yes', peopleCount: 1, names: 'Anna' }, 'board').then(() => 'saved', (e: unknown) => e);
    expect(missing).to.be.instanceOf(AssemblyRuleError);
    await env.ctx.assemblies.answers.rsvp(TEST_ACTOR, inv(org.a), { attending: 'yes', peopleCount: 1, names: 'Anna', mode: 'online' }, 'board');
    await env.ctx.assemblies.answers.rsvp(TEST_ACTOR, inv(org.b), { attending: 'yes', peopleCount: 1, names: 'Bert', mode: 'room' }, 'board');
    // C gives its vote to A; the supporting member has none to give
    await env.ctx.assemblies.answers.giveProxy(TEST_ACTOR, inv(org.c), org.a, 'portal');
    const noVote = await env.ctx.assemblies.answers.giveProxy(TEST_ACTOR, inv(org.s), org.b, 'portal').then(() => 'given', (e: unknown) => e);
    expect(noVote).to.be.instanceOf(AssemblyRuleError);
  });

  it('sends the access data in a separate message only to those taking part online', async () => {
    const before = sink.messages.length;
    const res = await board.submit(`/board/assemblies/${id}/day`, {}, `/board/assemblies/${id}/access-data`);
    expect(res.status).to.equal(303);
    await env.ctx.assemblies.jobs.idle(id);
    await env.ctx.outbox.flush();
    await sink.waitFor(before + 1);
    const fresh = sink.messages.slice(before);
    expect(fresh.flatMap((m) => m.envelopeTo)).to.deep.equal(['a@harz.example']);
    expect(fresh[0].subject).to.contain('Zugangsdaten');
    expect(fresh[0].parsed.text).to.contain('https://meet.example/mv2026').and.contain('123 456 789').and.contain('Harz-4711');
    expect(fresh[0].parsed.attachments.filter((x) => (x.filename ?? '').endsWith('.ics'))).to.have.length(0);
    // the delivery log says who got them; pressed again, nobody gets the same data twice
    expect((await board.get(`/board/assemblies/${id}/recipients`)).text).to.contain('Zugangsdaten');
    await board.submit(`/board/assemblies/${id}/day`, {}, `/board/assemblies/${id}/access-data`);
    await env.ctx.assemblies.jobs.idle(id);
    await env.ctx.outbox.flush();
    expect(sink.messages.length).to.equal(before + 1);
  });

  it('checks in online and in the room, counts both, supporting members without a vote, and refuses a proxy holder in both places', async () => {
    env.clock.set('2026-12-19T17:05:00Z');
    const checkIn = (o: number, mode: string) => board.submit(`/board/assemblies/${id}/day`, { action: 'in', personName: '', mode }, `/board/assemblies/${id}/attendance/${o}`);
    await checkIn(org.a, 'online');
    await checkIn(org.b, 'room');
    await checkIn(org.s, 'room');
    const day = await env.ctx.assemblies.day.overview(id);
    expect(day.votes).to.deep.equal({ present: 3, own: 2, byProxy: 1 }); // A, B and C's vote held by A; not the supporting member
    expect(day.quorum.votingMembers).to.equal(3);
    expect(day.modes).to.deep.equal({ room: { present: 2, votes: 1 }, online: { present: 1, votes: 2 }, withoutVote: 1 });
    expect(day.rows.find((r) => r.organisationId === org.s)).to.include({ present: true, hasVote: false, mode: 'room' });

    const refused = await checkIn(org.a, 'room');
    expect(refused.status).to.equal(303);
    const page = (await board.get(`/board/assemblies/${id}/day`)).text;
    expect(page).to.contain('Ein Vollmachtsinhaber kann nicht zugleich vor Ort und online teilnehmen');
    expect((await env.ctx.assemblies.day.overview(id)).rows.find((r) => r.organisationId === org.a)).to.include({ mode: 'online' });
    expect(page).to.contain('anwesend ohne Stimmrecht');

    const print = (await board.get(`/board/assemblies/${id}/print`)).text;
    expect(print).to.contain('Stimmen vor Ort: 1, online: 2');
    expect(print).to.not.contain('[object Object]').and.not.contain('undefined');
  });
  it('says whether the bylaws allow a virtual assembly and refuses to send one until the board confirms the warning', async () => {
    env.clock.set('2026-11-25T09:00:00Z');
    const vid = await env.ctx.assemblies.assembly.create(TEST_ACTOR, { ...INPUT, title: 'Virtuelle Versammlung', format: 'virtual', location: '', date: '2027-01-20' });
    await env.ctx.assemblies.assembly.addAgendaItem(TEST_ACTOR, vid, { title: 'Bericht', description: '', kind: 'report', proposedText: '' });
    const show = (await board.get(`/board/assemblies/${vid}`)).text;
    expect(show).to.contain('Eine rein virtuelle Versammlung ist nur erlaubt, wenn die Satzung oder ein Beschluss der Mitglieder es vorsieht');
    const refused = await env.ctx.assemblies.sending.startSending(TEST_ACTOR, vid).then(() => 'sent', (e: unknown) => e);
    expect(refused).to.be.instanceOf(AssemblyRuleError).and.have.property('code', 'attend.errors.format_not_allowed');
    expect((await env.ctx.assemblies.assembly.get(vid)).status).to.equal('draft');
    await env.ctx.assemblies.sending.startSending(TEST_ACTOR, vid, '', { formatConfirmed: true });
    await env.ctx.assemblies.jobs.idle(vid);
    expect((await env.ctx.assemblies.assembly.get(vid)).status).to.equal('invited');
    // with bylaws that allow virtual assemblies (settings), no warning
    await env.ctx.settings.updateRules(TEST_ACTOR, { ...(await env.ctx.settings.rules()), remoteParticipation: 'hybrid_virtual' });
    const vid2 = await env.ctx.assemblies.assembly.create(TEST_ACTOR, { ...INPUT, title: 'Virtuelle Versammlung 2', format: 'virtual', location: '', date: '2027-01-21' });
    await env.ctx.assemblies.assembly.addAgendaItem(TEST_ACTOR, vid2, { title: 'Bericht', description: '', kind: 'report', proposedText: '' });
    expect((await board.get(`/board/assemblies/${vid2}`)).text).to.not.contain('id="format-warning"');
  });
});
