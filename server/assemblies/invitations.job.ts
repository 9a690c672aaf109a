import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { iso, type Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import { affected } from '../db/knex.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import type { Outbox } from '../mail/outbox.service.ts';
import type { SettingsService } from '../settings/settings.service.ts';
import type { Logger } from '../logger.ts';
import { AppError } from '../errors.ts';
import type { Job, JobContext, JobsService, JobStatus } from '../jobs/jobs.service.ts';
import type { AssociationSettings, BylawsRules } from '../settings/settings.schemas.ts';
import { berlinDay } from './notice.ts';
import { assemblyIcs, assemblyMail, type MailKind, type MinutesMail } from './assemblies.mails.ts';
import { correctionLines, loadMinutesDocument, resultLines, type MinutesDocument } from './minutes-document.ts';
import type { MinutesDocumentDeps } from './minutes-document.ts'; // h/evote
import { minutesPdfName, renderMinutesPdf } from './minutes-pdf.ts';
import type { Locale } from '../i18n/i18n.ts';
import { newLinkToken } from '../auth/tokens.ts';
import { AssemblyRuleError, type AgendaItem, type Assembly, type Invitation, type StoredFile } from './assemblies.model.ts';
import type { AssemblyService } from './assembly.service.ts';
import type { AttachmentsService } from './attachments.service.ts';
import type { DayService } from './day.service.ts';
import type { InvitationsRepository } from './invitations.repository.ts';
import type { AnswersRepository } from './answers.repository.ts';
import type { DocumentsRepository } from './documents.repository.ts';
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
 *
 * Built by the composition root (server/context.ts) and handed to the services that start jobs
 * (sending, minutes); it reads the assembly through AssemblyService and the module's repositories.
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
  /** h/minutes: corrected minutes, with the instant their corrections were marked as sent */
  corrected?: string;
}

/** One mail of the assembly to one invitee. */
export interface AssemblyMailInput {
  kind: MailKind; assembly: Assembly; agenda: AgendaItem[]; association: AssociationSettings; rules: BylawsRules;
  invitation: Invitation; to: string; cc: string[]; newItemIds?: number[]; minutes?: MinutesMail;
  files?: StoredFile[];
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
  assemblies: AssemblyService;
  day: DayService;
  attachments: AttachmentsService;
  invitations: InvitationsRepository;
  answers: AnswersRepository;
  documents: DocumentsRepository;
  ballots?: MinutesDocumentDeps['ballots']; // h/evote
}

function uniqueKey(assemblyId: number): string {
  return `assembly:${assemblyId}:mail`;
}

function payloadOf(j: Job): Payload {
  return j.payload as unknown as Payload; // why: jobs of JOB_KIND are only created by create() below, with a Payload
}

