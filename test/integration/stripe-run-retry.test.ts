import { expect } from 'chai';
import type { TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { StripeFake } from '../fakes/stripe-fake.ts';
import { createStripeTestEnv } from '../helpers/stripe-fixtures.ts';
import type { Context } from '../../server/context.ts';

const actor = { userId: null, label: 'test' };

async function makeOrg(ctx: Context, name: string, categoryId: number, email: string): Promise<number> {
  return ctx.db.transaction(async (trx) => (await ctx.members.createOrganisation(trx, actor, {
    legalName: name, legalForm: 'GmbH', street: 'Hauptstraße 1', postcode: '38640', city: 'Goslar', country: 'DE', website: '', registerEntry: '',
    vatId: '', fieldOfActivity: 'Chemie', employeeBand: '1-49', categoryId, joinDate: '2020-01-01',
  }, [{ name: 'Buchhaltung', email, phone: '', position: '', isRepresentative: true, isBilling: true, locale: 'de', consentEmailInvitations: false }],
  { invite: false, welcome: false })).organisationId);
}

/**
 * h/stripe: a dues run whose Stripe pushes failed shows per member what failed, with Stripe's
 * own message, tells a refusal (400) from an outage, and retries only the failed ones from the
 * run page.
 */
describe('stripe: a failed dues run push, per member, retried from the run page', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let fake: StripeFake;
  let treasurer: Browser;

  before(async () => {
    fake = await new StripeFake().start();
    env = await createStripeTestEnv(fake, { env: { STRIPE_CONCURRENCY: '1' } });
    env.clock.set('2027-01-05T09:00:00Z');
    await env.ctx.settings.updateAssociation(actor, { ...(await env.ctx.settings.association()), taxNumber: '21/270/12345' });
    await makeUser(env.ctx, 'kasse@test.example', ['treasurer']);
    treasurer = new Browser(env.app);
    await treasurer.login('kasse@test.example', PASSWORD);
  });
  after(async () => {
    await env.close();
    await fake.stop();
  });

  it('shows Stripe\'s refusal and an outage apart, and "retry failed" delivers only those', async () => {
    const cats = await makeCategories(env.ctx);
    await makeOrg(env.ctx, 'Alpha GmbH', cats.research, 'a@alpha.example');
    const beta = await makeOrg(env.ctx, 'Beta GmbH', cats.research, 'b@beta.example');
    await makeOrg(env.ctx, 'Gamma GmbH', cats.research, 'c@gamma.example');
    // a VAT ID Stripe refuses (a permanent 400: trying again does not help)
    await env.db('organisations').where({ id: beta }).update({ vat_id: 'de 123' });
    await env.ctx.dues.freezeFeeSchedule(actor, 2027);
    fake.setFaults({ errorRate: 1 }); // and Stripe is down for everyone
    const { runId, jobId } = await env.ctx.duesRuns.start(actor, 2027);
    const job = await env.ctx.jobs.waitFor(jobId);
    expect(job!.result).to.include({ issued: 3, failed: 3 });

    let page = (await treasurer.get(`/treasurer/runs/${runId}`)).text;
    expect(page).to.contain('3 Rechnungen nicht zugestellt');
    expect(page.match(/Stripe nicht erreichbar/g)).to.have.length(3);
    expect(page).to.contain('An unknown error occurred on our side (fake).');
    expect(page).to.contain('id="retry-failed"');

    fake.clearFaults(); // Stripe is back: two go out, Beta's VAT ID is refused for what it is
    const calls = fake.totalCalls();
    const res = await treasurer.submit(`/treasurer/runs/${runId}`, {}, `/treasurer/runs/${runId}/retry`);
    expect(res.status).to.equal(303);
    expect(fake.totalCalls()).to.be.greaterThan(calls);
    page = (await treasurer.get(`/treasurer/runs/${runId}`)).text;
    expect(page).to.contain('2 Rechnung(en) zugestellt, 1 weiterhin fehlgeschlagen.');
    expect(page).to.contain('1 Rechnung nicht zugestellt');
    expect(page).to.contain('Abgelehnt');
    expect(page).to.contain('Invalid value for eu_vat.');
    expect(page).not.to.contain('Alpha GmbH');
    const mails = await env.db('mail_messages').where({ template: 'dues_invoice' }).orderBy('id');
    expect(mails.map((m) => m.to_address)).to.deep.equal(['a@alpha.example', 'c@gamma.example']);
    expect(mails[0].text_body).to.match(/\/i\/in_/);
    // the invoice page says it too
    const inv = (await env.db('invoices').where({ organisation_id: beta }).first())!;
    expect((await treasurer.get(`/treasurer/invoices/${inv.id}`)).text).to.contain('Invalid value for eu_vat.');

    // a second retry: only Beta is tried again (no second invoice for the others)
    fake.resetCounts();
    await treasurer.submit(`/treasurer/runs/${runId}`, {}, `/treasurer/runs/${runId}/retry`);
    expect(fake.count('POST /v1/invoices')).to.equal(0);
    expect(fake.count('POST /v1/customers')).to.equal(1);
    expect(await env.db('mail_messages').where({ template: 'dues_invoice' })).to.have.length(2);
  });
});
