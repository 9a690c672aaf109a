import { createRequire } from 'node:module';
import type Stripe from 'stripe';
import type { Config } from '../config.ts';
import {
  disabledGateway, GatewayError, WebhookPayloadError, WebhookSignatureError,
  type GatewayCustomerInput, type GatewayEvent, type GatewayInvoice, type GatewayInvoiceInput,
  type GatewayInvoiceStatus, type PaymentGateway, type GatewayDispute,
} from './gateway.ts';

/**
 * The PaymentGateway on Stripe's API through the official SDK; the only `stripe` import
 * besides the test fake. Retries: the SDK retries connection errors, 409 and 5xx with
 * exponential backoff and jitter, re-sending the same Idempotency-Key; it does NOT retry a
 * plain 429 (only when Stripe adds `Stripe-Should-Retry: true`), so 429s are retried here,
 * again with backoff and the caller's idempotency key. A semaphore keeps at most
 * `concurrency` requests in flight, and a token bucket starts at most `maxRps` requests per
 * second (STRIPE_MAX_RPS), which is what keeps a dues run under Stripe's rate limit instead of
 * running into 429s and their backoff.
 */
export interface StripeGatewayOptions {
  secretKey: string;
  webhookSecret?: string;
  /** Another API base, e.g. http://127.0.0.1:12111 (stripe-mock or the test fake). */
  apiUrl?: string;
  /** Requests in flight at once (default 4; Stripe allows 25/s in test mode, 100/s live). */
  concurrency?: number;
  /** SDK retries for connection errors, 409 and 5xx (default 4). */
  maxNetworkRetries?: number;
  /** Our own retries of 429 answers (default 6). */
  rateLimitRetries?: number;
  /** First backoff in seconds (default 0.5, doubled per retry, at most `maxRetryDelaySec`). */
  initialRetryDelaySec?: number;
  maxRetryDelaySec?: number;
  /** Requests started per second at most (default: no limit); 0 or unset means none. */
  maxRps?: number;
  /** Per request (default 30 s). */
  timeoutMs?: number;
  /** Webhook timestamp tolerance in seconds (default 300). */
  webhookToleranceSec?: number;
}

/** host/port/protocol for the SDK from a base URL such as http://127.0.0.1:12111. */
export function sdkHostOptions(apiUrl: string): { host: string; port: number; protocol: 'http' | 'https' } {
  const u = new URL(apiUrl);
  const protocol = u.protocol === 'http:' ? 'http' : u.protocol === 'https:' ? 'https' : null;
  if (!protocol) throw new Error(`STRIPE_API_URL: unsupported protocol ${u.protocol}`);
  const port = u.port ? Number(u.port) : protocol === 'https' ? 443 : 80;
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port, protocol };
}

/**
 * At most `rate` starts per second on average, bursts of at most `burst` (a tenth of a
 * second's worth): a caller waits for its token. Below the server's own bucket (Stripe: 100
 * per second live), so no request is refused for speed.
 */
export class TokenBucket {
  private tokens: number;
  private at = Date.now();
  private queue: Promise<void> = Promise.resolve();
  readonly burst: number;
  constructor(private readonly rate: number, burst?: number) {
    this.burst = Math.max(1, burst ?? Math.ceil(rate / 10));
    this.tokens = this.burst;
  }
  /** Resolves when the caller may start its request; callers are served in order. */
  take(): Promise<void> {
    const turn = this.queue.then(async () => {
      for (;;) {
        const now = Date.now();
        this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.rate);
        this.at = now;
        if (this.tokens >= 1) {
          this.tokens -= 1;
          return;
        }
        await sleep(Math.max(1, Math.ceil(((1 - this.tokens) / this.rate) * 1000)));
      }
    });
    this.queue = turn;
    return turn;
  }
}

