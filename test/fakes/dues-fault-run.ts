import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { StripeFake } from './stripe-fake.ts';
import { createDuesDataDir, closeContext, openDuesContext } from './dues-fixture.ts';
import { DUES_JOB_CHILD } from './dues-job-child.ts';

/**
 * A real fault run of the dues run (used by test/integration/dues-fault-kill.test.ts and
 * the `dues-fault-run` benchmark scenario):
 *
 *  - the Stripe fake (in this process) answers 500 to 5 % of calls and drops 2 % of
 *    connections (half of those after it acted: the lost-answer case);
 *  - the dues run job runs in a child process (test/fakes/dues-job-child.ts) on a SQLite file,
 *    and is killed with SIGKILL twice at random points (after a random number of invoices is
 *    seen in the database), then started again until it ends with every invoice delivered;
 *  - then everything is paid on the fake and `reconcile` (still under faults) runs twice.
 *
 * Returns what was found; the caller judges it.
 */

export interface FaultRunReport {
  members: number;
  kills: { afterInvoices: number; signal: string | null }[];
  starts: number;
  lastResult: Record<string, unknown> | null;
  wallSeconds: number;
  localInvoices: number;
  membersWithExactlyOneInvoice: number;
  numbersGapless: boolean;
  firstNumber: string | null;
  lastNumber: string | null;
  stripeInvoices: number;
  /** Local invoices with exactly one Stripe invoice by metadata[local_invoice_id], which is the one they point to, with the same number and amount and one line. */
  localWithExactlyOneStripeInvoice: number;
  stripeDuplicatesByLocalId: number;
  stripeDuplicatesByNumber: number;
  stripeCustomers: number;
  stripeCustomerDuplicates: number;
  mailsPerInvoiceMax: number;
  invoicesMailed: number;
  faults: { errors: number; dropsBefore: number; dropsAfter: number; replays: number; calls: number };
  paidOnStripe: number;
  reconcile: { checked: number; changed: number; failed: number }[];
  payments: number;
  invoicesWithOnePayment: number;
  invoicesPaidInFull: number;
}

export interface FaultRunOptions {
  members?: number;
  year?: number;
  concurrency?: number;
  /** Seed of the fake's fault decisions; random by default. */
  seed?: number;
  log?: (line: string) => void;
}

function randomInt(lo: number, hi: number): number {
  return lo + Math.floor(Math.random() * (hi - lo + 1));
}

