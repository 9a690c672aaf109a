/**
 * The payment gateway as the dues module sees it. Only server/stripe/ imports the `stripe` SDK;
 * with no STRIPE_SECRET_KEY the gateway is disabled and dues work with bank transfer alone.
 * Every creating call takes an idempotency key derived from our own record (e.g.
 * `customer-org-42`, `invoice-2027-0001-create`), so a retry or a resumed run never creates
 * a second object.
 */
export interface GatewayAddress {
  line1: string;
  postalCode: string;
  city: string;
  country: string; // ISO 3166-1 alpha-2
}

export interface GatewayCustomerInput {
  organisationId: number;
  memberNumber: string; // M-0001
  name: string;
  email: string; // billing e-mail
  address: GatewayAddress;
  vatId?: string; // EU VAT ID → tax id type eu_vat
  locale: 'de' | 'en';
  /** h/stripe: written into the customer's metadata, so another installation on the account never takes it. */
  installationId?: string;
}

export interface GatewayInvoiceInput {
  customerId: string;
  localInvoiceId: number;
  number: string; // our number, e.g. 2027-0001
  amountCents: number;
  currency: 'eur';
  description: string; // what is billed and the period
  daysUntilDue: number;
  metadata: Record<string, string>;
  /** h/stripe: our due date (YYYY-MM-DD, Europe/Berlin); sent as Stripe's due_date (end of that day) instead of days_until_due. */
  dueDate?: string;
  /** h/stripe: the payment methods the hosted page offers (Stripe's payment_method_types, e.g. card, sepa_debit). */
  paymentMethods?: string[];
}

export type GatewayInvoiceStatus = 'draft' | 'open' | 'paid' | 'void' | 'uncollectible';

export interface GatewayInvoice {
  id: string;
  status: GatewayInvoiceStatus;
  number: string | null;
  amountDueCents: number;
  amountPaidCents: number;
  hostedInvoiceUrl: string | null;
  metadata: Record<string, string>;
  customerId: string;
  // h/stripe
  /**
   * What was marked paid outside Stripe (our bank bookings, `paid_out_of_band`): the invoice's
   * payments of type payment_record. `amountPaidCents` includes it (API 2025-03-31 on); the
   * money that came in through Stripe is the difference.
   */
  outOfBandCents: number;
  totalCents: number;
  amountRemainingCents: number;
  /** The customer's balance before and after this invoice (negative: credit); the difference is the credit applied. */
  startingBalanceCents: number;
  endingBalanceCents: number;
  /** Unix seconds, or null. */
  dueDate: number | null;
  /** A payment attempt still running (an invoice payment in status open: a SEPA debit processing). */
  attemptInProgress: boolean;
  /** Credit notes issued before payment (they lower amount_due). */
  prePaymentCreditCents: number;
}

export interface GatewayEvent {
  id: string;
  type: string;
  created: number;
  /** The event's object (an invoice, a charge, …) as Stripe sent it. */
  object: Record<string, unknown>;
}

/** h/stripe */
export interface GatewayDispute {
  id: string;
  status: string;
  amountCents: number;
  paymentIntentId: string | null;
  chargeId: string | null;
}

export class GatewayError extends Error {
  constructor(message: string, public readonly retryable: boolean, public readonly statusCode?: number) {
    super(message);
  }
}

export class WebhookSignatureError extends Error {}
/** h/harden: a correctly signed webhook whose body is not an event (null, an array, no id or type). */
export class WebhookPayloadError extends Error {}

export interface PaymentGateway {
  readonly enabled: boolean;
  /** Creates (or, with the same key, returns) the customer for an organisation. 1 call. */
  createCustomer(input: GatewayCustomerInput, idempotencyKey: string): Promise<{ customerId: string }>;
  /**
   * Creates the invoice, its line item and finalizes it: 3 calls, each with a key derived from
   * `idempotencyKeyBase`. Returns the finalized invoice with its hosted payment page.
   */
  createFinalizedInvoice(input: GatewayInvoiceInput, idempotencyKeyBase: string): Promise<GatewayInvoice>;
  getInvoice(id: string): Promise<GatewayInvoice>;
  voidInvoice(id: string, idempotencyKey: string): Promise<GatewayInvoice>;
  /** A credit note over the paid amount (refund to the customer's balance or original payment). */
  creditInvoice(id: string, amountCents: number, reason: string, idempotencyKey: string): Promise<{ creditNoteId: string }>;
  listOpenInvoices(): AsyncIterable<GatewayInvoice>;
  /**
   * The invoice a payment intent paid, for charge.refunded (charges no longer name their
   * invoice since API version 2025-03-31). Optional: without it refunds are not matched.
   */
  findInvoiceIdForPaymentIntent?(paymentIntentId: string): Promise<string | null>;
  // ---- h/stripe: one state on both sides ----
  /** Marks an open invoice paid outside Stripe (`POST /v1/invoices/:id/pay`, `paid_out_of_band=true`): its page takes no money after. */
  payOutOfBand(id: string, idempotencyKey: string): Promise<GatewayInvoice>;
  /** Lowers what an open invoice asks for by a pre-payment credit note (a partial bank payment received). */
  reduceOpenInvoice(id: string, amountCents: number, memo: string, idempotencyKey: string): Promise<{ creditNoteId: string }>;
  /** Updates the customer's name, e-mail, address, locale (and adds a VAT ID it lacks). */
  updateCustomer(customerId: string, input: GatewayCustomerInput): Promise<void>;
  /** The customer this installation made for an organisation, found by its metadata (a lost response, a key Stripe forgot). */
  findCustomer(installationId: string, organisationId: number): Promise<string | null>;
  /** The invoice this installation made for one of ours, found by its metadata. */
  findInvoice(installationId: string, localInvoiceId: number): Promise<GatewayInvoice | null>;
  /** A dispute (chargeback) as it stands now: Stripe's status, the contested amount, the payment intent it is on. */
  getDispute(id: string): Promise<GatewayDispute>;
  /** Verifies the Stripe-Signature header over the raw body; throws WebhookSignatureError. */
  verifyWebhook(rawBody: Buffer, signatureHeader: string | undefined): GatewayEvent;
}

/** Stripe off: every call is a programming error except `enabled`. */
export const disabledGateway: PaymentGateway = {
  enabled: false,
  async createCustomer() { throw new GatewayError('Stripe is off', false); },
  async createFinalizedInvoice() { throw new GatewayError('Stripe is off', false); },
  async getInvoice() { throw new GatewayError('Stripe is off', false); },
  async voidInvoice() { throw new GatewayError('Stripe is off', false); },
  async creditInvoice() { throw new GatewayError('Stripe is off', false); },
  async *listOpenInvoices() { /* nothing */ },
  async payOutOfBand() { throw new GatewayError('Stripe is off', false); },
  async reduceOpenInvoice() { throw new GatewayError('Stripe is off', false); },
  async updateCustomer() { throw new GatewayError('Stripe is off', false); },
  async findCustomer() { return null; },
  async findInvoice() { return null; },
  async getDispute() { throw new GatewayError('Stripe is off', false); },
  verifyWebhook() { throw new WebhookSignatureError('Stripe is off'); },
};
