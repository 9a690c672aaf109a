import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { berlinDate, iso, ZONE, type Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import type { Outbox } from '../mail/outbox.service.ts';
import type { SettingsService } from '../settings/settings.service.ts';
import { NotFoundError } from '../errors.ts';
import { formatDate, formatMemberNumber, formatMoney } from '../i18n/format.ts';
import { tFor, type Locale } from '../i18n/i18n.ts';
import { GatewayError, type GatewayCustomerInput, type GatewayEvent, type GatewayInvoice, type PaymentGateway } from '../stripe/gateway.ts';
import { statusAfterPayment, type PaymentsService } from './payments.service.ts';
import type { Invoice, InvoiceStatus } from './invoice.ts';
import { getInvoice, getInvoiceByStripeId, linkStripeInvoice, stripeBackedInvoices, updateInvoice, NO_REMINDER_DISPUTES } from './invoices.repository.ts';
import { insertPayment, paymentByStripeRef, refundsRecorded } from './payments.repository.ts';
import { customerIdOf, customerOf, eventProcessedAt, insertCustomer, recordEvent, setCustomerHash, updateEvent } from './stripe.repository.ts';
import crypto from 'node:crypto';
import { greeting } from '../mail/greeting.ts';

/**
 * Our invoices on Stripe: pushing an issued invoice (customer + finalized invoice with the
 * hosted payment page), cancelling it there (void or credit note), reconciling missed
 * events, and applying webhook events. Every decision is taken from the Stripe invoice's
 * current state, fetched when it matters, never from the order in which events arrive;
 * every change is idempotent (a Stripe payment is one `payments` row, unique by
 * `stripe_ref`), so replays, retries and a resumed run change nothing twice.
 */

export const STRIPE_ACTOR: Actor = { userId: null, label: 'stripe' };

/** What this service needs. With the disabled gateway (Stripe off) pushing, cancelling and reconciling do nothing. */
export interface StripeSyncDeps {
  db: Knex;
  clock: Clock;
  log: Logger;
  audit: AuditService;
  outbox: Outbox;
  settings: SettingsService;
  gateway: PaymentGateway;
  payments: PaymentsService;
}

/** The answer a webhook delivery should get. */
export class RetryLaterError extends Error {}

export interface ReconcileResult {
  checked: number;
  changed: number;
  failed: number;
  /** h/stripe: what was changed or found, per invoice, as message keys (stripesync.reconcile.*) with the invoice number. */
  changes?: { invoiceId: number; number: string; what: string }[];
}

/** h/stripe: the dispute states in which the money is still contested (Stripe's dispute.status). */
export const OPEN_DISPUTE_STATES = NO_REMINDER_DISPUTES;

const SETTLEABLE: InvoiceStatus[] = ['open', 'partially_paid', 'paid', 'uncollectible'];

/**
 * Built once by the composition root, with Stripe on or off: with the disabled gateway
 * (`enabled` false) pushing, cancelling and reconciling return at once, and the webhook route
 * answers 404 before it gets here; so the dues service always has one and asks `enabled`.
 */
export class StripeSyncService {
  private installation?: string;

  constructor(private readonly d: StripeSyncDeps) {}

  private get gateway(): PaymentGateway {
    return this.d.gateway;
  }

  /** Whether Stripe is on (STRIPE_SECRET_KEY set). */
  get enabled(): boolean {
    return this.d.gateway.enabled;
  }

  /** A random id kept in settings, written into each Stripe invoice's metadata, so events of another installation on the same Stripe account are told apart. */
  async installationId(): Promise<string> {
    this.installation ??= await this.d.settings.installationId();
    return this.installation;
  }

  // ---- pushing ------------------------------------------------------------------------

  /**
   * Creates the Stripe invoice for one of our invoices: the organisation's customer first if
   * there is none (key `customer-org-<id>`), then the finalized invoice (keys
   * `invoice-<number>-create|item|finalize`), and stores its id and hosted URL. 3 Stripe calls,
   * 4 for a new customer; none when already pushed. Safe to call again after a crash at any
   * point: the same keys return the same objects. A no-op with Stripe off, for cancellation
   * invoices and for invoices that no longer ask for money.
   */
  async pushInvoice(localInvoiceId: number): Promise<void> {
    if (!this.gateway.enabled) return;
    const inv = await getInvoice(this.d.db, localInvoiceId);
    if (!inv) throw new NotFoundError('invoice_not_found');
    if (inv.stripeInvoiceId) return;
    if (inv.kind !== 'invoice' || inv.amountCents <= 0 || !['open', 'partially_paid'].includes(inv.status)) return;
    try {
      await this.pushOnce(inv);
      if (inv.pushError) await updateInvoice(this.d.db, inv.id, { push_error: null, push_error_permanent: false, updated_at: iso(this.d.clock.now()) });
    } catch (e) {
      // h/stripe: Stripe's own message kept on the invoice for the run page; retryable or not
      const message = (e instanceof Error ? e.message : String(e)).slice(0, 1000);
      const permanent = e instanceof GatewayError && !e.retryable;
      await updateInvoice(this.d.db, inv.id, { push_error: message, push_error_permanent: permanent, updated_at: iso(this.d.clock.now()) }).catch(() => undefined);
      throw e;
    }
  }

  /** h/stripe: the prefix of every idempotency key, so two installations on one Stripe account never share one. */
  private async keyOf(key: string): Promise<string> {
    return `${await this.installationId()}-${key}`;
  }

  private async pushOnce(inv: Invoice): Promise<void> {
    const installationId = await this.installationId();
    // A second attempt (an earlier one failed or crashed): what Stripe already has is found
    // by our metadata first, so a key Stripe forgot (after 24 h) makes no second invoice.
    const retry = inv.pushError !== null || inv.stripeState === 'pushing';
    if (!retry) await updateInvoice(this.d.db, inv.id, { stripe_state: 'pushing', updated_at: iso(this.d.clock.now()) });
    const customerId = await this.ensureCustomer(inv, retry);
    const locale: Locale = inv.locale;
    const period = `${formatDate(inv.periodStart, locale)}–${formatDate(inv.periodEnd, locale)}`;
    const days = Math.max(0, Math.round(DateTime.fromISO(inv.dueDate, { zone: ZONE }).diff(DateTime.fromISO(inv.issueDate, { zone: ZONE }), 'days').days));
    const found = retry ? await this.gateway.findInvoice(installationId, inv.id) : null;
    const created = found && found.status !== 'void' ? (found.status === 'draft' ? null : found) : null;
    const methods = await this.d.settings.stripePaymentMethods();
    const invoice = created ?? await this.gateway.createFinalizedInvoice(
      {
        customerId,
        localInvoiceId: inv.id,
        number: inv.number,
        amountCents: inv.amountCents,
        currency: 'eur',
        description: `${inv.description} (${period})`.slice(0, 500),
        daysUntilDue: days,
        dueDate: inv.dueDate,
        paymentMethods: methods,
        metadata: {
          local_invoice_id: String(inv.id),
          invoice_number: inv.number,
          installation_id: installationId,
          organisation_id: String(inv.organisationId),
          member_number: formatMemberNumber(inv.memberNumber),
        },
      },
      await this.keyOf(`invoice-${inv.number}`),
    );
    // h/stripe: the finalize check: Stripe's total must be ours, and there must be a page to pay on
    const problem = invoice.totalCents !== inv.amountCents ? 'amount_mismatch' : !invoice.hostedInvoiceUrl && invoice.status === 'open' ? 'no_hosted_page' : null;

    await this.d.db.transaction(async (trx) => {
      const now = iso(this.d.clock.now());
      const linked = await linkStripeInvoice(trx, inv.id, {
        stripe_invoice_id: invoice.id,
        hosted_invoice_url: invoice.hostedInvoiceUrl,
        stripe_customer_id: customerId,
        stripe_state: invoice.status,
        stripe_amount_cents: invoice.totalCents,
        stripe_problem: problem,
        stripe_payment_methods: methods.join(','), // h/money2: what the page offers, for the PDF, e-mail and portal
        updated_at: now,
      });
      if (linked) {
        await this.d.audit.record(trx, STRIPE_ACTOR, 'invoice.stripe_created', 'invoice', inv.id, undefined, {
          stripeInvoiceId: invoice.id, status: invoice.status, ...(problem ? { problem, stripeAmountCents: invoice.totalCents } : {}),
        });
      }
    });
    // Finalizing can settle it at once (a credit balance from an earlier credit note).
    if (invoice.status !== 'open') await this.applyCurrentState(inv.id, invoice, 'push');
    else if (inv.paidCents > 0) await this.syncBankSide(inv.id); // a credit carried onto it at issue
    if (problem) {
      // the e-mail is held back: the treasurer sees the problem on the invoice and the run page
      throw new GatewayError(problem === 'amount_mismatch'
        ? `Stripe: the finalized amount ${invoice.totalCents} differs from ours ${inv.amountCents}`
        : 'Stripe: the finalized invoice has no hosted payment page', false);
    }
  }

  /** h/stripe: the customer's data from the invoice's recipient snapshot (what it was issued to). */
  private customerInput(inv: Invoice, installationId: string): GatewayCustomerInput {
    return {
      organisationId: inv.organisationId,
      memberNumber: formatMemberNumber(inv.memberNumber),
      name: inv.recipient.name,
      email: inv.contactEmail,
      address: { line1: inv.recipient.street, postalCode: inv.recipient.postcode, city: inv.recipient.city, country: inv.recipient.country || 'DE' },
      vatId: inv.recipient.vatId || undefined,
      locale: inv.locale,
      installationId,
    };
  }

  static hashOf(c: GatewayCustomerInput): string {
    return crypto.createHash('sha256').update(JSON.stringify([c.name, c.email, c.address, c.vatId ?? '', c.locale])).digest('hex');
  }

  private async ensureCustomer(inv: Invoice, retry = false): Promise<string> {
    const orgId = inv.organisationId;
    const installationId = await this.installationId();
    const input = this.customerInput(inv, installationId);
    const hash = StripeSyncService.hashOf(input);
    const existing = await customerOf(this.d.db, orgId);
    if (existing) {
      // h/stripe: the member's name, address, billing e-mail, VAT ID or language changed since: the customer is updated first
      if (existing.syncedHash !== hash) {
        if (existing.syncedHash !== null) await this.gateway.updateCustomer(existing.customerId, input);
        await setCustomerHash(this.d.db, orgId, hash);
      }
      return existing.customerId;
    }
    // h/stripe: on a second attempt the customer this installation made is looked up by metadata first
    const found = retry ? await this.gateway.findCustomer(installationId, orgId) : null;
    // From the invoice's recipient snapshot, so a repeat after a crash sends the same parameters.
    const { customerId } = found ? { customerId: found } : await this.gateway.createCustomer(input, await this.keyOf(`customer-org-${orgId}`));
    try {
      await insertCustomer(this.d.db, { organisation_id: orgId, customer_id: customerId, created_at: iso(this.d.clock.now()), synced_hash: hash });
    } catch (e) {
      const again = await customerIdOf(this.d.db, orgId);
      if (!again) throw e;
      return again;
    }
    return customerId;
  }

  // ---- cancelling ---------------------------------------------------------------------

  /**
   * After a Stornorechnung: voids the Stripe invoice if nothing was paid on it, or issues a
   * credit note over what was paid (to the customer's Stripe balance). Decided from the
   * Stripe invoice's current state; repeatable.
   */
  async cancelOnStripe(localInvoiceId: number): Promise<void> {
    if (!this.gateway.enabled) return;
    const inv = await getInvoice(this.d.db, localInvoiceId);
    if (!inv) throw new NotFoundError('invoice_not_found');
    if (!inv.stripeInvoiceId) return;
    const current = await this.gateway.getInvoice(inv.stripeInvoiceId);
    let state: string | null = null;
    let detail: Record<string, unknown> = {};
    if (current.status === 'open' || current.status === 'uncollectible') {
      const voided = await this.gateway.voidInvoice(current.id, await this.keyOf(`invoice-${inv.number}-void`));
      state = voided.status;
    } else if (current.status === 'paid' && current.amountPaidCents > 0) {
      let reason = `Storno ${inv.number}`;
      if (inv.cancelledByInvoiceId) {
        const c = await getInvoice(this.d.db, inv.cancelledByInvoiceId);
        if (c) reason = `Stornorechnung ${c.number} zu ${inv.number}`;
      }
      const { creditNoteId } = await this.gateway.creditInvoice(current.id, current.amountPaidCents, reason, await this.keyOf(`invoice-${inv.number}-credit`));
      state = 'credited';
      detail = { creditNoteId, amountCents: current.amountPaidCents };
    } else if (current.status === 'void') {
      state = 'void';
    }
    if (!state || state === inv.stripeState) return;
    await this.d.db.transaction(async (trx) => {
      await updateInvoice(trx, inv.id, { stripe_state: state, updated_at: iso(this.d.clock.now()) });
      await this.d.audit.record(trx, STRIPE_ACTOR, 'invoice.stripe_cancelled', 'invoice', inv.id, { stripeState: inv.stripeState }, { stripeState: state, ...detail });
    });
  }

  // ---- h/stripe: bank bookings on Stripe-backed invoices ---------------------------------

  /**
   * After a booking here that Stripe did not see (a bank transfer, its reversal, a carried
   * credit): brings the Stripe invoice in line so its page never takes money a second time.
   * - paid here in full, open there → marked paid out of band (`POST /v1/invoices/:id/pay`);
   * - partly paid here, Stripe asks for more than is open → lowered by a pre-payment credit note;
   * - a reversal reopened more than Stripe still asks → Stripe cannot reopen a paid invoice nor
   *   raise an open one: it is closed (voided if open) and the rest is collected by bank transfer
   *   (stripe_state `closed_bank`; the invoice page and the reminders say so, no pay link).
   * Returns a word for what it did (null: nothing). Repeatable: every step checks Stripe's
   * current state first and carries an idempotency key from the target state.
   */
  async syncBankSide(localInvoiceId: number): Promise<string | null> {
    if (!this.gateway.enabled) return null;
    const inv = await getInvoice(this.d.db, localInvoiceId);
    if (!inv || !inv.stripeInvoiceId || inv.kind !== 'invoice' || inv.status === 'cancelled' || inv.status === 'void') return null;
    const current = await this.gateway.getInvoice(inv.stripeInvoiceId);
    const stripeCash = current.amountPaidCents - current.outOfBandCents;
    let what: string | null = null;
    let state = inv.stripeState;
    let detail: Record<string, unknown> = {};
    if (current.status === 'open') {
      const localOpen = Math.max(0, inv.amountCents - inv.paidCents);
      if (localOpen === 0) {
        const paid = await this.gateway.payOutOfBand(current.id, await this.keyOf(`invoice-${inv.number}-paid-out-of-band`));
        state = paid.status === 'paid' ? 'paid_out_of_band' : paid.status;
        what = 'markedPaid';
      } else if (current.amountRemainingCents > localOpen) {
        const by = current.amountRemainingCents - localOpen;
        const { creditNoteId } = await this.gateway.reduceOpenInvoice(current.id, by,
          `Überweisung erhalten zu ${inv.number}`, await this.keyOf(`invoice-${inv.number}-reduce-${current.prePaymentCreditCents + by}`));
        what = 'reduced';
        detail = { creditNoteId, reducedByCents: by };
        if (state !== 'debit') state = 'open'; // h/debit: still collected by the association's debit: the link stays withdrawn
      } else if (current.amountRemainingCents < localOpen) {
        await this.gateway.voidInvoice(current.id, await this.keyOf(`invoice-${inv.number}-void-reopened`));
        state = 'closed_bank';
        what = 'closedBank';
      }
    } else if (current.status === 'paid' && stripeCash === 0 && inv.paidCents < inv.amountCents && state !== 'closed_bank') {
      // marked paid out of band and the bank payment reversed since: Stripe cannot reopen it
      state = 'closed_bank';
      what = 'closedBank';
    } else if (current.status === 'void' && (state === 'debit' || state === 'debit_closed')) {
      state = 'debit_closed'; // h/debit: closed for the association's debit, which collects it
    } else if (current.status === 'void' && state !== 'closed_bank' && state !== 'void' && state !== 'credited') {
      state = 'void';
    }
    if (state === inv.stripeState && !what) return null;
    await this.d.db.transaction(async (trx) => {
      await updateInvoice(trx, inv.id, { stripe_state: state, updated_at: iso(this.d.clock.now()) });
      await this.d.audit.record(trx, STRIPE_ACTOR, 'invoice.stripe_bank_synced', 'invoice', inv.id, { stripeState: inv.stripeState }, { stripeState: state, action: what, ...detail });
    });
    return what ?? 'state';
  }

  /**
   * h/debit: the association's direct debit now collects this invoice (stripe_state `debit`):
   * the Stripe invoice is voided, so that a pay link mailed before the run takes no card payment
   * beside the debit (stripe_state `debit_closed`; after a return the invoice is paid by transfer,
   * `closed_bank`). A payment under way at Stripe (a SEPA debit processing) is left to finish;
   * one Stripe took meanwhile is booked here, which takes the debit out of its collection or
   * flags it for recall (SepaService.paymentArrived). Returns 'closed', 'paid' or null.
   * Repeatable: the void carries an idempotency key, and every step checks Stripe's state first.
   */
  async closeForDebit(localInvoiceId: number): Promise<'closed' | 'paid' | null> {
    if (!this.gateway.enabled) return null;
    const inv = await getInvoice(this.d.db, localInvoiceId);
    if (!inv || !inv.stripeInvoiceId || inv.stripeState !== 'debit') return null;
    let current = await this.gateway.getInvoice(inv.stripeInvoiceId);
    if (current.status === 'paid') {
      await this.applyCurrentState(inv.id, current, 'invoice.paid');
      return 'paid';
    }
    if (current.status === 'open' && !current.attemptInProgress) current = await this.gateway.voidInvoice(current.id, await this.keyOf(`invoice-${inv.number}-void-debit`));
    if (current.status !== 'void') return null;
    const done = await this.d.db.transaction(async (trx) => {
      const now = await getInvoice(trx, inv.id);
      if (now && ['open', 'payment_failed', 'action_required', 'processing'].includes(String(now.stripeState))) {
        // the debit ended while this voided (its link was offered again): the Stripe invoice is void now, the rest is paid by transfer
        await updateInvoice(trx, inv.id, { stripe_state: 'closed_bank', updated_at: iso(this.d.clock.now()) });
        await this.d.audit.record(trx, STRIPE_ACTOR, 'invoice.stripe_closed_bank', 'invoice', inv.id, { stripeState: now.stripeState }, { stripeState: 'closed_bank', stripeInvoiceId: current.id });
        return false;
      }
      if (!now || now.stripeState !== 'debit') return false; // the debit ended meanwhile: that step decided
      await updateInvoice(trx, inv.id, { stripe_state: 'debit_closed', updated_at: iso(this.d.clock.now()) });
      await this.d.audit.record(trx, STRIPE_ACTOR, 'invoice.stripe_closed_for_debit', 'invoice', inv.id, { stripeState: 'debit' }, { stripeState: 'debit_closed', stripeInvoiceId: current.id });
      return true;
    });
    return done ? 'closed' : null;
  }

  /** syncBankSide without failing: the local booking stands; reconcile repairs the Stripe side later. */
  async syncBankSideQuietly(localInvoiceId: number): Promise<void> {
    try {
      await this.syncBankSide(localInvoiceId);
    } catch (e) {
      this.d.log.warn({ invoiceId: localInvoiceId, err: e instanceof Error ? e.message : String(e) }, 'stripe not updated after a bank booking; reconcile repairs it');
    }
  }

  // ---- reconciling --------------------------------------------------------------------

  /**
   * Compares every Stripe-backed invoice of ours with Stripe's current state and repairs what
   * differs (for missed webhooks, and for Stripe calls that failed after a booking here): applies
   * Stripe's state here, marks bank-paid invoices paid there, repeats a void or credit that did
   * not happen. Says per invoice what it changed.
   */
  async reconcile(opts: { onProgress?: (done: number, total: number) => void; concurrency?: number } = {}): Promise<ReconcileResult> {
    const result: ReconcileResult = { checked: 0, changed: 0, failed: 0, changes: [] };
    if (!this.gateway.enabled) return result;
    const rows = await stripeBackedInvoices(this.d.db);
    let next = 0;
    const worker = async () => {
      while (next < rows.length) {
        const r = rows[next++];
        try {
          const before = await getInvoice(this.d.db, r.id);
          const current = await this.gateway.getInvoice(r.stripeInvoiceId);
          let changed = await this.applyCurrentState(r.id, current, 'reconcile');
          if (r.status === 'cancelled') {
            await this.cancelOnStripe(r.id);
          } else {
            const did = await this.syncBankSide(r.id);
            if (did && did !== 'state') result.changes!.push({ invoiceId: r.id, number: r.number, what: did });
            changed ||= !!did;
            // h/debit: a Stripe invoice the run could not close (Stripe was down) is closed now
            if ((await getInvoice(this.d.db, r.id))?.stripeState === 'debit') changed = (await this.closeForDebit(r.id)) === 'closed' || changed;
          }
          const after = await getInvoice(this.d.db, r.id);
          if (before && after) {
            changed ||= after.stripeState !== before.stripeState;
            if (after.paidCents !== before.paidCents) result.changes!.push({ invoiceId: r.id, number: r.number, what: 'booked' });
            if (after.status !== before.status) result.changes!.push({ invoiceId: r.id, number: r.number, what: `status.${after.status}` });
            else if (after.stripeState !== before.stripeState) result.changes!.push({ invoiceId: r.id, number: r.number, what: `stripe.${after.stripeState ?? 'none'}` });
          }
          if (changed) result.changed++;
        } catch (e) {
          result.failed++;
          result.changes!.push({ invoiceId: r.id, number: r.number, what: 'failed' });
          this.d.log.warn({ invoiceId: r.id, err: e instanceof Error ? e.message : String(e) }, 'stripe reconcile failed for an invoice');
        }
        result.checked++;
        opts.onProgress?.(result.checked, rows.length);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, worker));
    result.changes!.sort((a, b) => a.number.localeCompare(b.number));
    return result;
  }

  // ---- applying Stripe's state ----------------------------------------------------------

  /**
   * Brings our invoice in line with the Stripe invoice's current state. Returns whether
   * anything changed. `hint` is the event type that prompted it (to tell a failed payment from
   * a plain open invoice); it never overrides the state itself.
   */
  async applyCurrentState(localInvoiceId: number, current: GatewayInvoice, hint: string): Promise<boolean> {
    let mail: { to: string; locale: Locale; number: string; url: string; amount: number; name: string } | undefined;
    const changed = await this.d.db.transaction(async (trx) => {
      const inv = await getInvoice(trx, localInvoiceId);
      if (!inv) throw new NotFoundError('invoice_not_found');
      const now = iso(this.d.clock.now());
      const before = { status: inv.status, paidCents: inv.paidCents, stripeState: inv.stripeState };
      let stripeState: string | null = inv.stripeState;
      let dirty = false;

      if (current.status === 'paid') {
        // a refund or credit note recorded later stays the more telling state
        const stripeCash = Math.max(0, current.amountPaidCents - current.outOfBandCents);
        if (!['refunded', 'partially_refunded', 'credited', 'closed_bank'].includes(String(stripeState))) {
          stripeState = stripeCash === 0 && current.outOfBandCents > 0 ? 'paid_out_of_band' : 'paid';
        }
        const payable = inv.kind === 'invoice' && inv.status !== 'cancelled' && inv.status !== 'void';
        const has = await paymentByStripeRef(trx, current.id);
        // only the money that came in through Stripe; what we marked paid out of band is our own bank booking
        if (!has && stripeCash > 0) {
          const reference = `Stripe ${current.number ?? current.id}`;
          if (payable) {
            await this.d.payments.recordInTrx(trx, STRIPE_ACTOR, inv.id, {
              date: berlinDate(this.d.clock.now()), amountCents: stripeCash, reference, method: 'stripe', stripeRef: current.id,
            });
          } else {
            // Paid after our Stornorechnung: the money came in all the same; recorded for the
            // treasurer (to refund), the invoice's status stays.
            await this.insertPayment(trx, inv, stripeCash, current.id, reference);
          }
          dirty = true;
        }
        // h/stripe: covered (in part) by the customer's Stripe credit balance (a credit note on an
        // earlier invoice): a settlement, not cash; without it the invoice would stay open and be dunned
        const fromBalance = Math.min(current.totalCents, Math.max(0, current.endingBalanceCents - current.startingBalanceCents));
        if (payable && fromBalance > 0 && !(await paymentByStripeRef(trx, `${current.id}:balance`))) {
          const fresh = await getInvoice(trx, inv.id);
          if (fresh) await this.insertPayment(trx, fresh, fromBalance, `${current.id}:balance`, `Stripe-Guthaben ${current.number ?? current.id}`, 'settlement');
          dirty = true;
        }
      } else if (current.status === 'open') {
        // h/debit: the association's debit collects it: the pay link stays withdrawn whatever Stripe reports of its open invoice
        if (stripeState === 'debit') { /* kept */ }
        else if (hint === 'invoice.payment_failed' && !current.attemptInProgress) stripeState = 'payment_failed';
        else if (hint === 'invoice.payment_action_required') stripeState = 'action_required';
        // h/stripe: a debit in progress (SEPA takes days): not dunned while it runs
        else if (current.attemptInProgress && stripeState !== 'action_required') stripeState = 'processing';
        // h/bank2: `debit`: the association's direct debit collects it, the pay link stays withdrawn
        else if (!['payment_failed', 'action_required', 'debit'].includes(String(stripeState))) stripeState = 'open';
      } else if (current.status === 'void') {
        // Voided on Stripe (by us after a Stornorechnung or a reversal, or by hand in the
        // Dashboard): the payment link is dead. Our invoice stays as it is: only a
        // Stornorechnung cancels it; voided in the Dashboard it is flagged and not dunned.
        // h/debit: voided while the association's debit collects it (by us, or by hand): the debit still does
        if (stripeState === 'debit' || stripeState === 'debit_closed') stripeState = 'debit_closed';
        else if (stripeState !== 'credited' && stripeState !== 'closed_bank') stripeState = 'void';
      } else if (current.status === 'uncollectible') {
        stripeState = 'uncollectible';
        if (inv.status === 'open' || inv.status === 'partially_paid') {
          await updateInvoice(trx, inv.id, { status: 'uncollectible', updated_at: now });
          dirty = true;
        }
      }
      if (stripeState !== inv.stripeState) {
        await updateInvoice(trx, inv.id, { stripe_state: stripeState, updated_at: now });
        dirty = true;
        if (stripeState === 'action_required' && inv.contactEmail && inv.hostedInvoiceUrl) {
          mail = {
            to: inv.contactEmail, locale: inv.locale, number: inv.number,
            url: inv.hostedInvoiceUrl, amount: inv.amountCents - inv.paidCents, name: inv.contactName,
          };
        }
      }
      if (!dirty) return false;
      const after = await this.stateOf(trx, inv.id);
      await this.d.audit.record(trx, STRIPE_ACTOR, `invoice.stripe_${hint.replace(/^invoice\./, '').replace(/[^a-z_]/g, '_')}`, 'invoice', inv.id, before, after);
      if (mail) {
        const association = await this.d.settings.association(trx);
        const t = tFor(mail.locale);
        await this.d.outbox.enqueue(trx, {
          template: 'invoice_payment_action_required',
          locale: mail.locale,
          to: mail.to,
          related: { type: 'invoice', id: inv.id },
          content: {
            subject: t('stripe.mail.actionRequired.subject', { number: mail.number }),
            greeting: greeting(t, mail.name),
            paragraphs: [t('stripe.mail.actionRequired.intro', { number: mail.number, amount: formatMoney(mail.amount, mail.locale) })],
            action: { label: t('stripe.mail.actionRequired.action'), url: mail.url },
            afterAction: [t('stripe.mail.actionRequired.after')],
            signature: association.name,
          },
        });
      }
      return true;
    });
    return changed;
  }

  /**
   * Inserts a payment the treasurer's PaymentsService does not take (a refund, negative; a
   * payment on a cancelled invoice) and updates the invoice's paid amount and status.
   */
  private async insertPayment(trx: Knex.Transaction, inv: Invoice, amountCents: number, stripeRef: string, reference: string, kind?: 'settlement' | 'refund'): Promise<void> {
    const now = iso(this.d.clock.now());
    const paid = inv.paidCents + amountCents;
    const amount = inv.amountCents;
    await insertPayment(trx, {
      invoice_id: inv.id,
      date: berlinDate(this.d.clock.now()),
      amount_cents: amountCents,
      method: 'stripe',
      reference: reference.slice(0, 300),
      stripe_ref: stripeRef,
      overpayment: amountCents > 0 && paid > amount,
      created_by: null,
      created_at: now,
      ...(kind ? { kind } : {}),
    });
    let status: InvoiceStatus = inv.status;
    if (SETTLEABLE.includes(status)) {
      status = status === 'uncollectible' && paid < amount ? 'uncollectible' : statusAfterPayment(amount, paid);
    } else {
      this.d.log.warn({ invoiceId: inv.id, status }, 'stripe payment on an invoice that is no longer open');
    }
    await updateInvoice(trx, inv.id, { paid_cents: paid, status, updated_at: now });
  }

  /** The invoice's payment state, for the audit entry after a change. */
  private async stateOf(trx: Knex.Transaction, id: number): Promise<{ status: InvoiceStatus; paidCents: number; stripeState: string | null }> {
    const inv = await getInvoice(trx, id);
    if (!inv) throw new NotFoundError('invoice_not_found');
    return { status: inv.status, paidCents: inv.paidCents, stripeState: inv.stripeState };
  }

  // ---- webhook events -----------------------------------------------------------------

  /**
   * Receives a verified event: stores it once by id, skips one already handled (a replay),
   * handles it and records the outcome. A failure is recorded on the event and rethrown, so
   * the webhook answers non-2xx and Stripe retries.
   */
  async receiveEvent(event: GatewayEvent): Promise<{ duplicate: true } | { duplicate: false; outcome: 'handled' | 'ignored' | 'not_ours' }> {
    await recordEvent(this.d.db, { event_id: event.id, type: event.type.slice(0, 100), received_at: iso(this.d.clock.now()) });
    if (await eventProcessedAt(this.d.db, event.id)) return { duplicate: true };
    try {
      const outcome = await this.handleEvent(event);
      await updateEvent(this.d.db, event.id, { processed_at: iso(this.d.clock.now()), error: outcome === 'handled' ? null : outcome });
      return { duplicate: false, outcome };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      await updateEvent(this.d.db, event.id, { error: message.slice(0, 2000) }).catch(() => undefined); // the database itself may be the problem
      throw e;
    }
  }

  /**
   * Handles one verified event. Throws RetryLaterError when it looks like ours but our side
   * is not ready (Stripe retries on non-2xx); other errors also mean "retry".
   * Returns a short word for the log: 'handled', 'ignored', 'not_ours'.
   */
  async handleEvent(event: GatewayEvent): Promise<'handled' | 'ignored' | 'not_ours'> {
    const obj = event.object;
    switch (event.type) {
      case 'invoice.paid':
      case 'invoice.payment_succeeded':
      case 'invoice.payment_failed':
      case 'invoice.payment_action_required':
      case 'invoice.voided':
      case 'invoice.marked_uncollectible':
      case 'invoice.finalized': {
        const local = await this.resolveInvoice(obj);
        if (local === null) return 'not_ours';
        const current = await this.gateway.getInvoice(String(obj.id));
        await this.applyCurrentState(local, current, event.type === 'invoice.payment_succeeded' ? 'invoice.paid' : event.type);
        return 'handled';
      }
      case 'charge.refunded':
        return this.chargeRefunded(obj);
      // h/stripe: a debit processing, succeeded or failed: the invoice's state from Stripe now
      case 'payment_intent.processing':
      case 'payment_intent.succeeded':
      case 'payment_intent.payment_failed':
      case 'payment_intent.canceled': {
        const gw = this.gateway;
        const piId = String(obj.id ?? '');
        const stripeInvoiceId = piId && gw.findInvoiceIdForPaymentIntent ? await gw.findInvoiceIdForPaymentIntent(piId) : null;
        const inv = stripeInvoiceId ? await getInvoiceByStripeId(this.d.db, stripeInvoiceId) : undefined;
        if (!inv || !stripeInvoiceId) return 'not_ours';
        await this.applyCurrentState(inv.id, await gw.getInvoice(stripeInvoiceId), event.type);
        return 'handled';
      }
      case 'charge.dispute.created':
      case 'charge.dispute.updated':
      case 'charge.dispute.closed':
      case 'charge.dispute.funds_withdrawn':
      case 'charge.dispute.funds_reinstated':
        return this.dispute(String(obj.id ?? ''));
      default:
        return 'ignored';
    }
  }

  /** Our invoice id for a Stripe invoice object, null if it is not ours; RetryLaterError if ours but not stored yet. */
  private async resolveInvoice(obj: Record<string, unknown>): Promise<number | null> {
    const stripeId = String(obj.id ?? '');
    if (!stripeId) return null;
    const byId = await getInvoiceByStripeId(this.d.db, stripeId);
    if (byId) return byId.id;
    // why: Stripe's metadata is a string → string map (we wrote it in pushInvoice)
    const md = (obj.metadata ?? {}) as Record<string, string>;
    if (!md.local_invoice_id || md.installation_id !== (await this.installationId())) return null;
    const local = await getInvoice(this.d.db, Number(md.local_invoice_id));
    if (!local) throw new RetryLaterError(`invoice ${md.local_invoice_id} not stored yet`);
    if (local.number !== md.invoice_number) {
      this.d.log.warn({ invoiceId: local.id, stripeInvoiceId: stripeId }, 'stripe invoice metadata names one of our invoices with another number');
      return null;
    }
    if (local.stripeInvoiceId) {
      this.d.log.warn({ invoiceId: local.id, stripeInvoiceId: stripeId }, 'a second Stripe invoice for one of ours');
      return null;
    }
    // The push created it on Stripe but crashed before storing the id: store it now.
    const customer = typeof obj.customer === 'string' ? obj.customer : null;
    await this.d.db.transaction(async (trx) => {
      const linked = await linkStripeInvoice(trx, local.id, {
        stripe_invoice_id: stripeId,
        hosted_invoice_url: typeof obj.hosted_invoice_url === 'string' ? obj.hosted_invoice_url : null,
        stripe_customer_id: customer,
        updated_at: iso(this.d.clock.now()),
      });
      if (linked) await this.d.audit.record(trx, STRIPE_ACTOR, 'invoice.stripe_linked', 'invoice', local.id, undefined, { stripeInvoiceId: stripeId });
    });
    return local.id;
  }

  /**
   * h/stripe: a dispute (chargeback) on an invoice's payment, from the dispute as it stands now
   * (so events in any order end in its last state): its status on the invoice (the dashboard
   * and the invoice page show it); lost, the contested money is booked back (negative, once),
   * which reopens the invoice.
   */
  private async dispute(disputeId: string): Promise<'handled' | 'not_ours'> {
    if (!disputeId) return 'not_ours';
    const gw = this.gateway;
    const d = await gw.getDispute(disputeId);
    const stripeInvoiceId = d.paymentIntentId && gw.findInvoiceIdForPaymentIntent ? await gw.findInvoiceIdForPaymentIntent(d.paymentIntentId) : null;
    const inv = stripeInvoiceId ? await getInvoiceByStripeId(this.d.db, stripeInvoiceId) : undefined;
    if (!inv) return 'not_ours';
    await this.d.db.transaction(async (trx) => {
      const fresh = await getInvoice(trx, inv.id);
      if (!fresh) throw new NotFoundError('invoice_not_found');
      const before = { status: fresh.status, paidCents: fresh.paidCents, stripeDispute: fresh.stripeDispute };
      let dirty = false;
      if (d.status === 'lost' && !(await paymentByStripeRef(trx, `${d.id}:lost`))) {
        await this.insertPayment(trx, fresh, -d.amountCents, `${d.id}:lost`, `Stripe-Rückbuchung ${fresh.number}`, 'refund');
        dirty = true;
      }
      if (fresh.stripeDispute !== d.status) {
        await updateInvoice(trx, inv.id, { stripe_dispute: d.status, updated_at: iso(this.d.clock.now()) });
        dirty = true;
      }
      if (!dirty) return;
      const after = await getInvoice(trx, inv.id);
      await this.d.audit.record(trx, STRIPE_ACTOR, 'invoice.stripe_dispute', 'invoice', inv.id, before,
        { status: after?.status, paidCents: after?.paidCents, stripeDispute: d.status, disputeId: d.id, amountCents: d.amountCents });
    });
    return 'handled';
  }

  private async chargeRefunded(charge: Record<string, unknown>): Promise<'handled' | 'not_ours'> {
    const chargeId = String(charge.id ?? '');
    let stripeInvoiceId = typeof charge.invoice === 'string' ? charge.invoice : null; // older API versions
    const pi = typeof charge.payment_intent === 'string' ? charge.payment_intent : null;
    const gw = this.gateway;
    if (!stripeInvoiceId && pi && gw.findInvoiceIdForPaymentIntent) stripeInvoiceId = await gw.findInvoiceIdForPaymentIntent(pi);
    if (!chargeId || !stripeInvoiceId) return 'not_ours';
    const inv = await getInvoiceByStripeId(this.d.db, stripeInvoiceId);
    if (!inv) return 'not_ours';
    const refundedTotal = Number(charge.amount_refunded ?? 0);
    const full = charge.refunded === true || refundedTotal >= Number(charge.amount ?? Infinity);
    await this.d.db.transaction(async (trx) => {
      const fresh = await getInvoice(trx, inv.id);
      if (!fresh) throw new NotFoundError('invoice_not_found');
      // amount_refunded only grows: record the part not yet recorded (an older event adds nothing)
      const recorded = -(await refundsRecorded(trx, inv.id, chargeId));
      const delta = refundedTotal - recorded;
      if (delta <= 0) return;
      const before = { status: fresh.status, paidCents: fresh.paidCents, stripeState: fresh.stripeState };
      await this.insertPayment(trx, fresh, -delta, `${chargeId}:refund:${refundedTotal}`, `Stripe refund ${fresh.number}`);
      const stripeState = full ? 'refunded' : 'partially_refunded';
      await updateInvoice(trx, inv.id, { stripe_state: stripeState });
      const after = await this.stateOf(trx, inv.id);
      await this.d.audit.record(trx, STRIPE_ACTOR, 'invoice.stripe_refunded', 'invoice', inv.id, before, {
        status: after.status, paidCents: after.paidCents, stripeState, refundedCents: delta,
      });
    });
    return 'handled';
  }
}
