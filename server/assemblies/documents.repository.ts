import type { Knex } from 'knex';
import { insertId } from '../db/knex.ts';
import type { AttachmentRow, MinutesAmendmentRow, MinutesRow } from './assemblies.tables.ts';

type Q = Knex | Knex.Transaction;

/** An attachment without its content. */
export type AttachmentInfo = Pick<AttachmentRow, 'id' | 'filename' | 'content_type' | 'size' | 'created_at'>;

/** Owns `assembly_minutes` and `assembly_attachments`: the assembly's documents. */
export class DocumentsRepository {
  constructor(private db: Knex) {}

  /* minutes */

  async minutes(assemblyId: number, q: Q = this.db): Promise<MinutesRow | undefined> {
    return q('assembly_minutes').where({ assembly_id: assemblyId }).first();
  }

  async sentMinutes(assemblyId: number): Promise<MinutesRow | undefined> {
    return this.db('assembly_minutes').where({ assembly_id: assemblyId }).whereNotNull('sent_at').first();
  }

  /** The minutes whose PDF is this attachment, if any. */
  async minutesWithFile(assemblyId: number, attachmentId: number): Promise<MinutesRow | undefined> {
    return this.db('assembly_minutes').where({ assembly_id: assemblyId, attachment_id: attachmentId }).first();
  }

  async saveMinutes(q: Q, assemblyId: number, before: MinutesRow | undefined, values: Partial<Omit<MinutesRow, 'id' | 'assembly_id'>>): Promise<void> {
    if (before) await q('assembly_minutes').where({ id: before.id }).update(values);
    else await q('assembly_minutes').insert({ assembly_id: assemblyId, ...values });
  }

  async markMinutesSent(q: Q, id: number, at: string): Promise<void> {
    await q('assembly_minutes').where({ id }).update({ sent_at: at });
  }

  /* h/minutes: corrections of sent minutes */

  async insertMinutesAmendment(q: Q, row: Omit<MinutesAmendmentRow, 'id'>): Promise<void> {
    await q('assembly_minutes_amendments').insert(row);
  }

  async minutesAmendments(assemblyId: number, q: Q = this.db): Promise<MinutesAmendmentRow[]> {
    return q('assembly_minutes_amendments').where({ assembly_id: assemblyId }).orderBy('id');
  }

  /** Marks the corrections not yet sent as sent with corrected minutes; returns how many. */
  async markMinutesAmendmentsSent(q: Q, assemblyId: number, at: string): Promise<number> {
    return q('assembly_minutes_amendments').where({ assembly_id: assemblyId }).whereNull('sent_at').update({ sent_at: at });
  }

  async markCorrectedSent(q: Q, id: number, at: string): Promise<void> {
    await q('assembly_minutes').where({ id }).update({ corrected_sent_at: at });
  }

  /* attachments */

  /** The documents for the invitees: every attachment but the minutes PDF. */
  async attachments(assemblyId: number): Promise<AttachmentInfo[]> {
    return this.db('assembly_attachments').where({ assembly_id: assemblyId })
      .whereNotIn('id', this.db('assembly_minutes').whereNotNull('attachment_id').select('attachment_id'))
      .select('id', 'filename', 'content_type', 'size', 'created_at').orderBy('id');
  }

  async attachment(assemblyId: number, attachmentId: number, q: Q = this.db): Promise<AttachmentRow | undefined> {
    return q('assembly_attachments').where({ id: attachmentId, assembly_id: assemblyId }).first();
  }

  async attachmentInfo(q: Q, id: number): Promise<Pick<AttachmentRow, 'id' | 'filename'> | undefined> {
    return q('assembly_attachments').where({ id }).select('id', 'filename').first();
  }

  async insertAttachment(q: Q, row: Omit<AttachmentRow, 'id'>): Promise<number> {
    return insertId(q, 'assembly_attachments', row);
  }

  async minutesFile(assemblyId: number): Promise<AttachmentInfo | undefined> {
    return this.db('assembly_minutes as m').join('assembly_attachments as f', 'f.id', 'm.attachment_id')
      .where('m.assembly_id', assemblyId).select('f.id', 'f.filename', 'f.content_type', 'f.size', 'f.created_at').first();
  }

  /** Deletes an attachment, unlinking it from the minutes first. */
  async deleteAttachment(q: Q, id: number): Promise<void> {
    await q('assembly_minutes').where({ attachment_id: id }).update({ attachment_id: null });
    await q('assembly_attachments').where({ id }).delete();
  }

  /** Deletes an attachment no minutes point to any more. */
  async deleteUnlinkedAttachment(q: Q, id: number): Promise<void> {
    await q('assembly_attachments').where({ id }).delete();
  }
}
