import http from 'node:http';
import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';

/**
 * A local HTTP server that answers like Stripe's API for what this project uses, keeps
 * state, honours Idempotency-Key the way Stripe does, and can be told to fail:
 *   - `errorRate`: a fraction of calls answered 500 (before doing anything);
 *   - `dropRate`: a fraction of calls whose socket is destroyed, half of them before and
 *     half after the call took effect (the lost-response case idempotency keys exist for);
 *   - `rateLimitPerSec`: a token bucket; calls above it get 429;
 *   - `latencyMs`: a delay before each answer.
 * Listens on 127.0.0.1 only. Counts calls per endpoint (`METHOD /v1/invoices/:id/finalize`).
 */

type Params = Record<string, unknown>;
type Obj = Record<string, unknown>;

export interface StripeFakeFaults {
  errorRate: number;
  dropRate: number;
  rateLimitPerSec: number | null;
  latencyMs: number;
  /** Deterministic fault decisions for reproducible tests. */
  seed?: number;
}

const NO_FAULTS: StripeFakeFaults = { errorRate: 0, dropRate: 0, rateLimitPerSec: null, latencyMs: 0 };

class ApiError extends Error {
  constructor(public status: number, public type: string, message: string, public param?: string, public code?: string) {
    super(message);
  }
}

/** Parses Stripe's form encoding: a[b][0][c]=v → { a: { b: [ { c: 'v' } ] } }. */
export function parseStripeForm(body: string): Params {
  const root: Obj = {};
  if (!body) return root;
  for (const pair of body.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const rawKey = decodeURIComponent((eq < 0 ? pair : pair.slice(0, eq)).replace(/\+/g, ' '));
    const value = eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '));
    const first = rawKey.indexOf('[');
    const path = first < 0 ? [rawKey] : [rawKey.slice(0, first), ...Array.from(rawKey.slice(first).matchAll(/\[([^\]]*)\]/g), (m) => m[1])];
    let node: Obj = root;
    for (let i = 0; i < path.length; i++) {
      let k = path[i];
      if (k === '') k = String(Object.keys(node).length); // a[]=x
      if (i === path.length - 1) node[k] = value;
      else {
        if (typeof node[k] !== 'object' || node[k] === null) node[k] = {};
        node = node[k] as Obj;
      }
    }
  }
  const arrays = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null) return v;
    const o = v as Obj;
    const keys = Object.keys(o);
    for (const k of keys) o[k] = arrays(o[k]);
    if (keys.length > 0 && keys.every((k, i) => k === String(i))) return keys.map((k) => o[k]);
    return o;
  };
  return arrays(root) as Params;
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Obj)[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

function int(v: unknown, param: string, required = false): number | undefined {
  if (v === undefined || v === '') {
    if (required) throw new ApiError(400, 'invalid_request_error', `Missing required param: ${param}.`, param, 'parameter_missing');
    return undefined;
  }
  if (typeof v !== 'string' || !/^-?\d+$/.test(v)) throw new ApiError(400, 'invalid_request_error', `Invalid integer: ${String(v)}`, param, 'parameter_invalid_integer');
  return Number(v);
}

function req(v: unknown, param: string): string {
  if (typeof v !== 'string' || v === '') throw new ApiError(400, 'invalid_request_error', `Missing required param: ${param}.`, param, 'parameter_missing');
  return v;
}

function bool(v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  return v === 'true';
}

function metadata(v: unknown): Record<string, string> {
  if (v === undefined || v === '') return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ApiError(400, 'invalid_request_error', 'Invalid metadata', 'metadata');
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (k.length > 40) throw new ApiError(400, 'invalid_request_error', 'Metadata keys can be at most 40 characters', `metadata[${k}]`);
    if (String(val).length > 500) throw new ApiError(400, 'invalid_request_error', 'Metadata values can be at most 500 characters', `metadata[${k}]`);
    out[k] = String(val);
  }
  return out;
}

const TAX_ID_TYPES = new Set(['eu_vat', 'gb_vat', 'ch_vat', 'no_vat', 'de_stn']);

interface StoredResponse { fingerprint: string; status: number; body: string }

export class StripeFake {
  readonly apiKey: string;
  readonly webhookSecret: string;
  url = '';
  port = 0;
  private server: http.Server;
  private sockets = new Set<import('node:net').Socket>();
  faults: StripeFakeFaults = { ...NO_FAULTS };
  private rng: () => number = Math.random;
  private bucket = { tokens: 0, at: 0 };

  readonly customers = new Map<string, Obj>();
  readonly invoices = new Map<string, Obj>();
  readonly invoiceItems = new Map<string, Obj>();
  readonly creditNotes = new Map<string, Obj>();
  readonly charges = new Map<string, Obj>();
  readonly invoicePayments = new Map<string, Obj>();
  // h/stripe
  readonly disputes = new Map<string, Obj>();
  readonly paymentIntents = new Map<string, Obj>();
  private idempotency = new Map<string, StoredResponse>();
  private seq = 0;
  private clock = 1_780_000_000;

