import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { berlinDate, iso, ZONE, type Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Actor, AuditService } from '../audit/audit.service.ts';
import type { Outbox } from '../mail/outbox.service.ts';
import type { SettingsService } from '../settings/settings.service.ts';
import { NotFoundError } from '../errors.ts';
import { formatDate, formatMemberNumber, formatMoney } from '../i18n/format.ts';
import { tFor, type Locale } from '../i18n/i18n.ts';
import type { GatewayEvent, GatewayInvoice, PaymentGateway } from '../stripe/gateway.ts';
import { PaymentsService, statusAfterPayment } from './payments.service.ts';

/**
 * Our invoices on Stripe: pushing an issued invoice (customer + finalized invoice with the
 * hosted payment page), cancelling it there (void or credit note), reconciling missed
 * events, and applying webhook events. Every decision is taken from the Stripe invoice's
 * current state, fetched when it matters, never from the order in which events arrive;
 * every change is idempotent (a Stripe payment is one `payments` row, unique by
 * `stripe_ref`), so replays, retries and a resumed run change nothing twice.
 */

export const STRIPE_ACTOR: Actor = { userId: null, label: 'stripe' };

/** What this service needs; `gateway` is read on every call, so tests may swap it on the context. */
export interface StripeSyncDeps {
  db: Knex;
  clock: Clock;
  log: Logger;
  audit: AuditService;
  outbox: Outbox;
  settings: SettingsService;
  config: Config;
  gateway: PaymentGateway;
}

/** The answer a webhook delivery should get. */
export class RetryLaterError extends Error {}

export interface ReconcileResult {
  checked: number;
  changed: number;
  failed: number;
}

type Row = Record<string, any>;

const LIVE_LOCAL = ['open', 'partially_paid', 'uncollectible'];
const SETTLEABLE = ['open', 'partially_paid', 'paid', 'uncollectible'];

export class StripeSyncService {
  private installation?: string;
  private readonly payments: PaymentsService;

  constructor(private readonly d: StripeSyncDeps) {
    this.payments = new PaymentsService({ db: d.db, clock: d.clock, audit: d.audit });
  }

  private get gateway(): PaymentGateway {
    return this.d.gateway;
  }

  /** A random id kept in settings, written into each Stripe invoice's metadata, so events of another installation on the same Stripe account are told apart. */
  async installationId(): Promise<string> {
    if (this.installation) return this.installation;
    const read = async () => {
      const r = await this.d.db('settings').where({ key: 'installation_id' }).first();
      return r ? (JSON.parse(r.value) as string) : undefined;
    };
    let id = await read();
    if (!id) {
      try {
        await this.d.db('settings').insert({ key: 'installation_id', value: JSON.stringify(crypto.randomUUID()), updated_at: iso(this.d.clock.now()) });
      } catch {
        // another process wrote it first
      }
      id = await read();
    }
    this.installation = id!;
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
    const inv: Row | undefined = await this.d.db('invoices').where({ id: localInvoiceId }).first();
    if (!inv) throw new NotFoundError('invoice_not_found');
    if (inv.stripe_invoice_id) return;
    if (inv.kind !== 'invoice' || Number(inv.amount_cents) <= 0 || !['open', 'partially_paid'].includes(inv.status)) return;

    const customerId = await this.ensureCustomer(inv);
    const installationId = await this.installationId();
    const locale: Locale = inv.locale === 'en' ? 'en' : 'de';
    const period = `${formatDate(inv.period_start, locale)}–${formatDate(inv.period_end, locale)}`;
    const days = Math.max(0, Math.round(DateTime.fromISO(inv.due_date, { zone: ZONE }).diff(DateTime.fromISO(inv.issue_date, { zone: ZONE }), 'days').days));
    const created = await this.gateway.createFinalizedInvoice(
      {
        customerId,
        localInvoiceId: Number(inv.id),
        number: inv.number,
        amountCents: Number(inv.amount_cents),
        currency: 'eur',
        description: `${inv.description} (${period})`.slice(0, 500),
        daysUntilDue: days,
        metadata: {
          local_invoice_id: String(inv.id),
          invoice_number: inv.number,
          installation_id: installationId,
          organisation_id: String(inv.organisation_id),
          member_number: formatMemberNumber(Number(inv.member_number)),
        },
      },
      `invoice-${inv.number}`,
    );

    await this.d.db.transaction(async (trx) => {
      const now = iso(this.d.clock.now());
      const n = await trx('invoices').where({ id: inv.id }).whereNull('stripe_invoice_id').update({
        stripe_invoice_id: created.id,
        hosted_invoice_url: created.hostedInvoiceUrl,
        stripe_customer_id: customerId,
        stripe_state: created.status,
        updated_at: now,
      });
      if (n) {
        await this.d.audit.record(trx, STRIPE_ACTOR, 'invoice.stripe_created', 'invoice', Number(inv.id), undefined, {
          stripeInvoiceId: created.id, status: created.status,
        });
      }
    });
    // Finalizing can settle it at once (a credit balance from an earlier credit note).
    if (created.status !== 'open') await this.applyCurrentState(Number(inv.id), created, 'push');
  }

