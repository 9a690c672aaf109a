import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { addOrg, contactInput, orgInput } from './members.fixtures.ts';
import { searchWords } from '../../server/members/members.repository.ts';

/** The organisation names in the list's table, in order. */
function names(html: string): string[] {
  const body = html.split('<tbody>')[1]?.split('</tbody>')[0] ?? '';
  return [...body.matchAll(/<td><a href="\/board\/members\/\d+">([^<]+)<\/a><\/td>/g)].map((m) => m[1].replace(/&amp;/g, '&'));
}

/**
 * The register's word-start search (organisation_words) and the cached numbers at a glance
 * (issue 3, "Speed and memory"): what the board sees must not change for the worse, and the
 * numbers must follow every change at once.
 */
describe('member register: word-start search and up-to-date numbers', () => {
  let env: TestEnv;
  let cats: Record<string, number>;
  let board: Browser;
  const ids: Record<string, number> = {};
  const search = async (q: string) => {
    const res = await board.get(`/board/members?q=${encodeURIComponent(q)}`);
    expect(res.status, q).to.equal(200);
    return names(res.text);
  };
  const nextUrl = (html: string) => /href="([^"]+)" rel="next"/.exec(html)?.[1].replace(/&#x3D;/g, '=').replace(/&amp;/g, '&');
  const stats = async () => {
    const text = (await board.get('/board/members')).text;
    const n = (label: string) => Number(new RegExp(`<strong>(\\d+)</strong> ${label}`).exec(text)?.[1]);
    return { members: n('Mitglieder'), voting: n('stimmberechtigte'), notice: n('gekündigt') };
  };

  before(async () => {
    env = await createTestEnv();
    cats = await makeCategories(env.ctx);
    await makeUser(env.ctx, 'board@test.example', ['board'], 'Berta Vorstand');
    ids.okertal = await addOrg(env, orgInput(cats.company, { legalName: 'Okertaler Gusswerk GmbH', city: 'Goslar' }));
    ids.oker = await addOrg(env, orgInput(cats.company, { legalName: 'Oker Spezialgase KG', city: 'Goslar' }));
    ids.broker = await addOrg(env, orgInput(cats.supporting, { legalName: 'Brokerhaus Harz AG', city: 'Seesen' }));
    ids.tu = await addOrg(env, orgInput(cats.research, { legalName: 'TU Clausthal', city: 'Clausthal-Zellerfeld' }), [
      contactInput({ name: 'Prof. Anna Klar', email: 'klar@tu-clausthal.example' }),
    ]);
    board = new Browser(env.app);
    await board.login('board@test.example', PASSWORD);
  });
  after(async () => env.close());

  it('keeps the rest of name and town from every word start', () => {
    expect(searchWords('harzer spezialchemie gmbh', 'clausthal-zellerfeld')).to.deep.equal([
      'harzer spezialchemie gmbh', 'spezialchemie gmbh', 'gmbh', 'clausthal-zellerfeld', 'zellerfeld',
    ]);
    expect(searchWords('100% chemie "quote" ag', '')).to.deep.equal(['100% chemie "quote" ag', 'chemie "quote" ag', '"quote" ag', 'quote" ag', 'ag']);
  });

  it('finds word starts of the name and the town, also several words, ignoring case', async () => {
    expect(await search('Oker')).to.deep.equal(['Okertaler Gusswerk GmbH', 'Oker Spezialgase KG']);
    expect(await search('spezial')).to.deep.equal(['Oker Spezialgase KG']);
    expect(await search('GUSSWERK gm')).to.deep.equal(['Okertaler Gusswerk GmbH']);
    expect(await search('zellerfeld')).to.deep.equal(['TU Clausthal']);
    expect(await search('prof. anna')).to.deep.equal(['TU Clausthal']); // a contact's name from its start
    expect(await search('klar@tu')).to.deep.equal(['TU Clausthal']);
  });

  it('looks for the term anywhere only when nothing starts with it', async () => {
    // "oker" starts words of two names: "Brokerhaus" (contains it) is not among them
    expect(await search('oker')).not.to.include('Brokerhaus Harz AG');
    expect(await search('roker')).to.deep.equal(['Brokerhaus Harz AG']);
    expect(await search('@tu-clausthal.example')).to.deep.equal(['TU Clausthal']);
    expect(await search('nna kl')).to.deep.equal(['TU Clausthal']);
    expect(await search('anna')).to.deep.equal(['TU Clausthal']); // "Prof. Anna Klar": no name starts with it
    expect(await search('zzzz')).to.deep.equal([]);
  });

  it('finds an organisation by its new name right after an edit, and no longer by the old one', async () => {
    const org = (await env.ctx.members.get(ids.broker))!;
    const res = await board.submit(`/board/members/${ids.broker}/edit`, {
      legalName: 'Harzer Makler AG', legalForm: 'AG', street: org.street, postcode: org.postcode, city: 'Bad Harzburg', country: 'DE', employeeBand: '1-49', version: org.version,
    });
    expect(res.status).to.equal(303);
    expect(await search('makler')).to.deep.equal(['Harzer Makler AG']);
    expect(await search('bad harz')).to.deep.equal(['Harzer Makler AG']);
    expect(await search('brokerhaus')).to.deep.equal([]);
    expect(await search('seesen')).to.deep.equal([]);
  });

  it('counts search hits up to 100 and says "more than 100" beyond, paging on through all of them', async () => {
    await env.db.transaction(async (trx) => {
      for (let i = 0; i < 101; i++) {
        await env.ctx.members.createOrganisation(trx, { userId: null, label: 'test' }, orgInput(cats.company, { legalName: `Sammelfirma ${i} GmbH`, city: 'Langelsheim' }), [], { invite: false, welcome: false });
      }
    });
    const first = await board.get('/board/members?q=sammelfirma');
    expect(first.text).to.contain('Mehr als 100 Organisationen');
    expect(names(first.text)).to.have.length(50);
    const seen = new Set(names(first.text));
    let next = nextUrl(first.text);
    for (let pages = 1; next && pages < 10; pages++) {
      const page = await board.get(next);
      expect(page.text).to.contain('Mehr als 100 Organisationen');
      for (const n of names(page.text)) seen.add(n);
      next = nextUrl(page.text);
    }
    expect(seen.size).to.equal(101);
    expect((await board.get('/board/members?q=sammelfirma 10')).text).to.contain('2 Organisationen'); // "… 10 GmbH", "… 100 GmbH"
  });

  it('shows the numbers at a glance changed at once after a notice, a new member and a category without vote', async () => {
    const before = await stats();
    const org = (await env.ctx.members.get(ids.oker))!;
    const notice = await board.submit(`/board/members/${ids.oker}/status`, { receivedDate: '2026-11-01', version: org.version }, `/board/members/${ids.oker}/notice`);
    expect(notice.status).to.equal(303);
    expect((await stats()).notice).to.equal(before.notice + 1);

    await addOrg(env, orgInput(cats.research, { legalName: 'Neues Institut', city: 'Goslar' }));
    const after = await stats();
    expect(after.members).to.equal(before.members + 1);
    expect(after.voting).to.equal(before.voting + 1);

    const research = (await env.ctx.settings.category(cats.research))!;
    await env.ctx.settings.saveCategory({ userId: null, label: 'test' }, { ...research, hasVote: false });
    expect((await stats()).voting).to.equal(after.voting - 2); // TU Clausthal and the new institute
  });
});
