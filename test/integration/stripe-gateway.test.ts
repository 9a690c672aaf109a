import { expect } from 'chai';
import { StripeFake, parseStripeForm } from '../fakes/stripe-fake.ts';
import { StripeGateway, createGateway, sdkHostOptions } from '../../server/stripe/stripe-gateway.ts';
import { GatewayError, WebhookSignatureError, type GatewayCustomerInput, type GatewayInvoiceInput } from '../../server/stripe/gateway.ts';
import { loadConfig } from '../../server/config.ts';

const customer: GatewayCustomerInput = {
  organisationId: 7,
  memberNumber: 'M-0007',
  name: 'Harzer Chemie GmbH',
  email: 'buchhaltung@harzer-chemie.example',
  address: { line1: 'Hüttenstraße 3', postalCode: '38640', city: 'Goslar', country: 'DE' },
  vatId: 'DE123456789',
  locale: 'en',
};

function invoiceInput(customerId: string, n = 1): GatewayInvoiceInput {
  const number = `2027-${String(n).padStart(4, '0')}`;
  return {
    customerId, localInvoiceId: n, number, amountCents: 120000, currency: 'eur',
    description: 'Mitgliedsbeitrag 2027 (01.01.2027–31.12.2027)', daysUntilDue: 30,
    metadata: { local_invoice_id: String(n), invoice_number: number, installation_id: 'inst-test' },
  };
}