function toView(j: Job): JobView {
  const p = payloadOf(j);
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

  constructor(private d: Deps) {
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
      const { job } = await this.d.jobs.create(trx, { kind: JOB_KIND, uniqueKey: uniqueKey(assemblyId), payload: { ...payload }, createdBy: actor.userId });
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

  private async jobIdsOf(assemblyId: number): Promise<number[]> {
    return (await this.d.jobs.byPayloadPrefix(JOB_KIND, `{"assemblyId":${assemblyId},`)).map((j) => j.id);
  }

  async latest(assemblyId: number): Promise<JobView | undefined> {
    const [id] = await this.jobIdsOf(assemblyId);
    const j = id !== undefined ? await this.d.jobs.get(id) : undefined;
    return j ? toView(j) : undefined;
  }

  async all(assemblyId: number): Promise<JobView[]> {
    const ids = await this.jobIdsOf(assemblyId);
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
      if (!job || job.status !== 'failed' || job.kind !== JOB_KIND || payloadOf(job).assemblyId !== assemblyId) throw new AssemblyRuleError('job_not_failed');
      if (await this.d.jobs.byKey(uniqueKey(assemblyId), trx)) throw new AssemblyRuleError('job_running');
      await this.d.jobs.requeue(trx, jobId, uniqueKey(assemblyId));
      await this.d.audit.record(trx, actor, 'assembly.job_retried', 'assembly', assemblyId, undefined, { jobId });
    });
    this.start(jobId);
  }

  private async handle(jc: JobContext): Promise<Record<string, unknown>> {
    const payload = payloadOf(jc.job);
    const [association, rules] = await Promise.all([this.d.settings.association(), this.d.settings.rules()]);
    const assembly = await this.d.assemblies.get(payload.assemblyId);
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
    const inv = this.d.invitations;
    if (!c.payload.recorded) {
      // Step 1: record every recipient as of today, all in one transaction.
      await this.d.db.transaction(async (trx) => {
        if ((await inv.count(assembly.id, {}, trx)) === 0) {
          const recipients = await this.d.assemblies.recipients(berlinDay(this.d.clock.now()), assembly.copyAllContacts, trx);
          for (const r of recipients) {
            await inv.insert(trx, {
              assembly_id: assembly.id, organisation_id: r.organisationId, organisation_name: r.organisationName, member_number: r.memberNumber,
              contact_name: r.contactName, to_address: r.to, cc: r.cc.length ? JSON.stringify(r.cc) : null, locale: r.locale,
              postal_address: r.postalAddress, channel: r.channel, status: r.channel === 'email' ? 'pending' : 'letter', created_at: this.now(),
              has_vote: r.hasVote, letter_reason: r.letterReason, // h/attend
            });
          }
        }
        const e = await inv.count(assembly.id, { channel: 'email' }, trx);
        c.payload.recorded = true;
        await this.d.jobs.setPayload(trx, jobId, { ...c.payload }, e);
      });
    }
    // Step 2: one transaction per recipient; rows already enqueued are skipped.
    const agenda = await this.d.assemblies.agenda(assembly.id);
    const total = await inv.count(assembly.id, { channel: 'email' });
    const pending = await inv.byEmail(assembly.id, { pendingOnly: true });
    let progress = total - pending.length;
    await c.jc.progress(progress, total);
    for (const invitation of pending) {
      const did = await this.d.db.transaction(async (trx) => {
        const current = await inv.byId(trx, invitation.id);
        if (!current || current.mail_message_id) return false;
        const mailId = await this.enqueueMail(trx, { kind: 'invitation', assembly, agenda, association: c.association, rules: c.rules, invitation, to: invitation.to, cc: invitation.cc });
        const n = await inv.setMail(trx, invitation.id, mailId, this.now());
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
    const key = kind === 'update' ? `update:${payload.sequence}` : kind === 'supplement' || kind === 'reminder' ? `${kind}:${jobId}`
      : kind === 'access_data' ? `access_data:${accessKey(assembly)}`
      : kind === 'minutes' && payload.corrected ? `minutes:corrected:${jobId}` : kind;
    // h/attend: the access data go only to those taking part online (answered "online", or checked in online)
    const online = kind === 'access_data' ? await this.d.day.onlineParticipants(assembly.id) : undefined;
    const invs = (await this.d.invitations.byEmail(assembly.id)).filter((i) => !online || online.has(i.organisationId));
    const agenda = await this.d.assemblies.agenda(assembly.id);
    // h/minutes: the minutes mail carries the minutes PDF (made here, in each invitee's language) and the signed copy if one was uploaded
    let doc: MinutesDocument | undefined;
    let signed: StoredFile | undefined;
    const pdfs = new Map<Locale, StoredFile>();
    if (kind === 'minutes') {
      doc = await loadMinutesDocument(this.d, assembly.id);
      const m = await this.d.documents.minutes(assembly.id);
      signed = m?.attachment_id ? await this.d.attachments.get(assembly.id, Number(m.attachment_id)) : undefined;
      for (const locale of new Set(invs.map((i) => i.locale))) {
        pdfs.set(locale, { filename: minutesPdfName(doc, locale), contentType: 'application/pdf', content: await renderMinutesPdf(doc, locale, this.d.clock.now()) });
      }
    }
    const minutesFor = (locale: Locale): { minutes?: MinutesMail; files?: StoredFile[] } => {
      if (!doc) return {};
      const v = doc.values;
      const pdf = pdfs.get(locale);
      const batch = payload.corrected;
      const corrections = batch
        ? correctionLines(locale, { ...doc, amendments: doc.amendments.filter((x) => x.sentAt === batch), items: doc.items.map((it) => ({ ...it, amendments: it.amendments.filter((x) => x.sentAt === batch) })) })
        : undefined;
      return {
        minutes: { body: v.body, resolutions: resultLines(locale, doc), chair: v.chair, minuteTaker: v.minuteTaker, signedOn: v.signedOn, corrections },
        files: [...(pdf ? [pdf] : []), ...(signed ? [signed] : [])],
      };
    };
    await c.jc.progress(0, invs.length);
    let progress = 0;
    for (const inv of invs) {
      let did = false;
      try {
        did = await this.d.db.transaction(async (trx) => {
          if (await this.d.invitations.delivery(trx, inv.id, key)) return false;
          if (kind === 'reminder' && (await this.d.answers.rsvp(assembly.id, inv.organisationId, trx))) return false;
          const deliveryId = await this.d.invitations.insertDelivery(trx, { invitation_id: inv.id, kind, delivery_key: key, created_at: this.now() });
          const mailId = await this.enqueueMail(trx, {
            kind, assembly, agenda, association: c.association, rules: c.rules, invitation: inv, to: inv.to, cc: inv.cc, newItemIds: payload.itemIds, ...minutesFor(inv.locale),
          });
          await this.d.invitations.setDeliveryMail(trx, deliveryId, mailId);
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
  async enqueueMail(trx: Knex.Transaction, m: AssemblyMailInput): Promise<number> {
    let link: string | undefined;
    if (LINK_KINDS.includes(m.kind)) {
      const { token, hash } = newLinkToken();
      await this.d.invitations.addToken(trx, m.invitation.id, hash, 'mail', this.now());
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

/** h/attend: the same access data are sent once per invitee; changed ones go again. */
function accessKey(a: Assembly): string {
  return createHash('sha256').update(`${a.onlineLink}\n${a.onlineMeetingId}\n${a.onlineAccessCode}`).digest('hex').slice(0, 16);
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
