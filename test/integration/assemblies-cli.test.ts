import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { makeCategories } from '../helpers/fixtures.ts';
import { createContext } from '../../server/context.ts';
import { createLogger } from '../../server/logger.ts';
import { runInvitationsCli } from '../../server/cli/assemblies.ts';
import { makeOrg, TEST_ACTOR } from './assemblies.fixtures.ts';

describe('assemblies: sending invitations from the command line, and resuming', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let cats: Record<string, number>;

  before(async () => {
    env = await createTestEnv();
    cats = await makeCategories(env.ctx);
    for (let i = 1; i <= 6; i++) await makeOrg(env.ctx, { name: `Mitglied ${i} GmbH`, categoryId: cats.company, repEmail: `m${i}@cli.example` });
    await makeOrg(env.ctx, { name: 'Briefpost KG', categoryId: cats.company });
  });
  after(async () => env.close());

  async function assembly(title: string, agenda = true): Promise<number> {
    const id = await env.ctx.assemblies.assembly.create(TEST_ACTOR, {
      title, kind: 'ordinary', date: '2026-12-19', time: '18:00', durationMinutes: 120, format: 'in_person', location: 'Goslar', participationInfo: '', copyAllContacts: false,
    });
    if (agenda) await env.ctx.assemblies.assembly.addAgendaItem(TEST_ACTOR, id, { title: 'Wahl des Vorstands', description: '', kind: 'election', proposedText: '' });
    return id;
  }

  async function mailsPerInvitation(id: number): Promise<number[]> {
    const invs = (await env.ctx.assemblies.sending.invitations(id)).filter((i) => i.channel === 'email');
    const out: number[] = [];
    for (const inv of invs) {
      const [{ n }] = await env.db('mail_messages').where({ template: 'assembly_invitation', related_type: 'assembly_invitation', related_id: inv.id }).count({ n: '*' });
      out.push(Number(n));
    }
    return out;
  }

  it('sends in the foreground and prints the outcome; refusals come back as clear messages', async () => {
    const id = await assembly('MV per Kommandozeile');
    const lines: string[] = [];
    const r = await runInvitationsCli(env.ctx, id, (l) => lines.push(l));
    expect(r).to.include({ enqueued: 6, letters: 1, resumed: false, alreadyDone: false });
    expect(lines.at(-1)).to.equal('6/6 e-mails enqueued, 1 letter to print, status done');
    expect(await mailsPerInvitation(id)).to.deep.equal([1, 1, 1, 1, 1, 1]);

    // run again: nothing new, and it says so
    const again: string[] = [];
    const r2 = await runInvitationsCli(env.ctx, id, (l) => again.push(l));
    expect(r2).to.include({ alreadyDone: true, enqueued: 6 });
    expect(again.join('\n')).to.contain('already sent');
    expect(await mailsPerInvitation(id)).to.deep.equal([1, 1, 1, 1, 1, 1]);

    const empty = await assembly('Ohne Tagesordnung', false);
    const err = await runInvitationsCli(env.ctx, empty, () => {}).then(() => undefined, (e: Error) => e.message);
    expect(err).to.equal('Ohne Tagesordnung kann nicht eingeladen werden.');
    const missing = await runInvitationsCli(env.ctx, 99999, () => {}).then(() => undefined, (e: Error) => e.message);
    expect(missing).to.contain('assembly 99999 not found');
  });

  it('resumes a job whose process died: waits for the dead lock to expire, then enqueues only what is missing', async () => {
    const id = await assembly('MV mit Absturz');
    // process 1 starts the job and "dies" after three mails: it never returns and keeps its lock
    const jobs = env.ctx.assemblies.jobs;
    jobs.autoStart = false;
    jobs.crashAfter = 3;
    try {
      const jobId = await env.ctx.assemblies.sending.startSending(TEST_ACTOR, id);
      void env.ctx.jobs.execute(jobId);
      for (let i = 0; i < 300 && (await mailsPerInvitation(id)).filter((n) => n).length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    } finally {
      jobs.autoStart = true;
      jobs.crashAfter = undefined;
    }
    expect((await mailsPerInvitation(id)).filter((n) => n === 1)).to.have.length(3);

    // process 2: `assembly:invite ID` again, on the same database
    const restarted = createContext({ config: env.config, db: env.db, clock: env.clock, log: createLogger('silent'), transport: env.transport });
    const lines: string[] = [];
    const run = runInvitationsCli(restarted, id, (l) => lines.push(l), { pollMs: 20 });
    await new Promise((r) => setTimeout(r, 150));
    expect(lines.join('\n')).to.contain('was interrupted at 3/6: resuming');
    expect(lines.join('\n')).to.contain('held by another process');
    env.clock.advance(61_000); // the dead worker's heartbeat lock (60 s) runs out
    const r = await run;
    expect(r).to.include({ resumed: true, enqueued: 6, alreadyDone: false });
    expect(lines.at(-1)).to.equal('6/6 e-mails enqueued, 1 letter to print, status done');
    expect(await mailsPerInvitation(id)).to.deep.equal([1, 1, 1, 1, 1, 1]);
  });

  it('restarts a failed job and skips the recipients it had already enqueued', async () => {
    const id = await assembly('MV mit Fehler');
    const outbox = env.ctx.outbox;
    const enqueue = outbox.enqueue.bind(outbox);
    let calls = 0;
    outbox.enqueue = async (trx, input) => {
      if (++calls === 3) throw new Error('disk full');
      return enqueue(trx, input);
    };
    try {
      const err = await runInvitationsCli(env.ctx, id, () => {}).then(() => undefined, (e: Error) => e.message);
      expect(err).to.match(/Job \d+: disk full/);
    } finally {
      outbox.enqueue = enqueue;
    }
    expect((await mailsPerInvitation(id)).filter((n) => n === 1)).to.have.length(2);
    const lines: string[] = [];
    const r = await runInvitationsCli(env.ctx, id, (l) => lines.push(l));
    expect(lines[0]).to.match(/had failed at 2\/6 \(disk full\): starting it again/);
    expect(r).to.include({ resumed: true, enqueued: 6 });
    expect(await mailsPerInvitation(id)).to.deep.equal([1, 1, 1, 1, 1, 1]);
    const audit = await env.ctx.audit.list({ entityType: 'assembly', entityId: id, action: 'assembly.job_retried' });
    expect(audit).to.have.length(1);
    expect(audit[0].actorLabel).to.equal('cli');
  });
});
