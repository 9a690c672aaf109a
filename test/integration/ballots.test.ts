import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { linkFor, TEST_ACTOR } from './assemblies.fixtures.ts';
import { ballotWorld, type BallotWorld } from './ballots.fixtures.ts';
import { createContext } from '../../server/context.ts';
import { createLogger } from '../../server/logger.ts';
import { resultLines } from '../../server/assemblies/minutes-document.ts';

/**
 * Issue 15: electronic ballots. The chair opens a ballot; votes come by the portal, the personal
 * link, the check-in tablet and the show of hands; each member's vote counts once; every refusal
 * says why and counts nothing; closing decides the item by its majority and writes the minutes.
 */
describe('ballots: electronic voting in a hybrid assembly', function () {
  this.timeout(120_000);
  let env: TestEnv;
  let w: BallotWorld;
  let ballotId: number;

  before(async () => {
    env = await createTestEnv();
    w = await ballotWorld(env);
  });
  after(async () => env.close());

  const tallies = async (id: number) => Object.fromEntries((await env.db('assembly_ballot_tallies').where({ ballot_id: id })).map((r: { option_key: string; votes: number }) => [r.option_key, Number(r.votes)]));
  const flashOf = (html: string) => (/class="flash flash-(?:error|success)"[^>]*>([^<]*)</.exec(html)?.[1] ?? '').trim();
  const castPortal = async (id: number, data: Record<string, unknown>) => {
    const res = await w.portalA.submit(`/portal/assemblies/${w.id}/ballots/${id}`, data);
    return flashOf((await w.portalA.get(res.headers.location as string)).text);
  };

  it('opens a ballot with the votes present then: a proxy withdrawn before does not count', async () => {
    const res = await w.board.submit(`/board/assemblies/${w.id}/ballots`, { question: 'Wird der Vorstand entlastet?', minutes: '10' }, `/board/assemblies/${w.id}/ballots/items/${w.items.resolution}`);
    expect(res.status).to.equal(303);
    ballotId = Number(/ballots\/(\d+)$/.exec(res.headers.location as string)![1]);
    const page = await w.board.get(res.headers.location as string);
    expect(page.text).to.contain('Wird der Vorstand entlastet?');
    expect(page.text).to.match(/data-live="voted">0<\/strong> von <strong data-live="present">5<\/strong>/);
    const eligible = await env.db('assembly_ballot_eligible').where({ ballot_id: ballotId });
    expect(eligible.map((e: { organisation_id: number }) => Number(e.organisation_id))).to.not.include(w.org.f);
    // a second ballot on the same item at the same time is refused
    const again = await w.board.submit(`/board/assemblies/${w.id}/ballots`, { question: 'x', minutes: '5' }, `/board/assemblies/${w.id}/ballots/items/${w.items.resolution}`);
    expect(flashOf((await w.board.get(again.headers.location as string)).text)).to.contain('läuft bereits');
  });

  it('keeps what was typed and says why when the window is not a number', async () => {
    const res = await w.board.submit(`/board/assemblies/${w.id}/ballots`, { question: 'Satzung?', minutes: 'zehn' }, `/board/assemblies/${w.id}/ballots/items/${w.items.bylaws}`);
    expect(res.status).to.equal(422);
    expect(res.text).to.contain('value="Satzung?"');
    expect(res.text).to.match(/field-error">[^<]+</);
  });

  it('lets the online voter cast its own vote and its proxies separately, and says for how many it votes', async () => {
    const page = await w.portalA.get(`/portal/assemblies/${w.id}/ballots/${ballotId}`);
    expect(page.text).to.contain('Sie stimmen für 3 Mitglieder.');
    expect((await w.portalA.get(`/portal/assemblies/${w.id}`)).text).to.contain('noch 3 Stimmen abzugeben');
    expect(await castPortal(ballotId, { all: 'yes', [`m${w.org.c}`]: 'no' })).to.equal('3 Stimmen wurden gezählt.');
    expect(await tallies(ballotId)).to.include({ yes: 2, no: 1, abstain: 0, _cast: 3 });
  });

  it('refuses a replayed form and a second vote by another path, counting nothing twice', async () => {
    expect(await castPortal(ballotId, { all: 'no' })).to.contain('bereits abgegeben');
    // C's own personal link: C's vote was cast by its proxy holder
    const link = await linkFor(env.ctx, 'c@c.example');
    const c = new Browser(env.app);
    expect((await c.get(`${link}/ballots/${ballotId}`)).text).to.not.contain('Stimme abgeben'); // no form for a vote it does not carry
    const res = await c.submit('/login', { all: 'no' }, `${link}/ballots/${ballotId}`); // the session's CSRF token from any form
    expect(flashOf((await c.get(res.headers.location as string)).text)).to.contain('nicht abstimmen');
    expect(await tallies(ballotId)).to.include({ yes: 2, no: 1, _cast: 3 });
  });

  it('refuses an option not on the ballot', async () => {
    const link = await linkFor(env.ctx, 'b@b.example');
    const b = new Browser(env.app);
    const res = await b.submit(`${link}/ballots/${ballotId}`, { all: 'vielleicht' });
    expect(flashOf((await b.get(res.headers.location as string)).text)).to.contain('steht nicht zur Wahl');
    expect((await tallies(ballotId))._cast).to.equal(3);
  });

  it('counts one vote of two devices voting at the same moment', async () => {
    const link = await linkFor(env.ctx, 'b@b.example');
    const devices = [new Browser(env.app), new Browser(env.app), new Browser(env.app), new Browser(env.app)];
    const tokens = await Promise.all(devices.map(async (d) => Browser.csrfFrom((await d.get(`${link}/ballots/${ballotId}`)).text)));
    const answers = await Promise.all(devices.map((d, i) => d.agent.post(`${link}/ballots/${ballotId}`).type('form').send({ all: 'no', _csrf: tokens[i] })));
    const messages = await Promise.all(answers.map(async (r, i) => flashOf((await devices[i].get(r.headers.location as string)).text)));
    expect(messages.filter((m) => m === '1 Stimme wurde gezählt.')).to.have.length(1);
    expect(messages.filter((m) => m.includes('bereits abgegeben'))).to.have.length(3);
    expect(await tallies(ballotId)).to.include({ no: 2, _cast: 4 });
    expect(await env.db('assembly_ballot_voters').where({ ballot_id: ballotId, organisation_id: w.org.b })).to.have.length(1);
  });

  it('lets a member in the room vote on the check-in tablet, and refuses a checked-out member', async () => {
    const list = await w.board.get(`/board/assemblies/${w.id}/ballots/${ballotId}/tablet`);
    expect(list.text).to.contain('Elbingerode Kalk AG');
    expect(list.text).to.not.contain('Brocken Labor GmbH'); // voted already
    await env.ctx.assemblies.day.checkIn(TEST_ACTOR, w.id, w.org.e, 'out', '');
    const form = `/board/assemblies/${w.id}/ballots/${ballotId}/tablet?member=${w.org.e}`;
    const out = await w.board.submit(`/board/assemblies/${w.id}/ballots/${ballotId}/tablet`, { all: 'abstain' }, `/board/assemblies/${w.id}/ballots/${ballotId}/tablet/${w.org.e}`);
    expect(flashOf((await w.board.get(out.headers.location as string)).text)).to.contain('abgemeldet');
    await env.ctx.assemblies.day.checkIn(TEST_ACTOR, w.id, w.org.e, 'in', 'Eva Elbingerode', 'room');
    const page = await w.board.get(form);
    expect(page.text).to.contain('Sie stimmen für 1 Mitglied.');
    const res = await w.board.submit(form, { all: 'abstain' }, `/board/assemblies/${w.id}/ballots/${ballotId}/tablet/${w.org.e}`);
    expect(flashOf((await w.board.get(res.headers.location as string)).text)).to.equal('1 Stimme wurde gezählt.');
    const live = await w.board.get(`/board/assemblies/${w.id}/ballots/${ballotId}/live.json`);
    expect(live.body).to.include({ voted: 5, present: 5, status: 'open' });
  });

  it('closes: the result under the majority rule goes into the resolution and the minutes with who voted how; then nothing changes', async () => {
    const res = await w.board.submit(`/board/assemblies/${w.id}/ballots/${ballotId}`, {}, `/board/assemblies/${w.id}/ballots/${ballotId}/close`);
    const page = (await w.board.get(res.headers.location as string)).text;
    // 2 yes, 2 no, 1 abstention: not more than half of the votes cast (abstentions do not count)
    expect(page).to.contain('abgelehnt mit 2 von 4 abgegebenen Stimmen, erforderlich mehr als ½');
    const results = (await w.board.get(`/board/assemblies/${w.id}/results`)).text;
    expect(results).to.contain('Elektronische Abstimmung (offen)');
    expect(results).to.contain('Clausthal Polymere GmbH (vertreten durch Aurum Chemie GmbH): Nein');
    expect(results).to.contain('Elbingerode Kalk AG: Enthaltung');
    const doc = await env.ctx.assemblies.minutes.document(w.id);
    const lines = resultLines('de', doc).join('\n');
    expect(lines).to.contain('TOP 1 Entlastung des Vorstands: abgelehnt (Ja 2, Nein 2, Enthaltungen 1)');
    expect(lines).to.contain('Aurum Chemie GmbH: Ja');
    expect(lines).to.contain('Zahl der Abstimmenden und Zahl der Stimmen stimmen überein (5)');
    // after closing: no vote, no hands, no typed-over result
    expect(await castPortal(ballotId, { all: 'yes' })).to.contain('geschlossen');
    const typed = await w.board.submit(`/board/assemblies/${w.id}/results`, { yes: '9', no: '0', abstain: '0', invalid: '0' }, `/board/assemblies/${w.id}/resolutions/${w.items.resolution}`);
    expect(flashOf((await w.board.get(typed.headers.location as string)).text)).to.contain('elektronischen Abstimmung');
    const audit = await env.db('audit_log').where({ action: 'assembly.ballot_closed' });
    expect(audit).to.have.length(1);
  });

  it('takes the show of hands only for the room votes not cast electronically; those then cannot vote on the tablet', async () => {
    const res = await w.board.submit(`/board/assemblies/${w.id}/ballots`, { question: 'Satzungsänderung?', minutes: '10' }, `/board/assemblies/${w.id}/ballots/items/${w.items.bylaws}`);
    const id = Number(/ballots\/(\d+)$/.exec(res.headers.location as string)![1]);
    const chair = `/board/assemblies/${w.id}/ballots/${id}`;
    const link = await linkFor(env.ctx, 'b@b.example');
    const b = new Browser(env.app);
    await b.submit(`${link}/ballots/${id}`, { all: 'yes' });
    const tooMany = await w.board.submit(chair, { h_yes: '2', h_no: '0', h_abstain: '0' }, `${chair}/hands`);
    expect(tooMany.status).to.equal(422);
    expect(tooMany.text).to.contain('mehr als die 1 Stimmen im Saal');
    const ok = await w.board.submit(chair, { h_yes: '1' }, `${chair}/hands`);
    expect(ok.status).to.equal(303);
    const tablet = await w.board.submit(`${chair}/tablet`, { all: 'no' }, `${chair}/tablet/${w.org.e}`);
    expect(flashOf((await w.board.get(tablet.headers.location as string)).text)).to.contain('Handzeichen');
    expect(await tallies(id)).to.include({ yes: 2, no: 0, _cast: 2 });
  });

  it('refuses a vote for a member that left since the ballot opened', async () => {
    await env.db('organisations').where({ id: w.org.d }).update({ exit_date: '2026-12-18', status: 'former' });
    try {
      const ballots = await env.ctx.assemblies.ballots.forAssembly(w.id);
      const id = ballots.find((x) => x.status === 'open')!.id;
      expect(await castPortal(id, { all: 'yes' })).to.contain('Dorste Pigmente GmbH ist nicht mehr Mitglied');
      expect((await tallies(id))._cast).to.equal(2);
    } finally {
      await env.db('organisations').where({ id: w.org.d }).update({ exit_date: null, status: 'active' });
    }
  });

  it('closes at the end of the window, also after a restart, keeping every vote cast; a later vote is refused', async () => {
    const id = (await env.ctx.assemblies.ballots.forAssembly(w.id)).find((x) => x.status === 'open')!.id;
    expect(await castPortal(id, { all: 'yes' })).to.equal('3 Stimmen wurden gezählt.');
    env.clock.advance(11 * 60_000);
    // a new process on the same database (a restart): the stored window closes the ballot
    const restarted = createContext({ config: env.config, db: env.db, clock: env.clock, log: createLogger('silent') });
    await restarted.assemblies.ballots.closeDue();
    const closed = await restarted.assemblies.ballots.get(id);
    expect(closed.status).to.equal('closed');
    expect(closed.result).to.include({ voters: 4, hands: 1, verified: true });
    expect(await castPortal(id, { all: 'no' })).to.contain('Abstimmungszeit ist abgelaufen');
    const r = (await env.ctx.assemblies.day.resolutions(w.id)).get(w.items.bylaws)!;
    expect(r).to.include({ yes: 5, no: 0, adopted: true });
  });

  it('runs an election ballot with candidates under the election rules', async () => {
    const res = await w.board.submit(`/board/assemblies/${w.id}/ballots`, { question: 'Wahl', minutes: '10', candidates: 'Anna Berg\nBernd Christ', maxChoices: '1' }, `/board/assemblies/${w.id}/ballots/items/${w.items.election}`);
    const id = Number(/ballots\/(\d+)$/.exec(res.headers.location as string)![1]);
    expect(await castPortal(id, { all: 'c1' })).to.equal('3 Stimmen wurden gezählt.');
    expect(await castPortal(id, { all: 'c2' })).to.contain('bereits');
    const close = await w.board.submit(`/board/assemblies/${w.id}/ballots/${id}`, {}, `/board/assemblies/${w.id}/ballots/${id}/close`);
    expect((await w.board.get(close.headers.location as string)).text).to.contain('Anna Berg gewählt');
  });
});
