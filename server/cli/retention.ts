import type { Context } from '../context.ts';
import { RETENTION_KINDS } from '../retention/retention.service.ts';
import { CLI_ACTOR, CommandError, type Command, type CommandArgs, type Print } from './command.ts';

const DONE = {
  applications: 'applications deleted',
  formerMembers: 'former members anonymised',
  mailBodies: 'mail bodies removed',
  auditDetails: 'audit entries emptied of their values',
} as const;
const DUE = {
  applications: 'applications due for deletion',
  formerMembers: 'former members due for anonymisation',
  mailBodies: 'mail bodies due for removal',
  auditDetails: 'audit entries whose values are due for removal',
} as const;

async function retentionRun(ctx: Context, args: CommandArgs, print: Print): Promise<void> {
  const dryRun = args.values['dry-run'] === true;
  print(dryRun ? 'Retention run (dry run: nothing is changed) …' : 'Retention run …');
  const run = (await ctx.retention.run({ trigger: 'cli', dryRun, actor: CLI_ACTOR }))!;
  for (const kind of RETENTION_KINDS) print(`  ${String(run.counts[kind] ?? 0).padStart(6)} ${(dryRun ? DUE : DONE)[kind]}`);
  if (run.status !== 'done') throw new CommandError(`The run failed: ${run.error ?? run.status}. What was done so far stands; the next run finishes the rest.`);
}

/** `retention:run [--dry-run]`: the retention periods of the settings, now (for cron). */
export const retentionRunCommand: Command = {
  usage: 'retention:run [--dry-run]',
  summary: 'apply every retention period of the settings now (the server also does this daily); --dry-run only counts',
  options: { 'dry-run': { type: 'boolean' } },
  available: true,
  run: retentionRun,
};
