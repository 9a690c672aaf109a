import type { Knex } from 'knex';
import { affected, insertId } from '../db/knex.ts';
import type { WrittenAnswer, WrittenBallotRow, WrittenResolutionRow, WrittenStatus, WrittenTokenRow } from './written.tables.ts';

type Q = Knex | Knex.Transaction;

/** Owns `assembly_written_resolutions`, `assembly_written_ballots` and `assembly_written_tokens` (resolutions without an assembly). */
export class WrittenRepository {
  constructor(private db: Knex) {}

  async list(): Promise<WrittenResolutionRow[]> {
    return this.db('assembly_written_resolutions').orderBy('id', 'desc');
  }

  async row(id: number, q: Q = this.db): Promise<WrittenResolutionRow | undefined> {
    return q('assembly_written_resolutions').where({ id }).first();
  }

  async insert(q: Q, row: Omit<WrittenResolutionRow, 'id' | 'rule' | 'adopted' | 'result' | 'sent_at' | 'decided_at'>): Promise<number> {
    return insertId(q, 'assembly_written_resolutions', row);
  }

  /** Changes the resolution only while it has the status `from`; true when it did (so two board members never both do it). */
  async updateIf(q: Q, id: number, from: WrittenStatus, values: Partial<Omit<WrittenResolutionRow, 'id'>>): Promise<boolean> {
    return affected(await q('assembly_written_resolutions').where({ id, status: from }).update(values)) === 1;
  }

  async insertBallot(q: Q, row: Omit<WrittenBallotRow, 'id' | 'mail_message_id' | 'result_mail_id' | 'answer' | 'answered_at' | 'answered_name' | 'answered_token_id'>): Promise<number> {
    return insertId(q, 'assembly_written_ballots', row);
  }

  async ballots(resolutionId: number, q: Q = this.db): Promise<WrittenBallotRow[]> {
    return q('assembly_written_ballots').where({ resolution_id: resolutionId }).orderBy('member_number');
  }

  async ballot(q: Q, id: number): Promise<WrittenBallotRow | undefined> {
    return q('assembly_written_ballots').where({ id }).first();
  }

  async updateBallot(q: Q, id: number, values: Partial<Pick<WrittenBallotRow, 'mail_message_id' | 'result_mail_id'>>): Promise<void> {
    await q('assembly_written_ballots').where({ id }).update(values);
  }

  /** Records the answer unless one was recorded; true when this call did. */
  async answer(q: Q, id: number, values: { answer: WrittenAnswer; answered_at: string; answered_name: string; answered_token_id: number }): Promise<boolean> {
    return affected(await q('assembly_written_ballots').where({ id }).whereNull('answer').update(values)) === 1;
  }

  async insertToken(q: Q, row: Omit<WrittenTokenRow, 'id'>): Promise<number> {
    return insertId(q, 'assembly_written_tokens', row);
  }

  async tokenByHash(hash: string, q: Q = this.db): Promise<WrittenTokenRow | undefined> {
    return q('assembly_written_tokens').where({ token_hash: hash }).first();
  }

  async token(id: number, q: Q = this.db): Promise<WrittenTokenRow | undefined> {
    return q('assembly_written_tokens').where({ id }).first();
  }

  /** The tokens of the ballots by id (to say through which link each answer came). */
  async tokens(ids: number[], q: Q = this.db): Promise<Map<number, WrittenTokenRow>> {
    const out = new Map<number, WrittenTokenRow>();
    for (let i = 0; i < ids.length; i += 500) {
      for (const r of await q('assembly_written_tokens').whereIn('id', ids.slice(i, i + 500))) out.set(Number(r.id), r);
    }
    return out;
  }
}
