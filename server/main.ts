import 'dotenv/config';
import http from 'node:http';
import { ConfigError, configWarnings, loadConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { createDb, migrate } from './db/knex.ts';
import { systemClock } from './clock.ts';
import { createContext } from './context.ts';
import { createApp } from './app.ts';
import { MailWorker } from './mail/outbox.service.ts';
import { DueExitsTimer } from './members/due-exits.timer.ts';
import { RetentionTimer } from './retention/retention.service.ts';
import { seedDemoIfEmpty } from '../seeds/demo.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  for (const w of configWarnings(config)) { log.warn({ config: true }, w); console.warn(`Warning: ${w}`); } // h/harden
  const db = createDb(config.database);
  await migrate(db);
  const ctx = createContext({ config, db, clock: systemClock, log });
  if (config.seedDemo) await seedDemoIfEmpty(ctx, (line) => console.log(line));
  const handle = createApp(ctx);
  await ctx.changes.start(); // listening (PostgreSQL) before the first request
  const worker = new MailWorker(ctx.outbox, log);
  worker.start();
  // members whose last day has passed become former members (no page read writes)
  const exits = new DueExitsTimer(ctx.members, log);
  exits.start();
  // the retention periods of the settings, applied once a day (from 03:00 Europe/Berlin)
  const retention = new RetentionTimer(ctx.retention, log);
  retention.start();
  // jobs a crash or restart interrupted (dues runs, invitation sending) go on where they stopped
  const resume = () => ctx.jobs.resumeStale().catch((err: Error) => log.error({ err: err.message }, 'resuming jobs failed'));
  await resume();
  const jobTimer = setInterval(() => void resume(), 60_000);
  jobTimer.unref();
  // h/sepa: direct debits whose due date has come are booked as paid (hourly; the treasurer's pages do it too)
  const settleDebits = () => ctx.sepa.settleDue().catch((err: Error) => log.error({ err: err.message }, 'booking due direct debits failed'));
  void settleDebits();
  const sepaTimer = setInterval(() => void settleDebits(), 3_600_000);
  sepaTimer.unref();
  // h/evote: ballots whose window ended close by themselves (the window is stored, so a restart keeps it)
  await ctx.assemblies.ballots.closeDue();
  ctx.assemblies.ballots.startTimer();
  const server = http.createServer(handle.app);
  server.listen(config.port, () => {
    log.info({ port: config.port, mail: config.smtpUrl ? 'smtp' : 'files', stripe: config.stripe.secretKey ? 'on' : 'off' }, 'listening');
    console.log(`\n  ${config.baseUrl} is ready (mail ${config.smtpUrl ? 'via SMTP' : `kept in ${config.mailDir} and the mail log`}, Stripe ${config.stripe.secretKey ? 'on' : 'off'}).\n`);
  });
  const stop = (signal: string) => {
    log.info({ signal }, 'stopping');
    worker.stop();
    exits.stop();
    retention.stop();
    clearInterval(jobTimer);
    clearInterval(sepaTimer); // h/sepa
    server.close(() => {
      ctx.outbox.close();
      void handle.close().then(() => db.destroy()).then(() => process.exit(0));
    });
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
