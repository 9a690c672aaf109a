import type { Knex } from 'knex';
import { iso, type Clock } from '../clock.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import { AssemblyRuleError, type Assembly, type UploadedFile } from './assemblies.model.ts';
import type { MinutesRow } from './assemblies.tables.ts';
import type { AssemblyService } from './assembly.service.ts';
import { checkPdf, type AttachmentsService } from './attachments.service.ts';
import type { DocumentsRepository } from './documents.repository.ts';
import type { InvitationJobs } from './invitations.job.ts';
import type { SettingsService } from '../settings/settings.service.ts';
import type { DayService } from './day.service.ts';
import type { Locale } from '../i18n/i18n.ts';
import { berlinDay } from './notice.ts';
import { FieldRuleError } from './assemblies.model.ts';
import { loadMinutesDocument, MINUTES_FIELDS, type MinutesAmendment, type MinutesDocument, type MinutesValues } from './minutes-document.ts';
import type { MinutesDocumentDeps } from './minutes-document.ts'; // h/evote
import { minutesPdfName, renderMinutesPdf } from './minutes-pdf.ts';

export interface Minutes {
  body: string;
  attachmentId: number | null;
  updatedAt: string;
  sentAt: string | null;
  /** h/minutes: who chaired, who wrote the minutes, the day of signing (YYYY-MM-DD or '') */
  chair: string;
  minuteTaker: string;
  signedOn: string;
  correctedSentAt: string | null;
}

/** What the board enters for the minutes; `reason` once they are sent (a correction). */
export interface MinutesInput {
  body: string;
  chair: string;
  minuteTaker: string;
  /** YYYY-MM-DD or DD.MM.YYYY or '' */
  signedOn: string;
  reason?: string;
}

