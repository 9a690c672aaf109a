import type { Knex } from 'knex';
import { berlinDate, iso, type Clock } from '../clock.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { isUniqueViolation } from '../db/errors.ts';
import type { Invoice, InvoiceStatus } from './invoice.ts';
import { getInvoice, invoicesOfOrganisation, updateInvoice } from './invoices.repository.ts';
import {
  getPayment, insertPayment, latestCreditOut, openCreditOfOrganisation, paymentByStripeRef, paymentsOfInvoice, paymentsOfOrganisation, paymentsOfYear,
  reversalOf, type NewPaymentRow, type Payment,
} from './payments.repository.ts';

export type { Payment };

export interface PaymentInput {
  date: string; // YYYY-MM-DD
  amountCents: number;
  reference: string;
  method?: 'bank' | 'stripe';
  stripeRef?: string | null;
}

/**
 * The bound on what may be booked against an invoice by hand: the paid sum may reach at most
 * twice the invoice's amount (a member who paid twice). More is a typing error (12.000,00 €
 * for 1.200,00 €) and is refused before it reaches the books. Stripe payments are not bounded:
 * money that came in is recorded.
 */
export const MAX_PAID_FACTOR = 2;

/** The status an invoice has after payments: paid when covered, partially paid when something came in. */
export function statusAfterPayment(amountCents: number, paidCents: number): InvoiceStatus {
  if (paidCents >= amountCents) return 'paid';
  if (paidCents > 0) return 'partially_paid';
  return 'open';
}

/** The states whose status follows the paid sum (cancelled and void stay as they are). */
const SETTLES: InvoiceStatus[] = ['open', 'partially_paid', 'paid', 'uncollectible'];

function statusAfter(inv: Invoice, paid: number): InvoiceStatus {
  if (!SETTLES.includes(inv.status)) return inv.status;
  if (inv.status === 'uncollectible' && paid < inv.amountCents) return 'uncollectible';
  return statusAfterPayment(inv.amountCents, paid);
}

/** What the SEPA module hears of a payment: see PaymentsService.onPaymentArrived. */
export type PaymentArrived = (trx: Knex.Transaction, actor: Actor, invoiceId: number, p: { paymentId: number; method: 'bank' | 'stripe' | 'credit'; amountCents: number }) => Promise<void>;

export interface CorrectionInput {
  date: string;
  amountCents: number;
  reason: string;
}

/** Incoming payments against invoices: bank transfers entered by the treasurer, Stripe payments, and their corrections. */
export class PaymentsService {
  /** h/stripe: brings a Stripe-backed invoice in line after a booking Stripe did not see (set by the composition root). */
  private stripeSide?: (invoiceId: number) => Promise<void>;

  /** Told of every money that arrived on an invoice, inside the booking's transaction (set by the composition root). */
  private arrived?: PaymentArrived;

  constructor(private d: { db: Knex; clock: Clock; audit: AuditService }) {}

  /**
   * Called inside the booking's transaction after every payment or carried credit that raised
   * an invoice's paid sum, except the booking of a collected direct debit itself (SEPA: a
   * pending debit that this payment made unnecessary is taken out of its collection, lowered,
   * or flagged for recall at the bank). It may throw: then the booking is not made either.
   */
  onPaymentArrived(fn: PaymentArrived): void {
    this.arrived = fn;
  }

  /**
   * h/stripe: called after every bank booking, reversal and carried credit has committed, with
   * the invoice's id (StripeSyncService.syncBankSideQuietly: marks it paid out of band, lowers
   * or closes it at Stripe). It never fails the booking: the local booking stands, reconcile
   * repairs the Stripe side when Stripe was unreachable.
   */
  onBankBooking(fn: (invoiceId: number) => Promise<void>): void {
    this.stripeSide = fn;
  }

  private async syncStripe(...invoiceIds: (number | null | undefined)[]): Promise<void> {
    if (!this.stripeSide) return;
    for (const id of new Set(invoiceIds)) {
      if (id) await this.stripeSide(id).catch(() => undefined);
    }
  }

  /**
   * h/bank2: brings the Stripe side of an invoice in line after a booking the caller made in its
   * own transaction (a collected or returned direct debit), awaited, never failing.
   */
  async syncStripeAfterBooking(invoiceId: number): Promise<void> {
    await this.syncStripe(invoiceId);
  }