  private async ensureCustomer(inv: Row): Promise<string> {
    const orgId = Number(inv.organisation_id);
    const existing = await this.d.db('stripe_customers').where({ organisation_id: orgId }).first();
    if (existing) return existing.customer_id;
    // From the invoice's recipient snapshot, so a repeat after a crash sends the same parameters.
    const { customerId } = await this.gateway.createCustomer(
      {
        organisationId: orgId,
        memberNumber: formatMemberNumber(Number(inv.member_number)),
        name: inv.recipient_name,
        email: inv.contact_email,
        address: { line1: inv.recipient_street, postalCode: inv.recipient_postcode, city: inv.recipient_city, country: inv.recipient_country || 'DE' },
        vatId: inv.recipient_vat_id || undefined,
        locale: inv.locale === 'en' ? 'en' : 'de',
      },
      `customer-org-${orgId}`,
    );
    try {
      await this.d.db('stripe_customers').insert({ organisation_id: orgId, customer_id: customerId, created_at: iso(this.d.clock.now()) });
    } catch (e) {
      const again = await this.d.db('stripe_customers').where({ organisation_id: orgId }).first();
      if (!again) throw e;
      return again.customer_id;
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
    const inv: Row | undefined = await this.d.db('invoices').where({ id: localInvoiceId }).first();
    if (!inv) throw new NotFoundError('invoice_not_found');
    if (!inv.stripe_invoice_id) return;
    const current = await this.gateway.getInvoice(inv.stripe_invoice_id);
    let state: string | null = null;
    let detail: Record<string, unknown> = {};
    if (current.status === 'open' || current.status === 'uncollectible') {
      const voided = await this.gateway.voidInvoice(current.id, `invoice-${inv.number}-void`);
      state = voided.status;
    } else if (current.status === 'paid' && current.amountPaidCents > 0) {
      let reason = `Storno ${inv.number}`;
      if (inv.cancelled_by_invoice_id) {
        const c = await this.d.db('invoices').where({ id: inv.cancelled_by_invoice_id }).first();
        if (c) reason = `Stornorechnung ${c.number} zu ${inv.number}`;
      }
      const { creditNoteId } = await this.gateway.creditInvoice(current.id, current.amountPaidCents, reason, `invoice-${inv.number}-credit`);
      state = 'credited';
      detail = { creditNoteId, amountCents: current.amountPaidCents };
    } else if (current.status === 'void') {
      state = 'void';
    }
    if (!state || state === inv.stripe_state) return;
    await this.d.db.transaction(async (trx) => {
      await trx('invoices').where({ id: inv.id }).update({ stripe_state: state, updated_at: iso(this.d.clock.now()) });
      await this.d.audit.record(trx, STRIPE_ACTOR, 'invoice.stripe_cancelled', 'invoice', Number(inv.id), { stripeState: inv.stripe_state }, { stripeState: state, ...detail });
    });
  }

  // ---- reconciling --------------------------------------------------------------------

  /** Fetches every still-open invoice of ours from Stripe and applies its current state (for missed webhooks). */
  async reconcile(opts: { onProgress?: (done: number, total: number) => void; concurrency?: number } = {}): Promise<ReconcileResult> {
    const result: ReconcileResult = { checked: 0, changed: 0, failed: 0 };
    if (!this.gateway.enabled) return result;
    const rows: Row[] = await this.d.db('invoices')
      .whereNotNull('stripe_invoice_id')
      .where((q) => q
        .whereIn('status', LIVE_LOCAL)
        .orWhereIn('stripe_state', ['draft', 'open', 'payment_failed', 'action_required'])
        // cancelled here, but the void or credit on Stripe did not happen (Stripe was unreachable)
        .orWhere((c) => c.where('status', 'cancelled').where((w) => w.whereNull('stripe_state').orWhereNotIn('stripe_state', ['void', 'credited']))))
      .select('id', 'status', 'stripe_invoice_id', 'stripe_state')
      .orderBy('id');
    let next = 0;
    const worker = async () => {
      while (next < rows.length) {
        const r = rows[next++];
        try {
          const current = await this.gateway.getInvoice(r.stripe_invoice_id);
          let changed = await this.applyCurrentState(Number(r.id), current, 'reconcile');
          if (r.status === 'cancelled') {
            await this.cancelOnStripe(Number(r.id));
            const after = await this.d.db('invoices').where({ id: r.id }).first('stripe_state');
            changed ||= after?.stripe_state !== r.stripe_state;
          }
          if (changed) result.changed++;
        } catch (e) {
          result.failed++;
          this.d.log.warn({ invoiceId: r.id, err: e instanceof Error ? e.message : String(e) }, 'stripe reconcile failed for an invoice');
        }
        result.checked++;
        opts.onProgress?.(result.checked, rows.length);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, worker));
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
      const inv: Row | undefined = await trx('invoices').where({ id: localInvoiceId }).first();
      if (!inv) throw new NotFoundError('invoice_not_found');
      const now = iso(this.d.clock.now());
      const before = { status: inv.status, paidCents: Number(inv.paid_cents), stripeState: inv.stripe_state };
      let stripeState: string | null = inv.stripe_state;
      let dirty = false;

      if (current.status === 'paid') {
        // a refund or credit note recorded later stays the more telling state
        if (!['refunded', 'partially_refunded', 'credited'].includes(String(stripeState))) stripeState = 'paid';
        const has = await trx('payments').where({ stripe_ref: current.id }).first();
        if (!has && current.amountPaidCents > 0) {
          const reference = `Stripe ${current.number ?? current.id}`;
          if (inv.kind === 'invoice' && inv.status !== 'cancelled' && inv.status !== 'void') {
            await this.payments.recordInTrx(trx, STRIPE_ACTOR, Number(inv.id), {
              date: berlinDate(this.d.clock.now()), amountCents: current.amountPaidCents, reference, method: 'stripe', stripeRef: current.id,
            });
          } else {
            // Paid after our Stornorechnung: the money came in all the same; recorded for the
            // treasurer (to refund), the invoice's status stays.
            await this.insertPayment(trx, inv, current.amountPaidCents, current.id, reference);
          }
          dirty = true;
        }
      } else if (current.status === 'open') {
        if (hint === 'invoice.payment_failed') stripeState = 'payment_failed';
        else if (hint === 'invoice.payment_action_required') stripeState = 'action_required';
        else if (!['payment_failed', 'action_required'].includes(String(stripeState))) stripeState = 'open';
      } else if (current.status === 'void') {
        // Voided on Stripe (by us after a Stornorechnung, or by hand in the dashboard): the
        // payment link is dead. Our invoice stays as it is: only a Stornorechnung cancels it.
        if (stripeState !== 'credited') stripeState = 'void';
      } else if (current.status === 'uncollectible') {
        stripeState = 'uncollectible';
        if (inv.status === 'open' || inv.status === 'partially_paid') {
          await trx('invoices').where({ id: inv.id }).update({ status: 'uncollectible', updated_at: now });
          dirty = true;
        }
      }
      if (stripeState !== inv.stripe_state) {
        await trx('invoices').where({ id: inv.id }).update({ stripe_state: stripeState, updated_at: now });
        dirty = true;
        if (stripeState === 'action_required' && inv.contact_email && inv.hosted_invoice_url) {
          mail = {
            to: inv.contact_email, locale: inv.locale === 'en' ? 'en' : 'de', number: inv.number,
            url: inv.hosted_invoice_url, amount: Number(inv.amount_cents) - Number(inv.paid_cents), name: inv.contact_name,
          };
        }
      }
      if (!dirty) return false;
      const after: Row = await trx('invoices').where({ id: inv.id }).first();
      await this.d.audit.record(trx, STRIPE_ACTOR, `invoice.stripe_${hint.replace(/^invoice\./, '').replace(/[^a-z_]/g, '_')}`, 'invoice', Number(inv.id), before, {
        status: after.status, paidCents: Number(after.paid_cents), stripeState: after.stripe_state,
      });
      if (mail) {
        const association = await this.d.settings.association(trx);
        const t = tFor(mail.locale);
        await this.d.outbox.enqueue(trx, {
          template: 'invoice_payment_action_required',
          locale: mail.locale,
          to: mail.to,
          related: { type: 'invoice', id: Number(inv.id) },
          content: {
            subject: t('stripe.mail.actionRequired.subject', { number: mail.number }),
            greeting: t('stripe.mail.greeting', { name: mail.name || mail.to }),
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
  private async insertPayment(trx: Knex.Transaction, inv: Row, amountCents: number, stripeRef: string, reference: string): Promise<void> {
    const now = iso(this.d.clock.now());
    const paid = Number(inv.paid_cents) + amountCents;
    const amount = Number(inv.amount_cents);
    await trx('payments').insert({
      invoice_id: inv.id,
      date: berlinDate(this.d.clock.now()),
      amount_cents: amountCents,
      method: 'stripe',
      reference: reference.slice(0, 300),
      stripe_ref: stripeRef,
      overpayment: amountCents > 0 && paid > amount,
      created_by: null,
      created_at: now,
    });
    let status: string = inv.status;
    if (SETTLEABLE.includes(status)) {
      status = status === 'uncollectible' && paid < amount ? 'uncollectible' : statusAfterPayment(amount, paid);
    } else {
      this.d.log.warn({ invoiceId: inv.id, status }, 'stripe payment on an invoice that is no longer open');
    }
    await trx('invoices').where({ id: inv.id }).update({ paid_cents: paid, status, updated_at: now });
  }

  // ---- webhook events -----------------------------------------------------------------

  /**
   * Receives a verified event: stores it once by id, skips one already handled (a replay),
   * handles it and records the outcome. A failure is recorded on the event and rethrown, so
   * the webhook answers non-2xx and Stripe retries.
   */
  async receiveEvent(event: GatewayEvent): Promise<{ duplicate: true } | { duplicate: false; outcome: 'handled' | 'ignored' | 'not_ours' }> {
    const events = () => this.d.db('stripe_events').where({ event_id: event.id });
    await this.d.db('stripe_events').insert({ event_id: event.id, type: event.type.slice(0, 100), received_at: iso(this.d.clock.now()) }).onConflict('event_id').ignore();
    if ((await events().first())?.processed_at) return { duplicate: true };
    try {
      const outcome = await this.handleEvent(event);
      await events().update({ processed_at: iso(this.d.clock.now()), error: outcome === 'handled' ? null : outcome });
      return { duplicate: false, outcome };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      await events().update({ error: message.slice(0, 2000) }).catch(() => undefined); // the database itself may be the problem
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
      default:
        return 'ignored';
    }
  }

  /** Our invoice id for a Stripe invoice object, null if it is not ours; RetryLaterError if ours but not stored yet. */
  private async resolveInvoice(obj: Record<string, unknown>): Promise<number | null> {
    const stripeId = String(obj.id ?? '');
    if (!stripeId) return null;
    const byId = await this.d.db('invoices').where({ stripe_invoice_id: stripeId }).first('id');
    if (byId) return Number(byId.id);
    const md = (obj.metadata ?? {}) as Record<string, string>;
    if (!md.local_invoice_id || md.installation_id !== (await this.installationId())) return null;
    const local: Row | undefined = await this.d.db('invoices').where({ id: Number(md.local_invoice_id) }).first();
    if (!local) throw new RetryLaterError(`invoice ${md.local_invoice_id} not stored yet`);
    if (local.number !== md.invoice_number) {
      this.d.log.warn({ invoiceId: local.id, stripeInvoiceId: stripeId }, 'stripe invoice metadata names one of our invoices with another number');
      return null;
    }
    if (local.stripe_invoice_id) {
      this.d.log.warn({ invoiceId: local.id, stripeInvoiceId: stripeId }, 'a second Stripe invoice for one of ours');
      return null;
    }
    // The push created it on Stripe but crashed before storing the id: store it now.
    const customer = typeof obj.customer === 'string' ? obj.customer : null;
    await this.d.db.transaction(async (trx) => {
      const n = await trx('invoices').where({ id: local.id }).whereNull('stripe_invoice_id').update({
        stripe_invoice_id: stripeId,
        hosted_invoice_url: (obj.hosted_invoice_url as string | null) ?? null,
        stripe_customer_id: customer,
        updated_at: iso(this.d.clock.now()),
      });
      if (n) await this.d.audit.record(trx, STRIPE_ACTOR, 'invoice.stripe_linked', 'invoice', Number(local.id), undefined, { stripeInvoiceId: stripeId });
    });
    return Number(local.id);
  }

  private async chargeRefunded(charge: Record<string, unknown>): Promise<'handled' | 'not_ours'> {
    const chargeId = String(charge.id ?? '');
    let stripeInvoiceId = typeof charge.invoice === 'string' ? charge.invoice : null; // older API versions
    const pi = typeof charge.payment_intent === 'string' ? charge.payment_intent : null;
    const gw = this.gateway;
    if (!stripeInvoiceId && pi && gw.findInvoiceIdForPaymentIntent) stripeInvoiceId = await gw.findInvoiceIdForPaymentIntent(pi);
    if (!chargeId || !stripeInvoiceId) return 'not_ours';
    const inv: Row | undefined = await this.d.db('invoices').where({ stripe_invoice_id: stripeInvoiceId }).first();
    if (!inv) return 'not_ours';
    const refundedTotal = Number(charge.amount_refunded ?? 0);
    const full = charge.refunded === true || refundedTotal >= Number(charge.amount ?? Infinity);
    await this.d.db.transaction(async (trx) => {
      const fresh: Row = await trx('invoices').where({ id: inv.id }).first();
      // amount_refunded only grows: record the part not yet recorded (an older event adds nothing)
      const rows: Row[] = await trx('payments').where({ invoice_id: inv.id }).where('stripe_ref', 'like', `${chargeId}:refund:%`).select('amount_cents');
      const recorded = -rows.reduce((s, r) => s + Number(r.amount_cents), 0);
      const delta = refundedTotal - recorded;
      if (delta <= 0) return;
      const before = { status: fresh.status, paidCents: Number(fresh.paid_cents), stripeState: fresh.stripe_state };
      await this.insertPayment(trx, fresh, -delta, `${chargeId}:refund:${refundedTotal}`, `Stripe refund ${fresh.number}`);
      const stripeState = full ? 'refunded' : 'partially_refunded';
      await trx('invoices').where({ id: inv.id }).update({ stripe_state: stripeState });
      const after: Row = await trx('invoices').where({ id: inv.id }).first();
      await this.d.audit.record(trx, STRIPE_ACTOR, 'invoice.stripe_refunded', 'invoice', Number(inv.id), before, {
        status: after.status, paidCents: Number(after.paid_cents), stripeState, refundedCents: delta,
      });
    });
    return 'handled';
  }
}
