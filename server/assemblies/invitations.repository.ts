import type { Knex } from 'knex';
import { insertId } from '../db/knex.ts';
import { rowToAssembly, rowToInvitation, type Assembly, type Invitation } from './assemblies.model.ts';
import type { AssemblyRow, DbBool, DeliveryRow, InvitationRow } from './assemblies.tables.ts';

type Q = Knex | Knex.Transaction;

/** An assembly an organisation was invited to, with its answer and attendance (one joined row). */
export interface AttendedRow {
  id: number;
  title: string;
  starts_at: string;
  status: string;
  attending: DbBool | null;
  checked_in_at: string | null;
}

/** Owns `assembly_invitations`, `assembly_invitation_tokens` and `assembly_deliveries`. */
export class InvitationsRepository {
  constructor(private db: Knex) {}

  async list(assemblyId: number, q: Q = this.db): Promise<Invitation[]> {
    return (await q('assembly_invitations').where({ assembly_id: assemblyId }).orderBy('member_number')).map(rowToInvitation);
  }

  async row(q: Q, assemblyId: number, invitationId: number): Promise<InvitationRow | undefined> {
    return q('assembly_invitations').where({ id: invitationId, assembly_id: assemblyId }).first();
  }

  async byId(q: Q, id: number): Promise<InvitationRow | undefined> {
    return q('assembly_invitations').where({ id }).first();
  }

  async forOrganisation(assemblyId: number, organisationId: number, q: Q = this.db): Promise<InvitationRow | undefined> {
    return q('assembly_invitations').where({ assembly_id: assemblyId, organisation_id: organisationId }).first();
  }

  async count(assemblyId: number, opts: { channel?: 'email' } = {}, q: Q = this.db): Promise<number> {
    const query = q('assembly_invitations').where({ assembly_id: assemblyId });
    if (opts.channel) query.andWhere({ channel: opts.channel });
    const [{ n }] = await query.count({ n: '*' });
    return Number(n);
  }

  async insert(q: Q, row: Omit<InvitationRow, 'id' | 'token_hash' | 'mail_message_id' | 'enqueued_at'>): Promise<void> {
    await q('assembly_invitations').insert(row);
  }

  async update(q: Q, id: number, values: Partial<Omit<InvitationRow, 'id'>>): Promise<void> {
    await q('assembly_invitations').where({ id }).update(values);
  }

  /** Links the invitation to its mail unless it already has one; the number of rows changed. */
  async setMail(q: Q, id: number, mailId: number, at: string): Promise<unknown> {
    return q('assembly_invitations').where({ id }).whereNull('mail_message_id').update({ mail_message_id: mailId, status: 'queued', enqueued_at: at });
  }

  /** The invitations by e-mail, in the order they were recorded; only those without a mail yet when `pendingOnly`. */
  async byEmail(assemblyId: number, opts: { pendingOnly?: boolean } = {}): Promise<Invitation[]> {
    const query = this.db('assembly_invitations').where({ assembly_id: assemblyId, channel: 'email' });
    if (opts.pendingOnly) query.whereNull('mail_message_id');
    return (await query.orderBy('id')).map(rowToInvitation);
  }

  async letters(q: Q, assemblyId: number, invitationId?: number): Promise<Invitation[]> {
    const query = q('assembly_invitations').where({ assembly_id: assemblyId, channel: 'letter' });
    if (invitationId !== undefined) query.andWhere({ id: invitationId });
    return (await query.orderBy('member_number')).map(rowToInvitation);
  }

  async organisationIds(assemblyId: number): Promise<Set<number>> {
    const rows = await this.db('assembly_invitations').where({ assembly_id: assemblyId }).select('organisation_id');
    return new Set(rows.map((r) => Number(r.organisation_id)));
  }

  /** The other invited organisations with a vote (who may hold a proxy), by name. */
  async others(assemblyId: number, organisationId: number): Promise<{ id: number; name: string }[]> {
    const rows = await this.db('assembly_invitations').where({ assembly_id: assemblyId, has_vote: true }).whereNot({ organisation_id: organisationId })
      .orderBy('organisation_name').select('organisation_id', 'organisation_name');
    return rows.map((r) => ({ id: Number(r.organisation_id), name: r.organisation_name }));
  }

  /** The assemblies an organisation was invited to, newest first. */
  async portalList(organisationId: number): Promise<Assembly[]> {
    const rows: AssemblyRow[] = await this.db('assembly_invitations as i').join('assemblies as a', 'a.id', 'i.assembly_id')
      .where('i.organisation_id', organisationId).select('a.*').orderBy('a.starts_at', 'desc');
    return rows.map(rowToAssembly);
  }

  async attendedBy(organisationId: number): Promise<AttendedRow[]> {
    return this.db('assembly_invitations as i')
      .join('assemblies as a', 'a.id', 'i.assembly_id')
      .leftJoin('assembly_rsvps as r', function () { this.on('r.assembly_id', '=', 'i.assembly_id').andOn('r.organisation_id', '=', 'i.organisation_id'); })
      .leftJoin('assembly_attendance as t', function () { this.on('t.assembly_id', '=', 'i.assembly_id').andOn('t.organisation_id', '=', 'i.organisation_id'); })
      .where('i.organisation_id', organisationId)
      .select('a.id', 'a.title', 'a.starts_at', 'a.status', 'r.attending', 't.checked_in_at')
      .orderBy('a.starts_at', 'desc');
  }

  /* personal links */

  async byTokenHash(hash: string): Promise<InvitationRow | undefined> {
    return this.db('assembly_invitation_tokens as t').join('assembly_invitations as i', 'i.id', 't.invitation_id')
      .where('t.token_hash', hash).select('i.*').first();
  }

  /** Records a new personal link of the invitation (earlier ones stay valid). */
  async addToken(q: Q, invitationId: number, hash: string, purpose: 'mail' | 'letter', at: string): Promise<void> {
    await q('assembly_invitation_tokens').insert({ invitation_id: invitationId, token_hash: hash, purpose, created_at: at });
    await q('assembly_invitations').where({ id: invitationId }).update({ token_hash: hash });
  }

  /* later mails */

  async delivery(q: Q, invitationId: number, key: string): Promise<DeliveryRow | undefined> {
    return q('assembly_deliveries').where({ invitation_id: invitationId, delivery_key: key }).first();
  }

  async countDeliveries(q: Q, invitationId: number, kind: string): Promise<number> {
    const [{ n }] = await q('assembly_deliveries').where({ invitation_id: invitationId, kind }).count({ n: '*' });
    return Number(n);
  }

  async insertDelivery(q: Q, row: Omit<DeliveryRow, 'id' | 'mail_message_id'>): Promise<number> {
    return insertId(q, 'assembly_deliveries', row);
  }

  async setDeliveryMail(q: Q, id: number, mailId: number): Promise<void> {
    await q('assembly_deliveries').where({ id }).update({ mail_message_id: mailId });
  }

  /** Every later mail of the assembly's invitations, in the order they were made. */
  async deliveries(assemblyId: number): Promise<DeliveryRow[]> {
    return this.db('assembly_deliveries as d').join('assembly_invitations as i', 'i.id', 'd.invitation_id')
      .where('i.assembly_id', assemblyId).select('d.*').orderBy('d.id');
  }
}
