import { expect } from 'chai';
import type { Knex } from 'knex';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { Browser } from '../helpers/http.ts';

const actor = { userId: null, label: 'test' };

describe('member data: GDPR', () => {
  let env: TestEnv;
  let board: Browser;
  let cats: Record<string, number>;
  let formerId: number;
  let activeId: number;

  async function addMember(name: string, contacts: { name: string; email: string; phone?: string }[], invite = false) {
    return env.db.transaction((trx: Knex.Transaction) => env.ctx.members.createOrganisation(trx, actor, {
      legalName: name, legalForm: 'GmbH', street: 'Bahnhofstraße 40', postcode: '38642', city: 'Goslar', country: 'DE',
      website: '', registerEntry: '', vatId: 'DE312233074', fieldOfActivity: '', employeeBand: '1-49', categoryId: cats.company, joinDate: '2019-02-01',
    }, contacts.map((c, i) => ({ phone: '', position: 'Geschäftsführung', isRepresentative: i === 0, isBilling: i > 0, locale: 'de' as const, consentEmailInvitations: true, ...c })), { invite, welcome: false }));
  }

  before(async () => {
    env = await createTestEnv();
    cats = await makeCategories(env.ctx);
    await makeUser(env.ctx, 'vorstand@verein.example', ['board'], 'Vera Vorstand');
    await makeUser(env.ctx, 'kasse@verein.example', ['treasurer']);
    const former = await addMember('Oker Spezialgase GmbH', [{ name: 'Sabine Krüger', email: 's.krueger@oker.example', phone: '+49 5321 6060' }, { name: 'Bernd Buch', email: 'buch@oker.example' }], true);
    formerId = former.organisationId;
    activeId = (await addMember('Seesen Biopolymere GmbH', [{ name: 'Ole Sørensen', email: 'o.sorensen@seesen.example' }], true)).organisationId;
    // consents as the application's approval records them
    const contacts = await env.db('contacts').where({ organisation_id: formerId }).orderBy('id');
    await env.db.transaction(async (trx) => {
      await env.ctx.gdpr.recordConsent(trx, contacts[0].id, 'privacy_notice', '2026-01', '2026-03-01T10:00:00.000Z', 'application');
      await env.ctx.gdpr.recordConsent(trx, contacts[0].id, 'email_invitations', '2026-01', '2026-03-01T10:00:00.000Z', 'application');
    });
    // the set-password invitations sit in the outbox; the former member had left on 31 Dec 2026
    await env.db('organisations').where({ id: formerId }).update({ status: 'former', exit_date: '2026-12-31', exit_reason: 'notice' });
    board = new Browser(env.app);
    await board.login('vorstand@verein.example', PASSWORD);
  });
  after(async () => env.close());

  it('refuses treasurers and members, and sends anonymous visitors to the login', async () => {
    const anon = await new Browser(env.app).get(`/board/gdpr/organisations/${formerId}`);
    expect(anon.status).to.equal(303);
    expect(anon.headers.location).to.equal('/login');
    const t = new Browser(env.app);
    await t.login('kasse@verein.example', PASSWORD);
    expect((await t.get('/board/gdpr')).status).to.equal(403);
    await makeUser(env.ctx, 'kontakt@mitglied.example', ['member']);
    const member = new Browser(env.app);
    await member.login('kontakt@mitglied.example', PASSWORD);
    expect((await member.get('/board/gdpr')).status).to.equal(403);
    expect((await member.get(`/board/gdpr/organisations/${formerId}`)).status).to.equal(403);
    const portal = await member.get('/portal');
    const res = await member.agent.post('/board/gdpr/anonymise').type('form').send({ _csrf: Browser.csrfFrom(portal.text), ids: String(formerId) });
    expect(res.status).to.equal(403);
  });

  it('shows everything stored about an organisation on a readable page, with its consents', async () => {
    const page = await board.get(`/board/gdpr/organisations/${formerId}`);
    expect(page.status).to.equal(200);
    expect(page.text).to.contain('Oker Spezialgase GmbH');
    expect(page.text).to.contain('Sabine Krüger');
    expect(page.text).to.contain('s.krueger@oker.example');
    expect(page.text).to.contain('Datenschutzhinweise zur Kenntnis genommen');
    expect(page.text).to.contain('Einladungen per E-Mail (Textform)');
    expect(page.text).to.contain('Aufnahmeantrag');
    expect(page.text).to.contain('member.created');
    expect(page.text).to.contain('01.02.2019: Beitritt (Mitglied)');
    expect(page.text).to.contain('<dd>M-0001</dd>');
    expect(page.text).to.contain('Ihr Zugang zum Mitgliederportal'); // the invitation mail's subject (metadata)
  });

  it('downloads the Art. 15/20 export as JSON with contacts, consents, mail metadata and audit trail, and logs it', async () => {
    const page = await board.get(`/board/gdpr/organisations/${formerId}`);
    const res = await board.agent.post(`/board/gdpr/organisations/${formerId}/export.json`).type('form').send({ _csrf: Browser.csrfFrom(page.text) });
    expect(res.status).to.equal(200);
    expect(res.headers['content-disposition']).to.match(/attachment; filename="dsgvo-auskunft-M-0001-2026-11-25\.json"/);
    const data = JSON.parse(res.text);
    expect(data.organisation).to.include({ legalName: 'Oker Spezialgase GmbH', memberNo: 'M-0001', status: 'former', exitDate: '2026-12-31' });
    expect(data.contacts.map((c: { name: string }) => c.name)).to.deep.equal(['Sabine Krüger', 'Bernd Buch']);
    expect(data.contacts[0]).to.include({ email: 's.krueger@oker.example', phone: '+49 5321 6060', isRepresentative: true });
    expect(data.portalAccounts.map((u: { email: string }) => u.email).sort()).to.deep.equal(['buch@oker.example', 's.krueger@oker.example']);
    expect(data.portalAccounts[0]).not.to.have.property('passwordHash');
    expect(data.membershipHistory[0]).to.include({ kind: 'joined', effectiveDate: '2019-02-01' });
    expect(data.consentRecords.map((c: { kind: string }) => c.kind)).to.deep.equal(['privacy_notice', 'email_invitations']);
    expect(data.mailMessages).to.have.length(2);
    expect(data.mailMessages[0]).to.include({ template: 'portal_invitation' });
    expect(data.mailMessages[0]).not.to.have.property('textBody');
    expect(data.mailMessages[0]).not.to.have.property('htmlBody');
    expect(data.auditEntries.some((a: { action: string }) => a.action === 'member.created')).to.equal(true);
    expect(JSON.stringify(data)).not.to.contain('Seesen');
    const log = (await env.db('export_log').orderBy('id', 'desc').first())!;
    expect(log).to.include({ format: 'gdpr_json', row_count: 1, actor_label: 'Vera Vorstand' });
    expect(JSON.parse(log.member_ids!)).to.deep.equal([formerId]);
  });

  it('records a consent given on paper and a withdrawal, switching e-mail invitations accordingly', async () => {
    const ole = (await env.db('contacts').where({ organisation_id: activeId }).first())!;
    await env.db('contacts').where({ id: ole.id }).update({ consent_email_invitations: false });
    const res = await board.submit(`/board/gdpr/organisations/${activeId}`, { contactId: String(ole.id), kind: 'email_invitations', version: 'Formular 2026', givenOn: '2026-11-20' }, `/board/gdpr/organisations/${activeId}/consents`);
    expect(res.status).to.equal(303);
    expect(Number((await env.db('contacts').where({ id: ole.id }).first())!.consent_email_invitations)).to.equal(1);
    const rec = (await env.db('consent_records').where({ contact_id: ole.id }).first())!;
    expect(rec).to.include({ kind: 'email_invitations', version: 'Formular 2026', source: 'board', given_at: '2026-11-19T23:00:00.000Z' });
    const page = await board.get(`/board/gdpr/organisations/${activeId}`);
    expect(page.text).to.contain('Formular 2026');
    expect(page.text).to.contain('Vom Vorstand erfasst');
    const withdraw = await board.submit(`/board/gdpr/organisations/${activeId}`, {}, `/board/gdpr/consents/${rec.id}/withdraw`);
    expect(withdraw.status).to.equal(303);
    expect((await env.db('consent_records').where({ id: rec.id }).first())!.withdrawn_at).to.equal('2026-11-25T09:00:00.000Z');
    expect(Number((await env.db('contacts').where({ id: ole.id }).first())!.consent_email_invitations)).to.equal(0);
    expect(Number((await env.db('audit_log').whereIn('action', ['consent.recorded', 'consent.withdrawn']).count({ n: '*' }).first())!.n)).to.equal(2);
  });

  it('rejects a consent without a date with a field error', async () => {
    const ole = (await env.db('contacts').where({ organisation_id: activeId }).first())!;
    const res = await board.submit(`/board/gdpr/organisations/${activeId}`, { contactId: String(ole.id), kind: 'privacy_notice', version: '', givenOn: '' }, `/board/gdpr/organisations/${activeId}/consents`);
    expect(res.status).to.equal(422);
    expect(res.text).to.contain('Bitte ein Datum angeben.');
  });

  it('lists nobody for anonymisation before the retention period has passed', async () => {
    env.clock.set('2027-12-31T12:00:00Z'); // exit 31.12.2026 + 1 year: the last day data is kept
    const page = await board.get('/board/gdpr');
    expect(page.text).to.contain('Derzeit ist keine Anonymisierung fällig.');
    expect(await env.ctx.gdpr.anonymise({ userId: null, label: 'test' }, [formerId])).to.deep.include({ organisations: 0 });
    expect((await env.db('contacts').where({ organisation_id: formerId }).first())!.name).to.equal('Sabine Krüger');
  });

  it('previews and then anonymises a former member after the retention period, keeping name and number (the address stays on the invoices only)', async () => {
    env.clock.set('2028-01-01T12:00:00Z');
    const page = await board.get('/board/gdpr');
    expect(page.text).to.contain('1 Organisation ist zur Anonymisierung fällig');
    expect(page.text).to.contain('Oker Spezialgase GmbH');
    expect(page.text).to.contain('31.12.2027');
    expect(page.text).not.to.contain('Seesen Biopolymere');
    expect(await env.db('contacts').where({ name: 'Sabine Krüger' }).first())!.to.not.equal(undefined); // preview changes nothing

    const res = await board.submit('/board/gdpr', { ids: String(formerId) }, '/board/gdpr/anonymise');
    expect(res.status).to.equal(303);
    const contacts = await env.db('contacts').where({ organisation_id: formerId });
    for (const c of contacts) expect(c).to.include({ name: 'anonymisiert', email: '', phone: '', position: '', user_id: null });
    // the register's contact search no longer finds the organisation by the old contact name
    const search = await board.get('/board/members?q=Sabine%20Kr%C3%BCger&status=former');
    expect(search.status).to.equal(200);
    expect(search.text).not.to.contain('Oker Spezialgase GmbH');
    const org = (await env.db('organisations').where({ id: formerId }).first())!;
    expect(org).to.include({ legal_name: 'Oker Spezialgase GmbH', street: '', member_number: 1 });
    const users = await env.db('users').where('email', 'like', 'anonymised-%');
    expect(users).to.have.length(2);
    for (const u of users) expect(Number(u.disabled)).to.equal(1);
    expect(await env.db('users').where({ email: 's.krueger@oker.example' }).first()).to.equal(undefined);
    expect(await env.db('mail_messages').where('to_address', 'like', '%oker.example').first()).to.equal(undefined);
    const mails = await env.db('mail_messages').where({ related_type: 'organisation', related_id: formerId });
    expect(mails).to.have.length(2);
    for (const m of mails) expect(m).to.include({ status: 'failed', text_body: '', html_body: '' }); // the unsent invitations will never go out
    expect(Number((await env.db('consent_records').where({ contact_id: contacts[0].id }).count({ n: '*' }).first())!.n)).to.equal(2); // proof kept
    const audit = (await env.db('audit_log').where({ action: 'gdpr.anonymised', entity_id: formerId }).first())!;
    expect(JSON.parse(audit.after!)).to.deep.equal({ contacts: 2, usersDisabled: 2 });
    // the active member is untouched and nothing is due any more
    expect(await env.db('contacts').where({ name: 'Ole Sørensen' }).first())!.to.include({ email: 'o.sorensen@seesen.example' });
    const after = await board.get('/board/gdpr');
    expect(after.text).to.contain('Derzeit ist keine Anonymisierung fällig.');
    expect(after.text).to.contain('Zuletzt anonymisiert');
    const data = await board.get(`/board/gdpr/organisations/${formerId}`);
    expect(data.text).to.contain('Die personenbezogenen Daten wurden am');
    expect(data.text).not.to.contain('Sabine');
  });
});
