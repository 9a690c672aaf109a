import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { collect, debitSetup } from './debit-collection.fixtures.ts';

const actor = { userId: null, label: 'test' };

describe('reminders and direct debit: no "please transfer" while a debit will collect, a returned debit named', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let org: Record<string, number>;
  let inv: Record<string, number>;
  let run: Awaited<ReturnType<typeof collect>>;
  const reminders = async (invoiceId: number) => {
    const { number } = await env.ctx.dues.get(invoiceId);
    return (await env.db('mail_messages').where('template', 'like', 'dues_reminder_%').orderBy('id')).filter((m) => m.subject.includes(number));
  };

  before(async () => {
    env = await createTestEnv();
    ({ org, inv } = await debitSetup(env));
    // Goslar's invoice is issued anew while it has a mandate: it says the amount will be debited; then the mandate is revoked and no run collects it
    const m = await env.ctx.sepa.createMandate(actor, org.goslar, 'paper', { scheme: 'CORE', iban: 'DE02100500000054540402', bic: '', holder: 'Goslarer Labor GmbH', signedOn: '2027-02-01' });
    await env.ctx.dues.cancelInvoice(actor, inv.goslar, 'Lastschrift statt Überweisung');
    const r = await env.ctx.dues.issueDuesInvoice(actor, org.goslar, 2027);
    if (!r.issued) throw new Error('not issued');
    inv.goslar = r.invoiceId;
    expect((await env.ctx.dues.get(inv.goslar)).einvoice?.mandate).to.not.equal(null);
    await env.ctx.sepa.revokeMandate(actor, m, 'widerrufen');
    // Okertal's invoice goes into a run; Harzer has an active mandate but no run yet
    run = await collect(env, [inv.okertal]);
  });
  after(async () => env.close());

  it('on the first reminder day: members paying by transfer are reminded; the debited invoice and the mandate holder awaiting its debit are not', async () => {
    const due = (await env.ctx.dues.get(inv.harzer)).dueDate;
    expect(due).to.equal('2027-04-09');
    env.clock.set('2027-04-23T09:00:00Z'); // due date + 14 days
    const sent = await env.ctx.reminders.sendDue(actor);
    expect(sent.first).to.equal(4); // Goslar, Brockenblick, Müller, Institut
    expect((await env.ctx.dues.get(inv.okertal)).reminderLevel).to.equal(0);
    expect((await env.ctx.dues.get(inv.harzer)).reminderLevel).to.equal(0);
    expect(await reminders(inv.harzer)).to.have.length(0);
    const [brocken] = await reminders(inv.brocken);
    expect(brocken.text_body).to.contain('Bitte überweisen Sie den Betrag');
    expect(brocken.text_body).to.not.contain('Lastschrift');
  });

  it('an invoice that said it would be debited, whose debit never came, is reminded on time and says no debit was made (never "will be debited")', async () => {
    const [goslar] = await reminders(inv.goslar);
    expect(goslar.text_body).to.contain('Zu dieser Rechnung ist bis heute keine Lastschrift erfolgt');
    expect(goslar.text_body).to.not.match(/wird .*(abgebucht|eingezogen)/);
  });

  it('the mandate holder without a run is reminded once the debit would have been due plus the reminder days, saying no debit was made', async () => {
    env.clock.set('2027-05-06T09:00:00Z');
    await env.ctx.reminders.sendDue(actor);
    expect(await reminders(inv.harzer)).to.have.length(0);
    env.clock.set('2027-05-07T09:00:00Z'); // a run on the due date (9 April) would have collected on 23 April (14 days notice); + 14 days
    await env.ctx.reminders.sendDue(actor);
    const [harzer] = await reminders(inv.harzer);
    expect(harzer.template).to.equal('dues_reminder_1');
    expect(harzer.text_body).to.contain('Zu dieser Rechnung ist bis heute keine Lastschrift erfolgt');
    expect(harzer.text_body).to.not.match(/wird .*(abgebucht|eingezogen)/);
    expect(await reminders(inv.okertal)).to.have.length(0); // still collected
  });

  it('after the debit was returned, the reminder says so (reason) and asks for the transfer', async () => {
    await env.ctx.sepa.settleDue(actor);
    expect((await env.ctx.dues.get(inv.okertal)).status).to.equal('paid');
    const d = run.e2e.get(inv.okertal)!;
    await env.ctx.sepa.recordReturn({ endToEndId: d.endToEndId, reasonCode: 'AM04', amountCents: d.amountCents, bookedOn: '2027-05-07' }, actor);
    expect((await env.ctx.dues.get(inv.okertal)).status).to.equal('open');
    await env.ctx.reminders.sendDue(actor);
    const [okertal] = await reminders(inv.okertal);
    expect(okertal, 'a reminder after the return').to.not.equal(undefined);
    const dueDate = run.dueDate.split('-').reverse().join('.');
    expect(okertal.text_body).to.contain(`Die Lastschrift zu dieser Rechnung (fällig am ${dueDate}) hat Ihre Bank zurückgegeben (Grund AM04`);
    expect(okertal.text_body).to.contain('Bitte überweisen Sie');
    expect(okertal.text_body).to.not.contain('keine Lastschrift erfolgt');
  });
});
