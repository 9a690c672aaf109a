import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../../server/errors.ts';
import { DuesRuns, type DuesRunResult } from '../../server/dues/dues-run.job.ts';
import { JobsService } from '../../server/jobs/jobs.service.ts';
import { closeContext, openDuesContext } from './dues-fixture.ts';

/**
 * The dues run of a year in a process of its own, on the SQLite file in DATA_DIR, the way
 * `npm run cli -- dues:run` runs it, for tests that kill it (SIGKILL) and start it again:
 *
 *   node --import tsx test/fakes/dues-job-child.ts DATA_DIR YEAR
 *
 * Stripe comes from the environment (STRIPE_SECRET_KEY, STRIPE_API_URL, STRIPE_CONCURRENCY,
 * STRIPE_MAX_RPS). The job's heartbeat lock is DUES_CHILD_LOCK_MS (default 2000) instead of a
 * minute, so a restart after a kill takes the run over after that long (it tries again every
 * 200 ms while the killed run's lock is still fresh), as `jobs.resumeStale()` would at start-up.
 * Prints one JSON line {"status", "result", "jobId"}; exit code 0 when the job is done.
 */
export const DUES_JOB_CHILD = fileURLToPath(import.meta.url);

async function main(): Promise<number> {
  const [dataDir, yearArg] = process.argv.slice(2);
  const year = Number(yearArg);
  if (!dataDir || !Number.isInteger(year)) {
    console.error('Usage: node --import tsx test/fakes/dues-job-child.ts DATA_DIR YEAR');
    return 2;
  }
  const ctx = openDuesContext(dataDir, process.env, {
    tuning: { initialRetryDelaySec: 0.05, maxRetryDelaySec: 0.4, maxNetworkRetries: 6, rateLimitRetries: 8, timeoutMs: 10_000 },
  });
  try {
    const lockMs = Number(process.env.DUES_CHILD_LOCK_MS ?? 2000);
    const jobs = new JobsService(ctx.db, ctx.clock, ctx.log, lockMs);
    const runs = new DuesRuns({ db: ctx.db, clock: ctx.clock, audit: ctx.audit, jobs, dues: ctx.dues, log: ctx.log });
    const actor = { userId: null, label: 'cli' };
    const deadline = Date.now() + lockMs + 30_000;
    let created;
    for (;;) {
      try {
        created = await runs.create(actor, year);
        break;
      } catch (err) {
        if (!(err instanceof AppError && err.code === 'job_running') || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const job = await jobs.execute(created.job.id);
    const result = job.result as DuesRunResult | null;
    process.stdout.write(`${JSON.stringify({ status: job.status, result, jobId: job.id, resumed: created.resumed, error: job.error })}\n`);
    return job.status === 'done' ? 0 : 1;
  } finally {
    await closeContext(ctx);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === DUES_JOB_CHILD) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
