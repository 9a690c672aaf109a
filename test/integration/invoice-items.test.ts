import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeFirm, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { DEFAULT_ASSOCIATION } from '../../server/settings/settings.schemas.ts';
import type { Context } from '../../server/context.ts';
import { detach, hasPoppler, hasXmllint, pdfText, schematronFailures, SKIP_MESSAGE, STANDARDS, xsdErrors } from '../helpers/einvoice-standards.ts';

/**
 * Issue 14, item 5: an invoice with items beyond the dues (an event fee with 19 % VAT, a book
 * at 7 %), from the member page, with or without the year's dues line: VAT per rate on the sum
 * of the nets, the PDF's net / VAT / gross block, the e-invoice valid against the CII schema and
 * the EN 16931 schematron, the Stornorechnung mirroring the lines, and every bad input named.
 */

const actor = { userId: null, label: 'test' };

const makeOrg = (ctx: Context, o: { name: string; categoryId: number; email: string; locale?: 'de' | 'en'; joinDate?: string }) => makeFirm(ctx, { vatId: 'DE123456789', ...o });

type Attachment = { filename: string; contentType: string; contentBase64: string };
async function pdfOf(env: TestEnv, invoiceId: number): Promise<Buffer> {
  const m = await env.db('mail_messages').where({ related_type: 'invoice', related_id: invoiceId }).first();
  const a = (m?.attachments ? JSON.parse(m.attachments) as Attachment[] : []).find((x) => x.contentType === 'application/pdf');
  if (!a) throw new Error(`no PDF mailed for invoice ${invoiceId}`);
  return Buffer.from(a.contentBase64, 'base64');
}

/** The form's one-time key from the page (a hidden field). */
function requestKeyOf(html: string): string {
  const m = /name="requestKey" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('no requestKey in the form');
  return m[1]!;
}

const squash = (s: string) => s.replace(/\s+/g, ' ');