describe('stripe gateway against the local Stripe fake', () => {
  let fake: StripeFake;
  let gw: StripeGateway;

  before(async () => {
    fake = await new StripeFake().start();
    gw = new StripeGateway({
      secretKey: fake.apiKey, webhookSecret: fake.webhookSecret, apiUrl: fake.url,
      concurrency: 4, initialRetryDelaySec: 0.02, maxRetryDelaySec: 0.1,
    });
  });
  after(async () => fake.stop());
  beforeEach(() => {
    fake.clearFaults();
    fake.resetCounts();
  });

  it('parses STRIPE_API_URL into the SDK host, port and protocol', () => {
    expect(sdkHostOptions('http://127.0.0.1:12111')).to.deep.equal({ host: '127.0.0.1', port: 12111, protocol: 'http' });
    expect(sdkHostOptions('https://api.example.org')).to.deep.equal({ host: 'api.example.org', port: 443, protocol: 'https' });
  });

  it('is disabled without STRIPE_SECRET_KEY and on with one', async () => {
    const off = createGateway(loadConfig({ NODE_ENV: 'test' }));
    expect(off.enabled).to.equal(false);
    let err: unknown;
    try { await off.getInvoice('in_x'); } catch (e) { err = e; }
    expect(err).to.be.instanceOf(GatewayError);
    const on = createGateway(loadConfig({ NODE_ENV: 'test', STRIPE_SECRET_KEY: fake.apiKey, STRIPE_API_URL: fake.url }));
    expect(on.enabled).to.equal(true);
    const c = await on.createCustomer(customer, 'customer-org-env');
    expect(c.customerId).to.match(/^cus_/);
  });

  it('decodes Stripe\'s nested form encoding', () => {
    expect(parseStripeForm('metadata%5Bx%5D=y&tax_id_data%5B0%5D%5Btype%5D=eu_vat&tax_id_data%5B0%5D%5Bvalue%5D=DE1&a=b+c')).to.deep.equal({
      metadata: { x: 'y' }, tax_id_data: [{ type: 'eu_vat', value: 'DE1' }], a: 'b c',
    });
  });

  it('creates a customer with address, EU VAT tax id and preferred locale', async () => {
    const { customerId } = await gw.createCustomer(customer, 'customer-org-7');
    const c = fake.customers.get(customerId)!;
    expect(c.name).to.equal('Harzer Chemie GmbH');
    expect(c.email).to.equal('buchhaltung@harzer-chemie.example');
    expect(c.preferred_locales).to.deep.equal(['en']);
    expect(c.address).to.include({ line1: 'Hüttenstraße 3', postal_code: '38640', city: 'Goslar', country: 'DE' });
    expect((c.tax_ids as { data: Array<{ type: string; value: string }> }).data[0]).to.include({ type: 'eu_vat', value: 'DE123456789' });
    expect(c.metadata).to.deep.equal({ organisation_id: '7', member_number: 'M-0007' });
    expect(fake.count('POST /v1/customers')).to.equal(1);
  });

  it('creates a finalized invoice with our number, amount, metadata and a hosted page in 3 calls', async () => {
    const { customerId } = await gw.createCustomer({ ...customer, organisationId: 8 }, 'customer-org-8');
    fake.resetCounts();
    const inv = await gw.createFinalizedInvoice(invoiceInput(customerId, 1), 'invoice-2027-0001');
    expect(inv.status).to.equal('open');
    expect(inv.number).to.equal('2027-0001');
    expect(inv.amountDueCents).to.equal(120000);
    expect(inv.hostedInvoiceUrl).to.match(/^http:\/\/127\.0\.0\.1:\d+\/i\/in_/);
    expect(inv.metadata).to.include({ local_invoice_id: '1', installation_id: 'inst-test' });
    expect(inv.customerId).to.equal(customerId);
    const stored = fake.invoices.get(inv.id)!;
    expect(stored.collection_method).to.equal('send_invoice');
    expect(stored.auto_advance).to.equal(false);
    expect(stored.days_until_due).to.equal(30);
    expect(fake.totalCalls()).to.equal(3);
    expect(fake.count('POST /v1/invoices')).to.equal(1);
    expect(fake.count('POST /v1/invoiceitems')).to.equal(1);
    expect(fake.count('POST /v1/invoices/:id/finalize')).to.equal(1);
  });

  it('returns the same customer and invoice when called again with the same keys', async () => {
    const a = await gw.createCustomer({ ...customer, organisationId: 9 }, 'customer-org-9');
    const b = await gw.createCustomer({ ...customer, organisationId: 9 }, 'customer-org-9');
    expect(b.customerId).to.equal(a.customerId);
    const i1 = await gw.createFinalizedInvoice(invoiceInput(a.customerId, 2), 'invoice-2027-0002');
    const i2 = await gw.createFinalizedInvoice(invoiceInput(a.customerId, 2), 'invoice-2027-0002');
    expect(i2.id).to.equal(i1.id);
    expect(i2.status).to.equal('open');
    expect(fake.invoicesWhere('local_invoice_id', '2')).to.have.length(1);
    expect(fake.replays).to.equal(4);
  });

  it('refuses a key reused with other parameters, like Stripe (400 idempotency_error, not retried)', async () => {
    await gw.createCustomer({ ...customer, organisationId: 10 }, 'customer-org-10');
    let err: unknown;
    try {
      await gw.createCustomer({ ...customer, organisationId: 10, name: 'Other name' }, 'customer-org-10');
    } catch (e) { err = e; }
    expect(err).to.be.instanceOf(GatewayError);
    expect((err as GatewayError).statusCode).to.equal(400);
    expect((err as GatewayError).retryable).to.equal(false);
    expect((err as GatewayError).message).to.contain('same parameters');
    expect(fake.count('POST /v1/customers')).to.equal(2);
  });

  it('reports missing required parameters with Stripe\'s error shape', async () => {
    const res = await fetch(`${fake.url}/v1/invoices`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${fake.apiKey}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'collection_method=send_invoice',
    });
    expect(res.status).to.equal(400);
    expect(await res.json()).to.deep.equal({ error: { type: 'invalid_request_error', message: 'Missing required param: customer.', param: 'customer', code: 'parameter_missing' } });
    const unauth = await fetch(`${fake.url}/v1/invoices/in_x`, { headers: { Authorization: 'Bearer sk_test_wrong' } });
    expect(unauth.status).to.equal(401);
  });

  it('retries 500 answers with backoff and succeeds with one object', async () => {
    const { customerId } = await gw.createCustomer({ ...customer, organisationId: 11 }, 'customer-org-11');
    fake.resetCounts();
    fake.setFaults({ errorRate: 0.5, seed: 42 });
    const inv = await gw.createFinalizedInvoice(invoiceInput(customerId, 3), 'invoice-2027-0003');
    expect(inv.status).to.equal('open');
    expect(fake.injected.errors).to.be.greaterThan(0);
    expect(fake.totalCalls()).to.equal(3 + fake.injected.errors);
    expect(fake.invoicesWhere('local_invoice_id', '3')).to.have.length(1);
  });

  it('retries 429 answers under a rate limit and every invoice is created once', async () => {
    const { customerId } = await gw.createCustomer({ ...customer, organisationId: 12 }, 'customer-org-12');
    fake.resetCounts();
    fake.setFaults({ rateLimitPerSec: 20 });
    const started = Date.now();
    const limited = new StripeGateway({ secretKey: fake.apiKey, apiUrl: fake.url, concurrency: 4, initialRetryDelaySec: 0.1, maxRetryDelaySec: 0.8 });
    const all = await Promise.all(Array.from({ length: 12 }, (_, i) => limited.createFinalizedInvoice(invoiceInput(customerId, 100 + i), `invoice-2027-${100 + i}`)));
    expect(fake.injected.rateLimited).to.be.greaterThan(0);
    expect(new Set(all.map((i) => i.id)).size).to.equal(12);
    for (let i = 0; i < 12; i++) expect(fake.invoicesWhere('local_invoice_id', String(100 + i))).to.have.length(1);
    expect(all.every((i) => i.status === 'open')).to.equal(true);
    // 36 calls at 20/s need well over a second: the gateway waited instead of failing.
    expect(Date.now() - started).to.be.greaterThan(700);
  });

  it('retries dropped connections, before and after Stripe acted, without doubling anything', async () => {
    const { customerId } = await gw.createCustomer({ ...customer, organisationId: 13 }, 'customer-org-13');
    fake.resetCounts();
    fake.setFaults({ dropRate: 0.4, seed: 7 });
    for (let i = 0; i < 5; i++) await gw.createFinalizedInvoice(invoiceInput(customerId, 200 + i), `invoice-2027-${200 + i}`);
    expect(fake.injected.dropsBefore + fake.injected.dropsAfter).to.be.greaterThan(0);
    expect(fake.injected.dropsAfter).to.be.greaterThan(0);
    for (let i = 0; i < 5; i++) expect(fake.invoicesWhere('local_invoice_id', String(200 + i))).to.have.length(1);
    expect(fake.count('POST /v1/invoiceitems')).to.be.at.least(5);
    expect(fake.invoiceItems.size).to.be.at.least(5);
    // each invoice has exactly one line: a replayed item call did not add a second one
    for (let i = 0; i < 5; i++) {
      const inv = fake.invoicesWhere('local_invoice_id', String(200 + i))[0];
      expect((inv.lines as { data: unknown[] }).data).to.have.length(1);
      expect(inv.amount_due).to.equal(120000);
    }
  });

  it('fails with a retryable GatewayError when Stripe stays down', async () => {
    const flaky = new StripeGateway({ secretKey: fake.apiKey, apiUrl: fake.url, maxNetworkRetries: 2, initialRetryDelaySec: 0.01, maxRetryDelaySec: 0.02 });
    fake.setFaults({ errorRate: 1 });
    let err: unknown;
    try { await flaky.getInvoice('in_whatever'); } catch (e) { err = e; }
    expect(err).to.be.instanceOf(GatewayError);
    expect((err as GatewayError).retryable).to.equal(true);
    expect((err as GatewayError).statusCode).to.equal(500);
    expect(fake.count('GET /v1/invoices/:id')).to.equal(3);
  });

  it('waits for a slow Stripe, and gives up with a retryable error past the timeout', async () => {
    fake.setFaults({ latencyMs: 120 });
    const started = Date.now();
    const { customerId } = await gw.createCustomer({ ...customer, organisationId: 17 }, 'customer-org-17');
    expect(Date.now() - started).to.be.at.least(110);
    expect(customerId).to.match(/^cus_/);
    const impatient = new StripeGateway({ secretKey: fake.apiKey, apiUrl: fake.url, timeoutMs: 40, maxNetworkRetries: 1, initialRetryDelaySec: 0.01, maxRetryDelaySec: 0.02 });
    let err: unknown;
    try { await impatient.getInvoice('in_slow'); } catch (e) { err = e; }
    expect(err).to.be.instanceOf(GatewayError);
    expect((err as GatewayError).retryable).to.equal(true);
    expect(fake.count('GET /v1/invoices/:id')).to.equal(2);
  });

  it('voids an open invoice and credits a paid one', async () => {
    const { customerId } = await gw.createCustomer({ ...customer, organisationId: 14 }, 'customer-org-14');
    const a = await gw.createFinalizedInvoice(invoiceInput(customerId, 300), 'invoice-2027-0300');
    const voided = await gw.voidInvoice(a.id, 'invoice-2027-0300-void');
    expect(voided.status).to.equal('void');
    const b = await gw.createFinalizedInvoice(invoiceInput(customerId, 301), 'invoice-2027-0301');
    fake.payInvoice(b.id);
    const paid = await gw.getInvoice(b.id);
    expect(paid).to.include({ status: 'paid', amountPaidCents: 120000 });
    const { creditNoteId } = await gw.creditInvoice(b.id, 120000, 'Stornorechnung 2027-0302', 'invoice-2027-0301-credit');
    const cn = fake.creditNotes.get(creditNoteId)!;
    expect(cn).to.include({ invoice: b.id, amount: 120000, credit_amount: 120000, memo: 'Stornorechnung 2027-0302' });
    const again = await gw.creditInvoice(b.id, 120000, 'Stornorechnung 2027-0302', 'invoice-2027-0301-credit');
    expect(again.creditNoteId).to.equal(creditNoteId);
  });

  it('lists all open invoices across pages', async () => {
    const { customerId } = await gw.createCustomer({ ...customer, organisationId: 15 }, 'customer-org-15');
    await Promise.all(Array.from({ length: 101 }, (_, i) => gw.createFinalizedInvoice(invoiceInput(customerId, 1000 + i), `invoice-2027-${1000 + i}`)));
    const expected = [...fake.invoices.values()].filter((i) => i.status === 'open').length;
    expect(expected).to.be.greaterThan(100); // forces a second page of 100
    fake.resetCounts();
    const seen: string[] = [];
    for await (const inv of gw.listOpenInvoices()) seen.push(inv.id);
    expect(seen).to.have.length(expected);
    expect(new Set(seen).size).to.equal(expected);
    expect(fake.count('GET /v1/invoices')).to.equal(2);
  });

  it('finds the invoice a payment intent paid', async () => {
    const { customerId } = await gw.createCustomer({ ...customer, organisationId: 16 }, 'customer-org-16');
    const inv = await gw.createFinalizedInvoice(invoiceInput(customerId, 500), 'invoice-2027-0500');
    const { paymentIntentId } = fake.payInvoice(inv.id);
    expect(await gw.findInvoiceIdForPaymentIntent(paymentIntentId)).to.equal(inv.id);
    expect(await gw.findInvoiceIdForPaymentIntent('pi_unknown')).to.equal(null);
  });

  it('verifies webhook signatures', () => {
    const ev = fake.event('invoice.paid', { id: 'in_1', object: 'invoice' });
    const { body, signature } = fake.signed(ev);
    const got = gw.verifyWebhook(Buffer.from(body), signature);
    expect(got).to.deep.include({ id: ev.id, type: 'invoice.paid' });
    expect(got.object).to.deep.equal({ id: 'in_1', object: 'invoice' });
    expect(() => gw.verifyWebhook(Buffer.from(body), undefined)).to.throw(WebhookSignatureError);
    expect(() => gw.verifyWebhook(Buffer.from(body + ' '), signature)).to.throw(WebhookSignatureError);
    const other = fake.signed(ev, 'whsec_other');
    expect(() => gw.verifyWebhook(Buffer.from(other.body), other.signature)).to.throw(WebhookSignatureError);
    const old = fake.signed(ev, fake.webhookSecret, Math.floor(Date.now() / 1000) - 3600);
    expect(() => gw.verifyWebhook(Buffer.from(old.body), old.signature)).to.throw(WebhookSignatureError);
  });
});