  private today(): string {
    return berlinDate(this.d.clock.now());
  }

  /** Records a bank transfer (the treasurer's form): not dated in the future, the paid sum at most twice the amount. */
  async record(actor: Actor, invoiceId: number, input: PaymentInput): Promise<{ paymentId: number; status: InvoiceStatus; overpayment: boolean }> {
    if (input.date > this.today()) throw new ValidationError({ date: 'money.errors.future' });
    const r = await this.d.db.transaction(async (trx) => {
      const inv = await getInvoice(trx, invoiceId);
      if (inv && inv.kind === 'invoice' && inv.paidCents + input.amountCents > MAX_PAID_FACTOR * inv.amountCents) {
        throw new ValidationError({ amount: 'money.errors.tooHigh' });
      }
      return this.recordInTrx(trx, actor, invoiceId, input, { stripeAfterCommit: false });
    });
    if ((input.method ?? 'bank') !== 'stripe') await this.syncStripe(invoiceId); // h/stripe: the pay link dies
    return r;
  }

  /**
   * Records a payment inside the caller's transaction (also used by the Stripe webhook with
   * method 'stripe' and the charge id as stripeRef, unique, so an event handled twice records
   * one payment). A payment that makes the paid sum exceed the amount is flagged as overpayment.
   * h/stripe: a bank payment booked here brings the Stripe invoice in line once the caller's
   * transaction has committed (`opts.stripeAfterCommit`, default true; record() does it itself).
   */
  async recordInTrx(trx: Knex.Transaction, actor: Actor, invoiceId: number, input: PaymentInput, opts: { stripeAfterCommit?: boolean; collectedDebit?: boolean } = {}): Promise<{ paymentId: number; status: InvoiceStatus; overpayment: boolean }> {
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
    if ((input.method ?? 'bank') !== 'stripe' && opts.stripeAfterCommit !== false && this.stripeSide) {
      // why: knex's transaction promise settles after commit (or rollback, then nothing is synced)
      void trx.executionPromise?.then(() => this.syncStripe(invoiceId), () => undefined);
    }
    await this.d.audit.record(trx, actor, 'payment.recorded', 'invoice', invoiceId,
      { status: inv.status, paidCents: inv.paidCents },
      { status, paidCents: paid, paymentId, amountCents: input.amountCents, date: input.date, method: input.method ?? 'bank', overpayment });
    if (this.arrived && !opts.collectedDebit) await this.arrived(trx, actor, invoiceId, { paymentId, method: input.method ?? 'bank', amountCents: input.amountCents });
    return { paymentId, status, overpayment };
  }

  /** Books a correction row on an invoice and moves its paid sum and status; audited. */
  private async book(trx: Knex.Transaction, actor: Actor, inv: Invoice, row: Omit<NewPaymentRow, 'invoice_id' | 'created_by' | 'created_at' | 'stripe_ref' | 'overpayment'>, action: string): Promise<{ paymentId: number; status: InvoiceStatus; paidCents: number }> {
    const now = iso(this.d.clock.now());
    const paymentId = await insertPayment(trx, { ...row, invoice_id: inv.id, stripe_ref: null, overpayment: false, created_by: actor.userId, created_at: now });
    const paid = inv.paidCents + row.amount_cents;
    const status = statusAfter(inv, paid);
    await updateInvoice(trx, inv.id, { paid_cents: paid, status, updated_at: now });
    await this.d.audit.record(trx, actor, action, 'invoice', inv.id, { status: inv.status, paidCents: inv.paidCents },
      { status, paidCents: paid, paymentId, kind: row.kind, amountCents: row.amount_cents, date: row.date, reason: row.reason ?? '', reversesPaymentId: row.reverses_payment_id ?? null });
    if (this.arrived && row.amount_cents > 0) await this.arrived(trx, actor, inv.id, { paymentId, method: row.kind === 'credit_in' ? 'credit' : row.method === 'stripe' ? 'stripe' : 'bank', amountCents: row.amount_cents });
    return { paymentId, status, paidCents: paid };
  }

  private checkDate(date: string, notBefore?: string): void {
    if (date > this.today()) throw new ValidationError({ date: 'money.errors.future' });
    if (notBefore && date < notBefore) throw new ValidationError({ date: 'money.errors.beforePayment' });
  }

