import { expect } from 'chai';
import type { Express, Router } from 'express';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { DEFAULT_ASSOCIATION } from '../../server/settings/settings.schemas.ts';
import { portalInvoicesRouter } from '../../server/dues/portal-invoices.routes.ts';
import type { Context } from '../../server/context.ts';

const actor = { userId: null, label: 'test' };
const eur = (s: string) => `${s}\u00a0€`;

async function makeOrg(ctx: Context, o: { name: string; categoryId: number; band?: string; joinDate: string; email: string }): Promise<number> {
  return ctx.db.transaction(async (trx) => (await ctx.members.createOrganisation(trx, actor, {
    legalName: o.name, legalForm: 'GmbH', street: 'Hauptstraße 1', postcode: '38640', city: 'Goslar', country: 'DE', website: '', registerEntry: '',
    vatId: '', fieldOfActivity: 'Chemie', employeeBand: o.band ?? '1-49', categoryId: o.categoryId, joinDate: o.joinDate,
  }, [{ name: 'Buchhaltung', email: o.email, phone: '', position: '', isRepresentative: true, isBilling: true, locale: 'de', consentEmailInvitations: false }],
  { invite: false, welcome: false })).organisationId);
}

function mountBeforeNotFound(app: Express, path: string, router: Router) {
  const stack = (app as unknown as { router: { stack: { name: string }[] } }).router.stack;
  const lastRouter = stack.map((l) => l.name).lastIndexOf('router');
  app.use(path, router);
  const layer = stack.pop()!;
  stack.splice(lastRouter + 1, 0, layer);
}

