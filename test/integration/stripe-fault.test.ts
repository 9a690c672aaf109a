import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { makeCategories } from '../helpers/fixtures.ts';
import { StripeFake } from '../fakes/stripe-fake.ts';
import { insertId } from '../../server/db/knex.ts';
import { StripeGateway } from '../../server/stripe/stripe-gateway.ts';
import type { PaymentGateway } from '../../server/stripe/gateway.ts';
import { StripeSyncService } from '../../server/dues/stripe-sync.service.ts';

/**
 * Fault test at small size: a dues run with Stripe on while the Stripe fake answers 500 to 5%
 * of calls and drops 2% of connections (half of them after Stripe acted); the process is
 * "killed" part-way (every Stripe call fails from some point on, one of them right after
 * Stripe created an invoice we never heard back about), then the run is started again, and
 * once more. Afterwards each local invoice has exactly one Stripe invoice with one line, each
 * member one customer, and paying everything records each payment once.
 */
const MEMBERS = 80;
const YEAR = 2027;
const ACTOR = { userId: null, label: 'test' };

/** A gateway that forwards every call to the one last given to `use`: the context's Stripe sync is built once, with this. */
function switchableGateway(initial: PaymentGateway): { gateway: PaymentGateway; use(g: PaymentGateway): void } {
  let target = initial;
  const gateway = new Proxy(initial, {
    get(_t, key) {
      const v = Reflect.get(target, key);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return { gateway, use: (g) => { target = g; } };
}

describe('stripe fault test: dues run with failing Stripe, killed and resumed', function () {
  this.timeout(180_000);
  let env: TestEnv;
  let fake: StripeFake;
  let gateway: StripeGateway;
  let switchable: ReturnType<typeof switchableGateway>;

  before(async () => {
    fake = await new StripeFake().start();
    gateway = new StripeGateway({
      secretKey: fake.apiKey, webhookSecret: fake.webhookSecret, apiUrl: fake.url,
      concurrency: 4, maxNetworkRetries: 4, initialRetryDelaySec: 0.01, maxRetryDelaySec: 0.05,
    });
    switchable = switchableGateway(gateway);
    env = await createTestEnv({ env: { STRIPE_SECRET_KEY: fake.apiKey, STRIPE_API_URL: fake.url, STRIPE_WEBHOOK_SECRET: fake.webhookSecret }, gateway: switchable.gateway });
    const cats = await makeCategories(env.ctx);
    // invoices are issued only with the association's tax number and tax note (§ 14 Abs. 4 UStG)
    await env.ctx.settings.updateAssociation({ userId: null, label: 'test' }, { ...(await env.ctx.settings.association()), taxNumber: '21/270/12345' });
    const now = '2026-11-25T09:00:00.000Z';
    for (let i = 1; i <= MEMBERS; i++) {
      const name = `Mitglied ${i} GmbH`;
      const id = await insertId(env.db, 'organisations', {
        member_number: i, legal_name: name, street: `Straße ${i}`, postcode: '38640', city: 'Goslar', country: 'DE',
        vat_id: i % 3 === 0 ? `DE${String(100000000 + i)}` : '', category_id: i % 2 ? cats.research : cats.supporting,
        status: 'active', join_date: '2020-01-01', name_key: name.toLowerCase(), created_at: now, updated_at: now,
      });
      await env.db('contacts').insert({
        organisation_id: id, name: `Kontakt ${i}`, email: `billing${i}@example.org`, is_billing: true, locale: i % 4 === 0 ? 'en' : 'de', created_at: now, updated_at: now,
      });
    }
    await env.ctx.dues.freezeFeeSchedule(ACTOR, YEAR);
  });
  after(async () => {
    await env.close();
    await fake.stop();
  });

  const useGateway = (g: PaymentGateway) => switchable.use(g);
  const runOnce = async () => {
    const { job } = await env.ctx.duesRuns.create(ACTOR, YEAR);
    const done = await env.ctx.jobs.execute(job.id);
    expect(done.status).to.equal('done');
    return done.result as { issued: number; skipped: number; failed: number };
  };

  it('ends with exactly one Stripe invoice per local invoice and nothing charged twice', async () => {
    expect(env.ctx.stripe.enabled, 'Stripe sync wired into the dues service').to.equal(true);
    fake.setFaults({ errorRate: 0.05, dropRate: 0.02, seed: 20261125 });

    // run 1: "killed" after 30 invoices reached Stripe; the 30th one's answer is lost
    let created = 0;
    let dead = false;
    const dying: PaymentGateway = Object.assign(Object.create(gateway), {
      async createCustomer(...a: Parameters<PaymentGateway['createCustomer']>) {
        if (dead) throw new Error('process killed');
        return gateway.createCustomer(...a);
      },
      async createFinalizedInvoice(...a: Parameters<PaymentGateway['createFinalizedInvoice']>) {
        if (dead) throw new Error('process killed');
        const inv = await gateway.createFinalizedInvoice(...a);
        if (dead) throw new Error('process killed'); // the run delivers several at once: answers still in flight when it died are lost too
        if (++created === 30) {
          dead = true;
          throw new Error('process killed');
        }
        return inv;
      },
    });
    useGateway(dying);
    const r1 = await runOnce();
    expect(r1.issued).to.equal(MEMBERS);
    expect(r1.failed).to.equal(MEMBERS - 29);
    expect(Number((await env.db('invoices').whereNotNull('stripe_invoice_id').count({ n: '*' }).first())?.n)).to.equal(29);

    // run 2 resumes with the real gateway; run 3 finds nothing left to do
    useGateway(gateway);
    const r2 = await runOnce();
    expect(r2).to.include({ issued: 0, skipped: MEMBERS, failed: 0 });
    const callsBefore = fake.totalCalls();
    const r3 = await runOnce();
    expect(r3).to.include({ issued: 0, skipped: MEMBERS, failed: 0 });
    expect(fake.totalCalls() - callsBefore).to.equal(0);

    expect(fake.injected.errors).to.be.greaterThan(0);
    expect(fake.injected.dropsBefore + fake.injected.dropsAfter).to.be.greaterThan(0);

    const invoices = await env.db('invoices').where({ year: YEAR, kind: 'invoice' }).orderBy('id');
    expect(invoices).to.have.length(MEMBERS);
    expect(new Set(invoices.map((i) => i.organisation_id)).size).to.equal(MEMBERS);
    for (const inv of invoices) {
      const onStripe = fake.invoicesWhere('local_invoice_id', String(inv.id));
      expect(onStripe, `Stripe invoices for ${inv.number}`).to.have.length(1);
      expect(onStripe[0].id).to.equal(inv.stripe_invoice_id);
      expect(onStripe[0]).to.include({ number: inv.number, amount_due: inv.amount_cents, status: 'open' });
      expect((onStripe[0].lines as { data: unknown[] }).data).to.have.length(1);
      expect(inv.hosted_invoice_url).to.equal(onStripe[0].hosted_invoice_url);
    }
    expect(fake.invoices.size).to.equal(MEMBERS);
    const perOrg = new Map<string, number>();
    for (const c of fake.customers.values()) {
      const org = (c.metadata as Record<string, string>).organisation_id;
      perOrg.set(org, (perOrg.get(org) ?? 0) + 1);
    }
    expect(perOrg.size).to.equal(MEMBERS);
    expect([...perOrg.values()].every((n) => n === 1)).to.equal(true);
    expect(Number((await env.db('stripe_customers').count({ n: '*' }).first())?.n)).to.equal(MEMBERS);

    // every member got the invoice e-mail once, with its payment link
    const mails = await env.db('mail_messages').where({ template: 'dues_invoice' });
    expect(mails).to.have.length(MEMBERS);
    const byInvoice = new Map(invoices.map((i) => [Number(i.id), i]));
    for (const m of mails) expect(m.text_body).to.contain(byInvoice.get(Number(m.related_id))!.hosted_invoice_url);

    // everyone pays on Stripe; no webhook arrives; reconcile (still under faults) picks it up, twice
    for (const inv of invoices) fake.payInvoice(inv.stripe_invoice_id!);
    const sync = new StripeSyncService({ ...env.ctx, gateway });
    const rec1 = await sync.reconcile();
    expect(rec1.failed).to.equal(0);
    expect(rec1.changed).to.equal(MEMBERS);
    const rec2 = await sync.reconcile();
    // h/stripe: reconcile compares every Stripe-backed invoice; the second finds nothing to change
    expect(rec2).to.include({ checked: MEMBERS, changed: 0, failed: 0 });
    const payments = await env.db('payments');
    expect(payments).to.have.length(MEMBERS);
    expect(new Set(payments.map((p) => p.invoice_id)).size).to.equal(MEMBERS);
    const paid = await env.db('invoices').where({ year: YEAR, kind: 'invoice', status: 'paid' }).whereRaw('paid_cents = amount_cents').count({ n: '*' }).first();
    expect(Number(paid?.n)).to.equal(MEMBERS);
  });
});
