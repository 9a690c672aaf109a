import { expect } from 'chai';
import type { TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeFirm, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { hasPoppler, pdfText } from '../helpers/einvoice-standards.ts';
import { StripeFake } from '../fakes/stripe-fake.ts';
import { createStripeTestEnv } from '../helpers/stripe-fixtures.ts';
import { DEFAULT_ASSOCIATION } from '../../server/settings/settings.schemas.ts';

/**
 * An invoice with further items (issue 14, item 5) with Stripe on: issued through the
 * treasurer's form, each invoice gets a finalized Stripe invoice over its gross amount with our
 * number and the payment methods the settings allow; the invoice page, the portal, the PDF and
 * the e-mail offer its payment page; the same form sent twice makes nothing more at Stripe.
 */

const actor = { userId: null, label: 'test' };
type Obj = Record<string, unknown>;
type Attachment = { filename: string; contentType: string; contentBase64: string };

function requestKeyOf(html: string): string {
  const m = /name="requestKey" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('no requestKey in the form');
  return m[1]!;
}
const oneLine = (s: string) => s.replace(/\s+/g, ' ');

describe('an invoice with further items, with Stripe on', function () {
  this.timeout(120_000);
  let env: TestEnv;
  let fake: StripeFake;
  let treasurer: Browser;
  let cats: Record<string, number>;

  before(async () => {
    fake = await new StripeFake().start();
    env = await createStripeTestEnv(fake, { env: { STRIPE_CONCURRENCY: '1' } });
    expect(env.ctx.gateway.enabled).to.equal(true);
    env.clock.set('2027-05-20T09:00:00Z');
    cats = await makeCategories(env.ctx);
    await env.ctx.settings.updateAssociation(actor, {
      ...DEFAULT_ASSOCIATION, name: 'ChemieNetzwerk Harz e.V.', street: 'Adolph-Roemer-Straße 2A', postcode: '38678', city: 'Clausthal-Zellerfeld',
      taxNumber: '21/270/12345', bankHolder: 'ChemieNetzwerk Harz e.V.', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', bankName: 'Commerzbank',
    });
    await env.ctx.dues.freezeFeeSchedule(actor, 2027);
    await makeUser(env.ctx, 'kasse@test.example', ['treasurer']);
    treasurer = new Browser(env.app);
    await treasurer.login('kasse@test.example', PASSWORD);
  });
  after(async () => {
    await env.close();
    await fake.stop();
  });

  const url = (id: number) => `/treasurer/organisations/${id}/invoice/items`;
  const stripeOf = (stripeId: string) => fake.invoices.get(stripeId)!;
  const pdfOf = async (id: number): Promise<Buffer> => {
    const res = await treasurer.agent.get(`/treasurer/invoices/${id}/pdf`).buffer(true).parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    });
    expect(res.status).to.equal(200);
    return res.body as Buffer;
  };
  const mailOf = async (id: number) => (await env.db('mail_messages').where({ template: 'dues_invoice', related_type: 'invoice', related_id: id }))!;
  async function memberOf(email: string): Promise<Browser> {
    const user = await env.ctx.users.create(actor, { email, displayName: 'Buchhaltung', roles: ['member'], password: PASSWORD });
    await env.db('contacts').where({ email }).update({ user_id: user });
    const b = new Browser(env.app);
    await b.login(email, PASSWORD);
    return b;
  }

  /** What the member sees of one invoice: a Stripe invoice over the gross with our number, its page on the invoice page, portal, PDF and e-mail. */
  async function expectOnStripe(member: Browser, id: number, grossCents: number, methods: string[], words: { mail: string; portal: string; pdf: string }) {
    const row = (await env.db('invoices').where({ id }).first())!;
    expect(row.stripe_invoice_id, `invoice ${row.number} pushed`).to.match(/^in_/);
    const s = stripeOf(row.stripe_invoice_id!);
    expect(s).to.include({ number: row.number, amount_due: grossCents, total: grossCents, status: 'open' });
    expect(s.metadata).to.include({ local_invoice_id: String(id), invoice_number: row.number });
    expect((s.payment_settings as Obj).payment_method_types).to.deep.equal(methods);
    const payUrl = String(s.hosted_invoice_url);
    expect(row.hosted_invoice_url).to.equal(payUrl);

    const page = (await treasurer.get(`/treasurer/invoices/${id}`)).text;
    expect(page).to.contain(`href="${payUrl}"`);

    const mails = await mailOf(id);
    expect(mails, `one e-mail for ${row.number}`).to.have.length(1);
    expect(mails[0]!.text_body).to.contain(words.mail).and.to.contain(payUrl);

    const portal = (await member.get('/portal/invoices')).text;
    expect(portal).to.contain(row.number).and.to.contain(`href="${payUrl}"`).and.to.contain(words.portal);

    if (!hasPoppler) return; // poppler-utils not installed: the PDF's text cannot be read
    for (const pdf of [await pdfOf(id), Buffer.from(((JSON.parse(mails[0]!.attachments as string) as Attachment[]).find((a) => a.contentType === 'application/pdf'))!.contentBase64, 'base64')]) {
      const text = oneLine(pdfText(pdf));
      expect(text).to.contain(words.pdf).and.to.contain(row.number);
      expect(text.replace(/\s/g, '')).to.contain(payUrl);
    }
  }

  it('two items at 19 % and 7 %: one Stripe invoice over the gross, card and SEPA direct debit offered everywhere; the same form again makes nothing more at Stripe', async () => {
    const org = await makeFirm(env.ctx, { name: 'Harzer Spezialchemie GmbH', categoryId: cats.company, email: 'ap@harzer.example', vatId: 'DE123456789' });
    const member = await memberOf('ap@harzer.example');
    const fields = {
      requestKey: requestKeyOf((await treasurer.get(url(org))).text),
      item1Name: 'Teilnahme Harzer Chemietag 2027', item1Qty: '2', item1Price: '125,00', item1Vat: '19',
      item2Name: 'Tagungsband', item2Qty: '3', item2Price: '0,35', item2Vat: '7',
      serviceStart: '14.05.2027', serviceEnd: '', action: 'issue',
    };
    fake.resetCounts();
    const res = await treasurer.submit(url(org), fields);
    expect(res.status).to.equal(303);
    const rows = await env.db('invoices').where({ organisation_id: org });
    expect(rows).to.have.length(1);
    expect(res.headers.location).to.equal(`/treasurer/invoices/${rows[0]!.id}`);
    // 250,00 € + 19 % and 1,05 € + 7 %: 298,62 € gross
    await expectOnStripe(member, Number(rows[0]!.id), 29862, ['card', 'sepa_debit'], {
      mail: 'Jetzt online bezahlen (Karte, SEPA-Lastschrift)', portal: 'Online bezahlen (Karte, SEPA-Lastschrift)', pdf: 'Oder bezahlen Sie online (Karte, SEPA-Lastschrift):',
    });
    expect(fake.invoicesWhere('local_invoice_id', String(rows[0]!.id))).to.have.length(1);

    // a double click, a reload: the same invoice, no call to Stripe, no second e-mail
    const calls = fake.totalCalls();
    const again = await treasurer.submit(url(org), fields);
    expect(again.status).to.equal(303);
    expect(again.headers.location).to.equal(`/treasurer/invoices/${rows[0]!.id}`);
    expect(fake.totalCalls()).to.equal(calls);
    expect(await env.db('invoices').where({ organisation_id: org })).to.have.length(1);
    expect(await mailOf(Number(rows[0]!.id))).to.have.length(1);
  });

  it('dues beside a taxed item: two invoices, each on Stripe over its own gross with its own number; card only, as the settings say; sent twice, nothing more', async () => {
    await env.ctx.settings.updateStripeSettings(actor, { paymentMethods: ['card'] });
    const org = await makeFirm(env.ctx, { name: 'Okertal Pigmente GmbH', categoryId: cats.company, email: 'ap@okertal.example', vatId: 'DE123456789' });
    const member = await memberOf('ap@okertal.example');
    const fields = {
      requestKey: requestKeyOf((await treasurer.get(url(org))).text),
      item1Name: 'Teilnahme Harzer Chemietag 2027', item1Qty: '1', item1Price: '125,00', item1Vat: '19',
      serviceStart: '2027-05-14', withDues: '1', year: '2027', action: 'issue',
    };
    const res = await treasurer.submit(url(org), fields);
    expect(res.status).to.equal(303);
    const [dues, event] = await env.db('invoices').where({ organisation_id: org }).orderBy('id');
    expect(dues!.dues_key).to.equal(`2027-${org}`);
    expect(event!.dues_key).to.equal(null);
    const words = { mail: 'Jetzt online bezahlen (Karte)', portal: 'Online bezahlen (Karte)', pdf: 'Oder bezahlen Sie online (Karte):' };
    await expectOnStripe(member, Number(dues!.id), Number(dues!.amount_cents), ['card'], words);
    await expectOnStripe(member, Number(event!.id), 14875, ['card'], words);
    expect(Number(dues!.amount_cents)).to.be.greaterThan(0);
    expect(stripeOf(dues!.stripe_invoice_id!).number).to.not.equal(stripeOf(event!.stripe_invoice_id!).number);
    // the e-mail names no SEPA direct debit (not allowed by the settings)
    for (const m of [...await mailOf(Number(dues!.id)), ...await mailOf(Number(event!.id))]) expect(m.text_body).not.to.contain('SEPA-Lastschrift');

    const calls = fake.totalCalls();
    const again = await treasurer.submit(url(org), fields);
    expect(again.status).to.equal(303);
    expect(again.headers.location).to.equal(`/treasurer/invoices/${dues!.id}`);
    expect(fake.totalCalls()).to.equal(calls);
    expect(await env.db('invoices').where({ organisation_id: org })).to.have.length(2);
    expect(fake.invoicesWhere('local_invoice_id', String(dues!.id))).to.have.length(1);
    expect(fake.invoicesWhere('local_invoice_id', String(event!.id))).to.have.length(1);
  });

  it('Stripe unreachable when the form is sent: the invoice stands and the treasurer is told (no error page); "Jetzt zustellen" delivers it once Stripe is back', async () => {
    const org = await makeFirm(env.ctx, { name: 'Brocken Analytik GmbH', categoryId: cats.company, email: 'ap@brocken.example' });
    fake.setFaults({ errorRate: 1 });
    let res;
    try {
      res = await treasurer.submit(url(org), {
        requestKey: requestKeyOf((await treasurer.get(url(org))).text),
        item1Name: 'Workshop Analytik', item1Qty: '1', item1Price: '200,00', item1Vat: '19', serviceStart: '2027-05-14', action: 'issue',
      });
    } finally {
      fake.clearFaults();
    }
    expect(res.status).to.equal(303);
    const [row] = await env.db('invoices').where({ organisation_id: org });
    expect(res.headers.location).to.equal(`/treasurer/invoices/${row!.id}`);
    expect(row!.stripe_invoice_id).to.equal(null);
    expect(await mailOf(Number(row!.id))).to.have.length(0);
    let page = oneLine((await treasurer.get(res.headers.location!)).text);
    expect(page).to.contain(`Rechnung ${row!.number} ausgestellt.`).and.to.contain(`Die E-Mail mit ${row!.number} ist noch nicht verschickt`);
    expect(page).to.contain('id="invoice-push-error"').and.to.contain('id="invoice-deliver"');

    const deliver = await treasurer.submit(`/treasurer/invoices/${row!.id}`, {}, `/treasurer/invoices/${row!.id}/deliver`);
    expect(deliver.status).to.equal(303);
    page = oneLine((await treasurer.get(`/treasurer/invoices/${row!.id}`)).text);
    expect(page).to.contain(`Rechnung ${row!.number} ist zugestellt.`).and.not.to.contain('id="invoice-deliver"');
    const after = (await env.db('invoices').where({ id: row!.id }).first())!;
    expect(fake.invoicesWhere('local_invoice_id', String(row!.id))).to.have.length(1);
    expect(stripeOf(after.stripe_invoice_id!)).to.include({ amount_due: 23800 });
    expect(await mailOf(Number(row!.id))).to.have.length(1);
    expect(await env.db('audit_log').where({ action: 'invoice.delivery_retried', entity_id: row!.id })).to.have.length(1);
  });
  it('the single dues invoice from the member page with Stripe unreachable: issued, no error page, the treasurer told; "Jetzt zustellen" delivers it', async () => {
    const org = await makeFirm(env.ctx, { name: 'Okertal Pigmente GmbH', categoryId: cats.company, email: 'ap@okertal.example' });
    const form = (await treasurer.get(`/board/members/${org}`)).text;
    expect(form).to.contain(`action="/treasurer/organisations/${org}/invoice"`);
    fake.setFaults({ errorRate: 1 });
    let res;
    try {
      res = await treasurer.submit(`/board/members/${org}`, { year: '2027' }, `/treasurer/organisations/${org}/invoice`);
    } finally {
      fake.clearFaults();
    }
    expect(res.status).to.equal(303);
    const [row] = await env.db('invoices').where({ organisation_id: org });
    expect(res.headers.location).to.equal(`/treasurer/invoices/${row!.id}`);
    let page = oneLine((await treasurer.get(res.headers.location!)).text);
    expect(page).to.contain(`Rechnung ${row!.number} ausgestellt.`).and.to.contain(`Die E-Mail mit ${row!.number} ist noch nicht verschickt`);
    expect(await mailOf(Number(row!.id))).to.have.length(0);
    await treasurer.submit(`/treasurer/invoices/${row!.id}`, {}, `/treasurer/invoices/${row!.id}/deliver`);
    page = oneLine((await treasurer.get(`/treasurer/invoices/${row!.id}`)).text);
    expect(page).to.contain(`Rechnung ${row!.number} ist zugestellt.`);
    expect(await mailOf(Number(row!.id))).to.have.length(1);
    expect(fake.invoicesWhere('local_invoice_id', String(row!.id))).to.have.length(1);
  });
});
