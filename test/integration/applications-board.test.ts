import { expect } from 'chai';
import request from 'supertest';
import { createTestEnv, type TestEnv, type MemoryTransport } from '../helpers/context.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { Browser } from '../helpers/http.ts';
import { DAY_MS } from '../../server/clock.ts';
import { apply, linkInMail, submitAndConfirm, validForm } from './applications.fixtures.ts';

describe('applications: the board queue, questions and decisions', () => {
  let env: TestEnv;
  let cats: Record<string, number>;
  let board: Browser;
  let boardId: number;
  let existingOrgId: number;

  before(async () => {
    env = await createTestEnv();
    cats = await makeCategories(env.ctx);
    boardId = await makeUser(env.ctx, 'vorstand@verein.example', ['board'], 'Vera Vorstand');
    await makeUser(env.ctx, 'zweite@verein.example', ['board'], 'Zora Zweite');
    await makeUser(env.ctx, 'kasse@verein.example', ['treasurer'], 'Karl Kasse');
    await makeUser(env.ctx, 'admin@verein.example', ['admin'], 'Ada Admin');
    // two members already in the register: numbers 1 and 2
    for (const [name, vat, postcode] of [['Harzer Spezialchemie GmbH', 'DE626018158', '38640'], ['Innerste Pigmente AG', '', '38685']]) {
      const r = await env.db.transaction((trx) => env.ctx.members.createOrganisation(trx, { userId: null, label: 'test' }, {
        legalName: name, legalForm: 'GmbH', street: 'Industriestraße 1', postcode, city: 'Goslar', country: 'DE', website: '', registerEntry: '',
        vatId: vat, fieldOfActivity: 'Chemie', employeeBand: '250+', categoryId: cats.company, joinDate: '2015-03-01',
      }, [], { invite: false, welcome: false }));
      if (name.startsWith('Harzer')) existingOrgId = r.organisationId;
    }
    await makeUser(env.ctx, 'mitglied@harzer.example', ['member'], 'Mia Mitglied');
    board = new Browser(env.app);
    await board.login('vorstand@verein.example', PASSWORD);
  });
  after(async () => env.close());

  async function post(browser: Browser, id: number, action: string, data: Record<string, string>) {
    return browser.submit(`/board/applications/${id}`, data, `/board/applications/${id}/${action}`);
  }
  const appRow = async (id: number) => (await env.db('applications').where({ id }).first())!;

  it('lets only the board in: anonymous to the login page, member, treasurer and admin get 403', async () => {
    const id = await submitAndConfirm(env, validForm(cats.company, { legal_name: 'Zugriff GmbH', rep_email: 'zugriff@firma.example' }));
    const anon = await request(env.app).get('/board/applications');
    expect(anon.status).to.equal(303);
    expect(anon.headers.location).to.equal('/login');
    expect((await request(env.app).get(`/board/applications/${id}`)).headers.location).to.equal('/login');
    expect((await request(env.app).post(`/board/applications/${id}/approve`)).status).to.be.oneOf([303, 403]);
    for (const email of ['mitglied@harzer.example', 'kasse@verein.example', 'admin@verein.example']) {
      const b = new Browser(env.app);
      await b.login(email, PASSWORD);
      expect((await b.get('/board/applications')).status, email).to.equal(403);
      const detail = await b.get(`/board/applications/${id}`);
      expect(detail.status, email).to.equal(403);
      expect(detail.text).not.to.contain('Zugriff GmbH');
      const csrf = Browser.csrfFrom((await b.get('/')).text);
      const res = await b.agent.post(`/board/applications/${id}/approve`).type('form')
        .send({ _csrf: csrf, version: '2', approve_resolution_ref: 'X', approve_join_date: '2026-11-25', approve_category_id: String(cats.company) });
      expect(res.status, email).to.equal(403);
    }
    expect((await appRow(id)).status).to.equal('submitted');
    expect((await board.get(`/board/applications/${id}`)).status).to.equal(200);
  });

  it('flags possible duplicates (same VAT ID, same name and postcode as a member or an open application) without dropping them', async () => {
    const vatDup = await submitAndConfirm(env, validForm(cats.company, { legal_name: 'Ganz Anderer Name GmbH', vat_id: 'DE626018158', rep_email: 'vat@dup.example' }));
    const nameDup = await submitAndConfirm(env, validForm(cats.company, { legal_name: 'innerste  pigmente AG', postcode: '38685', rep_email: 'name@dup.example' }));
    const twinA = await submitAndConfirm(env, validForm(cats.company, { legal_name: 'Zwilling Analytik GmbH', postcode: '38678', rep_email: 'a@zwilling.example' }));
    const twinB = await submitAndConfirm(env, validForm(cats.company, { legal_name: 'Zwilling Analytik GmbH', postcode: '38678', rep_email: 'b@zwilling.example' }));
    const other = await submitAndConfirm(env, validForm(cats.company, { legal_name: 'Innerste Pigmente AG', postcode: '38640', rep_email: 'andere-plz@firma.example' }));

    const queue = await board.get('/board/applications');
    const rowOf = (id: number) => {
      const m = queue.text.match(new RegExp(`<tr>\\s*<td class="nowrap"><a href="/board/applications/${id}">[\\s\\S]*?</tr>`));
      expect(m, `row of ${id}`).to.not.equal(null);
      return m![0];
    };
    for (const id of [vatDup, nameDup, twinA, twinB]) expect(rowOf(id)).to.contain('mögliche Dublette');
    expect(rowOf(other)).not.to.contain('Dublette'); // same name, other postcode

    const detail = await board.get(`/board/applications/${vatDup}`);
    expect(detail.text).to.contain('Mögliche Dublette');
    expect(detail.text).to.contain(`href="/board/members/${existingOrgId}"`);
    expect(detail.text).to.contain('Mitglied M-0001');
    expect(detail.text).to.contain('gleiche USt-IdNr.');
    const twin = await board.get(`/board/applications/${twinA}`);
    expect(twin.text).to.contain(`href="/board/applications/${twinB}"`);
    expect(twin.text).to.contain('gleicher Name und gleiche Postleitzahl');
    const nd = await board.get(`/board/applications/${nameDup}`);
    expect(nd.text).to.contain('Mitglied M-0002');
  });

  it('keeps internal comments internal; a question goes to the applicant, whose answer (and corrections) return the application', async () => {
    const id = await submitAndConfirm(env, validForm(cats.company, { legal_name: 'Fragezeichen GmbH', rep_email: 'frage@firma.example', rep_name: 'Franz Frage' }), 'en');
    const mailsBefore = Number((await env.db('mail_messages').count({ n: '*' }))[0].n);
    const c = await post(board, id, 'comment', { comment_body: 'Kennt jemand die Firma? <b>intern</b>' });
    expect(c.status).to.equal(303);
    expect(Number((await env.db('mail_messages').count({ n: '*' }))[0].n)).to.equal(mailsBefore);
    const withComment = await board.get(`/board/applications/${id}`);
    expect(withComment.text).to.contain('Kennt jemand die Firma? &lt;b&gt;intern&lt;/b&gt;');
    expect(withComment.text).to.contain('Vera Vorstand');

    const empty = await post(board, id, 'question', { question_body: '  ' });
    expect(empty.status).to.equal(422);
    expect(empty.text).to.match(/id="f-question_body"[^>]*aria-invalid="true"/);

    const q = await post(board, id, 'question', { question_body: 'Wie viele Auszubildende haben Sie?' });
    expect(q.status).to.equal(303);
    expect((await appRow(id)).status).to.equal('info_requested');
    const [mail] = await env.ctx.outbox.forRecipient('frage@firma.example');
    expect(mail.locale).to.equal('en');
    expect(mail.subject).to.contain('A question about your membership application');
    expect(mail.text).to.contain('Wie viele Auszubildende haben Sie?');
    expect(mail.text).not.to.contain('Kennt jemand');
    const path = await linkInMail(env, 'frage@firma.example', '/apply/answer/');

    // the applicant's page: the question, never the internal comment, the data to correct
    const applicant = new Browser(env.app);
    const page = await applicant.get(`${path}?lang=en`);
    expect(page.status).to.equal(200);
    expect(page.text).to.contain('Wie viele Auszubildende haben Sie?');
    expect(page.text).not.to.contain('Kennt jemand');
    expect(page.text).to.contain('value="Fragezeichen GmbH"');

    const form = { legal_name: 'Fragezeichen Chemie GmbH', legal_form: 'GmbH', street: 'Neue Straße 1', postcode: '38640', city: 'Goslar', country: 'DE', website: '', register_entry: '', vat_id: '', field_of_activity: 'Chemie', employee_band: '1-49' };
    const invalid = await applicant.submit(path, { ...form, answer: '', postcode: '123' });
    expect(invalid.status).to.equal(422);
    expect(invalid.text).to.contain('Please fill this in.');
    expect(invalid.text).to.contain('A German postcode has five digits.');
    expect(invalid.text).to.contain('value="Fragezeichen Chemie GmbH"');

    const answered = await applicant.submit(path, { ...form, answer: 'Zwölf, dazu zwei duale Studenten.' });
    expect(answered.status).to.equal(303);
    expect(answered.headers.location).to.equal('/apply/answered');
    const row = await appRow(id);
    expect(row.status).to.equal('submitted');
    expect(row.legal_name).to.equal('Fragezeichen Chemie GmbH');
    expect(row.street).to.equal('Neue Straße 1');
    expect(row.employee_band).to.equal('1-49');
    const [notice] = await env.ctx.outbox.forRecipient('vorstand@example.org');
    expect(notice.subject).to.contain('Antwort auf Rückfrage');
    expect(notice.text).to.contain('Zwölf, dazu zwei duale Studenten.');

    // the link is used up
    const reused = await request(env.app).get(path);
    expect(reused.status).to.equal(410);
    expect(reused.text).to.contain('Link bereits verwendet');

    const detail = await board.get(`/board/applications/${id}`);
    expect(detail.text).to.contain('Zwölf, dazu zwei duale Studenten.');
    const audit = await env.db('audit_log').where({ entity_type: 'application', entity_id: id }).orderBy('id');
    expect(audit.map((a) => a.action)).to.deep.equal([
      'application.submitted', 'application.confirmed', 'application.commented', 'application.question_asked', 'application.answered',
    ]);
    expect(audit[2].actor_user_id).to.equal(boardId);
    expect(audit[4].actor_label).to.equal('applicant');
    expect(JSON.parse(audit[4].after!)).to.include({ legalName: 'Fragezeichen Chemie GmbH', status: 'submitted' });
  });

  it('approves: the organisation becomes a member with the next number, contacts get portal invitations and a welcome e-mail', async () => {
    const id = await submitAndConfirm(env, validForm(cats.company, {
      legal_name: 'Müller & Söhne <GmbH>',
      city: 'Langelsheim',
      postcode: '38685',
      vat_id: 'DE183016611',
      rep_name: 'Łukasz Müller',
      rep_email: 'l.mueller@mueller-soehne.example',
      billing_email: 'buchhaltung@mueller-soehne.example',
      other1_name: 'Sabine Söhne',
      other1_email: 's.soehne@mueller-soehne.example',
    }));
    const detail = await board.get(`/board/applications/${id}`);
    // markup in names is shown as text
    expect(detail.text).to.contain('Müller &amp; Söhne &lt;GmbH&gt;');
    expect(detail.text).not.to.contain('Söhne <GmbH>');
    expect(detail.text).to.contain('value="2026-11-25"'); // join date defaults to today (Berlin)

    const missing = await post(board, id, 'approve', { version: '2', approve_resolution_ref: '', approve_join_date: '2026-11-25', approve_category_id: String(cats.company) });
    expect(missing.status).to.equal(422);
    expect(missing.text).to.match(/id="f-approve_resolution_ref"[^>]*aria-invalid="true"/);
    expect((await appRow(id)).status).to.equal('submitted');

    const before = Number((await env.db('organisations').max({ m: 'member_number' }).first())!.m);
    await env.ctx.outbox.flush();
    (env.transport as MemoryTransport).sent.length = 0;
    const res = await post(board, id, 'approve', { version: '2', approve_resolution_ref: 'Vorstandsbeschluss 2027/03', approve_join_date: '2027-01-01', approve_category_id: String(cats.research) });
    expect(res.status).to.equal(303);
    const flashPage = await board.get(res.headers.location);
    expect(flashPage.text).to.contain(`Mitglied M-${String(before + 1).padStart(4, '0')}`);

    const row = await appRow(id);
    expect(row.status).to.equal('approved');
    expect(row.resolution_ref).to.equal('Vorstandsbeschluss 2027/03');
    expect(row.decided_by).to.equal(boardId);
    expect(row.decided_at).to.equal('2026-11-25T09:00:00.000Z');
    const org = (await env.db('organisations').where({ id: row.organisation_id! }).first())!;
    expect(org.member_number).to.equal(before + 1);
    expect(org.legal_name).to.equal('Müller & Söhne <GmbH>');
    expect(org.category_id).to.equal(cats.research);
    expect(org.join_date).to.equal('2027-01-01');
    expect(org.vat_id).to.equal('DE183016611');
    expect(org.application_id).to.equal(id);
    const contacts = await env.db('contacts').where({ organisation_id: org.id }).orderBy('id');
    expect(contacts.map((c) => [c.email, !!c.is_representative, !!c.is_billing])).to.deep.equal([
      ['l.mueller@mueller-soehne.example', true, false],
      ['buchhaltung@mueller-soehne.example', false, true],
      ['s.soehne@mueller-soehne.example', false, false],
    ]);
    for (const c of contacts) {
      expect(c.user_id, c.email).to.be.a('number');
      const roles = await env.db('user_roles').where({ user_id: c.user_id! }).pluck('role');
      expect(roles).to.deep.equal(['member']);
    }

    // the consents given in the application are recorded for each contact (GDPR records)
    for (const c of contacts) {
      const kinds = await env.db('consent_records').where({ contact_id: c.id }).orderBy('kind').pluck('kind');
      expect(kinds, c.email).to.deep.equal(['email_invitations', 'privacy_notice']);
    }

    await env.ctx.outbox.flush();
    const sent = (env.transport as MemoryTransport).sent;
    for (const c of contacts) {
      const m = sent.find((x) => x.to === c.email);
      expect(m, c.email).to.not.equal(undefined);
      expect(m!.subject).to.contain('Willkommen');
      expect(m!.text).to.contain(`M-${String(before + 1).padStart(4, '0')}`);
      expect(m!.text).to.match(/\/welcome\/[A-Za-z0-9_-]{20,}/);
    }
    // the set-password link works
    const link = sent.find((x) => x.to === 'l.mueller@mueller-soehne.example')!.text.match(/https?:\/\/[^/\s]+(\/welcome\/[A-Za-z0-9_-]+)/)![1];
    expect((await request(env.app).get(link)).status).to.equal(200);

    const detailAfter = await board.get(`/board/applications/${id}`);
    expect(detailAfter.text).to.contain('Vorstandsbeschluss 2027/03');
    expect(detailAfter.text).to.contain(`href="/board/members/${org.id}"`);
    expect(detailAfter.text).not.to.contain(`/board/applications/${id}/approve`); // decided: no decision forms
    const audit = (await env.db('audit_log').where({ entity_type: 'application', entity_id: id, action: 'application.approved' }).first())!;
    expect(audit.actor_user_id).to.equal(boardId);
    expect(JSON.parse(audit.after!)).to.include({ resolutionRef: 'Vorstandsbeschluss 2027/03', memberNumber: before + 1 });
  });

  it('two board members approving at once create exactly one member and skip no member number', async () => {
    const id = await submitAndConfirm(env, validForm(cats.company, { legal_name: 'Gleichzeitig GmbH', rep_email: 'gleich@zeitig.example' }));
    const second = new Browser(env.app);
    await second.login('zweite@verein.example', PASSWORD);
    const pages = [await board.get(`/board/applications/${id}`), await second.get(`/board/applications/${id}`)];
    const version = pages[0].text.match(/name="version" value="(\d+)"/)![1];
    const data = { version, approve_resolution_ref: 'VB 2027/04', approve_join_date: '2026-12-01', approve_category_id: String(cats.company) };
    const [r1, r2] = await Promise.all([board, second].map((b, i) =>
      b.agent.post(`/board/applications/${id}/approve`).type('form').send({ ...data, _csrf: Browser.csrfFrom(pages[i].text) })));
    expect([r1.status, r2.status].sort()).to.deep.equal([303, 409]);
    const conflict = r1.status === 409 ? r1 : r2;
    expect(conflict.text).to.contain('Bereits entschieden');
    expect(conflict.text).to.contain(`href="/board/applications/${id}"`);
    const orgs = await env.db('organisations').where({ application_id: id });
    expect(orgs).to.have.length(1);
    expect(Number((await env.db('audit_log').where({ entity_id: id, action: 'application.approved' }).count({ n: '*' }))[0].n)).to.equal(1);

    // the next approval gets the next number: no gap
    const next = await submitAndConfirm(env, validForm(cats.company, { legal_name: 'Danach GmbH', rep_email: 'danach@firma.example' }));
    expect((await post(board, next, 'approve', { ...data, version: '2' })).status).to.equal(303);
    const numbers = (await env.db('organisations').orderBy('member_number').pluck('member_number')).map(Number);
    expect(numbers).to.deep.equal(numbers.map((_, i) => i + 1));
  });

  it('rejects with a resolution reference and sends a polite e-mail in the applicant language', async () => {
    const id = await submitAndConfirm(env, validForm(cats.company, { legal_name: 'Absage Ltd', country: 'GB', postcode: 'SW1A 1AA', rep_email: 'no@absage.example', rep_name: 'Alice Smith' }), 'en');
    const res = await post(board, id, 'reject', { version: '2', reject_resolution_ref: 'Vorstandsbeschluss 2027/05', reject_reason: 'Der Sitz liegt außerhalb des Vereinsgebiets.' });
    expect(res.status).to.equal(303);
    const row = await appRow(id);
    expect(row.status).to.equal('rejected');
    expect(row.resolution_ref).to.equal('Vorstandsbeschluss 2027/05');
    expect(row.decision_reason).to.equal('Der Sitz liegt außerhalb des Vereinsgebiets.');
    expect(await env.db('organisations').where({ application_id: id }).first()).to.equal(undefined);
    await env.ctx.outbox.flush();
    const mail = (env.transport as MemoryTransport).sent.find((m) => m.to === 'no@absage.example' && m.subject.includes('Your membership application'));
    expect(mail).to.not.equal(undefined);
    expect(mail!.text).to.contain('Dear Alice Smith,\n\nThank you for the interest');
    expect(mail!.text).to.contain('regrets that it cannot accept');
    expect(mail!.text).to.contain('Der Sitz liegt außerhalb des Vereinsgebiets.');
    // a second decision on a decided application is refused
    const again = await post(board, id, 'approve', { version: '3', approve_resolution_ref: 'X', approve_join_date: '2026-12-01', approve_category_id: String(cats.company) });
    expect(again.status).to.equal(409);
    expect((await appRow(id)).status).to.equal('rejected');
    const rejected = await board.get('/board/applications?status=rejected');
    expect(rejected.text).to.contain('Absage Ltd');
  });

  it('marks an application withdrawn on request', async () => {
    const id = await submitAndConfirm(env, validForm(cats.company, { legal_name: 'Rückzug GmbH', rep_email: 'rueck@zug.example' }));
    const res = await post(board, id, 'withdraw', { version: '2', withdraw_note: 'Telefonisch am 24.11. zurückgezogen.' });
    expect(res.status).to.equal(303);
    expect((await appRow(id)).status).to.equal('withdrawn');
    const audit = (await env.db('audit_log').where({ entity_id: id, action: 'application.withdrawn' }).first())!;
    expect(audit.actor_label).to.equal('Vera Vorstand');
  });

  it('deletes rejected and withdrawn applications after the retention period, unconfirmed ones after 30 days', async () => {
    const keepApproved = await env.db('applications').where({ status: 'approved' }).pluck('id');
    const rejected = await env.db('applications').whereIn('status', ['rejected', 'withdrawn']).pluck('id');
    expect(rejected.length).to.be.greaterThan(1);
    await apply(env.app, validForm(cats.company, { legal_name: 'Nie Bestätigt GmbH', rep_email: 'nie@firma.example' }));
    const unconfirmed = await env.db('applications').where({ status: 'unconfirmed' }).pluck('id');
    const open = await env.db('applications').whereIn('status', ['submitted', 'info_requested']).pluck('id');

    env.clock.advance(29 * DAY_MS);
    expect((await env.ctx.applications.purgeExpired()).deleted).to.equal(0);

    env.clock.advance(2 * DAY_MS); // 31 days: unconfirmed ones go
    expect((await env.ctx.applications.purgeExpired()).deleted).to.equal(unconfirmed.length);
    expect(await env.db('applications').whereIn('id', unconfirmed)).to.have.length(0);
    expect(await env.db('application_contacts').whereIn('application_id', unconfirmed)).to.have.length(0);

    env.clock.set('2027-05-24T09:00:00Z'); // just under 6 months after the decisions
    expect((await env.ctx.applications.purgeExpired()).deleted).to.equal(0);
    env.clock.set('2027-05-26T09:00:00Z');
    expect((await env.ctx.applications.purgeExpired()).deleted).to.equal(rejected.length);
    expect(await env.db('applications').whereIn('id', rejected)).to.have.length(0);
    // approved and still open applications stay
    expect(await env.db('applications').whereIn('id', [...keepApproved, ...open])).to.have.length(keepApproved.length + open.length);
    const purged = await env.db('audit_log').where({ action: 'application.purged' }).pluck('entity_id');
    expect(purged.map(Number).sort()).to.deep.equal([...unconfirmed, ...rejected].map(Number).sort());
    env.clock.set('2026-11-25T09:00:00Z');
  });
});
