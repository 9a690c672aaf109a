import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { addOrg, contactInput, orgInput } from './members.fixtures.ts';
import { rebuildSearchWords, searchWords } from '../../server/members/members.repository.ts';

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

/**
 * Search by a contact's name (organisation_words holds every word start of every contact's
 * name key too): a last name is found through the index like a name, and the words follow
 * every change of a contact at once. Each term below also starts a word of another
 * organisation's name, so the index answers it and the "contains" fallback (which would find
 * a contact's last name anyway, slowly) never runs: a missing or stale contact word shows.
 */
describe('member register: search by a contact\'s name', () => {
  let env: TestEnv;
  let cats: Record<string, number>;
  let board: Browser;
  const ids: Record<string, number> = {};
  const search = async (q: string, extra = '') => {
    const res = await board.get(`/board/members?q=${encodeURIComponent(q)}${extra}`);
    expect(res.status, q).to.equal(200);
    return names(res.text);
  };
  const contactOf = async (orgId: number, name: string) => (await env.ctx.members.contacts(orgId)).find((c) => c.name === name)!;
  const words = async () => (await env.db('organisation_words').orderBy([{ column: 'organisation_id' }, { column: 'word' }]).select('organisation_id', 'member_number', 'word'))
    .map((r) => `${Number(r.organisation_id)}/${Number(r.member_number)}/${r.word}`);

  before(async () => {
    env = await createTestEnv();
    cats = await makeCategories(env.ctx);
    await makeUser(env.ctx, 'board@test.example', ['board'], 'Berta Vorstand');
    ids.gusswerk = await addOrg(env, orgInput(cats.company, { legalName: 'Okertaler Gusswerk GmbH', city: 'Goslar' }), [
      contactInput({ name: 'Jürgen Übel', email: 'j.uebel@gusswerk.example' }),
      contactInput({ name: 'Petra Groß', email: 'rechnung@gusswerk.example', isRepresentative: false, isBilling: true }),
    ]);
    ids.mueller = await addOrg(env, orgInput(cats.company, { legalName: 'Müller Feinchemie GmbH', city: 'Seesen' }), [contactInput({ name: 'Hans Müller' })]);
    ids.labor = await addOrg(env, orgInput(cats.research, { legalName: 'Harzer Labor AG', city: 'Wernigerode' }), [contactInput({ name: 'Dr. Anna Müller' })]);
    ids.uebelhack = await addOrg(env, orgInput(cats.company, { legalName: 'Übelhack Metall GmbH', city: 'Langelsheim' }), [contactInput({ name: 'Erika Muster' })]);
    ids.grossmann = await addOrg(env, orgInput(cats.supporting, { legalName: 'Großmann Analytik GmbH', city: 'Braunlage' }));
    ids.wohlgemuth = await addOrg(env, orgInput(cats.supporting, { legalName: 'Wohlgemuth Verpackung KG', city: 'Osterode am Harz' }));
    ids.broker = await addOrg(env, orgInput(cats.supporting, { legalName: 'Brokerhaus Harz AG', city: 'Seesen' }), [contactInput({ name: 'Karl Makowski' })]);
    board = new Browser(env.app);
    await board.login('board@test.example', PASSWORD);
  });
  after(async () => env.close());

  it('keeps every word start of a contact\'s name', () => {
    expect(searchWords('okertaler gusswerk gmbh', 'goslar', 'jürgen übel', 'dr. anna müller')).to.deep.equal([
      'okertaler gusswerk gmbh', 'gusswerk gmbh', 'gmbh', 'goslar', 'jürgen übel', 'übel', 'dr. anna müller', 'anna müller', 'müller',
    ]);
  });

  it('finds an organisation by a contact\'s last name, in member number order, ignoring case and Unicode form', async () => {
    expect(await search('Übel')).to.deep.equal(['Okertaler Gusswerk GmbH', 'Übelhack Metall GmbH']);
    expect(await search('übel')).to.deep.equal(['Okertaler Gusswerk GmbH', 'Übelhack Metall GmbH']);
    expect(await search('ÜBEL')).to.deep.equal(['Okertaler Gusswerk GmbH', 'Übelhack Metall GmbH']);
    expect(await search('U\u0308bel')).to.deep.equal(['Okertaler Gusswerk GmbH', 'Übelhack Metall GmbH']); // decomposed umlaut (NFD), as some keyboards send it
    expect(await search('GROß')).to.deep.equal(['Okertaler Gusswerk GmbH', 'Großmann Analytik GmbH']);
    // the name of one organisation, the contact of another: each organisation once
    expect(await search('Müller')).to.deep.equal(['Müller Feinchemie GmbH', 'Harzer Labor AG']);
    expect(await search('anna m')).to.deep.equal(['Harzer Labor AG']); // from the first name on, after a title
    expect((await board.get('/board/members?q=m%C3%BCller')).text).to.contain('2 Organisationen');
    // with a filter (another query plan): the same
    expect(await search('müller', '&status=active')).to.deep.equal(['Müller Feinchemie GmbH', 'Harzer Labor AG']);
    expect(await search('müller', '&sort=name')).to.deep.equal(['Harzer Labor AG', 'Müller Feinchemie GmbH']);
  });

  it('finds a contact by the new name right after renaming it, and no longer by the old one', async () => {
    const juergen = await contactOf(ids.gusswerk, 'Jürgen Übel');
    const res = await board.submit(`/board/members/${ids.gusswerk}/contacts/${juergen.id}/edit`, {
      name: 'Jürgen Wohlgemuth', email: juergen.email, phone: '', position: '', isRepresentative: 'yes', locale: 'de', version: juergen.version,
    });
    expect(res.status).to.equal(303);
    expect(await search('übel')).to.deep.equal(['Übelhack Metall GmbH']);
    expect(await search('wohlgemuth')).to.deep.equal(['Okertaler Gusswerk GmbH', 'Wohlgemuth Verpackung KG']);
    // another change of the contact (not its name) keeps its words
    const renamed = await contactOf(ids.gusswerk, 'Jürgen Wohlgemuth');
    const again = await board.submit(`/board/members/${ids.gusswerk}/contacts/${renamed.id}/edit`, {
      name: renamed.name, email: renamed.email, phone: '', position: 'Geschäftsführung', isRepresentative: 'yes', locale: 'de', version: renamed.version,
    });
    expect(again.status).to.equal(303);
    expect(await search('wohlgemuth')).to.deep.equal(['Okertaler Gusswerk GmbH', 'Wohlgemuth Verpackung KG']);
  });

  it('finds a contact added to an organisation, and no longer one removed from it', async () => {
    const added = await board.submit(`/board/members/${ids.wohlgemuth}/contacts/new`, { name: 'Sabine Übel', email: '', phone: '', position: '', locale: 'de' });
    expect(added.status).to.equal(303);
    expect(await search('übel')).to.deep.equal(['Übelhack Metall GmbH', 'Wohlgemuth Verpackung KG']);

    const petra = await contactOf(ids.gusswerk, 'Petra Groß');
    const page = await board.get(`/board/members/${ids.gusswerk}`);
    const removed = await board.agent.post(`/board/members/${ids.gusswerk}/contacts/${petra.id}/delete`).type('form').send({ _csrf: Browser.csrfFrom(page.text) });
    expect(removed.status).to.equal(303);
    expect((await env.ctx.members.contacts(ids.gusswerk)).map((c) => c.name)).to.deep.equal(['Jürgen Wohlgemuth']);
    expect(await search('groß')).to.deep.equal(['Großmann Analytik GmbH']);
    expect(await search('petra groß')).to.deep.equal([]);
  });

  it('finds an organisation by its new name after a rename, still by its contacts, and no longer by the old name', async () => {
    const org = (await env.ctx.members.get(ids.broker))!;
    const res = await board.submit(`/board/members/${ids.broker}/edit`, {
      legalName: 'Harzer Makler AG', legalForm: 'AG', street: org.street, postcode: org.postcode, city: 'Bad Harzburg', country: 'DE', employeeBand: '1-49', version: org.version,
    });
    expect(res.status).to.equal(303);
    expect(await search('makler')).to.deep.equal(['Harzer Makler AG']);
    expect(await search('harzer')).to.deep.equal(['Harzer Labor AG', 'Harzer Makler AG']);
    expect(await search('brokerhaus')).to.deep.equal([]);
    expect(await search('makowski')).to.deep.equal(['Harzer Makler AG']);
    expect(await search('mako')).to.deep.equal(['Harzer Makler AG']);
  });

  it('no longer finds an organisation by the names of its contacts once they are anonymised (GDPR)', async () => {
    await env.db('organisations').where({ id: ids.labor }).update({ status: 'former', exit_date: '2020-12-31', exit_reason: 'notice' });
    const res = await board.submit('/board/gdpr', { ids: String(ids.labor) }, '/board/gdpr/anonymise');
    expect(res.status).to.equal(303);
    expect((await env.db('contacts').where({ organisation_id: ids.labor }).first())!.name).to.equal('anonymisiert');
    expect(await search('müller')).to.deep.equal(['Müller Feinchemie GmbH']);
    expect(await search('anna müller')).to.deep.equal([]);
    expect(await search('müller', '&status=former')).to.deep.equal([]);
    expect(await search('harzer labor')).to.deep.equal(['Harzer Labor AG']); // the organisation's own name stays
  });

  it('counts an organisation found by its name and by a contact\'s name once, on every page and with filters', async () => {
    await env.db.transaction(async (trx) => {
      for (let i = 1; i <= 70; i++) {
        // 1–40: the name and the representative match "zander"; 41–70: the representative only
        const legalName = i <= 40 ? `Zander Chemie ${i} GmbH` : `Harzwerk ${i} GmbH`;
        await env.ctx.members.createOrganisation(trx, { userId: null, label: 'test' }, orgInput(cats.company, { legalName, city: 'Goslar' }), [
          contactInput({ name: `Karl Zander` }), contactInput({ name: `Zora Zander`, isRepresentative: false, isBilling: true }),
        ], { invite: false, welcome: false });
      }
    });
    const first = await board.get('/board/members?q=zander');
    expect(first.text).to.contain('70 Organisationen');
    const page1 = names(first.text);
    expect(page1).to.have.length(50);
    expect(page1.slice(0, 3)).to.deep.equal(['Zander Chemie 1 GmbH', 'Zander Chemie 2 GmbH', 'Zander Chemie 3 GmbH']);
    const next = /href="([^"]+)" rel="next"/.exec(first.text)?.[1].replace(/&#x3D;/g, '=').replace(/&amp;/g, '&');
    expect(next).to.be.a('string');
    const second = await board.get(next!);
    expect(second.text).to.contain('70 Organisationen');
    const page2 = names(second.text);
    expect(page2).to.have.length(20);
    expect(page2.at(-1)).to.equal('Harzwerk 70 GmbH');
    expect(new Set([...page1, ...page2]).size).to.equal(70);
    expect((await board.get('/board/members?q=zander&status=active')).text).to.contain('70 Organisationen');
    expect((await board.get('/board/members?q=zander&sort=name')).text).to.contain('70 Organisationen');
    expect((await board.get('/board/members?q=zander chemie')).text).to.contain('40 Organisationen');
    expect((await board.get('/board/members?q=zora zander')).text).to.contain('70 Organisationen');
  });

  it('rebuilds the same words from scratch (the migration) as the edits kept', async () => {
    const kept = await words();
    expect(kept).to.include(`${ids.gusswerk}/1/wohlgemuth`);
    expect(kept).not.to.include(`${ids.gusswerk}/1/übel`);
    await env.db.transaction((trx) => rebuildSearchWords(trx));
    expect(await words()).to.deep.equal(kept);
  });
});
