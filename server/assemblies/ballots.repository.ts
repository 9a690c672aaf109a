import type { Knex } from 'knex';
import { insertId } from '../db/knex.ts';
import type { BallotEligibleRow, BallotRow, BallotTallyRow, BallotVoterRow } from './ballots.tables.ts';

type Q = Knex | Knex.Transaction;

/**
 * h/evote: owns `assembly_ballots`, `assembly_ballot_eligible`, `assembly_ballot_voters` and
 * `assembly_ballot_tallies`. A vote is written by `castVote`: the voter row (its primary key
 * refuses a second vote of the member) and the counters of the chosen options, in the caller's
 * transaction, so the count of voters always equals the count of votes.
 */
export class BallotsRepository {
  constructor(private db: Knex) {}

  async insertBallot(q: Q, row: Omit<BallotRow, 'id'>, eligible: Omit<BallotEligibleRow, 'ballot_id'>[], optionKeys: string[]): Promise<number> {
    const id = await insertId(q, 'assembly_ballots', row);
    if (eligible.length) await q('assembly_ballot_eligible').insert(eligible.map((e) => ({ ...e, ballot_id: id })));
    await q('assembly_ballot_tallies').insert(optionKeys.map((k) => ({ ballot_id: id, option_key: k, votes: 0 })));
    return id;
  }

  async ballot(id: number, q: Q = this.db): Promise<BallotRow | undefined> {
    return q('assembly_ballots').where({ id }).first();
  }

  /** The ballot row locked for the rest of the transaction (PostgreSQL; SQLite has one writer anyway). */
  async ballotForUpdate(q: Knex.Transaction, id: number): Promise<BallotRow | undefined> {
    const query = q('assembly_ballots').where({ id });
    return (q.client.config.client === 'pg' ? query.forUpdate() : query).first();
  }

  /** The ballot row, kept from closing until the vote's transaction ends (PostgreSQL: FOR SHARE; votes do not wait for each other). */
  async ballotForShare(q: Knex.Transaction, id: number): Promise<BallotRow | undefined> {
    const query = q('assembly_ballots').where({ id });
    return (q.client.config.client === 'pg' ? query.forShare() : query).first();
  }

  async ballots(assemblyId: number, q: Q = this.db): Promise<BallotRow[]> {
    return q('assembly_ballots').where({ assembly_id: assemblyId }).orderBy('id');
  }

  async openBallotOf(q: Q, agendaItemId: number): Promise<BallotRow | undefined> {
    return q('assembly_ballots').where({ agenda_item_id: agendaItemId, status: 'open' }).first();
  }

  /** The open ballots whose window has ended at `now`. */
  async dueBallots(now: string): Promise<BallotRow[]> {
    return this.db('assembly_ballots').where({ status: 'open' }).andWhere('closes_at', '<=', now);
  }

  async hasClosedBallot(q: Q, agendaItemId: number): Promise<boolean> {
    return !!(await q('assembly_ballots').where({ agenda_item_id: agendaItemId, status: 'closed' }).first('id'));
  }

  async eligible(ballotId: number, q: Q = this.db): Promise<BallotEligibleRow[]> {
    return q('assembly_ballot_eligible').where({ ballot_id: ballotId });
  }

  /** The snapshot's rows whose vote `holderId` casts (its own and the proxies it held at the opening). */
  async eligibleHeldBy(ballotId: number, holderId: number, q: Q = this.db): Promise<BallotEligibleRow[]> {
    return q('assembly_ballot_eligible').where({ ballot_id: ballotId, holder_organisation_id: holderId });
  }

  /** Which of `organisationIds` have voted in the ballot. */
  async votedAmong(ballotId: number, organisationIds: number[], q: Q = this.db): Promise<number[]> {
    if (!organisationIds.length) return [];
    return (await q('assembly_ballot_voters').where({ ballot_id: ballotId }).whereIn('organisation_id', organisationIds).pluck('organisation_id')).map(Number);
  }

  async voters(ballotId: number, q: Q = this.db): Promise<BallotVoterRow[]> {
    return q('assembly_ballot_voters').where({ ballot_id: ballotId });
  }

  async voterCount(ballotId: number, q: Q = this.db): Promise<number> {
    const r = await q('assembly_ballot_voters').where({ ballot_id: ballotId }).count<{ n: number | string }[]>({ n: '*' });
    return Number(r[0]?.n ?? 0);
  }

  async tallies(ballotId: number, q: Q = this.db): Promise<BallotTallyRow[]> {
    return q('assembly_ballot_tallies').where({ ballot_id: ballotId }).orderBy('option_key');
  }

  /**
   * Records one member's vote: the voter row (a second one for the same member fails on the
   * primary key, whatever path or device it came by) and the counters of its options.
   */
  async castVote(q: Knex.Transaction, voter: BallotVoterRow, optionKeys: string[]): Promise<void> {
    await q('assembly_ballot_voters').insert(voter);
    for (const key of optionKeys) {
      const n = await q('assembly_ballot_tallies').where({ ballot_id: voter.ballot_id, option_key: key }).increment('votes', 1);
      if (!n) throw new Error(`no counter for option ${key}`);
    }
  }

  async addCounts(q: Knex.Transaction, ballotId: number, counts: Record<string, number>): Promise<void> {
    for (const [key, n] of Object.entries(counts)) if (n) await q('assembly_ballot_tallies').where({ ballot_id: ballotId, option_key: key }).increment('votes', n);
  }

  async updateBallot(q: Q, id: number, values: Partial<Omit<BallotRow, 'id'>>, whereStatus?: BallotRow['status']): Promise<number> {
    const query = q('assembly_ballots').where({ id });
    if (whereStatus) query.andWhere({ status: whereStatus });
    return query.update(values);
  }
}