export async function runDuesFaultRun(opts: FaultRunOptions = {}): Promise<FaultRunReport> {
  const members = opts.members ?? 200;
  const year = opts.year ?? 2027;
  const log = opts.log ?? (() => {});
  const t0 = Date.now();
  const dataDir = await createDuesDataDir(members, year, 'verein-dues-fault-');
  const fake = await new StripeFake().start();
  const stripeEnv = {
    STRIPE_SECRET_KEY: fake.apiKey, STRIPE_API_URL: fake.url, STRIPE_WEBHOOK_SECRET: fake.webhookSecret,
    STRIPE_CONCURRENCY: String(opts.concurrency ?? 4), STRIPE_MAX_RPS: '0',
  };
  const dbFile = path.join(dataDir, 'verein.sqlite');
  const reader = new Database(dbFile, { readonly: true, fileMustExist: true });
  const count = () => (reader.prepare('select count(*) as n from invoices where year = ?').get(year) as { n: number }).n;
  const children = new Set<ChildProcess>();
  try {
    fake.setFaults({ errorRate: 0.05, dropRate: 0.02, ...(opts.seed !== undefined ? { seed: opts.seed } : {}) });

    const start = () => {
      const child = spawn(process.execPath, ['--import', 'tsx', DUES_JOB_CHILD, dataDir, String(year)], {
        env: { ...process.env, ...stripeEnv, DUES_CHILD_LOCK_MS: '1500' }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(child);
      let out = '';
      let err = '';
      child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
      child.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
      const exited = new Promise<{ code: number | null; signal: string | null; out: string; err: string }>((resolve) => {
        child.on('exit', (code, signal) => { children.delete(child); resolve({ code, signal, out, err }); });
      });
      return { child, exited };
    };

    // two runs killed at random points: after k1, then after k2 invoices are in the database
    const k1 = randomInt(Math.floor(members * 0.1), Math.floor(members * 0.4));
    const k2 = randomInt(Math.floor(members * 0.5), Math.floor(members * 0.85));
    const kills: FaultRunReport['kills'] = [];
    let starts = 0;
    for (const k of [k1, k2]) {
      const { child, exited } = start();
      starts++;
      let n = 0;
      let ended = false;
      void exited.then(() => { ended = true; });
      while (!ended && (n = count()) < k) await new Promise((r) => setTimeout(r, 10));
      if (!ended) child.kill('SIGKILL');
      const e = await exited;
      kills.push({ afterInvoices: n, signal: e.signal });
      log(`run ${starts}: killed (${String(e.signal)}) with ${n} invoices in the database`);
    }
    // then to the end; a run that left invoices undelivered (Stripe failed past all retries) is started again
    let lastResult: Record<string, unknown> | null = null;
    for (let attempt = 0; attempt < 3; attempt++) {
      const { exited } = start();
      starts++;
      const e = await exited;
      const line = e.out.trim().split('\n').pop() ?? '';
      try {
        lastResult = JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`dues job child gave no result (exit ${String(e.code)}):\n${e.out}\n${e.err}`);
      }
      log(`run ${starts}: ${line}`);
      const r = lastResult.result as { failed?: number } | null;
      if (lastResult.status === 'done' && r && !r.failed) break;
    }
    const wallSeconds = (Date.now() - t0) / 1000;

    // what the database holds
    const invoices = reader.prepare("select id, number, organisation_id, amount_cents, stripe_invoice_id, mailed_at from invoices where year = ? and kind = 'invoice' order by number").all(year) as
      { id: number; number: string; organisation_id: number; amount_cents: number; stripe_invoice_id: string | null; mailed_at: string | null }[];
    const perOrg = new Map<number, number>();
    for (const i of invoices) perOrg.set(i.organisation_id, (perOrg.get(i.organisation_id) ?? 0) + 1);
    const orgs = (reader.prepare('select id from organisations').all() as { id: number }[]).map((o) => o.id);
    const all = (reader.prepare('select number from invoices where year = ? order by number').all(year) as { number: string }[]).map((r) => r.number);
    const numbersGapless = all.every((n, i) => n === `${year}-${String(i + 1).padStart(4, '0')}`);
    const mails = reader.prepare("select related_id, count(*) as n from mail_messages where template = 'dues_invoice' group by related_id").all() as { related_id: number; n: number }[];

    // what Stripe holds
    const stripeInvoices = [...fake.invoices.values()];
    const meta = (o: Record<string, unknown>) => (o.metadata ?? {}) as Record<string, string>;
    const byLocal = new Map<string, Record<string, unknown>[]>();
    const byNumber = new Map<string, number>();
    for (const s of stripeInvoices) {
      const l = meta(s).local_invoice_id;
      byLocal.set(l, [...(byLocal.get(l) ?? []), s]);
      byNumber.set(String(s.number), (byNumber.get(String(s.number)) ?? 0) + 1);
    }
    let localWithOne = 0;
    for (const i of invoices) {
      const s = byLocal.get(String(i.id)) ?? [];
      if (s.length === 1 && s[0].id === i.stripe_invoice_id && s[0].number === i.number && Number(s[0].amount_due) === i.amount_cents
        && (s[0].lines as { data: unknown[] }).data.length === 1) localWithOne++;
    }
    const customersPerOrg = new Map<string, number>();
    for (const c of fake.customers.values()) customersPerOrg.set(meta(c).organisation_id, (customersPerOrg.get(meta(c).organisation_id) ?? 0) + 1);
    const faults = { ...fake.injected, replays: fake.replays, calls: fake.totalCalls() };
    const { rateLimited: _r, ...faultCounts } = faults;

    // everyone pays on Stripe; no webhook arrives; reconcile (still under faults) finds it, twice
    let paidOnStripe = 0;
    for (const s of stripeInvoices) if (s.status === 'open') { fake.payInvoice(String(s.id)); paidOnStripe++; }
    const ctx = openDuesContext(dataDir, stripeEnv, { tuning: { initialRetryDelaySec: 0.05, maxRetryDelaySec: 0.4, maxNetworkRetries: 6 } });
    const reconcile: FaultRunReport['reconcile'] = [];
    try {
      const sync = ctx.stripe;
      reconcile.push(await sync.reconcile());
      reconcile.push(await sync.reconcile());
    } finally {
      await closeContext(ctx);
    }
    const payments = reader.prepare('select invoice_id, amount_cents from payments').all() as { invoice_id: number; amount_cents: number }[];
    const perInvoice = new Map<number, number>();
    for (const p of payments) perInvoice.set(p.invoice_id, (perInvoice.get(p.invoice_id) ?? 0) + 1);
    const paidInFull = (reader.prepare("select count(*) as n from invoices where year = ? and kind = 'invoice' and status = 'paid' and paid_cents = amount_cents").get(year) as { n: number }).n;

    return {
      members, kills, starts, lastResult, wallSeconds,
      localInvoices: invoices.length,
      membersWithExactlyOneInvoice: orgs.filter((id) => perOrg.get(id) === 1).length,
      numbersGapless, firstNumber: all[0] ?? null, lastNumber: all[all.length - 1] ?? null,
      stripeInvoices: stripeInvoices.length,
      localWithExactlyOneStripeInvoice: localWithOne,
      stripeDuplicatesByLocalId: [...byLocal.values()].filter((v) => v.length > 1).length,
      stripeDuplicatesByNumber: [...byNumber.values()].filter((n) => n > 1).length,
      stripeCustomers: fake.customers.size,
      stripeCustomerDuplicates: [...customersPerOrg.values()].filter((n) => n > 1).length,
      mailsPerInvoiceMax: Math.max(0, ...mails.map((m) => m.n)),
      invoicesMailed: mails.length,
      faults: faultCounts,
      paidOnStripe,
      reconcile,
      payments: payments.length,
      invoicesWithOnePayment: invoices.filter((i) => perInvoice.get(i.id) === 1).length,
      invoicesPaidInFull: paidInFull,
    };
  } finally {
    for (const c of children) c.kill('SIGKILL');
    reader.close();
    await fake.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
