/** Row types of the table the audit module owns (see server/db/ownership.ts). */

export interface AuditLogRow {
  id: number;
  at: string;
  actor_user_id: number | null;
  /** 'system', 'applicant', a user's name */
  actor_label: string;
  action: string;
  entity_type: string;
  entity_id: number | null;
  /** JSON */
  before: string | null;
  /** JSON */
  after: string | null;
}

declare module 'knex/types/tables' {
  interface Tables {
    audit_log: AuditLogRow;
  }
}
