import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import { loadConfig } from '../server/config.ts';
import { createDb, migrate } from '../server/db/knex.ts';
import { createContext } from '../server/context.ts';
import { createLogger } from '../server/logger.ts';
import { noDelaySocket } from '../server/mail/transport.ts';
import { systemClock } from '../server/clock.ts';
import { makeCategories } from '../test/helpers/fixtures.ts';
import { LeanSmtpSink } from '../test/fakes/lean-smtp-sink.ts';
import { prepareAssembly, seedVotingMembers } from '../test/fakes/assembly-setup.ts';
import { runFaultRun } from '../test/fakes/invitations-fault-run.ts';

/**
 * `node --import tsx bench/invitations.ts`: invitations to 5,000 members through a local SMTP
 * listener (test/fakes/lean-smtp-sink.ts: counts DATA ends and Message-IDs, parses nothing).
 *
 *  1. the app's real path on a SQLite file: an assembly with an agenda, the invitation job
 *     records the 5,000 recipients and enqueues 5,000 personal mails (with .ics), then the
 *     outbox sends them through nodemailer with the pooled SMTP transport the app builds from
 *     SMTP_URL (pool, 3 connections; the outbox sends with 3 parallel claimers);
 *  2. bare nodemailer, pooled the same way, sending the same 5,000 messages (read back from the
 *     outbox) to the same listener in the same run, with the same socket setup (TCP_NODELAY):
 *     the ceiling for the app's sending;
 *  3. the fault run (test/fakes/invitations-fault-run.ts): 60 members, the sender killed twice,
 *     451 refusals; its outcome as the scenario `invitations-fault-run`.
 * Prints messages/s, the ratio, peak RSS and PASS/FAIL; merges the scenarios `invitations-5000`
 * and `invitations-fault-run` into bench/results.json (same-named scenarios are replaced).
 * It is a measurement: it exits 0 whatever the figures (1 only when it cannot measure).
 *
 * Environment: BENCH_INVITATIONS (5000), BENCH_RESULTS (bench/results.json).
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const INVITATION_TARGETS = { messagesPerSecond: 200, ratio: 0.5 };
const POOL = 3;

interface Scenario { name: string; [k: string]: unknown }

function mb(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}

function rate(n: number, ms: number): number {
  return Math.round((n / (ms / 1000)) * 10) / 10;
}

/** Waits until the listener has counted `n` messages (the last 250 may trail the sender's promise). */
async function listenerHas(sink: LeanSmtpSink, n: number, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (sink.dataEnds < n && Date.now() - t0 < timeoutMs) await new Promise((r) => setTimeout(r, 5));
}