describe('an invoice with further items (VAT per rate, with or without the dues), from the member page', function () {
  this.timeout(300_000);
  let env: TestEnv;
  let cats: Record<string, number>;
  let treasurer: Browser;
  let board: Browser;
  const org: Record<string, number> = {};

  before(async () => {
    env = await createTestEnv();
    env.clock.set('2027-05-20T09:00:00Z');
    cats = await makeCategories(env.ctx);
    await env.ctx.settings.updateAssociation(actor, {
      ...DEFAULT_ASSOCIATION, name: 'ChemieNetzwerk Harz e.V.', street: 'Adolph-Roemer-Straße 2A', postcode: '38678', city: 'Clausthal-Zellerfeld',
      taxNumber: '21/270/12345', bankHolder: 'ChemieNetzwerk Harz e.V.', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', bankName: 'Commerzbank',
    });
    org.firm = await makeOrg(env.ctx, { name: 'Harzer Spezialchemie GmbH', categoryId: cats.company, email: 'ap@harzer.example' });
    org.english = await makeOrg(env.ctx, { name: 'Goslar Polymers Ltd', categoryId: cats.company, email: 'ap@polymers.example', locale: 'en' });
    org.joiner = await makeOrg(env.ctx, { name: 'Neu Beigetreten GmbH', categoryId: cats.company, email: 'ap@neu.example', joinDate: '2027-03-02' });
    org.leaver = await makeOrg(env.ctx, { name: 'Ausgetreten AG', categoryId: cats.company, email: 'ap@aus.example' });
    await env.db('organisations').where({ id: org.leaver }).update({ exit_date: '2027-04-30' });
    await env.ctx.dues.freezeFeeSchedule(actor, 2027);
    await makeUser(env.ctx, 'treasurer@test.example', ['treasurer']);
    await makeUser(env.ctx, 'board@test.example', ['board']);
    treasurer = new Browser(env.app);
    await treasurer.login('treasurer@test.example', PASSWORD);
    board = new Browser(env.app);
    await board.login('board@test.example', PASSWORD);
  });
  after(async () => env.close());

  const url = (id: number) => `/treasurer/organisations/${id}/invoice/items`;
  async function send(b: Browser, id: number, fields: Record<string, string>) {
    const page = await b.get(url(id));
    return b.submit(url(id), { requestKey: requestKeyOf(page.text), ...fields });
  }

  it('the member page links to the form; only the treasurer may open it', async () => {
    const page = await treasurer.get(`/board/members/${org.firm}`);
    expect(page.text).to.contain(`href="${url(org.firm)}"`).and.to.contain('Rechnung mit weiteren Posten');
    expect((await treasurer.get(url(org.firm))).status).to.equal(200);
    expect((await board.get(url(org.firm))).status).to.equal(403);
    expect((await board.get(`/board/members/${org.firm}`)).text).to.not.contain(`href="${url(org.firm)}"`);
  });

  it('bad input is named next to each field in German, what was typed stays, and nothing is issued', async () => {
    const res = await send(treasurer, org.firm, {
      item1Name: 'Teilnahme Harzer Chemietag 2027', item1Qty: 'zwei', item1Price: '125,005', item1Vat: '19',
      item2Name: '', item2Qty: '1', item2Price: '10,00', item2Vat: '7',
      item3Name: 'Fachbuch', item3Qty: '1.000', item3Price: '-5', item3Vat: '16',
      serviceStart: '31.02.2027', serviceEnd: '', action: 'issue',
    });
    expect(res.status).to.equal(422);
    const text = squash(res.text);
    expect(text).to.contain('Bitte die Menge als Zahl eingeben').and.to.contain('value="zwei"');
    expect(text).to.contain('value="125,005"');
    expect(text).to.contain('Bitte die Bezeichnung des Postens eingeben');
    expect(text).to.contain('value="1.000"');
    expect(text).to.contain('Bitte 19 %, 7 % oder „nicht steuerbar“ wählen.');
    expect(res.text).to.match(/id="e-item1Price"/).and.to.match(/id="e-item3Price"/).and.to.match(/id="e-serviceStart"/);
    expect(Number((await env.db('invoices').where({ organisation_id: org.firm }).count({ n: '*' }).first())?.n)).to.equal(0);
  });

  it('an empty form, a period ending before it starts, a quantity of 0 and a sum over 1.000.000,00 € are refused', async () => {
    const empty = await send(treasurer, org.firm, { action: 'issue' });
    expect(empty.status).to.equal(422);
    expect(empty.text).to.contain('Bitte mindestens einen Posten eingeben oder den Jahresbeitrag auswählen.');
    const order = await send(treasurer, org.firm, { item1Name: 'Workshop', item1Qty: '0', item1Price: '100,00', item1Vat: '19', serviceStart: '2027-05-10', serviceEnd: '2027-05-09', action: 'issue' });
    expect(order.text).to.contain('Das Ende des Leistungszeitraums liegt vor seinem Beginn.').and.to.contain('Die Menge muss größer als 0 sein.');
    const huge = await send(treasurer, org.firm, { item1Name: 'Sponsoring', item1Qty: '10', item1Price: '99.999,99', item1Vat: '19', serviceStart: '2027-05-10', action: 'issue' });
    expect(huge.status).to.equal(422);
    expect(squash(huge.text)).to.contain('mehr als 1.000.000,00 €');
    expect(Number((await env.db('invoices').count({ n: '*' }).first())?.n)).to.equal(0);
  });

  it('"Summen berechnen" shows net, VAT per rate on the sum of the nets and gross, and issues nothing', async () => {
    const res = await send(treasurer, org.firm, {
      item1Name: 'Teilnahme Harzer Chemietag 2027', item1Qty: '2', item1Price: '125,00', item1Vat: '19',
      item2Name: 'Tagungsband', item2Qty: '3', item2Price: '0,35', item2Vat: '7',
      serviceStart: '2027-05-14', action: 'preview',
    });
    expect(res.status).to.equal(200);
    const text = squash(res.text);
    expect(text).to.contain('So sieht die Rechnung aus');
    // 250,00 € at 19 % = 47,50 €; 3 × 0,35 € = 1,05 € at 7 % = 0,07 € (0,0735 rounded); gross 298,62 €
    expect(text).to.contain('Umsatzsteuer 19 % auf 250,00 €').and.to.contain('47,50 €');
    expect(text).to.contain('Umsatzsteuer 7 % auf 1,05 €').and.to.contain('0,07 €');
    expect(text).to.contain('298,62 €');
    expect(Number((await env.db('invoices').count({ n: '*' }).first())?.n)).to.equal(0);
  });

  it('issues the invoice with the next number; the PDF shows net, VAT and gross; the embedded XML passes the CII schema and the EN 16931 schematron', async function () {
    const page = await treasurer.get(url(org.firm));
    const key = requestKeyOf(page.text);
    const fields = {
      requestKey: key,
      item1Name: 'Teilnahme Harzer Chemietag 2027', item1Qty: '2', item1Price: '125,00', item1Vat: '19',
      item2Name: 'Tagungsband', item2Qty: '3', item2Price: '0,35', item2Vat: '7',
      serviceStart: '14.05.2027', serviceEnd: '', action: 'issue',
    };
    const res = await treasurer.submit(url(org.firm), fields);
    expect(res.status).to.equal(303);
    const inv = await env.db('invoices').where({ organisation_id: org.firm }).first();
    expect({ ...inv, amount_cents: Number(inv!.amount_cents) }).to.deep.include({ number: '2027-0001', amount_cents: 29862, period_start: '2027-05-14', period_end: '2027-05-14', dues_key: null });
    expect(res.headers.location).to.equal(`/treasurer/invoices/${inv!.id}`);
    // the same form sent again (a double click, a reload): the same invoice, no second one
    const again = await treasurer.submit(url(org.firm), fields);
    expect(again.status).to.equal(303);
    expect(again.headers.location).to.equal(`/treasurer/invoices/${inv!.id}`);
    expect(Number((await env.db('invoices').where({ organisation_id: org.firm }).count({ n: '*' }).first())?.n)).to.equal(1);
    const audit = await env.db('audit_log').where({ action: 'invoice.issued', entity_id: inv!.id }).first();
    expect(audit).to.not.equal(undefined);

    if (!hasPoppler) { this.skip(); return; }
    const pdf = await pdfOf(env, Number(inv!.id));
    const text = squash(pdfText(pdf));
    expect(text).to.contain('Teilnahme Harzer Chemietag 2027, 14.05.2027').and.to.contain('2 × 125,00 €').and.to.contain('USt 19 %');
    expect(text).to.contain('Nettobetrag 251,05 €');
    expect(text).to.contain('Umsatzsteuer 19 % auf 250,00 € 47,50 €');
    expect(text).to.contain('Umsatzsteuer 7 % auf 1,05 € 0,07 €');
    expect(text).to.contain('Gesamtbetrag (brutto) 298,62 €');
    const xml = detach(pdf, 'factur-x.xml').content;
    expect(xml).to.contain('<ram:RateApplicablePercent>19.00</ram:RateApplicablePercent>').and.to.contain('<ram:RateApplicablePercent>7.00</ram:RateApplicablePercent>');
    expect(xml).to.contain('<ram:TaxTotalAmount currencyID="EUR">47.57</ram:TaxTotalAmount>').and.to.contain('<ram:GrandTotalAmount>298.62</ram:GrandTotalAmount>');
    if (!STANDARDS || !hasXmllint) { console.log(`      ${SKIP_MESSAGE}`); return; }
    expect(xsdErrors(xml)).to.equal('');
    expect(await schematronFailures(xml)).to.deep.equal([]);
  });

  it('with the year\'s dues beside a taxed item: two invoices (EN 16931 allows no taxed line beside dues outside VAT), the dues one counts for the year', async function () {
    const fields = {
      item1Name: 'Teilnahme Harzer Chemietag 2027', item1Qty: '1', item1Price: '125,00', item1Vat: '19',
      serviceStart: '2027-05-14', withDues: '1', year: '2027',
    };
    const preview = await send(treasurer, org.joiner, { ...fields, action: 'preview' });
    expect(squash(preview.text)).to.contain('Es werden zwei Rechnungen mit aufeinanderfolgenden Nummern ausgestellt').and.to.contain('BR-O-11');
    const res = await send(treasurer, org.joiner, { ...fields, action: 'issue' });
    expect(res.status).to.equal(303);
    const [dues, event] = await env.db('invoices').where({ organisation_id: org.joiner }).orderBy('id');
    expect(dues).to.deep.include({ number: '2027-0002', dues_key: `2027-${org.joiner}`, period_start: '2027-03-02', period_end: '2027-12-31' });
    expect({ ...event, amount_cents: Number(event!.amount_cents) }).to.deep.include({ number: '2027-0003', dues_key: null, period_start: '2027-05-14', period_end: '2027-05-14', amount_cents: 14875 });
    expect(res.headers.location).to.equal(`/treasurer/invoices/${dues!.id}`);
    const duesLines = JSON.parse(dues!.lines as string) as { category: string; period: { start: string } }[];
    expect(duesLines.map((l) => [l.category, l.period.start])).to.deep.equal([['O', '2027-03-02']]);
    // the dues of 2027 are billed: a second dues line for the year is refused, and a run skips the member
    const twice = await send(treasurer, org.joiner, { withDues: '1', year: '2027', action: 'issue' });
    expect(twice.status).to.equal(422);
    expect(squash(twice.text)).to.contain('schon die Beitragsrechnung 2027-0002');
    const run = await env.ctx.dues.preview(2027);
    expect(run.rows.find((r) => r.organisationId === org.joiner)?.skip).to.equal('invoiced');

    if (!hasPoppler) { this.skip(); return; }
    const duesText = squash(pdfText(await pdfOf(env, Number(dues!.id))));
    expect(duesText).to.contain('02.03.2027–31.12.2027').and.to.not.contain('Umsatzsteuer 19 %');
    const pdf = await pdfOf(env, Number(event!.id));
    const text = squash(pdfText(pdf));
    expect(text).to.contain('Teilnahme Harzer Chemietag 2027, 14.05.2027').and.to.contain('Umsatzsteuer 19 % auf 125,00 € 23,75 €').and.to.contain('148,75 €');
    if (!STANDARDS || !hasXmllint) { console.log(`      ${SKIP_MESSAGE}`); return; }
    for (const id of [dues!.id, event!.id]) {
      const xml = (await treasurer.get(`/treasurer/invoices/${id}/xml`)).text;
      expect(xsdErrors(xml)).to.equal('');
      expect(await schematronFailures(xml)).to.deep.equal([]);
    }
  });

  it('dues and an item outside VAT (a donation-like contribution) share one invoice', async () => {
    const other = await makeOrg(env.ctx, { name: 'Zweite Firma GmbH', categoryId: cats.company, email: 'ap@zweite.example' });
    const res = await send(treasurer, other, { item1Name: 'Umlage Standortbroschüre', item1Qty: '1', item1Price: '50,00', item1Vat: 'O', serviceStart: '2027-05-14', withDues: '1', year: '2027', action: 'issue' });
    expect(res.status).to.equal(303);
    const rows = await env.db('invoices').where({ organisation_id: other });
    expect(rows).to.have.length(1);
    expect(rows[0]!.description).to.equal('Mitgliedsbeitrag 2027 und ein weiterer Posten');
    expect((JSON.parse(rows[0]!.lines as string) as unknown[]).length).to.equal(2);
  });

  it('the Stornorechnung mirrors the lines (net, VAT per rate, gross as negative amounts) and its XML is a valid credit note', async function () {
    const inv = await env.db('invoices').where({ number: '2027-0001' }).first();
    const c = await env.ctx.dues.cancelInvoice(actor, Number(inv!.id), 'Doppelt berechnet');
    const row = await env.db('invoices').where({ id: c.cancellationId }).first();
    expect({ amount: Number(row!.amount_cents), lines: row!.lines }).to.deep.equal({ amount: -29862, lines: inv!.lines });
    if (!hasPoppler) { this.skip(); return; }
    const text = squash(pdfText(await pdfOf(env, c.cancellationId)));
    expect(text).to.contain('Nettobetrag -251,05 €').and.to.contain('Umsatzsteuer 19 % auf -250,00 € -47,50 €').and.to.contain('-298,62 €');
    const xml = (await treasurer.get(`/treasurer/invoices/${c.cancellationId}/xml`)).text;
    expect(xml).to.contain('<ram:TypeCode>381</ram:TypeCode>').and.to.contain('<ram:GrandTotalAmount>298.62</ram:GrandTotalAmount>');
    if (!STANDARDS || !hasXmllint) { console.log(`      ${SKIP_MESSAGE}`); return; }
    expect(xsdErrors(xml)).to.equal('');
    expect(await schematronFailures(xml)).to.deep.equal([]);
  });

  it('an English member\'s invoice says the same in English', async function () {
    const res = await send(treasurer, org.english, {
      item1Name: 'Participation Harz Chemistry Day 2027', item1Qty: '1', item1Price: '125,00', item1Vat: '19', serviceStart: '2027-05-14', action: 'issue',
    });
    expect(res.status).to.equal(303);
    const inv = await env.db('invoices').where({ organisation_id: org.english }).first();
    if (!hasPoppler) { this.skip(); return; }
    const text = squash(pdfText(await pdfOf(env, Number(inv!.id))));
    expect(text).to.contain('Participation Harz Chemistry Day 2027, 14/05/2027');
    expect(text).to.match(/VAT 19 % on (€125\.00|125\.00 €)/);
    expect(text).to.match(/Total \(gross\)|Gross/);
  });

  it('a member who left is not billed for a service after the exit; the message says when the membership ended', async () => {
    const res = await send(treasurer, org.leaver, { item1Name: 'Workshop', item1Qty: '1', item1Price: '100,00', item1Vat: '19', serviceStart: '2027-04-30', serviceEnd: '2027-05-01', action: 'issue' });
    expect(res.status).to.equal(422);
    expect(squash(res.text)).to.contain('Die Mitgliedschaft endete am 30.04.2027').and.to.contain('value="Workshop"');
    expect(await env.db('invoices').where({ organisation_id: org.leaver }).first()).to.equal(undefined);
    // a service on the last day of the membership may still be billed
    const before = await send(treasurer, org.leaver, { item1Name: 'Workshop', item1Qty: '1', item1Price: '100,00', item1Vat: '19', serviceStart: '2027-04-30', action: 'issue' });
    expect(before.status).to.equal(303);
  });

  it('the service refuses malformed items itself (a caller that skips the form)', async () => {
    let err: unknown;
    try {
      await env.ctx.dues.issueWithItems(actor, org.firm, { items: [{ name: 'x', quantityMilli: -1, unitNetCents: 100, vat: '19' }], duesYear: null, serviceStart: '2027-05-01', serviceEnd: '2027-05-01', requestKey: 'abcdefghijklmnop1234' });
    } catch (e) { err = e; }
    expect(err).to.have.property('status', 422);
  });
});
