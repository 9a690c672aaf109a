import { expect } from 'chai';
import type { TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { formsOf } from '../helpers/crawl.ts';
import { makeCategories, makeFirm, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { StripeFake } from '../fakes/stripe-fake.ts';
import { createStripeTestEnv } from '../helpers/stripe-fixtures.ts';
import { STRIPE_CUSTOMER_JOB } from '../../server/dues/stripe-customer.job.ts';
import type { Context } from '../../server/context.ts';

const actor = { userId: null, label: 'test' };
type Obj = Record<string, unknown>;

const makeOrg = (ctx: Context, name: string, categoryId: number, email: string) => makeFirm(ctx, { name, categoryId, email });

/**
 * h/money2: the Stripe customer follows the member's billing data at once, through a job: an
 * address edited on the board's member form reaches Stripe without waiting for the next invoice;
 * while Stripe answers 500 the edit saves all the same and the job tries again later.
 */
describe('stripe: the customer is updated when the member\'s billing data change', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let fake: StripeFake;
  let board: Browser;
  let cats: Record<string, number>;

  before(async () => {
    fake = await new StripeFake().start();
    env = await createStripeTestEnv(fake, { env: { STRIPE_CONCURRENCY: '1' } });
    env.clock.set('2027-01-05T09:00:00Z');
    await env.ctx.settings.updateAssociation(actor, { ...(await env.ctx.settings.association()), taxNumber: '21/270/12345' });
    await makeUser(env.ctx, 'vorstand@test.example', ['board']);
    board = new Browser(env.app);
    await board.login('vorstand@test.example', PASSWORD);
    cats = await makeCategories(env.ctx);
    await env.ctx.dues.freezeFeeSchedule(actor, 2027);
  });
  after(async () => {
    await env.close();
    await fake.stop();
  });
  beforeEach(() => fake.clearFaults());

  /** A member with a Stripe customer (its first invoice went to Stripe). */
  async function memberWithCustomer(name: string, email: string): Promise<{ orgId: number; customer: Obj }> {
    const orgId = await makeOrg(env.ctx, name, cats.research, email);
    const { jobId } = await env.ctx.duesRuns.start(actor, 2027);
    await env.ctx.jobs.waitFor(jobId);
    const row = (await env.db('stripe_customers').where({ organisation_id: orgId }).first())!;
    return { orgId, customer: fake.customers.get(row.customer_id)! };
  }

  /** Edits the member on the board's form as a person would: the page's fields, some changed. */
  async function editMember(orgId: number, changes: Record<string, string>) {
    const page = await board.get(`/board/members/${orgId}/edit`);
    const form = formsOf(`/board/members/${orgId}/edit`, page.text).find((f) => f.action === `/board/members/${orgId}/edit`)!;
    const fields = form.fields.map(([k, v]): [string, string] => [k, k in changes ? changes[k] : v]);
    return board.agent.post(`/board/members/${orgId}/edit`).type('form').send(new URLSearchParams(fields).toString());
  }

  const jobsOf = (orgId: number) => env.ctx.jobs.byPayloadPrefix(STRIPE_CUSTOMER_JOB, `{"organisationId":${orgId}}`);
  async function settle(orgId: number) {
    const [job] = await jobsOf(orgId);
    expect(job, 'a customer update job').to.be.an('object');
    return (await env.ctx.jobs.waitFor(job.id))!;
  }

  it('an address edited on the member form reaches the Stripe customer right away, once', async () => {
    const { orgId, customer } = await memberWithCustomer('Okertal Pigmente GmbH', 'fibu@okertal.example');
    expect(customer.address).to.deep.include({ line1: 'Hauptstraße 1', city: 'Goslar' });
    const res = await editMember(orgId, { street: 'Am Rammelsberg 12', postcode: '38644', city: 'Goslar-Oker' });
    expect(res.status, res.text.slice(0, 500)).to.equal(303);
    const job = await settle(orgId);
    expect(job.status).to.equal('done');
    expect(fake.customers.get(String(customer.id))!.address).to.deep.include({ line1: 'Am Rammelsberg 12', postal_code: '38644', city: 'Goslar-Oker' });
    expect(await env.db('audit_log').where({ action: 'member.stripe_customer_updated', entity_id: orgId })).to.have.length(1);

    // the next invoice push finds the customer up to date: no second update
    fake.resetCounts();
    await editMember(orgId, { notes: 'Nur eine Notiz' }); // not billing data: nothing queued
    expect(await jobsOf(orgId)).to.have.length(1);
    expect(fake.count('POST /v1/customers/:id')).to.equal(0);
  });

  it('with Stripe answering 500 the edit saves; the job waits, tries again and then succeeds', async () => {
    const { orgId, customer } = await memberWithCustomer('Innerste Recycling GmbH', 'fibu@innerste.example');
    fake.setFaults({ errorRate: 1 });
    const res = await editMember(orgId, { street: 'Bahnhofstraße 7', city: 'Langelsheim', postcode: '38685' });
    expect(res.status).to.equal(303);
    expect((await env.ctx.members.get(orgId))!.city).to.equal('Langelsheim');
    let job = await settle(orgId);
    expect(job).to.include({ status: 'queued', attempts: 1 });
    expect(job.error).to.contain('Stripe');
    expect(job.runAfter! > new Date(env.clock.now()).toISOString()).to.equal(true);
    // not before its time
    expect(await env.ctx.jobs.resumeStale()).to.equal(0);

    // still down at the next try: waits longer
    env.clock.set(new Date(Date.parse(job.runAfter!) + 1000).toISOString());
    expect(await env.ctx.jobs.resumeStale()).to.equal(1);
    const firstWait = Date.parse(job.runAfter!) - Date.parse(job.updatedAt);
    job = (await env.ctx.jobs.waitFor(job.id))!;
    expect(job).to.include({ status: 'queued', attempts: 2 });
    expect(Date.parse(job.runAfter!) - Date.parse(job.updatedAt)).to.be.greaterThan(firstWait);
    expect(fake.customers.get(String(customer.id))!.address).to.deep.include({ city: 'Goslar' });

    // Stripe is back
    fake.clearFaults();
    env.clock.set(new Date(Date.parse(job.runAfter!) + 1000).toISOString());
    expect(await env.ctx.jobs.resumeStale()).to.equal(1);
    job = (await env.ctx.jobs.waitFor(job.id))!;
    expect(job.status).to.equal('done');
    expect(fake.customers.get(String(customer.id))!.address).to.deep.include({ line1: 'Bahnhofstraße 7', postal_code: '38685', city: 'Langelsheim' });
  });

  it('a new billing e-mail and a VAT ID reach the customer too; a member without a customer queues nothing', async () => {
    const { orgId, customer } = await memberWithCustomer('Harzer Anlagenbau GmbH', 'fibu@anlagenbau.example');
    const contact = (await env.ctx.members.contacts(orgId))[0];
    await env.ctx.members.updateContact(actor, orgId, contact.id, {
      name: contact.name, email: 'rechnung@anlagenbau.example', phone: '', position: '', isRepresentative: true, isBilling: true, locale: 'de',
      consentEmailInvitations: false, version: contact.version, invite: false,
    });
    await settle(orgId);
    expect(fake.customers.get(String(customer.id))!.email).to.equal('rechnung@anlagenbau.example');
    const res = await editMember(orgId, { vatId: 'DE626018158' });
    expect(res.status, res.text.match(/field-error[^<]*<[^<]*/g)?.join(' ')).to.equal(303);
    // the second job under the same key
    const [job] = await jobsOf(orgId);
    await env.ctx.jobs.waitFor(job.id);
    const taxIds = (fake.customers.get(String(customer.id))!.tax_ids as { data: Obj[] }).data.map((t) => t.value);
    expect(taxIds).to.include('DE626018158');

    const plain = await makeOrg(env.ctx, 'Ohne Stripe KG', cats.research, 'fibu@ohne.example');
    await editMember(plain, { city: 'Seesen' });
    expect(await jobsOf(plain)).to.have.length(0);
  });
});
