/**
 * The sending process of the fault run (test/fakes/invitations-fault-run.ts), started as a
 * child process and killed with SIGKILL by it: what `npm run cli -- assembly:invite ID`
 * followed by `mail:send` does, on the SQLite file in DATA_DIR, through SMTP_URL.
 *
 * Time: the process runs on the system clock shifted by CLOCK_OFFSET_MS. A restart is given a
 * larger offset, as if it happened that much later (so the dead worker's locks — 60 s for the
 * job, 5 min for a message being sent — have expired, as they would in life). While messages
 * wait for their retry (451: 1 min, then 2 min …) the process moves its own clock forward to
 * the next due time instead of sleeping; nothing else about the path is changed.
 *
 * HANG_AFTER_ENQUEUED=N: the invitation job stops after N mails as if the machine froze (the
 * parent then kills it). Prints one JSON line per phase on stdout.
 */
import { loadConfig } from '../../server/config.ts';
import { createDb } from '../../server/db/knex.ts';
import { createContext } from '../../server/context.ts';
import { createLogger } from '../../server/logger.ts';
import { runInvitationsCli } from '../../server/cli/assemblies.ts';

const env = process.env;
let offset = Number(env.CLOCK_OFFSET_MS ?? 0);
const clock = { now: () => new Date(Date.now() + offset) };
const say = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify(o) + '\n');

const config = loadConfig(env);
const db = createDb(config.database);
const ctx = createContext({ config, db, clock, log: createLogger('silent') });
if (env.HANG_AFTER_ENQUEUED) ctx.assemblies.jobs.crashAfter = Number(env.HANG_AFTER_ENQUEUED);

try {
  const assemblyId = Number(env.ASSEMBLY_ID);
  const r = await runInvitationsCli(ctx, assemblyId, (line) => say({ phase: 'job', line }), { pollMs: 50 });
  say({ phase: 'job-done', ...r });
  let rounds = 0;
  for (; rounds < 1000; rounds++) {
    await ctx.outbox.flush();
    const waiting = await db('mail_messages').whereIn('status', ['queued', 'sending']).select('status', 'next_attempt_at', 'locked_until');
    if (!waiting.length) break;
    const due = Math.min(...waiting.map((w) => new Date(w.status === 'queued' ? w.next_attempt_at : w.locked_until ?? 0).getTime()));
    const now = clock.now().getTime();
    if (due > now) offset += due - now + 1; // wait for the retry by moving this process's clock
  }
  say({ phase: 'flush-done', rounds, counts: await ctx.outbox.counts() });
} finally {
  ctx.outbox.close();
  await db.destroy();
}
