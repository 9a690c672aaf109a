import type { Knex } from 'knex';
import { affected, insertId, likeEscape } from '../db/knex.ts';
import type { InvoiceRow } from './dues.tables.ts';
import { rowToInvoice, type Invoice, type InvoiceRowWithCancels, type InvoiceStatus } from './invoice.ts';

/**
 * Every query on `invoices` (owner: dues). Reads come back as `Invoice` (with the number of
 * the invoice a cancellation cancels); writes take typed rows. Each function takes the
 * connection or the caller's transaction (SQLite has one connection: inside a transaction,
 * pass it).
 */

type Q = Knex | Knex.Transaction;

/** An invoice row as inserted (the id is the database's). */
// h/stripe: the Stripe bookkeeping columns have defaults (null, false)
type StripeBookkeeping = 'stripe_dispute' | 'stripe_problem' | 'stripe_amount_cents' | 'push_error' | 'push_error_permanent' | 'stripe_payment_methods';
export type NewInvoiceRow = Omit<InvoiceRow, 'id' | StripeBookkeeping> & Partial<Pick<InvoiceRow, StripeBookkeeping>>;
/** The columns an update may change. */
export type InvoicePatch = Partial<NewInvoiceRow>;

export const OPEN_STATUSES: InvoiceStatus[] = ['open', 'partially_paid'];
/** h/stripe: Stripe states in which no reminder goes out (see reminderCandidates). */
export const NO_REMINDER_STRIPE_STATES = ['processing', 'void', 'pushing_failed'];
export const NO_REMINDER_DISPUTES = ['warning_needs_response', 'warning_under_review', 'needs_response', 'under_review'];

/** Invoices (as `i`) with the number of the invoice each cancels (as `cancels_number`). */
function withCancels(q: Q): Knex.QueryBuilder {
  return q('invoices as i').leftJoin('invoices as c', 'c.id', 'i.cancels_invoice_id');
}
const WITH_CANCELS = ['i.*', 'c.number as cancels_number', 'c.issue_date as cancels_issue_date']; // h/einvoice: the original's date (BT-26)

export async function getInvoice(q: Q, id: number): Promise<Invoice | undefined> {
  // why: the select is every column of invoices plus cancels_number (the alias hides the table from knex's types)
  const r = await withCancels(q).where('i.id', id).first(WITH_CANCELS) as InvoiceRowWithCancels | undefined;
  return r ? rowToInvoice(r) : undefined;
}

/** The invoice a Stripe invoice belongs to. */
export async function getInvoiceByStripeId(q: Q, stripeInvoiceId: string): Promise<Invoice | undefined> {
  const r = await q('invoices').where({ stripe_invoice_id: stripeInvoiceId }).first('id');
  return r ? getInvoice(q, Number(r.id)) : undefined;
}

/** The id of the dues invoice that counts for a member and year (`dues_key`), if any. */
export async function idByDuesKey(q: Q, duesKey: string): Promise<number | undefined> {
  const r = await q('invoices').where({ dues_key: duesKey }).first('id');
  return r ? Number(r.id) : undefined;
}

/** Whether any dues invoice (not a cancellation) of a year has been issued. */
export async function hasInvoiceOfYear(q: Q, year: number): Promise<boolean> {
  return !!(await q('invoices').where({ year, kind: 'invoice' }).first('id'));
}

/** The numbers of a year's dues invoices that count, by organisation. */
export async function duesInvoiceNumbers(q: Q, year: number): Promise<Map<number, string>> {
  const rows = await q('invoices').where({ year, kind: 'invoice' }).whereNotNull('dues_key').select('organisation_id', 'number');
  return new Map(rows.map((r) => [Number(r.organisation_id), r.number]));
}

export async function insertInvoice(q: Q, row: NewInvoiceRow): Promise<number> {
  return insertId(q, 'invoices', { ...row });
}

/** The id of the invoice a form with this one-time key issued, if any. */
export async function idByRequestKey(q: Q, requestKey: string): Promise<number | null> {
  const r = await q('invoices').where({ request_key: requestKey }).first('id');
  return r ? Number(r.id) : null;
}

/**
 * Inserts a copy of an invoice's row (all but its id, number and dues key) with `changes`
 * applied: the cancellation invoice repeats the original's parties and period.
 */
export async function insertCopy(q: Q, originalId: number, changes: InvoicePatch & { number: string }): Promise<number> {
  const orig = await q('invoices').where({ id: originalId }).first();
  if (!orig) throw new Error(`invoice ${originalId} not found`);
  const { id: _id, number: _n, dues_key: _k, request_key: _r, ...rest } = orig;
  // h/stripe: a copy carries none of the original's Stripe findings
  return insertInvoice(q, { ...rest, dues_key: null, stripe_dispute: null, stripe_problem: null, stripe_amount_cents: null, push_error: null, push_error_permanent: false, stripe_payment_methods: null, ...changes });
}

