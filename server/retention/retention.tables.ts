/** Row types of the table the retention module owns (see server/db/ownership.ts). */

export type RetentionRunStatus = 'running' | 'done' | 'failed' | 'interrupted';
export type RetentionTrigger = 'daily' | 'admin' | 'cli';

export interface RetentionRunRow {
  id: number;
  trigger: RetentionTrigger;
  dry_run: boolean | number;
  /** the Berlin day of a daily run (unique); null for runs started by hand */
  run_day: string | null;
  status: RetentionRunStatus;
  /** JSON: what was done (or, for a dry run, would be done) per kind */
  counts: string;
  error: string | null;
  actor_label: string;
  started_at: string;
  finished_at: string | null;
}

declare module 'knex/types/tables' {
  interface Tables {
    retention_runs: RetentionRunRow;
  }
}
