import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { PASSWORD } from '../helpers/fixtures.ts';
import { camt, collect, debitSetup } from './debit-collection.fixtures.ts';

const actor = { userId: null, label: 'test' };

describe('bank: a returned direct debit in the statement is booked by the SEPA module and leaves the queue', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let treasurer: Browser;
  let inv: Record<string, number>;
  let run: Awaited<ReturnType<typeof collect>>;
  const dashboardCount = async () => {
    const page = await treasurer.get('/treasurer');
    const m = /<p id="bank-open">([\s\S]*?)<\/p>/.exec(page.text);
    expect(m, 'the dashboard shows the bank count').to.not.equal(null);
    return m![1].replace(/<[^>]+>/g, '').trim();
  };

  before(async () => {
    env = await createTestEnv();
    ({ inv } = await debitSetup(env));
    run = await collect(env, [inv.harzer, inv.okertal]);
    treasurer = new Browser(env.app);
    await treasurer.login('treasurer@test.example', PASSWORD);
  });
  after(async () => env.close());

  it('imports a return of a collected debit: invoice open again, the line out of the queue and linked to the return, the dashboard count unchanged', async () => {
    env.clock.set(`${run.dueDate}T12:00:00Z`);
    await env.ctx.sepa.settleDue(actor);
    expect((await env.ctx.dues.get(inv.harzer)).status).to.equal('paid');
    const before = await dashboardCount();
    expect(await env.ctx.bank.openCount()).to.equal(0);
    env.clock.set('2027-04-02T09:00:00Z');
    const d = run.e2e.get(inv.harzer)!;
    const r = await env.ctx.bank.import(actor, 'ret.xml', camt('2027-04-01-001', '2027-04-01', [
      { ref: 'R1', amountCents: -d.amountCents, name: 'Harzer Spezialchemie GmbH', iban: 'DE12500105170648489890', text: 'Mitgliedsbeitrag', endToEndId: d.endToEndId, returnReason: 'AM04' },
    ]));
    expect(r).to.include({ newLines: 1, returns: 1 });
    const invoice = await env.ctx.dues.get(inv.harzer);
    expect(invoice.status).to.equal('open');
    expect(invoice.paidCents).to.equal(0);
    expect(await env.ctx.bank.openCount()).to.equal(0);
    expect(await dashboardCount()).to.equal(before);
    const o = await env.ctx.bank.overview();
    expect(o.open).to.have.length(0);
    expect(o.returned).to.have.length(1);
    const line = o.returned[0];
    const [ret] = (await env.ctx.sepa.ofOrganisation(invoice.organisationId)).returns;
    expect(line).to.include({ status: 'returned', sepaReturnId: ret.id, organisationId: invoice.organisationId });
    const page = await treasurer.get('/treasurer/bank');
    expect(page.text).to.contain('id="bank-returned-lines"');
    expect(page.text).to.contain('Rücklastschrift (Grund AM04)');
    const detail = await treasurer.get(`/treasurer/bank/lines/${line.id}`);
    expect(detail.text).to.contain('als Rücklastschrift gebucht');
    expect(detail.text).to.contain('id="line-returned"');
    expect(detail.text).to.not.contain('/undo"');
    const audit = await env.db('audit_log').where({ action: 'bank.line_returned' });
    expect(audit).to.have.length(1);
  });

  it('a return the treasurer entered by hand before the statement came: not booked twice, the line still leaves the queue', async () => {
    const d = run.e2e.get(inv.okertal)!;
    await env.ctx.sepa.recordReturn({ endToEndId: d.endToEndId, reasonCode: 'AC04', amountCents: d.amountCents, bookedOn: '2027-04-02' }, actor);
    const payments = (await env.ctx.payments.forInvoice(inv.okertal)).length;
    await env.ctx.bank.import(actor, 'ret2.xml', camt('2027-04-02-001', '2027-04-02', [
      { ref: 'R2', amountCents: -d.amountCents, name: 'Okertal Pigmente GmbH', iban: 'DE02120300000000202051', text: 'Mitgliedsbeitrag', endToEndId: d.endToEndId, returnReason: 'AC04' },
    ]));
    expect((await env.ctx.payments.forInvoice(inv.okertal)).length).to.equal(payments);
    expect((await env.ctx.sepa.ofOrganisation((await env.ctx.dues.get(inv.okertal)).organisationId)).returns).to.have.length(1);
    expect(await env.ctx.bank.openCount()).to.equal(0);
  });

  it('a return of a debit we do not know stays in the queue for the treasurer', async () => {
    await env.ctx.bank.import(actor, 'ret3.xml', camt('2027-04-03-001', '2027-04-02', [
      { ref: 'R3', amountCents: -12300, name: 'Fremd GmbH', iban: 'DE02100500000054540402', text: 'Lastschrift', endToEndId: 'UNKNOWN-1', returnReason: 'AC04' },
    ]));
    const o = await env.ctx.bank.overview();
    expect(o.open.map((l) => l.endToEndId)).to.deep.equal(['UNKNOWN-1']);
    expect(await env.ctx.bank.openCount()).to.equal(1);
  });
});
