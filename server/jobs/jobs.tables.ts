/** Row types of the table the jobs module owns (see server/db/ownership.ts). */

export type JobStatus = 'queued' | 'running' | 'done' | 'failed';

export interface JobRow {
  id: number;
  kind: string;
  /** one queued or running job per key; cleared when the job ends */
  unique_key: string | null;
  status: JobStatus;
  progress: number;
  total: number;
  /** JSON object */
  payload: string | null;
  /** JSON object */
  result: string | null;
  error: string | null;
  locked_until: string | null;
  /** h/money2: a queued job waits until then (UTC ISO) before it runs again; null: at once */
  run_after?: string | null;
  /** h/money2: the runs that ended with "try again later" */
  attempts?: number;
  created_by: number | null;
  created_at: string;
  updated_at: string;
}

declare module 'knex/types/tables' {
  interface Tables {
    jobs: JobRow;
  }
}
