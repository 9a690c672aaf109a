import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { insertMembers } from '../fakes/dues-fixture.ts';
import { DEFAULT_ASSOCIATION } from '../../server/settings/settings.schemas.ts';
import { addOrg, contactInput, orgInput } from './members.fixtures.ts';
import { seedDemo, DEMO_PASSWORD } from '../../seeds/demo.ts';
import { assemblySchema } from '../../server/assemblies/assemblies.schemas.ts';
import { greeting, isPersonalName } from '../../server/mail/greeting.ts';
import { oneFullStop } from '../../server/mail/render.ts';
import { tFor } from '../../server/i18n/i18n.ts';

const ACTOR = { userId: null, label: 'test' };

/** The text a person reads in a page's main part: tags removed, entities read, spaces collapsed. */
function visible(html: string): string {
  const main = html.slice(html.indexOf('<main'), html.indexOf('</main>'));
  return unescape(main.replace(/<[^>]+>/g, ' ')).replace(/\s+/g, ' ');
}

function unescape(s: string): string {
  return s.replace(/&quot;/g, '"').replace(/&#x27;/g, "'").replace(/&#x3D;/g, '=').replace(/&#x60;/g, '`').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

describe('words: greetings, full stops and plural forms in mails and pages', function () {
  this.timeout(60_000);
  let env: TestEnv;

  before(async () => {
    env = await createTestEnv();
    const cats = await makeCategories(env.ctx);
    await env.ctx.settings.updateAssociation(ACTOR, {
      ...DEFAULT_ASSOCIATION, name: 'ChemieNetzwerk Harz e.V.', street: 'Adolph-Roemer-Straße 2A', postcode: '38678', city: 'Clausthal-Zellerfeld',
      taxNumber: '21/270/12345', bankHolder: 'ChemieNetzwerk Harz e.V.', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', bankName: 'Commerzbank',
    });
    // two members whose invoices go to "Buchhaltung 1" and "Buchhaltung 2" (department addresses); the second's becomes a person
    await insertMembers(env.db, [cats.company], 2);
    const second = (await env.db('organisations').where({ member_number: 2 }).first())!;
    await env.db('contacts').where({ organisation_id: second.id }).update({ name: 'Jana Albrecht' });
    await makeUser(env.ctx, 'kasse@test.example', ['treasurer'], 'Tom Schatz');
  });
  after(async () => env?.close());

  async function mailsTo(address: string, template?: string) {
    const q = env.db('mail_messages').where({ to_address: address }).orderBy('id');
    if (template) q.where({ template });
    return q;
  }

  it('greets a person by name, a department or role address with "Guten Tag,", and writes one full stop after e.V.', async () => {
    await env.ctx.dues.freezeFeeSchedule(ACTOR, 2026);
    for (const id of await env.ctx.dues.memberIdsOfYear(2026)) await env.ctx.dues.issueAndDeliver(ACTOR, id, 2026);
    const [toDepartment] = await mailsTo('billing1@mitglied.example', 'dues_invoice');
    const [toPerson] = await mailsTo('billing2@mitglied.example', 'dues_invoice');
    expect(toDepartment, 'invoice mail to the department').not.to.equal(undefined);
    expect(toDepartment!.text_body.split('\n')[0]).to.equal('Guten Tag,');
    expect(toDepartment!.text_body).not.to.contain('Buchhaltung,');
    expect(toPerson!.text_body.split('\n')[0]).to.equal('Guten Tag Jana Albrecht,');
    for (const m of await env.db('mail_messages').select('text_body', 'html_body')) {
      expect(m.text_body).not.to.match(/e\.V\.\./);
      expect(m.html_body).not.to.match(/e\.V\.\./);
    }
  });

  it('the reminder mail greets the department the same way, and the treasurer reads "1 erste Mahnung"', async () => {
    const inv2 = (await env.db('invoices').where({ contact_email: 'billing2@mitglied.example' }).first())!;
    await env.ctx.dues.stopReminders(ACTOR, Number(inv2.id), true);
    // a day after the first reminder is due (and before the second)
    const rules = await env.ctx.settings.rules();
    const due = new Date(`${inv2.due_date}T09:00:00Z`);
    due.setUTCDate(due.getUTCDate() + rules.reminder1Days + 1);
    env.clock.set(due.toISOString());
    const treasurer = new Browser(env.app);
    await treasurer.login('kasse@test.example', PASSWORD);
    const res = await treasurer.submit('/treasurer/overdue', {}, '/treasurer/reminders');
    expect(res.status).to.equal(303);
    const page = visible((await treasurer.get('/treasurer/overdue')).text);
    expect(page).to.contain('Versandt: 1 erste Mahnung und 0 zweite Mahnungen.');
    const [reminder] = await mailsTo('billing1@mitglied.example', 'dues_reminder_1');
    expect(reminder!.text_body.split('\n')[0]).to.equal('Guten Tag,');
  });

  it('the welcome mail to a member\'s department contact says "Guten Tag," (not the department, not the address)', async () => {
    const cat = (await env.ctx.settings.categories())[0]!;
    await env.db.transaction((trx) => env.ctx.members.createOrganisation(trx, ACTOR, orgInput(Number(cat.id), { legalName: 'Oker Pigmente AG', legalForm: 'AG' }),
      [contactInput({ name: 'Buchhaltung', email: 'buchhaltung@oker-pigmente.example', isRepresentative: true })], { invite: true, welcome: true }));
    const mails = await mailsTo('buchhaltung@oker-pigmente.example');
    expect(mails).to.have.length.greaterThan(0);
    for (const m of mails) {
      expect(m.text_body.split('\n')[0]).to.equal('Guten Tag,');
      expect(m.text_body).not.to.contain('e.V..');
    }
  });

  it('tells names of persons from departments in both languages', () => {
    for (const n of ['Buchhaltung', 'Buchhaltung 1', 'Finanzbuchhaltung', 'Accounts Payable', 'Rechnungseingang', 'Sekretariat der Geschäftsführung', 'office@example.org', '', '  ']) {
      expect(isPersonalName(n), n).to.equal(false);
    }
    for (const n of ['Jana Albrecht', 'Dr. Katrin Wölfel', 'Timo Brandt', 'Łukasz Kowalski']) expect(isPersonalName(n), n).to.equal(true);
    expect(greeting(tFor('en'), 'Accounts Payable')).to.equal('Dear Sir or Madam,');
    expect(greeting(tFor('en'), 'Jana Albrecht')).to.equal('Dear Jana Albrecht,');
    expect(oneFullStop('Mitglied im ChemieNetzwerk Harz e.V..')).to.equal('Mitglied im ChemieNetzwerk Harz e.V.');
    expect(oneFullStop('Bitte warten... danke.')).to.equal('Bitte warten... danke.');
  });
});

describe('words: pages the board reads', function () {
  this.timeout(90_000);
  let env: TestEnv;
  let board: Browser;

  before(async () => {
    env = await createTestEnv();
    await seedDemo(env.ctx, () => {});
    board = new Browser(env.app);
    await board.login('vorstand@demo.example', DEMO_PASSWORD);
  });
  after(async () => env?.close());

  it('the application queue names the legal form once ("… GmbH", not "… GmbH GmbH")', async () => {
    const page = visible((await board.get('/board/applications')).text);
    expect(page).to.contain('GmbH');
    expect(page).not.to.match(/GmbH\s+GmbH/);
  });

  it('check-in says "Eintreffen erfassen", not "Anmelden" as for logging in', async () => {
    const id = await env.ctx.assemblies.assembly.create(ACTOR, assemblySchema.parse({
      title: 'Ordentliche Mitgliederversammlung 2026', kind: 'ordinary', date: '2026-12-19', time: '18:00', durationMinutes: '120',
      format: 'in_person', location: 'Kaiserpfalz Goslar', participationInfo: '',
    }));
    const day = visible((await board.get(`/board/assemblies/${id}/day`)).text);
    expect(day).to.contain('Eintreffen erfassen');
    expect(day).not.to.match(/\bAnmelden\b/);
    const show = visible((await board.get(`/board/assemblies/${id}`)).text);
    expect(show).to.contain('120 Minuten');
  });

  it('the member page shows its audit trail in labels and values a person reads, and its invoices instead of a placeholder', async () => {
    const cat = (await env.ctx.settings.categories()).find((c) => c.code === 'company')!;
    const id = await addOrg(env, orgInput(Number(cat.id), { legalName: 'Bode Analytik GmbH', employeeBand: '250+' }), [contactInput({ name: 'Eva Bode', isRepresentative: false, consentEmailInvitations: false })]);
    const page = visible((await board.get(`/board/members/${id}`)).text);
    for (const raw of ['isRepresentative', 'consentEmailInvitations', 'employeeBand', '250+', ': false', ': true']) expect(page, raw).not.to.contain(raw);
    expect(page).to.contain('Stimmberechtigte Vertretung : Nein');
    expect(page).to.contain('Beschäftigte : 250 und mehr Beschäftigte');
    expect(page).to.contain('Land : Deutschland');
    expect(page).not.to.contain('organisationId');
    expect(page).not.to.contain('sobald die Beitragsabrechnung');
    expect(page).to.contain('Für dieses Mitglied wurden noch keine Rechnungen ausgestellt.');
    const list = visible((await board.get('/board/members')).text);
    expect(list).not.to.contain('Kommt mit der Beitragsabrechnung');
  });
});
