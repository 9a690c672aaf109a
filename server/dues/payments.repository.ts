import type { Knex } from 'knex';
import { insertId } from '../db/knex.ts';
import type { PaymentKind, PaymentRow } from './dues.tables.ts';
import { bool as b } from '../db/knex.ts';

/** Every query on `payments` (owner: dues): money received against invoices, its corrections, and Stripe refunds. */

type Q = Knex | Knex.Transaction;

export type { PaymentKind };

export interface Payment {
  id: number;
  invoiceId: number;
  date: string;
  amountCents: number;
  method: 'bank' | 'stripe';
  reference: string;
  stripeRef: string | null;
  overpayment: boolean;
  createdAt: string;
  kind: PaymentKind;
  reversesPaymentId: number | null;
  creditFromPaymentId: number | null;
  reason: string;
}


function rowToPayment(r: PaymentRow): Payment {
  return {
    id: Number(r.id), invoiceId: Number(r.invoice_id), date: r.date, amountCents: Number(r.amount_cents), method: r.method,
    reference: r.reference ?? '', stripeRef: r.stripe_ref ?? null, overpayment: b(r.overpayment), createdAt: r.created_at,
    kind: r.kind ?? (Number(r.amount_cents) < 0 ? 'refund' : 'payment'),
    reversesPaymentId: r.reverses_payment_id == null ? null : Number(r.reverses_payment_id),
    creditFromPaymentId: r.credit_from_payment_id == null ? null : Number(r.credit_from_payment_id),
    reason: r.reason ?? '',
  };
}

/** A payment row as inserted; kind defaults to 'payment' (a negative amount: 'refund'). */
export type NewPaymentRow = Omit<PaymentRow, 'id' | 'kind' | 'reverses_payment_id' | 'credit_from_payment_id' | 'reason'>
  & Partial<Pick<PaymentRow, 'kind' | 'reverses_payment_id' | 'credit_from_payment_id' | 'reason'>>;

export async function insertPayment(q: Q, row: NewPaymentRow): Promise<number> {
  return insertId(q, 'payments', {
    ...row,
    kind: row.kind ?? (row.amount_cents < 0 ? 'refund' : 'payment'),
    reverses_payment_id: row.reverses_payment_id ?? null,
    credit_from_payment_id: row.credit_from_payment_id ?? null,
    reason: (row.reason ?? '').slice(0, 300),
  });
}

export async function getPayment(q: Q, id: number): Promise<Payment | undefined> {
  const r = await q('payments').where({ id }).first();
  return r ? rowToPayment(r) : undefined;
}

/** The reversal of a payment, if it has one. */
export async function reversalOf(q: Q, paymentId: number): Promise<Payment | undefined> {
  const r = await q('payments').where({ reverses_payment_id: paymentId }).first();
  return r ? rowToPayment(r) : undefined;
}

/** The payment recorded for a Stripe reference (unique), if any. */
export async function paymentByStripeRef(q: Q, stripeRef: string): Promise<Payment | undefined> {
  const r = await q('payments').where({ stripe_ref: stripeRef }).first();
  return r ? rowToPayment(r) : undefined;
}

/** The payments of an invoice, by date. */
export async function paymentsOfInvoice(q: Q, invoiceId: number): Promise<Payment[]> {
  return (await q('payments').where({ invoice_id: invoiceId }).orderBy([{ column: 'date' }, { column: 'id' }])).map(rowToPayment);
}

/** The payments of all invoices of an organisation, by date, with their invoice's number. */
export async function paymentsOfOrganisation(q: Q, organisationId: number): Promise<(Payment & { invoiceNumber: string })[]> {
  // why: the select is every column of payments plus the invoice's number (the alias hides the tables from knex's types)
  const rows = await q('payments as p').join('invoices as i', 'i.id', 'p.invoice_id').where('i.organisation_id', organisationId)
    .orderBy([{ column: 'p.date', order: 'desc' }, { column: 'p.id', order: 'desc' }])
    .select('p.*', 'i.number as invoice_number') as (PaymentRow & { invoice_number: string })[];
  return rows.map((r) => ({ ...rowToPayment(r), invoiceNumber: r.invoice_number }));
}

/** The credit of an organisation not yet put onto an invoice: carried over (credit_out, negative) less applied (credit_in). */
export async function openCreditOfOrganisation(q: Q, organisationId: number): Promise<number> {
  // why: one summed column (the alias hides the tables from knex's types)
  const rows = await q('payments as p').join('invoices as i', 'i.id', 'p.invoice_id').where('i.organisation_id', organisationId)
    .whereIn('p.kind', ['credit_out', 'credit_in']).select('p.amount_cents') as Pick<PaymentRow, 'amount_cents'>[];
  return -rows.reduce((s, r) => s + Number(r.amount_cents), 0);
}

/** The oldest credit_out of an organisation (the source a credit_in points to). */
export async function latestCreditOut(q: Q, organisationId: number): Promise<number | undefined> {
  // why: one selected column (the alias hides the tables from knex's types)
  const r = await q('payments as p').join('invoices as i', 'i.id', 'p.invoice_id').where('i.organisation_id', organisationId)
    .where('p.kind', 'credit_out').orderBy('p.id', 'desc').first('p.id') as { id: number } | undefined;
  return r ? Number(r.id) : undefined;
}

/** The payments for the invoices of a year, by date, with their invoice's number and member. */
export async function paymentsOfYear(q: Q, year: number): Promise<(Payment & { invoiceNumber: string; memberNumber: number; memberName: string })[]> {
  // why: the select is every column of payments plus three of the invoice's (the alias hides the tables from knex's types)
  const rows = await q('payments as p').join('invoices as i', 'i.id', 'p.invoice_id').where('i.year', year)
    .orderBy([{ column: 'p.date' }, { column: 'p.id' }])
    .select('p.*', 'i.number as invoice_number', 'i.member_number', 'i.recipient_name') as (PaymentRow & { invoice_number: string; member_number: number; recipient_name: string })[];
  return rows.map((r) => ({ ...rowToPayment(r), invoiceNumber: r.invoice_number, memberNumber: Number(r.member_number), memberName: r.recipient_name }));
}

/** Date and amount of each payment for the invoices of a year. */
export async function paymentAmountsOfYear(q: Q, year: number): Promise<{ date: string; amountCents: number }[]> {
  // why: the two selected columns of payments (the alias hides the table from knex's types)
  const rows = await q('payments as p').join('invoices as i', 'i.id', 'p.invoice_id').where('i.year', year)
    .whereNotIn('p.kind', ['credit_out', 'credit_in', 'settlement']).select('p.date', 'p.amount_cents') as Pick<PaymentRow, 'date' | 'amount_cents'>[];
  return rows.map((r) => ({ date: String(r.date), amountCents: Number(r.amount_cents) }));
}

/** The sum (negative) of the refunds recorded for a Stripe charge on an invoice (stripe_ref `<charge>:refund:<total>`). */
export async function refundsRecorded(q: Q, invoiceId: number, chargeId: string): Promise<number> {
  const rows = await q('payments').where({ invoice_id: invoiceId }).where('stripe_ref', 'like', `${chargeId}:refund:%`).select('amount_cents');
  return rows.reduce((s, r) => s + Number(r.amount_cents), 0);
}