  /** Requests received per endpoint, including those answered with a fault. */
  readonly calls = new Map<string, number>();
  /** Faults injected, by kind. */
  readonly injected = { errors: 0, dropsBefore: 0, dropsAfter: 0, rateLimited: 0 };
  /** Requests whose Idempotency-Key replayed a stored response. */
  replays = 0;

  constructor(opts: { apiKey?: string; webhookSecret?: string } = {}) {
    this.apiKey = opts.apiKey ?? 'sk_test_fake_key_for_tests';
    this.webhookSecret = opts.webhookSecret ?? 'whsec_test_fake_secret';
    this.server = http.createServer((rq, rs) => void this.handle(rq, rs));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${this.port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  setFaults(f: Partial<StripeFakeFaults>): void {
    this.faults = { ...NO_FAULTS, ...f };
    this.bucket = { tokens: f.rateLimitPerSec ?? 0, at: Date.now() };
    if (f.seed !== undefined) {
      let x = f.seed >>> 0 || 1;
      this.rng = () => {
        x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
        return x / 0x100000000;
      };
    } else this.rng = Math.random;
  }

  clearFaults(): void {
    this.setFaults({});
  }

  resetCounts(): void {
    this.calls.clear();
    this.replays = 0;
    Object.assign(this.injected, { errors: 0, dropsBefore: 0, dropsAfter: 0, rateLimited: 0 });
  }

  count(endpoint: string): number {
    return this.calls.get(endpoint) ?? 0;
  }

  totalCalls(): number {
    let n = 0;
    for (const v of this.calls.values()) n += v;
    return n;
  }

  /** Stripe invoices whose metadata[key] = value. */
  invoicesWhere(key: string, value: string): Obj[] {
    return [...this.invoices.values()].filter((i) => (i.metadata as Record<string, string>)[key] === value);
  }

  private id(prefix: string): string {
    this.seq++;
    return `${prefix}_fake${String(this.seq).padStart(8, '0')}${crypto.randomBytes(4).toString('hex')}`;
  }

  private now(): number {
    return ++this.clock;
  }

  // ---- test controls: what a customer or Stripe would do --------------------------------

  /** The customer pays the invoice in full (card): status paid, a payment intent and charge. */
  payInvoice(id: string): { invoice: Obj; charge: Obj; paymentIntentId: string } {
    const inv = this.mustInvoice(id);
    if (inv.status !== 'open') throw new Error(`fake: cannot pay an invoice in status ${String(inv.status)}`);
    const amount = Number(inv.amount_remaining);
    const pi = this.id('pi');
    const charge: Obj = {
      id: this.id('ch'), object: 'charge', amount, amount_refunded: 0, refunded: false, currency: inv.currency,
      customer: inv.customer, payment_intent: pi, paid: true, status: 'succeeded', metadata: {}, created: this.now(),
    };
    this.charges.set(String(charge.id), charge);
    const ip = { id: this.id('inpay'), object: 'invoice_payment', invoice: id, amount_paid: amount, currency: inv.currency, is_default: true, status: 'paid', payment: { type: 'payment_intent', payment_intent: pi } };
    this.invoicePayments.set(ip.id, ip);
    Object.assign(inv, {
      status: 'paid', amount_paid: Number(inv.amount_paid) + amount, amount_remaining: 0,
      status_transitions: { ...(inv.status_transitions as Obj), paid_at: this.now() },
    });
    return { invoice: structuredClone(inv), charge: structuredClone(charge), paymentIntentId: pi };
  }

  // ---- h/stripe: what the Dashboard, a bank or a cardholder does ----

  /** Stripe forgets idempotency keys after 24 hours. */
  forgetIdempotencyKeys(): void {
    this.idempotency.clear();
  }

  /** The treasurer voids the invoice by hand in the Stripe Dashboard. */
  voidFromDashboard(id: string): Obj {
    return this.voidInvoice(id);
  }

  /** A SEPA debit starts (takes days): a payment intent `processing`, the invoice payment `open`, the invoice still open. */
  startProcessing(id: string): { paymentIntent: Obj } {
    const inv = this.mustInvoice(id);
    if (inv.status !== 'open') throw new Error('fake: only open invoices can be debited');
    const amount = Number(inv.amount_remaining);
    const pi: Obj = { id: this.id('pi'), object: 'payment_intent', amount, currency: inv.currency, status: 'processing', customer: inv.customer, payment_method_types: ['sepa_debit'], created: this.now() };
    this.paymentIntents.set(String(pi.id), pi);
    const ip = { id: this.id('inpay'), object: 'invoice_payment', invoice: id, amount_paid: null, amount_requested: amount, currency: inv.currency, is_default: true, status: 'open', payment: { type: 'payment_intent', payment_intent: pi.id }, created: this.now() };
    this.invoicePayments.set(ip.id, ip);
    return { paymentIntent: structuredClone(pi) };
  }

  /** The debit ends: succeeded (the invoice paid, a charge) or failed (the invoice open again). */
  finishProcessing(paymentIntentId: string, outcome: 'succeeded' | 'failed'): { paymentIntent: Obj; invoice: Obj; charge?: Obj } {
    const pi = this.paymentIntents.get(paymentIntentId);
    if (!pi) throw new Error(`fake: no payment intent ${paymentIntentId}`);
    const ip = [...this.invoicePayments.values()].find((x) => (x.payment as Obj).payment_intent === paymentIntentId)!;
    const inv = this.mustInvoice(String(ip.invoice));
    let charge: Obj | undefined;
    if (outcome === 'succeeded') {
      pi.status = 'succeeded';
      const amount = Number(pi.amount);
      charge = { id: this.id('ch'), object: 'charge', amount, amount_refunded: 0, refunded: false, currency: inv.currency, customer: inv.customer, payment_intent: pi.id, paid: true, status: 'succeeded', metadata: {}, created: this.now() };
      this.charges.set(String(charge.id), charge);
      Object.assign(ip, { status: 'paid', amount_paid: amount });
      Object.assign(inv, { status: 'paid', amount_paid: Number(inv.amount_paid) + amount, amount_remaining: 0, status_transitions: { ...(inv.status_transitions as Obj), paid_at: this.now() } });
    } else {
      pi.status = 'requires_payment_method';
      ip.status = 'canceled';
    }
    return { paymentIntent: structuredClone(pi), invoice: structuredClone(inv), ...(charge ? { charge: structuredClone(charge) } : {}) };
  }

  /** The cardholder disputes a charge. */
  openDispute(chargeId: string): Obj {
    const ch = this.charges.get(chargeId);
    if (!ch) throw new Error(`fake: no charge ${chargeId}`);
    const d: Obj = { id: this.id('dp'), object: 'dispute', amount: ch.amount, currency: ch.currency, charge: chargeId, payment_intent: ch.payment_intent, status: 'needs_response', reason: 'fraudulent', created: this.now(), livemode: false, metadata: {} };
    this.disputes.set(String(d.id), d);
    ch.disputed = true;
    return structuredClone(d);
  }

  /** The card network decides. */
  closeDispute(disputeId: string, status: 'won' | 'lost'): Obj {
    const d = this.disputes.get(disputeId);
    if (!d) throw new Error(`fake: no dispute ${disputeId}`);
    d.status = status;
    return structuredClone(d);
  }

  markUncollectible(id: string): Obj {
    const inv = this.mustInvoice(id);
    if (inv.status !== 'open') throw new Error('fake: only open invoices can be marked uncollectible');
    inv.status = 'uncollectible';
    return structuredClone(inv);
  }

  /** A refund on a charge (cumulative amount_refunded, as Stripe reports it). */
  refundCharge(chargeId: string, amountCents?: number): Obj {
    const ch = this.charges.get(chargeId);
    if (!ch) throw new Error(`fake: no charge ${chargeId}`);
    const amount = amountCents ?? Number(ch.amount) - Number(ch.amount_refunded);
    ch.amount_refunded = Number(ch.amount_refunded) + amount;
    ch.refunded = ch.amount_refunded === ch.amount;
    return structuredClone(ch);
  }

  /** An event as Stripe would post it. */
  event(type: string, object: Obj, opts: { id?: string; created?: number } = {}): Obj {
    return {
      id: opts.id ?? this.id('evt'), object: 'event', api_version: Stripe.API_VERSION, created: opts.created ?? this.now(),
      livemode: false, pending_webhooks: 1, request: { id: null, idempotency_key: null }, type, data: { object: structuredClone(object) },
    };
  }

  /** The raw body and a valid Stripe-Signature header for an event. */
  signed(event: Obj, secret = this.webhookSecret, timestamp?: number): { body: string; signature: string } {
    const body = JSON.stringify(event);
    const signature = Stripe.webhooks.generateTestHeaderString({ payload: body, secret, ...(timestamp ? { timestamp } : {}) });
    return { body, signature };
  }

  // ---- the HTTP side -------------------------------------------------------------------

  private route(method: string, path: string): string {
    return `${method} ${path.replace(/\/(in|cus|ii|cn|ch|pi|dp)_[A-Za-z0-9]+/g, '/:id')}`;
  }

  private allow(): boolean {
    const rate = this.faults.rateLimitPerSec;
    if (!rate) return true;
    const now = Date.now();
    this.bucket.tokens = Math.min(rate, this.bucket.tokens + ((now - this.bucket.at) / 1000) * rate);
    this.bucket.at = now;
    if (this.bucket.tokens < 1) return false;
    this.bucket.tokens -= 1;
    return true;
  }

  private async handle(rq: http.IncomingMessage, rs: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of rq) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const u = new URL(rq.url ?? '/', 'http://fake');
    const method = rq.method ?? 'GET';
    const endpoint = this.route(method, u.pathname);
    this.calls.set(endpoint, (this.calls.get(endpoint) ?? 0) + 1);

    const send = (status: number, body: string, headers: Record<string, string> = {}) => {
      rs.writeHead(status, { 'Content-Type': 'application/json', 'Request-Id': `req_${crypto.randomBytes(6).toString('hex')}`, ...headers });
      rs.end(body);
    };
    const sendError = (e: ApiError) => send(e.status, JSON.stringify({ error: { type: e.type, message: e.message, ...(e.param ? { param: e.param } : {}), ...(e.code ? { code: e.code } : {}) } }));

    if (this.faults.latencyMs > 0) await new Promise((r) => setTimeout(r, this.faults.latencyMs));

    const auth = rq.headers.authorization ?? '';
    if (auth !== `Bearer ${this.apiKey}`) {
      return sendError(new ApiError(401, 'invalid_request_error', auth ? 'Invalid API Key provided: ' + auth.slice(7, 15) + '…' : 'You did not provide an API key.'));
    }
    if (!this.allow()) {
      this.injected.rateLimited++;
      return sendError(new ApiError(429, 'invalid_request_error', 'Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.', undefined, 'rate_limit'));
    }
    let dropAfter = false;
    if (this.faults.dropRate > 0 && this.rng() < this.faults.dropRate) {
      if (this.rng() < 0.5) {
        this.injected.dropsBefore++;
        rq.socket.destroy();
        return;
      }
      dropAfter = true;
    }
    if (!dropAfter && this.faults.errorRate > 0 && this.rng() < this.faults.errorRate) {
      this.injected.errors++;
      return sendError(new ApiError(500, 'api_error', 'An unknown error occurred on our side (fake).'));
    }

    const params = method === 'GET' ? parseStripeForm(u.search.slice(1)) : parseStripeForm(raw);
    const key = method === 'POST' ? (rq.headers['idempotency-key'] as string | undefined) : undefined;
    let status = 200;
    let body: string;
    let replayed = false;
    const fingerprint = `${method} ${u.pathname} ${canonical(params)}`;
    const stored = key ? this.idempotency.get(key) : undefined;
    if (stored) {
      if (stored.fingerprint !== fingerprint) {
        return sendError(new ApiError(400, 'idempotency_error', `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`));
      }
      this.replays++;
      replayed = true;
      status = stored.status;
      body = stored.body;
    } else {
      try {
        body = JSON.stringify(this.dispatch(method, u.pathname, params));
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        // Stripe saves no idempotent result for a request that failed validation.
        return sendError(e);
      }
      if (key) this.idempotency.set(key, { fingerprint, status, body });
    }
    if (dropAfter) {
      this.injected.dropsAfter++;
      rq.socket.destroy();
      return;
    }
    send(status, body, replayed ? { 'Idempotent-Replayed': 'true' } : {});
  }

  private mustInvoice(id: string): Obj {
    const inv = this.invoices.get(id);
    if (!inv) throw new ApiError(404, 'invalid_request_error', `No such invoice: '${id}'`, 'id', 'resource_missing');
    return inv;
  }

  private dispatch(method: string, path: string, p: Params): Obj {
    let m: RegExpMatchArray | null;
    if (method === 'POST' && path === '/v1/customers') return this.createCustomer(p);
    if (method === 'POST' && path === '/v1/invoices') return this.createInvoice(p);
    if (method === 'POST' && path === '/v1/invoiceitems') return this.createInvoiceItem(p);
    if (method === 'POST' && (m = path.match(/^\/v1\/invoices\/([^/]+)\/finalize$/))) return this.finalize(m[1], p);
    if (method === 'POST' && (m = path.match(/^\/v1\/invoices\/([^/]+)\/void$/))) return this.voidInvoice(m[1]);
    if (method === 'POST' && path === '/v1/credit_notes') return this.createCreditNote(p);
    // h/stripe
    if (method === 'POST' && (m = path.match(/^\/v1\/invoices\/([^/]+)\/pay$/))) return this.payOutOfBand(m[1], p);
    if (method === 'GET' && path === '/v1/invoices/search') return this.search([...this.invoices.values()], p, '/v1/invoices/search');
    if (method === 'GET' && path === '/v1/customers/search') return this.search([...this.customers.values()], p, '/v1/customers/search');
    if (method === 'POST' && (m = path.match(/^\/v1\/customers\/([^/]+)$/))) return this.updateCustomer(m[1], p);
    if (method === 'GET' && (m = path.match(/^\/v1\/customers\/([^/]+)\/tax_ids$/))) {
      const c = this.mustCustomer(m[1]);
      return structuredClone(c.tax_ids as Obj);
    }
    if (method === 'POST' && (m = path.match(/^\/v1\/customers\/([^/]+)\/tax_ids$/))) return this.addTaxId(m[1], p);
    if (method === 'GET' && (m = path.match(/^\/v1\/disputes\/([^/]+)$/))) {
      const d = this.disputes.get(m[1]);
      if (!d) throw new ApiError(404, 'invalid_request_error', `No such dispute: '${m[1]}'`, 'dispute', 'resource_missing');
      return structuredClone(d);
    }
    if (method === 'GET' && (m = path.match(/^\/v1\/invoices\/([^/]+)$/)) && Array.isArray(p.expand) && p.expand.includes('payments')) {
      const inv = structuredClone(this.mustInvoice(m[1]));
      const data = [...this.invoicePayments.values()].filter((x) => x.invoice === m![1]).map((x) => structuredClone(x));
      return { ...inv, payments: { object: 'list', data, has_more: false, url: `/v1/invoice_payments?invoice=${m[1]}` } };
    }
    if (method === 'GET' && (m = path.match(/^\/v1\/invoices\/([^/]+)$/))) return structuredClone(this.mustInvoice(m[1]));
    if (method === 'GET' && path === '/v1/invoices') return this.listInvoices(p);
    if (method === 'GET' && path === '/v1/invoice_payments') return this.listInvoicePayments(p);
    if (method === 'GET' && (m = path.match(/^\/v1\/customers\/([^/]+)$/))) {
      const c = this.customers.get(m[1]);
      if (!c) throw new ApiError(404, 'invalid_request_error', `No such customer: '${m[1]}'`, 'id', 'resource_missing');
      return structuredClone(c);
    }
    throw new ApiError(404, 'invalid_request_error', `Unrecognized request URL (${method}: ${path}).`);
  }

  // ---- h/stripe ----

  private mustCustomer(id: string): Obj {
    const c = this.customers.get(id);
    if (!c) throw new ApiError(404, 'invalid_request_error', `No such customer: '${id}'`, 'id', 'resource_missing');
    return c;
  }

  /** `POST /v1/invoices/:id/pay` with `paid_out_of_band=true`: paid outside Stripe, recorded as a payment record. */
  private payOutOfBand(id: string, p: Params): Obj {
    const inv = this.mustInvoice(id);
    if (!bool(p.paid_out_of_band, false)) throw new ApiError(400, 'invalid_request_error', 'The fake pays invoices out of band only (paid_out_of_band=true).', 'paid_out_of_band');
    if (inv.status === 'paid') throw new ApiError(400, 'invalid_request_error', 'Invoice is already paid', undefined, 'invoice_already_paid');
    if (inv.status !== 'open' && inv.status !== 'uncollectible') throw new ApiError(400, 'invalid_request_error', `This invoice can no longer be paid: it is ${String(inv.status)}.`, undefined, 'invoice_not_open');
    const amount = Number(inv.amount_remaining);
    const ip = { id: this.id('inpay'), object: 'invoice_payment', invoice: id, amount_paid: amount, amount_requested: amount, currency: inv.currency, is_default: false, status: 'paid', payment: { type: 'payment_record', payment_record: this.id('pr') }, created: this.now() };
    this.invoicePayments.set(ip.id, ip);
    Object.assign(inv, { status: 'paid', amount_paid: Number(inv.amount_paid) + amount, amount_remaining: 0, status_transitions: { ...(inv.status_transitions as Obj), paid_at: this.now() } });
    return structuredClone(inv);
  }

  /** Stripe's search query language, the part we use: `metadata['k']:'v'` joined by AND. */
  private search(all: Obj[], p: Params, url: string): Obj {
    const query = req(p.query, 'query');
    const clauses = query.split(/\s+AND\s+/);
    const conds = clauses.map((c) => {
      const m = /^metadata\['([^']+)'\]:'((?:[^'\\]|\\.)*)'$/.exec(c.trim());
      if (!m) throw new ApiError(400, 'invalid_request_error', `The fake understands metadata['key']:'value' clauses only, not: ${c}`, 'query');
      return { key: m[1], value: m[2].replace(/\\(.)/g, '$1') };
    });
    const limit = int(p.limit, 'limit') ?? 10;
    const data = all.filter((o) => conds.every((c) => (o.metadata as Record<string, string>)[c.key] === c.value)).slice(0, limit).map((o) => structuredClone(o));
    return { object: 'search_result', url, has_more: false, next_page: null, data };
  }

  private updateCustomer(id: string, p: Params): Obj {
    const c = this.mustCustomer(id);
    const address = p.address as Obj | undefined;
    if (address && typeof address === 'object' && address.country !== undefined && !/^[A-Z]{2}$/.test(String(address.country))) {
      throw new ApiError(400, 'invalid_request_error', 'Country must be a two-letter code', 'address[country]');
    }
    if (p.name !== undefined) c.name = p.name;
    if (p.email !== undefined) c.email = p.email;
    if (address) c.address = { line1: null, line2: null, postal_code: null, city: null, state: null, country: null, ...address };
    if (p.preferred_locales !== undefined) {
      if (!Array.isArray(p.preferred_locales)) throw new ApiError(400, 'invalid_request_error', 'Invalid array', 'preferred_locales');
      c.preferred_locales = p.preferred_locales;
    }
    if (p.metadata !== undefined) c.metadata = { ...(c.metadata as Obj), ...metadata(p.metadata) };
    return structuredClone(c);
  }

  private addTaxId(id: string, p: Params): Obj {
    const c = this.mustCustomer(id);
    const type = req(p.type, 'type');
    const value = req(p.value, 'value');
    if (!TAX_ID_TYPES.has(type)) throw new ApiError(400, 'invalid_request_error', `Invalid tax id type: ${type}`, 'type');
    if (type === 'eu_vat' && !/^[A-Z]{2}[0-9A-Z+*.]{2,12}$/.test(value)) throw new ApiError(400, 'invalid_request_error', 'Invalid value for eu_vat.', 'value', 'tax_id_invalid');
    const t = { id: this.id('txi'), object: 'tax_id', type, value, country: value.slice(0, 2), customer: id };
    (c.tax_ids as { data: Obj[] }).data.push(t);
    return structuredClone(t);
  }

  private createCustomer(p: Params): Obj {
    const taxIds: Obj[] = [];
    const tid = p.tax_id_data;
    if (tid !== undefined) {
      if (!Array.isArray(tid)) throw new ApiError(400, 'invalid_request_error', 'Invalid array', 'tax_id_data');
      tid.forEach((t: Obj, i: number) => {
        const type = req(t?.type, `tax_id_data[${i}][type]`);
        const value = req(t?.value, `tax_id_data[${i}][value]`);
        if (!TAX_ID_TYPES.has(type)) throw new ApiError(400, 'invalid_request_error', `Invalid tax id type: ${type}`, `tax_id_data[${i}][type]`);
        if (type === 'eu_vat' && !/^[A-Z]{2}[0-9A-Z+*.]{2,12}$/.test(value)) {
          throw new ApiError(400, 'invalid_request_error', `Invalid value for eu_vat.`, `tax_id_data[${i}][value]`, 'tax_id_invalid');
        }
        taxIds.push({ id: this.id('txi'), object: 'tax_id', type, value, country: value.slice(0, 2) });
      });
    }
    const locales = p.preferred_locales === undefined ? [] : p.preferred_locales;
    if (!Array.isArray(locales)) throw new ApiError(400, 'invalid_request_error', 'Invalid array', 'preferred_locales');
    const address = p.address as Obj | undefined;
    if (address && typeof address === 'object' && address.country !== undefined && !/^[A-Z]{2}$/.test(String(address.country))) {
      throw new ApiError(400, 'invalid_request_error', 'Country must be a two-letter code', 'address[country]');
    }
    const c: Obj = {
      id: this.id('cus'), object: 'customer', created: this.now(), livemode: false,
      name: p.name ?? null, email: p.email ?? null, description: p.description ?? null,
      address: address ? { line1: null, line2: null, postal_code: null, city: null, state: null, country: null, ...address } : null,
      preferred_locales: locales, metadata: metadata(p.metadata), balance: 0, currency: null,
      tax_ids: { object: 'list', data: taxIds, has_more: false },
    };
    this.customers.set(String(c.id), c);
    return structuredClone(c);
  }

  private createInvoice(p: Params): Obj {
    const customer = req(p.customer, 'customer');
    if (!this.customers.has(customer)) throw new ApiError(400, 'invalid_request_error', `No such customer: '${customer}'`, 'customer', 'resource_missing');
    const collection = (p.collection_method as string | undefined) ?? 'charge_automatically';
    if (!['charge_automatically', 'send_invoice'].includes(collection)) throw new ApiError(400, 'invalid_request_error', 'Invalid collection_method', 'collection_method');
    const daysUntilDue = int(p.days_until_due, 'days_until_due');
    if (collection === 'send_invoice' && daysUntilDue === undefined && p.due_date === undefined) {
      throw new ApiError(400, 'invalid_request_error', 'Missing required param: days_until_due.', 'days_until_due', 'parameter_missing');
    }
    const created = this.now();
    // h/stripe: due_date (a future Unix time, not with days_until_due) and payment_settings.payment_method_types
    const dueDate = int(p.due_date, 'due_date');
    if (dueDate !== undefined && daysUntilDue !== undefined) throw new ApiError(400, 'invalid_request_error', 'You may only specify one of these parameters: days_until_due, due_date.', 'due_date');
    if (dueDate !== undefined && collection !== 'send_invoice') throw new ApiError(400, 'invalid_request_error', 'due_date can only be set when collection_method is send_invoice.', 'due_date');
    const ps = p.payment_settings as Obj | undefined;
    const types = ps?.payment_method_types;
    if (types !== undefined && (!Array.isArray(types) || types.some((t) => !['card', 'sepa_debit', 'customer_balance', 'link', 'paypal', 'sofort', 'giropay', 'bancontact', 'ideal'].includes(String(t))))) {
      throw new ApiError(400, 'invalid_request_error', 'Invalid payment_settings[payment_method_types]', 'payment_settings[payment_method_types]');
    }
    const inv: Obj = {
      id: this.id('in'), object: 'invoice', customer, created, livemode: false, status: 'draft',
      payment_settings: { payment_method_types: types ?? null, payment_method_options: null, default_mandate: null },
      starting_balance: 0, ending_balance: null,
      number: (p.number as string | undefined) ?? null, currency: (p.currency as string | undefined) ?? 'eur',
      collection_method: collection, days_until_due: daysUntilDue ?? null, due_date: dueDate ?? null,
      auto_advance: bool(p.auto_advance, collection === 'charge_automatically'), description: p.description ?? null,
      metadata: metadata(p.metadata), amount_due: 0, amount_paid: 0, amount_remaining: 0, subtotal: 0, total: 0,
      hosted_invoice_url: null, invoice_pdf: null, post_payment_credit_notes_amount: 0, pre_payment_credit_notes_amount: 0,
      status_transitions: { finalized_at: null, paid_at: null, voided_at: null, marked_uncollectible_at: null },
      lines: { object: 'list', data: [], has_more: false, url: '' },
    };
    (inv.lines as Obj).url = `/v1/invoices/${String(inv.id)}/lines`;
    this.invoices.set(String(inv.id), inv);
    return structuredClone(inv);
  }

  private createInvoiceItem(p: Params): Obj {
    const customer = req(p.customer, 'customer');
    if (!this.customers.has(customer)) throw new ApiError(400, 'invalid_request_error', `No such customer: '${customer}'`, 'customer', 'resource_missing');
    const amount = int(p.amount, 'amount', p.price_data === undefined && p.pricing === undefined);
    const currency = req(p.currency, 'currency');
    const invoiceId = p.invoice as string | undefined;
    const item: Obj = {
      id: this.id('ii'), object: 'invoiceitem', customer, amount, currency, description: p.description ?? null,
      invoice: invoiceId ?? null, metadata: metadata(p.metadata), date: this.now(),
    };
    if (invoiceId) {
      const inv = this.invoices.get(invoiceId);
      if (!inv) throw new ApiError(400, 'invalid_request_error', `No such invoice: '${invoiceId}'`, 'invoice', 'resource_missing');
      if (inv.customer !== customer) throw new ApiError(400, 'invalid_request_error', 'The invoice belongs to another customer.', 'invoice');
      if (inv.status !== 'draft') throw new ApiError(400, 'invalid_request_error', 'Invoice items can only be added to draft invoices.', 'invoice');
      if (inv.currency !== currency) throw new ApiError(400, 'invalid_request_error', 'Currency does not match the invoice.', 'currency');
      (inv.lines as { data: Obj[] }).data.push({ id: this.id('il'), object: 'line_item', amount, currency, description: item.description, invoice_item: item.id });
      const total = (inv.lines as { data: Obj[] }).data.reduce((s, l) => s + Number(l.amount), 0);
      Object.assign(inv, { subtotal: total, total, amount_due: total, amount_remaining: total });
    }
    this.invoiceItems.set(String(item.id), item);
    return structuredClone(item);
  }

  private finalize(id: string, p: Params): Obj {
    const inv = this.mustInvoice(id);
    if (inv.status !== 'draft') throw new ApiError(400, 'invalid_request_error', 'This invoice is already finalized, you can\'t re-finalize a non-draft invoice.', undefined, 'invoice_not_editable');
    const at = this.now();
    // h/stripe: a credit balance of the customer (negative) is applied to the invoice at finalization
    const cust = this.customers.get(String(inv.customer));
    const balance = Number(cust?.balance ?? 0);
    const applied = balance < 0 ? Math.min(-balance, Number(inv.amount_due)) : 0;
    inv.starting_balance = balance;
    inv.ending_balance = balance + applied;
    if (cust) cust.balance = balance + applied;
    inv.amount_due = Number(inv.amount_due) - applied;
    inv.amount_remaining = Number(inv.amount_remaining) - applied;
    Object.assign(inv, {
      status: Number(inv.amount_due) === 0 ? 'paid' : 'open',
      number: inv.number ?? `FAKE-${String(this.seq).padStart(4, '0')}`,
      auto_advance: bool(p.auto_advance, Boolean(inv.auto_advance)),
      hosted_invoice_url: `${this.url}/i/${id}`,
      invoice_pdf: `${this.url}/i/${id}/pdf`,
      due_date: inv.due_date ?? (inv.days_until_due === null ? null : at + Number(inv.days_until_due) * 86_400),
      status_transitions: { ...(inv.status_transitions as Obj), finalized_at: at },
    });
    return structuredClone(inv);
  }

  private voidInvoice(id: string): Obj {
    const inv = this.mustInvoice(id);
    if (inv.status !== 'open' && inv.status !== 'uncollectible') {
      throw new ApiError(400, 'invalid_request_error', `You can only pass in open invoices. This invoice is ${String(inv.status)}.`, undefined, 'invoice_not_open');
    }
    Object.assign(inv, { status: 'void', status_transitions: { ...(inv.status_transitions as Obj), voided_at: this.now() } });
    return structuredClone(inv);
  }

  private createCreditNote(p: Params): Obj {
    const invoiceId = req(p.invoice, 'invoice');
    const inv = this.invoices.get(invoiceId);
    if (!inv) throw new ApiError(400, 'invalid_request_error', `No such invoice: '${invoiceId}'`, 'invoice', 'resource_missing');
    if (inv.status !== 'open' && inv.status !== 'paid') throw new ApiError(400, 'invalid_request_error', 'Credit notes can only be issued for open or paid invoices.', 'invoice');
    const amount = int(p.amount, 'amount', p.lines === undefined) ?? 0;
    const credited = Number(inv.pre_payment_credit_notes_amount) + Number(inv.post_payment_credit_notes_amount);
    if (amount <= 0 || amount + credited > Number(inv.total)) {
      throw new ApiError(400, 'invalid_request_error', 'The credit note amount exceeds the amount remaining on the invoice.', 'amount');
    }
    const creditAmount = int(p.credit_amount, 'credit_amount') ?? 0;
    const refundAmount = int(p.refund_amount, 'refund_amount') ?? 0;
    const outOfBand = int(p.out_of_band_amount, 'out_of_band_amount') ?? 0;
    if (inv.status === 'paid' && creditAmount + refundAmount + outOfBand !== amount) {
      throw new ApiError(400, 'invalid_request_error', 'For a paid invoice, credit_amount, refund_amount and out_of_band_amount must add up to the credit note amount.', 'amount');
    }
    const cn: Obj = {
      id: this.id('cn'), object: 'credit_note', invoice: invoiceId, customer: inv.customer, amount, currency: inv.currency,
      credit_amount: creditAmount, refund_amount: refundAmount, out_of_band_amount: outOfBand, memo: p.memo ?? null,
      reason: p.reason ?? null, status: 'issued', type: inv.status === 'paid' ? 'post_payment' : 'pre_payment',
      metadata: metadata(p.metadata), created: this.now(),
    };
    if (inv.status === 'paid') {
      inv.post_payment_credit_notes_amount = Number(inv.post_payment_credit_notes_amount) + amount;
      const c = this.customers.get(String(inv.customer));
      if (c) c.balance = Number(c.balance) - creditAmount;
    } else {
      inv.pre_payment_credit_notes_amount = Number(inv.pre_payment_credit_notes_amount) + amount;
      inv.amount_due = Number(inv.amount_due) - amount;
      inv.amount_remaining = Number(inv.amount_remaining) - amount;
      if (Number(inv.amount_remaining) === 0) inv.status = 'paid';
    }
    this.creditNotes.set(String(cn.id), cn);
    return structuredClone(cn);
  }

  private listInvoices(p: Params): Obj {
    const limit = int(p.limit, 'limit') ?? 10;
    if (limit < 1 || limit > 100) throw new ApiError(400, 'invalid_request_error', 'Invalid limit: must be between 1 and 100', 'limit');
    let all = [...this.invoices.values()].reverse(); // newest first
    if (p.status) {
      if (!['draft', 'open', 'paid', 'void', 'uncollectible'].includes(String(p.status))) throw new ApiError(400, 'invalid_request_error', 'Invalid status', 'status');
      all = all.filter((i) => i.status === p.status);
    }
    if (p.customer) all = all.filter((i) => i.customer === p.customer);
    if (p.starting_after) {
      const idx = all.findIndex((i) => i.id === p.starting_after);
      if (idx < 0 && !this.invoices.has(String(p.starting_after))) {
        throw new ApiError(400, 'invalid_request_error', `No such invoice: '${String(p.starting_after)}'`, 'starting_after', 'resource_missing');
      }
      all = idx < 0 ? [] : all.slice(idx + 1);
    }
    const data = all.slice(0, limit).map((i) => structuredClone(i));
    return { object: 'list', url: '/v1/invoices', has_more: all.length > limit, data };
  }

  private listInvoicePayments(p: Params): Obj {
    const payment = p.payment as Obj | undefined;
    let all = [...this.invoicePayments.values()];
    if (p.invoice) all = all.filter((x) => x.invoice === p.invoice);
    if (payment?.payment_intent) all = all.filter((x) => (x.payment as Obj).payment_intent === payment.payment_intent);
    const limit = int(p.limit, 'limit') ?? 10;
    return { object: 'list', url: '/v1/invoice_payments', has_more: all.length > limit, data: all.slice(0, limit).map((x) => structuredClone(x)) };
  }
}
