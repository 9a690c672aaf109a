import type { Knex } from 'knex';
import { iso, type Clock } from '../clock.ts';
import { ConflictError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { JobRow, JobStatus } from './jobs.tables.ts';
import { claimJob, claimableJobs, insertJob, jobRow, jobRowByKey, jobRowsByIds, jobsByPayloadPrefix, updateJob } from './jobs.repository.ts';
import { redactJobs } from './jobs.repository.ts'; // h/gdpr

export type { JobStatus } from './jobs.tables.ts';

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
  /** h/money2: when a job that is to try again later runs next, and how many times it did */
  runAfter: string | null;
  attempts: number;
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

/**
 * h/money2: thrown by a handler whose work could not be done now (an outage): the job goes back
 * to the queue under its key and runs again after `delayMs` (picked up by resumeStale), its
 * message kept in `error`; after `maxAttempts` such runs it fails.
 */
export class TryAgainLater extends Error {
  constructor(message: string, readonly delayMs: number, readonly maxAttempts = 10) {
    super(message);
  }
}

export const JOB_LOCK_MS = 60_000;

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function jsonObject(text: string | null): Record<string, unknown> | null {
  return text ? (JSON.parse(text) as Record<string, unknown>) : null; // why: payload and result are written from objects by this service
}

function rowToJob(r: JobRow): Job {
  return {
    id: Number(r.id),
    kind: r.kind,
    uniqueKey: r.unique_key ?? null,
    status: r.status,
    progress: Number(r.progress),
    total: Number(r.total),
    payload: jsonObject(r.payload) ?? {},
    result: jsonObject(r.result),
    error: r.error ?? null,
    lockedUntil: r.locked_until ?? null,
    runAfter: r.run_after ?? null,
    attempts: Number(r.attempts ?? 0),
    createdBy: r.created_by == null ? null : Number(r.created_by),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export class JobsService {
  private handlers = new Map<string, JobHandler>();
  private running = new Map<number, Promise<Job>>();

  /** h/gdpr: inside the anonymisation's transaction, the contacts' known values leave the jobs' payloads, results and errors. */
  async anonymise(trx: Knex.Transaction, terms: string[]): Promise<void> {
    await redactJobs(trx, terms);
  }

  constructor(private db: Knex, private clock: Clock, private log: Logger, private lockMs = JOB_LOCK_MS) {}

  register(kind: string, handler: JobHandler): void {
    this.handlers.set(kind, handler);
  }

  async get(id: number, trx: Knex | Knex.Transaction = this.db): Promise<Job | undefined> {
    const r = await jobRow(trx, id);
    return r ? rowToJob(r) : undefined;
  }

  async byKey(uniqueKey: string, trx: Knex | Knex.Transaction = this.db): Promise<Job | undefined> {
    const r = await jobRowByKey(trx, uniqueKey);
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
    const existing = await jobRowByKey(trx, input.uniqueKey);
    if (existing) {
      const stale = existing.status === 'queued' ? !this.running.has(Number(existing.id)) : !existing.locked_until || existing.locked_until < now;
      if (!stale) throw new ConflictError('job_running', { jobId: Number(existing.id) });
      await updateJob(trx, existing.id, { status: 'queued', locked_until: null, run_after: null, updated_at: now }); // h/money2: a waiting retry runs at once
      return { job: rowToJob({ ...existing, status: 'queued', locked_until: null }), resumed: true };
    }
    const id = await insertJob(trx, {
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
    return claimJob(this.db, id, now, this.lockUntil());
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
    this.execute(id).catch((err) => this.log.error({ jobId: id, err: messageOf(err) }, 'job crashed'));
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
        await updateJob(this.db, id, { progress: done, locked_until: this.lockUntil(), updated_at: iso(this.clock.now()), ...(total === undefined ? {} : { total }) });
      },
    };
    try {
      const result = await handler(jc);
      await updateJob(this.db, id, {
        status: 'done', unique_key: null, locked_until: null, result: JSON.stringify(result ?? {}), error: null, updated_at: iso(this.clock.now()),
      });
    } catch (err) {
      // h/money2: back to the queue for a later run
      const attempts = (await jobRow(this.db, id))?.attempts ?? 0;
      if (err instanceof TryAgainLater && attempts + 1 < err.maxAttempts) {
        this.log.warn({ jobId: id, kind: job.kind, err: err.message, attempt: attempts + 1 }, 'job will try again');
        await updateJob(this.db, id, {
          status: 'queued', locked_until: null, attempts: attempts + 1, run_after: iso(new Date(this.clock.now().getTime() + err.delayMs)),
          error: err.message.slice(0, 2000), updated_at: iso(this.clock.now()),
        });
        return (await this.get(id))!;
      }
      this.log.error({ jobId: id, kind: job.kind, err: messageOf(err) }, 'job failed');
      await updateJob(this.db, id, {
        status: 'failed', unique_key: null, locked_until: null, error: String(messageOf(err)).slice(0, 2000), updated_at: iso(this.clock.now()),
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
    const rows = await claimableJobs(this.db, now);
    let n = 0;
    for (const r of rows) {
      if (this.running.has(Number(r.id)) || !this.handlers.has(r.kind)) continue;
      this.executeInBackground(Number(r.id));
      n++;
    }
    return n;
  }

  /** Puts a failed job back in the queue under the key (the caller checked that it may). */
  async requeue(trx: Knex.Transaction, id: number, uniqueKey: string): Promise<void> {
    await updateJob(trx, id, { status: 'queued', unique_key: uniqueKey, error: null, updated_at: iso(this.clock.now()) });
  }

  /** Replaces the job's payload (and total), e.g. once a handler has recorded its plan. */
  async setPayload(trx: Knex | Knex.Transaction, id: number, payload: Record<string, unknown>, total?: number): Promise<void> {
    await updateJob(trx, id, { payload: JSON.stringify(payload), ...(total === undefined ? {} : { total }), updated_at: iso(this.clock.now()) });
  }

  /** Jobs of a kind whose payload JSON starts with the given text (e.g. `{"assemblyId":3,`), newest first. */
  async byPayloadPrefix(kind: string, prefix: string, trx: Knex | Knex.Transaction = this.db): Promise<Job[]> {
    return (await jobsByPayloadPrefix(trx, kind, prefix)).map(rowToJob);
  }

  /** Several jobs by id (unknown ids are left out). */
  async byIds(ids: number[], trx: Knex | Knex.Transaction = this.db): Promise<Job[]> {
    return (await jobRowsByIds(trx, [...new Set(ids)])).map(rowToJob);
  }
}
