import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { loadConfig } from '../../server/config.ts';
import { createDb, migrate } from '../../server/db/knex.ts';
import { createContext } from '../../server/context.ts';
import { createLogger } from '../../server/logger.ts';
import { systemClock } from '../../server/clock.ts';
import { makeCategories } from '../helpers/fixtures.ts';
import { LeanSmtpSink } from './lean-smtp-sink.ts';
import { prepareAssembly, seedVotingMembers } from './assembly-setup.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CHILD = path.join(root, 'test/fakes/invitations-child.ts');
const HOUR = 3_600_000;

export interface FaultRunOptions {
  recipients: number;
  /** How many recipients the listener refuses (451) at first, and how many attempts each. */
  refusedRecipients: number;
  refusedAttempts: number;
  /** Kill 1: the invitation job freezes after this many enqueued mails and is killed. */
  killJobAfterEnqueued: number;
  /** Kill 2: the restarted sender is killed once the listener has this many messages. */
  killSendAfterDelivered: number;
}

export interface DeliveryRow {
  to: string;
  invitations: number;
  mailStatus: string;
  attempts: number;
  lastResponse: string;
  messageId: string;
}

export interface FaultRunOutcome {
  recipients: number;
  kills: number;
  exitCodes: (number | null)[];
  signals: (string | null)[];
  refusals: number;
  rawDataEnds: number;
  rawDuplicates: number;
  distinctMessageIds: number;
  /** Recipients that received exactly one distinct invitation Message-ID. */
  deliveredOnce: number;
  lost: number;
  doubled: number;
  /** Every recipient's invitation row points at one mail whose status is 'sent'. */
  logAllSent: boolean;
  /** The Message-ID in the log is the one that reached the recipient. */
  logMatchesListener: boolean;
  seconds: number;
  log: DeliveryRow[];
  childOutput: string[];
}

function startChild(env: Record<string, string>, out: string[]): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  // a line may arrive in two chunks (a busy machine): only whole lines are kept, the rest waits for its end
  let rest = '';
  child.stdout!.on('data', (c: Buffer) => {
    const lines = (rest + c.toString('utf8')).split('\n');
    rest = lines.pop() ?? '';
    out.push(...lines.filter(Boolean));
  });
  child.stdout!.on('end', () => { if (rest) out.push(rest); rest = ''; });
  child.stderr!.on('data', (c: Buffer) => out.push(`stderr: ${c.toString('utf8').trim()}`));
  return child;
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

async function until(what: string, cond: () => boolean, child: ChildProcess, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the sender ended before ${what}`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * The fault run: a sending process (a child, on a SQLite file) is SIGKILLed twice — once in the
 * middle of the invitation job, once in the middle of SMTP sending — while the listener refuses
 * some recipients' first attempts. After the last restart, what arrived at the listener and what
 * the delivery log says are compared per recipient.
 */
export async function runFaultRun(o: FaultRunOptions): Promise<FaultRunOutcome> {
  const t0 = Date.now();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'verein-fault-'));
  const sink = await LeanSmtpSink.start();
  const out: string[] = [];
  const exits: { code: number | null; signal: string | null }[] = [];
  const email = (i: number) => `vertretung${i + 1}@mitglied${i + 1}.example`;
  try {
    const baseEnv = { NODE_ENV: 'test', DATA_DIR: dataDir, BASE_URL: 'http://127.0.0.1:3999', LOG_LEVEL: 'silent', SEED_DEMO: 'never', SMTP_URL: sink.url };
    // the data: voting members and an assembly with an agenda, in a SQLite file
    const config = loadConfig(baseEnv);
    const db = createDb(config.database);
    await migrate(db);
    const ctx = createContext({ config, db, clock: systemClock, log: createLogger('silent') });
    const cats = await makeCategories(ctx);
    await seedVotingMembers(db, o.recipients, cats.company, email);
    const assemblyId = await prepareAssembly(ctx, 'Mitgliederversammlung (Fehlerlauf)');
    ctx.outbox.close();
    await db.destroy();
    for (let i = 0; i < o.refusedRecipients; i++) sink.refuseFirstAttempts(email(i * 3), o.refusedAttempts); // every third member's server is busy at first

    const file = (config.database as { filename: string }).filename;
    const peek = new Database(file, { readonly: true, fileMustExist: true });
    const enqueued = () => (peek.prepare('select count(*) as n from assembly_invitations where mail_message_id is not null').get() as { n: number }).n;
    const env = { ...baseEnv, ASSEMBLY_ID: String(assemblyId) };
    try {
      // run 1: the job freezes after some mails and the process is killed
      const c1 = startChild({ ...env, CLOCK_OFFSET_MS: '0', HANG_AFTER_ENQUEUED: String(o.killJobAfterEnqueued) }, out);
      await until(`${o.killJobAfterEnqueued} mails enqueued`, () => enqueued() >= o.killJobAfterEnqueued, c1, 30_000);
      c1.kill('SIGKILL');
      exits.push(await exited(c1));
      // run 2: restarted "an hour later"; resumes the job, starts sending, is killed mid-send
      const c2 = startChild({ ...env, CLOCK_OFFSET_MS: String(HOUR) }, out);
      await until(`${o.killSendAfterDelivered} messages at the listener`, () => sink.dataEnds >= o.killSendAfterDelivered, c2, 30_000);
      c2.kill('SIGKILL');
      exits.push(await exited(c2));
      // run 3: restarted "two hours later"; runs to the end
      const c3 = startChild({ ...env, CLOCK_OFFSET_MS: String(2 * HOUR) }, out);
      exits.push(await exited(c3));
      if (exits[2].code !== 0) throw new Error(`the last sender failed (${exits[2].code}):\n${out.join('\n')}`);

      // the delivery log: each invitation joined to its mail
      const rows = peek.prepare(`
        select i.to_address as "to", count(i.id) as invitations, max(m.status) as status, max(m.attempts) as attempts,
               max(m.last_response) as response, max(m.message_id) as message_id, count(distinct m.id) as mails
        from assembly_invitations i left join mail_messages m on m.id = i.mail_message_id
        where i.assembly_id = ? group by i.to_address order by i.to_address`).all(assemblyId) as Record<string, any>[];
      const log: DeliveryRow[] = rows.map((r) => ({ to: r.to, invitations: Number(r.invitations), mailStatus: r.status, attempts: Number(r.attempts), lastResponse: r.response ?? '', messageId: r.message_id ?? '' }));
      const perRecipient = log.map((r) => sink.byRecipient.get(r.to)?.size ?? 0);
      return {
        recipients: o.recipients,
        kills: 2,
        exitCodes: exits.map((e) => e.code),
        signals: exits.map((e) => e.signal),
        refusals: sink.refusals,
        rawDataEnds: sink.dataEnds,
        rawDuplicates: sink.duplicates(),
        distinctMessageIds: sink.byMessageId.size,
        deliveredOnce: perRecipient.filter((n) => n === 1).length,
        lost: o.recipients - perRecipient.filter((n) => n >= 1).length,
        doubled: perRecipient.filter((n) => n > 1).length,
        logAllSent: log.length === o.recipients && rows.every((r) => Number(r.invitations) === 1 && Number(r.mails) === 1 && r.status === 'sent'),
        logMatchesListener: log.every((r) => { const got = sink.byRecipient.get(r.to); return !!got && got.size === 1 && got.has(r.messageId); }),
        seconds: Math.round((Date.now() - t0) / 100) / 10,
        log,
        childOutput: out,
      };
    } finally {
      peek.close();
    }
  } finally {
    await sink.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
