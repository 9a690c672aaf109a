import type { Knex } from 'knex';
import { insertId } from '../db/knex.ts';
import type { MotionRow, ProxyRow, RsvpRow } from './assemblies.tables.ts';

type Q = Knex | Knex.Transaction;

/** An RSVP with the invitation's snapshot of the organisation. */
export interface RsvpWithInvitation extends RsvpRow {
  organisation_name: string;
  member_number: number;
}

/** Owns `assembly_rsvps`, `assembly_proxies` and `assembly_motions`. */
export class AnswersRepository {
  constructor(private db: Knex) {}

  /* RSVPs */

  async rsvp(assemblyId: number, organisationId: number, q: Q = this.db): Promise<RsvpRow | undefined> {
    return q('assembly_rsvps').where({ assembly_id: assemblyId, organisation_id: organisationId }).first();
  }

  async rsvps(assemblyId: number): Promise<RsvpRow[]> {
    return this.db('assembly_rsvps').where({ assembly_id: assemblyId });
  }

  async rsvpsWithInvitation(assemblyId: number): Promise<RsvpWithInvitation[]> {
    return this.db('assembly_rsvps as r').join('assembly_invitations as i', function () {
      this.on('i.assembly_id', '=', 'r.assembly_id').andOn('i.organisation_id', '=', 'r.organisation_id');
    }).where('r.assembly_id', assemblyId).select('r.*', 'i.organisation_name', 'i.member_number').orderBy('i.member_number');
  }

  async saveRsvp(q: Q, before: RsvpRow | undefined, row: Omit<RsvpRow, 'id'>): Promise<void> {
    if (before) await q('assembly_rsvps').where({ id: before.id }).update(row);
    else await q('assembly_rsvps').insert(row);
  }

  /* proxies */

  /** The proxies in force (not withdrawn) of an assembly. */
  async activeProxies(assemblyId: number, q: Q = this.db): Promise<ProxyRow[]> {
    return q('assembly_proxies').where({ assembly_id: assemblyId }).whereNull('withdrawn_at');
  }

  /** Every proxy of an assembly, withdrawn ones too, in the order given. */
  async proxies(assemblyId: number): Promise<ProxyRow[]> {
    return this.db('assembly_proxies').where({ assembly_id: assemblyId }).orderBy('id');
  }

  async proxyGivenBy(assemblyId: number, giverId: number, q: Q = this.db): Promise<ProxyRow | undefined> {
    return q('assembly_proxies').where({ assembly_id: assemblyId, giver_organisation_id: giverId }).whereNull('withdrawn_at').first();
  }

  async proxiesHeldBy(assemblyId: number, holderId: number): Promise<ProxyRow[]> {
    return this.db('assembly_proxies').where({ assembly_id: assemblyId, holder_organisation_id: holderId }).whereNull('withdrawn_at');
  }

  /** The proxies in force an organisation has given, for every assembly. */
  async activeProxiesGivenBy(giverId: number): Promise<ProxyRow[]> {
    return this.db('assembly_proxies').where({ giver_organisation_id: giverId }).whereNull('withdrawn_at');
  }

  async insertProxy(q: Q, row: Omit<ProxyRow, 'id' | 'withdrawn_at'>): Promise<number> {
    return insertId(q, 'assembly_proxies', row);
  }

  async withdrawProxy(q: Q, id: number, at: string): Promise<void> {
    await q('assembly_proxies').where({ id }).update({ withdrawn_at: at });
  }

  /* motions */

  async motions(assemblyId: number, organisationId?: number): Promise<MotionRow[]> {
    const query = this.db('assembly_motions').where({ assembly_id: assemblyId });
    if (organisationId !== undefined) query.andWhere({ organisation_id: organisationId });
    return query.orderBy('id');
  }

  async motion(assemblyId: number, motionId: number): Promise<MotionRow | undefined> {
    return this.db('assembly_motions').where({ id: motionId, assembly_id: assemblyId }).first();
  }

  async insertMotion(q: Q, row: Omit<MotionRow, 'id'>): Promise<number> {
    return insertId(q, 'assembly_motions', row);
  }
}
