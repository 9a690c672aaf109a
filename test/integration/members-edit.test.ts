import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { addOrg, contactInput, orgInput } from './members.fixtures.ts';

const formOf = (o: { legalName: string; city: string }, over: Record<string, unknown> = {}) => ({
  legalName: o.legalName, legalForm: 'GmbH', street: 'Hauptstraße 1', postcode: '38640', city: o.city, country: 'DE', website: '',
  registerEntry: '', vatId: '', fieldOfActivity: 'Chemie', employeeBand: '1-49', notes: '', ...over,
});

describe('member register: editing organisations and contacts', () => {
  let env: TestEnv;
  let cats: Record<string, number>;
  let orgId: number;
  let boardA: Browser;
  let boardB: Browser;

  before(async () => {
    env = await createTestEnv();
    cats = await makeCategories(env.ctx);
    await makeUser(env.ctx, 'anna@test.example', ['board'], 'Anna Vorstand');
    await makeUser(env.ctx, 'bernd@test.example', ['board'], 'Bernd Vorstand');
    orgId = await addOrg(env, orgInput(cats.company, { legalName: 'Harzer Spezialchemie GmbH', joinDate: '2015-03-01' }), [
      contactInput({ name: 'Jürgen Übel', email: 'j.uebel@harzchemie.example' }),
    ]);
    boardA = new Browser(env.app);
    await boardA.login('anna@test.example', PASSWORD);
    boardB = new Browser(env.app);
    await boardB.login('bernd@test.example', PASSWORD);
  });
  after(async () => env.close());

  it('saves organisation data and notes with an audit entry showing before and after', async () => {
    const url = `/board/members/${orgId}/edit`;
    const res = await boardA.submit(url, { ...formOf({ legalName: 'Harzer Spezialchemie GmbH', city: 'Goslar' }, { street: 'Am Rammelsberg 12', notes: 'Gründungsmitglied' }), version: 1 });
    expect(res.status).to.equal(303);
    expect(res.headers.location).to.equal(`/board/members/${orgId}`);
    const org = (await env.ctx.members.get(orgId))!;
    expect(org.street).to.equal('Am Rammelsberg 12');
    expect(org.notes).to.equal('Gründungsmitglied');
    expect(org.version).to.equal(2);
    const [entry] = await env.ctx.audit.list({ entityType: 'organisation', entityId: orgId, action: 'member.updated' });
    expect(entry.actorLabel).to.equal('Anna Vorstand');
    expect(entry.before).to.deep.equal({ street: 'Hauptstraße 1', notes: null });
    expect(entry.after).to.deep.equal({ street: 'Am Rammelsberg 12', notes: 'Gründungsmitglied' });
    const detail = await boardA.get(`/board/members/${orgId}`);
    expect(detail.text).to.contain('Die Änderungen wurden gespeichert.');
    expect(detail.text).to.contain('Anna Vorstand');
    expect(detail.text).to.match(/<del>Hauptstraße 1<\/del> → <ins>Am Rammelsberg 12<\/ins>/);
  });

  it('shows per-field errors in the user\'s language and keeps the input', async () => {
    const url = `/board/members/${orgId}/edit`;
    const page = await boardA.get(url);
    const version = /name="version" value="(\d+)"/.exec(page.text)![1];
    const res = await boardA.submit(url, { ...formOf({ legalName: '', city: 'Goslar' }, { postcode: '123', vatId: 'DE123', website: 'not a url', street: 'Meine Eingabe 5' }), version });
    expect(res.status).to.equal(422);
    expect(res.text).to.contain('Bitte ausfüllen.');
    expect(res.text).to.contain('Eine deutsche Postleitzahl hat fünf Ziffern.');
    expect(res.text).to.contain('USt-IdNr. hat nicht das richtige Format');
    expect(res.text).to.contain('value="Meine Eingabe 5"');
    const en = await boardA.submit(`${url}?lang=en`, { ...formOf({ legalName: '', city: 'Goslar' }), version }, url);
    expect(en.text).to.contain('Please fill');
    await boardA.get('/board/members?lang=de');
    expect((await env.ctx.members.get(orgId))!.street).to.equal('Am Rammelsberg 12');
  });

  it('refuses the second of two concurrent saves with a clear message, keeping the first change', async () => {
    const url = `/board/members/${orgId}/edit`;
    // Both load the form (same version), then both save.
    const pageA = await boardA.get(url);
    const pageB = await boardB.get(url);
    const vA = /name="version" value="(\d+)"/.exec(pageA.text)![1];
    const vB = /name="version" value="(\d+)"/.exec(pageB.text)![1];
    expect(vA).to.equal(vB);
    const first = await boardA.agent.post(url).type('form').send({ ...formOf({ legalName: 'Harzer Spezialchemie GmbH', city: 'Goslar' }, { street: 'Am Rammelsberg 12', notes: 'Gründungsmitglied', phoneNote: '', legalForm: 'AG' }), version: vA, _csrf: Browser.csrfFrom(pageA.text) });
    expect(first.status).to.equal(303);
    const second = await boardB.agent.post(url).type('form').send({ ...formOf({ legalName: 'Harzer Spezialchemie GmbH', city: 'Clausthal' }, { street: 'Am Rammelsberg 12', notes: 'Gründungsmitglied' }), version: vB, _csrf: Browser.csrfFrom(pageB.text) });
    expect(second.status).to.equal(409);
    expect(second.text).to.contain('Inzwischen von jemand anderem geändert.');
    expect(second.text).to.contain('Ihre Änderungen wurden nicht gespeichert');
    // the form now shows the current data (with the first change) and the new version
    expect(second.text).to.match(/<option value="DE" selected>/);
    expect(second.text).to.contain('name="legalForm" type="text" value="AG"');
    expect(second.text).to.contain(`name="version" value="${Number(vA) + 1}"`);
    expect(second.text).to.match(/Ort<\/strong>: Ihre Eingabe „Clausthal“ – aktuell „Goslar“/);
    const org = (await env.ctx.members.get(orgId))!;
    expect(org.legalForm).to.equal('AG');
    expect(org.city).to.equal('Goslar');
    // saving again from the re-rendered form works
    const again = await boardB.agent.post(url).type('form').send({ ...formOf({ legalName: 'Harzer Spezialchemie GmbH', city: 'Clausthal' }, { legalForm: 'AG', street: 'Am Rammelsberg 12', notes: 'Gründungsmitglied' }), version: Number(vA) + 1, _csrf: Browser.csrfFrom(second.text) });
    expect(again.status).to.equal(303);
    expect((await env.ctx.members.get(orgId))!.city).to.equal('Clausthal');
  });

  it('changes the category from an effective date, with a history row and an audit entry', async () => {
    const org = (await env.ctx.members.get(orgId))!;
    const url = `/board/members/${orgId}/category`;
    const bad = await boardA.submit(url, { categoryId: String(cats.research), effectiveDate: '2014-01-01', note: '', version: org.version });
    expect(bad.status).to.equal(422);
    expect(bad.text).to.contain('Das Datum liegt vor dem Eintritt.');
    const res = await boardA.submit(url, { categoryId: String(cats.supporting), effectiveDate: '2027-01-01', note: 'auf eigenen Wunsch', version: org.version });
    expect(res.status).to.equal(303);
    const after = (await env.ctx.members.get(orgId))!;
    expect(after.categoryId).to.equal(cats.supporting);
    const h = (await env.db('membership_history').where({ organisation_id: orgId, kind: 'category_changed' }).first())!;
    expect(h.effective_date).to.equal('2027-01-01');
    expect(h.note).to.equal('auf eigenen Wunsch');
    const [a] = await env.ctx.audit.list({ entityType: 'organisation', entityId: orgId, action: 'member.category_changed' });
    expect(a.before).to.deep.equal({ categoryId: cats.company });
    expect((a.after as Record<string, unknown>).effectiveDate).to.equal('2027-01-01');
    // the vote follows the category from its effective date
    expect(await env.ctx.members.countVoting('2026-12-31')).to.equal(1);
    expect(await env.ctx.members.countVoting('2027-01-01')).to.equal(0);
    const detail = await boardA.get(`/board/members/${orgId}`);
    expect(detail.text).to.match(/01\.01\.2027<\/td>\s*<td>Kategorie geändert/);
  });

  describe('contacts', () => {
    it('adds a contact with roles and, on request, a portal invitation', async () => {
      const url = `/board/members/${orgId}/contacts/new`;
      const res = await boardA.submit(url, { name: 'Petra Rechnung', email: 'Petra@HarzChemie.example', phone: '+49 5321 123', position: 'Buchhaltung', isBilling: 'yes', locale: 'en', invite: 'yes' });
      expect(res.status).to.equal(303);
      const contacts = await env.ctx.members.contacts(orgId);
      const petra = contacts.find((c) => c.name === 'Petra Rechnung')!;
      expect(petra.email).to.equal('petra@harzchemie.example');
      expect(petra.isBilling).to.equal(true);
      expect(petra.isRepresentative).to.equal(false);
      expect(petra.userId).to.be.a('number');
      const mail = (await env.db('mail_messages').where({ to_address: 'petra@harzchemie.example' }).first())!;
      expect(mail.locale).to.equal('en');
      expect(mail.subject).to.contain('member portal');
      const [a] = await env.ctx.audit.list({ entityType: 'contact', entityId: petra.id, action: 'contact.created' });
      expect(a.actorLabel).to.equal('Anna Vorstand');
    });

    it('rejects a contact without a name or with a bad e-mail, keeping the input', async () => {
      const res = await boardA.submit(`/board/members/${orgId}/contacts/new`, { name: '', email: 'kein-at', phone: '12345', locale: 'de', isBilling: 'yes' });
      expect(res.status).to.equal(422);
      expect(res.text).to.contain('Bitte ausfüllen.');
      expect(res.text).to.contain('Bitte eine gültige E-Mail-Adresse angeben');
      expect(res.text).to.contain('value="kein-at"');
      expect(res.text).to.match(/name="isBilling" value="yes" checked/);
    });

    it('moves the representative flag: exactly one representative', async () => {
      const contacts = await env.ctx.members.contacts(orgId);
      const petra = contacts.find((c) => c.name === 'Petra Rechnung')!;
      const url = `/board/members/${orgId}/contacts/${petra.id}/edit`;
      const res = await boardA.submit(url, { name: petra.name, email: petra.email, phone: petra.phone, position: petra.position, isRepresentative: 'yes', isBilling: 'yes', locale: 'en', version: petra.version });
      expect(res.status).to.equal(303);
      const after = await env.ctx.members.contacts(orgId);
      expect(after.filter((c) => c.isRepresentative).map((c) => c.name)).to.deep.equal(['Petra Rechnung']);
      const juergen = after.find((c) => c.name === 'Jürgen Übel')!;
      const [a] = await env.ctx.audit.list({ entityType: 'contact', entityId: juergen.id, action: 'contact.updated' });
      expect(a.before).to.deep.equal({ isRepresentative: true });
      expect(a.after).to.deep.equal({ isRepresentative: false });
    });

    it('refuses to take the flag away from the representative without a successor', async () => {
      const petra = (await env.ctx.members.contacts(orgId)).find((c) => c.name === 'Petra Rechnung')!;
      const res = await boardA.submit(`/board/members/${orgId}/contacts/${petra.id}/edit`, { name: petra.name, email: petra.email, phone: petra.phone, position: 'Neue Funktion', isBilling: 'yes', locale: 'en', version: petra.version });
      expect(res.status).to.equal(422);
      expect(res.text).to.contain('Es muss immer eine stimmberechtigte Vertretung geben.');
      expect(res.text).to.contain('value="Neue Funktion"');
      expect((await env.ctx.members.contact(orgId, petra.id)).isRepresentative).to.equal(true);
    });

    it('detects a concurrent contact edit', async () => {
      const juergen = (await env.ctx.members.contacts(orgId)).find((c) => c.name === 'Jürgen Übel')!;
      const url = `/board/members/${orgId}/contacts/${juergen.id}/edit`;
      const res = await boardB.submit(url, { name: 'Jürgen Übel', email: juergen.email, locale: 'de', version: juergen.version - 1 });
      expect(res.status).to.equal(409);
      expect(res.text).to.contain('Inzwischen von jemand anderem geändert.');
    });

    it('removes a contact, but never the representative', async () => {
      const contacts = await env.ctx.members.contacts(orgId);
      const petra = contacts.find((c) => c.isRepresentative)!;
      const juergen = contacts.find((c) => c.name === 'Jürgen Übel')!;
      const page = await boardA.get(`/board/members/${orgId}`);
      const token = Browser.csrfFrom(page.text);
      const refused = await boardA.agent.post(`/board/members/${orgId}/contacts/${petra.id}/delete`).type('form').send({ _csrf: token });
      expect(refused.status).to.equal(303);
      expect((await boardA.get(`/board/members/${orgId}`)).text).to.contain('Die stimmberechtigte Vertretung kann nicht entfernt werden.');
      expect((await env.ctx.members.contacts(orgId)).length).to.equal(2);
      const ok = await boardA.agent.post(`/board/members/${orgId}/contacts/${juergen.id}/delete`).type('form').send({ _csrf: token });
      expect(ok.status).to.equal(303);
      expect((await env.ctx.members.contacts(orgId)).map((c) => c.name)).to.deep.equal(['Petra Rechnung']);
      const [a] = await env.ctx.audit.list({ entityType: 'organisation', entityId: orgId, action: 'contact.removed' });
      expect((a.before as Record<string, unknown>).name).to.equal('Jürgen Übel');
      expect(a.actorLabel).to.equal('Anna Vorstand');
    });
  });

  it('keeps a country an application may name but the usual list does not show (Norway): offered, selected, saved', async () => {
    const id = await addOrg(env, orgInput(cats.company, { legalName: 'Nordisk Kjemi AS', joinDate: '2020-01-01' }), [contactInput()]);
    await env.db('organisations').where({ id }).update({ country: 'NO', postcode: '0150' }); // as an approved application from Oslo stores it
    const page = await boardA.get(`/board/members/${id}/edit`);
    expect(page.text).to.match(/<option value="NO" selected>/);
    const version = (await env.ctx.members.get(id))!.version;
    const res = await boardA.submit(`/board/members/${id}/edit`, { ...formOf({ legalName: 'Nordisk Kjemi AS', city: 'Oslo' }, { country: 'NO', postcode: '0150' }), version });
    expect(res.status).to.equal(303);
    expect((await env.ctx.members.get(id))!).to.include({ country: 'NO', postcode: '0150', city: 'Oslo' });
  });
});
