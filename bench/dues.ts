import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { closeContext, createDuesDataDir, openDuesContext } from '../test/fakes/dues-fixture.ts';
import { startStripeFakeChild, type StripeFakeChild } from '../test/fakes/stripe-fake-child.ts';
import { runDuesFaultRun } from '../test/fakes/dues-fault-run.ts';
import { renderInvoicePdf } from '../server/dues/invoice-pdf.ts';
import { rowToInvoice } from '../server/dues/invoice.ts';
import type { DuesRunResult } from '../server/dues/dues-run.job.ts';
import type { Context } from '../server/context.ts';

/**
 * Dues benchmark (issue 4): the dues run against the local Stripe fake (in a child process),
 * on a SQLite file database, in this process as `npm run cli -- dues:run` would run it.
 *
 *  - dues-run-10000: 10,000 members, no latency, no rate limit (STRIPE_MAX_RPS=0): invoices/s
 *    end to end (issue, push to Stripe, PDF, e-mail queued), and PDFs/s measured on their own
 *    (rendering BENCH_DUES_PDFS invoices of that run one after the other);
 *  - dues-run-ratelimited-2000: 2,000 members while the fake allows 100 requests/s and answers
 *    429 above; first year (new Stripe customers: 4 calls per invoice) and the next year
 *    (customers exist: 3 calls); wall time against the ideal (calls ÷ 100 s). Target: ratio
 *    ≤ 1.25 and no failed invoice, in both passes;
 *  - dues-fault-run: the fault run of test/integration/dues-fault-kill.test.ts (200 members,
 *    5 % 500s, 2 % dropped connections, the job process killed twice), its outcome.
 *
 * Standalone: `node --import tsx bench/dues.ts` (prints a table, PASS/FAIL per target, merges
 * the scenarios into bench/results.json, exits 0). bench/run.ts may call `runDuesBench()`.
 * Environment: BENCH_DUES_MEMBERS (10000), BENCH_DUES_RL_MEMBERS (2000), BENCH_DUES_PDFS (200),
 * BENCH_DUES_CONCURRENCY (STRIPE_CONCURRENCY of the unlimited run, 8), BENCH_DUES_ONLY (names or
 * prefixes, comma separated), BENCH_RESULTS (output file).
 */

