import { expect } from 'chai';
import type { TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { PASSWORD } from '../helpers/fixtures.ts';
import { StripeFake } from '../fakes/stripe-fake.ts';
import { createStripeTestEnv } from '../helpers/stripe-fixtures.ts';
import { collect, debitSetup } from './debit-collection.fixtures.ts';

const actor = { userId: null, label: 'test' };

/** h/bank2: an invoice pushed to Stripe and then collected by the association's own direct debit. */
describe('stripe and direct debit: no pay link beside the debit; the Stripe invoice is closed while the debit collects', function () {
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
    env = await createStripeTestEnv(fake, { maxRetryDelaySec: 0.05 });
    ({ inv } = await debitSetup(env));
    for (const k of ['harzer', 'okertal', 'goslar']) await env.ctx.stripe.pushInvoice(inv[k]);
    treasurer = new Browser(env.app);
    await treasurer.login('treasurer@test.example', PASSWORD);
  });
  after(async () => {
    await env.close();
    await fake.stop();
  });

  const closingJob = async (runId: number) => {
    const job = await env.ctx.jobs.byKey(`stripe-debit-close-${runId}`);
    return job ? env.ctx.jobs.waitFor(job.id) : undefined;
  };

  it('putting the invoices into a debit run withdraws their pay link at once and closes their Stripe invoices, so an old pay link takes no card payment beside the debit; an invoice outside the run keeps its link; reconcile leaves it so', async () => {
    const payUrl = (await env.ctx.dues.get(inv.harzer)).payUrl;
    expect(payUrl).to.match(/\/i\/in_/);
    expect(await stripeText(inv.harzer)).to.contain(payUrl!);
    run = await collect(env, [inv.harzer, inv.okertal]);
    for (const k of ['harzer', 'okertal']) expect((await env.ctx.dues.get(inv[k])).payUrl, 'no pay link from the run on').to.equal(null);
    expect((await closingJob(run.runId))?.status).to.equal('done');
    for (const k of ['harzer', 'okertal']) {
      const i = await env.ctx.dues.get(inv[k]);
      expect(i.stripeState).to.equal('debit_closed');
      expect(i.payUrl).to.equal(null);
      const text = await stripeText(inv[k]);
      expect(text).to.contain('per Lastschrift des Vereins eingezogen, Stripe-Rechnung geschlossen');
      expect(text).to.not.contain('/i/in_');
      const sid = await stripeId(inv[k]);
      expect(fake.invoices.get(sid)!.status).to.equal('void');
      // the member opens the link from the invoice mail of February: Stripe takes nothing
      expect(() => fake.payInvoice(sid)).to.throw(/status void/);
    }
    expect((await env.ctx.dues.get(inv.goslar)).payUrl).to.match(/\/i\/in_/);
    expect(fake.invoices.get(await stripeId(inv.goslar))!.status).to.equal('open');
    fake.resetCounts();
    await env.ctx.stripe.reconcile();
    expect(fake.count('POST /v1/invoices/:id/void'), 'nothing voided twice').to.equal(0);
    for (const k of ['harzer', 'okertal']) expect((await env.ctx.dues.get(inv[k])).stripeState).to.equal('debit_closed');
    expect(await env.db('audit_log').where({ action: 'invoice.stripe_link_withdrawn' })).to.have.length(2);
    expect(await env.db('audit_log').where({ action: 'invoice.stripe_closed_for_debit' })).to.have.length(2);
  });

  it('when the collection counts as paid (its due date, no return) the invoice is paid by the one debit booking; Stripe is not asked to mark anything paid', async () => {
    fake.resetCounts();
    env.clock.set(`${run.dueDate}T12:00:00Z`);
    await env.ctx.sepa.settleDue(actor);
    for (const k of ['harzer', 'okertal']) {
      const i = await env.ctx.dues.get(inv[k]);
      expect(i.status).to.equal('paid');
      expect(i.stripeState).to.equal('debit_closed');
      expect(fake.invoices.get(await stripeId(inv[k]))!.status).to.equal('void');
    }
    expect(fake.count('POST /v1/invoices/:id/pay')).to.equal(0);
    const payments = await env.ctx.payments.forInvoice(inv.harzer);
    expect(payments.map((p) => p.method)).to.deep.equal(['bank']); // one booking: the debit, none from Stripe
  });

  it('with Stripe down when the run is created, the closing waits and retries; reconcile closes it; until then no pay link is shown', async () => {
    const org = (await env.ctx.dues.get(inv.goslar)).organisationId;
    await env.ctx.sepa.createMandate(actor, org, 'paper', { scheme: 'CORE', iban: 'DE89370400440532013000', bic: '', holder: 'Goslarer Labor GmbH', signedOn: '2027-02-01' });
    fake.setFaults({ errorRate: 1 });
    const late = await collect(env, [inv.goslar]);
    const job = await closingJob(late.runId);
    expect(job?.status, 'queued again for a later try').to.equal('queued');
    expect(job?.attempts).to.equal(1);
    expect((await env.ctx.dues.get(inv.goslar)).stripeState).to.equal('debit');
    expect((await env.ctx.dues.get(inv.goslar)).payUrl).to.equal(null);
    fake.clearFaults();
    // a part paid by transfer meanwhile lowers the Stripe invoice; the pay link stays withdrawn (the debit, lowered or to be recalled, still collects)
    await env.ctx.payments.record(actor, inv.goslar, { date: env.clock.now().toISOString().slice(0, 10), amountCents: 1000, reference: 'Teilzahlung' });
    expect(fake.invoices.get(await stripeId(inv.goslar))!.status).to.equal('open');
    expect((await env.ctx.dues.get(inv.goslar)).stripeState).to.equal('debit');
    expect((await env.ctx.dues.get(inv.goslar)).payUrl).to.equal(null);
    await env.ctx.stripe.reconcile();
    expect(fake.invoices.get(await stripeId(inv.goslar))!.status).to.equal('void');
    expect((await env.ctx.dues.get(inv.goslar)).stripeState).to.equal('debit_closed');
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
