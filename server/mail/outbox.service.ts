import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { iso, type Clock } from '../clock.ts';
import type { MailMessageRow, MailStatus } from './mail.tables.ts';
import {
  claimMail, deliveryStateRows, dueCandidates, insertMail, insertMails, mailPage, mailRow, mailRowsByIds, mailsTo, nextAttemptAt, requeueMail, scrubSubjectMails, statusCounts,
  subjectMailRows, updateMail, type MailSubject, type NewMailRow, anonymiseSubjectMails, countMailsPastRetention, mailsPastRetention, scrubMailBodies,
} from './outbox.repository.ts';

export type { MailSubject } from './outbox.repository.ts';
import type { Logger } from '../logger.ts';
import { renderMail, type MailContent } from './render.ts';
import { TransportError, type MailTransport } from './transport.ts';

export interface EnqueueInput {
  template: string;
  locale: string;
  to: string;
  cc?: string[];
  content: MailContent;
  related?: { type: string; id: number };
  attachments?: { filename: string; contentType: string; content: Buffer }[];
  /** h/groups: answers go to this address (e.g. the sender of a message to a working group) */
  replyTo?: string;
}

export interface MailRow {
  id: number;
  messageId: string;
  template: string;
  locale: string;
  to: string;
  cc: string[];
  subject: string;
  text: string;
  html: string;
  status: MailStatus;
  attempts: number;
  nextAttemptAt: string;
  lastResponse: string | null;
  sentAt: string | null;
  createdAt: string;
  relatedType: string | null;
  relatedId: number | null;
  attachments: { filename: string; contentType: string }[];
}

/** Backoff after the n-th failed attempt: 1 min, 2, 4, 8 … capped at 2 h; given up after MAX_ATTEMPTS. */
export const MAX_ATTEMPTS = 12;
export function backoffMs(attempts: number): number {
  return Math.min(60_000 * 2 ** Math.max(0, attempts - 1), 2 * 3_600_000);
}
const LOCK_MS = 5 * 60_000;

interface StoredAttachment {
  filename: string;
  contentType: string;
  contentBase64: string;
}

function attachmentsOf(json: string | null): StoredAttachment[] {
  return json ? (JSON.parse(json) as StoredAttachment[]) : []; // why: written by enqueue() from this shape
}

function rowToMail(r: MailMessageRow): MailRow {
  return {
    id: Number(r.id),
    messageId: r.message_id,
    template: r.template,
    locale: r.locale,
    to: r.to_address,
    cc: r.cc ? (JSON.parse(r.cc) as string[]) : [], // why: written by enqueue() from a string array
    subject: r.subject,
    text: r.text_body,
    html: r.html_body,
    status: r.status,
    attempts: Number(r.attempts),
    nextAttemptAt: r.next_attempt_at,
    lastResponse: r.last_response,
    sentAt: r.sent_at,
    createdAt: r.created_at,
    relatedType: r.related_type,
    relatedId: r.related_id == null ? null : Number(r.related_id),
    attachments: attachmentsOf(r.attachments).map((a) => ({ filename: a.filename, contentType: a.contentType })),
  };
}

/**
 * The outbox: every message is written here first, inside the caller's transaction, so it is
 * sent only if the change that caused it commits. A worker sends due messages with retries.
 */
export class Outbox {
  /**
   * How many messages a flush sends at the same time. Each sender claims its next message by a
   * conditional update (so no message is claimed twice) and hands it to the transport, whose
   * SMTP pool (maxConnections) then keeps that many connections busy. 1 sends strictly in turn.
   */
  concurrency = 3;
  /** Ids whose claim a sender of this process is attempting right now (the database decides). */
  private claiming = new Set<number>();
  /** Wait after the n-th failed attempt (tests of a separate process may shorten it). */
  backoff: (attempts: number) => number = backoffMs;

  constructor(
    private db: Knex,
    private clock: Clock,
    private transport: MailTransport,
    private from: () => Promise<string>,
    private log: Logger,
    private domain: string,
  ) {}