export async function updateInvoice(q: Q, id: number, patch: InvoicePatch): Promise<number> {
  return q('invoices').where({ id }).update(patch);
}

/** Stores the Stripe invoice on ours unless one is stored already; returns whether it did. */
export async function linkStripeInvoice(q: Q, id: number, patch: InvoicePatch): Promise<boolean> {
  return affected(await q('invoices').where({ id }).whereNull('stripe_invoice_id').update(patch)) > 0;
}

/** Moves the reminder level from `fromLevel` to `level` if it still is `fromLevel` and reminders are due; returns whether it did. */
export async function raiseReminderLevel(q: Q, id: number, fromLevel: number, level: number, now: string): Promise<boolean> {
  const n = await q('invoices')
    .where({ id, reminder_level: fromLevel, reminders_stopped: false })
    .whereIn('status', OPEN_STATUSES)
    .update({ reminder_level: level, last_reminder_at: now, updated_at: now });
  return affected(n) === 1;
}

/** Open dues invoices with reminders not stopped, below the second reminder, due on or before `dueBy`; by id. */
export async function reminderCandidates(q: Q, dueBy: string): Promise<{ id: number; organisationId: number; dueDate: string; reminderLevel: number }[]> {
  const rows = await q('invoices')
    .where('kind', 'invoice')
    .whereIn('status', OPEN_STATUSES)
    .where('reminders_stopped', false)
    .where('reminder_level', '<', 2)
    .where('due_date', '<=', dueBy)
    // h/stripe: no reminder while a debit is processing, after a void in the Stripe Dashboard, or while the payment is disputed
    .where((w) => w.whereNull('stripe_state').orWhereNotIn('stripe_state', NO_REMINDER_STRIPE_STATES))
    .where((w) => w.whereNull('stripe_dispute').orWhereNotIn('stripe_dispute', NO_REMINDER_DISPUTES))
    .orderBy('id')
    .select('id', 'organisation_id', 'due_date', 'reminder_level');
  return rows.map((r) => ({ id: Number(r.id), organisationId: Number(r.organisation_id), dueDate: r.due_date, reminderLevel: Number(r.reminder_level) }));
}

/** An organisation's invoices, newest first. */
/** An organisation's invoice rows as stored, oldest first (for its GDPR data export). */
export async function invoiceRowsOfOrganisation(q: Q, organisationId: number): Promise<InvoiceRow[]> {
  return q('invoices').where({ organisation_id: organisationId }).orderBy('id');
}

export async function invoicesOfOrganisation(q: Q, organisationId: number): Promise<Invoice[]> {
  // why: the select is every column of invoices plus cancels_number
  const rows = await withCancels(q).where('i.organisation_id', organisationId)
    .orderBy([{ column: 'i.issue_date', order: 'desc' }, { column: 'i.id', order: 'desc' }])
    .select(WITH_CANCELS) as InvoiceRowWithCancels[];
  return rows.map(rowToInvoice);
}

export interface InvoiceFilter {
  year?: number;
  status?: string;
  q?: string;
  /** open dues invoices due before `today` */
  overdue?: boolean;
  today: string;
  page: number;
  perPage: number;
}

/** A page of invoices (by year and number, newest first) and how many match. */
export async function listInvoices(db: Q, f: InvoiceFilter): Promise<{ rows: Invoice[]; total: number }> {
  const base = db('invoices as i');
  if (f.year) base.where('i.year', f.year);
  if (f.status) base.where('i.status', f.status);
  if (f.overdue) base.whereIn('i.status', OPEN_STATUSES).andWhere('i.due_date', '<', f.today).andWhere('i.kind', 'invoice');
  const q = (f.q ?? '').trim();
  if (q) {
    const m = /^(?:m-?)?0*(\d{1,9})$/i.exec(q);
    base.where((w) => {
      w.whereRaw("lower(i.recipient_name) like ? escape '\\'", [`%${likeEscape(q.toLowerCase())}%`]).orWhere('i.number', q);
      if (m) w.orWhere('i.member_number', Number(m[1]));
    });
  }
  const [{ n }] = await base.clone().count({ n: '*' });
  // why: the select is every column of invoices plus cancels_number
  const rows = await base.clone().leftJoin('invoices as c', 'c.id', 'i.cancels_invoice_id')
    .select(WITH_CANCELS)
    .orderBy([{ column: 'i.year', order: 'desc' }, { column: 'i.number', order: 'desc' }])
    .limit(f.perPage).offset((f.page - 1) * f.perPage) as InvoiceRowWithCancels[];
  return { rows: rows.map(rowToInvoice), total: Number(n) };
}

