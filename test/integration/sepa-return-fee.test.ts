import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeFirm, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { detach, hasPoppler, hasXmllint, pdfText, schematronFailures, SKIP_MESSAGE, STANDARDS, xsdErrors } from '../helpers/einvoice-standards.ts';
import { DEFAULT_ASSOCIATION } from '../../server/settings/settings.schemas.ts';
import { camt, CREDITOR_ID } from './debit-collection.fixtures.ts';
import { OWN } from './bank.fixtures.ts';
import { StripeFake } from '../fakes/stripe-fake.ts';
import { createStripeTestEnv } from '../helpers/stripe-fixtures.ts';

/**
 * h/fee: "Rücklastschriftgebühren werden dem Mitglied berechnet". With the SEPA setting on, a
 * returned debit with a bank fee (entered by hand or read from the statement) gives the member an
 * invoice over the fee: one item outside the scope of VAT (O: damages, not a service), issued like
 * every invoice with items (number, e-invoice, e-mail), in the return's own transaction and never
 * twice for one return. Off (the default), the fee stays the association's cost as before.
 */

const actor = { userId: null, label: 'test' };
type Attachment = { filename: string; contentType: string; contentBase64: string };
type Line = { name: string; quantityMilli: number; unitNetCents: number; netCents: number; category: string; ratePercent: number | null; period: { start: string; end: string } };
const oneLine = (s: string) => s.replace(/\s+/g, ' ');

const IBAN: Record<string, string> = {
  off: 'DE12500105170648489890', de: 'DE02120300000000202051', en: 'DE02100500000054540402', twice: 'DE02200505501015871393',
  statement: 'DE02500105170137075030', zero: 'DE02300209000106531065', left: 'DE02370502990000684712', refused: 'DE02700202700010108669',
  crash: 'DE02600501010002034304',
};

