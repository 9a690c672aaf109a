import type { Knex } from 'knex';
import { affected, insertId, likeEscape } from '../db/knex.ts';
import type { MailMessageRow, MailStatus } from './mail.tables.ts';
import { redactTermsIn } from '../db/redact.ts'; // h/gdpr

type Q = Knex | Knex.Transaction;

/** Invoice mails (dues_*) carry the invoice PDF as sent: kept with the invoices, not with other mails. */
const INVOICE_TEMPLATES = 'dues\\_%';

/** The queries of `mail_messages` (owned by mail, see server/db/ownership.ts). Only the Outbox calls these. */

export type NewMailRow = Omit<MailMessageRow, 'id' | 'locked_until' | 'last_response' | 'sent_at'>;

export async function insertMail(q: Q, row: NewMailRow): Promise<number> {
  return insertId(q, 'mail_messages', row);
}

/** Several messages in one statement (the caller keeps a chunk within the database's variable limit). */
export async function insertMails(q: Q, rows: NewMailRow[]): Promise<void> {
  if (rows.length) await q('mail_messages').insert(rows);
}

export async function mailRow(q: Q, id: number): Promise<MailMessageRow | undefined> {
  return q('mail_messages').where({ id }).first();
}

/** Messages due now (queued and due, or left 'sending' by a crash whose lock ran out), oldest first; just what a claim needs. */
export async function dueCandidates(q: Q, now: string, limit: number): Promise<Pick<MailMessageRow, 'id' | 'status' | 'attempts'>[]> {
  return q('mail_messages')
    .where((w) => w.where('status', 'queued').andWhere('next_attempt_at', '<=', now))
    .orWhere((w) => w.where('status', 'sending').andWhere('locked_until', '<', now))
    .orderBy('id')
    .limit(limit)
    .select('id', 'status', 'attempts');
}

/** Moves the message to 'sending' if it is still as it was read; true when this call did. */
export async function claimMail(q: Q, c: Pick<MailMessageRow, 'id' | 'status' | 'attempts'>, lockedUntil: string): Promise<boolean> {
  const n = await q('mail_messages')
    .where({ id: c.id, status: c.status, attempts: c.attempts })
    .update({ status: 'sending', locked_until: lockedUntil, attempts: Number(c.attempts) + 1 });
  return affected(n) === 1;
}

export async function updateMail(q: Q, id: number, values: Partial<Omit<MailMessageRow, 'id'>>): Promise<void> {
  await q('mail_messages').where({ id }).update(values);
}

/** Back in the queue, due now (failed or waiting messages only). */
export async function requeueMail(q: Q, id: number, now: string): Promise<void> {
  await q('mail_messages').where({ id }).whereIn('status', ['failed', 'queued']).update({ status: 'queued', next_attempt_at: now });
}

export async function mailPage(q: Q, opts: { status?: string; q?: string; limit: number; offset: number }): Promise<{ rows: MailMessageRow[]; total: number }> {
  const base = q('mail_messages');
  if (opts.status) base.where('status', opts.status);
  if (opts.q) base.whereRaw("lower(to_address) like ? escape '\\'", [`%${likeEscape(opts.q.toLowerCase())}%`]);
  const [{ n }] = await base.clone().count({ n: '*' });
  const rows = await base.clone().orderBy('id', 'desc').limit(opts.limit).offset(opts.offset);
  return { rows, total: Number(n) };
}

export async function statusCounts(q: Q): Promise<{ status: MailStatus; n: number | string }[]> {
  return q('mail_messages').select('status').count({ n: '*' }).groupBy('status');
}

export async function mailsTo(q: Q, to: string): Promise<MailMessageRow[]> {
  return q('mail_messages').where({ to_address: to }).orderBy('id', 'desc');
}

/** When the earliest waiting message is due next (undefined: none waits). */
export async function nextAttemptAt(q: Q): Promise<string | undefined> {
  const r = await q('mail_messages').where('status', 'queued').min({ t: 'next_attempt_at' }).first();
  const t: unknown = r?.t;
  return typeof t === 'string' ? t : undefined;
}

export async function mailRowsByIds(q: Q, ids: number[]): Promise<MailMessageRow[]> {
  if (!ids.length) return [];
  return q('mail_messages').whereIn('id', ids).orderBy('id');
}

/** Address, status and the last answer of messages by id, without their content (delivery logs), in chunks of 500. */
export async function deliveryStateRows(q: Q, ids: number[]): Promise<Pick<MailMessageRow, 'id' | 'to_address' | 'status' | 'last_response' | 'sent_at' | 'created_at'>[]> {
  const out: Pick<MailMessageRow, 'id' | 'to_address' | 'status' | 'last_response' | 'sent_at' | 'created_at'>[] = [];
  for (let i = 0; i < ids.length; i += 500) {
    out.push(...(await q('mail_messages').whereIn('id', ids.slice(i, i + 500)).select('id', 'to_address', 'status', 'last_response', 'sent_at', 'created_at')));
  }
  return out;
}

/** Which messages belong to a data subject: related to one of the entities, or sent to one of the addresses. */
export interface MailSubject {
  related: { type: string; ids: number[] }[];
  addresses: string[];
}