export interface Scenario {
  name: string;
  pass?: boolean;
  targets?: Record<string, number | boolean>;
  [k: string]: unknown;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
const YEAR = 2027;
const RESULTS = path.resolve(root, env.BENCH_RESULTS ?? 'bench/results.json');
export const DUES_TARGETS = { ratelimitedRatio: 1.25, ratelimitedCallsFirstYear: 4, ratelimitedCallsNextYear: 3 };

function intEnv(name: string, dflt: number): number {
  const v = env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}: a positive whole number, not "${v}"`);
  return n;
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

function stripeEnv(fake: StripeFakeChild, extra: Record<string, string>): Record<string, string> {
  return { STRIPE_SECRET_KEY: fake.apiKey, STRIPE_API_URL: fake.url, STRIPE_WEBHOOK_SECRET: fake.webhookSecret, ...extra };
}

/** One dues run of a year to its end, timed. */
async function timedRun(ctx: Context, year: number): Promise<{ seconds: number; result: DuesRunResult; status: string }> {
  if (!(await ctx.dues.feeSchedule(year)).length) await ctx.dues.freezeFeeSchedule({ userId: null, label: 'bench' }, year);
  const t0 = performance.now();
  const { job } = await ctx.duesRuns.create({ userId: null, label: 'bench' }, year);
  const done = await ctx.jobs.execute(job.id);
  return { seconds: (performance.now() - t0) / 1000, result: (done.result ?? { issued: 0, skipped: 0, failed: 0, cents: 0 }) as DuesRunResult, status: done.status };
}

async function undelivered(ctx: Context, year: number): Promise<number> {
  return (await ctx.dues.undelivered(year)).length;
}

async function scenarioUnlimited(log: (s: string) => void): Promise<Scenario> {
  const members = intEnv('BENCH_DUES_MEMBERS', 10_000);
  const pdfs = intEnv('BENCH_DUES_PDFS', 200);
  const concurrency = intEnv('BENCH_DUES_CONCURRENCY', 8);
  log(`dues-run-${members}: seeding ${members} members …`);
  const dataDir = await createDuesDataDir(members, YEAR, 'verein-bench-dues-');
  const fake = await startStripeFakeChild();
  const ctx = openDuesContext(dataDir, stripeEnv(fake, { STRIPE_CONCURRENCY: String(concurrency), STRIPE_MAX_RPS: '0' }));
  try {
    log(`dues-run-${members}: running (Stripe fake pid ${fake.pid}, concurrency ${concurrency}, no rate limit) …`);
    const run = await timedRun(ctx, YEAR);
    const stats = await fake.stats();
    const notDelivered = await undelivered(ctx, YEAR);
    // PDFs on their own: the run's invoices rendered one after the other
    const rows = await ctx.db('invoices').where({ year: YEAR }).orderBy('id').limit(pdfs);
    const invoices = rows.map((r) => rowToInvoice({ ...r, cancels_number: null }));
    await renderInvoicePdf(invoices[0]); // fonts parsed once per process, as in the server
    const p0 = performance.now();
    let bytes = 0;
    for (const inv of invoices) bytes += (await renderInvoicePdf(inv)).length;
    const pdfSeconds = (performance.now() - p0) / 1000;
    const issued = run.result.issued;
    const failedInvoices = run.result.failed + Math.max(0, members - issued - run.result.skipped) + (run.status === 'done' ? 0 : members - issued);
    return {
      name: `dues-run-${members}`,
      members,
      invoicesPerSecond: round(issued / run.seconds, 1),
      pdfsPerSecond: round(invoices.length / pdfSeconds, 1),
      pdfMsEach: round((pdfSeconds * 1000) / invoices.length, 1),
      pdfKbEach: round(bytes / invoices.length / 1024, 1),
      wallSeconds: round(run.seconds, 1),
      issued,
      stripeCalls: stats.total,
      stripeCallsPerInvoice: round(stats.total / Math.max(1, issued), 2),
      failedInvoices,
      undelivered: notDelivered,
      concurrency,
      pass: failedInvoices === 0 && notDelivered === 0 && issued === members && stats.total / Math.max(1, issued) <= 4,
    };
  } finally {
    await closeContext(ctx);
    await fake.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function scenarioRateLimited(log: (s: string) => void): Promise<Scenario> {
  const members = intEnv('BENCH_DUES_RL_MEMBERS', 2_000);
  const limit = 100;
  log(`dues-run-ratelimited-${members}: seeding ${members} members …`);
  const dataDir = await createDuesDataDir(members, YEAR, 'verein-bench-dues-rl-');
  const fake = await startStripeFakeChild();
  // the installation's own settings: STRIPE_MAX_RPS and STRIPE_CONCURRENCY as configured (defaults 90 and 4) unless set
  const ctx = openDuesContext(dataDir, stripeEnv(fake, {
    ...(env.STRIPE_MAX_RPS ? { STRIPE_MAX_RPS: env.STRIPE_MAX_RPS } : {}),
    ...(env.STRIPE_CONCURRENCY ? { STRIPE_CONCURRENCY: env.STRIPE_CONCURRENCY } : {}),
  }));
  try {
    const pass = async (year: number, label: string) => {
      await fake.setFaults({ rateLimitPerSec: limit });
      await fake.resetCounts();
      log(`dues-run-ratelimited-${members}: ${label} (fake limit ${limit}/s, STRIPE_MAX_RPS ${ctx.config.stripe.maxRps}, concurrency ${ctx.config.stripe.concurrency}) …`);
      const run = await timedRun(ctx, year);
      const stats = await fake.stats();
      const accepted = stats.total - stats.injected.rateLimited;
      const idealSeconds = accepted / limit;
      const notDelivered = await undelivered(ctx, year);
      const failedInvoices = run.result.failed + notDelivered + (run.status === 'done' ? 0 : 1);
      return {
        year,
        wallSeconds: round(run.seconds, 1),
        idealSeconds: round(idealSeconds, 1),
        ratio: round(run.seconds / idealSeconds, 3),
        stripeCalls: accepted,
        stripeCallsPerInvoice: round(accepted / Math.max(1, run.result.issued), 2),
        answered429: stats.injected.rateLimited,
        issued: run.result.issued,
        failedInvoices,
      };
    };
    const first = await pass(YEAR, 'first year, new Stripe customers');
    const next = await pass(YEAR + 1, 'next year, customers exist');
    const ok = (p: typeof first, calls: number) => p.ratio <= DUES_TARGETS.ratelimitedRatio && p.failedInvoices === 0 && p.issued === members && p.stripeCallsPerInvoice <= calls;
    return {
      name: `dues-run-ratelimited-${members}`,
      members,
      ...first,
      nextYear: next,
      maxRps: ctx.config.stripe.maxRps,
      concurrency: ctx.config.stripe.concurrency,
      targets: { ratio: DUES_TARGETS.ratelimitedRatio, failedInvoices: 0, stripeCallsPerInvoice: DUES_TARGETS.ratelimitedCallsFirstYear, nextYearStripeCallsPerInvoice: DUES_TARGETS.ratelimitedCallsNextYear },
      pass: ok(first, DUES_TARGETS.ratelimitedCallsFirstYear) && ok(next, DUES_TARGETS.ratelimitedCallsNextYear),
    };
  } finally {
    await closeContext(ctx);
    await fake.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function scenarioFault(log: (s: string) => void): Promise<Scenario> {
  const members = 200;
  log(`dues-fault-run: ${members} members, 5 % 500s, 2 % dropped connections, killed twice …`);
  const r = await runDuesFaultRun({ members, year: YEAR, log: (l) => log(`  ${l}`) });
  const pass = r.localInvoices === members && r.membersWithExactlyOneInvoice === members && r.numbersGapless
    && r.localWithExactlyOneStripeInvoice === members && r.stripeInvoices === members && r.stripeCustomerDuplicates === 0
    && r.mailsPerInvoiceMax === 1 && r.invoicesMailed === members
    && r.payments === members && r.invoicesWithOnePayment === members && r.invoicesPaidInFull === members
    && r.kills.every((k) => k.signal === 'SIGKILL');
  return {
    name: 'dues-fault-run',
    members,
    wallSeconds: round(r.wallSeconds, 1),
    kills: r.kills.map((k) => k.afterInvoices),
    starts: r.starts,
    localInvoices: r.localInvoices,
    membersWithExactlyOneInvoice: r.membersWithExactlyOneInvoice,
    numbersGapless: r.numbersGapless,
    stripeInvoices: r.stripeInvoices,
    localWithExactlyOneStripeInvoice: r.localWithExactlyOneStripeInvoice,
    stripeCustomers: r.stripeCustomers,
    mailsPerInvoiceMax: r.mailsPerInvoiceMax,
    payments: r.payments,
    invoicesChargedTwice: members - r.invoicesWithOnePayment,
    faults: r.faults,
    pass,
  };
}

const SCENARIOS: { name: () => string; run: (log: (s: string) => void) => Promise<Scenario> }[] = [
  { name: () => `dues-run-${intEnv('BENCH_DUES_MEMBERS', 10_000)}`, run: scenarioUnlimited },
  { name: () => `dues-run-ratelimited-${intEnv('BENCH_DUES_RL_MEMBERS', 2_000)}`, run: scenarioRateLimited },
  { name: () => 'dues-fault-run', run: scenarioFault },
];

/** Merges into bench/results.json: scenarios of the same name are replaced, others kept. */
export function mergeResults(scenarios: Scenario[], file = RESULTS): void {
  let previous: { scenarios?: { name: string }[]; [k: string]: unknown } = {};
  if (fs.existsSync(file)) {
    try {
      previous = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      previous = {};
    }
  }
  const names = new Set(scenarios.map((s) => s.name));
  const kept = (previous.scenarios ?? []).filter((s) => !names.has(s.name));
  fs.writeFileSync(file, JSON.stringify({ ...previous, duesGeneratedAt: new Date().toISOString(), scenarios: [...kept, ...scenarios] }, null, 2) + '\n');
}

function fmt(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return '';
  return String(v);
}

export function printTable(scenarios: Scenario[], print: (s: string) => void = (s) => console.log(s)): void {
  const cols = ['name', 'wallSeconds', 'invoicesPerSecond', 'pdfsPerSecond', 'idealSeconds', 'ratio', 'stripeCallsPerInvoice', 'failedInvoices', 'result'];
  const rows: string[][] = [];
  for (const s of scenarios) {
    rows.push(cols.map((c) => (c === 'result' ? (s.pass ? 'PASS' : 'FAIL') : fmt(s[c]))));
    const next = s.nextYear as Record<string, unknown> | undefined;
    if (next) rows.push(cols.map((c) => (c === 'name' ? `  next year (${String(next.year)})` : c === 'result' ? '' : fmt(next[c]))));
    if (s.name === 'dues-fault-run' && Array.isArray(s.kills)) {
      rows.push(['  ' + `killed after ${(s.kills as number[]).join(' and ')} invoices; ${fmt(s.localInvoices)} local / ${fmt(s.stripeInvoices)} Stripe invoices; gapless ${fmt(s.numbersGapless)}; charged twice ${fmt(s.invoicesChargedTwice)}`, '', '', '', '', '', '', '', '']);
    }
  }
  const widths = cols.map((c, i) => Math.max(c.length, ...rows.filter((r) => !r[0].startsWith('  killed')).map((r) => r[i].length)));
  print(cols.map((c, i) => c.padEnd(widths[i])).join('  '));
  for (const r of rows) print(r[0].startsWith('  killed') ? r[0] : r.map((v, i) => v.padEnd(widths[i])).join('  '));
  print('');
  print(`Targets: ratelimited ratio ≤ ${DUES_TARGETS.ratelimitedRatio}, no failed invoice, ≤ ${DUES_TARGETS.ratelimitedCallsFirstYear} Stripe calls per invoice (new customer) / ≤ ${DUES_TARGETS.ratelimitedCallsNextYear} (existing); fault run: one invoice per member locally and on Stripe, gapless numbers, one payment each.`);
}

/** Runs the dues scenarios, merges them into bench/results.json and returns them. */
export async function runDuesBench(opts: { log?: (s: string) => void; only?: string[] } = {}): Promise<{ scenarios: Scenario[] }> {
  const log = opts.log ?? ((s: string) => console.log(s));
  const only = opts.only ?? (env.BENCH_DUES_ONLY ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const scenarios: Scenario[] = [];
  log(`Dues benchmark on ${os.cpus().length} CPU(s), node ${process.version}, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  for (const s of SCENARIOS) {
    const name = s.name();
    if (only.length && !only.some((o) => name.startsWith(o))) continue;
    try {
      const result = await s.run(log);
      scenarios.push({ ...result, loadAverage: os.loadavg().map((x) => round(x)) });
      log(`  ${result.name}: ${result.pass ? 'PASS' : 'FAIL'}`);
    } catch (err) {
      log(`  ${name}: could not measure: ${(err as Error).stack ?? String(err)}`);
      scenarios.push({ name, pass: false, error: (err as Error).message });
    }
  }
  mergeResults(scenarios);
  return { scenarios };
}

const invokedDirectly = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  runDuesBench().then(
    ({ scenarios }) => {
      console.log('');
      printTable(scenarios);
      console.log(`\nResults merged into ${path.relative(root, RESULTS)}.`);
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
