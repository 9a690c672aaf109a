import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { makeInvoice, makeOrganisation } from '../helpers/stripe-fixtures.ts';

/** h/stripe: the register's payment-status filter (the dues of the current year): paid, open, overdue. */
describe('member register: payment-status filter', function () {
  this.timeout(30_000);
  let env: TestEnv;
  let board: Browser;

  before(async () => {
    env = await createTestEnv();
    env.clock.set('2027-03-01T09:00:00Z');
    const paid = await makeOrganisation(env.db, { name: 'Bezahlt Chemie GmbH' });
    const open = await makeOrganisation(env.db, { name: 'Offen Labor GmbH' });
    const late = await makeOrganisation(env.db, { name: 'Verspätet Pigmente GmbH' });
    await makeOrganisation(env.db, { name: 'Ohne Rechnung AG' });
    const a = await makeInvoice(env.db, paid);
    await env.ctx.payments.record({ userId: null, label: 'test' }, a, { date: '2027-02-01', amountCents: 120000, reference: 'Überweisung' });
    const b = await makeInvoice(env.db, open);
    await env.db('invoices').where({ id: b }).update({ due_date: '2027-04-01' });
    await makeInvoice(env.db, late); // due 25.12.2026
    await makeUser(env.ctx, 'vorstand@test.example', ['board']);
    board = new Browser(env.app);
    await board.login('vorstand@test.example', PASSWORD);
  });
  after(async () => env.close());

  const names = async (payment: string) => {
    const res = await board.get(`/board/members?payment=${payment}`);
    expect(res.status).to.equal(200);
    return ['Bezahlt Chemie GmbH', 'Offen Labor GmbH', 'Verspätet Pigmente GmbH', 'Ohne Rechnung AG'].filter((n) => res.text.includes(n));
  };

  it('offers the filter with the year it refers to and keeps the choice', async () => {
    const res = await board.get('/board/members?payment=overdue');
    expect(res.text).to.contain('Zahlungsstatus (Beitrag 2027)');
    expect(res.text).to.match(/<option value="overdue" selected>überfällig<\/option>/);
  });

  it('lists who paid, who has something open, who is overdue', async () => {
    expect(await names('paid')).to.deep.equal(['Bezahlt Chemie GmbH']);
    expect(await names('open')).to.deep.equal(['Offen Labor GmbH', 'Verspätet Pigmente GmbH']);
    expect(await names('overdue')).to.deep.equal(['Verspätet Pigmente GmbH']);
    expect(await names('')).to.have.length(4);
    expect(await names('nonsense')).to.have.length(4);
  });
});
