import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { simpleParser } from 'mailparser';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { DEFAULT_ASSOCIATION } from '../../server/settings/settings.schemas.ts';
import { fileTransport } from '../../server/mail/transport.ts';
import { formatMoney } from '../../server/i18n/format.ts';
import { submitAndConfirm, validForm } from './applications.fixtures.ts';
import { linkFor, makeOrg } from './assemblies.fixtures.ts';
import { PERSONAL_DATA_TABLES } from '../../server/members/personal-data.map.ts';

const actor = { userId: null, label: 'test' };

/** The contacts' personal values seeded through every feature; none may remain after the anonymisation outside the tax-kept places. */
const SEEDED = {
  repName: 'Katrin Wölfel',
  repEmail: 'k.woelfel@feinchemie.example',
  repPhone: '+49 5321 1234-0',
  billingName: 'Bernd Buchner',
  billingEmail: 'rechnung@feinchemie.example',
  billingPhone: '+49 5321 1234-9',
  street: 'Am Rammelsberg 12',
};
const TERMS = Object.values(SEEDED);

/**
 * Places tax law keeps (§ 14b UStG, § 147 AO; Art. 17(3)(b) GDPR): the invoice as issued (the
 * buyer's name and address, the contact it went to) and the payments booked on it. The invoice
 * mails keep their PDF as sent in `attachments` (base64, so it never matches a plain search).
 */
const TAX_KEPT: Record<string, string[]> = {
  invoices: ['recipient_name', 'recipient_street', 'contact_name', 'contact_email'],
  payments: ['reference'],
};

/** Every text column of every table of the database (from the schema itself, not a hand list). */
async function textColumns(db: Knex): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  if (db.client.config.client === 'better-sqlite3') {
    const tables: { name: string }[] = await db.raw("select name from sqlite_master where type = 'table' and name not like 'sqlite_%'");
    for (const { name } of tables) {
      const cols: { name: string; type: string }[] = await db.raw(`pragma table_info(${JSON.stringify(name)})`);
      out[name] = cols.filter((c) => !/int|bool|real|float|double|numeric|blob/i.test(c.type) || c.type === '').map((c) => c.name);
    }
  } else {
    const r = await db.raw<{ rows: { table_name: string; column_name: string }[] }>(
      "select table_name, column_name from information_schema.columns where table_schema = current_schema() and data_type in ('text', 'character varying', 'json', 'jsonb', 'character') order by table_name, ordinal_position",
    );
    for (const row of r.rows) (out[row.table_name] ??= []).push(row.column_name);
  }
  return out;
}

/** Where one of the terms still occurs: "table.column: term" per hit. */
async function findTerms(db: Knex, terms: string[]): Promise<string[]> {
  const hits: string[] = [];
  const pg = db.client.config.client !== 'better-sqlite3';
  for (const [table, cols] of Object.entries(await textColumns(db))) {
    for (const col of cols) {
      for (const t of terms) {
        const rows = await db(table).whereRaw(pg ? 'lower(??::text) like ?' : 'lower(??) like ?', [col, `%${t.toLowerCase()}%`]).count({ n: '*' });
        // SQLite's lower() folds ASCII only: compare the raw text too
        const raw = pg ? 0 : Number((await db(table).whereRaw('instr(??, ?) > 0', [col, t]).count({ n: '*' }))[0].n);
        if (Number(rows[0].n) + raw > 0) hits.push(`${table}.${col}: ${t}`);
      }
    }
  }
  return [...new Set(hits)];
}

