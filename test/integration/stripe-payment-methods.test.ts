import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { formsOf } from '../helpers/crawl.ts';
import { makeCategories, makeFirm, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { hasPoppler, pdfText } from '../helpers/einvoice-standards.ts';
import { StripeFake } from '../fakes/stripe-fake.ts';
import { createStripeTestEnv } from '../helpers/stripe-fixtures.ts';
import type { Context } from '../../server/context.ts';

const actor = { userId: null, label: 'test' };
type Obj = Record<string, unknown>;

const makeOrg = (ctx: Context, name: string, categoryId: number, email: string, locale: 'de' | 'en' = 'de') => makeFirm(ctx, { name, categoryId, email, locale });

/** The settings form as the page offers it, with the payment method boxes ticked as given. */
async function submitSettings(admin: Browser, methods: string[]) {
  const page = await admin.get('/admin/settings');
  const form = formsOf('/admin/settings', page.text).find((f) => f.action === '/admin/settings')!;
  const fields = form.fields.filter(([k]) => k !== 'paymentMethods').concat(methods.map((m): [string, string] => ['paymentMethods', m]));
  return admin.agent.post('/admin/settings').type('form').send(new URLSearchParams(fields).toString());
}

const frozen = new WeakSet<TestEnv>();
/** Issues the year's dues invoice of one member (a dues run), with Stripe as the environment has it. */
async function issue(env: TestEnv, orgId: number, year: number): Promise<{ id: number; number: string }> {
  if (!frozen.has(env)) {
    await env.ctx.dues.freezeFeeSchedule(actor, year);
    frozen.add(env);
  }
  const { jobId } = await env.ctx.duesRuns.start(actor, year);
  await env.ctx.jobs.waitFor(jobId);
  const row = (await env.db('invoices').where({ organisation_id: orgId, year, kind: 'invoice' }).first())!;
  return { id: Number(row.id), number: row.number };
}

async function memberOf(env: TestEnv, email: string): Promise<Browser> {
  const user = await env.ctx.users.create(actor, { email, displayName: 'Buchhaltung', roles: ['member'], password: PASSWORD });
  await env.db('contacts').where({ email }).update({ user_id: user });
  const b = new Browser(env.app);
  await b.login(email, PASSWORD);
  return b;
}

const pdfOf = async (b: Browser, id: number): Promise<Buffer> => {
  const res = await b.agent.get(`/treasurer/invoices/${id}/pdf`).buffer(true).parse((r, cb) => {
    const chunks: Buffer[] = [];
    r.on('data', (c: Buffer) => chunks.push(c));
    r.on('end', () => cb(null, Buffer.concat(chunks)));
  });
  expect(res.status).to.equal(200);
  return res.body as Buffer;
};
const oneLine = (s: string) => s.replace(/\s+/g, ' ');

/**
 * h/money2: the payment methods the settings allow (settings 'stripe'), set by the admin on the
 * settings page: the Stripe invoice offers exactly those, and the PDF, the invoice e-mail and the
 * portal name exactly those; with Stripe off, none.
 */
describe('stripe: the payment methods the settings allow', function () {
  this.timeout(60_000);

  describe('with Stripe', () => {
    let env: TestEnv;
    let fake: StripeFake;
    let admin: Browser;
    let treasurer: Browser;
    let cats: Record<string, number>;

    before(async () => {
      fake = await new StripeFake().start();
      env = await createStripeTestEnv(fake, { env: { STRIPE_CONCURRENCY: '1' } });
      env.clock.set('2027-01-05T09:00:00Z');
      await env.ctx.settings.updateAssociation(actor, { ...(await env.ctx.settings.association()), taxNumber: '21/270/12345', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', bankHolder: 'ChemieNetzwerk Harz e.V.' });
      await makeUser(env.ctx, 'admin@test.example', ['admin']);
      await makeUser(env.ctx, 'kasse@test.example', ['treasurer']);
      admin = new Browser(env.app);
      await admin.login('admin@test.example', PASSWORD);
      treasurer = new Browser(env.app);
      await treasurer.login('kasse@test.example', PASSWORD);
      cats = await makeCategories(env.ctx);
    });
    after(async () => {
      await env.close();
      await fake.stop();
    });

    it('shows both methods ticked by default; none ticked is refused next to the field, with the rest kept', async () => {
      const page = (await admin.get('/admin/settings')).text;
      expect(page).to.contain('Zahlungsarten auf der Stripe-Bezahlseite');
      expect(page).to.match(/name="paymentMethods" value="card" checked/);
      expect(page).to.match(/name="paymentMethods" value="sepa_debit" checked/);
      expect(page).not.to.contain('Stripe ist nicht eingerichtet');

      const res = await submitSettings(admin, []);
      expect(res.status).to.equal(422);
      expect(res.text).to.match(/<small id="e-paymentMethods" class="field-error">Bitte mindestens eine Zahlungsart wählen\.<\/small>/);
      expect(res.text).to.contain('value="21/270/12345"'); // the rest of the form as it was sent
      expect(res.text).not.to.match(/name="paymentMethods" value="card" checked/);
      expect((await env.ctx.settings.stripeSettings()).paymentMethods).to.deep.equal(['card', 'sepa_debit']);
    });

    it('card only: the Stripe invoice offers only card, and PDF, e-mail and portal say "Karte" and no SEPA direct debit', async () => {
      const res = await submitSettings(admin, ['card']);
      expect(res.status, res.text.slice(0, 500)).to.equal(303);
      expect((await env.ctx.settings.stripeSettings()).paymentMethods).to.deep.equal(['card']);
      const audit = (await env.db('audit_log').where({ action: 'settings.stripe_updated' }).first())!;
      expect(JSON.parse(String(audit.after))).to.deep.equal({ paymentMethods: ['card'] });
      expect((await admin.get('/admin/settings')).text).not.to.match(/value="sepa_debit" checked/);

      const org = await makeOrg(env.ctx, 'Alpha Chemie GmbH', cats.research, 'fibu@alpha.example');
      const inv = await issue(env, org, 2027);
      const row = (await env.db('invoices').where({ id: inv.id }).first())!;
      // the request Stripe received
      const stripeInvoice = fake.invoices.get(row.stripe_invoice_id!)!;
      expect((stripeInvoice.payment_settings as Obj).payment_method_types).to.deep.equal(['card']);
      expect(row.stripe_payment_methods).to.equal('card');

      const mail = (await env.db('mail_messages').where({ template: 'dues_invoice', to_address: 'fibu@alpha.example' }).first())!;
      expect(mail.text_body).to.contain('Jetzt online bezahlen (Karte)');
      expect(mail.text_body).not.to.contain('SEPA');

      const portal = (await (await memberOf(env, 'fibu@alpha.example')).get('/portal/invoices')).text;
      expect(portal).to.contain('Online bezahlen (Karte)');
      expect(portal).not.to.contain('SEPA');

      if (!hasPoppler) return; // poppler-utils not installed: the PDF's text cannot be read
      const text = oneLine(pdfText(await pdfOf(treasurer, inv.id)));
      expect(text).to.contain('Oder bezahlen Sie online (Karte):');
      expect(text).not.to.contain('SEPA-Lastschrift');
    });

    it('both again: a later invoice names "Karte, SEPA-Lastschrift", the earlier one still only "Karte"', async () => {
      expect((await submitSettings(admin, ['card', 'sepa_debit'])).status).to.equal(303);
      const org = await makeOrg(env.ctx, 'Beta Pigmente GmbH', cats.research, 'fibu@beta.example');
      const inv = await issue(env, org, 2027);
      const row = (await env.db('invoices').where({ id: inv.id }).first())!;
      expect((fake.invoices.get(row.stripe_invoice_id!)!.payment_settings as Obj).payment_method_types).to.deep.equal(['card', 'sepa_debit']);
      const mail = (await env.db('mail_messages').where({ template: 'dues_invoice', to_address: 'fibu@beta.example' }).first())!;
      expect(mail.text_body).to.contain('Jetzt online bezahlen (Karte, SEPA-Lastschrift)');
      if (!hasPoppler) return;
      expect(oneLine(pdfText(await pdfOf(treasurer, inv.id)))).to.contain('Oder bezahlen Sie online (Karte, SEPA-Lastschrift):');
      const first = (await env.db('invoices').where({ recipient_name: 'Alpha Chemie GmbH' }).first())!;
      const firstText = oneLine(pdfText(await pdfOf(treasurer, Number(first.id))));
      expect(firstText).to.contain('Oder bezahlen Sie online (Karte):');
      expect(firstText).not.to.contain('SEPA-Lastschrift');
    });

    it('SEPA direct debit only, in English: "SEPA direct debit" and no card', async () => {
      expect((await submitSettings(admin, ['sepa_debit'])).status).to.equal(303);
      const org = await makeOrg(env.ctx, 'Gamma Research Ltd', cats.research, 'ap@gamma.example', 'en');
      const inv = await issue(env, org, 2027);
      const row = (await env.db('invoices').where({ id: inv.id }).first())!;
      expect((fake.invoices.get(row.stripe_invoice_id!)!.payment_settings as Obj).payment_method_types).to.deep.equal(['sepa_debit']);
      expect(row.locale).to.equal('en');
      const mail = (await env.db('mail_messages').where({ template: 'dues_invoice', to_address: 'ap@gamma.example' }).first())!;
      expect(mail.text_body).to.contain('Pay online now (SEPA direct debit)');
      expect(mail.text_body).not.to.match(/\bcard\b/);
      if (!hasPoppler) return;
      const text = oneLine(pdfText(await pdfOf(treasurer, inv.id)));
      expect(text).to.contain('Or pay online (SEPA direct debit):');
      expect(text).not.to.match(/\bcard\b/);
    });
  });

  describe('without Stripe', () => {
    let env: TestEnv;
    let treasurer: Browser;

    before(async () => {
      env = await createTestEnv();
      env.clock.set('2027-01-05T09:00:00Z');
      await env.ctx.settings.updateAssociation(actor, { ...(await env.ctx.settings.association()), taxNumber: '21/270/12345', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX' });
      await makeUser(env.ctx, 'admin@test.example', ['admin']);
      await makeUser(env.ctx, 'kasse@test.example', ['treasurer']);
      treasurer = new Browser(env.app);
      await treasurer.login('kasse@test.example', PASSWORD);
    });
    after(async () => env.close());

    it('the settings page says Stripe is off; invoice, e-mail and portal name no Stripe method', async () => {
      const admin = new Browser(env.app);
      await admin.login('admin@test.example', PASSWORD);
      expect((await admin.get('/admin/settings')).text).to.contain('Stripe ist nicht eingerichtet');
      const cats = await makeCategories(env.ctx);
      const org = await makeOrg(env.ctx, 'Delta Anlagenbau GmbH', cats.research, 'fibu@delta.example');
      const inv = await issue(env, org, 2027);
      const mail = (await env.db('mail_messages').where({ template: 'dues_invoice', to_address: 'fibu@delta.example' }).first())!;
      expect(mail.text_body).to.contain('Bitte überweisen Sie');
      expect(mail.text_body).not.to.match(/online|Karte|SEPA-Lastschrift/);
      const portal = (await (await memberOf(env, 'fibu@delta.example')).get('/portal/invoices')).text;
      expect(portal).to.contain(inv.number);
      expect(portal).not.to.match(/Online bezahlen|Karte/);
      if (!hasPoppler) return;
      const text = oneLine(pdfText(await pdfOf(treasurer, inv.id)));
      expect(text).to.contain('Bitte überweisen Sie den Betrag');
      expect(text).not.to.match(/online|Karte|SEPA-Lastschrift/);
    });

    it('an invoice pushed to Stripe before the key was removed offers neither the page nor its methods', async () => {
      const row = (await env.db('invoices').where({ recipient_name: 'Delta Anlagenbau GmbH' }).first())!;
      await env.db('invoices').where({ id: row.id }).update({ hosted_invoice_url: 'https://invoice.stripe.com/i/in_old', stripe_invoice_id: 'in_old', stripe_state: 'open', stripe_payment_methods: 'card,sepa_debit' });
      const member = new Browser(env.app);
      await member.login('fibu@delta.example', PASSWORD); // the account made in the test before
      const portal = (await member.get('/portal/invoices')).text;
      expect(portal).to.contain(row.number);
      expect(portal).not.to.match(/in_old|Online bezahlen|Karte/);
      if (!hasPoppler) return;
      const text = oneLine(pdfText(await pdfOf(treasurer, Number(row.id))));
      expect(text).not.to.match(/in_old|online|Karte|SEPA-Lastschrift/);
    });
  });
});
