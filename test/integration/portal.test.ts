import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { loadResources } from '../../server/i18n/i18n.ts';
import { ACTOR, BOARD_EMAIL, loginAs, makeWorld, post, visible, type World } from './portal.fixtures.ts';

const eur = (s: string) => `${s}\u00a0€`;

describe('member portal: the organisation, its contacts, documents and language', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let w: World;
  let anna: Browser;

  before(async () => {
    env = await createTestEnv();
    w = await makeWorld(env);
    anna = await loginAs(env, 'anna@harzer.example');
  });
  after(async () => env.close());

  it('shows the own organisation: member number, category, status, join date, address, VAT ID, website, contacts with roles and links', async () => {
    const res = await anna.get('/portal');
    expect(res.status).to.equal(200);
    const text = visible(res.text);
    expect(text).to.contain('Harzer Spezialchemie GmbH');
    const org = (await env.ctx.members.get(w.orgA))!;
    expect(text).to.contain(org.memberNo);
    expect(text).to.contain('Unternehmen');
    expect(text).to.contain('stimmberechtigt');
    expect(text).to.contain('aktiv');
    expect(text).to.contain('01.03.2015');
    expect(text).to.contain('Am Rammelsberg 12');
    expect(text).to.contain('38640 Goslar');
    expect(text).to.contain('DE626018158');
    expect(text).to.contain('Amtsgericht Braunschweig HRB 1');
    expect(text).to.contain('50–249 Beschäftigte');
    expect(res.text).to.contain('href="https://example.org"');
    // contacts with their roles
    expect(text).to.match(/Anna Adler \(Sie\).*Stimmberechtigte Vertretung/);
    expect(text).to.match(/Bernd Buch.*Rechnungsempfang/);
    // navigation to the other portal pages
    for (const href of ['/portal/invoices', '/portal/assemblies', '/portal/documents', '/portal/account', '/portal/organisation', '/portal/contacts/new']) {
      expect(res.text).to.contain(`href="${href}"`);
    }
    // never the other organisation
    expect(text).not.to.contain('Okertal');
    expect(text).not.to.contain('carla@okertal.example');
    // the linked pages work for the member
    for (const href of ['/portal/invoices', '/portal/assemblies', '/portal/documents', '/portal/account']) {
      expect((await anna.get(href)).status, href).to.equal(200);
    }
  });

  it('edits a contact through the register: audited with the member as actor and visible on the register detail', async () => {
    const form = await anna.get(`/portal/contacts/${w.c.bernd}/edit`);
    expect(form.status).to.equal(200);
    expect(form.text).to.contain('value="bernd@harzer.example"');
    const res = await post(anna, `/portal/contacts/${w.c.bernd}/edit`, {
      name: 'Bernd Buch', position: 'Leitung Buchhaltung', email: 'bernd@harzer.example', phone: '05321 9876', locale: 'en',
      isBilling: 'yes', consentEmailInvitations: 'yes', version: '1',
    }, `/portal/contacts/${w.c.bernd}/edit`);
    expect(res.status).to.equal(303);
    const after = await anna.get(res.headers.location);
    expect(after.text).to.contain('Die Kontaktperson wurde gespeichert.');
    const c = await env.ctx.members.contact(w.orgA, w.c.bernd);
    expect(c).to.include({ position: 'Leitung Buchhaltung', phone: '05321 9876', isBilling: true, version: 2, isRepresentative: false });
    const audit = (await env.db('audit_log').where({ action: 'contact.updated', entity_type: 'contact', entity_id: w.c.bernd }).orderBy('id', 'desc').first())!;
    expect(audit.actor_label).to.equal('Anna Adler');
    expect(Number(audit.actor_user_id)).to.equal((await env.ctx.users.byEmail('anna@harzer.example'))!.id);
    expect(JSON.parse(audit.after!)).to.deep.equal({ position: 'Leitung Buchhaltung', phone: '05321 9876' });
    const board = await loginAs(env, 'board@test.example');
    const detail = await board.get(`/board/members/${w.orgA}`);
    expect(detail.text).to.contain('05321 9876');
    expect(visible(detail.text)).to.match(/Anna Adler\s+Kontaktperson geändert/);
  });

  it('shows per-field errors in the user\'s language and keeps the input', async () => {
    const bad = { name: '', position: 'Einkauf', email: 'not-an-address', phone: 'abc', locale: 'de', version: '2' };
    const de = await post(anna, `/portal/contacts/${w.c.bernd}/edit`, bad, `/portal/contacts/${w.c.bernd}/edit`);
    expect(de.status).to.equal(422);
    expect(de.text).to.contain('Bitte eine gültige E-Mail-Adresse angeben');
    expect(de.text).to.contain('value="not-an-address"');
    expect(de.text).to.contain('value="Einkauf"');
    expect(de.text).to.match(/id="e-name"/);
    const en = await post(anna, `/portal/contacts/${w.c.bernd}/edit`, bad, `/portal/contacts/${w.c.bernd}/edit?lang=en`);
    expect(en.status).to.equal(422);
    expect(en.text).to.contain('Please enter a valid e-mail address');
    expect(en.text).to.contain('value="not-an-address"');
    await anna.get('/portal?lang=de');
    expect((await env.ctx.members.contact(w.orgA, w.c.bernd)).position).to.equal('Leitung Buchhaltung');
  });

  it('shows an optimistic-lock conflict clearly and saves nothing', async () => {
    const form = await anna.get(`/portal/contacts/${w.c.bernd}/edit`);
    const version = /name="version" value="(\d+)"/.exec(form.text)![1];
    // the board edits the same contact in the meantime
    const c = await env.ctx.members.contact(w.orgA, w.c.bernd);
    await env.ctx.members.updateContact(ACTOR, w.orgA, w.c.bernd, { ...c, phone: '05321 5555', invite: false, version: c.version });
    const res = await post(anna, `/portal/contacts/${w.c.bernd}/edit`, {
      name: 'Bernd Buch', position: 'Leitung Buchhaltung', email: 'bernd@harzer.example', phone: '05321 0000', locale: 'en', isBilling: 'yes', version,
    }, `/portal/contacts/${w.c.bernd}/edit`);
    expect(res.status).to.equal(409);
    expect(res.text).to.contain('Inzwischen von jemand anderem geändert.');
    expect(visible(res.text)).to.match(/Telefon ?: Ihre Eingabe „05321 0000“ – aktuell „05321 5555“/);
    expect(res.text).to.contain('value="05321 5555"'); // the form now shows the current data
    expect(res.text).to.contain(`name="version" value="${c.version + 1}"`);
    expect((await env.ctx.members.contact(w.orgA, w.c.bernd)).phone).to.equal('05321 5555');
  });

  it('adds a contact and removes one, but never the representative nor oneself', async () => {
    const res = await post(anna, '/portal/contacts/new', {
      name: 'Clara Chemie', position: 'Labor', email: 'clara@harzer.example', phone: '', locale: 'de', consentEmailInvitations: 'yes', version: '0',
    }, '/portal/contacts/new');
    expect(res.status).to.equal(303);
    const added = (await env.ctx.members.contacts(w.orgA)).find((x) => x.email === 'clara@harzer.example')!;
    expect(added).to.include({ name: 'Clara Chemie', isRepresentative: false, organisationId: w.orgA });
    expect(await env.db('audit_log').where({ action: 'contact.created', entity_id: added.id, actor_label: 'Anna Adler' }).first()).to.be.an('object');

    const rm = await post(anna, `/portal/contacts/${added.id}/delete`, {});
    expect(rm.status).to.equal(303);
    expect((await anna.get('/portal')).text).to.contain('Die Kontaktperson wurde entfernt.');
    expect((await env.ctx.members.contacts(w.orgA)).map((x) => x.id)).not.to.include(added.id);
    expect(await env.db('audit_log').where({ action: 'contact.removed', entity_id: w.orgA, actor_label: 'Anna Adler' }).first()).to.be.an('object');

    // the representative (here: oneself) cannot be removed
    await post(anna, `/portal/contacts/${w.c.anna}/delete`, {});
    const page = await anna.get('/portal');
    expect(page.text).to.contain('Sie können sich nicht selbst entfernen.');
    const bernd = await loginAs(env, 'bernd@harzer.example');
    await post(bernd, `/portal/contacts/${w.c.anna}/delete`, {});
    expect((await bernd.get('/portal')).text).to.contain('The voting representative cannot be removed.');
    expect((await env.ctx.members.contacts(w.orgA)).map((x) => x.id)).to.include(w.c.anna);
  });

  it('moves the voting representative to another contact and tells the board by e-mail in German', async () => {
    const before = await env.db('mail_messages').where({ to_address: BOARD_EMAIL, template: 'portal_representative_changed' }).count({ n: '*' }).first();
    expect(Number(before!.n)).to.equal(0);
    const bernd = await env.ctx.members.contact(w.orgA, w.c.bernd);
    const res = await post(anna, `/portal/contacts/${w.c.bernd}/representative`, { version: String(bernd.version) });
    expect(res.status).to.equal(303);
    expect((await anna.get('/portal')).text).to.contain('Die stimmberechtigte Vertretung wurde geändert.');
    const contacts = await env.ctx.members.contacts(w.orgA);
    expect(contacts.filter((x) => x.isRepresentative).map((x) => x.id)).to.deep.equal([w.c.bernd]);
    const mails = await env.db('mail_messages').where({ to_address: BOARD_EMAIL, template: 'portal_representative_changed' });
    expect(mails).to.have.length(1);
    expect(mails[0].locale).to.equal('de');
    expect(mails[0].subject).to.equal(`Neue stimmberechtigte Vertretung: Harzer Spezialchemie GmbH (${(await env.ctx.members.get(w.orgA))!.memberNo})`);
    expect(mails[0].text_body).to.contain('Bisher: Anna Adler <anna@harzer.example>');
    expect(mails[0].text_body).to.contain('Neu: Bernd Buch <bernd@harzer.example>');
    expect(mails[0].text_body).to.contain(`/board/members/${w.orgA}`);
    // audited by the register with the member as actor
    const audit = (await env.db('audit_log').where({ action: 'contact.updated', entity_id: w.c.anna, actor_label: 'Anna Adler' }).orderBy('id', 'desc').first())!;
    expect(JSON.parse(audit.after!)).to.deep.equal({ isRepresentative: false });
    // a stale version (the page was old) is a conflict: nothing moves, no mail
    await post(anna, `/portal/contacts/${w.c.anna}/representative`, { version: '1' });
    expect((await anna.get('/portal')).text).to.contain('inzwischen von jemand anderem geändert');
    expect((await env.ctx.members.contacts(w.orgA)).filter((x) => x.isRepresentative).map((x) => x.id)).to.deep.equal([w.c.bernd]);
    expect(await env.db('mail_messages').where({ template: 'portal_representative_changed' })).to.have.length(1);
  });

  it('documents: bylaws, the fee rules from the categories in money format, pro-rata and due days, privacy notice', async () => {
    const res = await anna.get('/portal/documents');
    expect(res.status).to.equal(200);
    const text = visible(res.text);
    expect(res.text).to.contain('href="/documents/satzung"');
    expect(res.text).to.contain('href="/privacy"');
    expect(text).to.contain(eur('500,00'));
    expect(text).to.contain(eur('1.200,00'));
    expect(text).to.contain(eur('2.500,00'));
    expect(text).to.contain(`Forschungseinrichtung Ja ${eur('300,00')}`);
    expect(text).to.contain(`Fördermitglied Nein ${eur('250,00')}`);
    expect(text).to.contain('anteilig ab dem Monat des Eintritts');
    expect(text).to.contain('innerhalb von 30 Tagen');
    await env.ctx.settings.updateRules(ACTOR, { ...(await env.ctx.settings.rules()), proRata: 'full_year', duesDueDays: 14 });
    const again = visible((await anna.get('/portal/documents')).text);
    expect(again).to.contain('der volle Jahresbeitrag');
    expect(again).to.contain('innerhalb von 14 Tagen');
    const en = visible((await anna.get('/portal/documents?lang=en')).text);
    expect(en).to.contain('€1,200.00');
    expect(en).to.contain('within 14 days');
    await anna.get('/portal?lang=de');
  });

  it('lets the contact choose English: the portal and the contact\'s e-mail language follow', async () => {
    const res = await post(anna, '/portal/account', { locale: 'en' }, '/portal/account');
    expect(res.status).to.equal(303);
    const page = await anna.get('/portal/account');
    expect(page.text).to.contain('The language has been saved.');
    expect(page.text).to.contain('<html lang="en">');
    expect((await env.ctx.members.contact(w.orgA, w.c.anna)).locale).to.equal('en');
    expect((await env.ctx.users.byEmail('anna@harzer.example'))!.locale).to.equal('en');
    // a new session of the same user starts in English too
    const fresh = await loginAs(env, 'anna@harzer.example');
    expect((await fresh.get('/portal')).text).to.contain('Contact persons');
    // and back
    await post(anna, '/portal/account', { locale: 'de' }, '/portal/account');
    expect((await anna.get('/portal/account')).text).to.contain('Die Sprache wurde gespeichert.');
    expect((await env.ctx.members.contact(w.orgA, w.c.anna)).locale).to.equal('de');
  });

  it('a member account without a contact gets a clear 403 page on every portal page, never a 500', async () => {
    await makeUser(env.ctx, 'lost@test.example', ['member'], 'Lost Member');
    const b = new Browser(env.app);
    await b.login('lost@test.example', PASSWORD);
    for (const url of ['/portal', '/portal/organisation', '/portal/documents', '/portal/account', '/portal/contacts/new', `/portal/contacts/${w.c.anna}/edit`, '/portal/requests/1', '/portal/invoices', '/portal/invoices/1.pdf', '/portal/assemblies', '/portal/assemblies/1']) {
      const res = await b.get(url);
      expect(res.status, url).to.equal(403);
    }
    const page = await b.get('/portal');
    expect(page.text).to.contain('Kein Zugang zum Mitgliederportal');
    expect(page.text).to.contain(BOARD_EMAIL);
    const token = Browser.csrfFrom((await b.get('/account')).text);
    const res = await b.agent.post(`/portal/contacts/${w.c.anna}/edit`).type('form').send({ _csrf: token, name: 'Hacked', locale: 'de', version: '1' });
    expect(res.status).to.equal(403);
    expect((await env.ctx.members.contact(w.orgA, w.c.anna)).name).to.equal('Anna Adler');
  });

  it('English texts are complete: the same keys in both languages, no raw keys and no German on English pages', async () => {
    const res = loadResources();
    const keys = (o: unknown, p = ''): string[] => Object.entries(o as Record<string, unknown>).flatMap(([k, v]) => (v && typeof v === 'object' ? keys(v, `${p}${k}.`) : [`${p}${k}`]));
    const de = res.de.translation.portal as Record<string, unknown>;
    const en = res.en.translation.portal as Record<string, unknown>;
    expect(keys(en).sort()).to.deep.equal(keys(de).sort());
    // German phrases of the portal (without placeholders) must not appear on English pages
    const leaves = (o: unknown): string[] => Object.values(o as Record<string, unknown>).flatMap((v) => (v && typeof v === 'object' ? leaves(v) : [String(v)]));
    const enValues = new Set(leaves(en));
    // ('Deutsch' is the language switch's own name of German, shown on purpose)
    const german = leaves(de).filter((s) => !s.includes('{{') && s.length > 6 && !enValues.has(s) && s !== 'Deutsch');
    expect(german.length).to.be.greaterThan(50);

    const b = await loginAs(env, 'bernd@harzer.example'); // Bernd's language is English
    const { id } = await env.ctx.portal.requestChange(
      { userId: (await env.ctx.users.byEmail('bernd@harzer.example'))!.id, label: 'Bernd Buch' }, w.orgA,
      { ...(await orgValues()), city: 'Clausthal-Zellerfeld' },
    );
    const pages = ['/portal', '/portal/organisation', '/portal/documents', '/portal/account', '/portal/contacts/new', `/portal/contacts/${w.c.anna}/edit`, `/portal/requests/${id}`];
    for (const url of pages) {
      const page = await b.get(url);
      expect(page.status, url).to.equal(200);
      expect(page.text, url).to.contain('<html lang="en">');
      const text = visible(page.text);
      expect(text, url).not.to.match(/\b(portal|members|common|auth)\.[a-zA-Z]+\.[a-zA-Z]/);
      for (const g of german) expect(text, `${url}: German text "${g}"`).not.to.contain(g);
    }
    // invalid forms in English too
    const bad = await post(b, '/portal/organisation', { ...(await orgValues()), vatId: 'DE12', city: '' }, '/portal/organisation');
    expect(bad.status).to.equal(422);
    expect(visible(bad.text)).not.to.match(/\b(portal|members|common)\.[a-zA-Z]+\.[a-zA-Z]/);
    for (const g of german) expect(visible(bad.text)).not.to.contain(g);
  });

  async function orgValues() {
    const o = (await env.ctx.members.get(w.orgA))!;
    return { legalName: o.legalName, legalForm: o.legalForm, street: o.street, postcode: o.postcode, city: o.city, country: o.country, website: o.website, registerEntry: o.registerEntry, vatId: o.vatId, fieldOfActivity: o.fieldOfActivity, employeeBand: o.employeeBand };
  }
});
