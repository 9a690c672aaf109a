import type { Knex } from 'knex';
import { iso, type Clock } from '../clock.ts';
import { affected, insertId } from '../db/knex.ts';
import { ConflictError } from '../errors.ts';
import type { Logger } from '../logger.ts';

/**
 * Persisted background jobs (dues runs, later invitation sending and imports) on the `jobs`
 * table: status queued → running → done | failed, progress/total for a progress bar, and a
 * heartbeat in `locked_until`. A job whose heartbeat stopped (the process crashed or was
 * restarted) is taken over by the next `start` with the same key or by `resumeStale()`.
 *
 * `unique_key` (UNIQUE) holds e.g. `dues-2027` while the job is queued or running, so a second
 * start for the same key is refused; it is cleared when the job ends so the key can be used again.
 * A handler must be idempotent per item: after a crash it runs again from the start and skips
 * what is already done.
 */
export type JobStatus = 'queued' | 'running' | 'done' | 'failed';

export interface Job {
  id: number;
  kind: string;
  uniqueKey: string | null;
  status: JobStatus;
  progress: number;
  total: number;
  payload: Record<string, unknown>;
  result: Record<string, unknown> | null;
  error: string | null;
  lockedUntil: string | null;
  createdBy: number | null;
  createdAt: string;
  updatedAt: string;
}

export interface JobContext {
  job: Job;
  /** Records progress (and renews the lock); cheap enough to call after every item. */
  progress(done: number, total?: number): Promise<void>;
}

export type JobHandler = (jc: JobContext) => Promise<Record<string, unknown> | void>;

export const JOB_LOCK_MS = 60_000;

