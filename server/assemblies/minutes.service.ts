import type { Knex } from 'knex';
import { iso, type Clock } from '../clock.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import { AssemblyRuleError, type Assembly, type UploadedFile } from './assemblies.model.ts';
import type { MinutesRow } from './assemblies.tables.ts';
import type { AssemblyService } from './assembly.service.ts';
import { checkPdf, type AttachmentsService } from './attachments.service.ts';
import type { DocumentsRepository } from './documents.repository.ts';
import type { InvitationJobs } from './invitations.job.ts';

export interface Minutes {
  body: string;
  attachmentId: number | null;
  updatedAt: string;
  sentAt: string | null;
}

interface Deps {
  db: Knex;
  clock: Clock;
  audit: AuditService;
  assemblies: AssemblyService;
  attachments: AttachmentsService;
  documents: DocumentsRepository;
  jobs: InvitationJobs;
}

/** Whether minutes have something to send: a text or a PDF. */
function hasContent(m: Pick<MinutesRow, 'body' | 'attachment_id'> | undefined): boolean {
  return !!m && (!!String(m.body).trim() || !!m.attachment_id);
}

/** The minutes of an assembly: text, the signed PDF, and sending them to the invitees. */
export class MinutesService {
  constructor(private d: Deps) {}

  private now(): string {
    return iso(this.d.clock.now());
  }

  private notStarted(a: Assembly): boolean {
    return !this.d.assemblies.started(a);
  }

  async get(assemblyId: number): Promise<Minutes | undefined> {
    const r = await this.d.documents.minutes(assemblyId);
    return r ? { body: r.body, attachmentId: r.attachment_id == null ? null : Number(r.attachment_id), updatedAt: r.updated_at, sentAt: r.sent_at } : undefined;
  }

  /** Whether the board may send the minutes now (sendMinutes' own rules). */
  canSend(a: Assembly, m: Minutes | undefined): boolean {
    return a.status === 'invited' && !!m && !m.sentAt && hasContent({ body: m.body, attachment_id: m.attachmentId });
  }

  async save(actor: Actor, assemblyId: number, body: string, attachmentId?: number): Promise<void> {
    await this.d.db.transaction(async (trx) => {
      const a = await this.d.assemblies.get(assemblyId, trx);
      if (this.notStarted(a)) throw new AssemblyRuleError('not_started');
      const before = await this.d.documents.minutes(assemblyId, trx);
      const row: Partial<MinutesRow> = { body, updated_at: this.now(), updated_by: actor.userId };
      if (attachmentId) row.attachment_id = attachmentId;
      await this.d.documents.saveMinutes(trx, assemblyId, before, row);
      await this.d.audit.record(trx, actor, 'assembly.minutes_saved', 'assembly', assemblyId, before ? { length: String(before.body).length } : undefined, { length: body.length, attachmentId: attachmentId ?? null });
    });
  }

  /** Sends the minutes with the resolutions to every member invited by e-mail. */
  async send(actor: Actor, assemblyId: number): Promise<number> {
    const jobId = await this.d.db.transaction(async (trx) => {
      const a = await this.d.assemblies.get(assemblyId, trx);
      if (a.status !== 'invited') throw new AssemblyRuleError('not_invited');
      const m = await this.d.documents.minutes(assemblyId, trx);
      if (!m || !hasContent(m)) throw new AssemblyRuleError('no_minutes');
      if (m.sent_at) throw new AssemblyRuleError('minutes_sent');
      await this.d.documents.markMinutesSent(trx, m.id, this.now());
      const jobId = await this.d.jobs.create(trx, actor, assemblyId, 'minutes', {});
      await this.d.audit.record(trx, actor, 'assembly.minutes_sent', 'assembly', assemblyId, undefined, { jobId });
      return jobId;
    });
    this.d.jobs.start(jobId);
    return jobId;
  }

  /** The minutes as a PDF (e.g. the signed copy); replaces an earlier minutes PDF. Allowed once the assembly has started. */
  async saveFile(actor: Actor, assemblyId: number, file: UploadedFile): Promise<number> {
    const clean = checkPdf(file);
    return this.d.db.transaction(async (trx) => {
      const a = await this.d.assemblies.get(assemblyId, trx);
      if (this.notStarted(a)) throw new AssemblyRuleError('not_started');
      const before = await this.d.documents.minutes(assemblyId, trx);
      if (before?.sent_at) throw new AssemblyRuleError('minutes_sent');
      const id = await this.d.attachments.store(trx, actor, assemblyId, clean.filename, file);
      const now = this.now();
      await this.d.documents.saveMinutes(trx, assemblyId, before, before
        ? { attachment_id: id, updated_at: now, updated_by: actor.userId }
        : { body: '', attachment_id: id, updated_at: now, updated_by: actor.userId });
      let replaced: { attachmentId: number; filename: string } | undefined;
      if (before?.attachment_id) {
        const old = await this.d.documents.attachmentInfo(trx, before.attachment_id);
        if (old) { replaced = { attachmentId: Number(old.id), filename: old.filename }; await this.d.documents.deleteUnlinkedAttachment(trx, old.id); }
      }
      await this.d.audit.record(trx, actor, 'assembly.minutes_file_saved', 'assembly', assemblyId, replaced, { attachmentId: id, filename: clean.filename, size: file.content.length });
      return id;
    });
  }

  async file(assemblyId: number): Promise<{ id: number; filename: string; size: number; createdAt: string } | undefined> {
    const r = await this.d.documents.minutesFile(assemblyId);
    return r ? { id: Number(r.id), filename: r.filename, size: Number(r.size), createdAt: r.created_at } : undefined;
  }
}
