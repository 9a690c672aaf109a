import type { Knex } from 'knex';
import { insertId } from '../db/knex.ts';
import { rowToAssembly, rowToItem, type AgendaItem, type Assembly } from './assemblies.model.ts';
import type { AgendaItemRow, AssemblyRow, LateNotice, OverrideRow } from './assemblies.tables.ts';

type Q = Knex | Knex.Transaction;
const BY_POSITION = [{ column: 'position' }, { column: 'id' }];

/** Owns `assemblies`, `assembly_agenda_items` and `assembly_overrides`. */
export class AssembliesRepository {
  constructor(private db: Knex) {}

  async list(): Promise<Assembly[]> {
    return (await this.db('assemblies').orderBy('starts_at', 'desc')).map(rowToAssembly);
  }

  async row(id: number, q: Q = this.db): Promise<AssemblyRow | undefined> {
    return q('assemblies').where({ id }).first();
  }

  async find(id: number, q: Q = this.db): Promise<Assembly | undefined> {
    const r = await this.row(id, q);
    return r ? rowToAssembly(r) : undefined;
  }

  async insert(q: Q, row: Omit<AssemblyRow, 'id' | 'lock_version' | 'notified_sequence' | 'invited_at' | 'cancelled_at' | 'notice_changed_sequence'>): Promise<number> {
    return insertId(q, 'assemblies', row);
  }

  async update(q: Q, id: number, values: Partial<Omit<AssemblyRow, 'id'>>): Promise<void> {
    await q('assemblies').where({ id }).update(values);
  }

  /** Sets the draft's values (e.g. status 'invited'); the number of rows changed, 0 if it was no longer a draft. */
  async updateDraft(q: Q, id: number, values: Partial<Omit<AssemblyRow, 'id'>>): Promise<unknown> {
    return q('assemblies').where({ id, status: 'draft' }).update(values);
  }

  /** Serialises the answers to an assembly (row lock on PostgreSQL; SQLite has one writer anyway). */
  async lock(q: Q, id: number): Promise<void> {
    await q('assemblies').where({ id }).increment('lock_version', 1);
  }

  /* agenda */

  async itemRows(assemblyId: number, q: Q = this.db): Promise<AgendaItemRow[]> {
    return q('assembly_agenda_items').where({ assembly_id: assemblyId }).orderBy(BY_POSITION);
  }

  async agenda(assemblyId: number, q: Q = this.db): Promise<AgendaItem[]> {
    const a = await this.row(assemblyId, q);
    return (await this.itemRows(assemblyId, q)).map((r) => rowToItem(r, a?.status));
  }

  async itemRow(assemblyId: number, itemId: number, q: Q = this.db): Promise<AgendaItemRow | undefined> {
    return q('assembly_agenda_items').where({ id: itemId, assembly_id: assemblyId }).first();
  }

  async maxPosition(q: Q, assemblyId: number): Promise<number> {
    const max = await q('assembly_agenda_items').where({ assembly_id: assemblyId }).max({ m: 'position' }).first();
    return Number(max?.m ?? 0);
  }

  async insertItem(q: Q, row: Omit<AgendaItemRow, 'id' | 'supplement_sent_at' | 'late_notice'> & Partial<Pick<AgendaItemRow, 'late_notice'>>): Promise<number> {
    return insertId(q, 'assembly_agenda_items', row);
  }

  async updateItem(q: Q, id: number, values: Partial<Omit<AgendaItemRow, 'id'>>): Promise<void> {
    await q('assembly_agenda_items').where({ id }).update(values);
  }

  async deleteItem(q: Q, id: number): Promise<void> {
    await q('assembly_agenda_items').where({ id }).delete();
  }

  /** Supplementary items not yet sent to the invitees. */
  async unsentSupplement(q: Q, assemblyId: number): Promise<AgendaItemRow[]> {
    return q('assembly_agenda_items').where({ assembly_id: assemblyId, supplementary: true }).whereNull('supplement_sent_at');
  }

  async markSupplementSent(q: Q, ids: number[], at: string): Promise<void> {
    await q('assembly_agenda_items').whereIn('id', ids).update({ supplement_sent_at: at });
  }

  async itemForMotion(assemblyId: number, motionId: number): Promise<AgendaItemRow | undefined> {
    return this.db('assembly_agenda_items').where({ assembly_id: assemblyId, motion_id: motionId }).first();
  }

  async motionIdsOnAgenda(assemblyId: number): Promise<Set<number>> {
    const rows = await this.db('assembly_agenda_items').where({ assembly_id: assemblyId }).whereNotNull('motion_id').select('motion_id');
    return new Set(rows.map((r) => Number(r.motion_id)));
  }

  /* overrides */

  async insertOverride(q: Q, row: Omit<OverrideRow, 'id' | 'sequence' | 'item_ids'> & Partial<Pick<OverrideRow, 'sequence' | 'item_ids'>>): Promise<void> {
    await q('assembly_overrides').insert(row);
  }

  /* h/notice: late announcements */

  /** Marks agenda items as announced late (only those not marked yet keep their first reason). */
  async markLateNotice(q: Q, ids: number[], kind: LateNotice): Promise<void> {
    if (ids.length) await q('assembly_agenda_items').whereIn('id', ids).whereNull('late_notice').update({ late_notice: kind });
  }

  /** Clears the mark of items announced in time after all (e.g. the assembly was moved to a later date). */
  async clearLateNotice(q: Q, ids: number[]): Promise<void> {
    if (ids.length) await q('assembly_agenda_items').whereIn('id', ids).update({ late_notice: null });
  }

  /** Whether a late update of this calendar sequence was allowed with a reason. */
  async hasUpdateOverride(q: Q, assemblyId: number, sequence: number): Promise<boolean> {
    return !!(await q('assembly_overrides').where({ assembly_id: assemblyId, kind: 'late_update', sequence }).first());
  }

  async overrides(assemblyId: number): Promise<OverrideRow[]> {
    return this.db('assembly_overrides').where({ assembly_id: assemblyId }).orderBy('id');
  }
}
