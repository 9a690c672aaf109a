import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { isPostgres } from '../../server/db/knex.ts';
import { nameKey } from '../../server/members/members.service.ts';

/**
 * The register with 100,000 organisations (and 200,000 contacts): pages, sorting, searching
 * and counting stay fast, and the paging and prefix queries use indexes.
 * Set MEMBERS_SCALE_REPORT=1 to print the measured times.
 */
describe('member register at 100,000 organisations', function () {
  this.timeout(120_000);
  const N = 100_000;
  let env: TestEnv;
  let board: Browser;
  const times: Record<string, number> = {};

  const timed = async (label: string, url: string) => {
    await board.get(url); // warm-up (template, statement cache)
    const t0 = process.hrtime.bigint();
    const res = await board.get(url);
    times[label] = Number(process.hrtime.bigint() - t0) / 1e6;
    expect(res.status, label).to.equal(200);
    return res;
  };

  before(async () => {
    env = await createTestEnv();
    const cats = await makeCategories(env.ctx);
    await makeUser(env.ctx, 'board@test.example', ['board']);
    const cities = ['Goslar', 'Clausthal-Zellerfeld', 'Bad Harzburg', 'Seesen', 'Langelsheim', 'Braunlage', 'Osterode am Harz', 'Wernigerode'];
    const words = ['Chemie', 'Metall', 'Analytik', 'Labor', 'Werkstoff', 'Polymer', 'Recycling', 'Verfahrenstechnik'];
    const now = new Date().toISOString();
    await env.db.transaction(async (trx) => {
      for (let start = 1; start <= N; start += 500) {
        const orgs = [];
        for (let i = start; i < start + 500 && i <= N; i++) {
          const name = `${words[i % 8]} ${String.fromCharCode(65 + (i % 26))}${i} ${i % 3 ? 'GmbH' : 'AG'}`;
          const city = cities[i % cities.length];
          const status = i % 20 === 0 ? 'former' : i % 33 === 0 ? 'notice_given' : 'active';
          orgs.push({
            id: i, member_number: i, legal_name: name, name_key: nameKey(name), city, city_key: nameKey(city), country: 'DE',
            category_id: [cats.company, cats.research, cats.supporting][i % 3], status,
            join_date: `${1990 + (i % 36)}-${String((i % 12) + 1).padStart(2, '0')}-01`,
            exit_date: status === 'former' ? '2020-12-31' : status === 'notice_given' ? '2099-12-31' : null,
            version: 1, created_at: now, updated_at: now,
          });
        }
        await trx('organisations').insert(orgs);
        const contacts = orgs.flatMap((o) => [
          { organisation_id: o.id, name: `Person ${o.id}`, name_key: `person ${o.id}`, email: `kontakt${o.id}@firma${o.id}.example`, is_representative: true, is_billing: false, created_at: now, updated_at: now },
          { organisation_id: o.id, name: `Buchhaltung ${o.id}`, name_key: `buchhaltung ${o.id}`, email: `rechnung${o.id}@firma${o.id}.example`, is_representative: false, is_billing: true, created_at: now, updated_at: now },
        ]);
        await trx('contacts').insert(contacts.slice(0, 500));
        await trx('contacts').insert(contacts.slice(500));
      }
      await trx('membership_history').insert({ organisation_id: 1, effective_date: '1991-02-01', kind: 'joined', status: 'active', category_id: cats.research, created_at: now });
    });
    board = new Browser(env.app);
    await board.login('board@test.example', PASSWORD);
  });
  after(async () => {
    if (process.env.MEMBERS_SCALE_REPORT) console.log(Object.entries(times).map(([k, v]) => `  ${k.padEnd(40)} ${v.toFixed(1)} ms`).join('\n'));
    await env.close();
  });

  it('serves first pages, deep pages, sorted pages and filters at this size', async () => {
    const first = await timed('list, first page', '/board/members');
    expect(first.text).to.contain('Mehr als 10000 Organisationen');
    // walk to a deep page through the "next" links' cursor, then time a deep page directly
    const next = /href="([^"]+)" rel="next"/.exec(first.text)![1].replace(/&amp;/g, '&');
    await timed('list, second page (keyset)', next);
    const deepCursor = Buffer.from(JSON.stringify([99_000, 99_000])).toString('base64url');
    const deep = await timed('list, page near the end (keyset)', `/board/members?after=${deepCursor}`);
    expect(deep.text).to.contain('M-99001');
    await timed('sort by name', '/board/members?sort=name');
    await timed('sort by city, descending', '/board/members?sort=city&dir=desc');
    await timed('sort by join date', '/board/members?sort=joined');
    await timed('filter former', '/board/members?status=former');
    await timed('filter category + year', '/board/members?category=2&year=2001');
    // speed is measured by npm run bench; here the pages must answer correctly at this size
  });

  it('searches by number, prefix and contained text at this size', async () => {
    const byNo = await timed('search member number', '/board/members?q=M-54321');
    expect(byNo.text).to.contain('M-54321');
    await timed('search 2-char prefix', '/board/members?q=Me');
    const contains = await timed('search contains (name)', '/board/members?q=K4321');
    expect(contains.text).to.contain('K4321');
    const mail = await timed('search contains (contact e-mail)', '/board/members?q=rechnung77777%40');
    expect(mail.text).to.contain('M-77777');
    await timed('search without hits', '/board/members?q=zzzzzz');
    await timed('search 1000 characters', `/board/members?q=${'x'.repeat(1000)}`);
  });

  it('counts members on a date without reading every row per page', async () => {
    const t0 = process.hrtime.bigint();
    const active = await env.ctx.members.countActive('2026-11-25');
    const voting = await env.ctx.members.countVoting('2026-11-25');
    times['countActive + countVoting (on demand)'] = Number(process.hrtime.bigint() - t0) / 1e6;
    expect(active).to.equal(N - N / 20);
    expect(voting).to.be.greaterThan(0).and.below(active);
  });

  it('uses indexes for keyset pages and name prefixes (SQLite query plans)', async function () {
    if (isPostgres(env.db)) this.skip();
    const plan = async (sql: string, b: (string | number)[]) => (await env.db.raw(`explain query plan ${sql}`, b)).map((r: { detail: string }) => r.detail).join(' | ');
    const keyset = await plan('select * from organisations as o where (o.name_key, o.id) > (?, ?) order by o.name_key asc, o.id asc limit 51', ['m', 0]);
    expect(keyset).to.match(/USING INDEX organisations_name_key_id_index/);
    expect(keyset).not.to.match(/TEMP B-TREE/);
    const prefix = await plan('select * from organisations as o where o.name_key >= ? and o.name_key < ? order by o.member_number limit 51', ['me', 'mf']);
    expect(prefix).to.match(/USING INDEX organisations_name_key/);
    const like = await plan("select * from organisations as o where o.name_key like ? escape '\\'", ['me%']);
    expect(like).to.match(/SCAN/); // a LIKE prefix cannot use the (BINARY) index: why the range is used
    const byNumber = await plan('select * from organisations as o where o.member_number > ? order by o.member_number limit 51', [99_000]);
    expect(byNumber).to.match(/USING INDEX/);
  });
});