describe('GDPR: complete anonymisation of a former member, seeded through every feature', function () {
  this.timeout(120_000);
  let env: TestEnv;
  let board: Browser;
  let orgId: number;
  let otherId: number;
  let invoiceId: number;
  let mailDir: string;
  let dataDir: string;
  let repBrowser: Browser;
  let repContactId: number;
  let billingContactId: number;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'verein-gdpr-'));
    mailDir = path.join(dataDir, 'mail');
    env = await createTestEnv({ env: { DATA_DIR: dataDir }, transport: fileTransport(mailDir) });
    const cats = await makeCategories(env.ctx);
    await env.ctx.settings.updateAssociation(actor, {
      ...DEFAULT_ASSOCIATION, name: 'ChemieNetzwerk Harz e.V.', street: 'Adolph-Roemer-Straße 2A', postcode: '38678', city: 'Clausthal-Zellerfeld',
      taxNumber: '21/270/12345', bankHolder: 'ChemieNetzwerk Harz e.V.', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', bankName: 'Commerzbank',
    });
    // mail bodies and audit details stay long enough that only the anonymisation can remove them here
    await env.ctx.settings.updateRules(actor, { ...(await env.ctx.settings.rules()), mailBodyRetentionDays: 3650, auditDetailRetentionYears: 30 });
    await makeUser(env.ctx, 'vorstand@verein.example', ['board', 'treasurer'], 'Vera Vorstand');
    board = new Browser(env.app);
    await board.login('vorstand@verein.example', PASSWORD);
    otherId = await makeOrg(env.ctx, { name: 'Okertal Pigmente GmbH', categoryId: cats.company, repEmail: 'rep@okertal.example' });

    // 1. the application, a question in it, the approval (contacts with portal invitations)
    const appId = await submitAndConfirm(env, validForm(cats.company, {
      rep_name: `Dr. ${SEEDED.repName}`, rep_email: SEEDED.repEmail, rep_phone: SEEDED.repPhone, street: SEEDED.street,
      billing_name: SEEDED.billingName, billing_email: SEEDED.billingEmail, billing_phone: SEEDED.billingPhone,
    }));
    await env.ctx.applications.comment(actor, appId, `Telefonat mit ${SEEDED.billingName} (${SEEDED.billingPhone}) geführt.`);
    const app = (await env.ctx.applications.get(appId))!;
    orgId = (await env.ctx.applications.approve(actor, appId, { version: app.version, resolutionRef: 'Vorstandsbeschluss 2026/11', joinDate: '2026-11-25', categoryId: cats.company })).organisationId;
    const contacts = await env.db('contacts').where({ organisation_id: orgId }).orderBy('id');
    const rep = contacts[0];
    repContactId = Number(rep.id);
    billingContactId = Number(contacts[1].id);
    // the representative signs in to the portal (a session to end on anonymisation)
    await env.ctx.users.setPassword(actor, Number(rep.user_id), PASSWORD);
    repBrowser = new Browser(env.app);
    await repBrowser.login(SEEDED.repEmail, PASSWORD);
    await env.db.transaction((trx) => env.ctx.gdpr.recordConsent(trx, Number(rep.id), 'email_invitations', '2026-01', '2026-11-25T09:00:00.000Z', 'application'));

    // 2. a portal change request by the representative
    const org = (await env.db('organisations').where({ id: orgId }).first())!;
    await env.ctx.portal.requestChange({ userId: rep.user_id === null ? null : Number(rep.user_id), label: `Dr. ${SEEDED.repName}` }, orgId, {
      legalName: org.legal_name, legalForm: org.legal_form, street: 'Am Rammelsberg 14', postcode: org.postcode, city: org.city, country: org.country,
      website: org.website, registerEntry: org.register_entry, vatId: org.vat_id, fieldOfActivity: org.field_of_activity, employeeBand: org.employee_band,
    });

    // 3. an assembly: invitation, RSVP with names, proxy, motion, check-in
    const assemblyId = await env.ctx.assemblies.assembly.create(actor, {
      title: 'MV 2026', kind: 'ordinary', date: '2026-12-19', time: '18:00', durationMinutes: 120, format: 'in_person', location: 'Goslar', participationInfo: '', copyAllContacts: true,
    });
    await env.ctx.assemblies.assembly.addAgendaItem(actor, assemblyId, { title: 'Entlastung', kind: 'resolution', description: '', proposedText: '' });
    await env.ctx.assemblies.sending.startSending(actor, assemblyId);
    await env.ctx.assemblies.jobs.idle(assemblyId);
    const link = await linkFor(env.ctx, SEEDED.repEmail);
    const member = new Browser(env.app);
    const post = async (p: string, data: Record<string, string>) => {
      const res = await member.submit(link, data, `${link}${p}`);
      expect(res.status, `${p}: ${res.text.slice(0, 300)}`).to.equal(303);
    };
    await post('/rsvp', { attending: 'yes', peopleCount: '2', names: `${SEEDED.repName}, ${SEEDED.billingName}`, mode: '' });
    await post('/motions', { title: 'Satzungsänderung', body: 'Der Vorstand wird um einen Sitz erweitert.', submittedBy: `Dr. ${SEEDED.repName}` });
    await post('/proxy', { holderOrganisationId: String(otherId) });
    env.clock.set('2026-12-19T17:05:00Z');
    await env.ctx.assemblies.day.checkIn(actor, assemblyId, orgId, 'in', SEEDED.billingName);

    // 4. a written resolution, answered with the voter's name
    const writtenId = await env.ctx.assemblies.written.create(actor, { title: 'Beitritt Dachverband', motionText: 'Der Verein tritt dem Dachverband bei.', kind: 'resolution', date: '2027-01-20', time: '18:00' });
    await env.ctx.assemblies.written.send(actor, writtenId);
    await env.ctx.outbox.flush();
    const wmail = (await env.ctx.outbox.forRecipient(SEEDED.repEmail)).find((m) => /\/w\/[A-Za-z0-9_-]{43}/.test(m.text))!;
    await env.ctx.assemblies.written.answer(wmail.text.match(/\/w\/([A-Za-z0-9_-]{43})/)![1], { answer: 'yes', name: SEEDED.repName });

    // 5. a minority demand by the other member, supported by this one's representative
    const demandId = await env.ctx.demands.create({ userId: null, label: 'Rep Okertal' }, otherId, null, { purpose: 'Außerordentliche Versammlung zur Beitragsordnung', reasons: '' });
    await env.ctx.demands.support({ userId: null, label: `Dr. ${SEEDED.repName}` }, orgId, Number(rep.id), demandId);
    await env.ctx.demands.create({ userId: null, label: `Dr. ${SEEDED.repName}` }, orgId, Number(rep.id), { purpose: 'Versammlung zur Wahl des Vorstands', reasons: `Begründung von ${SEEDED.repName}` });
    // a member list that held the organisation went to someone (a disclosure)
    const logId = await env.ctx.memberExports.startLog(actor, 'csv', {}, 'Mitgliederliste für ein Mitglied', 2);
    await env.ctx.memberExports.finishLog(logId, [otherId, orgId]);

    // 6. an invoice (mailed with its PDF) and, later, its payment
    env.clock.set('2027-01-10T09:00:00Z');
    await env.ctx.dues.freezeFeeSchedule(actor, 2027);
    const issued = await env.ctx.dues.issueDuesInvoice(actor, orgId, 2027);
    if (!issued.issued) throw new Error('invoice not issued');
    invoiceId = issued.invoiceId;
    await env.ctx.outbox.flush();
    const part = await board.submit(`/treasurer/invoices/${invoiceId}`, { date: '2027-01-10', amount: '100,00', reference: `Teilzahlung ${SEEDED.billingName}` }, `/treasurer/invoices/${invoiceId}/payments`);
    if (part.status !== 303) throw new Error(`partial payment: ${part.status} ${part.text.slice(0, 300)}`);
    // the member gave notice; gone at the end of January 2027
    await env.db('organisations').where({ id: orgId }).update({ status: 'former', exit_date: '2027-01-31', exit_reason: 'notice' });
  });
  after(async () => {
    await env.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('seeded the contacts\' data in the places the anonymisation must reach (the search bites)', async () => {
    const hits = await findTerms(env.db, TERMS);
    for (const place of ['assembly_invitations.contact_name', 'assembly_rsvps.names', 'assembly_attendance.person_name', 'assembly_motions.submitted_by',
      'assembly_written_ballots.answered_name', 'minority_demand_supports.actor_label', 'organisation_change_requests.previous', 'audit_log.after',
      'mail_messages.to_address', 'application_contacts.name', 'application_messages.body', 'contacts.email', 'users.email', 'organisation_words.word']) {
      expect(hits.some((h) => h.startsWith(`${place}:`)), place).to.equal(true);
    }
    const emls = fs.readdirSync(mailDir).filter((f) => f.endsWith('.eml'));
    expect(emls.length).to.be.above(3);
  });

  it('the Art. 15/20 export holds the rows of every table with personal data; every table of the schema is in PERSONAL_DATA_TABLES', async () => {
    const tables = Object.keys(await textColumns(env.db)).filter((t) => !/^(knex_|sqlite_)/.test(t));
    const unlisted = tables.filter((t) => !(t in PERSONAL_DATA_TABLES));
    expect(unlisted, `tables neither exported nor explained in server/members/personal-data.map.ts: ${unlisted.join(', ')}`).to.deep.equal([]);
    const data = await env.ctx.gdpr.exportOrganisation(orgId);
    const at = (p: string): unknown[] => {
      let cur: unknown[] = [data];
      for (const part of p.split('.')) {
        const key = part.replace(/\[\]$/, '');
        cur = cur.flatMap((c) => {
          const v = (c as Record<string, unknown>)[key]; // why: walking the export's JSON by the map's path
          return Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
        });
      }
      return cur;
    };
    const empty = Object.entries(PERSONAL_DATA_TABLES).filter(([, place]) => 'export' in place).map(([t, place]) => [t, (place as { export: string }).export] as const) // why: filtered to export places
      .filter(([, p]) => at(p).length === 0);
    expect(empty.map(([t, p]) => `${t} → ${p}`), 'export parts without the seeded rows').to.deep.equal([]);
    const json = JSON.stringify(data);
    for (const t of TERMS) expect(json, t).to.contain(JSON.stringify(t).slice(1, -1));
    expect(data.assemblies.rsvps[0]).to.include({ names: `${SEEDED.repName}, ${SEEDED.billingName}`, attending: true });
    expect(data.assemblies.attendance[0]).to.include({ personName: SEEDED.billingName });
    expect(data.assemblies.motions[0]).to.include({ submittedBy: `Dr. ${SEEDED.repName}` });
    expect(data.assemblies.proxies[0]).to.include({ holderOrganisationId: otherId });
    expect(data.assemblies.writtenBallots[0]).to.include({ answer: 'yes', answeredName: SEEDED.repName });
    // the Art. 15(1) information, from the settings and the configuration
    const info = data.information;
    expect(info.authority).to.include({ code: 'ni', land: 'Niedersachsen' });
    expect(info.storagePeriods).to.include({ contactRetentionYears: 1, invoiceRetentionYears: 8, booksRetentionYears: 10 });
    expect(info.recipients.join('\n')).not.to.contain('Stripe'); // Stripe is not configured here
    expect(info.configuredRecipients.find((r) => r.kind === 'payments')).to.include({ active: false });
    expect(info.configuredRecipients.find((r) => r.kind === 'mail')).to.include({ active: false });
    expect(info.purposes.join('\n')).to.contain('Art. 6 Abs. 1 lit. b DSGVO');
    expect(info.rights).to.contain('Art. 15');
    expect(data.disclosures.map((d) => d.purpose)).to.include('Mitgliederliste für ein Mitglied');

    // the readable page shows the same
    const page = await board.get(`/board/gdpr/organisations/${orgId}`);
    expect(page.text).to.contain('Rückmeldungen (mit Namen)').and.contain(`${SEEDED.repName}, ${SEEDED.billingName}`);
    expect(page.text).to.contain('Landesbeauftragte(r) für den Datenschutz Niedersachsen');
    expect(page.text).to.contain('Daten der Kontaktpersonen ehemaliger Mitglieder: 1 Jahr(e) nach dem Austritt');
  });

  it('gives a contact their own data in the portal, logged, and refuses a contact of another organisation', async () => {
    const page = await repBrowser.get('/portal/account');
    expect(page.text).to.contain('Meine Daten herunterladen');
    const own = await repBrowser.agent.post('/portal/data-export').type('form').send({ _csrf: Browser.csrfFrom(page.text) });
    expect(own.status).to.equal(200);
    const data = JSON.parse(own.text);
    expect(data.contacts.map((c: { email: string }) => c.email)).to.deep.equal([SEEDED.repEmail]);
    expect(data.assemblies.motions).to.have.length(1);
    expect(data.assemblies.writtenBallots[0].answeredName).to.equal(SEEDED.repName);
    expect(data.demands.supports).to.have.length.above(0);
    expect(data.demands.demands).to.have.length(1);
    expect(data.information.authority.land).to.equal('Niedersachsen');
    expect(JSON.stringify(data.contacts)).not.to.contain(SEEDED.billingEmail);
    const log = (await env.db('export_log').orderBy('id', 'desc').first())!;
    expect(log).to.include({ format: 'gdpr_json', purpose: 'Art. 15/20 DSGVO (Kontaktperson)' });
    // a colleague of the same organisation: allowed; a contact of another organisation: not found
    const colleague = await repBrowser.agent.post('/portal/data-export').type('form').send({ _csrf: Browser.csrfFrom(page.text), contactId: String(billingContactId) });
    expect(colleague.status).to.equal(200);
    const foreign = (await env.db('contacts').where({ organisation_id: otherId }).first())!;
    const refused = await repBrowser.agent.post('/portal/data-export').type('form').send({ _csrf: Browser.csrfFrom(page.text), contactId: String(foreign.id) });
    expect(refused.status).to.equal(404);
    expect(refused.text).not.to.contain('rep@okertal.example');
    const junk = await repBrowser.agent.post('/portal/data-export').type('form').send({ _csrf: Browser.csrfFrom(page.text), contactId: 'abc' });
    expect(junk.status).to.equal(404);
    expect(repContactId).to.be.above(0);
  });

  it('is refused with the reason while an invoice is unpaid, and nothing changes', async () => {
    env.clock.set('2028-02-01T09:00:00Z'); // exit 31.01.2027 + 1 year has passed
    const page = await board.get('/board/gdpr');
    expect(page.text).to.contain('noch nicht bezahlt');
    const res = await board.submit('/board/gdpr', { ids: String(orgId) }, '/board/gdpr/anonymise');
    expect(res.status).to.equal(303);
    const after = await board.get('/board/gdpr');
    const inv = (await env.db('invoices').where({ id: invoiceId }).first())!;
    expect(after.text).to.contain(`nicht anonymisiert, weil die Rechnung ${inv.number} noch nicht bezahlt ist`);
    expect((await env.db('contacts').where({ organisation_id: orgId }).first())!.email).to.equal(SEEDED.repEmail);
    expect(await env.db('gdpr_anonymisations').where({ organisation_id: orgId }).first()).to.equal(undefined);
    // the daily retention run leaves it for later too, without failing
    const run = (await env.ctx.retention.run({ trigger: 'cli' }))!;
    expect(run).to.include({ status: 'done' });
    expect(run.counts).to.include({ formerMembers: 0, mailBodies: 0, auditDetails: 0 });
    expect((await env.db('contacts').where({ organisation_id: orgId }).first())!.email).to.equal(SEEDED.repEmail);
  });

  it('after payment removes names, e-mails, phones and the street from every table and every stored mail, except what tax law keeps', async () => {
    const inv = (await env.db('invoices').where({ id: invoiceId }).first())!;
    const pay = await board.submit(`/treasurer/invoices/${invoiceId}`, { date: '2028-01-15', amount: formatMoney(Number(inv.amount_cents) - 10_000).replace(/\s*€$/, ''), reference: `Überweisung ${SEEDED.billingName}` }, `/treasurer/invoices/${invoiceId}/payments`);
    expect(pay.status, pay.text.slice(0, 500)).to.equal(303);

    const res = await board.submit('/board/gdpr', { ids: String(orgId) }, '/board/gdpr/anonymise');
    expect(res.status).to.equal(303);
    expect((await board.get('/board/gdpr')).text).to.contain('1 Organisation anonymisiert');

    const hits = await findTerms(env.db, TERMS);
    const outside = hits.filter((h) => {
      const [place] = h.split(':');
      const [table, col] = place.split('.');
      return !TAX_KEPT[table]?.includes(col);
    });
    expect(outside, outside.join('\n')).to.deep.equal([]);
    // the tax record keeps the buyer and the contact it went to
    expect((await env.db('invoices').where({ id: invoiceId }).first())!).to.include({ recipient_street: SEEDED.street, contact_email: SEEDED.billingEmail });
    // the invoice mail keeps its PDF as sent
    const invoiceMail = (await env.db('mail_messages').whereRaw("template like 'dues%'").where({ related_id: invoiceId }).first())
      ?? (await env.db('mail_messages').whereRaw("template like 'dues%'").first())!;
    expect(invoiceMail.attachments).to.be.a('string').and.contain('application/pdf');
    expect(invoiceMail.to_address).not.to.contain('feinchemie');

    // the representative's portal session has ended
    const portal = await repBrowser.get('/portal');
    expect(portal.status).to.equal(303);
    expect(portal.headers.location).to.equal('/login');
    // the stored .eml files: none names a contact
    for (const f of fs.readdirSync(mailDir).filter((x) => x.endsWith('.eml'))) {
      const raw = fs.readFileSync(path.join(mailDir, f));
      const parsed = await simpleParser(raw);
      const all = [raw.toString('utf8'), parsed.subject ?? '', parsed.text ?? '', typeof parsed.html === 'string' ? parsed.html : '',
        JSON.stringify(parsed.to ?? ''), JSON.stringify(parsed.cc ?? '')].join('\n').toLowerCase();
      for (const t of TERMS) expect(all.includes(t.toLowerCase()), `${f} holds ${t}`).to.equal(false);
    }

    // the entries stay, without the values; the anonymisation's own entry holds no personal data
    expect(Number((await env.db('audit_log').where({ action: 'assembly.rsvp' }).count({ n: '*' }))[0].n)).to.equal(1);
    const done = (await env.db('audit_log').where({ action: 'gdpr.anonymised', entity_id: orgId }).first())!;
    expect(JSON.parse(done.after!)).to.deep.equal({ contacts: 2, usersDisabled: 2 });
    // the organisation stays a former member under its name and number; the other member is untouched
    expect((await env.db('organisations').where({ id: orgId }).first())!).to.include({ legal_name: 'Harzer Feinchemie GmbH', status: 'former' });
    expect((await env.db('contacts').where({ organisation_id: otherId }).first())!.email).to.equal('rep@okertal.example');
    // the proxy and the support stay as facts (who gave a vote to whom), without names
    expect(await env.db('assembly_proxies').where({ giver_organisation_id: orgId }).first()).to.not.equal(undefined);
    // the export says what is kept and why
    const data = await env.ctx.gdpr.exportOrganisation(orgId);
    expect(data.information.keptByLegalObligation).to.contain('§ 14b UStG');
    expect(JSON.stringify(data.contacts)).not.to.contain('Wölfel');
  });
});
