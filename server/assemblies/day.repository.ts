import type { Knex } from 'knex';
import type { AttendanceRow, ResolutionAmendmentRow, ResolutionRow } from './assemblies.tables.ts';

type Q = Knex | Knex.Transaction;

/** Owns `assembly_attendance`, `assembly_resolutions` and `assembly_resolution_amendments`: the day itself. */
export class DayRepository {
  constructor(private db: Knex) {}

  async attendance(assemblyId: number): Promise<AttendanceRow[]> {
    return this.db('assembly_attendance').where({ assembly_id: assemblyId });
  }

  async attendanceOf(q: Q, assemblyId: number, organisationId: number): Promise<AttendanceRow | undefined> {
    return q('assembly_attendance').where({ assembly_id: assemblyId, organisation_id: organisationId }).first();
  }

  async saveAttendance(q: Q, before: AttendanceRow | undefined, row: Omit<AttendanceRow, 'id'>): Promise<void> {
    if (before) await q('assembly_attendance').where({ id: before.id }).update(row);
    else await q('assembly_attendance').insert(row);
  }

  async checkOut(q: Q, id: number, values: Pick<AttendanceRow, 'checked_out_at' | 'updated_by' | 'updated_at'>): Promise<void> {
    await q('assembly_attendance').where({ id }).update(values);
  }

  async resolutions(assemblyId: number): Promise<ResolutionRow[]> {
    return this.db('assembly_resolutions').where({ assembly_id: assemblyId });
  }

  async resolutionOf(q: Q, itemId: number): Promise<ResolutionRow | undefined> {
    return q('assembly_resolutions').where({ agenda_item_id: itemId }).first();
  }


  /** Writes a result only if it still has the version the board saw (optimistic lock); false when someone else saved first. */
  async saveResolutionIfVersion(q: Q, before: ResolutionRow | undefined, row: Omit<ResolutionRow, 'id'>): Promise<boolean> {
    if (!before) {
      // someone else recording the first result at the same moment: the unique agenda_item_id refuses the second
      const existing = await q('assembly_resolutions').where({ agenda_item_id: row.agenda_item_id }).first('id');
      if (existing) return false;
      await q('assembly_resolutions').insert(row);
      return true;
    }
    const n = await q('assembly_resolutions').where({ id: before.id, version: before.version }).update(row);
    return n === 1;
  }

  async insertAmendment(q: Q, row: Omit<ResolutionAmendmentRow, 'id'>): Promise<void> {
    await q('assembly_resolution_amendments').insert(row);
  }

  async amendments(assemblyId: number): Promise<ResolutionAmendmentRow[]> {
    return this.db('assembly_resolution_amendments').where({ assembly_id: assemblyId }).orderBy('id');
  }

  /** h/minutes: marks the result corrections not yet sent as sent with corrected minutes; returns how many. */
  async markAmendmentsSent(q: Q, assemblyId: number, at: string): Promise<number> {
    return q('assembly_resolution_amendments').where({ assembly_id: assemblyId }).whereNull('sent_at').update({ sent_at: at });
  }
}
