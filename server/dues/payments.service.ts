import type { Knex } from 'knex';
import { iso, type Clock } from '../clock.ts';
import { insertId, bool as b } from '../db/knex.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import type { InvoiceStatus } from './invoice.ts';

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

export interface PaymentInput {
  date: string; // YYYY-MM-DD
  amountCents: number;
  reference: string;
  method?: 'bank' | 'stripe';
  stripeRef?: string | null;
}

function rowToPayment(r: Record<string, any>): Payment {
  return {
    id: Number(r.id), invoiceId: Number(r.invoice_id), date: r.date, amountCents: Number(r.amount_cents), method: r.method,
    reference: r.reference ?? '', stripeRef: r.stripe_ref ?? null, overpayment: b(r.overpayment), createdAt: r.created_at,
  };
}

/** The status an invoice has after payments: paid when covered, partially paid when something came in. */
export function statusAfterPayment(amountCents: number, paidCents: number): InvoiceStatus {
  if (paidCents >= amountCents) return 'paid';
  if (paidCents > 0) return 'partially_paid';
  return 'open';
}

/** Incoming payments against invoices: bank transfers entered by the treasurer, and Stripe payments. */
export class PaymentsService {
  constructor(private d: { db: Knex; clock: Clock; audit: AuditService }) {}

  /** Records a bank transfer (the treasurer's form). */
  async record(actor: Actor, invoiceId: number, input: PaymentInput): Promise<{ paymentId: number; status: InvoiceStatus; overpayment: boolean }> {
    return this.d.db.transaction((trx) => this.recordInTrx(trx, actor, invoiceId, input));
  }

  /**
   * Records a payment inside the caller's transaction (also used by the Stripe webhook with
   * method 'stripe' and the charge id as stripeRef, unique, so an event handled twice records
   * one payment). A payment that makes the paid sum exceed the amount is flagged as overpayment.
   */
  async recordInTrx(trx: Knex.Transaction, actor: Actor, invoiceId: number, input: PaymentInput): Promise<{ paymentId: number; status: InvoiceStatus; overpayment: boolean }> {
    const inv = await trx('invoices').where({ id: invoiceId }).first();
    if (!inv) throw new NotFoundError();
    if (inv.kind !== 'invoice' || inv.status === 'cancelled' || inv.status === 'void') throw new ConflictError('invoice_not_payable');
    if (!Number.isSafeInteger(input.amountCents) || input.amountCents <= 0) throw new ConflictError('invalid_amount');
    if (input.stripeRef) {
      const dup = await trx('payments').where({ stripe_ref: input.stripeRef }).first();
      if (dup) return { paymentId: Number(dup.id), status: inv.status, overpayment: b(dup.overpayment) };
    }
    const amount = Number(inv.amount_cents);
    const paid = Number(inv.paid_cents) + input.amountCents;
    const overpayment = paid > amount;
    const now = iso(this.d.clock.now());
    const paymentId = await insertId(trx, 'payments', {
      invoice_id: invoiceId,
      date: input.date,
      amount_cents: input.amountCents,
      method: input.method ?? 'bank',
      reference: input.reference.slice(0, 300),
      stripe_ref: input.stripeRef ?? null,
      overpayment,
      created_by: actor.userId,
      created_at: now,
    });
    // an invoice Stripe wrote off stays as it is unless the payment covers it
    const status = inv.status === 'uncollectible' && paid < amount ? 'uncollectible' : statusAfterPayment(amount, paid);
    await trx('invoices').where({ id: invoiceId }).update({ paid_cents: paid, status, updated_at: now });
    await this.d.audit.record(trx, actor, 'payment.recorded', 'invoice', invoiceId,
      { status: inv.status, paidCents: Number(inv.paid_cents) },
      { status, paidCents: paid, paymentId, amountCents: input.amountCents, date: input.date, method: input.method ?? 'bank', overpayment });
    return { paymentId, status, overpayment };
  }

  async forInvoice(invoiceId: number): Promise<Payment[]> {
    return (await this.d.db('payments').where({ invoice_id: invoiceId }).orderBy([{ column: 'date' }, { column: 'id' }])).map(rowToPayment);
  }

  /** Payments for the invoices of a year (for the export), by date. */
  async forYear(year: number): Promise<(Payment & { invoiceNumber: string; memberNumber: number; memberName: string })[]> {
    const rows = await this.d.db('payments as p').join('invoices as i', 'i.id', 'p.invoice_id').where('i.year', year)
      .orderBy([{ column: 'p.date' }, { column: 'p.id' }])
      .select('p.*', 'i.number as invoice_number', 'i.member_number', 'i.recipient_name');
    return rows.map((r) => ({ ...rowToPayment(r), invoiceNumber: r.invoice_number, memberNumber: Number(r.member_number), memberName: r.recipient_name }));
  }
}
