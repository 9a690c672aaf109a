import { expect } from 'chai';
import type { Knex } from 'knex';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { isPostgres } from '../../server/db/knex.ts';
import { createLogger } from '../../server/logger.ts';
import { linkFor } from './assemblies.fixtures.ts';
import { ballotWorld, type BallotWorld } from './ballots.fixtures.ts';

/** Every row of every table, as JSON lines per table. */
async function everyRow(db: Knex): Promise<Map<string, Set<string>>> {
  const names: string[] = isPostgres(db)
    ? (await db.raw<{ rows: { table_name: string }[] }>("select table_name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'")).rows.map((r) => r.table_name)
    : (await db.raw<{ name: string }[]>("select name from sqlite_master where type = 'table' and name not like 'sqlite_%'")).map((r) => r.name);
  const out = new Map<string, Set<string>>();
  for (const n of names) out.set(n, new Set((await db(n).select('*')).map((r: Record<string, unknown>) => JSON.stringify(r, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('base64') : v)))));
  return out;
}

/**
 * Issue 15 item 4: a secret ballot records THAT a member voted, and separately the votes, with no
 * stored value that joins them. This test looks at every row of every table written, and every
 * log line, while three voters cast five votes.
 */
describe('ballots: a secret ballot keeps no link between voter and vote', function () {
  this.timeout(120_000);
  let env: TestEnv;
  let w: BallotWorld;
  const logLines: string[] = [];

  before(async () => {
    env = await createTestEnv({ log: createLogger('debug', { write: (s: string) => { logLines.push(s); } }) });
    w = await ballotWorld(env);
  });
  after(async () => env.close());

  it('writes the voters and the counters apart, and nothing else that says how anyone voted', async () => {
    const open = await w.board.submit(`/board/assemblies/${w.id}/ballots`, { question: 'Geheim: Entlastung?', minutes: '10', secret: '1' }, `/board/assemblies/${w.id}/ballots/items/${w.items.resolution}`);
    const id = Number(/ballots\/(\d+)$/.exec(open.headers.location as string)![1]);
    const formA = await w.portalA.get(`/portal/assemblies/${w.id}/ballots/${id}`);
    expect(formA.text).to.contain('Geheime Abstimmung');
    const b = new Browser(env.app);
    const linkB = await linkFor(env.ctx, 'b@b.example');
    const formB = await b.get(`${linkB}/ballots/${id}`);
    const tablet = await w.board.get(`/board/assemblies/${w.id}/ballots/${id}/tablet?member=${w.org.e}`);

    const before = await everyRow(env.db);
    logLines.length = 0;
    // A: own yes, C's proxy no, D's proxy yes; B no (personal link); E abstains (tablet)
    const r1 = await w.portalA.agent.post(`/portal/assemblies/${w.id}/ballots/${id}`).type('form').send({ all: 'yes', [`m${w.org.c}`]: 'no', _csrf: Browser.csrfFrom(formA.text) });
    const r2 = await b.agent.post(`${linkB}/ballots/${id}`).type('form').send({ all: 'no', _csrf: Browser.csrfFrom(formB.text) });
    const r3 = await w.board.agent.post(`/board/assemblies/${w.id}/ballots/${id}/tablet/${w.org.e}`).type('form').send({ all: 'abstain', _csrf: Browser.csrfFrom(tablet.text) });
    expect([r1.status, r2.status, r3.status]).to.deep.equal([303, 303, 303]);
    const after = await everyRow(env.db);

    const written = new Map<string, unknown[]>();
    for (const [table, rows] of after) {
      const added = [...rows].filter((r) => !before.get(table)?.has(r)).map((r) => JSON.parse(r) as Record<string, unknown>);
      if (added.length) written.set(table, added);
    }
    // only these tables were written: THAT members voted, the counters, the audit log, the sessions (flash messages)
    expect([...written.keys()].sort()).to.deep.equal(['assembly_ballot_tallies', 'assembly_ballot_voters', 'audit_log', 'sessions']);
    // the voters: who, by whom, by which path; no choice, no time
    const voters = written.get('assembly_ballot_voters') as Record<string, unknown>[];
    expect(voters).to.have.length(5);
    for (const v of voters) {
      expect(Object.keys(v).sort()).to.deep.equal(['ballot_id', 'cast_by_organisation_id', 'choice', 'organisation_id', 'via', 'voted_at']);
      expect(v.choice).to.equal(null);
      expect(v.voted_at).to.equal(null);
    }
    // the votes: counters per option, no member, token, time or sequence
    const tallies = written.get('assembly_ballot_tallies') as Record<string, unknown>[];
    for (const t of tallies) expect(Object.keys(t).sort()).to.deep.equal(['ballot_id', 'option_key', 'votes']);
    const count = Object.fromEntries((await env.db('assembly_ballot_tallies').where({ ballot_id: id })).map((t: { option_key: string; votes: number }) => [t.option_key, Number(t.votes)]));
    expect(count).to.deep.equal({ yes: 2, no: 2, abstain: 1, _cast: 5 });
    // the count of voters equals the count of votes
    expect(count.yes + count.no + count.abstain).to.equal(voters.length);
    // the audit log and the sessions say THAT members voted, never how
    const choiceWords = /"(yes|no|abstain)"|choices|options|\bJa\b|\bNein\b|Enthaltung/;
    for (const row of [...(written.get('audit_log') ?? []), ...(written.get('sessions') ?? [])]) expect(JSON.stringify(row)).to.not.match(choiceWords);
    expect(written.get('audit_log')).to.have.length(3);
    // no log line while voting names a choice
    for (const line of logLines) expect(line).to.not.match(choiceWords);
  });
});