describe('SEPA: the return fee charged on to the member', function () {
  this.timeout(300_000);
  let env: TestEnv;
  let treasurer: Browser;
  const org: Record<string, number> = {};
  const inv: Record<string, { id: number; number: string }> = {};
  const e2e: Record<string, { endToEndId: string; amountCents: number; dueDate: string }> = {};

  before(async () => {
    env = await createTestEnv();
    env.clock.set('2027-03-10T09:00:00Z');
    const cats = await makeCategories(env.ctx);
    await env.ctx.settings.updateAssociation(actor, {
      ...DEFAULT_ASSOCIATION, name: 'ChemieNetzwerk Harz e.V.', street: 'Adolph-Roemer-Straße 2A', postcode: '38678', city: 'Clausthal-Zellerfeld', contactEmail: 'vorstand@cnh.example',
      taxNumber: '21/270/12345', bankHolder: 'ChemieNetzwerk Harz e.V.', iban: OWN, bic: 'COBADEFFXXX', bankName: 'Commerzbank', sepaCreditorId: CREDITOR_ID,
    });
    const firms: [string, string, 'de' | 'en'][] = [
      ['off', 'Alpha Chemie GmbH', 'de'], ['de', 'Beta Pigmente GmbH', 'de'], ['en', 'Gamma Polymers Ltd', 'en'], ['twice', 'Delta Labor GmbH', 'de'],
      ['statement', 'Epsilon Analytik GmbH', 'de'], ['zero', 'Zeta Werkstoffe GmbH', 'de'], ['left', 'Eta Harzchemie GmbH', 'de'], ['refused', 'Theta Lacke GmbH', 'de'], ['crash', 'Iota Harze GmbH', 'de'],
    ];
    for (const [k, name, locale] of firms) org[k] = await makeFirm(env.ctx, { name, categoryId: cats.company, email: `fibu@${k}.example`, locale });
    await env.ctx.dues.freezeFeeSchedule(actor, 2027);
    for (const [k, name] of firms) {
      const r = await env.ctx.dues.issueDuesInvoice(actor, org[k]!, 2027);
      if (!r.issued) throw new Error(`not issued: ${r.reason}`);
      inv[k] = { id: r.invoiceId, number: r.number };
      await env.ctx.sepa.createMandate(actor, org[k]!, 'paper', { scheme: 'CORE', iban: IBAN[k]!, bic: '', holder: name, signedOn: '2027-02-01' });
    }
    const dueDate = await env.ctx.sepa.earliestDueDate();
    const { runId } = await env.ctx.sepa.createRun(actor, { dueDate, invoiceIds: Object.values(inv).map((i) => i.id) });
    for (const f of (await env.ctx.sepa.run(runId)).files) await env.ctx.sepa.file(actor, runId, f.scheme, f.sequence, '001.08'); // the files went to the bank
    for (const d of (await env.ctx.sepa.run(runId)).debits) {
      const k = Object.keys(inv).find((x) => inv[x]!.id === d.invoiceId)!;
      e2e[k] = { endToEndId: d.endToEndId, amountCents: d.amountCents, dueDate: d.dueDate };
    }
    env.clock.set('2027-04-06T09:00:00Z');
    await env.ctx.sepa.settleDue(actor);
    await makeUser(env.ctx, 'kasse@test.example', ['treasurer'], 'Kassenwartin');
    treasurer = new Browser(env.app);
    await treasurer.login('kasse@test.example', PASSWORD);
  });
  after(async () => env.close());

  const settingsForm = (fields: Record<string, string>) => treasurer.submit('/treasurer/sepa/settings', { preNotificationDays: '14', leadBusinessDaysCore: '1', leadBusinessDaysB2b: '1', ...fields });
  const returnByHand = (k: string, fee: string, code = 'AM04') => treasurer.submit('/treasurer/sepa/returns/new', {
    endToEndId: e2e[k]!.endToEndId, reasonCode: code, amount: (e2e[k]!.amountCents / 100).toFixed(2).replace('.', ','), bookedOn: '2027-04-05', fee,
  }, '/treasurer/sepa/returns');
  const statementLine = (k: string, ref: string) => ({
    ref, amountCents: -e2e[k]!.amountCents, name: 'Mitglied', iban: IBAN[k]!, text: `Lastschrift ${inv[k]!.number}`, endToEndId: e2e[k]!.endToEndId, returnReason: 'AM04',
  });
  const invoicesOf = (k: string) => env.db('invoices').where({ organisation_id: org[k] }).orderBy('id');
  const feeInvoiceOf = async (k: string) => (await invoicesOf(k)).filter((r) => r.dues_key === null);
  const mailsTo = (k: string, template: string) => env.db('mail_messages').where({ template, to_address: `fibu@${k}.example` }).orderBy('id');
  const treasurerMails = () => env.db('mail_messages').where({ template: 'sepa_return_treasurer', to_address: 'kasse@test.example' }).orderBy('id');
  async function mailedPdf(invoiceId: number): Promise<Buffer> {
    const m = await env.db('mail_messages').where({ template: 'dues_invoice', related_type: 'invoice', related_id: invoiceId }).first();
    const a = (m?.attachments ? JSON.parse(m.attachments) as Attachment[] : []).find((x) => x.contentType === 'application/pdf');
    if (!a) throw new Error(`no PDF mailed for invoice ${invoiceId}`);
    return Buffer.from(a.contentBase64, 'base64');
  }

  it('the setting is off by default: a return with the bank\'s fee issues no invoice, the fee stays the association\'s cost', async () => {
    const page = (await treasurer.get('/treasurer/sepa/settings')).text;
    expect(page).to.contain('Rücklastschriftgebühr dem Mitglied in Rechnung stellen');
    expect(page).to.match(/name="chargeReturnFee" value="1" aria-describedby/); // not checked
    expect((await env.ctx.settings.sepa()).chargeReturnFee).to.equal(false);
    const res = await returnByHand('off', '3,50');
    expect(res.status).to.equal(303);
    expect(await invoicesOf('off')).to.have.length(1);
    const [ret] = (await env.ctx.sepa.ofOrganisation(org.off!)).returns;
    expect(Number(ret!.feeCents)).to.equal(350);
    const [toTreasurer] = await treasurerMails();
    expect(oneLine(toTreasurer!.text_body)).to.contain('Rücklastschriftgebühr der Bank: 3,50 €').and.not.to.contain('in Rechnung gestellt');
    const [toMember] = await mailsTo('off', 'sepa_return_member');
    expect(toMember!.text_body).not.to.contain('Rücklastschriftgebühr');
  });

  it('the settings form: a bad value is named next to its field, what was typed stays; saved, it is audited', async () => {
    let res = await settingsForm({ returnFee: 'drei Euro', chargeReturnFee: '1' });
    expect(res.status).to.equal(422);
    expect(res.text).to.match(/id="e-returnFee" class="field-error">Bitte einen Betrag von 0 bis 1\.000,00 € angeben\./);
    expect(res.text).to.contain('value="drei Euro"');
    expect(res.text).to.match(/name="chargeReturnFee" value="1" checked/);
    res = await settingsForm({ returnFee: '3,50', chargeReturnFee: 'ja bitte' });
    expect(res.status).to.equal(422);
    expect(res.text).to.match(/<small id="e-chargeReturnFee" class="field-error">Bitte das Kästchen ankreuzen oder frei lassen\.<\/small>/);
    expect(res.text).to.contain('value="3,50"');
    expect((await env.ctx.settings.sepa()).chargeReturnFee).to.equal(false);
    expect(await env.db('audit_log').where({ action: 'settings.sepa_updated' })).to.have.length(0);

    res = await settingsForm({ returnFee: '3,50', chargeReturnFee: '1' });
    expect(res.status).to.equal(303);
    expect(await env.ctx.settings.sepa()).to.include({ chargeReturnFee: true, returnFeeCents: 350 });
    expect((await treasurer.get('/treasurer/sepa/settings')).text).to.match(/name="chargeReturnFee" value="1" checked/);
    const [audit] = await env.db('audit_log').where({ action: 'settings.sepa_updated' });
    expect(JSON.parse(String(audit!.after))).to.deep.include({ chargeReturnFee: true, returnFeeCents: 350 });
  });

  it('on: a return entered by hand gives the member one invoice over the fee, outside VAT, dated the booking; the e-invoice is valid; both return mails name it', async function () {
    const res = await returnByHand('de', '3,50');
    expect(res.status).to.equal(303);
    const shown = await treasurer.get(res.headers.location!);
    const fees = await feeInvoiceOf('de');
    expect(fees).to.have.length(1);
    const fee = fees[0]!;
    expect(oneLine(shown.text)).to.contain(`Die Gebühr ist dem Mitglied mit der Rechnung ${fee.number} in Rechnung gestellt.`);
    const name = `Rücklastschriftgebühr zur Lastschrift ${inv.de!.number} vom ${e2e.de!.dueDate.split('-').reverse().join('.')} (AM04)`;
    expect({ ...fee, amount_cents: Number(fee.amount_cents) }).to.deep.include({
      kind: 'invoice', status: 'open', amount_cents: 350, description: name, period_start: '2027-04-05', period_end: '2027-04-05', issue_date: '2027-04-06', year: 2027,
    });
    expect(fee.number).to.match(/^2027-\d{4}$/);
    expect(JSON.parse(String(fee.lines)) as Line[]).to.deep.equal([
      { name, quantityMilli: 1000, unitCode: 'C62', unitNetCents: 350, netCents: 350, category: 'O', ratePercent: null, period: { start: '2027-04-05', end: '2027-04-05' } },
    ]);
    expect(await env.db('audit_log').where({ action: 'invoice.issued', entity_id: fee.id })).to.have.length(1);
    const charged = (await env.db('audit_log').where({ action: 'sepa.return_fee_charged', entity_id: inv.de!.id }))[0];
    expect(JSON.parse(String(charged!.after))).to.include({ feeInvoiceNumber: fee.number, feeCents: 350 });

    const [toMember] = await mailsTo('de', 'sepa_return_member');
    expect(oneLine(toMember!.text_body)).to.contain(`Die Rücklastschriftgebühr von 3,50 €, die unsere Bank uns dafür berechnet hat, stellen wir Ihnen mit der Rechnung ${fee.number} in Rechnung`);
    const toTreasurer = (await treasurerMails()).at(-1)!;
    expect(oneLine(toTreasurer.text_body)).to.contain(`Die Gebühr ist dem Mitglied mit der Rechnung ${fee.number} in Rechnung gestellt.`);
    const invoiceMails = await env.db('mail_messages').where({ template: 'dues_invoice', related_type: 'invoice', related_id: fee.id });
    expect(invoiceMails).to.have.length(1);
    expect(invoiceMails[0]!.to_address).to.equal('fibu@de.example');

    if (!hasPoppler) { this.skip(); return; }
    const pdf = await mailedPdf(Number(fee.id));
    const text = oneLine(pdfText(pdf));
    expect(text).to.contain(name).and.to.contain('3,50 €').and.to.contain(fee.number);
    expect(text).not.to.contain('Umsatzsteuer');
    // why it is outside VAT, in its own words (not the dues' "echter Mitgliedsbeitrag")
    const why = 'Die Rücklastschriftgebühr ist Schadensersatz, kein Entgelt für eine Leistung, und daher nicht umsatzsteuerbar.';
    expect(text).to.contain(why).and.not.to.contain('Mitgliedsbeitrag');
    const xml = detach(pdf, 'factur-x.xml').content;
    expect(xml).to.contain('<ram:CategoryCode>O</ram:CategoryCode>').and.to.contain('<ram:GrandTotalAmount>3.50</ram:GrandTotalAmount>');
    expect(xml).to.contain(`<ram:ExemptionReason>${why}</ram:ExemptionReason>`).and.not.to.contain('Mitgliedsbeitrag');
    if (!STANDARDS || !hasXmllint) { console.log(`      ${SKIP_MESSAGE}`); return; }
    expect(xsdErrors(xml)).to.equal('');
    expect(await schematronFailures(xml)).to.deep.equal([]);
  });

  it('an English member\'s fee invoice and mail are in English', async function () {
    expect((await returnByHand('en', '3,50', 'MD06')).status).to.equal(303);
    const [fee] = await feeInvoiceOf('en');
    const date = e2e.en!.dueDate.split('-').reverse().join('/');
    const name = `Return fee for the direct debit ${inv.en!.number} of ${date} (MD06)`;
    expect(fee!.description).to.equal(name);
    const [toMember] = await mailsTo('en', 'sepa_return_member');
    expect(oneLine(toMember!.text_body)).to.contain(`is invoiced to you with invoice ${fee!.number}`);
    if (!hasPoppler) { this.skip(); return; }
    const pdf = await mailedPdf(Number(fee!.id));
    expect(oneLine(pdfText(pdf))).to.contain(name).and.to.contain('The return fee is damages, not consideration for a supply');
    if (!STANDARDS || !hasXmllint) return;
    const xml = detach(pdf, 'factur-x.xml').content;
    expect(xsdErrors(xml)).to.equal('');
    expect(await schematronFailures(xml)).to.deep.equal([]);
  });

  it('the same return by hand and then from the statement: one fee invoice', async () => {
    expect((await returnByHand('twice', '3,50')).status).to.equal(303);
    expect(await feeInvoiceOf('twice')).to.have.length(1);
    const r = await env.ctx.bank.import(actor, 'twice.xml', camt('2027-04-05-001', '2027-04-05', [statementLine('twice', 'RT1')]));
    expect(r).to.include({ newLines: 1, returns: 1 });
    expect(await feeInvoiceOf('twice')).to.have.length(1);
    expect((await env.ctx.sepa.ofOrganisation(org.twice!)).returns).to.have.length(1);
    expect(await mailsTo('twice', 'sepa_return_member')).to.have.length(1);
  });

  it('from the statement (the settings\' fee), and the statement imported twice: one fee invoice', async () => {
    const file = camt('2027-04-05-002', '2027-04-05', [statementLine('statement', 'RS1')]);
    await env.ctx.bank.import(actor, 'st.xml', file);
    const fees = await feeInvoiceOf('statement');
    expect(fees).to.have.length(1);
    expect(Number(fees[0]!.amount_cents)).to.equal(350);
    expect(fees[0]!.description).to.contain(`Rücklastschriftgebühr zur Lastschrift ${inv.statement!.number}`);
    await env.ctx.bank.import(actor, 'st-again.xml', file);
    // the return itself, given again to the SEPA module as the bank would after a crash
    const again = await env.ctx.sepa.recordReturnFromStatement({ endToEndId: e2e.statement!.endToEndId, reasonCode: 'AM04', amountCents: e2e.statement!.amountCents, bookedOn: '2027-04-05' }, actor, async () => undefined);
    expect(again.already).to.equal(true);
    expect(await feeInvoiceOf('statement')).to.have.length(1);
    expect(await env.db('mail_messages').where({ template: 'dues_invoice', related_type: 'invoice', related_id: fees[0]!.id })).to.have.length(1);
  });

  it('all or nothing: a failure after the fee invoice was written takes the return back with it; recorded again, one return and one fee invoice', async () => {
    const dues = env.ctx.dues;
    const original = dues.issueWithItemsInTrx.bind(dues);
    dues.issueWithItemsInTrx = async (...a: Parameters<typeof original>) => {
      await original(...a);
      throw new Error('process killed');
    };
    try {
      const res = await returnByHand('crash', '3,50');
      expect(res.status).to.equal(500);
    } finally {
      dues.issueWithItemsInTrx = original;
    }
    expect(await invoicesOf('crash')).to.have.length(1);
    expect((await env.ctx.sepa.ofOrganisation(org.crash!)).returns).to.have.length(0);
    expect((await env.ctx.dues.get(inv.crash!.id)).status).to.equal('paid');
    expect(await mailsTo('crash', 'sepa_return_member')).to.have.length(0);

    expect((await returnByHand('crash', '3,50')).status).to.equal(303);
    expect((await env.ctx.sepa.ofOrganisation(org.crash!)).returns).to.have.length(1);
    expect(await feeInvoiceOf('crash')).to.have.length(1);
    expect((await env.ctx.dues.get(inv.crash!.id)).status).to.equal('open');
    // the number the rolled-back invoice had drawn is given again: no gap
    const numbers = (await env.db('invoices').where({ year: 2027 }).orderBy('number').select('number')).map((r) => Number(String(r.number).slice(5)));
    expect(numbers).to.deep.equal(numbers.map((_, i) => i + 1));
  });

  it('a return without a fee (0,00 €) issues no invoice, even with the setting on', async () => {
    expect((await returnByHand('zero', '')).status).to.equal(303);
    expect(await invoicesOf('zero')).to.have.length(1);
    expect(await env.db('audit_log').where({ action: 'sepa.return_fee_charged', entity_id: inv.zero!.id })).to.have.length(0);
  });

  it('a member who has left owes the fee all the same; a fee the items path refuses (tax number missing): the return is booked, the treasurer is told why', async () => {
    await env.db('organisations').where({ id: org.left }).update({ exit_date: '2027-03-31' });
    expect((await returnByHand('left', '3,50')).status).to.equal(303);
    const [fee] = await feeInvoiceOf('left');
    expect(Number(fee!.amount_cents)).to.equal(350);

    const association = await env.ctx.settings.association();
    await env.ctx.settings.updateAssociation(actor, { ...association, taxNumber: '' });
    try {
      expect((await returnByHand('refused', '3,50')).status).to.equal(303);
    } finally {
      await env.ctx.settings.updateAssociation(actor, association);
    }
    expect((await env.ctx.dues.get(inv.refused!.id)).status).to.equal('open');
    expect(await invoicesOf('refused')).to.have.length(1);
    const toTreasurer = (await treasurerMails()).at(-1)!;
    expect(oneLine(toTreasurer.text_body)).to.contain('Die Gebühr konnte dem Mitglied nicht in Rechnung gestellt werden: Keine Rechnung: In den Einstellungen fehlt die Steuernummer des Vereins');
    expect(oneLine(toTreasurer.text_body)).to.contain('Sie bleibt Aufwand des Vereins');
    expect(await env.db('audit_log').where({ action: 'sepa.return_fee_not_charged', entity_id: inv.refused!.id })).to.have.length(1);
    const [toMember] = await mailsTo('refused', 'sepa_return_member');
    expect(toMember!.text_body).not.to.contain('Rücklastschriftgebühr');
  });
});