/** Every invoice and cancellation invoice of a year by number, with the date of its last payment. */
export async function exportRows(db: Q, year: number): Promise<(Invoice & { lastPaymentDate: string | null })[]> {
  // why: the select is every column of invoices plus cancels_number and last_payment_date
  const rows = await withCancels(db).where('i.year', year).orderBy('i.number')
    .select([...WITH_CANCELS, db('payments as p').whereRaw('p.invoice_id = i.id').max('p.date').as('last_payment_date')]) as (InvoiceRowWithCancels & { last_payment_date: string | null })[];
  return rows.map((r) => ({ ...rowToInvoice(r), lastPaymentDate: r.last_payment_date ?? null }));
}

/** The years that have invoices, newest first. */
export async function invoiceYears(q: Q): Promise<number[]> {
  return (await q('invoices').distinct('year').orderBy('year', 'desc')).map((r) => Number(r.year));
}

/** Status, amounts and due date of each dues invoice of a year (for the treasurer's numbers). */
export async function duesAmountsOfYear(q: Q, year: number): Promise<{ status: InvoiceStatus; amountCents: number; paidCents: number; dueDate: string }[]> {
  const rows = await q('invoices').where({ year, kind: 'invoice' }).select('status', 'amount_cents', 'paid_cents', 'due_date');
  return rows.map((r) => ({ status: r.status, amountCents: Number(r.amount_cents), paidCents: Number(r.paid_cents), dueDate: r.due_date }));
}

/** Ids of a year's dues invoices whose e-mail has not gone out and that still count; by id. */
export async function undeliveredIds(q: Q, year: number): Promise<number[]> {
  return (await q('invoices').where({ year, kind: 'invoice' }).whereNull('mailed_at').whereNotIn('status', ['cancelled', 'void']).orderBy('id').select('id')).map((r) => Number(r.id));
}

/**
 * Invoices on Stripe whose state may still change there: open here, or open (or failed) on
 * Stripe, or cancelled here while the void or credit on Stripe did not happen; by id.
 */
export async function stripeLiveInvoices(q: Q, liveStatuses: InvoiceStatus[]): Promise<{ id: number; status: InvoiceStatus; stripeInvoiceId: string; stripeState: string | null }[]> {
  const rows = await q('invoices')
    .whereNotNull('stripe_invoice_id')
    .where((w) => w
      .whereIn('status', liveStatuses)
      .orWhereIn('stripe_state', ['draft', 'open', 'payment_failed', 'action_required'])
      .orWhere((c) => c.where('status', 'cancelled').where((x) => x.whereNull('stripe_state').orWhereNotIn('stripe_state', ['void', 'credited']))))
    .select('id', 'status', 'stripe_invoice_id', 'stripe_state')
    .orderBy('id');
  return rows.map((r) => ({ id: Number(r.id), status: r.status, stripeInvoiceId: String(r.stripe_invoice_id), stripeState: r.stripe_state }));
}

/** h/stripe: every invoice on Stripe (for reconcile), by id. */
export async function stripeBackedInvoices(q: Q): Promise<{ id: number; number: string; status: InvoiceStatus; stripeInvoiceId: string; stripeState: string | null }[]> {
  const rows = await q('invoices').whereNotNull('stripe_invoice_id').select('id', 'number', 'status', 'stripe_invoice_id', 'stripe_state').orderBy('id');
  return rows.map((r) => ({ id: Number(r.id), number: r.number, status: r.status, stripeInvoiceId: String(r.stripe_invoice_id), stripeState: r.stripe_state }));
}

/** h/stripe: how many invoices have a contested payment (dispute open) and how many were closed at Stripe without a Stornorechnung here (void from the Dashboard). */
export async function stripeFlagCounts(q: Q, year: number, openDisputeStates: string[] = NO_REMINDER_DISPUTES): Promise<{ disputes: number; voided: number; problems: number }> {
  const count = async (b: Knex.QueryBuilder) => Number(((await b.count({ n: '*' })) as { n: number | string }[])[0].n); // why: one count column
  const base = () => q('invoices').where({ year, kind: 'invoice' });
  return {
    disputes: await count(base().whereIn('stripe_dispute', openDisputeStates)),
    voided: await count(base().where('stripe_state', 'void').whereIn('status', OPEN_STATUSES)),
    problems: await count(base().whereNotNull('stripe_problem').whereIn('status', OPEN_STATUSES)),
  };
}

