import { expect } from 'chai';
import { runDuesFaultRun, type FaultRunReport } from '../fakes/dues-fault-run.ts';

/**
 * The dues run against a failing Stripe, in a child process killed with SIGKILL twice at
 * random points and started again (see test/fakes/dues-fault-run.ts). Unlike
 * stripe-fault.test.ts, nothing is simulated: the process really dies mid-transaction,
 * mid-request, with deliveries in flight, and the next process takes the run over.
 */
const MEMBERS = Number(process.env.DUES_FAULT_MEMBERS ?? 200);
const YEAR = 2027;

describe('dues fault run: a real process killed twice while Stripe fails', function () {
  this.timeout(120_000);
  let r: FaultRunReport;

  before(async function () {
    this.timeout(120_000);
    r = await runDuesFaultRun({ members: MEMBERS, year: YEAR, log: (l) => { if (process.env.DUES_FAULT_LOG) console.log(`      ${l}`); } });
  });

  it('was killed twice part-way, under injected 500s and dropped connections, and then finished', () => {
    expect(r.kills).to.have.length(2);
    for (const k of r.kills) {
      expect(k.signal, 'killed, not ended by itself').to.equal('SIGKILL');
      expect(k.afterInvoices).to.be.greaterThan(0).and.lessThan(MEMBERS);
    }
    expect(r.kills[1].afterInvoices).to.be.greaterThan(r.kills[0].afterInvoices);
    expect(r.lastResult).to.include({ status: 'done' });
    expect(r.lastResult!.result).to.include({ failed: 0 });
    expect(r.faults.errors, '500 answers injected').to.be.greaterThan(0);
    expect(r.faults.dropsBefore + r.faults.dropsAfter, 'connections dropped').to.be.greaterThan(0);
    expect(r.wallSeconds).to.be.lessThan(90);
  });

  it('gave every member exactly one local invoice, numbered without a gap', () => {
    expect(r.localInvoices).to.equal(MEMBERS);
    expect(r.membersWithExactlyOneInvoice).to.equal(MEMBERS);
    expect(r.numbersGapless).to.equal(true);
    expect(r.firstNumber).to.equal(`${YEAR}-0001`);
    expect(r.lastNumber).to.equal(`${YEAR}-${String(MEMBERS).padStart(4, '0')}`);
  });

  it('made exactly one Stripe invoice per local invoice (by metadata and by number) and one customer per member', () => {
    expect(r.stripeInvoices).to.equal(MEMBERS);
    expect(r.localWithExactlyOneStripeInvoice).to.equal(MEMBERS);
    expect(r.stripeDuplicatesByLocalId).to.equal(0);
    expect(r.stripeDuplicatesByNumber).to.equal(0);
    expect(r.stripeCustomers).to.equal(MEMBERS);
    expect(r.stripeCustomerDuplicates).to.equal(0);
  });

  it('e-mailed each invoice exactly once', () => {
    expect(r.invoicesMailed).to.equal(MEMBERS);
    expect(r.mailsPerInvoiceMax).to.equal(1);
  });

  it('charged nothing twice: paid on Stripe, reconciled twice, one payment each', () => {
    expect(r.paidOnStripe).to.equal(MEMBERS);
    expect(r.reconcile[0]).to.include({ changed: MEMBERS, failed: 0 });
    expect(r.reconcile[1]).to.include({ checked: MEMBERS, changed: 0 }); // h/stripe: reconcile checks every Stripe invoice; the second run repairs nothing
    expect(r.payments).to.equal(MEMBERS);
    expect(r.invoicesWithOnePayment).to.equal(MEMBERS);
    expect(r.invoicesPaidInFull).to.equal(MEMBERS);
  });
});