function rowToJob(r: Record<string, any>): Job {
  return {
    id: Number(r.id),
    kind: r.kind,
    uniqueKey: r.unique_key ?? null,
    status: r.status,
    progress: Number(r.progress),
    total: Number(r.total),
    payload: r.payload ? JSON.parse(r.payload) : {},
    result: r.result ? JSON.parse(r.result) : null,
    error: r.error ?? null,
    lockedUntil: r.locked_until ?? null,
    createdBy: r.created_by == null ? null : Number(r.created_by),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export class JobsService {
  private handlers = new Map<string, JobHandler>();
  private running = new Map<number, Promise<Job>>();

  constructor(private db: Knex, private clock: Clock, private log: Logger, private lockMs = JOB_LOCK_MS) {}

  register(kind: string, handler: JobHandler): void {
    this.handlers.set(kind, handler);
  }

  async get(id: number, trx: Knex | Knex.Transaction = this.db): Promise<Job | undefined> {
    const r = await trx('jobs').where({ id }).first();
    return r ? rowToJob(r) : undefined;
  }

  async byKey(uniqueKey: string, trx: Knex | Knex.Transaction = this.db): Promise<Job | undefined> {
    const r = await trx('jobs').where({ unique_key: uniqueKey }).first();
    return r ? rowToJob(r) : undefined;
  }

  private lockUntil(): string {
    return iso(new Date(this.clock.now().getTime() + this.lockMs));
  }

  /**
   * Creates a queued job for the key, or takes over a job with the same key whose heartbeat
   * has stopped. Refuses (409 job_running) while a live job holds the key.
   * Pass `trx` to create the job together with other rows (e.g. the dues run).
   */
  async create(
    trx: Knex.Transaction,
    input: { kind: string; uniqueKey: string; payload?: Record<string, unknown>; total?: number; createdBy?: number | null },
  ): Promise<{ job: Job; resumed: boolean }> {
    const now = iso(this.clock.now());
    const existing = await trx('jobs').where({ unique_key: input.uniqueKey }).first();
    if (existing) {
      const stale = existing.status === 'queued' ? !this.running.has(Number(existing.id)) : !existing.locked_until || existing.locked_until < now;
      if (!stale) throw new ConflictError('job_running', { jobId: Number(existing.id) });
      await trx('jobs').where({ id: existing.id }).update({ status: 'queued', locked_until: null, updated_at: now });
      return { job: rowToJob({ ...existing, status: 'queued', locked_until: null }), resumed: true };
    }
    const id = await insertId(trx, 'jobs', {
      kind: input.kind,
      unique_key: input.uniqueKey,
      status: 'queued',
      progress: 0,
      total: input.total ?? 0,
      payload: JSON.stringify(input.payload ?? {}),
      created_by: input.createdBy ?? null,
      created_at: now,
      updated_at: now,
    });
    return { job: (await this.get(id, trx))!, resumed: false };
  }

  /** Claims the job (queued, or running with an expired lock) for this process; false if another holds it. */
  private async claim(id: number): Promise<boolean> {
    const now = iso(this.clock.now());
    const n = await this.db('jobs')
      .where({ id })
      .andWhere((q) => q.where('status', 'queued').orWhere((q2) => q2.where('status', 'running').andWhere((q3) => q3.whereNull('locked_until').orWhere('locked_until', '<', now))))
      .update({ status: 'running', locked_until: this.lockUntil(), updated_at: now });
    return affected(n) === 1;
  }

  /**
   * Runs a job to its end in this process and returns it as it ended. Several calls for the
   * same job share one run. Errors are recorded on the job (status failed), not thrown.
   */
  execute(id: number): Promise<Job> {
    const current = this.running.get(id);
    if (current) return current;
    const p = this.doExecute(id).finally(() => this.running.delete(id));
    this.running.set(id, p);
    return p;
  }

  /** Starts the job in the background (the web request returns at once). */
  executeInBackground(id: number): void {
    this.execute(id).catch((err) => this.log.error({ jobId: id, err: (err as Error).message }, 'job crashed'));
  }

  /** Resolves when the job's run in this process (if any) has ended. */
  async waitFor(id: number): Promise<Job | undefined> {
    const p = this.running.get(id);
    if (p) await p;
    return this.get(id);
  }

  private async doExecute(id: number): Promise<Job> {
    const job = await this.get(id);
    if (!job) throw new Error(`no job ${id}`);
    const handler = this.handlers.get(job.kind);
    if (!handler) throw new Error(`no handler for job kind ${job.kind}`);
    if (!(await this.claim(id))) return (await this.get(id))!;
    const jc: JobContext = {
      job: { ...job, status: 'running' },
      progress: async (done, total) => {
        const upd: Record<string, unknown> = { progress: done, locked_until: this.lockUntil(), updated_at: iso(this.clock.now()) };
        if (total !== undefined) upd.total = total;
        await this.db('jobs').where({ id }).update(upd);
      },
    };
    try {
      const result = await handler(jc);
      await this.db('jobs').where({ id }).update({
        status: 'done', unique_key: null, locked_until: null, result: JSON.stringify(result ?? {}), error: null, updated_at: iso(this.clock.now()),
      });
    } catch (err) {
      this.log.error({ jobId: id, kind: job.kind, err: (err as Error).message }, 'job failed');
      await this.db('jobs').where({ id }).update({
        status: 'failed', unique_key: null, locked_until: null, error: String((err as Error).message).slice(0, 2000), updated_at: iso(this.clock.now()),
      });
    }
    return (await this.get(id))!;
  }

  /**
   * Picks up jobs left behind by a crash or restart (running with an expired lock, or queued
   * and not running here) and runs them. Call at start-up and now and then.
   */
  async resumeStale(): Promise<number> {
    const now = iso(this.clock.now());
    const rows = await this.db('jobs')
      .where((q) => q.where('status', 'queued').orWhere((q2) => q2.where('status', 'running').andWhere((q3) => q3.whereNull('locked_until').orWhere('locked_until', '<', now))))
      .orderBy('id');
    let n = 0;
    for (const r of rows) {
      if (this.running.has(Number(r.id)) || !this.handlers.has(r.kind)) continue;
      this.executeInBackground(Number(r.id));
      n++;
    }
    return n;
  }

  /** The ids of the jobs of a kind whose JSON payload starts with `payloadPrefix`, newest first. */
  async idsByPayloadPrefix(kind: string, payloadPrefix: string): Promise<number[]> {
    const rows: { id: number }[] = await this.db('jobs').where('kind', kind).andWhere('payload', 'like', `${payloadPrefix}%`).orderBy('id', 'desc').select('id');
    return rows.map((r) => Number(r.id));
  }

  /** Puts a failed job back in the queue under its key (inside the caller's transaction). */
  async requeue(trx: Knex.Transaction, id: number, uniqueKey: string): Promise<void> {
    await trx('jobs').where({ id }).update({ status: 'queued', unique_key: uniqueKey, error: null, updated_at: iso(this.clock.now()) });
  }

  /** Replaces a job's payload and total (inside the caller's transaction, e.g. with the rows the payload describes). */
  async savePayload(trx: Knex.Transaction, id: number, payload: Record<string, unknown>, total: number): Promise<void> {
    await trx('jobs').where({ id }).update({ payload: JSON.stringify(payload), total, updated_at: iso(this.clock.now()) });
  }
}