  /**
   * Reverses a payment booked wrongly by a counter-booking of its own (negative, linked to it,
   * with the reason); the payment itself stays. At most the payment's amount, at most what the
   * invoice still holds as paid, once per payment. A Stripe payment is corrected by a refund
   * in Stripe (which books itself here), never by hand.
   */
  async reverse(actor: Actor, paymentId: number, input: CorrectionInput): Promise<{ reversalId: number; status: InvoiceStatus; paidCents: number }> {
    const r = await this.reverseInOwnTrx(actor, paymentId, input);
    await this.syncStripe((await getPayment(this.d.db, paymentId))?.invoiceId); // h/stripe: Stripe closed, the rest collected by bank
    return r;
  }

  private async reverseInOwnTrx(actor: Actor, paymentId: number, input: CorrectionInput): Promise<{ reversalId: number; status: InvoiceStatus; paidCents: number }> {
    try {
      return await this.d.db.transaction(async (trx) => this.reverseInTrx(trx, actor, paymentId, input));
    } catch (err) {
      if (isUniqueViolation(err)) throw new ValidationError({ amount: 'money.errors.already' });
      throw err;
    }
  }

  /** h/sepa: reverse() inside the caller's transaction (a returned direct debit reopens its invoice together with the return's own rows). */
  async reverseInTrx(trx: Knex.Transaction, actor: Actor, paymentId: number, input: CorrectionInput): Promise<{ reversalId: number; status: InvoiceStatus; paidCents: number }> {
    const p = await getPayment(trx, paymentId);
    if (!p) throw new NotFoundError();
    if (p.kind !== 'payment' || p.amountCents <= 0) throw new ConflictError('not_reversible');
    if (p.method === 'stripe') throw new ConflictError('stripe_payment');
    if (await reversalOf(trx, p.id)) throw new ValidationError({ amount: 'money.errors.already' });
    const inv = await getInvoice(trx, p.invoiceId);
    if (!inv) throw new NotFoundError();
    if (!Number.isSafeInteger(input.amountCents) || input.amountCents <= 0) throw new ValidationError({ amount: 'common.validation.money' });
    if (input.amountCents > p.amountCents) throw new ValidationError({ amount: 'money.errors.moreThanPaid' });
    if (input.amountCents > inv.paidCents) throw new ValidationError({ amount: 'money.errors.moreThanHeld' });
    this.checkDate(input.date, p.date);
    const r = await this.book(trx, actor, inv, {
      date: input.date, amount_cents: -input.amountCents, method: p.method, kind: 'reversal', reverses_payment_id: p.id,
      reference: `Storno ${p.reference || inv.number}`, reason: input.reason,
    }, 'payment.reversed');
    return { reversalId: r.paymentId, status: r.status, paidCents: r.paidCents };
  }

  /** What was paid beyond the invoice's amount (0 when nothing). */
  private excess(inv: Invoice): number {
    return inv.kind === 'invoice' && SETTLES.includes(inv.status) ? Math.max(0, inv.paidCents - inv.amountCents) : 0;
  }

  /** Records that overpaid money was paid back to the member (a refund booking, negative); at most the overpaid part. */
  async refund(actor: Actor, invoiceId: number, input: CorrectionInput): Promise<{ paymentId: number }> {
    return this.d.db.transaction(async (trx) => {
      const inv = await getInvoice(trx, invoiceId);
      if (!inv) throw new NotFoundError();
      const excess = this.excess(inv);
      if (excess <= 0) throw new ValidationError({ amount: 'money.errors.noExcess' });
      if (!Number.isSafeInteger(input.amountCents) || input.amountCents <= 0) throw new ValidationError({ amount: 'common.validation.money' });
      if (input.amountCents > excess) throw new ValidationError({ amount: 'money.errors.moreThanExcess' });
      this.checkDate(input.date);
      const r = await this.book(trx, actor, inv, {
        date: input.date, amount_cents: -input.amountCents, method: 'bank', kind: 'refund', reference: `Erstattung ${inv.number}`, reason: input.reason,
      }, 'payment.refunded');
      return { paymentId: r.paymentId };
    });
  }

