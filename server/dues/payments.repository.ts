import type { Knex } from 'knex';
import { insertId } from '../db/knex.ts';
import type { PaymentRow } from './dues.tables.ts';
import { bool as b } from '../db/knex.ts';

/** Every query on `payments` (owner: dues): money received against invoices, and Stripe refunds. */

type Q = Knex | Knex.Transaction;

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
}


function rowToPayment(r: PaymentRow): Payment {
  return {
    id: Number(r.id), invoiceId: Number(r.invoice_id), date: r.date, amountCents: Number(r.amount_cents), method: r.method,
    reference: r.reference ?? '', stripeRef: r.stripe_ref ?? null, overpayment: b(r.overpayment), createdAt: r.created_at,
  };
}

export async function insertPayment(q: Q, row: Omit<PaymentRow, 'id'>): Promise<number> {
  return insertId(q, 'payments', { ...row });
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
  const rows = await q('payments as p').join('invoices as i', 'i.id', 'p.invoice_id').where('i.year', year).select('p.date', 'p.amount_cents') as Pick<PaymentRow, 'date' | 'amount_cents'>[];
  return rows.map((r) => ({ date: String(r.date), amountCents: Number(r.amount_cents) }));
}

/** The sum (negative) of the refunds recorded for a Stripe charge on an invoice (stripe_ref `<charge>:refund:<total>`). */
export async function refundsRecorded(q: Q, invoiceId: number, chargeId: string): Promise<number> {
  const rows = await q('payments').where({ invoice_id: invoiceId }).where('stripe_ref', 'like', `${chargeId}:refund:%`).select('amount_cents');
  return rows.reduce((s, r) => s + Number(r.amount_cents), 0);
}