describe('dues: a payment booked wrongly is reversed, overpayments refunded or carried over', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let treasurer: Browser;
  const org: Record<string, number> = {};
  const inv: Record<string, number> = {};

  before(async () => {
    env = await createTestEnv();
    env.clock.set('2027-03-10T09:00:00Z');
    const cats = await makeCategories(env.ctx);
    await env.ctx.settings.updateAssociation(actor, {
      ...DEFAULT_ASSOCIATION, name: 'ChemieNetzwerk Harz e.V.', street: 'Adolph-Roemer-Straße 2A', postcode: '38678', city: 'Clausthal-Zellerfeld',
      taxNumber: '21/270/12345', bankHolder: 'ChemieNetzwerk Harz e.V.', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', bankName: 'Commerzbank',
    });
    org.big = await makeOrg(env.ctx, { name: 'Harzer Spezialchemie GmbH', categoryId: cats.company, band: '250+', joinDate: '2015-03-01', email: 'buchhaltung@harzer.example' });
    org.mid = await makeOrg(env.ctx, { name: 'Okertal Pigmente GmbH', categoryId: cats.company, band: '50-249', joinDate: '2016-01-01', email: 'fibu@okertal.example' });
    org.small = await makeOrg(env.ctx, { name: 'Goslarer Labor GmbH', categoryId: cats.company, band: '1-49', joinDate: '2018-01-01', email: 'labor@goslar.example' });
    await env.ctx.dues.freezeFeeSchedule(actor, 2027);
    await env.ctx.dues.freezeFeeSchedule(actor, 2028);
    for (const k of ['big', 'mid', 'small']) {
      const r = await env.ctx.dues.issueDuesInvoice(actor, org[k], 2027);
      if (!r.issued) throw new Error('not issued');
      inv[k] = r.invoiceId;
    }
    await makeUser(env.ctx, 'treasurer@test.example', ['treasurer']);
    treasurer = new Browser(env.app);
    await treasurer.login('treasurer@test.example', PASSWORD);
  });
  after(async () => env.close());

  const pay = (id: number, data: Record<string, string>) => treasurer.submit(`/treasurer/invoices/${id}`, data, `/treasurer/invoices/${id}/payments`);

  it('refuses a payment dated in the future, with three decimals, or far beyond the invoice, next to the field; nothing booked', async () => {
    let res = await pay(inv.mid, { date: '2027-03-11', amount: '1.200,00', reference: 'x' });
    expect(res.status).to.equal(422);
    expect(res.text).to.match(/id="e-date"[^>]*>Das Datum liegt in der Zukunft/);
    expect(res.text).to.contain('value="1.200,00"');
    res = await pay(inv.mid, { date: '2027-03-01', amount: '1.200,005', reference: 'x' });
    expect(res.status).to.equal(422);
    expect(res.text).to.match(/id="e-amount"[^>]*>Bitte höchstens zwei Nachkommastellen/);
    res = await pay(inv.mid, { date: '2027-03-01', amount: '999.999.999.999,99', reference: 'x' });
    expect(res.status).to.equal(422);
    expect(res.text).to.contain(`höchstens ${eur('2.400,00')} gebucht werden`);
    expect(await env.ctx.payments.forInvoice(inv.mid)).to.have.length(0);
  });

  it('reverses a typo\'d bank payment with a reason: the original stays, the dashboard, the CSV and the portal agree', async () => {
    // 2.500 paid in full; 500 of 500 paid; 2.100,00 typed for the 1.200,00 of the middle firm
    await pay(inv.big, { date: '2027-03-01', amount: '2.500,00', reference: 'Überweisung Harzer' });
    await pay(inv.small, { date: '2027-03-02', amount: '500', reference: 'Labor' });
    const typo = await pay(inv.mid, { date: '2027-03-03', amount: '2.100,00', reference: 'Okertal' });
    expect(typo.status).to.equal(303);
    let d = await env.ctx.dues.dashboard(2027);
    expect(d.invoiced.cents).to.equal(250000 + 120000 + 50000);
    expect(d.paid.cents).to.equal(250000 + 50000 + 210000);
    expect(d.open).to.deep.equal({ count: 0, cents: 0 });

    const [wrong] = await env.ctx.payments.forInvoice(inv.mid);
    const url = `/treasurer/payments/${wrong.id}/reverse`;
    const page = await treasurer.get(`/treasurer/invoices/${inv.mid}`);
    expect(page.text).to.contain(`href="${url}"`);
    // refused: no reason, more than was paid, dated in the future, three decimals
    let res = await treasurer.submit(url, { date: '2027-03-10', amount: '2.100,00', reason: '' });
    expect(res.status).to.equal(422);
    expect(res.text).to.match(/id="e-reason"/);
    res = await treasurer.submit(url, { date: '2027-03-10', amount: '2.100,01', reason: 'Tippfehler' });
    expect(res.status).to.equal(422);
    expect(res.text).to.contain(`höchstens der Betrag der Zahlung storniert werden (${eur('2.100,00')})`);
    res = await treasurer.submit(url, { date: '2027-03-12', amount: '2.100,00', reason: 'Tippfehler' });
    expect(res.status).to.equal(422);
    expect(res.text).to.match(/id="e-date"[^>]*>Das Datum liegt in der Zukunft/);
    res = await treasurer.submit(url, { date: '2027-03-10', amount: '2.100,001', reason: 'Tippfehler' });
    expect(res.status).to.equal(422);
    expect(await env.ctx.payments.forInvoice(inv.mid)).to.have.length(1);

    res = await treasurer.submit(url, { date: '2027-03-10', amount: '2.100,00', reason: 'Tippfehler: 2.100 statt 1.200' });
    expect(res.status).to.equal(303);
    // twice: refused, nothing booked
    const again = await treasurer.agent.post(url).type('form').send({ _csrf: Browser.csrfFrom(page.text), date: '2027-03-10', amount: '1,00', reason: 'nochmal' });
    expect(again.status).to.equal(422);
    expect(again.text).to.contain('bereits storniert');
    expect((await treasurer.get(`/treasurer/invoices/${inv.mid}`)).text).not.to.contain(`href="${url}"`);
    // the right amount booked anew
    expect((await pay(inv.mid, { date: '2027-03-03', amount: '1.200,00', reference: 'Okertal' })).status).to.equal(303);

    const rows = await env.ctx.payments.forInvoice(inv.mid);
    expect(rows.map((p) => [p.kind, p.amountCents, p.reversesPaymentId])).to.deep.equal([
      ['payment', 210000, null], ['payment', 120000, null], ['reversal', -210000, wrong.id],
    ]);
    expect(await env.ctx.dues.get(inv.mid)).to.include({ status: 'paid', paidCents: 120000, openCents: 0 });
    const audit = await env.db('audit_log').where({ action: 'payment.reversed' });
    expect(audit).to.have.length(1);
    expect(audit[0].after).to.contain('Tippfehler');

    d = await env.ctx.dues.dashboard(2027);
    expect(d.invoiced).to.deep.equal({ count: 3, cents: 420000 });
    expect(d.paid).to.deep.equal({ count: 3, cents: 420000 });
    expect(d.open).to.deep.equal({ count: 0, cents: 0 });
    expect(d.months.find((m) => m.month === '2027-03')!.cents).to.equal(420000);
    const dash = await treasurer.get('/treasurer?year=2027');
    expect(dash.text).to.contain(eur('4.200,00'));
    expect(dash.text).not.to.contain(eur('5.100,00'));

    const csv = (await treasurer.get('/treasurer/export/payments-2027.csv')).text.replace(/^\ufeff/, '').trim().split('\r\n');
    const mid = csv.filter((l) => l.includes('Okertal Pigmente'));
    expect(mid.map((l) => l.split(';').slice(0, 4).concat(l.split(';')[7]))).to.deep.equal([
      ['03.03.2027', '2027-0002', 'M-0002 Okertal Pigmente GmbH', '2100,00', 'Zahlung Überweisung'],
      ['03.03.2027', '2027-0002', 'M-0002 Okertal Pigmente GmbH', '1200,00', 'Zahlung Überweisung'],
      ['10.03.2027', '2027-0002', 'M-0002 Okertal Pigmente GmbH', '-2100,00', 'Storno Zahlung'],
    ]);
    expect(mid[2]).to.contain('Tippfehler: 2.100 statt 1.200');
    const sum = csv.slice(1).reduce((s, l) => s + Number(l.split(';')[3].replace(',', '.')), 0);
    expect(sum).to.equal(4200);

    // the member's account says the same
    mountBeforeNotFound(env.app, '/portal', portalInvoicesRouter(env.ctx));
    const memberUser = await env.ctx.users.create(actor, { email: 'fibu@okertal.example', displayName: 'Fibu', roles: ['member'], password: PASSWORD });
    await env.db('contacts').where({ email: 'fibu@okertal.example' }).update({ user_id: memberUser });
    const member = new Browser(env.app);
    await member.login('fibu@okertal.example', PASSWORD);
    const portal = await member.get('/portal/invoices');
    expect(portal.text).to.match(/2027-0002[\s\S]*1\.200,00\u00a0€[\s\S]*1\.200,00\u00a0€[\s\S]*bezahlt/);
    expect(portal.text).not.to.contain('2.100,00');
  });

  it('refuses reversing more than the invoice still holds as paid', async () => {
    // a second typo on the small firm's invoice, then its first payment reversed: the second cannot go below zero
    const rows = await env.ctx.payments.forInvoice(inv.small);
    await env.ctx.payments.reverse(actor, rows[0].id, { date: '2027-03-10', amountCents: 50000, reason: 'falsches Mitglied' });
    expect(await env.ctx.dues.get(inv.small)).to.include({ status: 'open', paidCents: 0, openCents: 50000 });
    const d = await env.ctx.dues.dashboard(2027);
    expect(d.open).to.deep.equal({ count: 1, cents: 50000 });
    expect(d.paid).to.deep.equal({ count: 2, cents: 370000 });
  });

  it('refunds an overpayment (recorded) or carries it over as a credit to the next invoice', async () => {
    // Harzer paid 2.500 + 300 by mistake: 300 overpaid
    await pay(inv.big, { date: '2027-03-05', amount: '300,00', reference: 'doppelt' });
    let page = await treasurer.get(`/treasurer/invoices/${inv.big}`);
    expect(page.text).to.contain(`Überzahlt: ${eur('300,00')}`);
    const ourl = `/treasurer/invoices/${inv.big}/overpayment`;
    let res = await treasurer.submit(ourl, { date: '2027-03-10', amount: '300,01', reason: 'zurück' }, `/treasurer/invoices/${inv.big}/refund`);
    expect(res.status).to.equal(422);
    expect(res.text).to.contain('höchstens der überzahlte Betrag');
    res = await treasurer.submit(ourl, { date: '2027-03-10', amount: '100,00', reason: 'Rücküberweisung' }, `/treasurer/invoices/${inv.big}/refund`);
    expect(res.status).to.equal(303);
    expect(await env.ctx.dues.get(inv.big)).to.include({ status: 'paid', paidCents: 270000 });
    // the rest (200) carried over; no 2028 invoice yet: it waits for the next one
    res = await treasurer.submit(ourl, { reason: 'auf 2028' }, `/treasurer/invoices/${inv.big}/credit`);
    expect(res.status).to.equal(303);
    expect(await env.ctx.dues.get(inv.big)).to.include({ status: 'paid', paidCents: 250000 });
    expect(await env.ctx.payments.openCredit(org.big)).to.equal(20000);
    page = await treasurer.get(`/treasurer/invoices/${inv.big}`);
    expect(page.text).not.to.contain('Überzahlt:');
    const r = await env.ctx.dues.issueDuesInvoice(actor, org.big, 2028);
    if (!r.issued) throw new Error('not issued');
    expect(await env.ctx.dues.get(r.invoiceId)).to.include({ status: 'partially_paid', paidCents: 20000, openCents: 230000 });
    expect(await env.ctx.payments.openCredit(org.big)).to.equal(0);
    // money actually received in 2027: 2.500 + 300 − 100 refunded (the credit moved, no money did)
    const d = await env.ctx.dues.dashboard(2027);
    expect(d.months.find((m) => m.month === '2027-03')!.cents).to.equal(250000 + 30000 - 10000 + 120000 + 0);
    const csv = (await treasurer.get('/treasurer/export/payments-2027.csv')).text;
    expect(csv).to.contain(';-100,00;');
    expect(csv).to.contain('Erstattung');
    expect(csv).to.contain('Guthaben übertragen');
  });

  it('exports a DATEV Buchungsstapel that parses against the EXTF specification (header, columns, formats, accounts from settings)', async () => {
    // h/money2: SKR04 accounts stored before the VAT accounts existed get SKR04's automatic accounts (4400, 4300), not SKR03's
    await env.db('settings').insert({ key: 'datev', value: JSON.stringify({ chart: 'SKR04', consultantNumber: 29098, clientNumber: 55003, debtorBase: 10000, revenueAccount: '4200', bankAccount: '1800' }), updated_at: '2027-01-01T00:00:00.000Z' });
    expect(await env.ctx.settings.datev()).to.include({ chart: 'SKR04', vat19Account: '4400', vat7Account: '4300' });
    await env.ctx.settings.updateDatev(actor, { chart: 'SKR04', consultantNumber: 29098, clientNumber: 55003, debtorBase: 10000, revenueAccount: '4200', bankAccount: '1800', vat19Account: '4400', vat7Account: '4300' });
    const res = await treasurer.agent.get('/treasurer/export/datev-2027.csv').buffer(true).parse((r, cb) => {
      const chunks: Buffer[] = []; r.on('data', (c: Buffer) => chunks.push(c)); r.on('end', () => cb(null, Buffer.concat(chunks)));
    });
    expect(res.status).to.equal(200);
    expect(res.headers['content-disposition']).to.contain('EXTF_Buchungsstapel_Beitraege_2027.csv');
    const text = (res.body as Buffer).toString('latin1');
    expect(text).to.contain('Beitrag M-0002 Okertal Pigmente GmbH'); // umlaut-free names; ü below
    const lines = text.split('\r\n').filter((l) => l);
    const header = lines[0].split(';');
    expect(header).to.have.length(31);
    expect(header.slice(0, 5)).to.deep.equal(['"EXTF"', '700', '21', '"Buchungsstapel"', '13']);
    expect(header[5]).to.match(/^\d{17}$/);
    expect(header.slice(10, 16)).to.deep.equal(['29098', '55003', '20270101', '4', '20270101', '20271231']);
    expect(header[21]).to.equal('"EUR"');
    expect(header[26]).to.equal('"04"');
    const cols = lines[1].split(';');
    expect(cols).to.have.length(125); // h/money2: format version 13 has 125 columns, read by position
    expect(cols.slice(0, 14)).to.deep.equal(['Umsatz (ohne Soll/Haben-Kz)', 'Soll/Haben-Kennzeichen', 'WKZ Umsatz', 'Kurs', 'Basis-Umsatz', 'WKZ Basis-Umsatz', 'Konto',
      'Gegenkonto (ohne BU-Schlüssel)', 'BU-Schlüssel', 'Belegdatum', 'Belegfeld 1', 'Belegfeld 2', 'Skonto', 'Buchungstext']);
    const rows = lines.slice(2).map((l) => l.split(';'));
    for (const r of rows) {
      expect(r).to.have.length(cols.length);
      expect(r[0]).to.match(/^\d{1,10},\d{2}$/); // Umsatz: positive, decimal comma, no thousands dots
      expect(r[1]).to.match(/^"[SH]"$/);
      expect(r[6]).to.match(/^\d{4,9}$/);
      expect(r[7]).to.match(/^\d{4,9}$/);
      expect(r[9]).to.match(/^(0[1-9]|[12]\d|3[01])(0[1-9]|1[0-2])$/); // DDMM
      expect(r[10]).to.match(/^"2027-\d{4}"$/);
      expect(r[13].length).to.be.at.most(62);
    }
    const mid = rows.filter((r) => r[10] === '"2027-0002"').map((r) => [r[0], r[1], r[6], r[7], r[9]]);
    expect(mid).to.deep.equal([
      ['1200,00', '"S"', '10002', '4200', '1003'], // the invoice, issued 10.03. (Belegdatum of the issue)
      ['2100,00', '"S"', '1800', '10002', '0303'],
      ['1200,00', '"S"', '1800', '10002', '0303'],
      ['2100,00', '"H"', '1800', '10002', '1003'],
    ].sort((a, b) => a[4].slice(2).concat(a[4].slice(0, 2)).localeCompare(b[4].slice(2).concat(b[4].slice(0, 2)))));
    // the carried credit is no booking; the refund is
    expect(rows.filter((r) => r[10] === '"2027-0001"').map((r) => [r[0], r[1]])).to.deep.include.members([['2500,00', '"S"'], ['300,00', '"S"'], ['100,00', '"H"']]);
    expect(text).to.contain('Erstattung M-0001');
    expect(text).not.to.contain('Guthaben');
    // Windows-1252: ü is one byte
    expect((res.body as Buffer).includes(Buffer.from([0xfc]))).to.equal(true);
    const page = await treasurer.get('/treasurer/datev');
    expect(page.text).to.contain('Import in DATEV');
    const bad = await treasurer.submit('/treasurer/datev', { chart: 'SKR04', consultantNumber: '12', clientNumber: '1', debtorBase: '10000', revenueAccount: '42', bankAccount: '1800' });
    expect(bad.status).to.equal(422);
    expect(bad.text).to.match(/id="e-consultantNumber"/);
    expect(bad.text).to.match(/id="e-revenueAccount"/);
  });
});