describe('SEPA: the return fee charged on to the member, with Stripe on', function () {
  this.timeout(120_000);
  let env: TestEnv;
  let fake: StripeFake;
  const org: Record<string, number> = {};
  const inv: Record<string, { id: number; number: string }> = {};
  const e2e: Record<string, { endToEndId: string; amountCents: number }> = {};
  const iban: Record<string, string> = { ok: 'DE12500105170648489890', outage: 'DE02120300000000202051' };

  before(async () => {
    fake = await new StripeFake().start();
    env = await createStripeTestEnv(fake, { env: { STRIPE_CONCURRENCY: '1' } });
    env.clock.set('2027-03-10T09:00:00Z');
    const cats = await makeCategories(env.ctx);
    await env.ctx.settings.updateAssociation(actor, {
      ...DEFAULT_ASSOCIATION, name: 'ChemieNetzwerk Harz e.V.', street: 'Adolph-Roemer-Straße 2A', postcode: '38678', city: 'Clausthal-Zellerfeld',
      taxNumber: '21/270/12345', bankHolder: 'ChemieNetzwerk Harz e.V.', iban: OWN, bic: 'COBADEFFXXX', sepaCreditorId: CREDITOR_ID,
    });
    await env.ctx.settings.updateSepa(actor, { ...(await env.ctx.settings.sepa()), returnFeeCents: 350, chargeReturnFee: true });
    for (const k of ['ok', 'outage']) {
      org[k] = await makeFirm(env.ctx, { name: `Firma ${k} GmbH`, categoryId: cats.company, email: `fibu@${k}.example` });
    }
    await env.ctx.dues.freezeFeeSchedule(actor, 2027);
    for (const k of ['ok', 'outage']) {
      const r = await env.ctx.dues.issueDuesInvoice(actor, org[k]!, 2027);
      if (!r.issued) throw new Error('not issued');
      inv[k] = { id: r.invoiceId, number: r.number };
      await env.ctx.sepa.createMandate(actor, org[k]!, 'paper', { scheme: 'CORE', iban: iban[k]!, bic: '', holder: `Firma ${k} GmbH`, signedOn: '2027-02-01' });
    }
    const { runId } = await env.ctx.sepa.createRun(actor, { dueDate: await env.ctx.sepa.earliestDueDate(), invoiceIds: [inv.ok!.id, inv.outage!.id] });
    for (const f of (await env.ctx.sepa.run(runId)).files) await env.ctx.sepa.file(actor, runId, f.scheme, f.sequence, '001.08'); // the files went to the bank
    for (const d of (await env.ctx.sepa.run(runId)).debits) e2e[d.invoiceId === inv.ok!.id ? 'ok' : 'outage'] = { endToEndId: d.endToEndId, amountCents: d.amountCents };
    env.clock.set('2027-04-06T09:00:00Z');
    await env.ctx.sepa.settleDue(actor);
  });
  after(async () => {
    await env.close();
    await fake.stop();
  });
  beforeEach(() => fake.clearFaults());

  const line = (k: string) => ({ ref: `R-${k}`, amountCents: -e2e[k]!.amountCents, name: 'Mitglied', iban: iban[k]!, text: 'Lastschrift', endToEndId: e2e[k]!.endToEndId, returnReason: 'AM04' });
  const feeOf = async (k: string) => (await env.db('invoices').where({ organisation_id: org[k], dues_key: null }))[0];
  const invoiceMail = (id: number) => env.db('mail_messages').where({ template: 'dues_invoice', related_type: 'invoice', related_id: id });

  it('the fee invoice goes to Stripe over the fee with its number, and its e-mail offers the payment page', async () => {
    await env.ctx.bank.import(actor, 'ok.xml', camt('2027-04-05-010', '2027-04-05', [line('ok')]));
    const fee = (await feeOf('ok'))!;
    expect(fee.stripe_invoice_id).to.match(/^in_/);
    expect(fake.invoices.get(fee.stripe_invoice_id!)).to.include({ number: fee.number, amount_due: 350 });
    const [mail] = await invoiceMail(Number(fee.id));
    expect(mail!.text_body).to.contain('Jetzt online bezahlen').and.to.contain(String(fee.hosted_invoice_url));
  });

  it('Stripe down after the return: the return and its fee invoice stand, the e-mail waits; the statement read again delivers it, once', async () => {
    fake.faults.errorRate = 1;
    const file = camt('2027-04-05-011', '2027-04-05', [line('outage')]);
    await env.ctx.bank.import(actor, 'outage.xml', file);
    const fee = (await feeOf('outage'))!;
    expect(Number(fee.amount_cents)).to.equal(350);
    expect(fee.stripe_invoice_id).to.equal(null);
    expect(fee.push_error).to.be.a('string');
    expect(await invoiceMail(Number(fee.id))).to.have.length(0);
    expect((await env.ctx.sepa.ofOrganisation(org.outage!)).returns).to.have.length(1);
    // the member's return mail names the fee invoice already
    const [ret] = await env.db('mail_messages').where({ template: 'sepa_return_member', to_address: 'fibu@outage.example' });
    expect(oneLine(ret!.text_body)).to.contain(`mit der Rechnung ${fee.number} in Rechnung`);

    fake.clearFaults();
    const again = await env.ctx.sepa.recordReturnFromStatement({ endToEndId: e2e.outage!.endToEndId, reasonCode: 'AM04', amountCents: e2e.outage!.amountCents, bookedOn: '2027-04-05' }, actor, async () => undefined);
    expect(again.already).to.equal(true);
    const after = (await feeOf('outage'))!;
    expect(after.stripe_invoice_id).to.match(/^in_/);
    expect(await invoiceMail(Number(fee.id))).to.have.length(1);
    expect(fake.invoicesWhere('local_invoice_id', String(fee.id))).to.have.length(1);
    expect(await env.db('invoices').where({ organisation_id: org.outage, dues_key: null })).to.have.length(1);
    await env.ctx.sepa.recordReturnFromStatement({ endToEndId: e2e.outage!.endToEndId, reasonCode: 'AM04', amountCents: e2e.outage!.amountCents, bookedOn: '2027-04-05' }, actor, async () => undefined);
    expect(await invoiceMail(Number(fee.id))).to.have.length(1);
  });
});
