import type { Knex } from 'knex';
import { iso, type Clock } from '../clock.ts';
import type { AuditLogRow } from './audit.tables.ts';
import { auditEntityTypes, auditIdsPastRetention, auditRows, auditRowsOfEntities, countAuditDetailsPastRetention, emptyAuditDetails, insertAuditRow, insertAuditRows } from './audit.repository.ts';
import { anonymiseAuditEntries } from './audit.repository.ts'; // h/gdpr
import type { DataSubject } from '../db/redact.ts'; // h/gdpr

export interface Actor {
  userId: number | null;
  label: string; // a user's display name, 'system', 'applicant', 'cli'
}
export const SYSTEM: Actor = { userId: null, label: 'system' };

export interface AuditEntry {
  id: number;
  at: string;
  actorUserId: number | null;
  actorLabel: string;
  action: string;
  entityType: string;
  entityId: number | null;
  before: unknown;
  after: unknown;
}

function parseJson(text: string | null): unknown {
  return text ? JSON.parse(text) : null;
}

function rowToEntry(r: AuditLogRow): AuditEntry {
  return {
    id: Number(r.id),
    at: r.at,
    actorUserId: r.actor_user_id == null ? null : Number(r.actor_user_id),
    actorLabel: r.actor_label,
    action: r.action,
    entityType: r.entity_type,
    entityId: r.entity_id == null ? null : Number(r.entity_id),
    before: parseJson(r.before),
    after: parseJson(r.after),
  };
}

/** Append-only audit log: rows are inserted, never updated or deleted. */
export class AuditService {
  constructor(private db: Knex, private clock: Clock) {}

  /** Retention: how many entries still hold before/after values older than the cutoffs (books: their own). */
  countDetailsPastRetention(cutoffs: { other: string; books: string }): Promise<number> {
    return countAuditDetailsPastRetention(this.db, cutoffs);
  }

  /** Retention: empties the before/after values of up to `limit` such entries (one transaction); returns how many. */
  async emptyDetailsPastRetention(cutoffs: { other: string; books: string }, limit = 1000): Promise<number> {
    return this.db.transaction(async (trx) => {
      const ids = await auditIdsPastRetention(trx, cutoffs, limit);
      await emptyAuditDetails(trx, ids);
      return ids.length;
    });
  }

  /** h/gdpr: inside the anonymisation's transaction, the subject's personal values in the entries become the placeholder (the entries stay); returns how many changed. */
  anonymise(trx: Knex.Transaction, subject: DataSubject): Promise<number> {
    return anonymiseAuditEntries(trx, subject);
  }

  private row(actor: Actor, action: string, entityType: string, entityId: number | null, before: unknown, after: unknown, at: string): Omit<AuditLogRow, 'id'> {
    return {
      at,
      actor_user_id: actor.userId,
      actor_label: actor.label.slice(0, 200),
      action,
      entity_type: entityType,
      entity_id: entityId,
      before: before === undefined ? null : JSON.stringify(before),
      after: after === undefined ? null : JSON.stringify(after),
    };
  }

  async record(
    trx: Knex | Knex.Transaction,
    actor: Actor,
    action: string,
    entityType: string,
    entityId: number | null,
    before?: unknown,
    after?: unknown,
  ): Promise<void> {
    await insertAuditRow(trx, this.row(actor, action, entityType, entityId, before, after, iso(this.clock.now())));
  }

  /** Many entries of one actor in the caller's transaction, in order, the same rows as `record` one by one (batched inserts). */
  async recordMany(
    trx: Knex | Knex.Transaction,
    actor: Actor,
    entries: { action: string; entityType: string; entityId: number | null; before?: unknown; after?: unknown }[],
  ): Promise<void> {
    const at = iso(this.clock.now());
    await insertAuditRows(trx, entries.map((e) => this.row(actor, e.action, e.entityType, e.entityId, e.before, e.after, at)));
  }

  async list(opts: { entityType?: string; entityId?: number; action?: string; limit?: number; beforeId?: number } = {}): Promise<AuditEntry[]> {
    const rows = await auditRows(this.db, { ...opts, limit: Math.min(opts.limit ?? 50, 500) });
    return rows.map(rowToEntry);
  }

  /** The entity types that occur in the log (for the administration's filter). */
  async entityTypes(): Promise<string[]> {
    return auditEntityTypes(this.db);
  }

  /**
   * The entries of any of the given entities (e.g. an organisation and its contacts), in id
   * order (`desc`: newest first), at most `limit`.
   */
  async forEntities(refs: { entityType: string; ids: number[] }[], opts: { order: 'asc' | 'desc'; limit: number }, q: Knex | Knex.Transaction = this.db): Promise<AuditEntry[]> {
    return (await auditRowsOfEntities(q, refs, opts.order, opts.limit)).map(rowToEntry);
  }

}

/** Keeps only the keys whose values differ, for compact before/after records. */
export function diff(before: Record<string, unknown>, after: Record<string, unknown>): { before: Record<string, unknown>; after: Record<string, unknown> } {
  const b: Record<string, unknown> = {};
  const a: Record<string, unknown> = {};
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (JSON.stringify(before[k]) !== JSON.stringify(after[k])) {
      b[k] = before[k];
      a[k] = after[k];
    }
  }
  return { before: b, after: a };
}