/** h/stripe: the invoices of a dues run that were not delivered (Stripe refused or was unreachable), with Stripe's message; by number. */
export async function undeliveredOfRun(q: Q, duesRunId: number): Promise<{ id: number; number: string; memberNumber: number; name: string; pushError: string | null; permanent: boolean }[]> {
  const rows = await q('invoices').where({ dues_run_id: duesRunId, kind: 'invoice' }).whereNull('mailed_at').whereNotIn('status', ['cancelled', 'void'])
    .orderBy('number').select('id', 'number', 'member_number', 'recipient_name', 'push_error', 'push_error_permanent');
  return rows.map((r) => ({ id: Number(r.id), number: r.number, memberNumber: Number(r.member_number), name: r.recipient_name, pushError: r.push_error ?? null, permanent: r.push_error_permanent === true || Number(r.push_error_permanent) === 1 }));
}

/**
 * h/stripe: the register's payment-status filter: a subquery of the organisation ids whose dues
 * invoice of `year` is paid (all paid), open (something open) or overdue (open past its due date).
 */
export function organisationIdsByPayment(q: Q, state: 'paid' | 'open' | 'overdue', year: number, today: string): Knex.QueryBuilder {
  const base = q('invoices').where({ year, kind: 'invoice' }).whereNotIn('status', ['cancelled', 'void']).distinct('organisation_id');
  if (state === 'open') return base.whereIn('status', OPEN_STATUSES);
  if (state === 'overdue') return base.whereIn('status', OPEN_STATUSES).where('due_date', '<', today);
  return base.where('status', 'paid')
    .whereNotIn('organisation_id', q('invoices').where({ year, kind: 'invoice' }).whereIn('status', [...OPEN_STATUSES, 'uncollectible']).select('organisation_id'));
}

// h/sepa: the open dues invoices a direct debit may collect
/** Open and partially paid dues invoices (not cancellations) of the given organisations, oldest first. */
export async function openInvoicesOfOrganisations(q: Q, organisationIds: number[]): Promise<Invoice[]> {
  const out: Invoice[] = [];
  for (let i = 0; i < organisationIds.length; i += 500) {
    // why: the select is every column of invoices plus cancels_number
    const rows = await withCancels(q).where('i.kind', 'invoice').whereIn('i.status', OPEN_STATUSES).whereIn('i.organisation_id', organisationIds.slice(i, i + 500))
      .orderBy([{ column: 'i.due_date', order: 'asc' }, { column: 'i.id', order: 'asc' }]).select(WITH_CANCELS) as InvoiceRowWithCancels[];
    out.push(...rows.map(rowToInvoice));
  }
  return out;
}

// h/bank: the open dues invoices the bank import matches statement lines against (few columns, for 10,000s of rows)
export async function openInvoicesForMatching(q: Q): Promise<{ id: number; number: string; organisationId: number; recipientName: string; openCents: number; dueDate: string }[]> {
  const rows = await q('invoices').whereIn('status', OPEN_STATUSES).andWhere('kind', 'invoice')
    .select('id', 'number', 'organisation_id', 'recipient_name', 'amount_cents', 'paid_cents', 'due_date');
  return rows.map((r) => ({
    id: Number(r.id), number: r.number, organisationId: Number(r.organisation_id), recipientName: r.recipient_name,
    openCents: Number(r.amount_cents) - Number(r.paid_cents), dueDate: r.due_date,
  })).filter((r) => r.openCents > 0);
}

// h/bankperf: a stamp of the open invoices the bank matches against: any payment, cancellation or new invoice changes it
export async function openInvoicesMatchingStamp(q: Q): Promise<string> {
  const r = await q('invoices').whereIn('status', OPEN_STATUSES).andWhere('kind', 'invoice').andWhereRaw('amount_cents > paid_cents')
    .first(q.raw('count(*) as n'), q.raw('coalesce(sum(id), 0) as ids'), q.raw('coalesce(max(id), 0) as top'), q.raw('coalesce(sum(amount_cents - paid_cents), 0) as open'),
      q.raw('coalesce(sum((id % 1009 + 1) * (amount_cents - paid_cents)), 0) as weighted')) as { n: unknown; ids: unknown; top: unknown; open: unknown; weighted: unknown } | undefined;
  return r ? [r.n, r.ids, r.top, r.open, r.weighted].map((x) => String(Number(x))).join(':') : '0';
}

// h/gdpr: anonymisation is refused while an invoice of the organisation is unpaid
/** The numbers of the organisation's invoices that are still (partly) unpaid. */
export async function unpaidInvoiceNumbers(q: Q, organisationId: number): Promise<string[]> {
  return q('invoices').where({ organisation_id: organisationId, kind: 'invoice' }).whereIn('status', OPEN_STATUSES).orderBy('id').pluck('number');
}
