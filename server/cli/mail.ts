import { DateTime } from 'luxon';
import { ZONE } from '../clock.ts';
import type { Context } from '../context.ts';
import type { Command, Print } from './command.ts';

async function mailSend(ctx: Context, _args: unknown, print: Print): Promise<void> {
  const before = await ctx.outbox.counts();
  const due = before.queued ?? 0;
  print(`Sending due messages from the outbox (${due} queued, transport: ${ctx.config.smtpUrl ? 'SMTP' : `files in ${ctx.config.mailDir}`}) …`);
  const attempted = await ctx.outbox.flush();
  const after = await ctx.outbox.counts();
  const sent = (after.sent ?? 0) - (before.sent ?? 0);
  const failed = (after.failed ?? 0) - (before.failed ?? 0);
  const waiting = (after.queued ?? 0) + (after.sending ?? 0);
  print(`Attempted ${attempted}: sent ${sent}, failed ${failed}, waiting ${waiting}.`);
  if (waiting > 0) {
    const next = await ctx.outbox.nextAttemptAt();
    if (next) print(`Next attempt for waiting messages: ${DateTime.fromISO(next, { zone: 'utc' }).setZone(ZONE).toFormat('dd.MM.yyyy HH:mm:ss')} (Europe/Berlin).`);
  }
  if (failed > 0) print('Failed messages and the server\'s answers are listed in the admin mail log.');
}

/** `mail:send`: flushes the outbox now. */
export const mailSendCommand: Command = {
  usage: 'mail:send',
  summary: 'send every due message in the outbox now; prints how many were sent, failed and are waiting',
  available: true,
  run: mailSend,
};
