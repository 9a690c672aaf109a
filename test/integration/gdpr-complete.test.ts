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

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'verein-gdpr-'));
    mailDir = path.join(dataDir, 'mail');
    env = await createTestEnv({ env: { DATA_DIR: dataDir }, transport: fileTransport(mailDir) });
    const cats = await makeCategories(env.ctx);
    await env.ctx.settings.updateAssociation(actor, {
      ...DEFAULT_ASSOCIATION, name: 'ChemieNetzwerk Harz e.V.', street: 'Adolph-Roemer-Straße 2A', postcode: '38678', city: 'Clausthal-Zellerfeld',
      taxNumber: '21/270/12345', bankHolder: 'ChemieNetzwerk Harz e.V.', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', bankName: 'Commerzbank',
    });
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

    // 6. an invoice (mailed with its PDF) and, later, its payment
    env.clock.set('2027-01-10T09:00:00Z');
    await env.ctx.dues.freezeFeeSchedule(actor, 2027);
    const issued = await env.ctx.dues.issueDuesInvoice(actor, orgId, 2027);
    if (!issued.issued) throw new Error('invoice not issued');
    invoiceId = issued.invoiceId;
    await env.ctx.outbox.flush();
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
  });

  it('after payment removes names, e-mails, phones and the street from every table and every stored mail, except what tax law keeps', async () => {
    const inv = (await env.db('invoices').where({ id: invoiceId }).first())!;
    const pay = await board.submit(`/treasurer/invoices/${invoiceId}`, { date: '2028-01-15', amount: formatMoney(Number(inv.amount_cents)).replace(/\s*€$/, ''), reference: `Überweisung ${SEEDED.billingName}` }, `/treasurer/invoices/${invoiceId}/payments`);
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
