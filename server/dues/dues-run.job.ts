import type { Knex } from 'knex';
import { iso, type Clock } from '../clock.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import { AppError, NotFoundError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Job, JobContext, JobsService } from '../jobs/jobs.service.ts';
import { isValidYear, type DuesService } from './dues.service.ts';
import { getRun, insertRun, runIdOfJob, runsOfYear } from './dues-runs.repository.ts';
import { getInvoice, undeliveredOfRun } from './invoices.repository.ts';

export const DUES_RUN_JOB = 'dues_run';
export const duesRunKey = (year: number) => `dues-${year}`;

export interface DuesRunResult extends Record<string, unknown> {
  issued: number;
  skipped: number;
  failed: number;
  cents: number;
}

/**
 * The dues run of a year as a persisted job: members in member-number order, each in its own
 * transaction (number, invoice, e-mail), members with a dues invoice for the year skipped. So a
 * run that crashed or was stopped continues where it was when started again (or when
 * `jobs.resumeStale()` picks it up), and `unique_key` dues-YEAR refuses a second run at once.
 * With Stripe on, each invoice is pushed to Stripe after it committed and mailed when its
 * payment link is known; an invoice Stripe could not take stays unmailed and is delivered by
 * the next run.
 */
export class DuesRuns {
  constructor(private d: { db: Knex; clock: Clock; audit: AuditService; jobs: JobsService; dues: DuesService; log: Logger }) {
    d.jobs.register(DUES_RUN_JOB, (jc) => this.handle(jc));
  }

  /** Creates (or takes over a crashed) run job for the year; refuses with 409 job_running while one runs. */
  async create(actor: Actor, year: number): Promise<{ runId: number; job: Job; resumed: boolean }> {
    if (!isValidYear(year)) throw new NotFoundError();
    const schedule = await this.d.dues.feeSchedule(year);
    if (!schedule.length) throw new AppError(422, 'no_fee_schedule');
    if ((await this.d.dues.missingTaxSettings()).length) throw new AppError(422, 'tax_settings_missing'); // h/money
    const total = (await this.d.dues.memberIdsOfYear(year)).length;
    return this.d.db.transaction(async (trx) => {
      const { job, resumed } = await this.d.jobs.create(trx, { kind: DUES_RUN_JOB, uniqueKey: duesRunKey(year), payload: { year, actor }, total, createdBy: actor.userId });
      const runId = await runIdOfJob(trx, job.id)
        ?? await insertRun(trx, { year, job_id: job.id, created_by: actor.userId, created_at: iso(this.d.clock.now()) });
      await this.d.audit.record(trx, actor, resumed ? 'dues_run.resumed' : 'dues_run.started', 'dues_run', runId, undefined, { year, jobId: job.id });
      return { runId, job, resumed };
    });
  }

  /** Starts the run in the background (web). */
  async start(actor: Actor, year: number): Promise<{ runId: number; jobId: number }> {
    const { runId, job } = await this.create(actor, year);
    this.d.jobs.executeInBackground(job.id);
    return { runId, jobId: job.id };
  }

  async run(runId: number): Promise<{ id: number; year: number; job: Job }> {
    const r = await getRun(this.d.db, runId);
    if (!r) throw new NotFoundError();
    const job = await this.d.jobs.get(r.jobId);
    if (!job) throw new NotFoundError();
    return { id: r.id, year: r.year, job };
  }

  /** The runs of a year, newest first, with their job's state. */
  async runsOfYear(year: number): Promise<{ id: number; jobId: number; createdAt: string; status: string; progress: number; total: number }[]> {
    const out = [];
    for (const r of await runsOfYear(this.d.db, year)) {
      const job = await this.d.jobs.get(r.jobId);
      if (job) out.push({ id: r.id, jobId: r.jobId, createdAt: r.createdAt, status: job.status, progress: job.progress, total: job.total });
    }
    return out;
  }

  /** h/stripe: the run's invoices that were not delivered, each with Stripe's message and whether trying again can help. */
  async failedOf(runId: number): Promise<{ id: number; number: string; memberNumber: number; name: string; pushError: string | null; permanent: boolean }[]> {
    return undeliveredOfRun(this.d.db, runId);
  }

  /**
   * h/stripe: delivers again only the run's invoices that were not delivered (the Stripe push
   * and the e-mail), not the whole run; audited. Returns how many went out and how many failed again.
   */
  async retryFailed(actor: Actor, runId: number): Promise<{ delivered: number; failed: number }> {
    const run = await getRun(this.d.db, runId);
    if (!run) throw new NotFoundError();
    const out = { delivered: 0, failed: 0 };
    for (const f of await undeliveredOfRun(this.d.db, runId)) {
      try {
        await this.d.dues.deliver(f.id);
        out.delivered++;
      } catch (err) {
        out.failed++;
        this.d.log.warn({ invoiceId: f.id, err: err instanceof Error ? err.message : String(err) }, 'invoice not delivered on retry');
      }
    }
    await this.d.audit.record(this.d.db, actor, 'dues_run.retried', 'dues_run', runId, undefined, out);
    return out;
  }

  private async handle(jc: JobContext): Promise<DuesRunResult> {
    const year = Number(jc.job.payload.year);
    // why: the payload was written by create() as { year, actor }
    const actor = (jc.job.payload.actor as Actor | undefined) ?? { userId: null, label: 'system' };
    const duesRunId = (await runIdOfJob(this.d.db, jc.job.id)) ?? null;
    const ids = await this.d.dues.memberIdsOfYear(year);
    const result: DuesRunResult = { issued: 0, skipped: 0, failed: 0, cents: 0 };
    await jc.progress(0, ids.length);
    // Invoices are issued one after the other in member-number order (so their numbers follow
    // it); delivering them (Stripe push, e-mail) runs behind that with STRIPE_CONCURRENCY at
    // once when Stripe is on. Progress counts members whose invoice is issued and delivered.
    const concurrency = this.d.dues.deliveryConcurrency();
    const pending = new Set<Promise<void>>();
    let done = 0;
    const deliver = async (invoiceId: number) => {
      try {
        await this.d.dues.deliver(invoiceId);
      } catch (err) {
        result.failed++;
        this.d.log.warn({ invoiceId, err: err instanceof Error ? err.message : String(err) }, 'invoice not delivered; the next run retries');
      }
    };
    try {
      for (let i = 0; i < ids.length; i++) {
        const r = await this.d.dues.issueDuesInvoice(actor, ids[i], year, { duesRunId });
        if (r.issued) {
          result.issued++;
          const inv = await getInvoice(this.d.db, r.invoiceId);
          result.cents += inv?.amountCents ?? 0;
        } else result.skipped++;
        const invoiceId = r.invoiceId;
        if (invoiceId && concurrency > 1) {
          const p: Promise<void> = deliver(invoiceId).finally(() => { pending.delete(p); done++; });
          pending.add(p);
          while (pending.size >= concurrency) await Promise.race(pending);
        } else {
          if (invoiceId) await deliver(invoiceId);
          done++;
        }
        await jc.progress(done); // also the heartbeat that keeps the run ours
      }
    } finally {
      await Promise.allSettled([...pending]);
    }
    await jc.progress(done);
    return result;
  }
}
