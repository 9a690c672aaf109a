import type { Context } from '../context.ts';
import type { Actor } from '../audit/audit.service.ts';
import { tFor } from '../i18n/i18n.ts';
import { AssemblyRuleError, ruleKey } from '../assemblies/assemblies.model.ts';
import { CommandError, UsageError, type Command } from './command.ts';

/**
 * For the command line (`npm run cli -- assembly:invite ID`): starts the invitation job of an
 * assembly and runs it in the foreground, printing progress. Run again after an interruption
 * (the process was killed, the machine restarted) it resumes: it takes over the job left behind
 * (waiting, if need be, until the dead worker's lock has expired), or restarts a failed one;
 * recipients already enqueued are skipped, so nobody is invited twice. When everything was
 * already enqueued it says so and changes nothing. Throws an Error with a clear message when
 * sending is refused.
 */
export async function runInvitationsCli(
  ctx: Context, assemblyId: number, print: (line: string) => void,
  opts: { overrideReason?: string; pollMs?: number; maxWaitMs?: number } = {},
): Promise<{ jobId: number; enqueued: number; letters: number; resumed: boolean; alreadyDone: boolean }> {
  const svc = ctx.assemblies;
  const t = tFor('de');
  const actor: Actor = { userId: null, label: 'cli' };
  const a = await svc.assembly.find(assemblyId);
  if (!a) throw new Error(`Versammlung ${assemblyId} gibt es nicht / assembly ${assemblyId} not found`);
  const letters = async () => (await svc.sending.invitations(assemblyId)).filter((i) => i.channel === 'letter').length;
  const quietly = async <T>(fn: () => Promise<T>): Promise<T> => {
    const auto = svc.jobs.autoStart;
    svc.jobs.autoStart = false; // this process runs the job itself, in the foreground
    try { return await fn(); } finally { svc.jobs.autoStart = auto; }
  };
  let jobId: number;
  let resumed = false;
  try {
    const active = await svc.jobs.activeJob(assemblyId);
    const last = (await svc.jobs.all(assemblyId)).find((j) => j.mailKind === 'invitation');
    if (active) {
      jobId = active.id;
      resumed = true;
      print(`Job ${jobId} (${active.mailKind}) was interrupted at ${active.progress}/${active.total}: resuming`);
    } else if (a.status === 'invited' && last?.status === 'failed') {
      jobId = last.id;
      resumed = true;
      print(`Job ${jobId} had failed at ${last.progress}/${last.total} (${last.error ?? ''}): starting it again`);
      await quietly(() => svc.jobs.retry(actor, assemblyId, last.id));
    } else if (a.status === 'invited' && last?.status === 'done') {
      const n = await letters();
      print(`${a.title}: invitations already sent (job ${last.id}, ${last.progress}/${last.total} e-mails enqueued, ${n} letters); nothing to do`);
      return { jobId: last.id, enqueued: last.progress, letters: n, resumed: false, alreadyDone: true };
    } else {
      jobId = await quietly(() => svc.sending.startSending(actor, assemblyId, opts.overrideReason ?? ''));
    }
  } catch (err) {
    if (err instanceof AssemblyRuleError) throw new Error(t(ruleKey(err.code), err.params), { cause: err });
    throw err;
  }
  print(`Job ${jobId}: ${a.title}`);
  const pollMs = opts.pollMs ?? 1000;
  const maxWaitMs = opts.maxWaitMs ?? 5 * 60_000;
  const waitStart = Date.now();
  let job = await svc.jobs.run(jobId);
  let told = false;
  // a job still 'running' here is held by another worker: alive, or dead with its lock not yet expired
  while (job.status === 'running' || job.status === 'queued') {
    if (Date.now() - waitStart > maxWaitMs) throw new Error(`Job ${jobId} is held by another process (${job.progress}/${job.total}); try again later`);
    if (!told) {
      const j = await ctx.jobs.get(jobId);
      print(`Job ${jobId} is held by another process until ${j?.lockedUntil ?? '?'} (${job.progress}/${job.total}); waiting to take over …`);
      told = true;
    }
    await new Promise((r) => setTimeout(r, pollMs));
    job = await svc.jobs.run(jobId);
  }
  if (job.status === 'failed') throw new Error(`Job ${jobId}: ${job.error ?? 'failed'}`);
  const n = await letters();
  print(`${job.progress}/${job.total} e-mails enqueued, ${n} ${n === 1 ? 'letter' : 'letters'} to print, status ${job.status}`);
  return { jobId, enqueued: job.progress, letters: n, resumed, alreadyDone: false };
}

/** `assembly:invite ID`: an assembly's invitations, in the foreground. */
export const assemblyInviteCommand: Command = {
  usage: 'assembly:invite ID [--override-reason TEXT]',
  summary: 'send the invitations of a general assembly (the same job as in the web interface)',
  options: { 'override-reason': { type: 'string' } },
  positionals: 1,
  available: true,
  precheck: (_config, { positionals }) => {
    if (!positionals[0]) throw new UsageError('ID of the assembly is required');
    if (!/^\d+$/.test(positionals[0])) throw new UsageError(`"${positionals[0]}" is not an assembly id`);
  },
  run: async (ctx, { values, positionals }, print) => {
    try {
      await runInvitationsCli(ctx, Number(positionals[0]), print, { overrideReason: typeof values['override-reason'] === 'string' ? values['override-reason'] : undefined });
    } catch (err) {
      throw new CommandError((err as Error).message); // why: the job and the service throw Error objects
    }
  },
};