class Semaphore {
  private active = 0;
  private waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // the slot passes straight to the next waiter
      else this.active--;
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The SDK (about 20 MB) is loaded with the first StripeGateway, not at start: without a key, never. */
let sdk: typeof Stripe | undefined;
function stripeSdk(): typeof Stripe {
  // why: require() is untyped; this is the package the type import of Stripe describes
  return (sdk ??= createRequire(import.meta.url)('stripe') as typeof Stripe);
}

const STATUSES: GatewayInvoiceStatus[] = ['draft', 'open', 'paid', 'void', 'uncollectible'];

function toGatewayInvoice(inv: Stripe.Invoice): GatewayInvoice {
  const status = STATUSES.find((s) => s === inv.status) ?? 'draft';
  const customer = typeof inv.customer === 'string' ? inv.customer : inv.customer?.id ?? '';
  return {
    id: String(inv.id),
    status,
    number: inv.number ?? null,
    amountDueCents: Number(inv.amount_due ?? 0),
    amountPaidCents: Number(inv.amount_paid ?? 0),
    hostedInvoiceUrl: inv.hosted_invoice_url ?? null,
    metadata: { ...(inv.metadata ?? {}) },
    customerId: customer,
    // h/stripe
    outOfBandCents: (inv.payments?.data ?? [])
      .filter((p) => p.status === 'paid' && p.payment?.type === 'payment_record')
      .reduce((sum, p) => sum + Number(p.amount_paid ?? 0), 0),
    attemptInProgress: (inv.payments?.data ?? []).some((p) => p.status === 'open'),
    totalCents: Number(inv.total ?? 0),
    amountRemainingCents: Number(inv.amount_remaining ?? 0),
    startingBalanceCents: Number(inv.starting_balance ?? 0),
    endingBalanceCents: Number(inv.ending_balance ?? inv.starting_balance ?? 0),
    dueDate: typeof inv.due_date === 'number' ? inv.due_date : null,
    prePaymentCreditCents: Number(inv.pre_payment_credit_notes_amount ?? 0),
  };
}

/** h/stripe: a search query value in quotes (Stripe's search syntax escapes quotes with a backslash). */
const q = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** h/stripe: the end of a Berlin day as Unix seconds (Stripe's due_date). */
export function endOfBerlinDay(date: string): number {
  const [y, m, d] = date.split('-').map(Number);
  // 23:59:59 Berlin = 21:59:59 or 22:59:59 UTC; take the offset of that day
  const utcGuess = Date.UTC(y, m - 1, d, 23, 59, 59);
  const berlin = new Date(new Date(utcGuess).toLocaleString('en-US', { timeZone: 'Europe/Berlin' }));
  const utc = new Date(new Date(utcGuess).toLocaleString('en-US', { timeZone: 'UTC' }));
  return Math.floor((utcGuess - (berlin.getTime() - utc.getTime())) / 1000);
}

function isStripeError(e: unknown): e is Stripe.errors.StripeError {
  return e instanceof stripeSdk().errors.StripeError;
}

/** Maps an SDK error to a GatewayError that says whether trying again later may help. */
function toGatewayError(e: unknown): GatewayError {
  if (e instanceof GatewayError) return e;
  if (isStripeError(e)) {
    const status = e.statusCode;
    const retryable =
      e instanceof stripeSdk().errors.StripeConnectionError ||
      e instanceof stripeSdk().errors.StripeRateLimitError ||
      e instanceof stripeSdk().errors.StripeAPIError ||
      status === 409 || (status !== undefined && status >= 500);
    return Object.assign(new GatewayError(`Stripe: ${e.message}${e.code ? ` (${e.code})` : ''}`, retryable, status), { code: e.code, param: e.param });
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new GatewayError(`Stripe: ${msg}`, true);
}

export class StripeGateway implements PaymentGateway {
  readonly enabled = true;
  readonly stripe: Stripe;
  private readonly limiter: Semaphore;
  private readonly bucket: TokenBucket | null;
  private readonly rateLimitRetries: number;
  private readonly initialDelay: number;
  private readonly maxDelay: number;

  constructor(private readonly opts: StripeGatewayOptions) {
    this.initialDelay = opts.initialRetryDelaySec ?? 0.5;
    this.maxDelay = opts.maxRetryDelaySec ?? 5;
    this.rateLimitRetries = opts.rateLimitRetries ?? 6;
    this.limiter = new Semaphore(Math.max(1, opts.concurrency ?? 4));
    this.bucket = opts.maxRps && opts.maxRps > 0 ? new TokenBucket(opts.maxRps) : null;
    const StripeSdk = stripeSdk();
    this.stripe = new StripeSdk(opts.secretKey, {
      maxNetworkRetries: opts.maxNetworkRetries ?? 4,
      timeout: opts.timeoutMs ?? 30_000,
      telemetry: false,
      appInfo: { name: 'vereinsverwaltung' },
      ...(opts.apiUrl ? sdkHostOptions(opts.apiUrl) : {}),
    });
    if (opts.initialRetryDelaySec !== undefined || opts.maxRetryDelaySec !== undefined) {
      // The SDK reads its backoff from these two methods; tests shorten it.
      // why: the SDK's own (untyped) methods, present in the pinned stripe version; only tests shorten the backoff
      const s = this.stripe as unknown as { getInitialNetworkRetryDelay: () => number; getMaxNetworkRetryDelay: () => number };
      s.getInitialNetworkRetryDelay = () => this.initialDelay;
      s.getMaxNetworkRetryDelay = () => this.maxDelay;
    }
  }

  /** One API call: under the concurrency limit and the rate, 429 retried with backoff, errors mapped. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    const bucket = this.bucket;
    const limited = bucket ? async () => { await bucket.take(); return fn(); } : fn;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.limiter.run(limited);
      } catch (e) {
        if (e instanceof stripeSdk().errors.StripeRateLimitError && attempt < this.rateLimitRetries) {
          const base = Math.min(this.initialDelay * 2 ** attempt, this.maxDelay);
          await sleep(base * 1000 * (0.5 + Math.random() * 0.5) + this.initialDelay * 500);
          continue;
        }
        throw toGatewayError(e);
      }
    }
  }

  async createCustomer(input: GatewayCustomerInput, idempotencyKey: string): Promise<{ customerId: string }> {
    const params: Stripe.CustomerCreateParams = {
      name: input.name,
      email: input.email,
      address: {
        line1: input.address.line1,
        postal_code: input.address.postalCode,
        city: input.address.city,
        country: input.address.country,
      },
      preferred_locales: [input.locale],
      metadata: { organisation_id: String(input.organisationId), member_number: input.memberNumber, ...(input.installationId ? { installation_id: input.installationId } : {}) },
    };
    if (input.vatId) params.tax_id_data = [{ type: 'eu_vat', value: input.vatId }];
    const c = await this.call(() => this.stripe.customers.create(params, { idempotencyKey }));
    return { customerId: c.id };
  }

  async createFinalizedInvoice(input: GatewayInvoiceInput, idempotencyKeyBase: string): Promise<GatewayInvoice> {
    const draft = await this.call(() =>
      this.stripe.invoices.create(
        {
          customer: input.customerId,
          collection_method: 'send_invoice',
          ...(input.dueDate ? { due_date: endOfBerlinDay(input.dueDate) } : { days_until_due: input.daysUntilDue }), // h/stripe: the PDF's due date
          ...(input.paymentMethods?.length ? {
            // why: the settings offer only Stripe's method type names (validated there)
            payment_settings: { payment_method_types: input.paymentMethods as Stripe.InvoiceCreateParams.PaymentSettings.PaymentMethodType[] },
          } : {}),
          auto_advance: false, // we send our own e-mail with the hosted link
          currency: input.currency,
          description: input.description,
          number: input.number,
          pending_invoice_items_behavior: 'exclude',
          metadata: input.metadata,
        },
        { idempotencyKey: `${idempotencyKeyBase}-create` },
      ),
    );
    const invoiceId = String(draft.id);
    if (draft.status === 'draft') {
      await this.call(() =>
        this.stripe.invoiceItems.create(
          {
            customer: input.customerId,
            invoice: invoiceId,
            amount: input.amountCents,
            currency: input.currency,
            description: input.description,
            metadata: input.metadata,
          },
          { idempotencyKey: `${idempotencyKeyBase}-item` },
        ),
      );
      const fin = await this.call(() =>
        this.stripe.invoices.finalizeInvoice(invoiceId, { auto_advance: false }, { idempotencyKey: `${idempotencyKeyBase}-finalize` }),
      );
      return toGatewayInvoice(fin);
    }
    // The create key replayed an invoice that was finalized meanwhile (only possible if
    // someone finalized it by hand): fetch its current state instead of adding a line.
    return this.getInvoice(invoiceId);
  }

  async getInvoice(id: string): Promise<GatewayInvoice> {
    // h/stripe: with its payments, to tell money paid through Stripe from our out-of-band marks
    return toGatewayInvoice(await this.call(() => this.stripe.invoices.retrieve(id, { expand: ['payments'] })));
  }

  async voidInvoice(id: string, idempotencyKey: string): Promise<GatewayInvoice> {
    return toGatewayInvoice(await this.call(() => this.stripe.invoices.voidInvoice(id, {}, { idempotencyKey })));
  }

  async creditInvoice(id: string, amountCents: number, reason: string, idempotencyKey: string): Promise<{ creditNoteId: string }> {
    // Credited to the customer's balance: Stripe applies it to the member's next invoice; a
    // refund of the money itself is the treasurer's decision in Stripe's dashboard.
    const cn = await this.call(() =>
      this.stripe.creditNotes.create(
        { invoice: id, amount: amountCents, credit_amount: amountCents, memo: reason.slice(0, 500) },
        { idempotencyKey },
      ),
    );
    return { creditNoteId: cn.id };
  }

  async *listOpenInvoices(): AsyncIterable<GatewayInvoice> {
    let startingAfter: string | undefined;
    for (;;) {
      const page = await this.call(() =>
        this.stripe.invoices.list({ status: 'open', limit: 100, ...(startingAfter ? { starting_after: startingAfter } : {}) }),
      );
      for (const inv of page.data) yield toGatewayInvoice(inv);
      if (!page.has_more || page.data.length === 0) return;
      startingAfter = String(page.data[page.data.length - 1].id);
    }
  }

  // ---- h/stripe ----

  async payOutOfBand(id: string, idempotencyKey: string): Promise<GatewayInvoice> {
    await this.call(() => this.stripe.invoices.pay(id, { paid_out_of_band: true }, { idempotencyKey }));
    return this.getInvoice(id);
  }

  async reduceOpenInvoice(id: string, amountCents: number, memo: string, idempotencyKey: string): Promise<{ creditNoteId: string }> {
    const cn = await this.call(() => this.stripe.creditNotes.create({ invoice: id, amount: amountCents, memo: memo.slice(0, 500) }, { idempotencyKey }));
    return { creditNoteId: cn.id };
  }

  async updateCustomer(customerId: string, input: GatewayCustomerInput): Promise<void> {
    await this.call(() => this.stripe.customers.update(customerId, {
      name: input.name,
      email: input.email,
      address: { line1: input.address.line1, postal_code: input.address.postalCode, city: input.address.city, country: input.address.country },
      preferred_locales: [input.locale],
    }));
    if (input.vatId) {
      const ids = await this.call(() => this.stripe.customers.listTaxIds(customerId, { limit: 100 }));
      if (!ids.data.some((t) => t.value === input.vatId)) {
        await this.call(() => this.stripe.customers.createTaxId(customerId, { type: 'eu_vat', value: input.vatId! }));
      }
    }
  }

  async findCustomer(installationId: string, organisationId: number): Promise<string | null> {
    const r = await this.call(() => this.stripe.customers.search({
      query: `metadata['installation_id']:${q(installationId)} AND metadata['organisation_id']:${q(String(organisationId))}`, limit: 1,
    }));
    return r.data[0]?.id ?? null;
  }

  async findInvoice(installationId: string, localInvoiceId: number): Promise<GatewayInvoice | null> {
    const r = await this.call(() => this.stripe.invoices.search({
      query: `metadata['installation_id']:${q(installationId)} AND metadata['local_invoice_id']:${q(String(localInvoiceId))}`, limit: 10,
    }));
    const live = r.data.filter((i) => i.status !== 'void');
    const inv = live[0] ?? r.data[0];
    return inv ? toGatewayInvoice(inv) : null;
  }

  async getDispute(id: string): Promise<GatewayDispute> {
    const d = await this.call(() => this.stripe.disputes.retrieve(id));
    const pi = typeof d.payment_intent === 'string' ? d.payment_intent : d.payment_intent?.id ?? null;
    const ch = typeof d.charge === 'string' ? d.charge : d.charge?.id ?? null;
    return { id: d.id, status: d.status, amountCents: Number(d.amount ?? 0), paymentIntentId: pi, chargeId: ch };
  }

  /** For charge.refunded: which invoice a payment intent paid (charges no longer name it). */
  async findInvoiceIdForPaymentIntent(paymentIntentId: string): Promise<string | null> {
    const page = await this.call(() =>
      this.stripe.invoicePayments.list({ payment: { type: 'payment_intent', payment_intent: paymentIntentId }, limit: 1 }),
    );
    const ip = page.data[0];
    if (!ip) return null;
    return typeof ip.invoice === 'string' ? ip.invoice : ip.invoice?.id ?? null;
  }

  verifyWebhook(rawBody: Buffer, signatureHeader: string | undefined): GatewayEvent {
    if (!this.opts.webhookSecret) throw new WebhookSignatureError('STRIPE_WEBHOOK_SECRET is not set');
    if (!signatureHeader) throw new WebhookSignatureError('no Stripe-Signature header');
    const tolerance = this.opts.webhookToleranceSec ?? 300;
    let event: Stripe.Event;
    try {
      event = this.stripe.webhooks.constructEvent(rawBody, signatureHeader, this.opts.webhookSecret, tolerance);
    } catch (e) {
      throw new WebhookSignatureError(e instanceof Error ? e.message : 'bad signature');
    }
    // h/harden: the SDK only refuses a signature that is too old; one dated in the future is refused too
    const t = Number(/(?:^|,)\s*t=(\d+)/.exec(signatureHeader)?.[1]);
    if (!Number.isFinite(t) || t - Date.now() / 1000 > tolerance) throw new WebhookSignatureError('signature timestamp outside the tolerance');
    // why: JSON.parse gave anything at all; each field is checked before use
    const raw = event as unknown as { id?: unknown; type?: unknown; created?: unknown; data?: { object?: unknown } } | null;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw) || typeof raw.id !== 'string' || !raw.id || typeof raw.type !== 'string') {
      throw new WebhookPayloadError('not an event');
    }
    const object = raw.data && typeof raw.data === 'object' && raw.data.object && typeof raw.data.object === 'object' && !Array.isArray(raw.data.object)
      ? raw.data.object as Record<string, unknown> // why: checked just now to be a non-array object
      : {};
    return { id: raw.id, type: raw.type, created: typeof raw.created === 'number' ? raw.created : 0, object };
  }
}

export interface GatewayTuning {
  concurrency?: number;
  maxRps?: number;
  maxNetworkRetries?: number;
  rateLimitRetries?: number;
  initialRetryDelaySec?: number;
  maxRetryDelaySec?: number;
  timeoutMs?: number;
}

/** The gateway for this configuration: Stripe when a secret key is set, else the disabled one. */
export function createGateway(config: Config, tuning: GatewayTuning = {}): PaymentGateway {
  const { secretKey, webhookSecret, apiUrl, concurrency, maxRps } = config.stripe;
  if (!secretKey) return disabledGateway;
  return new StripeGateway({ secretKey, webhookSecret, apiUrl, concurrency: concurrency ?? 4, maxRps: maxRps ?? 90, ...tuning });
}