function chunked<T>(xs: T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

function whereSubject(query: Knex.QueryBuilder, s: MailSubject): void {
  query.where((w) => {
    w.whereRaw('1 = 0');
    for (const r of s.related) for (const ids of chunked(r.ids)) w.orWhere((x) => x.where('related_type', r.type).whereIn('related_id', ids));
    for (const part of chunked(s.addresses)) w.orWhereIn('to_address', part);
  });
}

/** The subject's messages in id order (without bodies and attachments), at most `limit`. */
export async function subjectMailRows(q: Q, s: MailSubject, limit: number): Promise<Omit<MailMessageRow, 'text_body' | 'html_body' | 'attachments' | 'message_id' | 'next_attempt_at' | 'locked_until' | 'last_response'>[]> {
  const query = q('mail_messages');
  whereSubject(query, s);
  return query.orderBy('id').limit(limit)
    .select('id', 'template', 'locale', 'to_address', 'cc', 'subject', 'status', 'attempts', 'sent_at', 'created_at', 'related_type', 'related_id');
}

/**
 * Anonymisation: the subject's messages keep subject, template and dates; addresses and
 * bodies go, and what was still queued is never sent (failed). Messages being sent are left alone.
 */
export async function scrubSubjectMails(q: Q, s: MailSubject): Promise<void> {
  const mails = () => {
    const query = q('mail_messages').whereNot('status', 'sending');
    whereSubject(query, s);
    return query;
  };
  await mails().where('status', 'queued').update({ status: 'failed', last_response: 'not sent: recipient anonymised' });
  // invoice mails keep their attachment, the invoice PDF as sent (§ 14b UStG, § 147 AO; Art. 17(3)(b) GDPR)
  await mails().whereRaw("template like ? escape '\\'", [INVOICE_TEMPLATES]).update({ to_address: 'anonymised@invalid.invalid', cc: null, text_body: '', html_body: '' });
  await mails().whereRaw("template not like ? escape '\\'", [INVOICE_TEMPLATES]).update({ to_address: 'anonymised@invalid.invalid', cc: null, text_body: '', html_body: '', attachments: null });
}

/**
 * h/gdpr: the anonymisation's part of the outbox. The subject's messages as in scrubSubjectMails
 * (invoice mails keep the invoice PDF as sent), and their subject lines and SMTP answers lose the
 * known values; every other message (e.g. a board notification naming a contact) loses them in
 * addresses, subject, bodies and answer. Returns the Message-IDs of every message changed, whose
 * stored .eml files go as well.
 */
export async function anonymiseSubjectMails(trx: Knex.Transaction, s: MailSubject, terms: string[]): Promise<string[]> {
  const own = trx('mail_messages').whereNot('status', 'sending');
  whereSubject(own, s);
  const ownRows: Pick<MailMessageRow, 'id' | 'message_id'>[] = await own.select('id', 'message_id');
  await scrubSubjectMails(trx, s);
  const ids = new Set(ownRows.map((r) => Number(r.id)));
  for (const part of chunked([...ids])) await redactTermsIn(trx, 'mail_messages', 'id', ['subject', 'last_response'], terms, { scope: (qb) => qb.whereIn('id', part) });
  const other = await redactTermsIn(trx, 'mail_messages', 'id', ['to_address', 'cc', 'subject', 'text_body', 'html_body', 'last_response'], terms, { json: ['cc'], scope: (qb) => qb.whereNot('status', 'sending') });
  const otherIds = other.map(Number).filter((id) => !ids.has(id));
  const out = ownRows.map((r) => r.message_id);
  for (const part of chunked(otherIds)) out.push(...(await trx('mail_messages').whereIn('id', part).pluck('message_id')));
  return out;
}

/* ───────────── retention ───────────── */


function pastRetention(q: Q, cutoffs: { other: string; invoices: string }) {
  return q('mail_messages')
    .whereIn('status', ['sent', 'failed'])
    .where((w) => w.whereNot('text_body', '').orWhereNot('html_body', '').orWhereNotNull('attachments'))
    .where((w) => w
      .where((x) => x.whereRaw("template not like ? escape '\\'", [INVOICE_TEMPLATES]).andWhere('created_at', '<', cutoffs.other))
      .orWhere((x) => x.whereRaw("template like ? escape '\\'", [INVOICE_TEMPLATES]).andWhere('created_at', '<', cutoffs.invoices)));
}

/** How many sent or failed mails still hold a body past their retention period. */
export async function countMailsPastRetention(q: Q, cutoffs: { other: string; invoices: string }): Promise<number> {
  const [{ n }] = await pastRetention(q, cutoffs).count({ n: '*' });
  return Number(n);
}

/** The next `limit` of them (id and Message-ID, for the stored .eml file). */
export async function mailsPastRetention(q: Q, cutoffs: { other: string; invoices: string }, limit: number): Promise<Pick<MailMessageRow, 'id' | 'message_id'>[]> {
  return pastRetention(q, cutoffs).orderBy('id').limit(limit).select('id', 'message_id');
}

/** Bodies and attachments go; recipient, subject, template and dates stay as the proof of sending. */
export async function scrubMailBodies(q: Q, ids: number[]): Promise<void> {
  if (ids.length) await q('mail_messages').whereIn('id', ids).update({ text_body: '', html_body: '', attachments: null });
}
