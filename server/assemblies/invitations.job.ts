import type { Knex } from 'knex';
import { iso, type Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import { affected, insertId } from '../db/knex.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import type { Outbox } from '../mail/outbox.service.ts';
import type { SettingsService } from '../settings/settings.service.ts';
import type { Logger } from '../logger.ts';
import { AppError } from '../errors.ts';
import type { Job, JobContext, JobsService, JobStatus } from '../jobs/jobs.service.ts';
import { tFor } from '../i18n/i18n.ts';
import type { AssociationSettings, BylawsRules } from '../settings/settings.schemas.ts';
import { berlinDay } from './notice.ts';
import { assemblyIcs, assemblyMail, type MailKind } from './assemblies.mails.ts';
import { newLinkToken } from '../auth/tokens.ts';
import { AssemblyRuleError, rowToInvitation, type AgendaItem, type Assembly, type AssembliesService, type Invitation } from './assemblies.service.ts';
import { isUniqueViolation } from '../db/errors.ts';

/**
 * Sending an assembly's mails as a persisted, resumable background job (table `jobs`).
 *
 * - One job at a time per assembly: the job's unique_key `assembly:<id>:mail` is set while
 *   it is queued or running and cleared when it ends, so two board members pressing "send"
 *   at the same moment get one job.
 * - The invitation job first records every recipient (one `assembly_invitations` row per
 *   organisation, in one transaction: who, which address, which language — the proof of the
 *   Textform invitation), then enqueues each recipient's mail in the outbox in its own
 *   transaction together with the link to it (`mail_message_id`). A recipient whose mail is
 *   already enqueued is skipped, so a job run twice, or resumed after a crash, never sends
 *   twice. Later mails (update, cancellation, supplement, reminder, minutes) do the same
 *   through `assembly_deliveries` with a unique (invitation, key).
 * - A worker holds the job by `locked_until`; a job whose lock has expired (the process died)
 *   is taken over by the next run.
 */

const JOB_KIND = 'assembly_mail';
const LINK_KINDS: MailKind[] = ['invitation', 'update', 'supplement', 'reminder'];

export interface JobView {
  id: number;
  mailKind: MailKind;
  status: JobStatus;
  progress: number;
  total: number;
  error: string | null;
  createdAt: string;
  updatedAt: string;
  active: boolean;
}

interface Payload {
  assemblyId: number;
  mailKind: MailKind;
  recorded?: boolean;
  sequence?: number;
  itemIds?: number[];
}

interface Deps {
  db: Knex;
  clock: Clock;
  audit: AuditService;
  outbox: Outbox;
  settings: SettingsService;
  config: Config;
  log: Logger;
  jobs: JobsService;
}

function uniqueKey(assemblyId: number): string {
  return `assembly:${assemblyId}:mail`;
}

function toView(j: Job): JobView {
  const p = j.payload as unknown as Payload;
  return {
    id: j.id, mailKind: p.mailKind, status: j.status, progress: j.progress, total: j.total, error: j.error,
    createdAt: j.createdAt, updatedAt: j.updatedAt, active: j.status === 'queued' || j.status === 'running',
  };
}

/** The assembly mail jobs on the shared job runner (server/jobs/jobs.service.ts). */
export class InvitationJobs {
  /** Start jobs in the background as soon as they are created (tests may turn this off to drive them). */
  autoStart = true;
  /** Test hook: after this many mails a run stops as if the process had died (it never returns, the lock stays). */
  crashAfter?: number;

  constructor(private d: Deps, private service: AssembliesService) {
    d.jobs.register(JOB_KIND, (jc) => this.handle(jc));
  }

  private now(): string {
    return iso(this.d.clock.now());
  }

  /** Creates the job inside the caller's transaction; refused while another mail job of the assembly runs. */
  async create(trx: Knex.Transaction, actor: Actor, assemblyId: number, mailKind: MailKind, extra: Partial<Payload>): Promise<number> {
    const existing = await this.d.jobs.byKey(uniqueKey(assemblyId), trx);
    if (existing) throw new AssemblyRuleError('job_running');
    const payload: Payload = { assemblyId, mailKind, ...extra };
    try {
      const { job } = await this.d.jobs.create(trx, { kind: JOB_KIND, uniqueKey: uniqueKey(assemblyId), payload: payload as unknown as Record<string, unknown>, createdBy: actor.userId });
      return job.id;
    } catch (err) {
      if (isUniqueViolation(err) || (err instanceof AppError && err.code === 'job_running')) throw new AssemblyRuleError('job_running');
      throw err;
    }
  }

  async activeJob(assemblyId: number): Promise<JobView | undefined> {
    const j = await this.d.jobs.byKey(uniqueKey(assemblyId));
    return j ? toView(j) : undefined;
  }

  private jobsOf(assemblyId: number) {
    return this.d.db('jobs').where('kind', JOB_KIND).andWhere('payload', 'like', `{"assemblyId":${assemblyId},%`);
  }

  async latest(assemblyId: number): Promise<JobView | undefined> {
    const r = await this.jobsOf(assemblyId).orderBy('id', 'desc').select('id').first();
    const j = r ? await this.d.jobs.get(Number(r.id)) : undefined;
    return j ? toView(j) : undefined;
  }

  async all(assemblyId: number): Promise<JobView[]> {
    const ids = (await this.jobsOf(assemblyId).orderBy('id', 'desc').select('id')).map((r) => Number(r.id));
    const out: JobView[] = [];
    for (const id of ids) {
      const j = await this.d.jobs.get(id);
      if (j) out.push(toView(j));
    }
    return out;
  }

  /** Runs the job in the background. */
  start(jobId: number): void {
    if (this.autoStart) this.d.jobs.executeInBackground(jobId);
  }

  /** Runs the job to its end in this process and returns how it ended. */
  async run(jobId: number): Promise<JobView> {
    return toView(await this.d.jobs.execute(jobId));
  }

  /** Resumes a job of the assembly that waits or whose worker died (lock expired); the page calls this. */
  async kick(assemblyId: number): Promise<void> {
    const j = await this.d.jobs.byKey(uniqueKey(assemblyId));
    if (!j) return;
    if (j.status === 'queued' || !j.lockedUntil || j.lockedUntil < this.now()) this.d.jobs.executeInBackground(j.id);
  }

  /** Resolves when the assembly's current job has ended in this process (for tests). */
  async idle(assemblyId: number): Promise<void> {
    const j = await this.latest(assemblyId);
    if (j) await this.d.jobs.waitFor(j.id);
  }

  /** A failed job is started again (recipients already done are skipped). */
  async retry(actor: Actor, assemblyId: number, jobId: number): Promise<void> {
    await this.d.db.transaction(async (trx) => {
      const job = await this.d.jobs.get(jobId, trx);
      if (!job || job.status !== 'failed' || job.kind !== JOB_KIND || (job.payload as unknown as Payload).assemblyId !== assemblyId) throw new AssemblyRuleError('job_not_failed');
      if (await this.d.jobs.byKey(uniqueKey(assemblyId), trx)) throw new AssemblyRuleError('job_running');
      await trx('jobs').where({ id: jobId }).update({ status: 'queued', unique_key: uniqueKey(assemblyId), error: null, updated_at: this.now() });
      await this.d.audit.record(trx, actor, 'assembly.job_retried', 'assembly', assemblyId, undefined, { jobId });
    });
    this.start(jobId);
  }

  private async handle(jc: JobContext): Promise<Record<string, unknown>> {
    const payload = jc.job.payload as unknown as Payload;
    const [association, rules] = await Promise.all([this.d.settings.association(), this.d.settings.rules()]);
    const assembly = await this.service.get(payload.assemblyId);
    const c: RunCtx = { jobId: jc.job.id, jc, payload, association, rules, assembly, done: 0 };
    if (payload.mailKind === 'invitation') await this.runInvitation(c);
    else await this.runFollowUp(c);
    this.d.log.info({ jobId: jc.job.id, assemblyId: payload.assemblyId, kind: payload.mailKind, enqueued: c.done }, 'assembly mail job done');
    return { enqueued: c.done };
  }

  /** After each mail: a simulated crash (tests) leaves the job as a dead process would. */
  private async afterMail(c: RunCtx): Promise<void> {
    c.done++;
    if (this.crashAfter !== undefined && c.done >= this.crashAfter) await new Promise(() => {});
  }

  private async runInvitation(c: RunCtx): Promise<void> {
    const { jobId, assembly } = c;
    if (!c.payload.recorded) {
      // Step 1: record every recipient as of today, all in one transaction.
      await this.d.db.transaction(async (trx) => {
        const [{ n }] = await trx('assembly_invitations').where({ assembly_id: assembly.id }).count({ n: '*' });
        if (Number(n) === 0) {
          const recipients = await this.service.recipients(berlinDay(this.d.clock.now()), assembly.copyAllContacts, trx);
          for (const r of recipients) {
            await trx('assembly_invitations').insert({
              assembly_id: assembly.id, organisation_id: r.organisationId, organisation_name: r.organisationName, member_number: r.memberNumber,
              contact_name: r.contactName, to_address: r.to, cc: r.cc.length ? JSON.stringify(r.cc) : null, locale: r.locale,
              postal_address: r.postalAddress, channel: r.channel, status: r.channel === 'email' ? 'pending' : 'letter', created_at: this.now(),
            });
          }
        }
        const [{ e }] = await trx('assembly_invitations').where({ assembly_id: assembly.id, channel: 'email' }).count({ e: '*' });
        c.payload.recorded = true;
        await trx('jobs').where({ id: jobId }).update({ payload: JSON.stringify(c.payload), total: Number(e), updated_at: this.now() });
      });
    }
    // Step 2: one transaction per recipient; rows already enqueued are skipped.
    const agenda = await this.service.agenda(assembly.id);
    const total = Number((await this.d.db('assembly_invitations').where({ assembly_id: assembly.id, channel: 'email' }).count({ n: '*' }))[0].n);
    const pending = (await this.d.db('assembly_invitations').where({ assembly_id: assembly.id, channel: 'email' }).whereNull('mail_message_id').orderBy('id')).map(rowToInvitation);
    let progress = total - pending.length;
    await c.jc.progress(progress, total);
    for (const inv of pending) {
      const did = await this.d.db.transaction(async (trx) => {
        const current = await trx('assembly_invitations').where({ id: inv.id }).first();
        if (!current || current.mail_message_id) return false;
        const mailId = await this.enqueueMail(trx, { kind: 'invitation', assembly, agenda, association: c.association, rules: c.rules, invitation: inv, to: inv.to, cc: inv.cc });
        const n = await trx('assembly_invitations').where({ id: inv.id }).whereNull('mail_message_id').update({ mail_message_id: mailId, status: 'queued', enqueued_at: this.now() });
        if (affected(n) !== 1) throw new Error('invitation enqueued twice'); // rolls back this recipient
        return true;
      });
      progress++;
      await c.jc.progress(progress);
      if (did) await this.afterMail(c);
    }
  }

  private async runFollowUp(c: RunCtx): Promise<void> {
    const { jobId, assembly, payload } = c;
    const kind = payload.mailKind;
    const key = kind === 'update' ? `update:${payload.sequence}` : kind === 'supplement' || kind === 'reminder' ? `${kind}:${jobId}` : kind;
    const invs = (await this.d.db('assembly_invitations').where({ assembly_id: assembly.id, channel: 'email' }).orderBy('id')).map(rowToInvitation);
    const agenda = await this.service.agenda(assembly.id);
    let minutes: { body: string; attachmentId: number | null } | undefined;
    if (kind === 'minutes') minutes = await this.service.minutes(assembly.id);
    const resolutions = kind === 'minutes' ? await this.service.resolutions(assembly.id) : undefined;
    // the minutes PDF (if uploaded) goes with the minutes mail: personal links have expired by then
    const minutesPdf = kind === 'minutes' && minutes?.attachmentId ? await this.service.attachment(assembly.id, minutes.attachmentId) : undefined;
    await c.jc.progress(0, invs.length);
    let progress = 0;
    for (const inv of invs) {
      let did = false;
      try {
        did = await this.d.db.transaction(async (trx) => {
          if (await trx('assembly_deliveries').where({ invitation_id: inv.id, delivery_key: key }).first()) return false;
          if (kind === 'reminder' && (await trx('assembly_rsvps').where({ assembly_id: assembly.id, organisation_id: inv.organisationId }).first())) return false;
          const deliveryId = await insertId(trx, 'assembly_deliveries', { invitation_id: inv.id, kind, delivery_key: key, created_at: this.now() });
          const t = tFor(inv.locale);
          const mailId = await this.enqueueMail(trx, {
            kind, assembly, agenda, association: c.association, rules: c.rules, invitation: inv, to: inv.to, cc: inv.cc, newItemIds: payload.itemIds, files: minutesPdf ? [minutesPdf] : undefined,
            minutes: minutes ? {
              body: minutes.body,
              resolutions: agenda.filter((it) => resolutions?.has(it.id)).map((it) => {
                const r = resolutions!.get(it.id)!;
                return t('assemblies.mail.minutes.resolutionLine', { n: agenda.indexOf(it) + 1, title: it.title, result: t(r.adopted ? 'assemblies.results.adopted' : 'assemblies.results.rejected'), yes: r.yes, no: r.no, abstain: r.abstain });
              }),
            } : undefined,
          });
          await trx('assembly_deliveries').where({ id: deliveryId }).update({ mail_message_id: mailId });
          return true;
        });
      } catch (err) {
        if (!isUniqueViolation(err)) throw err; // another worker delivered it: skip
      }
      progress++;
      await c.jc.progress(progress);
      if (did) await this.afterMail(c);
    }
  }

  /** Enqueues one mail of the assembly to one invitee, with a fresh personal link where the mail has one. */
  async enqueueMail(trx: Knex.Transaction, m: {
    kind: MailKind; assembly: Assembly; agenda: AgendaItem[]; association: AssociationSettings; rules: BylawsRules;
    invitation: Invitation; to: string; cc: string[]; newItemIds?: number[]; minutes?: { body: string; resolutions: string[] };
    files?: { filename: string; contentType: string; content: Buffer }[];
  }): Promise<number> {
    let link: string | undefined;
    if (LINK_KINDS.includes(m.kind)) {
      const { token, hash } = newLinkToken();
      await trx('assembly_invitation_tokens').insert({ invitation_id: m.invitation.id, token_hash: hash, purpose: 'mail', created_at: this.now() });
      await trx('assembly_invitations').where({ id: m.invitation.id }).update({ token_hash: hash });
      link = `${this.d.config.baseUrl}/a/${token}`;
    }
    const input = {
      kind: m.kind, assembly: m.assembly, agenda: m.agenda, association: m.association, rules: m.rules, link, newItemIds: m.newItemIds, minutes: m.minutes,
      recipient: { organisationName: m.invitation.organisationName, contactName: m.invitation.contactName, to: m.to, locale: m.invitation.locale },
    };
    const ics = assemblyIcs(input, this.d.clock.now(), m.association.contactEmail);
    return this.d.outbox.enqueue(trx, {
      template: `assembly_${m.kind}`,
      locale: m.invitation.locale,
      to: m.to,
      cc: m.cc,
      content: assemblyMail(input),
      related: { type: 'assembly_invitation', id: m.invitation.id },
      attachments: ics || m.files?.length ? [...(ics ? [ics] : []), ...(m.files ?? [])] : undefined,
    });
  }
}

interface RunCtx {
  jobId: number;
  jc: JobContext;
  payload: Payload;
  association: AssociationSettings;
  rules: BylawsRules;
  assembly: Assembly;
  done: number;
}