export async function runInvitationsBench(opts: { members?: number; print?: (line: string) => void; resultsFile?: string; fault?: boolean } = {}): Promise<Scenario[]> {
  const members = opts.members ?? Number(process.env.BENCH_INVITATIONS ?? 5000);
  const print = opts.print ?? ((l: string) => console.log(l));
  const resultsFile = opts.resultsFile ?? path.resolve(root, process.env.BENCH_RESULTS ?? 'bench/results.json');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'verein-bench-inv-'));
  const sink = await LeanSmtpSink.start();
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 50);
  const scenarios: Scenario[] = [];
  try {
    const config = loadConfig({ NODE_ENV: 'production', DATA_DIR: dataDir, BASE_URL: 'https://verein.example', LOG_LEVEL: 'silent', SEED_DEMO: 'never', SESSION_SECRET: 'x'.repeat(32), SMTP_URL: sink.url });
    const db = createDb(config.database);
    await migrate(db);
    const ctx = createContext({ config, db, clock: systemClock, log: createLogger('silent') });
    const cats = await makeCategories(ctx);
    print(`seeding ${members} voting members …`);
    await seedVotingMembers(db, members, cats.company, (i) => `vertretung${i + 1}@mitglied${i + 1}.example`);
    const assemblyId = await prepareAssembly(ctx, 'Ordentliche Mitgliederversammlung (Benchmark)');
    const rssBefore = process.memoryUsage().rss;

    // 1. the app's path: job (record + enqueue), then the outbox through the pooled transport
    ctx.assemblies.jobs.autoStart = false;
    const tJob = Date.now();
    const jobId = await ctx.assemblies.sending.startSending({ userId: null, label: 'bench' }, assemblyId);
    const job = await ctx.assemblies.jobs.run(jobId);
    const jobMs = Date.now() - tJob;
    if (job.status !== 'done' || job.progress !== members) throw new Error(`invitation job ended ${job.status} at ${job.progress}/${job.total}`);
    print(`invitation job: ${members} recipients recorded and enqueued in ${(jobMs / 1000).toFixed(1)} s (${rate(members, jobMs)}/s)`);
    if (process.env.BENCH_OUTBOX_CONCURRENCY) ctx.outbox.concurrency = Number(process.env.BENCH_OUTBOX_CONCURRENCY);
    const tSend = Date.now();
    const attempted = await ctx.outbox.flush();
    await listenerHas(sink, members);
    const sendMs = Date.now() - tSend;
    const counts = await ctx.outbox.counts();
    const appDistinct = sink.byMessageId.size;
    const appRaw = sink.dataEnds;
    const appRate = rate(sink.dataEnds, sendMs);
    print(`app path: ${attempted} attempted, ${appRaw} at the listener (${appDistinct} distinct Message-IDs), outbox ${JSON.stringify(counts)}, ${(sendMs / 1000).toFixed(1)} s → ${appRate} messages/s`);

    const appPeakRss = peakRss;

    // 2. bare nodemailer, pooled the same way, the same messages, the same listener
    const rows = await db('mail_messages').orderBy('id').select('message_id', 'to_address', 'subject', 'text_body', 'html_body', 'attachments');
    const from = `"ChemieNetzwerk Harz e.V." <vorstand@example.org>`;
    const msgs = rows.map((r) => ({
      messageId: String(r.message_id).replace('@', '.bare@'), from, to: r.to_address, subject: r.subject, text: r.text_body, html: r.html_body,
      attachments: r.attachments ? (JSON.parse(r.attachments) as { filename: string; contentType: string; contentBase64: string }[]).map((a) => ({ filename: a.filename, contentType: a.contentType, content: Buffer.from(a.contentBase64, 'base64') })) : undefined,
    }));
    sink.reset();
    const bare = nodemailer.createTransport(`${sink.url}?pool=true&maxConnections=${POOL}`);
    // the same socket setup as the app's transport (TCP_NODELAY, see server/mail/transport.ts), so the ratio compares like with like
    (bare.transporter as unknown as { getSocket: typeof noDelaySocket }).getSocket = noDelaySocket;
    const tBare = Date.now();
    await Promise.all(msgs.map((m) => bare.sendMail(m)));
    await listenerHas(sink, msgs.length);
    const bareMs = Date.now() - tBare;
    bare.close();
    const bareRate = rate(sink.dataEnds, bareMs);
    print(`bare nodemailer (pool, ${POOL} connections): ${sink.dataEnds} messages in ${(bareMs / 1000).toFixed(1)} s → ${bareRate} messages/s`);

    ctx.outbox.close();
    await db.destroy();
    const ratio = Math.round((appRate / bareRate) * 100) / 100;
    const pass = appRate >= INVITATION_TARGETS.messagesPerSecond && ratio >= INVITATION_TARGETS.ratio && appDistinct === members && appRaw === members;
    scenarios.push({
      name: `invitations-${members}`,
      messagesPerSecond: appRate,
      bareNodemailerMessagesPerSecond: bareRate,
      ratio,
      peakRssMb: mb(appPeakRss),
      rssBeforeSendingMb: mb(rssBefore),
      peakRssWholeRunMb: mb(peakRss),
      jobSeconds: Math.round(jobMs / 100) / 10,
      jobRecipientsPerSecond: rate(members, jobMs),
      sendSeconds: Math.round(sendMs / 100) / 10,
      endToEndMessagesPerSecond: rate(members, jobMs + sendMs),
      delivered: appRaw,
      distinctMessageIds: appDistinct,
      poolConnections: POOL,
      outboxConcurrency: ctx.outbox.concurrency,
      targets: INVITATION_TARGETS,
      pass,
    });
    print(`${pass ? 'PASS' : 'FAIL'} invitations-${members}: ${appRate} messages/s (target ≥ ${INVITATION_TARGETS.messagesPerSecond}), ratio to bare nodemailer ${ratio} (target ≥ ${INVITATION_TARGETS.ratio}), peak RSS ${mb(appPeakRss)} MB (whole run ${mb(peakRss)} MB)`);
  } finally {
    clearInterval(sampler);
    await sink.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }

  if (opts.fault !== false) {
    const f = await runFaultRun({ recipients: 60, refusedRecipients: 8, refusedAttempts: 2, killJobAfterEnqueued: 20, killSendAfterDelivered: 25 });
    const pass = f.lost === 0 && f.doubled === 0 && f.deliveredOnce === f.recipients && f.logAllSent && f.logMatchesListener;
    scenarios.push({
      name: 'invitations-fault-run',
      recipients: f.recipients, kills: f.kills, refusals451: f.refusals, deliveredOnce: f.deliveredOnce, lost: f.lost, doubled: f.doubled,
      rawDataEnds: f.rawDataEnds, rawDuplicatesSameMessageId: f.rawDuplicates, distinctMessageIds: f.distinctMessageIds,
      deliveryLogAllSent: f.logAllSent, deliveryLogMatchesListener: f.logMatchesListener, seconds: f.seconds, pass,
    });
    print(`${pass ? 'PASS' : 'FAIL'} invitations-fault-run: ${f.deliveredOnce}/${f.recipients} delivered once, ${f.lost} lost, ${f.doubled} doubled; raw DATA ${f.rawDataEnds} (${f.rawDuplicates} repeated with the same Message-ID after a kill), ${f.refusals} refusals retried, ${f.seconds} s`);
  }

  mergeResults(resultsFile, scenarios);
  print(`merged ${scenarios.map((s) => s.name).join(', ')} into ${path.relative(root, resultsFile)}`);
  return scenarios;
}

/** Reads the results file, replaces scenarios of the same name, writes it back. */
export function mergeResults(file: string, scenarios: Scenario[]): void {
  let doc: { scenarios?: Scenario[]; [k: string]: unknown };
  try { doc = JSON.parse(fs.readFileSync(file, 'utf8')); } catch { doc = {}; }
  const names = new Set(scenarios.map((s) => s.name));
  doc.scenarios = [...(doc.scenarios ?? []).filter((s) => !names.has(s.name)), ...scenarios.map((s) => ({ ...s, measuredAt: new Date().toISOString() }))];
  fs.writeFileSync(file, JSON.stringify(doc, null, 2) + '\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runInvitationsBench().then(
    () => process.exit(0),
    (err: Error) => { console.error(`cannot measure: ${err.stack ?? err.message}`); process.exit(1); },
  );
}
