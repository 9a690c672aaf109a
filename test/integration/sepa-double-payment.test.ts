import { expect } from 'chai';
import request from 'supertest';
import type { TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { PASSWORD } from '../helpers/fixtures.ts';
import { StripeFake } from '../fakes/stripe-fake.ts';
import { createStripeTestEnv, makeInvoice } from '../helpers/stripe-fixtures.ts';
import { hasXmllint, painSchema, schemaErrors } from '../helpers/einvoice-standards.ts';
import { collect, debitSetup } from './debit-collection.fixtures.ts';

const actor = { userId: null, label: 'test' };
const berlin = (env: TestEnv) => env.clock.now().toISOString().slice(0, 10);

/**
 * A member must not pay twice: money that arrives by another way (a bank transfer, a card
 * payment on a Stripe link mailed before the run) on an invoice that a pending debit collects
 * takes the debit out of its collection, lowers it, or (once its file may be at the bank) asks
 * the treasurer to recall it.
 */
describe('sepa: a payment beside a pending debit: no double payment', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let fake: StripeFake;
  let treasurer: Browser;
  let inv: Record<string, number>;
  let org: Record<string, number>;

  const mails = async (template: string, number: string) => (await env.db('mail_messages').where({ template }).orderBy('id')).filter((m) => `${m.subject} ${m.text_body}`.includes(number));
  const debitOf = async (invoiceId: number) => (await env.db('sepa_debits').where({ invoice_id: invoiceId }).orderBy('id', 'desc').first())!;
  const amount = async (id: number) => (await env.ctx.dues.get(id)).amountCents;
  const download = (runId: number) => treasurer.get(`/treasurer/sepa/runs/${runId}/file?scheme=CORE&sequence=FRST&version=001.08`);

  before(async () => {
    fake = await new StripeFake().start();
    env = await createStripeTestEnv(fake, { maxRetryDelaySec: 0.05 });
    ({ inv, org } = await debitSetup(env));
    treasurer = new Browser(env.app);
    await treasurer.login('treasurer@test.example', PASSWORD);
  });
  after(async () => {
    await env.close();
    await fake.stop();
  });

  it('a transfer of the whole amount before the file was downloaded takes the debit out: not in the file, the run lowered, the member told, nothing collected on the due date, the mandate first again', async () => {
    const run = await collect(env, [inv.harzer, inv.okertal], { download: false });
    const [h, o] = [await amount(inv.harzer), await amount(inv.okertal)];
    const number = (await env.ctx.dues.get(inv.harzer)).number;
    await env.ctx.payments.record(actor, inv.harzer, { date: '2027-03-10', amountCents: h, reference: `Überweisung ${number}` });

    const d = await debitOf(inv.harzer);
    expect(d.status).to.equal('cancelled');
    expect(d.active_invoice_id).to.equal(null);
    const r = await env.ctx.sepa.run(run.runId);
    expect(r.run.debitCount).to.equal(1);
    expect(r.run.totalCents).to.equal(o);
    // the file for the bank holds Okertal's debit alone, its control sum without Harzer's
    const xml = (await download(run.runId)).text;
    expect(xml).to.contain(`<NbOfTxs>1</NbOfTxs>`);
    expect(xml).to.contain(`<CtrlSum>${(o / 100).toFixed(2)}</CtrlSum>`);
    expect(xml).to.not.contain(run.e2e.get(inv.harzer)!.endToEndId);
    if (hasXmllint) expect(schemaErrors(xml, painSchema('001.08'))).to.equal('');
    const page = (await treasurer.get(`/treasurer/sepa/runs/${run.runId}`)).text;
    expect(page).to.contain('herausgenommen');

    const told = await mails('sepa_debit_changed', number);
    expect(told).to.have.length(1);
    expect(told[0].subject).to.contain(`Die angekündigte Lastschrift zur Rechnung ${number} entfällt`);
    expect(told[0].text_body).to.contain('Wir buchen nichts von Ihrem Konto ab');
    expect(told[0].text_body).to.contain('Die Rechnung ist bezahlt.');
    expect(await env.db('audit_log').where({ action: 'sepa.debit_cancelled', entity_id: inv.harzer })).to.have.length(1);

    // the mandate was never used: the next collection is a first one again
    const next = (await env.ctx.sepa.mandatesOf(org.harzer))[0];
    expect(next.nextSequence).to.equal('FRST');

    env.clock.set(`${run.dueDate}T12:00:00Z`);
    await env.ctx.sepa.settleDue(actor);
    const pays = await env.ctx.payments.forInvoice(inv.harzer);
    expect(pays.map((p) => p.amountCents), 'one payment: the transfer').to.deep.equal([h]);
    expect(pays.some((p) => p.overpayment)).to.equal(false);
    expect((await env.ctx.dues.get(inv.okertal)).status).to.equal('paid');
  });

  it('a part paid by transfer before the download lowers the debit to what is open; the member is told the new amount; on the due date exactly the rest is booked', async () => {
    env.clock.set('2027-04-06T09:00:00Z');
    const mandate = await env.ctx.sepa.createMandate(actor, org.brocken, 'paper', { scheme: 'CORE', iban: 'DE89370400440532013000', bic: '', holder: 'Brockenblick Analytik GmbH', signedOn: '2027-02-01' });
    expect(mandate).to.be.a('number');
    const total = await amount(inv.brocken);
    const run = await collect(env, [inv.brocken], { download: false });
    const number = (await env.ctx.dues.get(inv.brocken)).number;
    await env.ctx.payments.record(actor, inv.brocken, { date: '2027-04-06', amountCents: 10000, reference: `Teilzahlung ${number}` });
    const d = await debitOf(inv.brocken);
    expect(d.status).to.equal('pending');
    expect(Number(d.amount_cents)).to.equal(total - 10000);
    expect((await env.ctx.sepa.run(run.runId)).run.totalCents).to.equal(total - 10000);
    const xml = (await download(run.runId)).text;
    expect(xml).to.contain(`<InstdAmt Ccy="EUR">${((total - 10000) / 100).toFixed(2)}</InstdAmt>`);
    const told = await mails('sepa_debit_changed', number);
    expect(told).to.have.length(1);
    expect(told[0].text_body.replace(/\s+/g, ' ')).to.match(/ziehen wir am \d\d\.\d\d\.2027 nur noch [\d.]+,\d\d\s€/);

    env.clock.set(`${run.dueDate}T12:00:00Z`);
    await env.ctx.sepa.settleDue(actor);
    const i = await env.ctx.dues.get(inv.brocken);
    expect(i.status).to.equal('paid');
    expect(i.paidCents).to.equal(total);
    expect((await env.ctx.payments.forInvoice(inv.brocken)).some((p) => p.overpayment)).to.equal(false);
  });

  it('a card payment on an old Stripe link that Stripe took before the run closed it: booked once, the debit (file not downloaded) taken out', async () => {
    env.clock.set('2027-05-03T09:00:00Z');
    await env.ctx.stripe.pushInvoice(inv.mueller);
    await env.ctx.sepa.createMandate(actor, org.mueller, 'paper', { scheme: 'CORE', iban: 'DE02100100100006820101', bic: '', holder: 'Müller & Söhne Chemie KG', signedOn: '2027-02-01' });
    const sid = (await env.ctx.dues.get(inv.mueller)).stripeInvoiceId!;
    // Stripe is down when the run is created: the Stripe invoice stays open for now
    fake.setFaults({ errorRate: 1 });
    const run = await collect(env, [inv.mueller], { download: false });
    const job = await env.ctx.jobs.byKey(`stripe-debit-close-${run.runId}`);
    await env.ctx.jobs.waitFor(job!.id);
    fake.clearFaults();
    // the member pays by card on the link from the invoice mail; Stripe reports it
    const paid = fake.payInvoice(sid);
    const ev = fake.event('invoice.paid', paid.invoice);
    const { body, signature } = fake.signed(ev);
    const res = await request(env.app).post('/webhooks/stripe').set('Content-Type', 'application/json').set('Stripe-Signature', signature).send(body);
    expect(res.status).to.equal(200);

    const i = await env.ctx.dues.get(inv.mueller);
    expect(i.status).to.equal('paid');
    expect((await debitOf(inv.mueller)).status).to.equal('cancelled');
    expect(await mails('sepa_debit_changed', i.number)).to.have.length(1);
    // the retry of the closing finds the invoice paid and does nothing more
    await env.ctx.stripe.reconcile();
    expect(fake.invoices.get(sid)!.status).to.equal('paid');
    env.clock.set(`${run.dueDate}T12:00:00Z`);
    await env.ctx.sepa.settleDue(actor);
    const pays = await env.ctx.payments.forInvoice(inv.mueller);
    expect(pays.map((p) => p.method)).to.deep.equal(['stripe']);
  });

  it('a transfer after the file was downloaded: the debit stays (the bank may have it); the treasurer is asked to recall it (mail, dashboard, run page) and confirms the recall on a form that names what is missing', async () => {
    env.clock.set('2027-06-01T09:00:00Z');
    await env.ctx.sepa.createMandate(actor, org.institut, 'paper', { scheme: 'B2B', iban: 'DE75512108001245126199', bic: '', holder: 'Institut für Harzer Werkstoffe', signedOn: '2027-02-01' });
    const run = await collect(env, [inv.institut], { download: false });
    const total = await amount(inv.institut);
    const number = (await env.ctx.dues.get(inv.institut)).number;
    expect((await treasurer.get(`/treasurer/sepa/runs/${run.runId}/file?scheme=B2B&sequence=FRST&version=001.08`)).status).to.equal(200);
    await env.ctx.payments.record(actor, inv.institut, { date: '2027-06-01', amountCents: total, reference: `Überweisung ${number}` });

    const d = await debitOf(inv.institut);
    expect(d.status).to.equal('pending');
    expect(d.recall_asked_at).to.not.equal(null);
    expect(JSON.parse((await env.db('audit_log').where({ action: 'sepa.debit_recall_asked', entity_id: inv.institut }).first())!.after ?? '{}')).to.include({ why: 'paid' });
    const asked = await mails('sepa_debit_recall', number);
    expect(asked).to.have.length(1);
    expect(asked[0].to_address).to.equal('treasurer@test.example');
    expect(asked[0].subject).to.contain(`Lastschrift zu ${number} bei der Bank zurückrufen`);
    const dash = (await treasurer.get('/treasurer')).text;
    expect(dash).to.contain('id="sepa-recalls"');
    expect(dash).to.contain(number);
    expect((await treasurer.get(`/treasurer/sepa/runs/${run.runId}`)).text).to.contain('Bei der Bank zurückrufen: inzwischen anders bezahlt');

    // without the confirmed recall: refused, the message next to the checkbox, the reason kept
    const form = `/treasurer/sepa/debits/${d.id}/cancel`;
    let r = await treasurer.submit(form, { reason: 'per Überweisung bezahlt' }, form);
    expect(r.status).to.equal(422);
    expect(r.text).to.contain('id="e-recalled"');
    expect(r.text).to.contain('Bitte die Lastschrift erst bei der Bank zurückrufen');
    expect(r.text).to.contain('per Überweisung bezahlt</textarea>');
    r = await treasurer.submit(form, { reason: '', recalled: '1' }, form);
    expect(r.status).to.equal(422);
    expect(r.text).to.contain('id="e-reason"');
    expect((await debitOf(inv.institut)).status).to.equal('pending');
    r = await treasurer.submit(form, { reason: 'per Überweisung bezahlt, bei der Bank zurückgerufen', recalled: '1' }, form);
    expect(r.status).to.equal(303);
    expect((await debitOf(inv.institut)).status).to.equal('cancelled');
    expect((await treasurer.get('/treasurer')).text).to.not.contain('id="sepa-recalls"');
    expect(await mails('sepa_debit_changed', number)).to.have.length(1);
    const audit = await env.db('audit_log').where({ action: 'sepa.debit_cancelled', entity_id: inv.institut }).first();
    expect(JSON.parse(audit!.after ?? '{}')).to.include({ why: 'recalled' });
  });

  it('a conflict not recalled is collected on its due date and booked as an overpayment the treasurer refunds; a second card payment never happens', async () => {
    env.clock.set('2027-07-01T09:00:00Z');
    await env.ctx.sepa.createMandate(actor, org.goslar, 'paper', { scheme: 'CORE', iban: 'DE27100777770209299700', bic: '', holder: 'Goslarer Labor GmbH', signedOn: '2027-02-01' });
    const run = await collect(env, [inv.goslar], { download: false });
    const total = await amount(inv.goslar);
    expect((await download(run.runId)).status).to.equal(200);
    await env.ctx.payments.record(actor, inv.goslar, { date: '2027-07-01', amountCents: total, reference: 'Überweisung' });
    env.clock.set(`${run.dueDate}T12:00:00Z`);
    await env.ctx.sepa.settleDue(actor);
    const pays = await env.ctx.payments.forInvoice(inv.goslar);
    expect(pays.map((p) => [p.amountCents, p.overpayment])).to.deep.equal([[total, false], [total, true]]);
    expect(await mails('sepa_debit_recall', (await env.ctx.dues.get(inv.goslar)).number)).to.have.length(1);
  });
  it('a Stornorechnung for an invoice in a run: before the download the debit is taken out and the member told the invoice was cancelled; after it the cancellation is refused, naming what to do, until the debit is recalled and taken out', async () => {
    env.clock.set('2027-08-02T09:00:00Z');
    const before = await makeInvoice(env.db, org.harzer, { year: 2028, amountCents: 45000 });
    const after = await makeInvoice(env.db, org.okertal, { year: 2028, amountCents: 45000 });
    const run = await collect(env, [before, after], { download: false });
    // the file of Okertal's debit (recurring: Okertal was collected before) goes to the bank, Harzer's (first again) does not
    expect((await treasurer.get(`/treasurer/sepa/runs/${run.runId}/file?scheme=CORE&sequence=RCUR&version=001.08`)).status).to.equal(200);
    const numberBefore = (await env.ctx.dues.get(before)).number;
    await env.ctx.dues.cancelInvoice(actor, before, 'falscher Betrag');
    expect((await debitOf(before)).status).to.equal('cancelled');
    const told = await mails('sepa_debit_changed', numberBefore);
    expect(told).to.have.length(1);
    expect(told[0].text_body).to.contain(`Die Rechnung ${numberBefore} wurde storniert`);

    // Okertal's debit is at the bank: the Stornorechnung is refused on the invoice page, the reason kept, nothing issued
    const invoicesBefore = Number((await env.db('invoices').count({ n: '*' }))[0].n);
    const page = `/treasurer/invoices/${after}`;
    let r = await treasurer.submit(page, { reason: 'falscher Betrag' }, `/treasurer/invoices/${after}/cancel`);
    expect(r.status).to.equal(422);
    expect(r.text).to.contain('id="e-reason"');
    expect(r.text).to.contain('Bitte die Lastschrift erst bei der Bank zurückrufen und im Lastschriftlauf herausnehmen, dann stornieren.');
    expect(r.text).to.contain('value="falscher Betrag"');
    expect(Number((await env.db('invoices').count({ n: '*' }))[0].n)).to.equal(invoicesBefore);
    expect((await env.ctx.dues.get(after)).status).to.equal('open');
    expect((await debitOf(after)).status).to.equal('pending');
    // recalled at the bank and taken out: now the invoice can be cancelled
    const d = await debitOf(after);
    await env.ctx.sepa.cancelDebit(actor, Number(d.id), { reason: 'Rechnung wird storniert', recalled: true });
    r = await treasurer.submit(page, { reason: 'falscher Betrag' }, `/treasurer/invoices/${after}/cancel`);
    expect(r.status).to.equal(303);
    expect((await env.ctx.dues.get(after)).status).to.equal('cancelled');
    expect((await env.ctx.sepa.run(run.runId)).run.debitCount).to.equal(0);
  });

  it('a debit whose file was never downloaded by its due date did not reach the bank: on the due date it is taken out, not booked; the member is told it will be collected later; the invoice is in the next preview; its mandate is first again', async () => {
    env.clock.set('2027-08-16T09:00:00Z');
    const id = await makeInvoice(env.db, org.harzer, { year: 2029, amountCents: 12000 });
    const run = await collect(env, [id], { download: false });
    env.clock.set(`${run.dueDate}T12:00:00Z`);
    await env.ctx.sepa.settleDue(actor);
    const d = await debitOf(id);
    expect(d.status).to.equal('cancelled');
    const i = await env.ctx.dues.get(id);
    expect(i.status).to.equal('open');
    expect(i.paidCents).to.equal(0);
    const told = await mails('sepa_debit_changed', i.number);
    expect(told).to.have.length(1);
    expect(told[0].text_body).to.contain('mit einer neuen Ankündigung später ein');
    expect(JSON.parse((await env.db('audit_log').where({ action: 'sepa.debit_cancelled', entity_id: id }).first())!.after ?? '{}')).to.include({ why: 'expired' });
    expect((await env.ctx.sepa.preview()).map((p) => p.invoiceId)).to.include(id);
    expect((await env.ctx.sepa.mandatesOf(org.harzer))[0].nextSequence).to.equal('FRST');
    // a return of a debit that was never collected is refused, naming the field
    try {
      await env.ctx.sepa.recordReturn({ endToEndId: d.end_to_end_id, reasonCode: 'AM04', amountCents: 12000, bookedOn: berlin(env) }, actor);
      expect.fail('refused');
    } catch (e) {
      expect((e as { fields?: Record<string, string> }).fields).to.deep.equal({ endToEndId: 'sepa.errors.debitCancelled' });
    }
  });

  it('after a returned first debit, a new first debit taken out leaves the mandate first again', async () => {
    env.clock.set('2027-09-06T09:00:00Z');
    const m = (await env.ctx.sepa.mandatesOf(org.institut))[0];
    expect(m.nextSequence).to.equal('FRST'); // its only debit so far was taken out
    const a = await makeInvoice(env.db, org.institut, { year: 2030, amountCents: 30000 });
    const runA = await collect(env, [a]);
    env.clock.set(`${runA.dueDate}T12:00:00Z`);
    await env.ctx.sepa.settleDue(actor);
    env.clock.set(`${runA.dueDate}T15:00:00Z`);
    await env.ctx.sepa.recordReturn({ endToEndId: runA.e2e.get(a)!.endToEndId, reasonCode: 'AM04', amountCents: 30000, bookedOn: runA.dueDate }, actor);
    expect((await env.ctx.sepa.mandatesOf(org.institut))[0].nextSequence).to.equal('FRST');
    const b = await makeInvoice(env.db, org.institut, { year: 2031, amountCents: 30000 });
    const runB = await collect(env, [b], { download: false });
    expect((await debitOf(b)).sequence).to.equal('FRST');
    await env.ctx.sepa.cancelDebit(actor, Number((await debitOf(b)).id), { reason: 'Mitglied überweist', recalled: false });
    expect((await env.ctx.sepa.mandatesOf(org.institut))[0].nextSequence).to.equal('FRST');
    expect((await env.ctx.sepa.run(runB.runId)).run.debitCount).to.equal(0);
  });

  it('a part paid after the download: the recall is asked and says what stays open', async () => {
    env.clock.set('2027-10-04T09:00:00Z');
    const id = await makeInvoice(env.db, org.brocken, { year: 2032, amountCents: 40000 });
    await collect(env, [id]);
    await env.ctx.payments.record(actor, id, { date: '2027-10-04', amountCents: 15000, reference: 'Teilzahlung' });
    const d = await debitOf(id);
    expect(d.status).to.equal('pending');
    expect(Number(d.amount_cents), 'the file at the bank says 400,00 €').to.equal(40000);
    const asked = await mails('sepa_debit_recall', (await env.ctx.dues.get(id)).number);
    expect(asked).to.have.length(1);
    expect(asked[0].text_body.replace(/\s+/g, ' ')).to.match(/Offen sind nur noch 250,00\s€/);
  });

  it('the run preview shows the treasurer what was reminded and what was paid in part, so the collection asks for the rest only', async () => {
    env.clock.set('2027-09-01T09:00:00Z');
    const id = await makeInvoice(env.db, org.brocken, { year: 2029, amountCents: 30000 });
    await env.ctx.payments.record(actor, id, { date: '2027-09-01', amountCents: 10000, reference: 'Teilzahlung' });
    await env.db('invoices').where({ id }).update({ reminder_level: 1, last_reminder_at: '2027-08-20T08:00:00.000Z' }); // reminded once before the mandate
    const html = (await treasurer.get('/treasurer/sepa/runs/new')).text;
    const row = new RegExp(`<tr>\\s*<td><input[^>]*value="${id}"[\\s\\S]*?</tr>`).exec(html)?.[0] ?? '';
    expect(row).to.contain('200,00');
    expect(row).to.contain('100,00\u00a0€ schon bezahlt');
    expect(row).to.contain('1. Mahnung');
  });
  it('after the whole submission was recalled to take a debit out, the file downloaded again is a new message without it, for submitting again', async () => {
    env.clock.set('2027-11-02T09:00:00Z');
    const a = await makeInvoice(env.db, org.harzer, { year: 2033, amountCents: 20000 });
    const b = await makeInvoice(env.db, org.harzer, { year: 2034, amountCents: 30000 });
    const run = await collect(env, [a, b], { download: false });
    const first = (await download(run.runId)).text;
    const msgId = (xml: string) => /<MsgId>([^<]+)<\/MsgId>/.exec(xml)?.[1];
    expect(first).to.contain('<NbOfTxs>2</NbOfTxs>');
    await env.ctx.payments.record(actor, a, { date: '2027-11-02', amountCents: 20000, reference: 'Überweisung' });
    await env.ctx.sepa.cancelDebit(actor, Number((await debitOf(a)).id), { reason: 'überwiesen; Einreichung bei der Bank zurückgerufen', recalled: true, wholeFile: true });
    const again = (await download(run.runId)).text;
    expect(again).to.contain('<NbOfTxs>1</NbOfTxs>');
    expect(again).to.contain(`<CtrlSum>300.00</CtrlSum>`);
    expect(msgId(again)).to.be.a('string');
    expect(msgId(again)).to.not.equal(msgId(first));
    expect((await download(run.runId)).text, 'downloaded once more: the same file').to.equal(again);
    if (hasXmllint) expect(schemaErrors(again, painSchema('001.08'))).to.equal('');
  });
  it('one debit recalled alone (the rest stays at the bank): the file keeps its message id, so a second upload is refused by the bank', async () => {
    env.clock.set('2027-11-15T09:00:00Z');
    const a = await makeInvoice(env.db, org.okertal, { year: 2035, amountCents: 20000 });
    const b = await makeInvoice(env.db, org.okertal, { year: 2036, amountCents: 30000 });
    const run = await collect(env, [a, b], { download: false });
    const file = () => treasurer.get(`/treasurer/sepa/runs/${run.runId}/file?scheme=CORE&sequence=RCUR&version=001.08`);
    const first = (await file()).text;
    await env.ctx.payments.record(actor, a, { date: '2027-11-15', amountCents: 20000, reference: 'Überweisung' });
    await env.ctx.sepa.cancelDebit(actor, Number((await debitOf(a)).id), { reason: 'überwiesen; einzeln zurückgerufen', recalled: true });
    const again = (await file()).text;
    const msgId = (xml: string) => /<MsgId>([^<]+)<\/MsgId>/.exec(xml)?.[1];
    expect(msgId(again)).to.equal(msgId(first));
  });

  it('two page loads at once on the due date book a debit once', async () => {
    env.clock.set('2027-12-01T09:00:00Z');
    const id = await makeInvoice(env.db, org.okertal, { year: 2037, amountCents: 25000 });
    const run = await collect(env, [id]);
    env.clock.set(`${run.dueDate}T12:00:00Z`);
    await Promise.all([env.ctx.sepa.settleDue(actor), env.ctx.sepa.settleDue(actor), treasurer.get('/treasurer')]);
    expect((await env.ctx.payments.forInvoice(id)).map((p) => p.amountCents)).to.deep.equal([25000]);
    expect((await env.ctx.dues.get(id)).paidCents).to.equal(25000);
  });

  it('a debit booked on its due date although its recall was asked, recalled at the bank after all: taken out on the form, the booking reversed, the invoice as paid by the transfer alone', async () => {
    env.clock.set('2027-12-13T09:00:00Z');
    const id = await makeInvoice(env.db, org.brocken, { year: 2038, amountCents: 18000 });
    const run = await collect(env, [id]);
    await env.ctx.payments.record(actor, id, { date: '2027-12-13', amountCents: 18000, reference: 'Überweisung' });
    env.clock.set(`${run.dueDate}T12:00:00Z`);
    await env.ctx.sepa.settleDue(actor);
    expect((await env.ctx.dues.get(id)).paidCents, 'booked as an overpayment').to.equal(36000);
    const d = await debitOf(id);
    expect(d.status).to.equal('collected');
    const runPage = (await treasurer.get(`/treasurer/sepa/runs/${run.runId}`)).text;
    expect(runPage).to.contain(`href="/treasurer/sepa/debits/${d.id}/cancel">Doch zurückgerufen? Herausnehmen …`);
    const form = `/treasurer/sepa/debits/${d.id}/cancel`;
    expect((await treasurer.get(form)).text).to.contain('obwohl der Rückruf erbeten war');
    const r = await treasurer.submit(form, { reason: 'Rückruf von der Bank bestätigt', recalled: '1' }, form);
    expect(r.status).to.equal(303);
    expect((await debitOf(id)).status).to.equal('cancelled');
    const i = await env.ctx.dues.get(id);
    expect(i.paidCents).to.equal(18000);
    expect(i.status).to.equal('paid');
    expect((await env.ctx.payments.forInvoice(id)).map((p) => p.amountCents)).to.deep.equal([18000, 18000, -18000]);
  });
  it('the return fee is not charged on to a member whose debit the association was asked to recall and did not', async () => {
    env.clock.set('2028-01-10T09:00:00Z');
    await env.ctx.settings.updateSepa(actor, { ...(await env.ctx.settings.sepa()), chargeReturnFee: true, returnFeeCents: 350 });
    const id = await makeInvoice(env.db, org.harzer, { year: 2039, amountCents: 15000 });
    const run = await collect(env, [id]);
    await env.ctx.payments.record(actor, id, { date: '2028-01-10', amountCents: 15000, reference: 'Überweisung' });
    env.clock.set(`${run.dueDate}T12:00:00Z`);
    await env.ctx.sepa.settleDue(actor);
    const before = Number((await env.db('invoices').where({ organisation_id: org.harzer }).count({ n: '*' }))[0].n);
    await env.ctx.sepa.recordReturn({ endToEndId: run.e2e.get(id)!.endToEndId, reasonCode: 'MD06', amountCents: 15000, bookedOn: run.dueDate }, actor);
    expect(Number((await env.db('invoices').where({ organisation_id: org.harzer }).count({ n: '*' }))[0].n), 'no fee invoice').to.equal(before);
    const i = await env.ctx.dues.get(id);
    expect(i.paidCents).to.equal(15000);
    expect(i.status).to.equal('paid');
    await env.ctx.settings.updateSepa(actor, { ...(await env.ctx.settings.sepa()), chargeReturnFee: false, returnFeeCents: 0 });
  });
});
