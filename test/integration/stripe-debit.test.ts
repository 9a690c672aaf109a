import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { PASSWORD } from '../helpers/fixtures.ts';
import { StripeFake } from '../fakes/stripe-fake.ts';
import { StripeGateway } from '../../server/stripe/stripe-gateway.ts';
import { collect, debitSetup } from './debit-collection.fixtures.ts';

const actor = { userId: null, label: 'test' };

/** h/bank2: an invoice pushed to Stripe and then collected by the association's own direct debit. */
describe('stripe and direct debit: no pay link beside the debit; the collection marks the Stripe invoice paid out of band', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let fake: StripeFake;
  let treasurer: Browser;
  let inv: Record<string, number>;
  let run: Awaited<ReturnType<typeof collect>>;
  const stripeId = async (id: number) => (await env.ctx.dues.get(id)).stripeInvoiceId!;
  const stripeText = async (id: number) => {
    const html = (await treasurer.get(`/treasurer/invoices/${id}`)).text;
    return /<dd id="invoice-stripe">([\s\S]*?)<\/dd>/.exec(html)?.[1] ?? '';
  };

  before(async () => {
    fake = await new StripeFake().start();
    const gateway = new StripeGateway({ secretKey: fake.apiKey, webhookSecret: fake.webhookSecret, apiUrl: fake.url, initialRetryDelaySec: 0.01, maxRetryDelaySec: 0.05, maxNetworkRetries: 1 });
    env = await createTestEnv({ env: { STRIPE_SECRET_KEY: fake.apiKey, STRIPE_API_URL: fake.url, STRIPE_WEBHOOK_SECRET: fake.webhookSecret }, gateway });
    ({ inv } = await debitSetup(env));
    for (const k of ['harzer', 'okertal', 'goslar']) await env.ctx.stripe.pushInvoice(inv[k]);
    treasurer = new Browser(env.app);
    await treasurer.login('treasurer@test.example', PASSWORD);
  });
  after(async () => {
    await env.close();
    await fake.stop();
  });

  it('putting the invoices into a debit run withdraws their pay link (the invoice pay URL, which the PDF, portal and mails use, and the invoice page); an invoice paid by transfer keeps it; reconcile does not bring it back', async () => {
    const payUrl = (await env.ctx.dues.get(inv.harzer)).payUrl;
    expect(payUrl).to.match(/\/i\/in_/);
    expect(await stripeText(inv.harzer)).to.contain(payUrl!);
    run = await collect(env, [inv.harzer, inv.okertal]);
    for (const k of ['harzer', 'okertal']) {
      const i = await env.ctx.dues.get(inv[k]);
      expect(i.stripeState).to.equal('debit');
      expect(i.payUrl, 'no pay link while the debit collects').to.equal(null);
      const text = await stripeText(inv[k]);
      expect(text).to.contain('per Lastschrift des Vereins eingezogen, Zahlseite zurückgezogen');
      expect(text).to.not.contain('/i/in_');
    }
    expect((await env.ctx.dues.get(inv.goslar)).payUrl).to.match(/\/i\/in_/);
    await env.ctx.stripe.reconcile();
    expect((await env.ctx.dues.get(inv.harzer)).payUrl).to.equal(null);
    expect(fake.invoices.get(await stripeId(inv.harzer))!.status).to.equal('open');
    const audit = await env.db('audit_log').where({ action: 'invoice.stripe_link_withdrawn' });
    expect(audit).to.have.length(2);
  });

  it('when the collection counts as paid (its due date, no return) the Stripe invoice is marked paid out of band; with Stripe down the booking stands and reconcile does it', async () => {
    fake.resetCounts();
    fake.setFaults({ errorRate: 1 }); // Stripe unreachable while the first debits settle
    env.clock.set(`${run.dueDate}T12:00:00Z`);
    await env.ctx.sepa.settleDue(actor);
    fake.clearFaults();
    for (const k of ['harzer', 'okertal']) expect((await env.ctx.dues.get(inv[k])).status).to.equal('paid');
    expect(fake.invoices.get(await stripeId(inv.harzer))!.status).to.equal('open');
    await env.ctx.stripe.reconcile();
    for (const k of ['harzer', 'okertal']) {
      const s = fake.invoices.get(await stripeId(inv[k]))!;
      expect(s.status).to.equal('paid');
      const i = await env.ctx.dues.get(inv[k]);
      expect(i.stripeState).to.equal('paid_out_of_band');
      expect(i.payUrl).to.equal(null);
    }
    expect(fake.count('POST /v1/invoices/:id/pay')).to.equal(2);
    const payments = await env.ctx.payments.forInvoice(inv.harzer);
    expect(payments.map((p) => p.method)).to.deep.equal(['bank']); // one booking: the debit, none from Stripe
  });

  it('a debit returned after the collection: the invoice is collected by bank transfer, the Stripe pay link is not offered again', async () => {
    const d = run.e2e.get(inv.harzer)!;
    env.clock.set('2027-04-02T09:00:00Z');
    await env.ctx.sepa.recordReturn({ endToEndId: d.endToEndId, reasonCode: 'AM04', amountCents: d.amountCents, bookedOn: '2027-04-01' }, actor);
    const i = await env.ctx.dues.get(inv.harzer);
    expect(i.status).to.equal('open');
    expect(i.stripeState).to.equal('closed_bank');
    expect(i.payUrl).to.equal(null);
  });
});
