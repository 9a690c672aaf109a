import { expect } from 'chai';
import request from 'supertest';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { StripeFake } from '../fakes/stripe-fake.ts';
import { makeInvoice, makeOrganisation } from '../helpers/stripe-fixtures.ts';
import { StripeGateway } from '../../server/stripe/stripe-gateway.ts';
import { GatewayError, type PaymentGateway } from '../../server/stripe/gateway.ts';
import { StripeSyncService } from '../../server/dues/stripe-sync.service.ts';
import { runReconcileCli } from '../../server/cli/dues.ts';

type Obj = Record<string, unknown>;
const actor = { userId: null, label: 'test' };

/**
 * h/stripe: every payment path ends in one state on both sides, against the Stripe fake (a real
 * HTTP server speaking Stripe's protocol): bank payments close the Stripe invoice, reversals
 * are collected by bank, credit balances settle, Dashboard voids and write-offs, processing
 * debits and disputes are shown and not dunned; webhooks duplicated and out of order; reconcile
 * repairs what a Stripe outage left; two installations on one Stripe account.
 */
describe('stripe: Stripe and our books in one state', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let fake: StripeFake;
  let gateway: StripeGateway;
  let treasurer: Browser;

  before(async () => {
    fake = await new StripeFake().start();
    gateway = new StripeGateway({ secretKey: fake.apiKey, webhookSecret: fake.webhookSecret, apiUrl: fake.url, initialRetryDelaySec: 0.01, maxRetryDelaySec: 0.05, maxNetworkRetries: 1 });
    env = await createTestEnv({ env: { STRIPE_SECRET_KEY: fake.apiKey, STRIPE_API_URL: fake.url, STRIPE_WEBHOOK_SECRET: fake.webhookSecret }, gateway });
    env.clock.set('2027-03-01T09:00:00Z');
    await makeUser(env.ctx, 'kasse@test.example', ['treasurer']);
    treasurer = new Browser(env.app);
    await treasurer.login('kasse@test.example', PASSWORD);
  });
  after(async () => {
    await env.close();
    await fake.stop();
  });
  beforeEach(() => {
    fake.clearFaults();
    fake.resetCounts();
  });

  const row = async (id: number) => (await env.db('invoices').where({ id }).first())!;
  const paymentsOf = (id: number) => env.db('payments').where({ invoice_id: id }).orderBy('id');
  const post = (body: string, signature: string) => request(env.app).post('/webhooks/stripe').set('Content-Type', 'application/json').set('Stripe-Signature', signature).send(body);
  const deliver = async (type: string, object: Obj) => {
    const ev = fake.event(type, object);
    const { body, signature } = fake.signed(ev);
    const res = await post(body, signature);
    expect(res.status, `${type}: ${JSON.stringify(res.body)}`).to.equal(200);
    return { ev, res, redeliver: async () => { const s = fake.signed(ev); return post(s.body, s.signature); } };
  };
  const page = async (id: number) => (await treasurer.get(`/treasurer/invoices/${id}`)).text;
  const stripeText = (html: string) => (/<dd id="invoice-stripe">([\s\S]*?)<\/dd>/.exec(html)?.[1] ?? '').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');

  async function pushed(opts: { amountCents?: number; year?: number; org?: number } = {}): Promise<{ id: number; org: number; stripeId: string }> {
    const org = opts.org ?? await makeOrganisation(env.db);
    const id = await makeInvoice(env.db, org, opts);
    await env.ctx.stripe.pushInvoice(id);
    return { id, org, stripeId: (await row(id)).stripe_invoice_id! };
  }

  it('a bank transfer marks the Stripe invoice paid out of band: the pay link dies and Stripe\'s invoice.paid books nothing more', async () => {
    const { id, stripeId } = await pushed();
    expect((await env.ctx.dues.get(id)).payUrl).to.match(/\/i\/in_/);
    await env.ctx.payments.record(actor, id, { date: '2027-02-01', amountCents: 120000, reference: 'Überweisung' });
    const s = fake.invoices.get(stripeId)!;
    expect(s.status).to.equal('paid');
    expect(fake.count('POST /v1/invoices/:id/pay')).to.equal(1);
    expect([...fake.invoicePayments.values()].filter((p) => p.invoice === stripeId).map((p) => (p.payment as Obj).type)).to.deep.equal(['payment_record']);
    // Stripe then sends invoice.paid (twice): no second payment here
    const d = await deliver('invoice.paid', s);
    expect((await d.redeliver()).body.duplicate).to.equal(true);
    await deliver('invoice.payment_succeeded', s);
    const r = await row(id);
    expect(r).to.include({ status: 'paid', paid_cents: 120000, stripe_state: 'paid_out_of_band' });
    expect(await paymentsOf(id)).to.have.length(1);
    const inv = await env.ctx.dues.get(id);
    expect(inv.payUrl).to.equal(null);
    const html = await page(id);
    expect(stripeText(html)).to.contain('als außerhalb von Stripe bezahlt markiert');
    expect(html).not.to.contain('Zahlungsseite</a>');
  });

  it('a partial transfer lowers the Stripe invoice to what is open; a card payment of the rest settles it exactly', async () => {
    const { id, stripeId } = await pushed();
    await env.ctx.payments.record(actor, id, { date: '2027-02-01', amountCents: 50000, reference: 'Teilzahlung' });
    const s = fake.invoices.get(stripeId)!;
    expect(s).to.include({ status: 'open', amount_remaining: 70000 });
    expect((await env.ctx.dues.get(id)).payUrl).to.match(/\/i\//);
    fake.payInvoice(stripeId);
    await deliver('invoice.paid', fake.invoices.get(stripeId)!);
    const r = await row(id);
    expect(r).to.include({ status: 'paid', paid_cents: 120000 });
    const pays = await paymentsOf(id);
    expect(pays.map((p) => [p.method, Number(p.amount_cents), Boolean(p.overpayment)])).to.deep.equal([['bank', 50000, false], ['stripe', 70000, false]]);
  });

  it('a reversed bank payment reopens the invoice here; Stripe cannot reopen it, so it is collected by bank transfer and the reminder has no pay link', async () => {
    const { id, stripeId } = await pushed();
    const { paymentId } = await env.ctx.payments.record(actor, id, { date: '2027-02-01', amountCents: 120000, reference: 'Tippfehler' });
    await env.ctx.payments.reverse(actor, paymentId, { date: '2027-02-02', amountCents: 120000, reason: 'falsches Mitglied' });
    expect(fake.invoices.get(stripeId)!.status).to.equal('paid');
    const r = await row(id);
    expect(r).to.include({ status: 'open', paid_cents: 0, stripe_state: 'closed_bank' });
    expect((await env.ctx.dues.get(id)).payUrl).to.equal(null);
    expect(stripeText(await page(id))).to.contain('der offene Betrag wird per Überweisung eingezogen');
    // the reminder goes out (the money is still owed), without the dead link
    await env.ctx.reminders.sendDue();
    const mail = await env.db('mail_messages').where({ related_type: 'invoice', related_id: id }).orderBy('id', 'desc').first();
    expect(mail, 'a reminder').to.not.equal(undefined);
    expect(mail!.template).to.match(/^dues_reminder_/);
    expect(mail!.text_body).to.contain((await row(id)).number);
    expect(mail!.text_body + mail!.html_body).not.to.contain('/i/in_');
  });

  it('Stripe down during a bank booking: the booking stands; reconcile marks the Stripe invoice paid and says so', async () => {
    const { id, stripeId } = await pushed();
    fake.setFaults({ errorRate: 1 });
    await env.ctx.payments.record(actor, id, { date: '2027-02-01', amountCents: 120000, reference: 'Überweisung' });
    fake.clearFaults();
    expect(await row(id)).to.include({ status: 'paid', paid_cents: 120000 });
    expect(fake.invoices.get(stripeId)!.status).to.equal('open');
    const lines: string[] = [];
    const result = await runReconcileCli(env.ctx, (l) => lines.push(l));
    expect(fake.invoices.get(stripeId)!.status).to.equal('paid');
    expect((await row(id)).stripe_state).to.equal('paid_out_of_band');
    expect(result.changes!.find((c) => c.invoiceId === id)?.what).to.equal('markedPaid');
    expect(lines.join('\n')).to.match(/: marked paid outside Stripe \(bank transfer\)/);
    // a second reconcile changes nothing for it
    const again = await env.ctx.stripe.reconcile();
    expect(again.changes!.filter((c) => c.invoiceId === id)).to.deep.equal([]);
  });

  it('the reconcile page lists what it repaired, in words', async () => {
    const { id, stripeId } = await pushed();
    fake.payInvoice(stripeId); // the webhook was missed
    const form = await treasurer.get('/treasurer/reconcile');
    expect(form.status).to.equal(200);
    const res = await treasurer.submit('/treasurer/reconcile', {}, '/treasurer/reconcile');
    expect(res.status).to.equal(200);
    expect(res.text).to.contain('Zahlung von Stripe hier gebucht');
    expect(res.text).to.contain((await row(id)).number);
    expect(await row(id)).to.include({ status: 'paid', paid_cents: 120000 });
  });

  it('an invoice covered by the customer\'s Stripe credit (amount_paid 0) is settled here, not dunned, and no cash is counted twice', async () => {
    const { id: first, org, stripeId } = await pushed();
    fake.payInvoice(stripeId);
    await deliver('invoice.paid', fake.invoices.get(stripeId)!);
    await env.ctx.dues.cancelInvoice(actor, first, 'Kategorie falsch');
    const cust = fake.customers.get(String(fake.invoices.get(stripeId)!.customer))!;
    expect(cust.balance).to.equal(-120000);
    const { id: second, stripeId: s2 } = await pushed({ org, year: 2028 });
    const s = fake.invoices.get(s2)!;
    expect(s).to.include({ status: 'paid', amount_paid: 0 });
    await deliver('invoice.paid', s); // also delivered: no second booking
    const r = await row(second);
    expect(r).to.include({ status: 'paid', paid_cents: 120000 });
    const pays = await paymentsOf(second);
    expect(pays.map((p) => [p.kind, p.method, Number(p.amount_cents)])).to.deep.equal([['settlement', 'stripe', 120000]]);
    const html = await page(second);
    expect(html).to.contain('Verrechnet mit Stripe-Guthaben');
    await env.ctx.reminders.sendDue();
    expect(await env.db('mail_messages').where({ related_type: 'invoice', related_id: second })).to.have.length(0);
  });

  it('voided in the Stripe Dashboard: shown in words, no pay link, no reminder, on the dashboard; an older event delivered later changes nothing', async () => {
    const { id, stripeId } = await pushed({ year: 2030 });
    const finalizedEarlier = fake.event('invoice.finalized', fake.invoices.get(stripeId)!);
    fake.voidFromDashboard(stripeId);
    await deliver('invoice.voided', fake.invoices.get(stripeId)!);
    const late = fake.signed(finalizedEarlier);
    expect((await post(late.body, late.signature)).status).to.equal(200);
    expect(await row(id)).to.include({ status: 'open', stripe_state: 'void' });
    expect((await env.ctx.dues.get(id)).payUrl).to.equal(null);
    expect(stripeText(await page(id))).to.contain('im Stripe-Dashboard storniert');
    await env.ctx.reminders.sendDue();
    expect(await env.db('mail_messages').where({ related_type: 'invoice', related_id: id })).to.have.length(0);
    const dash = (await treasurer.get('/treasurer?year=2030')).text;
    expect(dash).to.contain('1 offene Rechnung wurde im Stripe-Dashboard storniert');
  });

  it('marked uncollectible at Stripe: uncollectible here, no reminder', async () => {
    const { id, stripeId } = await pushed();
    fake.markUncollectible(stripeId);
    await deliver('invoice.marked_uncollectible', fake.invoices.get(stripeId)!);
    expect(await row(id)).to.include({ status: 'uncollectible', stripe_state: 'uncollectible' });
    expect((await env.ctx.dues.get(id)).payUrl).to.equal(null);
    await env.ctx.reminders.sendDue();
    expect(await env.db('mail_messages').where({ related_type: 'invoice', related_id: id })).to.have.length(0);
  });

  it('a SEPA debit processing is not dunned; once it failed the reminder goes out; the processing event delivered late does not stop it', async () => {
    const { id, stripeId } = await pushed();
    const { paymentIntent } = fake.startProcessing(stripeId);
    const processing = await deliver('payment_intent.processing', paymentIntent);
    expect((await row(id)).stripe_state).to.equal('processing');
    expect(stripeText(await page(id))).to.contain('Lastschrift in Bearbeitung');
    await env.ctx.reminders.sendDue();
    expect(await env.db('mail_messages').where({ related_type: 'invoice', related_id: id })).to.have.length(0);
    const done = fake.finishProcessing(String(paymentIntent.id), 'failed');
    await deliver('invoice.payment_failed', done.invoice);
    // the processing event again (Stripe retries it): the debit is over, it is not processing
    const late = fake.signed(fake.event('payment_intent.processing', paymentIntent));
    expect((await post(late.body, late.signature)).status).to.equal(200);
    expect((await processing.redeliver()).body.duplicate).to.equal(true);
    expect((await row(id)).stripe_state).to.equal('payment_failed');
    await env.ctx.reminders.sendDue();
    expect(await env.db('mail_messages').where({ related_type: 'invoice', related_id: id })).to.have.length(1);
  });

  it('a SEPA debit that succeeds books the payment once', async () => {
    const { id, stripeId } = await pushed();
    const { paymentIntent } = fake.startProcessing(stripeId);
    await deliver('payment_intent.processing', paymentIntent);
    const done = fake.finishProcessing(String(paymentIntent.id), 'succeeded');
    await deliver('payment_intent.succeeded', done.paymentIntent);
    await deliver('invoice.paid', done.invoice);
    expect(await row(id)).to.include({ status: 'paid', paid_cents: 120000, stripe_state: 'paid' });
    expect(await paymentsOf(id)).to.have.length(1);
  });

  it('a dispute is shown on the invoice and the dashboard; lost, the money is booked back once and the invoice is open again, in any event order', async () => {
    const { id, stripeId } = await pushed({ year: 2031 });
    const { charge } = fake.payInvoice(stripeId);
    await deliver('invoice.paid', fake.invoices.get(stripeId)!);
    const dispute = fake.openDispute(String(charge.id));
    const created = fake.event('charge.dispute.created', dispute);
    const sc = fake.signed(created);
    expect((await post(sc.body, sc.signature)).status).to.equal(200);
    expect((await row(id)).stripe_dispute).to.equal('needs_response');
    expect(await page(id)).to.contain('Zahlung angefochten: Antwort im Stripe-Dashboard nötig');
    expect((await treasurer.get('/treasurer?year=2031')).text).to.contain('1 Zahlung wurde angefochten');
    const closed = fake.closeDispute(String(dispute.id), 'lost');
    const c = await deliver('charge.dispute.closed', closed);
    expect((await c.redeliver()).body.duplicate).to.equal(true);
    // the created event once more, late (a new id, as a retry of a lost delivery would not have): still lost
    await deliver('charge.dispute.created', dispute);
    const r = await row(id);
    expect(r).to.include({ status: 'open', paid_cents: 0, stripe_dispute: 'lost' });
    const pays = await paymentsOf(id);
    expect(pays.map((p) => Number(p.amount_cents))).to.deep.equal([120000, -120000]);
    expect(await page(id)).to.contain('Anfechtung verloren');
    expect((await treasurer.get('/treasurer?year=2031')).text).not.to.contain('wurde angefochten');
  });

  it('a lost response and a key Stripe forgot make no second invoice: the push finds it by our metadata', async () => {
    const org = await makeOrganisation(env.db);
    const id = await makeInvoice(env.db, org);
    const dies: PaymentGateway = Object.assign(Object.create(gateway), {
      async createFinalizedInvoice(...a: Parameters<PaymentGateway['createFinalizedInvoice']>) {
        await gateway.createFinalizedInvoice(...a);
        throw new GatewayError('Stripe: socket hang up', true);
      },
    });
    await new StripeSyncService({ ...env.ctx, gateway: dies }).pushInvoice(id).catch(() => undefined);
    expect(await row(id)).to.include({ stripe_invoice_id: null, push_error: 'Stripe: socket hang up' });
    fake.forgetIdempotencyKeys(); // more than 24 hours later
    await env.ctx.stripe.pushInvoice(id);
    const mine = fake.invoicesWhere('local_invoice_id', String(id));
    expect(mine).to.have.length(1);
    expect(await row(id)).to.include({ stripe_invoice_id: mine[0].id, push_error: null });
    expect([...fake.customers.values()].filter((c) => (c.metadata as Obj).organisation_id === String(org) && (c.metadata as Obj).installation_id)).to.have.length(1);
  });

  it('the Stripe customer is updated when the member\'s name or address changed since the last invoice', async () => {
    const { org, stripeId } = await pushed({ year: 2032 });
    const customerId = String(fake.invoices.get(stripeId)!.customer);
    fake.resetCounts();
    await pushed({ org, year: 2033 }); // same data: no update
    expect(fake.count('POST /v1/customers/:id')).to.equal(0);
    await env.db('organisations').where({ id: org }).update({ legal_name: 'Harzer Chemie Neu GmbH', street: 'Bergstraße 9' });
    await pushed({ org, year: 2034 });
    expect(fake.count('POST /v1/customers/:id')).to.equal(1);
    expect(fake.customers.get(customerId)).to.include({ name: 'Harzer Chemie Neu GmbH' });
    expect((fake.customers.get(customerId)!.address as Obj).line1).to.equal('Bergstraße 9');
  });

  it('two installations on one Stripe account never touch each other\'s objects', async () => {
    const other = await createTestEnv({ env: { STRIPE_SECRET_KEY: fake.apiKey, STRIPE_API_URL: fake.url, STRIPE_WEBHOOK_SECRET: fake.webhookSecret }, gateway });
    try {
      other.clock.set('2027-03-01T09:00:00Z');
      const mineOrg = await makeOrganisation(env.db);
      const theirsOrg = await makeOrganisation(other.db);
      const mine = await makeInvoice(env.db, mineOrg);
      const theirs = await makeInvoice(other.db, theirsOrg);
      await env.ctx.stripe.pushInvoice(mine);
      await other.ctx.stripe.pushInvoice(theirs);
      const a = (await env.db('invoices').where({ id: mine }).first())!;
      const b = (await other.db('invoices').where({ id: theirs }).first())!;
      expect(a.stripe_invoice_id).to.not.equal(b.stripe_invoice_id);
      expect(a.stripe_customer_id).to.not.equal(b.stripe_customer_id);
      expect(fake.invoices.get(b.stripe_invoice_id!)!.metadata).to.include({ installation_id: await other.ctx.settings.installationId() });
      // their payment's webhook reaches us: ignored, 200, nothing booked
      fake.payInvoice(b.stripe_invoice_id!);
      const ev = fake.event('invoice.paid', fake.invoices.get(b.stripe_invoice_id!)!);
      const { body, signature } = fake.signed(ev);
      const res = await post(body, signature);
      expect(res.status).to.equal(200);
      expect(res.body.outcome).to.equal('not_ours');
      expect((await env.db('invoices').where({ id: mine }).first())!.paid_cents).to.equal(0);
    } finally {
      await other.close();
    }
  });
});
