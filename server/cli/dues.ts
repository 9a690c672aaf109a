import { tFor } from '../i18n/i18n.ts'; // h/stripe
import type { Context } from '../context.ts';
import type { Actor } from '../audit/audit.service.ts';
import { AppError } from '../errors.ts';
import type { Job } from '../jobs/jobs.service.ts';
import { isValidYear } from '../dues/dues.service.ts';
import type { DuesRunResult } from '../dues/dues-run.job.ts';
import type { ReconcileResult, StripeSyncService } from '../dues/stripe-sync.service.ts';
import { CommandError, UsageError, type Command } from './command.ts';

function bar(done: number, total: number, width = 30): string {
  const frac = total > 0 ? Math.min(1, done / total) : 1;
  const full = Math.round(frac * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}] ${done}/${total}`;
}

/**
 * `npm run cli -- dues:run --year Y`: the same job as the page, run in this process with a
 * progress bar on the terminal. Freezes the fee schedule from the categories if the year has
 * none yet. Returns the exit code (0 done, 1 failed or refused). `print` writes as-is.
 */
export async function runDuesCli(ctx: Context, year: number, print: (s: string) => void): Promise<number> {
  if (!isValidYear(year)) {
    print(`dues:run: --year must be a year between 2000 and 2100, got ${String(year)}\n`);
    return 1;
  }
  const actor: Actor = { userId: null, label: 'cli' };
  if (!(await ctx.dues.feeSchedule(year)).length) {
    await ctx.dues.freezeFeeSchedule(actor, year);
    print(`Fee schedule ${year} set from the current categories.\n`);
  }
  let created;
  try {
    created = await ctx.duesRuns.create(actor, year);
  } catch (err) {
    if (err instanceof AppError && err.code === 'job_running') {
      print(`dues:run: a dues run for ${year} is already running (job ${String(err.details?.jobId)}).\n`);
      return 1;
    }
    throw err;
  }
  print(`${created.resumed ? 'Resuming' : 'Starting'} dues run ${year} (job ${created.job.id}).\n`);
  const isTty = !!process.stdout.isTTY;
  let last = '';
  const show = async () => {
    const j = await ctx.jobs.get(created.job.id);
    if (!j) return;
    const line = bar(j.progress, j.total);
    if (line !== last) { print(isTty ? `\r${line}` : `${line}\n`); last = line; }
  };
  const timer = setInterval(() => void show(), 250);
  let job: Job;
  try {
    job = await ctx.jobs.execute(created.job.id);
  } finally {
    clearInterval(timer);
  }
  const final = bar(job.progress, job.total);
  if (final !== last) print(isTty ? `\r${final}` : `${final}\n`);
  if (isTty) print('\n');
  if (job.status !== 'done') {
    print(`dues:run failed: ${job.error ?? job.status}\n`);
    return 1;
  }
  const r = job.result as DuesRunResult; // why: a done dues_run job's result is what DuesRuns.handle returned
  print(`Issued ${r.issued} invoice(s), ${r.skipped} skipped${r.failed ? `, ${r.failed} not yet delivered (run again)` : ''}.\n`);
  return r.failed ? 1 : 0;
}

/** `npm run cli -- reminders:send`: sends the reminders due today; returns the exit code. */
export async function runRemindersCli(ctx: Context, print: (s: string) => void): Promise<number> {
  const r = await ctx.reminders.sendDue({ userId: null, label: 'cli' });
  print(`Reminders: ${r.first} first, ${r.second} second reminder(s) queued.\n`);
  return 0;
}

/** `npm run cli -- invoices:reconcile`: prints progress and a summary; throws if any invoice could not be checked. */
export async function runReconcileCli(ctx: { stripe: StripeSyncService }, print: (line: string) => void): Promise<ReconcileResult> {
  if (!ctx.stripe.enabled) {
    print('Stripe is off (STRIPE_SECRET_KEY not set): nothing to reconcile.');
    return { checked: 0, changed: 0, failed: 0 };
  }
  const sync = ctx.stripe;
  let lastShown = 0;
  const result = await sync.reconcile({
    onProgress: (done, total) => {
      if (done === total || done - lastShown >= 50) {
        lastShown = done;
        print(`checked ${done}/${total}`);
      }
    },
  });
  // h/stripe: what was changed, per invoice
  const t = tFor('en');
  for (const c of result.changes ?? []) print(`  ${c.number}: ${t(`stripesync.reconcile.what.${c.what.replace(/\./g, '_')}`, { defaultValue: c.what })}`);
  print(`Reconciled ${result.checked} open Stripe invoice(s): ${result.changed} updated, ${result.failed} failed.`);
  if (result.failed > 0) throw new Error(`${result.failed} invoice(s) could not be checked with Stripe; run the command again later.`);
  return result;
}

/** `dues:run --year Y`: the dues run of a year, in the foreground. */
export const duesRunCommand: Command = {
  usage: 'dues:run --year Y',
  summary: 'issue the dues invoices of a year (the same job as in the web interface; resumes an interrupted run)',
  options: { year: { type: 'string' } },
  available: true,
  precheck: (_config, { values }) => {
    const y = String(values.year ?? '');
    if (!y) throw new UsageError('--year is required, e.g. --year 2027');
    if (!/^\d{4}$/.test(y)) throw new UsageError(`--year: "${y}" is not a year`);
  },
  run: (ctx, { values }, _print, write) => runDuesCli(ctx, Number(values.year), write),
};

/** `reminders:send`: the payment reminders due today. */
export const remindersSendCommand: Command = {
  usage: 'reminders:send',
  summary: 'queue the payment reminders that are due today',
  available: true,
  run: (ctx, _args, _print, write) => runRemindersCli(ctx, write),
};

/** `invoices:reconcile`: the open invoices' state from Stripe. */
export const invoicesReconcileCommand: Command = {
  usage: 'invoices:reconcile',
  summary: 'fetch the state of all open invoices from Stripe (for missed webhook events)',
  available: true,
  run: async (ctx, _args, print) => {
    try {
      await runReconcileCli(ctx, print);
    } catch (err) {
      throw new CommandError((err as Error).message); // why: runReconcileCli and the gateway throw Error objects
    }
  },
};