  private row(input: EnqueueInput, now: string): NewMailRow {
    const r = renderMail(input.content, input.locale);
    return {
      message_id: `<${crypto.randomUUID()}@${this.domain}>`,
      template: input.template,
      locale: input.locale,
      to_address: input.to,
      cc: input.cc && input.cc.length ? JSON.stringify(input.cc) : null,
      subject: r.subject,
      text_body: r.text,
      html_body: r.html,
      attachments: input.attachments?.length
        ? JSON.stringify(input.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, contentBase64: a.content.toString('base64') })))
        : null,
      related_type: input.related?.type ?? null,
      related_id: input.related?.id ?? null,
      ...(input.replyTo ? { reply_to: input.replyTo } : {}), // h/groups
      status: 'queued',
      attempts: 0,
      next_attempt_at: now,
      created_at: now,
    };
  }

  async enqueue(trx: Knex | Knex.Transaction, input: EnqueueInput): Promise<number> {
    return insertMail(trx, this.row(input, iso(this.clock.now())));
  }

  /**
   * Many messages in the caller's transaction, written in multi-row inserts (500 a statement):
   * the same rows as `enqueue` one by one (e.g. 10,000 SEPA pre-notifications of one run).
   */
  async enqueueMany(trx: Knex | Knex.Transaction, inputs: EnqueueInput[]): Promise<void> {
    const now = iso(this.clock.now());
    for (let i = 0; i < inputs.length; i += 500) await insertMails(trx, inputs.slice(i, i + 500).map((x) => this.row(x, now)));
  }

  /**
   * Claims one due message (status moves under a condition, so two workers never take the
   * same one), sends it, and records the outcome. A message left 'sending' by a crash is
   * taken again once its lock expires and sent with the same Message-ID.
   */
  private async claim(): Promise<MailMessageRow | undefined> {
    const now = iso(this.clock.now());
    const candidates = await dueCandidates(this.db, now, 20); // light: the message itself is read once it is ours
    for (const c of candidates) {
      const id = Number(c.id);
      if (this.claiming.has(id)) continue; // a parallel sender of this process is taking it
      this.claiming.add(id);
      try {
        if (await claimMail(this.db, c, iso(new Date(this.clock.now().getTime() + LOCK_MS)))) {
          const row = await mailRow(this.db, id);
          return row ? { ...row, attempts: Number(row.attempts) } : undefined;
        }
      } finally {
        this.claiming.delete(id);
      }
    }
    return undefined;
  }

  async sendOne(from?: string): Promise<boolean> {
    const row = await this.claim();
    if (!row) return false;
    from ??= await this.from();
    try {
      const res = await this.transport.send({
        messageId: row.message_id,
        from,
        to: row.to_address,
        cc: row.cc ? (JSON.parse(row.cc) as string[]) : undefined, // why: written by enqueue() from a string array
        subject: row.subject,
        text: row.text_body,
        html: row.html_body,
        ...(row.reply_to ? { replyTo: row.reply_to } : {}), // h/groups
        attachments: row.attachments
          ? attachmentsOf(row.attachments).map((a) => ({ filename: a.filename, contentType: a.contentType, content: Buffer.from(a.contentBase64, 'base64') }))
          : undefined,
      });
      await updateMail(this.db, row.id, {
        status: 'sent', sent_at: iso(this.clock.now()), last_response: res.response.slice(0, 1000), locked_until: null,
      });
      this.log.info({ mailId: row.id, template: row.template, attempt: row.attempts }, 'mail sent');
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const te = err instanceof TransportError ? err : new TransportError(message, false, message);
      const giveUp = te.permanent || row.attempts >= MAX_ATTEMPTS;
      await updateMail(this.db, row.id, {
        status: giveUp ? 'failed' : 'queued',
        next_attempt_at: iso(new Date(this.clock.now().getTime() + this.backoff(row.attempts))),
        last_response: te.response.slice(0, 1000),
        locked_until: null,
      });
      this.log.warn({ mailId: row.id, template: row.template, attempt: row.attempts, giveUp }, 'mail not sent');
    }
    return true;
  }

  /**
   * Sends every message that is due now with `concurrency` senders in parallel; returns how
   * many were attempted. A message that fails is rescheduled after its backoff, so one flush
   * attempts each message at most once (unless the backoff is 0).
   */
  async flush(limit = Infinity, concurrency = this.concurrency): Promise<number> {
    const from = await this.from();
    let n = 0;
    const sender = async () => {
      while (n < limit) {
        n++; // reserve a slot before the claim, so `limit` holds with parallel senders
        if (!(await this.sendOne(from))) { n--; return; }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.floor(concurrency)) }, sender));
    return n;
  }

  /** Puts a failed (or waiting) message back in the queue to be sent at once. */
  async retry(id: number): Promise<void> {
    await requeueMail(this.db, id, iso(this.clock.now()));
  }

  async list(opts: { status?: string; q?: string; limit?: number; offset?: number } = {}): Promise<{ rows: MailRow[]; total: number }> {
    const { rows, total } = await mailPage(this.db, { status: opts.status, q: opts.q, limit: opts.limit ?? 50, offset: opts.offset ?? 0 });
    return { rows: rows.map(rowToMail), total };
  }

  async get(id: number): Promise<MailRow | undefined> {
    const r = await mailRow(this.db, id);
    return r ? rowToMail(r) : undefined;
  }

  async counts(): Promise<Record<string, number>> {
    const rows = await statusCounts(this.db);
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }

  /** Messages to one address, newest first (for tests and the mail log). */
  async forRecipient(to: string): Promise<MailRow[]> {
    return (await mailsTo(this.db, to)).map(rowToMail);
  }

  close(): void {
    this.transport.close();
  }

  /** When the earliest waiting message is due next (undefined: none waits). */
  async nextAttemptAt(): Promise<string | undefined> {
    return nextAttemptAt(this.db);
  }

  /** Address, status and the last SMTP answer of messages by id (for delivery logs), without their content. */
  async deliveryStates(ids: number[]): Promise<Map<number, { id: number; to: string; status: MailStatus; lastResponse: string | null; sentAt: string | null; createdAt: string }>> {
    const rows = await deliveryStateRows(this.db, [...new Set(ids)]);
    return new Map(rows.map((r) => [Number(r.id), { id: Number(r.id), to: r.to_address, status: r.status, lastResponse: r.last_response, sentAt: r.sent_at, createdAt: r.created_at }]));
  }

  /** Several messages by id (unknown ids are left out), in id order. */
  async byIds(ids: number[], q: Knex | Knex.Transaction = this.db): Promise<MailRow[]> {
    return (await mailRowsByIds(q, [...new Set(ids)])).map(rowToMail);
  }

  /** GDPR access: the data subject's messages (related to its entities or sent to its addresses), without bodies, in id order. */
  async forSubject(subject: MailSubject, limit = 10_000, q: Knex | Knex.Transaction = this.db) {
    return subjectMailRows(q, subject, limit);
  }

  /** Retention: sent or failed mails that still hold a body past the cutoffs (invoice mails: their own cutoff). */
  countBodiesPastRetention(cutoffs: { other: string; invoices: string }): Promise<number> {
    return countMailsPastRetention(this.db, cutoffs);
  }

  /**
   * Retention: removes body and attachments of up to `limit` such mails (one transaction) and
   * returns their Message-IDs (the caller removes the stored .eml files).
   */
  async scrubBodiesPastRetention(cutoffs: { other: string; invoices: string }, limit = 500): Promise<string[]> {
    return this.db.transaction(async (trx) => {
      const rows = await mailsPastRetention(trx, cutoffs, limit);
      await scrubMailBodies(trx, rows.map((r) => r.id));
      return rows.map((r) => r.message_id);
    });
  }

  /** GDPR anonymisation: the subject's messages lose addresses and bodies; queued ones are never sent. */
  async scrubSubject(trx: Knex.Transaction, subject: MailSubject): Promise<void> {
    await scrubSubjectMails(trx, subject);
  }

  /** h/gdpr: the anonymisation's part (see anonymiseSubjectMails); returns the Message-IDs whose stored .eml files the caller removes after the commit. */
  anonymiseSubject(trx: Knex.Transaction, subject: MailSubject, terms: string[]): Promise<string[]> {
    return anonymiseSubjectMails(trx, subject, terms);
  }

}

/** Runs the outbox in the background: polls, sends what is due, never two loops at once. */
export class MailWorker {
  private timer?: NodeJS.Timeout;
  private running = false;
  constructor(private outbox: Outbox, private log: Logger, private intervalMs = 2000) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.outbox.flush(200);
    } catch (err) {
      this.log.error({ err: err instanceof Error ? err.message : String(err) }, 'mail worker tick failed');
    } finally {
      this.running = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
