import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StripeFake, type StripeFakeFaults } from './stripe-fake.ts';

/**
 * The Stripe fake (stripe-fake.ts) in a process of its own, so that it does not share the
 * event loop and CPU time of what is measured or killed. Started with
 * `startStripeFakeChild()`; driven over IPC: faults, counts, what it holds, paying invoices.
 */

export interface FakeStats {
  total: number;
  calls: Record<string, number>;
  injected: { errors: number; dropsBefore: number; dropsAfter: number; rateLimited: number };
  replays: number;
  invoices: number;
  customers: number;
  /** Stripe invoices per metadata[local_invoice_id] and per number, only those with more than one. */
  duplicateLocalIds: Record<string, number>;
  duplicateNumbers: Record<string, number>;
  /** metadata[local_invoice_id] → Stripe invoice id, status, amount_due, number, line count. */
  byLocalId: Record<string, { id: string; status: string; amountDue: number; number: string | null; lines: number }>;
  /** Customers per metadata[organisation_id], only those with more than one. */
  duplicateCustomers: Record<string, number>;
}

type Command = { cmd: 'setFaults'; faults: Partial<StripeFakeFaults> } | { cmd: 'resetCounts' } | { cmd: 'stats' } | { cmd: 'payAll' } | { cmd: 'stop' };
type Request = Command & { id: number };

export interface StripeFakeChild {
  url: string;
  apiKey: string;
  webhookSecret: string;
  pid: number;
  setFaults(f: Partial<StripeFakeFaults>): Promise<void>;
  resetCounts(): Promise<void>;
  stats(): Promise<FakeStats>;
  /** Pays every open invoice (as a customer would); returns how many. */
  payAll(): Promise<number>;
  stop(): Promise<void>;
}

const self = fileURLToPath(import.meta.url);

export async function startStripeFakeChild(): Promise<StripeFakeChild> {
  const child: ChildProcess = fork(self, ['--serve'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], cwd: path.resolve(path.dirname(self), '../..') });
  let seq = 0;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const ready = new Promise<{ url: string; apiKey: string; webhookSecret: string }>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`stripe fake child exited (${String(code)}) before it was ready`)));
    child.on('message', (m: { type?: string; id?: number; ok?: boolean; value?: unknown; error?: string; url?: string; apiKey?: string; webhookSecret?: string }) => {
      if (m.type === 'ready') return resolve({ url: m.url!, apiKey: m.apiKey!, webhookSecret: m.webhookSecret! });
      const w = m.id !== undefined ? waiting.get(m.id) : undefined;
      if (!w) return;
      waiting.delete(m.id!);
      if (m.ok) w.resolve(m.value);
      else w.reject(new Error(m.error ?? 'stripe fake child failed'));
    });
  });
  const info = await ready;
  child.on('exit', () => {
    for (const w of waiting.values()) w.reject(new Error('stripe fake child exited'));
    waiting.clear();
  });
  const ask = <T>(req: Command): Promise<T> => new Promise<T>((resolve, reject) => {
    const id = ++seq;
    waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
    child.send({ ...req, id });
  });
  return {
    ...info,
    pid: child.pid!,
    setFaults: (faults) => ask({ cmd: 'setFaults', faults }),
    resetCounts: () => ask({ cmd: 'resetCounts' }),
    stats: () => ask<FakeStats>({ cmd: 'stats' }),
    payAll: () => ask<number>({ cmd: 'payAll' }),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      try {
        await ask({ cmd: 'stop' });
      } catch {
        // it may exit before answering
      }
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function count<T>(items: T[], key: (t: T) => string | undefined): Record<string, number> {
  const m = new Map<string, number>();
  for (const i of items) {
    const k = key(i);
    if (k !== undefined) m.set(k, (m.get(k) ?? 0) + 1);
  }
  return Object.fromEntries([...m].filter(([, n]) => n > 1));
}

async function serve(): Promise<void> {
  const fake = await new StripeFake().start();
  const reply = (id: number, value: unknown) => process.send!({ id, ok: true, value });
  process.on('message', (m: Request) => {
    try {
      switch (m.cmd) {
        case 'setFaults': fake.setFaults(m.faults); return reply(m.id, null);
        case 'resetCounts': fake.resetCounts(); return reply(m.id, null);
        case 'stats': {
          const invoices = [...fake.invoices.values()];
          const meta = (o: Record<string, unknown>) => (o.metadata ?? {}) as Record<string, string>;
          const byLocalId: FakeStats['byLocalId'] = {};
          for (const i of invoices) {
            const local = meta(i).local_invoice_id;
            if (local !== undefined) byLocalId[local] = { id: String(i.id), status: String(i.status), amountDue: Number(i.amount_due), number: (i.number as string | null) ?? null, lines: (i.lines as { data: unknown[] }).data.length };
          }
          const stats: FakeStats = {
            total: fake.totalCalls(), calls: Object.fromEntries(fake.calls), injected: { ...fake.injected }, replays: fake.replays,
            invoices: invoices.length, customers: fake.customers.size,
            duplicateLocalIds: count(invoices, (i) => meta(i).local_invoice_id),
            duplicateNumbers: count(invoices, (i) => (i.number as string | null) ?? undefined),
            byLocalId,
            duplicateCustomers: count([...fake.customers.values()], (c) => meta(c).organisation_id),
          };
          return reply(m.id, stats);
        }
        case 'payAll': {
          let n = 0;
          for (const i of fake.invoices.values()) if (i.status === 'open') { fake.payInvoice(String(i.id)); n++; }
          return reply(m.id, n);
        }
        case 'stop':
          reply(m.id, null);
          void fake.stop().finally(() => process.exit(0));
          return;
      }
    } catch (e) {
      process.send!({ id: m.id, ok: false, error: (e as Error).message });
    }
  });
  process.on('disconnect', () => void fake.stop().finally(() => process.exit(0)));
  process.send!({ type: 'ready', url: fake.url, apiKey: fake.apiKey, webhookSecret: fake.webhookSecret });
}

if (process.argv.includes('--serve') && process.argv[1] && path.resolve(process.argv[1]) === self) {
  void serve();
}
