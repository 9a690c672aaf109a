import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { DEFAULT_ASSOCIATION } from '../../server/settings/settings.schemas.ts';
import { apply, openForm, submitAndConfirm, validForm } from './applications.fixtures.ts';
import { Browser } from '../helpers/http.ts';

const actor = { userId: null, label: 'test' };
const MANDATE = { sepa_scheme: 'B2B', sepa_holder: 'Harzer Feinchemie GmbH', sepa_iban: 'DE02 1203 0000 0000 2020 51', sepa_consent: 'yes' };

/** h/bank2: the SEPA mandate on the public application form. */
describe('application form: an optional SEPA mandate, created for the member on approval', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let cats: Record<string, number>;

  before(async () => {
    env = await createTestEnv();
    env.clock.set('2027-03-10T09:00:00Z');
    cats = await makeCategories(env.ctx);
  });
  after(async () => env.close());

  it('without a creditor ID in the settings the form has no mandate section', async () => {
    const { html } = await openForm(new Browser(env.app));
    expect(html).to.not.contain('id="sepa-mandate"');
  });

  it('with a creditor ID: the section shows the mandate text with it; an invalid IBAN is named next to the field and what was typed is kept', async () => {
    await env.ctx.settings.updateAssociation(actor, { ...DEFAULT_ASSOCIATION, name: 'ChemieNetzwerk Harz e.V.', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', sepaCreditorId: 'DE98ZZZ09999999999' });
    const { html } = await openForm(new Browser(env.app));
    expect(html).to.contain('id="sepa-mandate"');
    expect(html).to.match(/id="mandate-text">[^<]*Gläubiger-Identifikationsnummer DE98ZZZ09999999999/);
    const res = await apply(env.app, validForm(cats.company, { ...MANDATE, sepa_iban: 'DE02 1203 0000 0000 2020 52' }));
    expect(res.status).to.equal(422);
    expect(res.text).to.match(/id="e-sepa_iban"[^>]*>[^<]+/);
    expect(res.text).to.contain('value="DE02 1203 0000 0000 2020 52"');
    expect(res.text).to.contain('value="Harzer Feinchemie GmbH"');
    const control = await apply(env.app, validForm(cats.company, { ...MANDATE, sepa_holder: 'Harzer\u0007 GmbH', sepa_iban: 'DE02\u0000120300000000202051', sepa_scheme: 'X\u001b' }));
    expect(control.status).to.equal(422);
    for (const f of ['sepa_holder', 'sepa_iban']) expect(control.text).to.match(new RegExp(`id="e-${f}"`));
    const noConsent = await apply(env.app, validForm(cats.company, { ...MANDATE, sepa_consent: '' }));
    expect(noConsent.status).to.equal(422);
    expect(noConsent.text).to.match(/id="e-sepa_consent"/);
    expect(await env.db('applications').count({ n: '*' }).first().then((r) => Number(r!.n))).to.equal(0);
  });

  it('an application with a mandate, approved: the member has an active mandate from the application, signed on the application date', async () => {
    const id = await submitAndConfirm(env, validForm(cats.company, MANDATE));
    env.clock.set('2027-03-20T09:00:00Z');
    const row = (await env.db('applications').where({ id }).first())!;
    expect(row.sepa_iban).to.equal('DE02120300000000202051');
    await makeUser(env.ctx, 'board@test.example', ['board']);
    const board = new Browser(env.app);
    await board.login('board@test.example', PASSWORD);
    expect((await board.get(`/board/applications/${id}`)).text).to.match(/id="application-mandate">SEPA-Firmenlastschrift \(B2B\) · Harzer Feinchemie GmbH · DE02 1203 0000 0000 2020 51/);
    const { organisationId } = await env.ctx.applications.approve(actor, id, { version: Number(row.version), resolutionRef: 'Vorstandsbeschluss 2027/03', joinDate: '2027-04-01', categoryId: cats.company });
    const [m] = await env.ctx.sepa.mandatesOf(organisationId);
    expect(m).to.include({ state: 'active', source: 'application', scheme: 'B2B', iban: 'DE02120300000000202051', holder: 'Harzer Feinchemie GmbH', signedOn: '2027-03-10' });
  });

  it('an application without a mandate (fields left empty) approves as before, without a mandate', async () => {
    const id = await submitAndConfirm(env, validForm(cats.company, { legal_name: 'Okertal Analytik GmbH', rep_email: 'info@okertal-analytik.example', sepa_scheme: 'CORE' }));
    const row = (await env.db('applications').where({ id }).first())!;
    expect(row.sepa_iban).to.equal(null);
    const { organisationId } = await env.ctx.applications.approve(actor, id, { version: Number(row.version), resolutionRef: 'Vorstandsbeschluss 2027/04', joinDate: '2027-04-01', categoryId: cats.company });
    expect(await env.ctx.sepa.mandatesOf(organisationId)).to.have.length(0);
  });

  it('a rejected application with a mandate: its IBAN is deleted with the application after the retention period, and kept nowhere else', async () => {
    env.clock.set('2027-03-20T09:00:00Z');
    const id = await submitAndConfirm(env, validForm(cats.company, { ...MANDATE, legal_name: 'Brocken Labor GmbH', rep_email: 'info@brocken-labor.example', sepa_iban: 'DE75512108001245126199' }));
    const row = (await env.db('applications').where({ id }).first())!;
    await env.ctx.applications.reject(actor, id, { version: Number(row.version), resolutionRef: 'Vorstandsbeschluss 2027/05', reason: 'Kein Bezug zur Region' });
    env.clock.set('2027-10-01T09:00:00Z');
    expect((await env.ctx.applications.purgeExpired()).deleted).to.be.greaterThan(0);
    expect(await env.db('applications').where({ id }).first()).to.equal(undefined);
    const audit = JSON.stringify(await env.db('audit_log').select());
    const mails = JSON.stringify(await env.db('mail_messages').select());
    expect(audit + mails).to.not.contain('DE75512108001245126199');
    expect(audit + mails).to.not.contain('DE75 5121');
  });
});
