import { expect } from 'chai';
import request from 'supertest';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { StripeFake } from '../fakes/stripe-fake.ts';
import { makeInvoice, makeOrganisation } from '../helpers/stripe-fixtures.ts';
import { StripeGateway } from '../../server/stripe/stripe-gateway.ts';
import { disabledGateway, type PaymentGateway } from '../../server/stripe/gateway.ts';
import { StripeSyncService } from '../../server/dues/stripe-sync.service.ts';
import { runReconcileCli } from '../../server/cli/dues.ts';

type Obj = Record<string, unknown>;

async function failure(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

describe('stripe: pushing invoices, webhooks, reconcile and cancellation', () => {
  let env: TestEnv;
  let fake: StripeFake;
  let gateway: StripeGateway;
  let sync: StripeSyncService;

  before(async () => {
    fake = await new StripeFake().start();
    gateway = new StripeGateway({ secretKey: fake.apiKey, webhookSecret: fake.webhookSecret, apiUrl: fake.url, initialRetryDelaySec: 0.01, maxRetryDelaySec: 0.05, maxNetworkRetries: 2 });
    // the context's Stripe sync (used by the dues service and the webhook route) is built with this gateway
    env = await createTestEnv({ env: { STRIPE_SECRET_KEY: fake.apiKey, STRIPE_API_URL: fake.url, STRIPE_WEBHOOK_SECRET: fake.webhookSecret }, gateway });
    expect(env.ctx.gateway.enabled).to.equal(true);
    sync = env.ctx.stripe;
  });
  after(async () => {
    await env.close();
    await fake.stop();
  });
  beforeEach(() => {
    fake.clearFaults();
    fake.resetCounts();
  });

  const invoiceRow = async (id: number) => (await env.db('invoices').where({ id }).first())!;
  const paymentsOf = (id: number) => env.db('payments').where({ invoice_id: id }).orderBy('id');
  const post = (body: string, signature?: string) => {
    const r = request(env.app).post('/webhooks/stripe').set('Content-Type', 'application/json');
    if (signature) r.set('Stripe-Signature', signature);
    return r.send(body);
  };
  const deliver = (type: string, object: Obj, opts: { id?: string; created?: number } = {}) => {
    const ev = fake.event(type, object, opts);
    const { body, signature } = fake.signed(ev);
    return { ev, res: post(body, signature) };
  };

  async function pushedInvoice(opts: { amountCents?: number } = {}): Promise<{ id: number; stripeId: string }> {
    const org = await makeOrganisation(env.db);
    const id = await makeInvoice(env.db, org, opts);
    await sync.pushInvoice(id);
    const row = await invoiceRow(id);
    return { id, stripeId: row.stripe_invoice_id! };
  }

  describe('pushInvoice', () => {
    it('creates the customer and a finalized invoice in 4 calls, then 3 for the same member, 0 when repeated', async () => {
      const org = await makeOrganisation(env.db, { name: 'Goslarer Pigmente AG', vatId: 'DE811234567' });
      const first = await makeInvoice(env.db, org, { year: 2027, locale: 'en' });
      await sync.pushInvoice(first);
      expect(fake.totalCalls()).to.equal(4);
      const row = await invoiceRow(first);
      expect(row.stripe_invoice_id).to.match(/^in_/);
      expect(row.hosted_invoice_url).to.match(/\/i\/in_/);
      expect(row.stripe_state).to.equal('open');
      const cust = (await env.db('stripe_customers').where({ organisation_id: org }).first())!;
      expect(row.stripe_customer_id).to.equal(cust.customer_id);
      const c = fake.customers.get(cust.customer_id)!;
      expect(c).to.include({ name: 'Goslarer Pigmente AG', email: `billing${org}@example.org` });
      expect(c.preferred_locales).to.deep.equal(['en']);
      expect((c.tax_ids as { data: Obj[] }).data[0]).to.include({ type: 'eu_vat', value: 'DE811234567' });
      const s = fake.invoices.get(row.stripe_invoice_id!)!;
      expect(s).to.include({ number: row.number, amount_due: 120000, status: 'open', customer: cust.customer_id, days_until_due: null });
      // h/stripe: the PDF's due date (the end of that day in Berlin), the payment methods of the settings
      const due = new Date(Number(s.due_date) * 1000);
      expect(due.toLocaleDateString('sv-SE', { timeZone: 'Europe/Berlin' })).to.equal(row.due_date);
      expect(due.toLocaleTimeString('de-DE', { timeZone: 'Europe/Berlin' })).to.equal('23:59:59');
      expect((s.payment_settings as Obj).payment_method_types).to.deep.equal(['card', 'sepa_debit']);
      expect(s.metadata).to.include({ local_invoice_id: String(first), invoice_number: row.number });
      expect(String(s.description)).to.contain('Mitgliedsbeitrag 2027 (01/01/2027–31/12/2027)');

      fake.resetCounts();
      const second = await makeInvoice(env.db, org, { year: 2028, locale: 'en' }); // h/stripe: the same data (another language would update the customer)
      await sync.pushInvoice(second);
      expect(fake.totalCalls()).to.equal(3);
      expect(fake.count('POST /v1/customers')).to.equal(0);

      fake.resetCounts();
      await sync.pushInvoice(second);
      expect(fake.totalCalls()).to.equal(0);
    });

    it('after a crash at any point, pushing again ends with one customer and one Stripe invoice', async () => {
      const org = await makeOrganisation(env.db);
      const id = await makeInvoice(env.db, org);
      // crash 1: the process dies after Stripe created the customer, before we stored it
      const dieAfterCustomer: PaymentGateway = Object.assign(Object.create(gateway), {
        async createCustomer(...a: Parameters<PaymentGateway['createCustomer']>) {
          await gateway.createCustomer(...a);
          throw new Error('process killed');
        },
      });
      expect(await failure(new StripeSyncService({ ...env.ctx, gateway: dieAfterCustomer }).pushInvoice(id))).to.equal('process killed');
      // crash 2: the process dies after the invoice was finalized, before its id was stored
      const dieAfterInvoice: PaymentGateway = Object.assign(Object.create(gateway), {
        async createFinalizedInvoice(...a: Parameters<PaymentGateway['createFinalizedInvoice']>) {
          await gateway.createFinalizedInvoice(...a);
          throw new Error('process killed');
        },
      });
      expect(await failure(new StripeSyncService({ ...env.ctx, gateway: dieAfterInvoice }).pushInvoice(id))).to.equal('process killed');
      expect((await invoiceRow(id)).stripe_invoice_id).to.equal(null);
      await sync.pushInvoice(id);
      const row = await invoiceRow(id);
      const mine = fake.invoicesWhere('local_invoice_id', String(id));
      expect(mine).to.have.length(1);
      expect(row.stripe_invoice_id).to.equal(mine[0].id);
      expect([...fake.customers.values()].filter((c) => (c.metadata as Obj).organisation_id === String(org))).to.have.length(1);
      expect((mine[0].lines as { data: unknown[] }).data).to.have.length(1);
    });

    it('does nothing with Stripe off', async () => {
      const org = await makeOrganisation(env.db);
      const id = await makeInvoice(env.db, org);
      env.ctx.gateway = disabledGateway; // the webhook route asks the context's gateway on each request
      try {
        await new StripeSyncService({ ...env.ctx, gateway: disabledGateway }).pushInvoice(id);
        const res = await request(env.app).post('/webhooks/stripe').set('Content-Type', 'application/json').set('Stripe-Signature', 't=1,v1=x').send('{}');
        expect(res.status).to.equal(404);
      } finally {
        env.ctx.gateway = gateway;
      }
      expect((await invoiceRow(id)).stripe_invoice_id).to.equal(null);
      expect(fake.totalCalls()).to.equal(0);
    });
  });

  describe('webhook /webhooks/stripe', () => {
    it('answers 400 without body or signature and 401 on a bad signature, changing nothing', async () => {
      const { id, stripeId } = await pushedInvoice();
      fake.payInvoice(stripeId);
      const ev = fake.event('invoice.paid', fake.invoices.get(stripeId)!);
      const { body, signature } = fake.signed(ev);
      expect((await post('', signature)).status).to.equal(400);
      expect((await post(body)).status).to.equal(400);
      expect((await post(body, signature.replace(/v1=[0-9a-f]{4}/, 'v1=0000'))).status).to.equal(401);
      const wrongSecret = fake.signed(ev, 'whsec_attacker');
      expect((await post(wrongSecret.body, wrongSecret.signature)).status).to.equal(401);
      expect((await post(body.replace('"paid"', '"void"'), signature)).status).to.equal(401);
      expect(await env.db('stripe_events').where({ event_id: String(ev.id) }).first()).to.equal(undefined);
      expect((await invoiceRow(id)).status).to.equal('open');
      expect(await paymentsOf(id)).to.have.length(0);
    });

    it('records invoice.paid once, however often the event or its twin arrives', async () => {
      const { id, stripeId } = await pushedInvoice();
      fake.payInvoice(stripeId);
      const paidObj = fake.invoices.get(stripeId)!;
      const { ev, res } = deliver('invoice.paid', paidObj);
      expect((await res).status).to.equal(200);
      let row = await invoiceRow(id);
      expect(row).to.include({ status: 'paid', paid_cents: 120000, stripe_state: 'paid' });
      const pays = await paymentsOf(id);
      expect(pays).to.have.length(1);
      expect(pays[0]).to.include({ amount_cents: 120000, method: 'stripe', stripe_ref: stripeId });
      // replay of the same event
      const again = fake.signed(ev);
      const r2 = await post(again.body, again.signature);
      expect(r2.status).to.equal(200);
      expect(r2.body.duplicate).to.equal(true);
      // another event about the same payment
      expect((await deliver('invoice.payment_succeeded', paidObj).res).status).to.equal(200);
      row = await invoiceRow(id);
      expect(row.paid_cents).to.equal(120000);
      expect(await paymentsOf(id)).to.have.length(1);
      const stored = (await env.db('stripe_events').where({ event_id: String(ev.id) }).first())!;
      expect(stored.processed_at).to.be.a('string');
      expect(await env.db('audit_log').where({ entity_type: 'invoice', entity_id: id, action: 'payment.recorded' })).to.have.length(1);
    });

    it('keeps an invoice paid when invoice.payment_failed arrives after invoice.paid', async () => {
      const { id, stripeId } = await pushedInvoice();
      const failedEarlier = fake.event('invoice.payment_failed', fake.invoices.get(stripeId)!); // happened first…
      fake.payInvoice(stripeId);
      expect((await deliver('invoice.paid', fake.invoices.get(stripeId)!).res).status).to.equal(200);
      const late = fake.signed(failedEarlier); // …but is delivered last
      expect((await post(late.body, late.signature)).status).to.equal(200);
      const row = await invoiceRow(id);
      expect(row).to.include({ status: 'paid', stripe_state: 'paid', paid_cents: 120000 });
      expect(await paymentsOf(id)).to.have.length(1);
    });

    it('records a failed payment on an open invoice without changing what is owed', async () => {
      const { id, stripeId } = await pushedInvoice();
      expect((await deliver('invoice.payment_failed', fake.invoices.get(stripeId)!).res).status).to.equal(200);
      expect(await invoiceRow(id)).to.include({ status: 'open', stripe_state: 'payment_failed', paid_cents: 0 });
    });

    it('records payment_action_required and e-mails the billing contact the payment link once', async () => {
      const { id, stripeId } = await pushedInvoice();
      const obj = fake.invoices.get(stripeId)!;
      expect((await deliver('invoice.payment_action_required', obj).res).status).to.equal(200);
      expect((await deliver('invoice.payment_action_required', obj).res).status).to.equal(200);
      const row = await invoiceRow(id);
      expect(row.stripe_state).to.equal('action_required');
      const mails = await env.db('mail_messages').where({ related_type: 'invoice', related_id: id, template: 'invoice_payment_action_required' });
      expect(mails).to.have.length(1);
      expect(mails[0].to_address).to.equal(row.contact_email);
      expect(mails[0].text_body).to.contain(row.hosted_invoice_url);
      expect(mails[0].subject).to.contain(row.number);
    });

    it('marks the invoice uncollectible and notes a voided Stripe invoice', async () => {
      const a = await pushedInvoice();
      fake.markUncollectible(a.stripeId);
      expect((await deliver('invoice.marked_uncollectible', fake.invoices.get(a.stripeId)!).res).status).to.equal(200);
      expect(await invoiceRow(a.id)).to.include({ status: 'uncollectible', stripe_state: 'uncollectible' });
      const b = await pushedInvoice();
      await gateway.voidInvoice(b.stripeId, 'dashboard-void');
      expect((await deliver('invoice.voided', fake.invoices.get(b.stripeId)!).res).status).to.equal(200);
      expect(await invoiceRow(b.id)).to.include({ status: 'open', stripe_state: 'void' });
    });

    it('records refunds as negative payments, each amount once, older events adding nothing', async () => {
      const { id, stripeId } = await pushedInvoice();
      const { charge } = fake.payInvoice(stripeId);
      await (deliver('invoice.paid', fake.invoices.get(stripeId)!).res);
      const partial = fake.refundCharge(String(charge.id), 20000);
      const { ev: partialEv, res } = deliver('charge.refunded', partial);
      expect((await res).status).to.equal(200);
      let row = await invoiceRow(id);
      expect(row).to.include({ status: 'partially_paid', paid_cents: 100000, stripe_state: 'partially_refunded' });
      const full = fake.refundCharge(String(charge.id));
      expect((await deliver('charge.refunded', full).res).status).to.equal(200);
      // the first refund's event is delivered again, late, under a new id
      expect((await deliver('charge.refunded', (partialEv.data as { object: Obj }).object).res).status).to.equal(200);
      row = await invoiceRow(id);
      expect(row).to.include({ status: 'open', paid_cents: 0, stripe_state: 'refunded' });
      const pays = await paymentsOf(id);
      expect(pays.map((p) => p.amount_cents)).to.deep.equal([120000, -20000, -100000]);
      // a late invoice.paid does not bring the money back
      expect((await deliver('invoice.paid', fake.invoices.get(stripeId)!).res).status).to.equal(200);
      expect(await invoiceRow(id)).to.include({ paid_cents: 0, stripe_state: 'refunded' });
    });

    it('answers 200 for events that are not ours and for types we ignore', async () => {
      const foreign = { id: 'in_someone_else', object: 'invoice', status: 'paid', metadata: {} };
      const r1 = await deliver('invoice.paid', foreign).res;
      expect(r1.status).to.equal(200);
      expect(r1.body.outcome).to.equal('not_ours');
      const otherInstall = { id: 'in_other_install', object: 'invoice', status: 'paid', metadata: { local_invoice_id: '1', installation_id: 'another-installation', invoice_number: '2027-0001' } };
      const r2 = await deliver('invoice.paid', otherInstall).res;
      expect(r2.status).to.equal(200);
      expect(r2.body.outcome).to.equal('not_ours');
      const r3 = await deliver('customer.created', { id: 'cus_x', object: 'customer' }).res;
      expect(r3.status).to.equal(200);
      expect(r3.body.outcome).to.equal('ignored');
      expect(fake.totalCalls()).to.equal(0);
    });

    it('answers 503 for an invoice that looks ours but is not stored yet; links one whose push crashed', async () => {
      const installation = await sync.installationId();
      const org = await makeOrganisation(env.db);
      const cust = await gateway.createCustomer({ organisationId: org, memberNumber: 'M-9999', name: 'X', email: 'x@example.org', address: { line1: 'a', postalCode: '1', city: 'c', country: 'DE' }, locale: 'de' }, `test-cust-${org}`);
      const stripeInvoice = (localId: number, number: string) => gateway.createFinalizedInvoice({
        customerId: cust.customerId, localInvoiceId: localId, number, amountCents: 120000, currency: 'eur', description: 'Mitgliedsbeitrag 2027', daysUntilDue: 30,
        metadata: { local_invoice_id: String(localId), invoice_number: number, installation_id: installation },
      }, `invoice-${number}`);

      // ours by its metadata, but no such invoice here (yet): Stripe must retry
      const early = await stripeInvoice(999_999, '2027-9999');
      fake.payInvoice(early.id);
      const ev = fake.event('invoice.paid', fake.invoices.get(early.id)!);
      const { body, signature } = fake.signed(ev);
      const r1 = await post(body, signature);
      expect(r1.status).to.equal(503);
      const stored = (await env.db('stripe_events').where({ event_id: String(ev.id) }).first())!;
      expect(stored.processed_at).to.equal(null);
      expect(stored.error).to.contain('not stored yet');
      expect((await post(body, signature)).status).to.equal(503); // a retry is handled again, not skipped as a replay

      // our invoice exists, but the push died before it stored the Stripe id
      const id = await makeInvoice(env.db, org);
      const row0 = await invoiceRow(id);
      const sInv = await stripeInvoice(id, row0.number);
      fake.payInvoice(sInv.id);
      const r2 = await deliver('invoice.paid', fake.invoices.get(sInv.id)!).res;
      expect(r2.status).to.equal(200);
      const row = await invoiceRow(id);
      expect(row).to.include({ stripe_invoice_id: sInv.id, status: 'paid', paid_cents: 120000, stripe_customer_id: cust.customerId });
      expect(row.hosted_invoice_url).to.equal(sInv.hostedInvoiceUrl);
    });

    it('answers 503 while Stripe cannot be reached and handles the event when it is retried', async () => {
      const { id, stripeId } = await pushedInvoice();
      fake.payInvoice(stripeId);
      const ev = fake.event('invoice.paid', fake.invoices.get(stripeId)!);
      const { body, signature } = fake.signed(ev);
      fake.setFaults({ errorRate: 1 });
      expect((await post(body, signature)).status).to.equal(503);
      expect((await invoiceRow(id)).status).to.equal('open');
      fake.clearFaults();
      expect((await post(body, signature)).status).to.equal(200);
      expect((await invoiceRow(id)).status).to.equal('paid');
    });
  });

  describe('reconcile', () => {
    it('applies a payment whose event never came, and changes nothing the second time', async () => {
      const a = await pushedInvoice();
      const b = await pushedInvoice();
      fake.payInvoice(a.stripeId); // no webhook delivered
      const lines: string[] = [];
      const result = await runReconcileCli(env.ctx, (l) => lines.push(l));
      expect(result.failed).to.equal(0);
      expect(result.changed).to.be.at.least(1);
      expect(await invoiceRow(a.id)).to.include({ status: 'paid', paid_cents: 120000, stripe_state: 'paid' });
      expect(await invoiceRow(b.id)).to.include({ status: 'open', paid_cents: 0 });
      expect(lines.join('\n')).to.match(/Reconciled \d+ open Stripe invoice\(s\): \d+ updated, 0 failed\./);
      const again = await sync.reconcile();
      expect(again.changed).to.equal(0);
      expect(await paymentsOf(a.id)).to.have.length(1);
    });

    it('says so when Stripe is off', async () => {
      const lines: string[] = [];
      await runReconcileCli({ stripe: new StripeSyncService({ ...env.ctx, gateway: disabledGateway }) }, (l) => lines.push(l));
      expect(lines[0]).to.contain('Stripe is off');
    });
  });

  describe('cancelOnStripe', () => {
    it('voids an unpaid Stripe invoice and credits a paid one, each once', async () => {
      const a = await pushedInvoice();
      await sync.cancelOnStripe(a.id);
      expect(fake.invoices.get(a.stripeId)!.status).to.equal('void');
      expect((await invoiceRow(a.id)).stripe_state).to.equal('void');
      fake.resetCounts();
      await sync.cancelOnStripe(a.id);
      expect(fake.count('POST /v1/invoices/:id/void')).to.equal(0);

      const b = await pushedInvoice();
      fake.payInvoice(b.stripeId);
      await sync.cancelOnStripe(b.id);
      await sync.cancelOnStripe(b.id);
      const notes = [...fake.creditNotes.values()].filter((c) => c.invoice === b.stripeId);
      expect(notes).to.have.length(1);
      expect(notes[0]).to.include({ amount: 120000, credit_amount: 120000 });
      expect(fake.invoices.get(b.stripeId)!.status).to.equal('paid');
      expect((await invoiceRow(b.id)).stripe_state).to.equal('credited');
    });

    it('follows a Stornorechnung: credit note naming it; a void that failed is done by the next reconcile', async () => {
      const paid = await pushedInvoice();
      fake.payInvoice(paid.stripeId);
      const c1 = await env.ctx.dues.cancelInvoice({ userId: null, label: 'test' }, paid.id, 'Falsche Kategorie');
      expect(c1.stripeError).to.equal(undefined);
      const note = [...fake.creditNotes.values()].find((c) => c.invoice === paid.stripeId)!;
      expect(note.memo).to.equal(`Stornorechnung ${c1.number} zu ${(await invoiceRow(paid.id)).number}`);

      const open = await pushedInvoice();
      fake.setFaults({ errorRate: 1 });
      const c2 = await env.ctx.dues.cancelInvoice({ userId: null, label: 'test' }, open.id, 'Doppelt');
      expect(c2.stripeError).to.be.a('string');
      fake.clearFaults();
      expect(fake.invoices.get(open.stripeId)!.status).to.equal('open');
      expect((await invoiceRow(open.id)).status).to.equal('cancelled');
      const r = await sync.reconcile();
      expect(r.failed).to.equal(0);
      expect(fake.invoices.get(open.stripeId)!.status).to.equal('void');
      expect((await invoiceRow(open.id)).stripe_state).to.equal('void');
    });
  });
});
