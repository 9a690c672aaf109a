import type { Knex } from 'knex';
import { iso, type Clock } from '../clock.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import type { InvoiceStatus } from './invoice.ts';
import { getInvoice, updateInvoice } from './invoices.repository.ts';
import { insertPayment, paymentByStripeRef, paymentsOfInvoice, paymentsOfYear, type Payment } from './payments.repository.ts';

export type { Payment };

export interface PaymentInput {
  date: string; // YYYY-MM-DD
  amountCents: number;
  reference: string;
  method?: 'bank' | 'stripe';
  stripeRef?: string | null;
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
    const inv = await getInvoice(trx, invoiceId);
    if (!inv) throw new NotFoundError();
    if (inv.kind !== 'invoice' || inv.status === 'cancelled' || inv.status === 'void') throw new ConflictError('invoice_not_payable');
    if (!Number.isSafeInteger(input.amountCents) || input.amountCents <= 0) throw new ConflictError('invalid_amount');
    if (input.stripeRef) {
      const dup = await paymentByStripeRef(trx, input.stripeRef);
      if (dup) return { paymentId: dup.id, status: inv.status, overpayment: dup.overpayment };
    }
    const amount = inv.amountCents;
    const paid = inv.paidCents + input.amountCents;
    const overpayment = paid > amount;
    const now = iso(this.d.clock.now());
    const paymentId = await insertPayment(trx, {
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
    await updateInvoice(trx, invoiceId, { paid_cents: paid, status, updated_at: now });
    await this.d.audit.record(trx, actor, 'payment.recorded', 'invoice', invoiceId,
      { status: inv.status, paidCents: inv.paidCents },
      { status, paidCents: paid, paymentId, amountCents: input.amountCents, date: input.date, method: input.method ?? 'bank', overpayment });
    return { paymentId, status, overpayment };
  }

  async forInvoice(invoiceId: number): Promise<Payment[]> {
    return paymentsOfInvoice(this.d.db, invoiceId);
  }

  /** Payments for the invoices of a year, by date; the export is audited. */
  async exportYear(actor: Actor, year: number): Promise<(Payment & { invoiceNumber: string; memberNumber: number; memberName: string })[]> {
    const rows = await paymentsOfYear(this.d.db, year);
    await this.d.audit.record(this.d.db, actor, 'payments.exported', 'payment', null, undefined, { year, rows: rows.length });
    return rows;
  }
}
