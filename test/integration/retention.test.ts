import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { Browser } from '../helpers/http.ts';
import { apply, validForm } from './applications.fixtures.ts';
import { emlFileName } from '../../server/mail/transport.ts';

const actor = { userId: null, label: 'test' };
const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/&#x3D;/g, '=').replace(/&amp;/g, '&').replace(/\s+/g, ' ');

describe('retention: the daily run applies every period of the settings, and never touches what tax law keeps', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let cats: Record<string, number>;

  async function addMember(name: string, email: string): Promise<number> {
    const { organisationId } = await env.db.transaction((trx: Knex.Transaction) => env.ctx.members.createOrganisation(trx, actor, {
      legalName: name, legalForm: 'GmbH', street: 'Bahnhofstraße 40', postcode: '38642', city: 'Goslar', country: 'DE',
      website: '', registerEntry: '', vatId: '', fieldOfActivity: '', employeeBand: '1-49', categoryId: cats.company, joinDate: '2019-02-01',
    }, [{ name: `Kontakt ${name}`, email, phone: '+49 5321 1', position: '', isRepresentative: true, isBilling: true, locale: 'de', consentEmailInvitations: true }], { invite: false, welcome: false }));
    return organisationId;
  }

  /** A sent mail created at `at`, with an .eml file as the file transport would have written it. */
  async function sentMail(template: string, at: string): Promise<{ id: number; file: string }> {
    env.clock.set(at);
    const id = await env.db.transaction((trx) => env.ctx.outbox.enqueue(trx, {
      template, locale: 'de', to: 'someone@firma.example',
      content: { subject: `Betreff ${template}`, paragraphs: ['Guten Tag Frau Beispiel'], signature: 'Verein' },
      attachments: template.startsWith('dues_') ? [{ filename: 'Rechnung-2018-0001.pdf', contentType: 'application/pdf', content: Buffer.from('%PDF-1.4 invoice') }] : undefined,
    }));
    await env.ctx.outbox.flush();
    const row = (await env.ctx.outbox.get(id))!;
    expect(row.status).to.equal('sent');
    fs.mkdirSync(env.config.mailDir, { recursive: true });
    const file = path.join(env.config.mailDir, emlFileName(row.messageId));
    fs.writeFileSync(file, 'From: x\r\n\r\nGuten Tag Frau Beispiel');
    return { id, file };
  }

  beforeEach(async () => {
    env = await createTestEnv();
    cats = await makeCategories(env.ctx);
  });
  afterEach(async () => env.close());

  it('deletes an unconfirmed application the day after its period, not the day before; rejected ones after the months the settings say', async () => {
    env.clock.set('2026-11-25T09:00:00Z');
    await apply(env.app, validForm(cats.company, { legal_name: 'Nie Bestätigt GmbH', rep_email: 'nie@firma.example' }));
    const [unconfirmed] = await env.db('applications').where({ status: 'unconfirmed' }).pluck('id');
    await env.ctx.settings.updateRules(actor, { ...(await env.ctx.settings.rules()), unconfirmedApplicationDays: 14 });

    env.clock.set('2026-12-09T08:00:00Z'); // 14 days minus an hour
    expect((await env.ctx.retention.plan()).counts.applications).to.equal(0);
    expect((await env.ctx.retention.run({ trigger: 'cli' }))!.counts.applications).to.equal(0);
    expect(await env.db('applications').where({ id: unconfirmed })).to.have.length(1);

    env.clock.set('2026-12-09T10:00:00Z'); // 14 days and an hour
    expect((await env.ctx.retention.plan()).counts.applications).to.equal(1);
    const run = (await env.ctx.retention.run({ trigger: 'cli' }))!;
    expect(run).to.include({ status: 'done', dryRun: false });
    expect(run.counts.applications).to.equal(1);
    expect(await env.db('applications').where({ id: unconfirmed })).to.have.length(0);
    // the run is logged with counts only, never the data
    const entry = (await env.db('audit_log').where({ action: 'retention.run' }).orderBy('id', 'desc').first())!;
    expect(JSON.parse(entry.after!)).to.include({ applications: 1, trigger: 'cli', status: 'done' });
    expect(entry.after).not.to.contain('Nie Bestätigt');
  });

  it('anonymises a former member one day after the retention period, not on its last day', async () => {
    const formerId = await addMember('Oker Spezialgase GmbH', 's.krueger@oker.example');
    await env.db('organisations').where({ id: formerId }).update({ status: 'former', exit_date: '2026-12-31', exit_reason: 'notice' });
    const invoiceMail = await env.db.transaction((trx) => env.ctx.outbox.enqueue(trx, {
      template: 'dues_invoice', locale: 'de', to: 's.krueger@oker.example', related: { type: 'organisation', id: formerId },
      content: { subject: 'Rechnung 2026-0007', paragraphs: ['Guten Tag Frau Krüger'], signature: 'Verein' },
      attachments: [{ filename: 'Rechnung-2026-0007.pdf', contentType: 'application/pdf', content: Buffer.from('%PDF-1.4 invoice') }],
    }));
    await env.ctx.outbox.flush();
    env.clock.set('2027-12-31T12:00:00Z'); // exit + 1 year: the last day the data is kept
    await env.ctx.retention.run({ trigger: 'cli' });
    expect((await env.db('contacts').where({ organisation_id: formerId }).first())!.email).to.equal('s.krueger@oker.example');
    env.clock.set('2028-01-01T12:00:00Z');
    const run = (await env.ctx.retention.run({ trigger: 'cli' }))!;
    expect(run.counts.formerMembers).to.equal(1);
    const contact = (await env.db('contacts').where({ organisation_id: formerId }).first())!;
    expect(contact.email).not.to.equal('s.krueger@oker.example');
    expect(contact.name).not.to.contain('Oker');
    // the invoice mail loses address and greeting but keeps the invoice PDF as sent (§ 14b UStG; Art. 17(3)(b) GDPR)
    const kept = (await env.ctx.outbox.get(invoiceMail))!;
    expect(kept.to).not.to.contain('krueger');
    expect(kept.text).not.to.contain('Krüger');
    expect(kept.attachments.map((a) => a.filename)).to.deep.equal(['Rechnung-2026-0007.pdf']);
    // the organisation stays in the register (invoices refer to it)
    expect((await env.db('organisations').where({ id: formerId }).first())!.legal_name).to.equal('Oker Spezialgase GmbH');
  });

  it('removes mail bodies and their .eml files after the mail period, but keeps an invoice mail with its PDF until 8 years after the end of its year', async () => {
    const welcome = await sentMail('member_welcome', '2018-03-01T10:00:00Z');
    const invoice = await sentMail('dues_invoice', '2018-03-01T10:00:00Z');
    const recent = await sentMail('member_welcome', '2026-11-01T10:00:00Z');

    env.clock.set('2026-12-31T22:00:00Z'); // 31.12.2026, 23:00 in Berlin: the last day an invoice of 2018 is kept
    const first = (await env.ctx.retention.run({ trigger: 'cli' }))!;
    expect(first.counts.mailBodies).to.equal(1);
    const w = (await env.ctx.outbox.get(welcome.id))!;
    expect(w).to.include({ subject: 'Betreff member_welcome', to: 'someone@firma.example', status: 'sent' }); // the proof of sending stays
    expect(w.text).to.equal('');
    expect(fs.existsSync(welcome.file)).to.equal(false);
    const inv = (await env.ctx.outbox.get(invoice.id))!;
    expect(inv.text).to.contain('Frau Beispiel');
    expect(fs.existsSync(invoice.file)).to.equal(true);
    expect((await env.db('mail_messages').where({ id: invoice.id }).first())!.attachments).to.contain('Rechnung-2018-0001.pdf');
    expect((await env.ctx.outbox.get(recent.id))!.text).to.contain('Frau Beispiel');
    expect(fs.existsSync(recent.file)).to.equal(true);

    env.clock.set('2027-01-01T00:30:00Z'); // 01.01.2027 in Berlin
    const second = (await env.ctx.retention.run({ trigger: 'cli' }))!;
    expect(second.counts.mailBodies).to.equal(1);
    expect((await env.db('mail_messages').where({ id: invoice.id }).first())!.attachments).to.equal(null);
    expect(fs.existsSync(invoice.file)).to.equal(false);
    expect(fs.existsSync(recent.file)).to.equal(true);
  });

  it('empties the audit values after the audit period, the books\' entries only after 10 years, keeping every entry', async () => {
    env.clock.set('2022-06-01T10:00:00Z');
    await env.db.transaction(async (trx) => {
      await env.ctx.audit.record(trx, actor, 'contact.updated', 'contact', 1, { email: 'alt@firma.example' }, { email: 'neu@firma.example' });
      await env.ctx.audit.record(trx, actor, 'payment.recorded', 'payment', 1, undefined, { amountCents: 50000 });
    });
    const count = async () => Number((await env.db('audit_log').count({ n: '*' }).first())!.n);
    const before = await count();
    env.clock.set('2025-05-31T10:00:00Z'); // 3 years minus a day
    expect((await env.ctx.retention.plan()).counts.auditDetails).to.equal(0);
    env.clock.set('2025-06-02T10:00:00Z');
    const run = (await env.ctx.retention.run({ trigger: 'cli' }))!;
    expect(run.counts.auditDetails).to.equal(1);
    const contact = (await env.db('audit_log').where({ action: 'contact.updated' }).first())!;
    expect(contact.before).to.equal(null);
    expect(contact.after).to.equal(null);
    expect(contact.actor_label).to.equal('test'); // who, when and what stay
    expect((await env.db('audit_log').where({ action: 'payment.recorded' }).first())!.after).to.contain('50000');
    expect(await count()).to.be.greaterThan(before); // nothing deleted (the run added its own entry)
    const payment = async () => (await env.db('audit_log').where({ action: 'payment.recorded' }).first())!.after;
    env.clock.set('2032-12-31T12:00:00Z'); // the last day of the 10 years after the end of 2022
    await env.ctx.retention.run({ trigger: 'cli' });
    expect(await payment()).to.contain('50000');
    env.clock.set('2033-01-01T12:00:00Z');
    await env.ctx.retention.run({ trigger: 'cli' });
    expect(await payment()).to.equal(null);
  });

  it('a dry run only counts; the daily run happens once a day from 03:00 Berlin time, also with two processes', async () => {
    const welcome = await sentMail('member_welcome', '2026-01-01T10:00:00Z');
    env.clock.set('2026-12-02T01:30:00Z'); // 02:30 in Berlin
    const dry = (await env.ctx.retention.run({ trigger: 'cli', dryRun: true }))!;
    expect(dry).to.include({ dryRun: true, status: 'done' });
    expect(dry.counts.mailBodies).to.equal(1);
    expect((await env.ctx.outbox.get(welcome.id))!.text).to.contain('Frau Beispiel');

    expect(await env.ctx.retention.runDailyIfDue()).to.equal(undefined); // before 03:00
    env.clock.set('2026-12-02T02:05:00Z'); // 03:05
    const [a, b] = await Promise.all([env.ctx.retention.runDailyIfDue(), env.ctx.retention.runDailyIfDue()]);
    const runs = [a, b].filter(Boolean);
    expect(runs).to.have.length(1);
    expect(runs[0]!.counts.mailBodies).to.equal(1);
    env.clock.set('2026-12-02T20:00:00Z');
    expect(await env.ctx.retention.runDailyIfDue()).to.equal(undefined); // done today
    env.clock.set('2026-12-03T02:30:00Z'); // the next day, 03:30
    expect(await env.ctx.retention.runDailyIfDue()).to.include({ trigger: 'daily', status: 'done' });
  });

  it('the admin sees what the next run will do and the last runs, and can run it now; others cannot', async () => {
    await sentMail('member_welcome', '2026-01-01T10:00:00Z');
    env.clock.set('2026-11-25T09:00:00Z');
    await makeUser(env.ctx, 'admin@verein.example', ['admin']);
    await makeUser(env.ctx, 'vorstand@verein.example', ['board']);
    const admin = new Browser(env.app);
    await admin.login('admin@verein.example', PASSWORD);
    let page = text((await admin.get('/admin/retention')).text);
    expect(page).to.contain('Was der nächste Lauf tun wird');
    expect(page).to.contain('Inhalte versandter E-Mails 1');
    expect(page).to.contain('E-Mails: Inhalt und Anhänge gelöscht 180 Tage nach dem Versand (versandt vor dem 29.05.2026)');
    expect(page).to.contain('Noch kein Lauf.');
    const res = await admin.submit('/admin/retention', {}, '/admin/retention/run');
    expect(res.status).to.equal(303);
    page = text((await admin.get('/admin/retention')).text);
    expect(page).to.contain('Löschlauf ausgeführt: 0 Anträge gelöscht, 0 ehemalige Mitglieder anonymisiert, 1 E-Mail-Inhalte');
    expect(page).to.contain('von Hand');
    expect(page).to.contain('Inhalte versandter E-Mails: 1');
    expect(page).to.contain('Inhalte versandter E-Mails 0');

    const board = new Browser(env.app);
    await board.login('vorstand@verein.example', PASSWORD);
    expect((await board.get('/admin/retention')).status).to.equal(403);
    const home = await board.get('/board/applications');
    const refused = await board.agent.post('/admin/retention/run').type('form').send({ _csrf: Browser.csrfFrom(home.text) });
    expect(refused.status).to.equal(403);
    // without a CSRF token nothing runs
    const noToken = await admin.agent.post('/admin/retention/run').type('form').send({});
    expect(noToken.status).to.equal(403);
    expect(await env.ctx.retention.recent()).to.have.length(1);
  });

  it('the privacy notice and the confirmation mail quote the periods the run applies', async () => {
    await env.ctx.settings.updateRules(actor, { ...(await env.ctx.settings.rules()), applicationRetentionMonths: 3, unconfirmedApplicationDays: 21, contactRetentionYears: 1, mailBodyRetentionDays: 90 });
    const de = text((await new Browser(env.app).get('/privacy')).text);
    expect(de).to.contain('Nicht bestätigte Anträge löschen wir 21 Tage nach dem Absenden, abgelehnte oder zurückgezogene 3 Monate nach der Entscheidung');
    expect(de).to.contain('anonymisieren wir 1 Jahr nach dem Ende der Mitgliedschaft');
    expect(de).to.contain('löschen wir nach 90 Tagen');
    expect(de).to.contain('8 Jahre nach Ablauf des Ausstellungsjahres');
    const en = text((await new Browser(env.app).get('/privacy?lang=en')).text);
    expect(en).to.contain('Unconfirmed applications are deleted 21 days after they were sent');
    await apply(env.app, validForm(cats.company, { legal_name: 'Frist GmbH', rep_email: 'frist@firma.example' }));
    const mail = (await env.ctx.outbox.forRecipient('frist@firma.example'))[0];
    const full = (await env.ctx.outbox.get(mail.id))!;
    expect(full.text).to.contain('die Angaben werden dann nach 21 Tagen gelöscht');
  });
});
