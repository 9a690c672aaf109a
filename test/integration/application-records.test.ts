import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { makeCategories } from '../helpers/fixtures.ts';
import { submitAndConfirm, validForm } from './applications.fixtures.ts';

/** The application data of a member for the GDPR export and anonymisation (ApplicationRecordsService). */
describe('application records of a member organisation', () => {
  let env: TestEnv;
  let cats: Record<string, number>;
  const actor = { userId: null, label: 'test' };

  before(async () => {
    env = await createTestEnv();
    cats = await makeCategories(env.ctx);
  });
  after(async () => env.close());

  it('gives the approved application with its contacts and messages, and blanks those contacts on anonymisation', async () => {
    const id = await submitAndConfirm(env, validForm(cats.company, { legal_name: 'Akten & Daten GmbH', rep_email: 'rep@akten.example', billing_name: 'Buchhaltung', billing_email: 'rechnung@akten.example' }));
    const other = await submitAndConfirm(env, validForm(cats.company, { legal_name: 'Andere GmbH', rep_email: 'rep@andere.example' }));
    await env.ctx.applications.comment(actor, id, 'Sieht gut aus.');
    const app = (await env.ctx.applications.get(id))!;
    const { organisationId } = await env.ctx.applications.approve(actor, id, { version: app.version, resolutionRef: 'Beschluss 1', joinDate: '2026-12-01', categoryId: cats.company });

    const records = await env.ctx.applicationRecords.ofOrganisation(organisationId);
    expect(records.applications.map((a) => a.id)).to.deep.equal([id]);
    expect(records.contacts.map((c) => c.email)).to.deep.equal(['rep@akten.example', 'rechnung@akten.example']);
    expect(records.messages.map((m) => m.body)).to.deep.equal(['Sieht gut aus.']);

    await env.db.transaction((trx) => env.ctx.applicationRecords.anonymiseContacts(trx, organisationId, 'anonymisiert'));
    const after = await env.ctx.applicationRecords.ofOrganisation(organisationId);
    expect(after.contacts.map((c) => [c.name, c.email, c.phone, c.position])).to.deep.equal([['anonymisiert', '', '', ''], ['anonymisiert', '', '', '']]);
    // another application's contacts are left alone
    expect((await env.db('application_contacts').where({ application_id: other }).first())!.email).to.equal('rep@andere.example');
  });
});
