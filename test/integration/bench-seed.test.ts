import { expect } from 'chai';
import type { Knex } from 'knex';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { BENCH_CITIES, BenchSeedInputError, BenchSeedRefused, runBenchSeedCli, type BenchSeedResult } from '../../bench/seed-members.ts';
import { nameKey } from '../../server/members/members.service.ts';

/**
 * `npm run bench:seed -- --members N` (bench/seed-members.ts) on a small register (500): counts, numbering and
 * the spread of the generated data, and that the register works with it. No timing here:
 * bench/run.ts measures speed.
 */
describe('bench:seed: generated members for benchmarks', function () {
  this.timeout(60_000);
  const N = 500;
  const TODAY = '2026-11-25'; // the test clock's date
  let env: TestEnv;
  let result: BenchSeedResult;
  const printed: string[] = [];
  let orgs: Record<string, any>[];
  let contacts: Record<string, any>[];

  before(async () => {
    env = await createTestEnv();
    result = await runBenchSeedCli(env.ctx, { members: String(N) }, (l) => printed.push(l));
    orgs = await env.db('organisations').orderBy('member_number');
    contacts = await env.db('contacts').orderBy('id');
  });
  after(async () => env.close());

  it('fills the register with N members numbered 1..N, and the next member gets N + 1', async () => {
    expect(result.organisations).to.equal(N);
    expect(orgs.map((o) => Number(o.member_number))).to.deep.equal(Array.from({ length: N }, (_, i) => i + 1));
    expect(printed.at(-1)).to.match(/^Done: 500 organisations, \d+ contacts, \d+ history entries/);
    const counter = (await env.db('counters').where({ name: 'member_number' }).first())!;
    expect(Number(counter.value)).to.equal(N);

    const { memberNumber } = await env.db.transaction((trx: Knex.Transaction) => env.ctx.members.createOrganisation(trx, { userId: null, label: 'test' }, {
      legalName: 'Neue Mitglied GmbH', legalForm: 'GmbH', street: 'Markt 1', postcode: '38640', city: 'Goslar', country: 'DE', website: '',
      registerEntry: '', vatId: '', fieldOfActivity: '', employeeBand: '1-49', categoryId: result.categories.company, joinDate: TODAY,
    }, [], { invite: false, welcome: false }));
    expect(memberNumber).to.equal(N + 1);
    await env.db('membership_history').where('organisation_id', env.db('organisations').select('id').where('member_number', N + 1)).delete();
    await env.db('audit_log').where({ entity_type: 'organisation' }).delete();
    await env.db('organisations').where('member_number', N + 1).delete();
    await env.db('counters').where({ name: 'member_number' }).update({ value: N });
  });

  it('gives every member 1 to 4 contacts (about 2.5), one of them the representative', () => {
    expect(result.contacts).to.equal(contacts.length);
    const byOrg = new Map<number, Record<string, any>[]>();
    for (const c of contacts) byOrg.set(Number(c.organisation_id), [...(byOrg.get(Number(c.organisation_id)) ?? []), c]);
    expect(byOrg.size).to.equal(N);
    for (const list of byOrg.values()) {
      expect(list.length).to.be.within(1, 4);
      expect(list.filter((c) => c.is_representative === 1 || c.is_representative === true)).to.have.length(1);
      const mails = list.map((c) => c.email).filter(Boolean);
      expect(new Set(mails).size).to.equal(mails.length);
    }
    expect(contacts.length / N).to.be.within(2.2, 2.8);
    for (const c of contacts) {
      expect(c.name_key).to.equal(nameKey(c.name));
      expect(c.email).to.equal(String(c.email).toLowerCase());
      if (c.email) expect(c.email).to.match(/^[a-z0-9.]+@[a-z0-9-]+\.example$/);
    }
  });

  it('spreads statuses, with exit dates that fit them', () => {
    const by = (s: string) => orgs.filter((o) => o.status === s);
    expect(by('active').length / N).to.be.within(0.75, 0.95);
    expect(by('notice_given').length).to.be.at.least(3);
    expect(by('former').length / N).to.be.within(0.06, 0.2);
    for (const o of by('active')) expect(o.exit_date).to.equal(null);
    for (const o of by('notice_given')) expect(o.exit_date >= TODAY, `${o.member_number} ${o.exit_date}`).to.equal(true);
    for (const o of by('former')) {
      expect(o.exit_date < TODAY).to.equal(true);
      expect(o.exit_date >= o.join_date).to.equal(true);
      expect(['notice', 'dissolution', 'exclusion']).to.include(o.exit_reason);
    }
  });

  it('uses the demo categories, join years 1990 to today in member-number order, and towns of the Goslar district', async () => {
    const cats = await env.db('membership_categories').select('id', 'code');
    expect(cats.map((c) => c.code).sort()).to.deep.equal(['company', 'honorary', 'research', 'supporting']);
    const used = new Set(orgs.map((o) => Number(o.category_id)));
    for (const c of cats) expect(used.has(Number(c.id)), c.code).to.equal(true);
    expect(orgs.filter((o) => Number(o.category_id) === result.categories.company).length / N).to.be.within(0.6, 0.8);

    const joins = orgs.map((o) => String(o.join_date));
    expect(joins[0] >= '1990-01-01').to.equal(true);
    expect(joins.at(-1)! <= TODAY).to.equal(true);
    expect([...joins].sort()).to.deep.equal(joins); // numbers follow the join order
    expect(new Set(joins.map((d) => d.slice(0, 4))).size).to.be.at.least(30);

    const towns = new Map(BENCH_CITIES.map((c) => [c.city, c.postcodes]));
    for (const o of orgs) {
      expect(towns.get(o.city), o.city).to.include(o.postcode);
      expect(o.name_key).to.equal(nameKey(o.legal_name));
      expect(o.city_key).to.equal(nameKey(o.city));
    }
    expect(new Set(orgs.map((o) => o.city)).size).to.be.at.least(8);
    expect(new Set(orgs.map((o) => o.legal_name)).size).to.be.above(N * 0.9);
  });

  it('writes each member\'s history (joined, and how former members left)', async () => {
    const history = await env.db('membership_history').select('organisation_id', 'kind', 'effective_date');
    expect(history).to.have.length(result.history);
    const kinds = (id: number) => history.filter((h) => Number(h.organisation_id) === id).map((h) => h.kind);
    for (const o of orgs) {
      const k = kinds(Number(o.id));
      expect(k[0], String(o.member_number)).to.equal('joined');
      if (o.status === 'former') expect(k).to.include('exited');
      if (o.status === 'notice_given') expect(k).to.include('notice_received');
    }
  });

  it('gives a register the board can page, filter, search and open', async () => {
    await makeUser(env.ctx, 'board@test.example', ['board']);
    const board = new Browser(env.app);
    await board.login('board@test.example', PASSWORD);

    const first = await board.get('/board/members');
    expect(first.status).to.equal(200);
    expect(first.text).to.contain('M-0001');
    expect(first.text).to.match(/href="\/board\/members\?after[^"]+" rel="next"/);

    const former = orgs.find((o) => o.status === 'former')!;
    const formerPage = await board.get('/board/members?status=former');
    expect(formerPage.text).to.contain(`M-${String(former.member_number).padStart(4, '0')}`);
    const active = orgs.find((o) => o.status === 'active')!;
    expect(first.text).to.contain(`>M-${String(active.member_number).padStart(4, '0')}</td>`);
    expect(formerPage.text).not.to.contain(`>M-${String(active.member_number).padStart(4, '0')}</td>`);

    const c = contacts.find((x) => x.email && Number(x.organisation_id) === Number(orgs[250].id))!;
    const found = await board.get(`/board/members?q=${encodeURIComponent(c.email)}`);
    expect(found.text).to.contain(`M-${String(orgs[250].member_number).padStart(4, '0')}`);

    const detail = await board.get(`/board/members/${orgs[250].id}`);
    expect(detail.status).to.equal(200);
    expect(detail.text).to.contain(c.email);

    // listing applied no overdue exits: every member with notice given is still within its notice period
    expect(await env.db('organisations').where({ status: 'former' }).count({ n: '*' }).then(([r]) => Number(r.n))).to.equal(orgs.filter((o) => o.status === 'former').length);
  });

  it('refuses a register that holds members already, and a bad --members', async () => {
    let err: unknown;
    try { await runBenchSeedCli(env.ctx, { members: '10' }, () => {}); } catch (e) { err = e; }
    expect(err).to.be.instanceOf(BenchSeedRefused);
    expect((err as Error).message).to.contain('already holds 500 organisations');
    expect(await env.db('organisations').count({ n: '*' }).then(([r]) => Number(r.n))).to.equal(N);

    for (const bad of [undefined, '', '0', '-5', 'abc', '1.5', '1000001']) {
      let e2: unknown;
      try { await runBenchSeedCli(env.ctx, { members: bad }, () => {}); } catch (e) { e2 = e; }
      expect(e2, String(bad)).to.be.instanceOf(BenchSeedInputError);
    }
  });
});
