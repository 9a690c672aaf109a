import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { seedDemo, DEMO_PASSWORD, DEMO_PORTAL_USER } from '../../seeds/demo.ts';

const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/&#x3D;/g, '=').replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#x27;/g, "'").replace(/\s+/g, ' ');

describe('demo data: the assembly module at work', function () {
  this.timeout(120_000);
  let env: TestEnv;
  let board: Browser;
  let member: Browser;
  let past: { id: number; title: string };
  let next: { id: number; title: string };

  before(async () => {
    env = await createTestEnv();
    await seedDemo(env.ctx, () => undefined);
    const list = await env.ctx.assemblies.assembly.list();
    expect(list).to.have.length(2);
    const sorted = [...list].sort((a, b) => a.startsAt.localeCompare(b.startsAt));
    past = { id: sorted[0].id, title: sorted[0].title };
    next = { id: sorted[1].id, title: sorted[1].title };
    board = new Browser(env.app);
    await board.login('vorstand@demo.example', DEMO_PASSWORD);
    member = new Browser(env.app);
    await member.login(DEMO_PORTAL_USER.email, DEMO_PASSWORD);
  });
  after(() => env.close());

  it('holds a past assembly with attendance, a bylaws change adopted by ¾ of the votes cast, and sent minutes', async () => {
    expect(past.title).to.match(/^Ordentliche Mitgliederversammlung \d{4}$/);
    const day = text((await board.get(`/board/assemblies/${past.id}/day`)).text);
    expect(day).to.contain('14 Stimmen anwesend 13 selbst, 1 per Vollmacht');
    const results = text((await board.get(`/board/assemblies/${past.id}/results`)).text);
    expect(results).to.contain('Satzungsänderung');
    expect(results).to.contain('angenommen mit 11 von 13 abgegebenen Stimmen, erforderlich ¾');
    expect(results).to.contain('angenommen mit 12 von 12 abgegebenen Stimmen');
    const show = text((await board.get(`/board/assemblies/${past.id}`)).text);
    expect(show).to.contain('Protokoll');
    const minutes = await env.ctx.assemblies.minutes.get(past.id);
    expect(minutes?.sentAt, 'minutes sent').to.be.a('string');
    expect(minutes!.body).to.contain('Versammlungsleitung: Dr. Katrin Wölfel');
    // the board's list: the past one as held, the next one as invited
    const list = text((await board.get('/board/assemblies')).text);
    expect(list).to.match(new RegExp(`${past.title} Ordentliche Mitgliederversammlung stattgefunden`));
    expect(list).to.match(new RegExp(`${next.title} \\S.* eingeladen`));
  });

  it('holds an upcoming assembly with invitations sent, answers, a proxy and a motion', async () => {
    const invitations = await env.ctx.assemblies.sending.invitations(next.id);
    const a = await env.ctx.assemblies.assembly.get(next.id);
    expect(invitations.length).to.be.at.least(19).and.to.equal((await env.ctx.assemblies.assembly.recipients(a.day, false)).length);
    const answers = text((await board.get(`/board/assemblies/${next.id}/answers`)).text);
    expect(answers).to.contain('Gemeinsamer Messestand auf der ACHEMA');
    expect(answers).to.contain('Institut für Prozesstechnik Clausthal'); // holds M-0009's proxy
    expect(answers).to.match(/Oberharzer Batterie-Recycling GmbH/);
    // the member sees both in the portal
    const portal = text((await member.get('/portal/assemblies')).text);
    expect(portal).to.contain(next.title);
    expect(portal).to.contain(past.title);
    // the past one, read-only: own answer, resolutions in words, the minutes
    const record = text((await member.get(`/portal/assemblies/${past.id}`)).text);
    expect(record).to.contain('Diese Versammlung hat stattgefunden');
    expect(record).to.contain('angenommen mit 11 von 13 abgegebenen Stimmen');
    expect(record).to.contain('Versammlungsleitung: Dr. Katrin Wölfel');
    expect(record).to.contain('Ihre Rückmeldung Zusage Teilgenommen Ja');
    expect(record).to.contain('Ja 11, Nein 2, Enthaltungen 1');
  });

  it('lists ten published member profiles on /netzwerk, with the map, and one awaiting the board', async () => {
    const list = text((await new Browser(env.app).get('/netzwerk')).text);
    expect(list).to.contain('10 von 10 Mitgliedern');
    expect(list).to.contain('Oberharzer Batterie-Recycling GmbH');
    expect(list).to.contain('Clausthal-Zellerfeld (4)');
    expect(list).not.to.contain('Seesen Biopolymere GmbH'); // submitted, not yet approved
    expect(text((await board.get('/board/directory')).text)).to.contain('Zur Freigabe (1)');
    const logo = await new Browser(env.app).get('/netzwerk/harzer-spezialchemie-gmbh/logo.png');
    expect(logo.headers['content-type']).to.equal('image/png');
  });

  it('shows every page of both assemblies without "[object Object]" or "undefined"', async () => {
    for (const { id } of [past, next]) {
      const base = `/board/assemblies/${id}`;
      for (const url of [base, `${base}/recipients`, `${base}/answers`, `${base}/day`, `${base}/print`, `${base}/results`]) {
        const res = await board.get(url);
        expect(res.status, url).to.equal(200);
        expect(res.text, url).not.to.contain('[object Object]');
        expect(res.text, url).not.to.match(/\bundefined\b/);
      }
      const mine = await member.get(`/portal/assemblies/${id}`);
      expect(mine.status, `/portal/assemblies/${id}`).to.equal(200);
      expect(mine.text).not.to.contain('[object Object]');
    }
  });
});
