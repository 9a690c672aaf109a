import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { makeOrg, TEST_ACTOR } from './assemblies.fixtures.ts';

function article(html: string, itemId: number): string {
  const start = html.indexOf(`<article id="item-${itemId}">`);
  return html.slice(start, html.indexOf('</article>', start)).replace(/&#x3D;/g, '=').replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#x27;/g, "'");
}
const fieldError = (html: string, id: string) => html.match(new RegExp(`<small id="e-${id}" class="field-error">([^<]*)</small>`))?.[1];

describe('assemblies: an election recorded per candidate, decided by the run-off rule of the bylaws', function () {
  this.timeout(90_000);
  let env: TestEnv;
  let board: Browser;
  let id: number;
  let election: number;
  const record = (data: Record<string, string>) => board.submit(`/board/assemblies/${id}/results`, data, `/board/assemblies/${id}/resolutions/${election}`);

  before(async () => {
    env = await createTestEnv();
    const cats = await makeCategories(env.ctx);
    await makeUser(env.ctx, 'board@test.example', ['board']);
    await makeUser(env.ctx, 'admin@test.example', ['admin']);
    const orgs: number[] = [];
    for (let i = 1; i <= 5; i++) orgs.push(await makeOrg(env.ctx, { name: `Mitglied ${i} GmbH`, categoryId: cats.company, repEmail: `m${i}@m.example` }));
    id = await env.ctx.assemblies.assembly.create(TEST_ACTOR, {
      title: 'MV 2026', kind: 'ordinary', date: '2026-12-19', time: '18:00', durationMinutes: 120, format: 'in_person', location: 'Goslar', participationInfo: '', copyAllContacts: false,
    });
    election = await env.ctx.assemblies.assembly.addAgendaItem(TEST_ACTOR, id, { title: 'Wahl des Vorsitzes', description: '', kind: 'election', proposedText: '' });
    await env.ctx.assemblies.sending.startSending(TEST_ACTOR, id);
    await env.ctx.assemblies.jobs.idle(id);
    env.clock.set('2026-12-19T17:30:00Z');
    for (const o of orgs) await env.ctx.assemblies.day.checkIn(TEST_ACTOR, id, o, 'in', `Person ${o}`);
    board = new Browser(env.app);
    await board.login('board@test.example', PASSWORD);
  });
  after(async () => env.close());

  it('offers the run-off and tie rules on the settings page, the BGB default named, and keeps the choice', async () => {
    const admin = new Browser(env.app);
    await admin.login('admin@test.example', PASSWORD);
    const page = await admin.get('/admin/settings');
    expect(page.text).to.contain('Wahlen ohne die erforderliche Mehrheit');
    expect(page.text).to.contain('<option value="repeat" selected>sonst ist niemand gewählt und die Wahl wird wiederholt</option>');
    await env.ctx.settings.updateRules(TEST_ACTOR, { ...(await env.ctx.settings.rules()), elections: { runoff: 'top_two', tie: 'lot' } });
    expect((await admin.get('/admin/settings')).text).to.contain('<option value="top_two" selected>');
  });

  it('checks the candidate rows next to each field and keeps what was typed', async () => {
    const bad = await record({ cName1: 'Anna Berg', cVotes1: '2', cName2: 'anna berg', cVotes2: '1', cName3: '', cVotes3: '1', no: '0', abstain: '0', invalid: '0', round: '1', version: '0' });
    expect(bad.status).to.equal(422);
    expect(fieldError(bad.text, `${election}-cName2`)).to.equal('Dieser Name steht schon in einer anderen Zeile.');
    expect(fieldError(bad.text, `${election}-cName3`)).to.equal('Bitte den Namen zu den Stimmen angeben.');
    expect(bad.text).to.contain('value="anna berg"');
    const tooMany = await record({ cName1: 'Anna Berg', cVotes1: '4', cName2: 'Bernd Christ', cVotes2: '3', no: '0', abstain: '0', invalid: '0', round: '1', version: '0' });
    expect(tooMany.text).to.contain(`id="e-${election}-total">Zusammen 7 Stimmen, aber nur 5 anwesend (selbst und per Vollmacht).</p>`);
    const notTied = await record({ cName1: 'Anna Berg', cVotes1: '3', cName2: 'Bernd Christ', cVotes2: '2', lotWinner: 'Bernd Christ', no: '0', abstain: '0', invalid: '0', round: '2', version: '0' });
    expect(fieldError(notTied.text, `${election}-lotWinner`)).to.equal('Nur ein/e Kandidat/in mit gleich vielen Stimmen kann durch Los gewählt sein.');
    expect((await env.ctx.assemblies.day.resolutions(id)).get(election)).to.equal(undefined);
  });

  it('without a majority calls a run-off between the two best placed; in the run-off the most votes elect', async () => {
    const first = await record({ cName1: 'Anna Berg', cVotes1: '2', cName2: 'Bernd Christ', cVotes2: '2', cName3: 'Cora Dahl', cVotes3: '1', no: '0', abstain: '0', invalid: '0', round: '1', version: '0' });
    expect(first.status).to.equal(303);
    let text = article((await board.get(`/board/assemblies/${id}/results`)).text, election);
    expect(text).to.contain('keine Mehrheit (2 von 5 abgegebenen Stimmen, erforderlich mehr als ½ = 2,5) – Stichwahl zwischen Anna Berg und Bernd Christ');
    expect(text).to.contain('gewählt ist, wer mehr als die Hälfte der abgegebenen Stimmen erhält (Enthaltungen und ungültige Stimmen zählen nicht); sonst Stichwahl zwischen den zwei Bestplatzierten');
    expect(text).to.contain('(Anna Berg 2, Bernd Christ 2, Cora Dahl 1)');
    expect(text).to.contain('value="Cora Dahl"'); // the recorded rows come back into the form

    await record({ cName1: 'Anna Berg', cVotes1: '2', cName2: 'Bernd Christ', cVotes2: '1', cName3: 'Cora Dahl', cVotes3: '1', no: '0', abstain: '1', invalid: '0', round: '1', version: '1' });
    text = article((await board.get(`/board/assemblies/${id}/results`)).text, election);
    expect(text).to.contain('keine Mehrheit (2 von 4 abgegebenen Stimmen, erforderlich mehr als ½ = 2) – Stichwahl zwischen Anna Berg, Bernd Christ und Cora Dahl');
    expect(text).to.contain('abgelehnt');

    await record({ cName1: 'Anna Berg', cVotes1: '3', cName2: 'Bernd Christ', cVotes2: '2', no: '0', abstain: '0', invalid: '0', round: '2', version: '2' });
    text = article((await board.get(`/board/assemblies/${id}/results`)).text, election);
    expect(text).to.contain('Anna Berg gewählt mit 3 von 5 abgegebenen Stimmen (meiste Stimmen im zweiten Wahlgang)');
    // a tie in the run-off: the lot decides, and who drew it is recorded
    await record({ cName1: 'Anna Berg', cVotes1: '2', cName2: 'Bernd Christ', cVotes2: '2', no: '0', abstain: '1', invalid: '0', round: '2', version: '3' });
    text = article((await board.get(`/board/assemblies/${id}/results`)).text, election);
    expect(text).to.contain('Stimmengleichheit zwischen Anna Berg und Bernd Christ mit je 2 Stimmen – das Los entscheidet');
    await record({ cName1: 'Anna Berg', cVotes1: '2', cName2: 'Bernd Christ', cVotes2: '2', lotWinner: 'Bernd Christ', no: '0', abstain: '1', invalid: '0', round: '2', version: '4' });
    text = article((await board.get(`/board/assemblies/${id}/results`)).text, election);
    expect(text).to.contain('Bernd Christ gewählt durch Los (Stimmengleichheit mit Anna Berg bei je 2 von 4 abgegebenen Stimmen)');
    await record({ cName1: 'Anna Berg', cVotes1: '3', cName2: 'Bernd Christ', cVotes2: '2', no: '0', abstain: '0', invalid: '0', round: '2', version: '5' });
    expect((await env.ctx.assemblies.day.resolutions(id)).get(election)).to.include({ adopted: true, yes: 3, no: 2 });

    // in the minutes: per candidate, the rule and the outcome in words
    await env.ctx.assemblies.minutes.save(TEST_ACTOR, id, { body: 'Protokoll', chair: 'Person 1', minuteTaker: 'Person 2', signedOn: '' });
    const doc = await env.ctx.assemblies.minutes.document(id);
    const { resultLines } = await import('../../server/assemblies/minutes-document.ts');
    expect(resultLines('de', doc)[0]).to.equal('TOP 1 Wahl des Vorsitzes: Anna Berg 3, Bernd Christ 2 (Nein 0, Enthaltungen 0, ungültig 0). Erforderliche Mehrheit: gewählt ist, wer mehr als die Hälfte der abgegebenen Stimmen erhält (Enthaltungen und ungültige Stimmen zählen nicht); sonst Stichwahl zwischen den zwei Bestplatzierten, in der die meisten Stimmen entscheiden; bei Stimmengleichheit entscheidet das Los. Ergebnis: Anna Berg gewählt mit 3 von 5 abgegebenen Stimmen (meiste Stimmen im zweiten Wahlgang).');
  });
});
