import type { Knex } from 'knex';
import { bool, insertId } from '../db/knex.ts';
import type { DebitStatus, MandateScheme, MandateSource, SepaDebitRow, SepaMandateRow, SepaReturnRow, SepaRunRow, SequenceType } from './sepa.tables.ts';

/**
 * Every query on the sepa tables (owner: sepa): mandates, runs, debits, returns. Each
 * function takes the connection or the caller's transaction.
 */
type Q = Knex | Knex.Transaction;

export interface Mandate {
  id: number;
  organisationId: number;
  reference: string;
  scheme: MandateScheme;
  iban: string;
  bic: string;
  holder: string;
  signedOn: string;
  source: MandateSource;
  grantedByContactId: number | null;
  lastUsedOn: string | null;
  firstUsed: boolean;
  revokedAt: string | null;
  revokedReason: string;
  flagCode: string | null;
  flaggedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

function toMandate(r: SepaMandateRow): Mandate {
  return {
    id: Number(r.id), organisationId: Number(r.organisation_id), reference: r.reference, scheme: r.scheme, iban: r.iban, bic: r.bic, holder: r.holder,
    signedOn: r.signed_on, source: r.source, grantedByContactId: r.granted_by_contact_id == null ? null : Number(r.granted_by_contact_id),
    lastUsedOn: r.last_used_on, firstUsed: bool(r.first_used), revokedAt: r.revoked_at, revokedReason: r.revoked_reason,
    flagCode: r.flag_code, flaggedAt: r.flagged_at, createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

export type NewMandateRow = Omit<SepaMandateRow, 'id'>;
export type MandatePatch = Partial<Omit<SepaMandateRow, 'id' | 'organisation_id' | 'created_at' | 'created_by'>>;

export async function insertMandate(q: Q, row: NewMandateRow): Promise<number> {
  return insertId(q, 'sepa_mandates', { ...row });
}

export async function updateMandate(q: Q, id: number, patch: MandatePatch): Promise<void> {
  await q('sepa_mandates').where({ id }).update(patch);
}

/** The same patch on many mandates (chunks of 500 ids). */
export async function updateMandates(q: Q, ids: number[], patch: MandatePatch): Promise<void> {
  for (let i = 0; i < ids.length; i += 500) await q('sepa_mandates').whereIn('id', ids.slice(i, i + 500)).update(patch);
}

export async function getMandate(q: Q, id: number): Promise<Mandate | undefined> {
  const r = await q('sepa_mandates').where({ id }).first();
  return r ? toMandate(r) : undefined;
}

export async function mandatesOfOrganisation(q: Q, organisationId: number): Promise<Mandate[]> {
  return (await q('sepa_mandates').where({ organisation_id: organisationId }).orderBy('id', 'desc')).map(toMandate);
}

/** Mandates neither revoked nor flagged (whether expired the service decides, by date). */
export async function usableMandates(q: Q): Promise<Mandate[]> {
  return (await q('sepa_mandates').whereNull('revoked_at').whereNull('flag_code').orderBy('id')).map(toMandate);
}

export async function referenceTaken(q: Q, reference: string): Promise<boolean> {
  return !!(await q('sepa_mandates').where({ reference }).first('id'));
}

export interface Run {
  id: number;
  dueDate: string;
  messageId: string;
  debitCount: number;
  totalCents: number;
  createdAt: string;
}

function toRun(r: SepaRunRow): Run {
  return { id: Number(r.id), dueDate: r.due_date, messageId: r.message_id, debitCount: Number(r.debit_count), totalCents: Number(r.total_cents), createdAt: r.created_at };
}

export async function insertRun(q: Q, row: Omit<SepaRunRow, 'id'>): Promise<number> {
  return insertId(q, 'sepa_runs', { ...row });
}

export async function updateRun(q: Q, id: number, patch: Partial<Pick<SepaRunRow, 'message_id' | 'debit_count' | 'total_cents'>>): Promise<void> {
  await q('sepa_runs').where({ id }).update(patch);
}

export async function getRun(q: Q, id: number): Promise<Run | undefined> {
  const r = await q('sepa_runs').where({ id }).first();
  return r ? toRun(r) : undefined;
}

export async function listRuns(q: Q, limit = 50): Promise<Run[]> {
  return (await q('sepa_runs').orderBy('id', 'desc').limit(limit)).map(toRun);
}

/** Runs due from this day on that still collect something (a run whose debits were all taken out is not due). */
export async function runsDueFrom(q: Q, from: string): Promise<Run[]> {
  return (await q('sepa_runs').where('due_date', '>=', from).where('debit_count', '>', 0).orderBy('due_date')).map(toRun);
}

export interface Debit {
  id: number;
  runId: number;
  mandateId: number;
  invoiceId: number;
  organisationId: number;
  invoiceNumber: string;
  endToEndId: string;
  sequence: SequenceType;
  scheme: MandateScheme;
  amountCents: number;
  dueDate: string;
  mandateReference: string;
  mandateSignedOn: string;
  iban: string;
  bic: string;
  holder: string;
  remittance: string;
  status: DebitStatus;
  paymentId: number | null;
  prenotifiedAt: string | null;
  fileDownloadedAt: string | null;
  cancelledAt: string | null;
  cancelReason: string;
  recallAskedAt: string | null;
  wholeFileRecalled: boolean;
}

function toDebit(r: SepaDebitRow): Debit {
  return {
    id: Number(r.id), runId: Number(r.run_id), mandateId: Number(r.mandate_id), invoiceId: Number(r.invoice_id), organisationId: Number(r.organisation_id),
    invoiceNumber: r.invoice_number, endToEndId: r.end_to_end_id, sequence: r.sequence, scheme: r.scheme, amountCents: Number(r.amount_cents), dueDate: r.due_date,
    mandateReference: r.mandate_reference, mandateSignedOn: r.mandate_signed_on, iban: r.iban, bic: r.bic, holder: r.holder, remittance: r.remittance,
    status: r.status, paymentId: r.payment_id == null ? null : Number(r.payment_id), prenotifiedAt: r.prenotified_at,
    fileDownloadedAt: r.file_downloaded_at ?? null, cancelledAt: r.cancelled_at ?? null, cancelReason: r.cancel_reason ?? '',
    recallAskedAt: r.recall_asked_at ?? null, wholeFileRecalled: bool(r.whole_file_recalled ?? false),
  };
}

export type NewDebitRow = Omit<SepaDebitRow, 'id' | 'file_downloaded_at' | 'cancelled_at' | 'cancel_reason' | 'recall_asked_at' | 'whole_file_recalled'>;

export async function insertDebit(q: Q, row: NewDebitRow): Promise<number> {
  return insertId(q, 'sepa_debits', { ...row });
}

/** Many debits in multi-row inserts of 500 (23 columns: within SQLite's and PostgreSQL's variable limits). */
export async function insertDebits(q: Q, rows: NewDebitRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) await q('sepa_debits').insert(rows.slice(i, i + 500));
}

export type DebitPatch = Partial<Pick<SepaDebitRow, 'status' | 'payment_id' | 'active_invoice_id' | 'prenotified_at' | 'end_to_end_id' | 'amount_cents' | 'cancelled_at' | 'cancel_reason' | 'recall_asked_at' | 'whole_file_recalled'>>;

export async function updateDebit(q: Q, id: number, patch: DebitPatch): Promise<void> {
  await q('sepa_debits').where({ id }).update(patch);
}

export async function debitsOfRun(q: Q, runId: number): Promise<Debit[]> {
  return (await q('sepa_debits').where({ run_id: runId }).orderBy('id')).map(toDebit);
}

export async function debitByEndToEndId(q: Q, endToEndId: string): Promise<Debit | undefined> {
  const r = await q('sepa_debits').where({ end_to_end_id: endToEndId }).first();
  return r ? toDebit(r) : undefined;
}

export async function debitsOfOrganisation(q: Q, organisationId: number): Promise<Debit[]> {
  return (await q('sepa_debits').where({ organisation_id: organisationId }).orderBy('id', 'desc')).map(toDebit);
}

export async function getDebit(q: Q, id: number): Promise<Debit | undefined> {
  const r = await q('sepa_debits').where({ id }).first();
  return r ? toDebit(r) : undefined;
}

/** The pending debit that collects this invoice, if any (at most one: active_invoice_id is unique). */
export async function pendingDebitOfInvoice(q: Q, invoiceId: number): Promise<Debit | undefined> {
  const r = await q('sepa_debits').where({ active_invoice_id: invoiceId, status: 'pending' }).first();
  return r ? toDebit(r) : undefined;
}

/**
 * Stamps the first download of one file of a run (its scheme and sequence; later downloads keep
 * the first time), before the file's debits are read: a payment taking a debit out at the same
 * moment either commits first (the debit is not in the file) or finds it downloaded.
 */
export async function markFileDownloaded(q: Q, runId: number, scheme: MandateScheme, sequence: SequenceType, at: string): Promise<void> {
  await q('sepa_debits').where({ run_id: runId, scheme, sequence }).whereNot('status', 'cancelled').whereNull('file_downloaded_at').update({ file_downloaded_at: at });
}

/**
 * Changes a debit only while it is pending (and, with `notDownloaded`, while its file was not
 * downloaded): false when it no longer is, so that the caller decides again on what it is now.
 */
export async function updatePendingDebit(q: Q, id: number, patch: DebitPatch, opts: { notDownloaded?: boolean; status?: DebitStatus } = {}): Promise<boolean> {
  const query = q('sepa_debits').where({ id, status: opts.status ?? 'pending' });
  if (opts.notDownloaded) query.whereNull('file_downloaded_at');
  return Number(await query.update(patch)) > 0;
}

/** A mandate's debits that were not cancelled (what its first and last use follow). */
export async function usesOfMandate(q: Q, mandateId: number): Promise<{ dueDate: string; status: DebitStatus; sequence: SequenceType }[]> {
  return (await q('sepa_debits').where({ mandate_id: mandateId }).whereNot('status', 'cancelled').select('due_date', 'status', 'sequence'))
    .map((r) => ({ dueDate: r.due_date as string, status: r.status as DebitStatus, sequence: r.sequence as SequenceType }));
}

/** Pending debits the treasurer is asked to recall at the bank (paid otherwise or cancelled after their file was downloaded). */
export async function debitsToRecall(q: Q): Promise<Debit[]> {
  return (await q('sepa_debits').where({ status: 'pending' }).whereNotNull('recall_asked_at').orderBy('due_date')).map(toDebit);
}

/** Moves a run's count and sum (a debit cancelled or lowered). */
export async function adjustRun(q: Q, id: number, by: { count: number; cents: number }): Promise<void> {
  await q('sepa_runs').where({ id }).update({ debit_count: q.raw('debit_count + ?', [by.count]), total_cents: q.raw('total_cents + ?', [by.cents]) });
}

/** Pending debits whose due date has come: they are booked as paid. */
export async function pendingDueDebits(q: Q, today: string): Promise<Debit[]> {
  return (await q('sepa_debits').where({ status: 'pending' }).where('due_date', '<=', today).orderBy('id')).map(toDebit);
}

/** Of these invoices, the ones a debit collects (pending, or collected and not returned). */
export async function invoicesInCollection(q: Q, invoiceIds: number[]): Promise<Set<number>> {
  const out = new Set<number>();
  for (let i = 0; i < invoiceIds.length; i += 500) {
    const rows = await q('sepa_debits').whereIn('active_invoice_id', invoiceIds.slice(i, i + 500)).select('active_invoice_id');
    for (const r of rows) if (r.active_invoice_id != null) out.add(Number(r.active_invoice_id));
  }
  return out;
}

export interface ReturnEntry {
  id: number;
  debitId: number;
  reasonCode: string;
  amountCents: number;
  feeCents: number;
  bookedOn: string;
  endToEndId: string;
  invoiceId: number;
  invoiceNumber: string;
  organisationId: number;
  holder: string;
  mandateReference: string;
}

export async function insertReturn(q: Q, row: Omit<SepaReturnRow, 'id'>): Promise<number> {
  return insertId(q, 'sepa_returns', { ...row });
}

export async function returnOfDebit(q: Q, debitId: number): Promise<boolean> {
  return !!(await q('sepa_returns').where({ debit_id: debitId }).first('id'));
}

/** The id of the return recorded for a debit, or null. */
export async function returnIdOfDebit(q: Q, debitId: number): Promise<number | null> {
  const r = await q('sepa_returns').where({ debit_id: debitId }).first('id');
  return r ? Number(r.id) : null;
}

async function returnsWhere(q: Q, where: (b: Knex.QueryBuilder) => void, limit: number): Promise<ReturnEntry[]> {
  const b = q('sepa_returns as r').join('sepa_debits as d', 'd.id', 'r.debit_id');
  where(b);
  const rows: (Pick<SepaReturnRow, 'id' | 'debit_id' | 'reason_code' | 'amount_cents' | 'fee_cents' | 'booked_on'> & Pick<SepaDebitRow, 'end_to_end_id' | 'invoice_id' | 'invoice_number' | 'organisation_id' | 'holder' | 'mandate_reference'>)[] = await b
    .orderBy([{ column: 'r.booked_on', order: 'desc' }, { column: 'r.id', order: 'desc' }]).limit(limit)
    .select('r.id', 'r.debit_id', 'r.reason_code', 'r.amount_cents', 'r.fee_cents', 'r.booked_on', 'd.end_to_end_id', 'd.invoice_id', 'd.invoice_number', 'd.organisation_id', 'd.holder', 'd.mandate_reference');
  return rows.map((r) => ({
    id: Number(r.id), debitId: Number(r.debit_id), reasonCode: r.reason_code, amountCents: Number(r.amount_cents), feeCents: Number(r.fee_cents), bookedOn: r.booked_on,
    endToEndId: r.end_to_end_id, invoiceId: Number(r.invoice_id), invoiceNumber: r.invoice_number, organisationId: Number(r.organisation_id), holder: r.holder, mandateReference: r.mandate_reference,
  }));
}

export async function recentReturns(q: Q, limit = 20): Promise<ReturnEntry[]> {
  return returnsWhere(q, () => {}, limit);
}

/** The returns of the debits of these invoices, newest first. */
export async function returnsOfInvoices(q: Q, invoiceIds: number[]): Promise<ReturnEntry[]> {
  const out: ReturnEntry[] = [];
  for (let i = 0; i < invoiceIds.length; i += 500) {
    const chunk = invoiceIds.slice(i, i + 500);
    out.push(...(await returnsWhere(q, (b) => { b.whereIn('d.invoice_id', chunk); }, 100_000)));
  }
  return out.sort((a, b) => b.bookedOn.localeCompare(a.bookedOn) || b.id - a.id);
}

export async function returnsOfOrganisation(q: Q, organisationId: number): Promise<ReturnEntry[]> {
  return returnsWhere(q, (b) => { b.where('d.organisation_id', organisationId); }, 100);
}
