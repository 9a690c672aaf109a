import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { addOrg, contactInput, orgInput } from './members.fixtures.ts';

async function signedIn(env: TestEnv, email: string): Promise<Browser> {
  const b = new Browser(env.app);
  await b.login(email, PASSWORD);
  return b;
}

/** The organisation names in the list's table, in order. */
function names(html: string): string[] {
  const body = html.split('<tbody>')[1]?.split('</tbody>')[0] ?? '';
  return [...body.matchAll(/<td><a href="\/board\/members\/\d+">([^<]+)<\/a><\/td>/g)].map((m) => m[1].replace(/&amp;/g, '&'));
}

describe('member register: list, search, detail, roles', () => {
  let env: TestEnv;
  let cats: Record<string, number>;
  let board: Browser;
  let treasurer: Browser;
  let admin: Browser;
  let member: Browser;
  const ids: Record<string, number> = {};

  before(async () => {
    env = await createTestEnv();
    cats = await makeCategories(env.ctx);
    await makeUser(env.ctx, 'board@test.example', ['board'], 'Berta Vorstand');
    await makeUser(env.ctx, 'treasurer@test.example', ['treasurer']);
    await makeUser(env.ctx, 'admin@test.example', ['admin']);
    await makeUser(env.ctx, 'member@test.example', ['member']);
    ids.harz = await addOrg(env, orgInput(cats.company, { legalName: 'Harzer Spezialchemie GmbH', city: 'Goslar', joinDate: '2015-03-01' }), [
      contactInput({ name: 'Jürgen Übel', email: 'j.uebel@harzchemie.example' }),
      contactInput({ name: 'Buchhaltung', email: 'accounting@harzchemie.example', isRepresentative: false, isBilling: true }),
    ]);
    ids.tu = await addOrg(env, orgInput(cats.research, { legalName: 'TU Clausthal', city: 'Clausthal-Zellerfeld', joinDate: '2016-05-10' }), [contactInput({ name: 'Prof. Anna Klar', email: 'klar@tu-clausthal.example' })]);
    ids.pct = await addOrg(env, orgInput(cats.company, { legalName: '100% Chemie "Quote" AG', city: 'Seesen', joinDate: '2021-07-01' }));
    ids.under = await addOrg(env, orgInput(cats.supporting, { legalName: 'Under_score Labs KG', city: 'Bad Harzburg', joinDate: '2021-09-01' }));
    ids.back = await addOrg(env, orgInput(cats.supporting, { legalName: 'Back\\slash Analytik', city: 'Osterode am Harz', joinDate: '2024-02-01' }));
    ids.oker = await addOrg(env, orgInput(cats.company, { legalName: 'Oker Metall GmbH', city: 'Goslar', joinDate: '2019-01-01' }));
    board = await signedIn(env, 'board@test.example');
    treasurer = await signedIn(env, 'treasurer@test.example');
    admin = await signedIn(env, 'admin@test.example');
    member = await signedIn(env, 'member@test.example');
  });
  after(async () => env.close());

  describe('who may see it', () => {
    it('sends anonymous visitors to the login page', async () => {
      const res = await new Browser(env.app).get('/board/members');
      expect(res.status).to.equal(303);
      expect(res.headers.location).to.equal('/login');
      const detail = await new Browser(env.app).get(`/board/members/${ids.harz}`);
      expect(detail.headers.location).to.equal('/login');
    });

    it('refuses member contacts with 403 on the list and the detail', async () => {
      expect((await member.get('/board/members')).status).to.equal(403);
      expect((await member.get(`/board/members/${ids.harz}`)).status).to.equal(403);
    });

    it('lets treasurer and admin read, without edit buttons, and refuses their edits with 403', async () => {
      for (const b of [treasurer, admin]) {
        const list = await b.get('/board/members');
        expect(list.status).to.equal(200);
        expect(list.text).to.contain('Harzer Spezialchemie GmbH');
        const detail = await b.get(`/board/members/${ids.harz}`);
        expect(detail.status).to.equal(200);
        expect(detail.text).not.to.contain(`/board/members/${ids.harz}/edit`);
        expect((await b.get(`/board/members/${ids.harz}/edit`)).status).to.equal(403);
        const token = Browser.csrfFrom(detail.text);
        const post = await b.agent.post(`/board/members/${ids.harz}/edit`).type('form').send({ _csrf: token, legalName: 'Hacked', city: 'X', country: 'DE', version: 1 });
        expect(post.status).to.equal(403);
        const notice = await b.agent.post(`/board/members/${ids.harz}/notice`).type('form').send({ _csrf: token, receivedDate: '2026-11-01', version: 1 });
        expect(notice.status).to.equal(403);
        const del = await b.agent.post(`/board/members/${ids.harz}/contacts/1/delete`).type('form').send({ _csrf: token });
        expect(del.status).to.equal(403);
      }
      expect((await env.ctx.members.get(ids.harz))!.legalName).to.equal('Harzer Spezialchemie GmbH');
    });

    it('shows the board the edit actions', async () => {
      const detail = await board.get(`/board/members/${ids.harz}`);
      expect(detail.text).to.contain(`/board/members/${ids.harz}/edit`);
      expect(detail.text).to.contain(`/board/members/${ids.harz}/contacts/new`);
    });
  });

  describe('list', () => {
    it('shows the numbers at a glance', async () => {
      const res = await board.get('/board/members');
      expect(res.text).to.match(/<strong>6<\/strong> Mitglieder/);
      // voting: company ×3 + research ×1; supporting members have no vote
      expect(res.text).to.match(/<strong>4<\/strong> stimmberechtigte/);
      expect(res.text).to.match(/<strong>0<\/strong> gekündigt/);
      expect(res.text).to.contain('6 Organisationen');
    expect(res.text).to.match(/<td class="nowrap">M-0001<\/td><td><a href="\/board\/members\/\d+">/);
    });

    it('sorts by member number, name, city and join date, both ways', async () => {
      expect(names((await board.get('/board/members')).text)[0]).to.equal('Harzer Spezialchemie GmbH');
      expect(names((await board.get('/board/members?sort=name')).text)).to.deep.equal([
        '100% Chemie &quot;Quote&quot; AG', 'Back\\slash Analytik', 'Harzer Spezialchemie GmbH', 'Oker Metall GmbH', 'TU Clausthal', 'Under_score Labs KG',
      ]);
      expect(names((await board.get('/board/members?sort=name&dir=desc')).text)[0]).to.equal('Under_score Labs KG');
      expect(names((await board.get('/board/members?sort=city')).text)[0]).to.equal('Under_score Labs KG'); // Bad Harzburg
      expect(names((await board.get('/board/members?sort=joined&dir=desc')).text)[0]).to.equal('Back\\slash Analytik');
    });

    it('filters by category, join year and status', async () => {
      expect(names((await board.get(`/board/members?category=${cats.supporting}`)).text)).to.have.members(['Under_score Labs KG', 'Back\\slash Analytik']);
      expect(names((await board.get('/board/members?year=2021')).text)).to.have.members(['100% Chemie &quot;Quote&quot; AG', 'Under_score Labs KG']);
      expect(names((await board.get('/board/members?status=former')).text)).to.deep.equal([]);
      expect(names((await board.get('/board/members?status=active')).text)).to.have.length(6);
    });

    it('ignores nonsense in the query string instead of failing', async () => {
      const res = await board.get('/board/members?sort=drop&dir=sideways&category=abc&year=x&status=zombie&after=%%%&before=eyJ4Ijox');
      expect(res.status).to.equal(200);
      expect(names(res.text)).to.have.length(6);
    });

    it('offers no payment-status placeholder that does nothing (h/stripe: the filter works, see register-payment-filter.test.ts)', async () => {
      const res = await board.get('/board/members');
      expect(res.text).not.to.match(/name="payment"[^>]*disabled/);
      expect(res.text).not.to.contain('Kommt mit der Beitragsabrechnung');
    });
  });

  describe('search', () => {
    const search = async (q: string) => {
      const res = await board.get(`/board/members?q=${encodeURIComponent(q)}`);
      expect(res.status, `search for ${q.slice(0, 20)}`).to.equal(200);
      return names(res.text);
    };

    it('finds by name prefix and by a part of the name, ignoring case', async () => {
      expect(await search('harzer')).to.deep.equal(['Harzer Spezialchemie GmbH']);
      expect(await search('SPEZIAL')).to.deep.equal(['Harzer Spezialchemie GmbH']);
      expect(await search('tu')).to.deep.equal(['TU Clausthal']); // two characters: name prefix only
    });

    it('finds by member number in either form', async () => {
      const no = (await env.ctx.members.get(ids.tu))!.memberNumber;
      expect(await search(`M-${String(no).padStart(4, '0')}`)).to.deep.equal(['TU Clausthal']);
      expect(await search(String(no))).to.deep.equal(['TU Clausthal']);
    });

    it('finds by city, a contact\'s name and a contact\'s e-mail', async () => {
      expect(await search('goslar')).to.have.members(['Harzer Spezialchemie GmbH', 'Oker Metall GmbH']);
      expect(await search('übel')).to.deep.equal(['Harzer Spezialchemie GmbH']);
      expect(await search('Anna Klar')).to.deep.equal(['TU Clausthal']);
      expect(await search('accounting@harz')).to.deep.equal(['Harzer Spezialchemie GmbH']);
      expect(await search('@tu-clausthal.example')).to.deep.equal(['TU Clausthal']);
    });

    it('takes %, _, quotes and backslashes literally', async () => {
      expect(await search('%')).to.deep.equal([]); // no name starts with a literal %
      expect(await search('100%')).to.deep.equal(['100% Chemie &quot;Quote&quot; AG']);
      expect(await search('0% c')).to.deep.equal(['100% Chemie &quot;Quote&quot; AG']);
      expect(await search('%%%')).to.deep.equal([]);
      expect(await search('r_s')).to.deep.equal(['Under_score Labs KG']);
      expect(await search('___')).to.deep.equal([]);
      expect(await search('"quote"')).to.deep.equal(['100% Chemie &quot;Quote&quot; AG']);
      expect(await search("O'Brien")).to.deep.equal([]);
      expect(await search("'; drop table organisations; --")).to.deep.equal([]);
      expect(await search('k\\s')).to.deep.equal(['Back\\slash Analytik']);
      expect(await search('\\')).to.deep.equal([]);
      expect(await search('\\\\\\')).to.deep.equal([]);
      expect(await env.ctx.members.countActive()).to.equal(6);
    });

    it('answers a 1,000-character search with no results, not an error', async () => {
      expect(await search('a'.repeat(1000))).to.deep.equal([]);
      expect(await search('%_\\"\''.repeat(200))).to.deep.equal([]);
      const res = await board.get(`/board/members?q=${encodeURIComponent('x'.repeat(1000))}`);
      expect(res.text).to.contain('Keine Organisation gefunden');
    });

    it('keeps the search term in the form, escaped', async () => {
      const res = await board.get(`/board/members?q=${encodeURIComponent('<b>"x"</b>')}`);
      expect(res.text).to.contain('value="&lt;b&gt;&quot;x&quot;&lt;/b&gt;"');
    });
  });

  describe('detail', () => {
    it('shows organisation data, category, status, contacts with roles, history, placeholders and audit trail', async () => {
      const res = await board.get(`/board/members/${ids.harz}`);
      expect(res.status).to.equal(200);
      const t = res.text;
      expect(t).to.contain('Harzer Spezialchemie GmbH');
      expect(t).to.contain('Unternehmen (stimmberechtigt)');
      expect(t).to.contain('01.03.2015');
      expect(t).to.contain('Jürgen Übel');
      expect(t).to.match(/Jürgen Übel[\s\S]*?stimmberechtigte Vertretung/);
      expect(t).to.match(/Buchhaltung[\s\S]*?Rechnungsempfang/);
      expect(t).to.contain('Verlauf der Mitgliedschaft');
      expect(t).to.match(/01\.03\.2015<\/td>\s*<td>Eintritt/);
      expect(t).to.contain('Rechnungen und Zahlungen');
      expect(t).to.contain('Mitgliederversammlungen');
      expect(t).to.contain('Mitglied angelegt');
      expect(t).to.contain('Kontaktperson angelegt');
    });

    it('answers unknown and malformed ids with 404', async () => {
      expect((await board.get('/board/members/999999')).status).to.equal(404);
      expect((await board.get('/board/members/abc')).status).to.equal(404);
      expect((await board.get('/board/members/999999/edit')).status).to.equal(404);
    });

    it('is complete in English', async () => {
      const res = await board.get(`/board/members/${ids.harz}?lang=en`);
      expect(res.text).to.contain('Membership history');
      expect(res.text).to.contain('voting representative');
      expect(res.text).not.to.match(/members\.[a-z]+\.[a-zA-Z_.]+/);
      const list = await board.get('/board/members?lang=en');
      expect(list.text).to.contain('Member register');
      expect(list.text).not.to.match(/members\.[a-z]+\.[a-zA-Z_.]+/);
    });
  });
});
