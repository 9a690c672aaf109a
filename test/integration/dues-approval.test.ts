import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { submitAndConfirm, validForm } from './applications.fixtures.ts';
import { DEFAULT_ASSOCIATION } from '../../server/settings/settings.schemas.ts';

/**
 * PRODUCT.md §1: approval creates the member "and, if dues are set up, the first (pro-rata)
 * dues invoice". Dues are set up for a year when its fee schedule is frozen.
 */
describe('dues on approval: the first pro-rata invoice when the join year has a fee schedule', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let cats: Record<string, number>;
  let board: Browser;
  const actor = { userId: null, label: 'test' };

  before(async () => {
    env = await createTestEnv();
    env.clock.set('2027-03-10T09:00:00Z');
    cats = await makeCategories(env.ctx);
    await env.ctx.settings.updateAssociation(actor, {
      ...DEFAULT_ASSOCIATION, name: 'ChemieNetzwerk Harz e.V.', contactEmail: 'vorstand@chemienetzwerk-harz.example', taxNumber: '21/270/12345',
      bankHolder: 'ChemieNetzwerk Harz e.V.', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', bankName: 'Commerzbank',
    });
    await env.ctx.dues.freezeFeeSchedule(actor, 2027);
    await makeUser(env.ctx, 'vorstand@test.example', ['board']);
    board = new Browser(env.app);
    await board.login('vorstand@test.example', PASSWORD);
  });
  after(async () => env.close());

  async function approveThroughBoard(applicationId: number, joinDate: string, categoryId: number) {
    const app = (await env.db('applications').where({ id: applicationId }).first())!;
    const url = `/board/applications/${applicationId}`;
    const res = await board.submit(url, {
      version: String(app.version), approve_resolution_ref: 'Vorstandsbeschluss 2027/04', approve_join_date: joinDate, approve_category_id: String(categoryId),
    }, `${url}/approve`);
    expect(res.status, res.text.slice(0, 500)).to.equal(303);
    const updated = (await env.db('applications').where({ id: applicationId }).first())!;
    expect(updated.status).to.equal('approved');
    return Number(updated.organisation_id);
  }

  it('issues and e-mails the pro-rata invoice of the join year right after the approval', async () => {
    const id = await submitAndConfirm(env, validForm(cats.company, {
      legal_name: 'Oberharzer Analytik GmbH', employee_band: '50-249', rep_email: 'k.woelfel@analytik.example',
      billing_name: 'Buchhaltung Analytik', billing_email: 'rechnung@analytik.example',
    }));
    const orgId = await approveThroughBoard(id, '2027-04-01', cats.company);

    const invoices = await env.db('invoices').where({ organisation_id: orgId });
    expect(invoices).to.have.length(1);
    const inv = invoices[0];
    // 1.200 € a year for 50–249 employees, April to December: 9/12
    expect(inv).to.include({ number: '2027-0001', year: 2027, kind: 'invoice', amount_cents: 90000, period_start: '2027-04-01', period_end: '2027-12-31', status: 'open' });
    expect(inv.pro_rata_note).to.contain('9/12');
    expect(inv.mailed_at).to.be.a('string');

    const mails = await env.db('mail_messages').where({ template: 'dues_invoice', related_id: inv.id });
    expect(mails).to.have.length(1);
    expect(mails[0].to_address).to.equal('rechnung@analytik.example');
    expect(mails[0].subject).to.contain('2027-0001');
    expect(JSON.parse(mails[0].attachments!)[0]).to.include({ filename: 'Rechnung-2027-0001.pdf', contentType: 'application/pdf' });
    expect(await env.db('audit_log').where({ action: 'invoice.issued', entity_id: inv.id }).first()).to.be.an('object');

    // the dues run of the year later skips this member: one invoice per member and year
    const preview = await env.ctx.dues.preview(2027);
    expect(preview.rows.find((r) => r.organisationId === orgId)).to.include({ skip: 'invoiced', invoiceNumber: '2027-0001' });
  });

  it('issues nothing when the join year has no fee schedule yet; the dues run of that year invoices the member', async () => {
    const id = await submitAndConfirm(env, validForm(cats.research, { legal_name: 'Institut Zukunft 2028', rep_email: 'leitung@zukunft.example' }));
    const orgId = await approveThroughBoard(id, '2028-02-01', cats.research);
    expect(await env.db('invoices').where({ organisation_id: orgId })).to.have.length(0);
    expect(await env.db('mail_messages').where({ template: 'dues_invoice', to_address: 'leitung@zukunft.example' })).to.have.length(0);

    await env.ctx.dues.freezeFeeSchedule(actor, 2028);
    const { jobId } = await env.ctx.duesRuns.start(actor, 2028);
    expect((await env.ctx.jobs.waitFor(jobId))!.status).to.equal('done');
    const inv = await env.db('invoices').where({ organisation_id: orgId, year: 2028 }).first();
    expect(inv).to.include({ amount_cents: 27500, period_start: '2028-02-01' }); // 300 € × 11/12
  });

  it('issues nothing for a free membership, and the approval stands when the invoice cannot be issued', async () => {
    const free = await submitAndConfirm(env, validForm(cats.research, { legal_name: 'Ehrenhalber e.V.', rep_email: 'ehre@ehrenhalber.example' }));
    const freeOrg = await approveThroughBoard(free, '2027-05-01', cats.honorary);
    expect(await env.db('invoices').where({ organisation_id: freeOrg })).to.have.length(0);

    const original = env.ctx.dues.issueAndDeliver.bind(env.ctx.dues);
    env.ctx.dues.issueAndDeliver = async () => { throw new Error('database busy'); };
    try {
      const id = await submitAndConfirm(env, validForm(cats.supporting, { legal_name: 'Pech gehabt GmbH', rep_email: 'pech@pech.example' }));
      const orgId = await approveThroughBoard(id, '2027-06-01', cats.supporting);
      expect(await env.db('organisations').where({ id: orgId }).first()).to.be.an('object');
      expect(await env.db('invoices').where({ organisation_id: orgId })).to.have.length(0);
    } finally {
      env.ctx.dues.issueAndDeliver = original;
    }
  });
});
