import { expect } from 'chai';
import request from 'supertest';
import { createTestEnv, type TestEnv, type MemoryTransport } from '../helpers/context.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { Browser } from '../helpers/http.ts';
import { DAY_MS } from '../../server/clock.ts';
import { apply, linkInMail, openForm, submitAndConfirm, validForm } from './applications.fixtures.ts';

/** The `<label>` of a field with its input and error (the field partial keeps them together). */
function fieldHtml(html: string, name: string): string {
  const start = html.indexOf(`<label for="f-${name}"`);
  if (start < 0) throw new Error(`no field ${name}`);
  return html.slice(start, html.indexOf('</label>', start));
}

describe('applications: the public form, double opt-in and spam guards', () => {
  let env: TestEnv;
  let cats: Record<string, number>;
  before(async () => {
    env = await createTestEnv();
    cats = await makeCategories(env.ctx);
    await makeUser(env.ctx, 'vorstand@verein.example', ['board'], 'Vera Vorstand');
  });
  after(async () => env.close());

  const count = async () => Number((await env.db('applications').count({ n: '*' }))[0].n);

  it('shows the form in German by default and in English one click away', async () => {
    const de = await request(env.app).get('/apply');
    expect(de.status).to.equal(200);
    expect(de.text).to.contain('<html lang="de">');
    expect(de.text).to.contain('<h1>Aufnahmeantrag</h1>');
    expect(de.text).to.contain('href="/apply?lang=en"');
    // the categories open to applicants, not the honorary one
    expect(de.text).to.contain('>Unternehmen</option>');
    expect(de.text).not.to.contain('Ehrenmitglied');
    // Germany preselected; links to the bylaws and the privacy notice (with its version)
    expect(de.text).to.match(/<option value="DE" selected>Deutschland<\/option>/);
    expect(de.text).to.contain('href="/documents/satzung"');
    expect(de.text).to.contain('href="/privacy"');
    expect(de.text).to.contain('Fassung 2026-01');
    // three fixed fieldsets for further contacts, no script needed
    for (const n of [1, 2, 3]) expect(de.text).to.contain(`name="other${n}_email"`);
    expect(de.text).not.to.match(/<script/);
    // the honeypot is hidden from people and from the tab order
    expect(de.text).to.match(/<div class="hp-field" aria-hidden="true">[\s\S]*?name="website_confirm"[^>]*tabindex="-1"/);

    const en = await request(env.app).get('/apply?lang=en');
    expect(en.text).to.contain('<html lang="en">');
    expect(en.text).to.contain('<h1>Membership application</h1>');
    expect(en.text).to.contain('>Company</option>');
    expect(en.text).to.match(/<option value="DE" selected>Germany<\/option>/);
  });

  it('shows per-field errors in German next to each field and keeps the input, including checkboxes', async () => {
    const res = await apply(env.app, validForm(cats.company, {
      legal_name: '',
      postcode: '3864',
      vat_id: 'DE626018159',
      rep_email: 'keine-adresse',
      rep_phone: 'call me',
      consent_bylaws: '',
      consent_email: 'yes',
      city: 'Clausthal-Zellerfeld',
      other1_name: 'Jörg Büttner',
    }));
    expect(res.status).to.equal(422);
    const html = res.text;
    expect(html).to.contain('Bitte prüfen Sie die markierten Felder.');
    expect(fieldHtml(html, 'legal_name')).to.contain('aria-invalid="true"').and.to.contain('Bitte ausfüllen.');
    expect(fieldHtml(html, 'postcode')).to.contain('Eine deutsche Postleitzahl hat fünf Ziffern.').and.to.contain('value="3864"');
    expect(fieldHtml(html, 'vat_id')).to.contain('Die Prüfziffer dieser deutschen USt-IdNr. stimmt nicht').and.to.contain('value="DE626018159"');
    expect(fieldHtml(html, 'rep_email')).to.contain('Bitte eine gültige E-Mail-Adresse angeben').and.to.contain('value="keine-adresse"');
    expect(fieldHtml(html, 'rep_phone')).to.contain('gültige Telefonnummer');
    // a further contact given in part: its e-mail address is missing
    expect(fieldHtml(html, 'other1_email')).to.contain('Bitte ausfüllen.');
    expect(fieldHtml(html, 'other1_name')).to.contain('value="Jörg Büttner"');
    expect(html).to.match(/id="f-consent_bylaws"[^>]*aria-invalid="true"/);
    expect(html).to.contain('Ohne diese Zustimmung können wir den Antrag nicht annehmen.');
    // valid input is kept as typed, checkboxes stay ticked, the select keeps its choice
    expect(fieldHtml(html, 'city')).to.contain('value="Clausthal-Zellerfeld"').and.not.to.contain('aria-invalid');
    expect(html).to.match(/id="f-consent_email"[^>]*checked/);
    expect(html).to.match(/id="f-consent_privacy"[^>]*checked/);
    expect(html).not.to.match(/id="f-consent_bylaws"[^>]*checked/);
    expect(html).to.match(new RegExp(`<option value="${cats.company}" selected>`));
    expect(html).to.match(/value="50-249" checked/);
    expect(await count()).to.equal(0);
  });

  it('answers an empty form with an error at every required field', async () => {
    const browser = new Browser(env.app);
    const { csrf } = await openForm(browser);
    const res = await browser.agent.post('/apply').type('form').send({ _csrf: csrf });
    expect(res.status).to.equal(422);
    for (const f of ['legal_name', 'legal_form', 'street', 'postcode', 'city', 'field_of_activity', 'contribution', 'rep_name', 'rep_position', 'rep_email', 'rep_phone']) {
      expect(fieldHtml(res.text, f), f).to.contain('aria-invalid="true"').and.to.contain('Bitte ausfüllen.');
    }
    expect(fieldHtml(res.text, 'category_id')).to.contain('Bitte eine der Möglichkeiten wählen.');
    expect(res.text).to.match(/id="e-employee_band" class="field-error">Bitte eine der Möglichkeiten wählen\./);
    // optional fields carry no error
    for (const f of ['website', 'vat_id', 'billing_email', 'other1_email']) expect(fieldHtml(res.text, f), f).not.to.contain('aria-invalid');
    // a fresh submission key is issued so the corrected form can still be sent
    expect(res.text).to.match(/name="submission_key" value="[A-Za-z0-9_-]{20,}"/);
    expect(await count()).to.equal(0);
  });

  it('shows the errors in English when the form is used in English', async () => {
    const res = await apply(env.app, validForm(cats.company, { street: '', postcode: '1', vat_id: 'XX123', category_id: String(cats.honorary), consent_privacy: '' }), { lang: 'en' });
    expect(res.status).to.equal(422);
    expect(res.text).to.contain('<html lang="en">');
    expect(res.text).to.contain('Please check the marked fields.');
    expect(fieldHtml(res.text, 'street')).to.contain('Please fill this in.');
    expect(fieldHtml(res.text, 'postcode')).to.contain('A German postcode has five digits.');
    expect(fieldHtml(res.text, 'vat_id')).to.contain('This VAT ID does not have the right format');
    // a category not open to applicants cannot be chosen by editing the request
    expect(fieldHtml(res.text, 'category_id')).to.contain('Please choose one of the options.');
    expect(res.text).to.contain('We cannot accept the application without this consent.');
    expect(await count()).to.equal(0);
  });

  it('checks postcodes by country: five digits in Germany, 2–10 characters elsewhere', async () => {
    const bad = await apply(env.app, validForm(cats.company, { country: 'AT', postcode: 'X' }));
    expect(bad.status).to.equal(422);
    expect(fieldHtml(bad.text, 'postcode')).to.contain('Bitte eine gültige Postleitzahl angeben.');
    const ok = await apply(env.app, validForm(cats.company, { country: 'NL', postcode: '1012 AB', rep_email: 'nl@example.nl', vat_id: 'NL123456789B01' }));
    expect(ok.status).to.equal(303);
    const row = (await env.db('applications').orderBy('id', 'desc').first())!;
    expect(row.country).to.equal('NL');
    expect(row.postcode).to.equal('1012 AB');
    expect(row.vat_id).to.equal('NL123456789B01');
    expect(row.website).to.equal('https://www.harzer-feinchemie.example');
  });

  it('stores Unicode names exactly and records the consents with the privacy notice version', async () => {
    const res = await apply(env.app, validForm(cats.research, {
      legal_name: 'Müller & Söhne GmbH',
      city: 'Łódź',
      country: 'PL',
      postcode: '90-001',
      rep_name: '山田 太郎 (株式会社)',
      rep_email: 'Yamada@Example.JP',
      billing_email: 'accounting@mueller-soehne.example',
      consent_email: '',
      vat_id: 'de 626 018 158',
    }));
    expect(res.status).to.equal(303);
    const row = (await env.db('applications').orderBy('id', 'desc').first())!;
    expect(row.legal_name).to.equal('Müller & Söhne GmbH');
    expect(row.city).to.equal('Łódź');
    expect(row.vat_id).to.equal('DE626018158');
    expect(row.status).to.equal('unconfirmed');
    expect(row.reference).to.match(/^A-2026-\d{4}$/);
    expect(row.privacy_version).to.equal('2026-01');
    expect(row.consent_privacy_at).to.equal('2026-11-25T09:00:00.000Z');
    expect(Number(row.consent_email_invitations)).to.equal(0);
    const contacts = await env.db('application_contacts').where({ application_id: row.id }).orderBy('sort_order');
    expect(contacts.map((c) => [c.role, c.name, c.email])).to.deep.equal([
      ['representative', '山田 太郎 (株式会社)', 'yamada@example.jp'],
      ['billing', '', 'accounting@mueller-soehne.example'],
    ]);
  });

  it('pretends success when the honeypot is filled, but stores and sends nothing', async () => {
    const before = await count();
    const mailsBefore = (await env.db('mail_messages').count({ n: '*' }))[0].n;
    const res = await apply(env.app, validForm(cats.company, { website_confirm: 'http://spam.example', rep_email: 'bot@spam.example' }));
    expect(res.status).to.equal(303);
    expect(res.headers.location).to.equal('/apply/submitted');
    expect(await count()).to.equal(before);
    expect((await env.db('mail_messages').count({ n: '*' }))[0].n).to.equal(mailsBefore);
  });

  it('creates one application for a double submission (double click, back button, two at once)', async () => {
    const before = await count();
    const browser = new Browser(env.app);
    const { csrf, key } = await openForm(browser);
    const form = { ...validForm(cats.company, { rep_email: 'doppelt@firma.example' }), submission_key: key, _csrf: csrf };
    const first = await browser.agent.post('/apply').type('form').send(form);
    const second = await browser.agent.post('/apply').type('form').send(form);
    expect(first.status).to.equal(303);
    expect(second.status).to.equal(303);
    expect(second.headers.location).to.equal(first.headers.location);
    const page = await browser.get(second.headers.location);
    expect(page.text).to.contain('Bitte prüfen Sie Ihr E-Mail-Postfach');
    expect(await count()).to.equal(before + 1);
    expect(await env.ctx.outbox.forRecipient('doppelt@firma.example')).to.have.length(1);

    // two requests with the same key racing each other
    const b2 = new Browser(env.app);
    const f2 = await openForm(b2);
    const form2 = { ...validForm(cats.company, { rep_email: 'zugleich@firma.example' }), submission_key: f2.key, _csrf: f2.csrf };
    const results = await Promise.all([1, 2, 3].map(() => b2.agent.post('/apply').type('form').send(form2)));
    expect(results.map((r) => r.status)).to.deep.equal([303, 303, 303]);
    expect(await count()).to.equal(before + 2);
  });

  it('confirms through the e-mail link: GET shows a button, only POST confirms; the board is told', async () => {
    const res = await apply(env.app, validForm(cats.company, { legal_name: 'Okertal Recycling GmbH', rep_email: 'j.buettner@okertal.example', rep_name: 'Jörg Büttner' }));
    expect(res.status).to.equal(303);
    const app = (await env.db('applications').orderBy('id', 'desc').first())!;
    const [mail] = await env.ctx.outbox.forRecipient('j.buettner@okertal.example');
    expect(mail.locale).to.equal('de');
    expect(mail.subject).to.contain('Bitte bestätigen Sie Ihren Aufnahmeantrag');
    expect(mail.text).to.contain('Guten Tag Jörg Büttner,');
    expect(mail.text).to.contain(app.reference);
    const path = await linkInMail(env, 'j.buettner@okertal.example', '/apply/confirm/');

    // a mail scanner's GET does not confirm
    const view = await request(env.app).get(path);
    expect(view.status).to.equal(200);
    expect(view.text).to.contain('Antrag jetzt bestätigen');
    expect((await env.db('applications').where({ id: app.id }).first())!.status).to.equal('unconfirmed');

    const b = new Browser(env.app);
    const confirmed = await b.submit(path, {});
    expect(confirmed.status).to.equal(303);
    expect(confirmed.headers.location).to.equal('/apply/confirmed');
    const page = await b.get('/apply/confirmed');
    expect(page.text).to.contain('Ihr Antrag ist beim Vorstand eingegangen');
    expect(page.text).to.contain(`Ihr Antrag ${app.reference} ist beim Vorstand eingegangen.`);
    const after = (await env.db('applications').where({ id: app.id }).first())!;
    expect(after.status).to.equal('submitted');
    expect(after.confirmed_at).to.equal('2026-11-25T09:00:00.000Z');

    // the board hears of it at the association's contact address
    const [notice] = await env.ctx.outbox.forRecipient('vorstand@example.org');
    expect(notice.subject).to.contain(app.reference).and.to.contain('Okertal Recycling GmbH');
    expect(notice.text).to.contain(`/board/applications/${app.id}`);
    await env.ctx.outbox.flush();
    expect((env.transport as MemoryTransport).sent.some((m) => m.to === 'vorstand@example.org' && m.subject.includes(app.reference))).to.equal(true);

    // the link works once: again it says so and offers a new one
    const again = await b.agent.post(path).type('form').send({ _csrf: Browser.csrfFrom((await b.get('/apply')).text) });
    expect(again.status).to.equal(410);
    expect(again.text).to.contain('Link bereits verwendet');
    expect(Number((await env.db('applications').where({ id: app.id }).first())!.version)).to.equal(Number(after.version));
    const reused = await request(env.app).get(path);
    expect(reused.status).to.equal(410);
    expect(reused.text).to.contain('Link bereits verwendet');
    expect(reused.text).to.contain('href="/apply/resend"');

    const audit = await env.db('audit_log').where({ entity_type: 'application', entity_id: app.id }).orderBy('id');
    expect(audit.map((a) => [a.action, a.actor_label, a.actor_user_id])).to.deep.equal([
      ['application.submitted', 'applicant', null],
      ['application.confirmed', 'applicant', null],
    ]);
  });

  it('says when a link has expired and sends a new one on request (same answer for unknown addresses)', async () => {
    await apply(env.app, validForm(cats.company, { legal_name: 'Spät GmbH', rep_email: 'spaet@firma.example' }), { lang: 'en' });
    const app = (await env.db('applications').orderBy('id', 'desc').first())!;
    expect(app.locale).to.equal('en');
    const [mail] = await env.ctx.outbox.forRecipient('spaet@firma.example');
    expect(mail.subject).to.contain('Please confirm your membership application');
    const path = await linkInMail(env, 'spaet@firma.example', '/apply/confirm/');
    const b = new Browser(env.app);
    const form = await b.get(path);
    expect(form.status).to.equal(200);

    env.clock.advance(7 * DAY_MS + 60_000);
    const expired = await b.get(path);
    expect(expired.status).to.equal(410);
    expect(expired.text).to.contain('Link abgelaufen');
    expect(expired.text).to.contain('href="/apply/resend"');
    const posted = await b.agent.post(path).type('form').send({ _csrf: Browser.csrfFrom(form.text) });
    expect(posted.status).to.equal(410);
    expect((await env.db('applications').where({ id: app.id }).first())!.status).to.equal('unconfirmed');

    // unknown address: the same answer, no mail
    const mailsBefore = Number((await env.db('mail_messages').count({ n: '*' }))[0].n);
    const unknown = await b.submit('/apply/resend', { email: 'niemand@nirgends.example' });
    expect(unknown.status).to.equal(303);
    expect(Number((await env.db('mail_messages').count({ n: '*' }))[0].n)).to.equal(mailsBefore);
    const known = await b.submit('/apply/resend', { email: 'SPAET@firma.example' });
    expect(known.headers.location).to.equal(unknown.headers.location);
    const sentPage = await b.get(known.headers.location);
    expect(sentPage.text).to.contain('Wenn zu dieser Adresse ein noch nicht bestätigter Antrag vorliegt');

    const mails = await env.ctx.outbox.forRecipient('spaet@firma.example');
    expect(mails).to.have.length(2);
    expect(mails[0].locale).to.equal('en'); // the application's language
    const fresh = await linkInMail(env, 'spaet@firma.example', '/apply/confirm/');
    expect(fresh).not.to.equal(path);
    const ok = await new Browser(env.app).submit(fresh, {});
    expect(ok.status).to.equal(303);
    expect((await env.db('applications').where({ id: app.id }).first())!.status).to.equal('submitted');
    env.clock.set('2026-11-25T09:00:00Z');
  });

  it('answers an unknown link with a clear page', async () => {
    const res = await request(env.app).get('/apply/confirm/this-is-not-a-valid-token-at-all');
    expect(res.status).to.equal(404);
    expect(res.text).to.contain('Link ungültig');
    expect(res.text).to.contain('href="/apply/resend"');
  });

  it('shows only confirmed applications in the board queue by default; unconfirmed ones under their own filter', async () => {
    await apply(env.app, validForm(cats.company, { legal_name: 'Noch Unbestätigt AG', rep_email: 'unbestaetigt@firma.example' }));
    const confirmedId = await submitAndConfirm(env, validForm(cats.company, { legal_name: 'Bestätigt KG', rep_email: 'bestaetigt@firma.example' }));
    const board = new Browser(env.app);
    await board.login('vorstand@verein.example', PASSWORD);
    const queue = await board.get('/board/applications');
    expect(queue.status).to.equal(200);
    expect(queue.text).to.contain('Bestätigt KG');
    expect(queue.text).to.contain(`href="/board/applications/${confirmedId}"`);
    expect(queue.text).not.to.contain('Noch Unbestätigt AG');
    const unconfirmed = await board.get('/board/applications?status=unconfirmed');
    expect(unconfirmed.text).to.contain('Noch Unbestätigt AG');
    expect(unconfirmed.text).not.to.contain('Bestätigt KG');
    // counts per status in the tabs
    const n = Number((await env.db('applications').where({ status: 'unconfirmed' }).count({ n: '*' }))[0].n);
    expect(queue.text).to.match(new RegExp(`status=unconfirmed">Unbestätigt <span class="badge">${n}</span>`));
  });
});