/** A day typed as YYYY-MM-DD (date field) or DD.MM.YYYY; '' stays ''; null when it is no real day. */
export function readDay(s: string): string | null {
  const v = s.trim();
  if (!v) return '';
  const isoM = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  const deM = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/.exec(v);
  const parts = isoM ? [isoM[1], isoM[2], isoM[3]] : deM ? [deM[3], deM[2].padStart(2, '0'), deM[1].padStart(2, '0')] : undefined;
  if (!parts) return null;
  const iso = `${parts[0]}-${parts[1]}-${parts[2]}`;
  const d = new Date(`${iso}T12:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === iso ? iso : null;
}

interface Deps {
  db: Knex;
  clock: Clock;
  audit: AuditService;
  assemblies: AssemblyService;
  attachments: AttachmentsService;
  documents: DocumentsRepository;
  jobs: InvitationJobs;
  settings: SettingsService;
  day: DayService;
  ballots?: MinutesDocumentDeps['ballots']; // h/evote
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
    return r ? {
      body: r.body, attachmentId: r.attachment_id == null ? null : Number(r.attachment_id), updatedAt: r.updated_at, sentAt: r.sent_at,
      chair: r.chair_name ?? '', minuteTaker: r.minute_taker_name ?? '', signedOn: r.signed_on ?? '', correctedSentAt: r.corrected_sent_at ?? null,
    } : undefined;
  }

  /** Whether the board may send the minutes now (sendMinutes' own rules). */
  canSend(a: Assembly, m: Minutes | undefined): boolean {
    return a.status === 'invited' && !!m && !m.sentAt && hasContent({ body: m.body, attachment_id: m.attachmentId });
  }

  /**
   * Saves the minutes: text, chair, minute-taker, day of signing (a string: only the text, the
   * rest kept). The day of signing must be a real day, not before the assembly and not in the
   * future. Once the minutes are sent they change only by an amendment: a reason is required,
   * and the fields changed are kept with their values before and after, who and when.
   * Returns whether it was an amendment.
   */
  async save(actor: Actor, assemblyId: number, input: string | MinutesInput, attachmentId?: number): Promise<{ amended: boolean }> {
    return this.d.db.transaction(async (trx) => {
      const a = await this.d.assemblies.get(assemblyId, trx);
      if (this.notStarted(a)) throw new AssemblyRuleError('not_started');
      const before = await this.d.documents.minutes(assemblyId, trx);
      const old: MinutesValues = { body: before?.body ?? '', chair: before?.chair_name ?? '', minuteTaker: before?.minute_taker_name ?? '', signedOn: before?.signed_on ?? '' };
      const given: MinutesInput = typeof input === 'string' ? { ...old, body: input } : input;
      const fields: Record<string, { code: string; params?: Record<string, unknown> }> = {};
      const signedOn = readDay(given.signedOn);
      if (signedOn === null) fields.signedOn = { code: 'date' };
      else if (signedOn && signedOn < a.day) fields.signedOn = { code: 'before_assembly', params: { date: a.day } };
      else if (signedOn && signedOn > berlinDay(this.d.clock.now())) fields.signedOn = { code: 'in_future' };
      const next: MinutesValues = { body: given.body, chair: given.chair.trim(), minuteTaker: given.minuteTaker.trim(), signedOn: signedOn ?? '' };
      const changed = MINUTES_FIELDS.filter((f) => next[f] !== old[f]);
      const locked = !!before?.sent_at;
      const reason = (given.reason ?? '').trim();
      if (locked && !reason) fields.reason = { code: 'reason_required' };
      if (locked && !changed.length && !Object.keys(fields).length) fields.reason = { code: 'nothing_changed' };
      if (Object.keys(fields).length) throw new FieldRuleError(fields);
      const now = this.now();
      const row: Partial<MinutesRow> = {
        body: next.body, chair_name: next.chair, minute_taker_name: next.minuteTaker, signed_on: next.signedOn || null, updated_at: now, updated_by: actor.userId,
      };
      if (attachmentId) row.attachment_id = attachmentId;
      await this.d.documents.saveMinutes(trx, assemblyId, before, row);
      if (locked) {
        const pick = (v: MinutesValues) => Object.fromEntries(changed.map((f) => [f, v[f]]));
        await this.d.documents.insertMinutesAmendment(trx, {
          assembly_id: assemblyId, before_values: JSON.stringify(pick(old)), after_values: JSON.stringify(pick(next)), reason,
          user_id: actor.userId, actor_label: actor.label, created_at: now, sent_at: null,
        });
        await this.d.audit.record(trx, actor, 'assembly.minutes_amended', 'assembly', assemblyId, auditView(old, changed), { ...auditView(next, changed), reason });
      } else {
        await this.d.audit.record(trx, actor, 'assembly.minutes_saved', 'assembly', assemblyId, before ? { length: String(before.body).length, ...auditView(old, changed.filter((f) => f !== 'body')) } : undefined,
          { length: next.body.length, attachmentId: attachmentId ?? null, ...auditView(next, changed.filter((f) => f !== 'body')) });
      }
      return { amended: locked };
    });
  }

  /** The corrections of the minutes after they were sent, oldest first. */
  async amendments(assemblyId: number): Promise<MinutesAmendment[]> {
    return (await this.document(assemblyId)).amendments;
  }

  /** Everything the minutes say (for the PDF, the mail and the page). */
  async document(assemblyId: number): Promise<MinutesDocument> {
    return loadMinutesDocument(this.d, assemblyId);
  }

  /** The minutes as a PDF in a language, with its file name. */
  async pdf(assemblyId: number, locale: Locale): Promise<{ filename: string; contentType: string; content: Buffer }> {
    const doc = await this.document(assemblyId);
    return { filename: minutesPdfName(doc, locale), contentType: 'application/pdf', content: await renderMinutesPdf(doc, locale, this.d.clock.now()) };
  }

  /** Whether corrections (of the minutes or of results) wait to be sent with corrected minutes. */
  async hasUnsentCorrections(assemblyId: number): Promise<boolean> {
    const doc = await this.document(assemblyId);
    return doc.amendments.some((x) => !x.sentAt) || doc.items.some((it) => it.amendments.some((x) => !x.sentAt));
  }

  /** Sends the corrected minutes to every member invited by e-mail; the mail names the corrections since the last sending. */
  async sendCorrected(actor: Actor, assemblyId: number): Promise<number> {
    const pending = await this.hasUnsentCorrections(assemblyId);
    const jobId = await this.d.db.transaction(async (trx) => {
      const a = await this.d.assemblies.get(assemblyId, trx);
      if (a.status !== 'invited') throw new AssemblyRuleError('not_invited');
      const m = await this.d.documents.minutes(assemblyId, trx);
      if (!m?.sent_at) throw new AssemblyRuleError('minutes_not_sent');
      if (!pending) throw new AssemblyRuleError('no_corrections');
      const now = this.now();
      const minutesN = await this.d.documents.markMinutesAmendmentsSent(trx, assemblyId, now);
      const resultsN = await this.d.day.markAmendmentsSent(trx, assemblyId, now);
      await this.d.documents.markCorrectedSent(trx, m.id, now);
      const jobId = await this.d.jobs.create(trx, actor, assemblyId, 'minutes', { corrected: now });
      await this.d.audit.record(trx, actor, 'assembly.minutes_corrected_sent', 'assembly', assemblyId, undefined, { jobId, minutesCorrections: Number(minutesN), resultCorrections: Number(resultsN) });
      return jobId;
    });
    this.d.jobs.start(jobId);
    return jobId;
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

/** The changed fields of the minutes for the audit log (the text only by its length). */
function auditView(v: MinutesValues, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) out[f] = f === 'body' ? `${v.body.length} chars` : v[f as keyof MinutesValues];
  return out;
}