  /**
   * Carries the overpaid part of an invoice over as a credit: taken off this invoice
   * (credit_out) and put onto the member's next open invoice (credit_in) at once, or, when
   * there is none yet, onto the next invoice issued (see applyOpenCredit).
   */
  async carryCredit(actor: Actor, invoiceId: number, input: { reason: string }): Promise<{ creditCents: number; appliedTo: string | null }> {
    const r = await this.carryCreditInTrx(actor, invoiceId, input);
    if (r.appliedToId) await this.syncStripe(r.appliedToId); // h/stripe: the credit paid (part of) the next invoice
    return { creditCents: r.creditCents, appliedTo: r.appliedTo };
  }

  private async carryCreditInTrx(actor: Actor, invoiceId: number, input: { reason: string }): Promise<{ creditCents: number; appliedTo: string | null; appliedToId: number | null }> {
    return this.d.db.transaction(async (trx) => {
      const inv = await getInvoice(trx, invoiceId);
      if (!inv) throw new NotFoundError();
      const excess = this.excess(inv);
      if (excess <= 0) throw new ValidationError({ reason: 'money.errors.noExcess' });
      await this.book(trx, actor, inv, {
        date: this.today(), amount_cents: -excess, method: 'bank', kind: 'credit_out', reference: `Guthaben aus ${inv.number}`, reason: input.reason,
      }, 'payment.credit_carried');
      const next = (await invoicesOfOrganisation(trx, inv.organisationId))
        .filter((i) => i.id !== inv.id && i.kind === 'invoice' && i.openCents > 0)
        .sort((a, b) => (a.issueDate + a.number).localeCompare(b.issueDate + b.number))[0];
      const applied = next ? await this.applyOpenCredit(trx, actor, next.id) : 0;
      return { creditCents: excess, appliedTo: applied > 0 && next ? next.number : null, appliedToId: applied > 0 && next ? next.id : null };
    });
  }

  /** Puts the organisation's open credit (carried over from an overpaid invoice) onto an invoice, up to its open amount; returns the cents applied. */
  async applyOpenCredit(trx: Knex.Transaction, actor: Actor, invoiceId: number): Promise<number> {
    const inv = await getInvoice(trx, invoiceId);
    if (!inv || inv.openCents <= 0) return 0;
    const credit = await openCreditOfOrganisation(trx, inv.organisationId);
    const cents = Math.min(credit, inv.openCents);
    if (cents <= 0) return 0;
    const source = await latestCreditOut(trx, inv.organisationId);
    await this.book(trx, actor, inv, {
      date: this.today(), amount_cents: cents, method: 'bank', kind: 'credit_in', credit_from_payment_id: source ?? null, reference: 'Guthaben', reason: '',
    }, 'payment.credit_applied');
    return cents;
  }

  /** The credit an organisation has that no invoice took yet. */
  async openCredit(organisationId: number): Promise<number> {
    return openCreditOfOrganisation(this.d.db, organisationId);
  }

  async get(paymentId: number): Promise<Payment> {
    const p = await getPayment(this.d.db, paymentId);
    if (!p) throw new NotFoundError();
    return p;
  }

  /** The invoice page's rows: which payment can still be reversed (a bank payment not reversed yet) and which is reversed. */
  withFlags(payments: Payment[]): (Payment & { reversible: boolean; reversed: boolean })[] {
    const reversed = new Set(payments.filter((p) => p.reversesPaymentId != null).map((p) => p.reversesPaymentId));
    return payments.map((p) => ({
      ...p, reversed: reversed.has(p.id), reversible: p.kind === 'payment' && p.method === 'bank' && p.amountCents > 0 && !reversed.has(p.id),
    }));
  }

  async forInvoice(invoiceId: number): Promise<Payment[]> {
    return paymentsOfInvoice(this.d.db, invoiceId);
  }

  /** Every booking on an organisation's invoices, newest first (the board's member page). */
  async forOrganisation(organisationId: number): Promise<(Payment & { invoiceNumber: string })[]> {
    return paymentsOfOrganisation(this.d.db, organisationId);
  }

  /** Payments for the invoices of a year, by date; the export is audited. */
  async exportYear(actor: Actor, year: number): Promise<(Payment & { invoiceNumber: string; memberNumber: number; memberName: string })[]> {
    const rows = await paymentsOfYear(this.d.db, year);
    await this.d.audit.record(this.d.db, actor, 'payments.exported', 'payment', null, undefined, { year, rows: rows.length });
    return rows;
  }
}
