import type { Knex } from 'knex';
import { iso, type Clock } from '../clock.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import { NotFoundError } from '../errors.ts';
import { AssemblyRuleError, MAX_UPLOAD_BYTES, type StoredFile, type UploadedFile } from './assemblies.model.ts';
import type { AssemblyService } from './assembly.service.ts';
import type { DocumentsRepository } from './documents.repository.ts';

/** Accepts a PDF only (by its first bytes, not by the name or the browser's type) and cleans the file name. */
export function checkPdf(file: UploadedFile): { filename: string } {
  if (file.content.length < 5 || file.content.subarray(0, 5).toString('latin1') !== '%PDF-') throw new AssemblyRuleError('pdf_only');
  if (file.content.length > MAX_UPLOAD_BYTES) throw new AssemblyRuleError('too_large', { maxMb: MAX_UPLOAD_BYTES / 1024 / 1024 });
  let filename = file.filename.split(/[\\/]/).pop() ?? '';
  filename = filename.replace(/[^\p{L}\p{N} ._()-]/gu, '_').slice(0, 200);
  if (!filename || filename.startsWith('.')) filename = 'dokument.pdf';
  if (!/\.pdf$/i.test(filename)) filename = `${filename.slice(0, 196)}.pdf`;
  return { filename };
}

interface Deps {
  db: Knex;
  clock: Clock;
  audit: AuditService;
  assemblies: AssemblyService;
  documents: DocumentsRepository;
}

/** The assembly's documents for the invitees (PDF only). The minutes PDF is kept by MinutesService. */
export class AttachmentsService {
  constructor(private d: Deps) {}

  private now(): string {
    return iso(this.d.clock.now());
  }

  /** The assembly's documents for the invitees (the minutes PDF is kept apart, see MinutesService.file). */
  async list(assemblyId: number): Promise<{ id: number; filename: string; contentType: string; size: number; createdAt: string }[]> {
    return (await this.d.documents.attachments(assemblyId))
      .map((r) => ({ id: Number(r.id), filename: r.filename, contentType: r.content_type, size: Number(r.size), createdAt: r.created_at }));
  }

  async get(assemblyId: number, attachmentId: number): Promise<StoredFile> {
    const r = await this.d.documents.attachment(assemblyId, attachmentId);
    if (!r) throw new NotFoundError();
    return { filename: r.filename, contentType: r.content_type, content: Buffer.from(r.content) };
  }

  /** A document as an invitee may see it: the minutes PDF only once the minutes have been sent. */
  async forMember(assemblyId: number, attachmentId: number): Promise<StoredFile> {
    const m = await this.d.documents.minutesWithFile(assemblyId, attachmentId);
    if (m && !m.sent_at) throw new NotFoundError();
    return this.get(assemblyId, attachmentId);
  }

  async add(actor: Actor, assemblyId: number, file: UploadedFile): Promise<number> {
    const clean = checkPdf(file);
    return this.d.db.transaction(async (trx) => {
      const a = await this.d.assemblies.get(assemblyId, trx);
      if (a.status === 'cancelled') throw new AssemblyRuleError('cancelled');
      const id = await this.store(trx, actor, assemblyId, clean.filename, file);
      await this.d.audit.record(trx, actor, 'assembly.attachment_added', 'assembly', assemblyId, undefined, { attachmentId: id, filename: clean.filename, size: file.content.length });
      return id;
    });
  }

  /** Stores a checked PDF in the caller's transaction (also for the minutes PDF). */
  async store(trx: Knex.Transaction, actor: Actor, assemblyId: number, filename: string, file: UploadedFile): Promise<number> {
    return this.d.documents.insertAttachment(trx, {
      assembly_id: assemblyId, filename, content_type: 'application/pdf', size: file.content.length, content: file.content, created_by: actor.userId, created_at: this.now(),
    });
  }

  async delete(actor: Actor, assemblyId: number, attachmentId: number): Promise<void> {
    await this.d.db.transaction(async (trx) => {
      const r = await this.d.documents.attachment(assemblyId, attachmentId, trx);
      if (!r) throw new NotFoundError();
      await this.d.documents.deleteAttachment(trx, attachmentId);
      await this.d.audit.record(trx, actor, 'assembly.attachment_deleted', 'assembly', assemblyId, { attachmentId, filename: r.filename }, undefined);
    });
  }
}
