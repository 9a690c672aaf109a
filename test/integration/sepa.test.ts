import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { SmtpSink } from '../fakes/smtp-sink.ts';
import { DEFAULT_ASSOCIATION, DEFAULT_SEPA } from '../../server/settings/settings.schemas.ts';
import type { Context } from '../../server/context.ts';
import { hasPoppler, hasXmllint, painSchema, pdfText, schemaErrors, STANDARDS, xsdErrors } from '../helpers/einvoice-standards.ts';

const actor = { userId: null, label: 'test' };
/** The association as a SEPA creditor: address, tax number, account and creditor ID. */
const CREDITOR = {
  ...DEFAULT_ASSOCIATION, name: 'ChemieNetzwerk Harz e.V.', street: 'Adolph-Roemer-Straße 2A', postcode: '38678', city: 'Clausthal-Zellerfeld', contactEmail: 'vorstand@cnh.example',
  taxNumber: '21/270/12345', bankHolder: 'ChemieNetzwerk Harz e.V.', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', bankName: 'Commerzbank', sepaCreditorId: 'DE98ZZZ09999999999',
};

async function makeOrg(ctx: Context, name: string, categoryId: number, email: string, invite = false): Promise<number> {
  return ctx.db.transaction(async (trx) => (await ctx.members.createOrganisation(trx, actor, {
    legalName: name, legalForm: 'GmbH', street: 'Hauptstraße 1', postcode: '38640', city: 'Goslar', country: 'DE', website: '', registerEntry: '',
    vatId: '', fieldOfActivity: 'Chemie', employeeBand: '50-249', categoryId, joinDate: '2015-01-01',
  }, [{ name: 'Buchhaltung', email, phone: '', position: '', isRepresentative: true, isBilling: true, locale: 'de', consentEmailInvitations: false }],
  { invite, welcome: false })).organisationId);
}

describe('SEPA direct debits: mandates, a collection run with pre-notifications and pain.008, returns', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let sink: SmtpSink;
  let board: Browser;
  let treasurer: Browser;
  let member: Browser;
  const org: Record<string, number> = {};
  const inv: Record<string, number> = {};
  let runId = 0;

  before(async () => {
    sink = await SmtpSink.start();
    env = await createTestEnv({ smtpUrl: sink.url });
    env.clock.set('2027-03-10T09:00:00Z'); // a Wednesday
    const cats = await makeCategories(env.ctx);
    await env.ctx.settings.updateAssociation(actor, CREDITOR);
    org.a = await makeOrg(env.ctx, 'Müller & Söhne Spezialchemie GmbH', cats.company, 'fibu@mueller.example');
    org.b = await makeOrg(env.ctx, 'Okertal Polymere AG', cats.company, 'konto@okertal.example', true);
    org.c = await makeOrg(env.ctx, 'Goslarer Labor GmbH', cats.company, 'labor@goslar.example');
    org.d = await makeOrg(env.ctx, 'Brocken Analytik KG', cats.company, 'info@brocken.example');
    await env.ctx.dues.freezeFeeSchedule(actor, 2027);
    for (const k of ['a', 'b', 'c', 'd']) {
      const r = await env.ctx.dues.issueDuesInvoice(actor, org[k], 2027);
      if (!r.issued) throw new Error('not issued');
      inv[k] = r.invoiceId;
    }
    await env.ctx.settings.updateSepa(actor, { ...DEFAULT_SEPA, returnFeeCents: 350 });
    await makeUser(env.ctx, 'board@test.example', ['board']);
    await makeUser(env.ctx, 'kasse@test.example', ['treasurer'], 'Kassenwartin');
    const u = await env.db('users').where({ email: 'konto@okertal.example' }).first();
    await env.ctx.users.setPassword(actor, Number(u!.id), PASSWORD);
    board = new Browser(env.app);
    await board.login('board@test.example', PASSWORD);
    treasurer = new Browser(env.app);
    await treasurer.login('kasse@test.example', PASSWORD);
    member = new Browser(env.app);
    await member.login('konto@okertal.example', PASSWORD);
    await env.ctx.outbox.flush();
    sink.messages.length = 0;
  });
  after(async () => {
    await env.close();
    await sink.stop();
  });

  const enterMandate = (orgId: number, data: Record<string, string>) => board.submit(`/board/sepa/members/${orgId}/mandates/new`, data, `/board/sepa/members/${orgId}/mandates`);

  it('refuses a paper mandate with an invalid IBAN or without a signature date, naming the field and keeping what was typed', async () => {
    let res = await enterMandate(org.a, { scheme: 'CORE', holder: 'Müller & Söhne', iban: 'DE88 3704 0044 0532 0130 00', bic: '', signedOn: '2027-03-01', reference: '' });
    expect(res.status).to.equal(422);
    expect(res.text).to.match(/id="e-iban"[^>]*>Diese IBAN ist ungültig/);
    expect(res.text).to.contain('value="DE88 3704 0044 0532 0130 00"');
    res = await enterMandate(org.a, { scheme: 'CORE', holder: 'Müller & Söhne', iban: 'DE02120300000000202051', bic: 'BYLADEM1001', signedOn: '', reference: '' });
    expect(res.status).to.equal(422);
    expect(res.text).to.match(/id="e-signedOn"[^>]*>Bitte das Datum der Unterschrift angeben/);
    res = await enterMandate(org.a, { scheme: 'CORE', holder: 'Müller & Söhne', iban: 'DE02120300000000202051', bic: 'XX', signedOn: '2027-03-01', reference: '' });
    expect(res.text).to.match(/id="e-bic"[^>]*>Diese BIC ist ungültig/);
    // the reference goes into the pain.008 as typed: a slash at its end (or first, or doubled) would make the bank refuse the file
    res = await enterMandate(org.a, { scheme: 'CORE', holder: 'Müller & Söhne', iban: 'DE02120300000000202051', bic: 'BYLADEM1001', signedOn: '2027-03-01', reference: 'MUELLER-2027/' });
    expect(res.status).to.equal(422);
    expect(res.text).to.match(/id="e-reference"[^>]*>Die Mandatsreferenz darf/);
    expect(res.text).to.contain('value="MUELLER-2027/"');
    expect(await env.ctx.sepa.mandatesOf(org.a)).to.have.length(0);
  });

  it('the board enters signed paper mandates; the member page shows them with reference, scheme and state', async () => {
    let res = await enterMandate(org.a, { scheme: 'CORE', holder: 'Müller & Söhne', iban: 'DE02 1203 0000 0000 2020 51', bic: 'BYLADEM1001', signedOn: '2027-03-01', reference: '' });
    expect(res.status).to.equal(303);
    res = await enterMandate(org.d, { scheme: 'CORE', holder: 'Brocken Analytik KG', iban: 'DE89370400440532013000', bic: '', signedOn: '2026-12-01', reference: 'BROCKEN-2026-1' });
    expect(res.status).to.equal(303);
    const page = await board.get(`/board/members/${org.a}`);
    expect(page.text).to.contain('id="member-mandates"');
    const [m] = await env.ctx.sepa.mandatesOf(org.a);
    expect(m.reference).to.match(/^M\d{5}-\d+$/);
    expect(page.text).to.contain(m.reference);
    expect(page.text).to.contain('DE02 1203 0000 0000 2020 51');
    expect(page.text).to.contain('SEPA-Basislastschrift (CORE)');
    expect(page.text).to.contain('gültig für Fälligkeiten bis 01.03.2030');
    const audit = await env.db('audit_log').where({ action: 'sepa.mandate_created' });
    expect(audit).to.have.length(2);
  });

  it('a member contact grants a B2B mandate in the portal (only with the consent ticked); the board revokes D\'s mandate', async () => {
    let res = await member.submit('/portal/sepa', { scheme: 'B2B', holder: 'Okertal Polymere AG', iban: 'AT611904300234573201', bic: '' });
    expect(res.status).to.equal(422);
    expect(res.text).to.match(/id="e-consent"[^>]*>Bitte das Mandat mit dem Häkchen erteilen/);
    res = await member.submit('/portal/sepa', { scheme: 'B2B', holder: 'Okertal Polymere AG', iban: 'AT611904300234573201', bic: '', consent: '1' });
    expect(res.status).to.equal(303);
    const page = await member.get('/portal/sepa');
    expect(page.text).to.contain('SEPA-Firmenlastschrift (B2B)');
    const [mb] = await env.ctx.sepa.mandatesOf(org.b);
    expect(mb).to.include({ scheme: 'B2B', source: 'portal', signedOn: '2027-03-10', iban: 'AT611904300234573201' });
    const [md] = await env.ctx.sepa.mandatesOf(org.d);
    res = await board.submit(`/board/members/${org.d}`, { reason: '' }, `/board/sepa/mandates/${md.id}/revoke`);
    expect(res.status).to.equal(303);
    expect((await env.ctx.sepa.mandatesOf(org.d))[0].state).to.equal('revoked');
  });

  it('the run preview lists the open invoices of members with an active mandate only; a due date too soon is refused naming the field', async () => {
    const preview = await treasurer.get('/treasurer/sepa/runs/new');
    expect(preview.status).to.equal(200);
    const numbers = await Promise.all(['a', 'b', 'c', 'd'].map(async (k) => (await env.ctx.dues.get(inv[k])).number));
    expect(preview.text).to.contain(`value="${inv.a}"`);
    expect(preview.text).to.contain(`value="${inv.b}"`);
    expect(preview.text).not.to.contain(`value="${inv.c}"`); // no mandate
    expect(preview.text).not.to.contain(`value="${inv.d}"`); // revoked
    expect(preview.text).to.contain(numbers[0]);
    // 14 days' pre-notification from Wednesday 10 March: 24 March at the earliest
    const res = await treasurer.submit('/treasurer/sepa/runs/new', { dueDate: '2027-03-23', invoiceIds: [String(inv.a), String(inv.b)] }, '/treasurer/sepa/runs');
    expect(res.status).to.equal(422);
    expect(res.text).to.match(/id="e-dueDate"[^>]*>Der Fälligkeitstag ist zu früh: Vorabankündigung und Vorlauffrist verlangen frühestens den 24\.03\.2027/);
    // a revoked mandate is never used: D's invoice cannot be put into a run
    const d = await treasurer.submit('/treasurer/sepa/runs/new', { dueDate: '2027-05-03', invoiceIds: [String(inv.d)] }, '/treasurer/sepa/runs');
    expect(d.status).to.equal(422);
    expect(d.text).to.contain('kein gültiges Mandat');
    expect(await env.ctx.sepa.runs()).to.have.length(0);
  });

  it('creates the run: each member gets the pre-notification with amount, due date, mandate reference and creditor id; the files download', async () => {
    const res = await treasurer.submit('/treasurer/sepa/runs/new', { dueDate: '2027-05-03', invoiceIds: [String(inv.a), String(inv.b)] }, '/treasurer/sepa/runs');
    expect(res.status).to.equal(303);
    runId = Number(res.headers.location.split('/').pop());
    await env.ctx.outbox.flush();
    const [ma] = await env.ctx.sepa.mandatesOf(org.a);
    const invA = await env.ctx.dues.get(inv.a);
    const toA = sink.messages.find((m) => m.envelopeTo.includes('fibu@mueller.example'));
    expect(toA, 'pre-notification to A').to.not.equal(undefined);
    expect(toA!.subject).to.contain(`Ankündigung der SEPA-Lastschrift zur Rechnung ${invA.number}`);
    expect(toA!.text).to.contain('03.05.2027');
    expect(toA!.text).to.contain(ma.reference);
    expect(toA!.text).to.contain('DE98ZZZ09999999999');
    expect(toA!.text.replace(/\s+/g, ' ')).to.contain(`${(invA.amountCents / 100).toLocaleString('de-DE', { minimumFractionDigits: 2 })}`);
    expect(sink.messages.some((m) => m.envelopeTo.includes('konto@okertal.example'))).to.equal(true);
    expect(sink.messages.some((m) => m.envelopeTo.includes('labor@goslar.example'))).to.equal(false);

    const page = await treasurer.get(`/treasurer/sepa/runs/${runId}`);
    expect(page.text).to.contain('id="sepa-files"');
    const core = await treasurer.get(`/treasurer/sepa/runs/${runId}/file?scheme=CORE&sequence=FRST&version=001.08`);
    expect(core.status).to.equal(200);
    expect(core.headers['content-disposition']).to.contain('pain.008.001.08-2027-05-03-CORE-FRST.xml');
    expect(core.text.replace(/\s+/g, '')).to.contain('<LclInstrm><Cd>CORE</Cd></LclInstrm>');
    expect(core.text).to.contain('<NbOfTxs>1</NbOfTxs>');
    expect(core.text).to.contain('<Nm>Mueller + Soehne</Nm>');
    const b2b = await treasurer.get(`/treasurer/sepa/runs/${runId}/file?scheme=B2B&sequence=FRST&version=001.02`);
    expect(b2b.status).to.equal(200);
    expect(b2b.text).to.contain('urn:iso:std:iso:20022:tech:xsd:pain.008.001.02');
    expect(b2b.text).to.contain('<Cd>B2B</Cd>');
    if (hasXmllint) { // the project's own schemas of the subset German banks accept (test/standards/sepa)
      expect(schemaErrors(core.text, painSchema('001.08'))).to.equal('');
      expect(schemaErrors(b2b.text, painSchema('001.02'))).to.equal('');
    }
    expect((await treasurer.get(`/treasurer/sepa/runs/${runId}/file?scheme=CORE&sequence=RCUR&version=001.08`)).status).to.equal(404);
    // the next run uses RCUR for these mandates
    expect((await env.ctx.sepa.mandatesOf(org.a))[0].nextSequence).to.equal('RCUR');
  });

  it('invoices in a collection get no reminder; after the due date they count as paid ("Lastschrift" on the due date)', async () => {
    env.clock.set('2027-04-28T09:00:00Z'); // the invoices were due 30 days after 10 March: the first reminder is due
    const sent = await env.ctx.reminders.sendDue(actor);
    expect(sent.first).to.equal(2); // C and D, not A and B
    expect((await env.ctx.dues.get(inv.a)).reminderLevel).to.equal(0);
    expect((await env.ctx.dues.get(inv.c)).reminderLevel).to.equal(1);
    env.clock.set('2027-05-03T08:00:00Z');
    const dash = await treasurer.get('/treasurer');
    expect(dash.text).to.contain('id="sepa-dashboard"');
    const a = await env.ctx.dues.get(inv.a);
    expect(a.status).to.equal('paid');
    const [p] = await env.ctx.payments.forInvoice(inv.a);
    expect(p).to.include({ date: '2027-05-03', method: 'bank' });
    expect(p.reference).to.match(/^Lastschrift D\d+-/);
  });

  it('refuses a return for an unknown end-to-end id and MD06 for a B2B debit, naming the field', async () => {
    env.clock.set('2027-05-06T08:00:00Z');
    let res = await treasurer.submit('/treasurer/sepa/returns/new', { endToEndId: 'D999-NOPE', reasonCode: 'AM04', amount: '10,00', bookedOn: '2027-05-05', fee: '' }, '/treasurer/sepa/returns');
    expect(res.status).to.equal(422);
    expect(res.text).to.match(/id="e-endToEndId"[^>]*>Zu dieser End-to-End-Referenz gibt es keine Lastschrift/);
    const debits = (await env.ctx.sepa.run(runId)).debits;
    const b = debits.find((x) => x.invoiceId === inv.b)!;
    res = await treasurer.submit('/treasurer/sepa/returns/new', { endToEndId: b.endToEndId, reasonCode: 'MD06', amount: '10,00', bookedOn: '2027-05-05', fee: '' }, '/treasurer/sepa/returns');
    expect(res.status).to.equal(422);
    expect(res.text).to.match(/id="e-reasonCode"[^>]*>MD06/);
    expect(res.text).to.contain(`value="${b.endToEndId}"`);
  });

  it('a return (MD06) reopens the invoice by a counter-booking, records the fee, tells member and treasurer, and blocks the mandate', async () => {
    sink.messages.length = 0;
    const a = (await env.ctx.sepa.run(runId)).debits.find((x) => x.invoiceId === inv.a)!;
    const res = await treasurer.submit(`/treasurer/sepa/returns/new?endToEndId=${a.endToEndId}`, {
      endToEndId: a.endToEndId, reasonCode: 'MD06', amount: (a.amountCents / 100).toFixed(2).replace('.', ','), bookedOn: '2027-05-05', fee: '3,50',
    }, '/treasurer/sepa/returns');
    expect(res.status).to.equal(303);
    const invA = await env.ctx.dues.get(inv.a);
    expect(invA.status).to.equal('open');
    expect(invA.paidCents).to.equal(0);
    const payments = await env.ctx.payments.forInvoice(inv.a);
    expect(payments.map((p) => p.kind).sort()).to.deep.equal(['payment', 'reversal']);
    const [m] = await env.ctx.sepa.mandatesOf(org.a);
    expect(m.state).to.equal('flagged');
    expect(m.flagCode).to.equal('MD06');
    await env.ctx.outbox.flush();
    const toMember = sink.messages.find((x) => x.envelopeTo.includes('fibu@mueller.example'));
    expect(toMember!.subject).to.contain(`Rücklastschrift zur Rechnung ${invA.number}`);
    const toTreasurer = sink.messages.find((x) => x.envelopeTo.includes('kasse@test.example'));
    expect(toTreasurer!.text).to.contain('3,50');
    expect(toTreasurer!.text).to.contain('MD06');
    // the same return twice: refused
    const again = await treasurer.submit('/treasurer/sepa/returns/new', { endToEndId: a.endToEndId, reasonCode: 'MD06', amount: '1,00', bookedOn: '2027-05-05', fee: '' }, '/treasurer/sepa/returns');
    expect(again.status).to.equal(422);
    // the blocked mandate is not offered in the next run; the reopened invoice is
    const preview = await env.ctx.sepa.preview('2027-06-01');
    expect(preview.map((x) => x.invoiceId)).to.not.include(inv.a);
    const list = await treasurer.get('/treasurer/sepa');
    expect(list.text).to.contain('id="sepa-return-list"');
    expect(list.text).to.contain('MD06');
  });

  it('the service contract for the bank import: recordReturn by end-to-end id (AM04 does not block the mandate)', async () => {
    const b = (await env.ctx.sepa.run(runId)).debits.find((x) => x.invoiceId === inv.b)!;
    const out = await env.ctx.sepa.recordReturn({ endToEndId: b.endToEndId, reasonCode: 'AM04', amountCents: b.amountCents, bookedOn: '2027-05-06' }, actor);
    expect(out).to.include({ invoiceId: inv.b, mandateFlagged: false });
    expect((await env.ctx.dues.get(inv.b)).status).to.equal('open');
    const [mb] = await env.ctx.sepa.mandatesOf(org.b);
    expect(mb.state).to.equal('active');
    expect(mb.nextSequence).to.equal('FRST'); // a returned first debit: the next is a first one again
  });
});

describe('SEPA settings: the treasurer sets the pre-notification days, lead times and the return fee; shown in words, audited', function () {
  this.timeout(30_000);
  let env: TestEnv;
  let treasurer: Browser;
  before(async () => {
    env = await createTestEnv();
    await makeUser(env.ctx, 'kasse@test.example', ['treasurer']);
    treasurer = new Browser(env.app);
    await treasurer.login('kasse@test.example', PASSWORD);
  });
  after(async () => env.close());

  it('defaults to 14 days and 1 business day; refuses 0 days next to the field; saves 5 days and 2,50 €', async () => {
    let page = await treasurer.get('/treasurer/sepa/settings');
    expect(page.text).to.contain('mindestens 14 Tage vor dem Fälligkeitstag');
    let res = await treasurer.submit('/treasurer/sepa/settings', { preNotificationDays: '0', leadBusinessDaysCore: '1', leadBusinessDaysB2b: '1', returnFee: '' });
    expect(res.status).to.equal(422);
    expect(res.text).to.match(/id="e-preNotificationDays"[^>]*>Bitte eine ganze Zahl von 1 bis 60/);
    res = await treasurer.submit('/treasurer/sepa/settings', { preNotificationDays: '5', leadBusinessDaysCore: '1', leadBusinessDaysB2b: '2', returnFee: '2,50' });
    expect(res.status).to.equal(303);
    page = await treasurer.get('/treasurer/sepa/settings');
    expect(page.text).to.contain('mindestens 5 Tage vor dem Fälligkeitstag');
    expect(await env.ctx.settings.sepa()).to.deep.equal({ preNotificationDays: 5, leadBusinessDaysCore: 1, leadBusinessDaysB2b: 2, returnFeeCents: 250, chargeReturnFee: false });
    expect(await env.db('audit_log').where({ action: 'settings.sepa_updated' })).to.have.length(1);
  });
});

describe('SEPA mandate in the e-invoice: a member whose dues are collected by debit gets payment means 59 with mandate, creditor ID and IBAN', function () {
  this.timeout(60_000);
  let env: TestEnv;
  const org: Record<string, number> = {};

  before(async () => {
    env = await createTestEnv();
    env.clock.set('2027-03-10T09:00:00Z');
    const cats = await makeCategories(env.ctx);
    await env.ctx.settings.updateAssociation(actor, CREDITOR);
    await env.ctx.settings.updateEinvoice(actor, { ...(await env.ctx.settings.einvoice()), paymentMeans: ['credit_transfer', 'direct_debit'] });
    org.debit = await makeOrg(env.ctx, 'Müller & Söhne Spezialchemie GmbH', cats.company, 'fibu@mueller.example');
    org.transfer = await makeOrg(env.ctx, 'Okertal Polymere AG', cats.company, 'konto@okertal.example');
    org.revoked = await makeOrg(env.ctx, 'Goslarer Labor GmbH', cats.company, 'labor@goslar.example');
    await env.ctx.sepa.createMandate(actor, org.debit, 'paper', { scheme: 'B2B', iban: 'DE02120300000000202051', bic: '', holder: 'Müller & Söhne Spezialchemie GmbH', signedOn: '2027-02-01', reference: 'CNH-M-0001' });
    const revoked = await env.ctx.sepa.createMandate(actor, org.revoked, 'paper', { scheme: 'CORE', iban: 'DE02500105170137075030', bic: '', holder: 'Goslarer Labor GmbH', signedOn: '2027-02-01', reference: 'CNH-M-0002' });
    await env.ctx.sepa.revokeMandate(actor, revoked, 'Kündigung durch das Mitglied');
    await env.ctx.dues.freezeFeeSchedule(actor, 2027);
  });
  after(async () => { await env.close(); });

  let debitInvoice = 0;
  async function issuedXml(orgId: number): Promise<string> {
    const r = await env.ctx.dues.issueDuesInvoice(actor, orgId, 2027);
    if (!r.issued) throw new Error('not issued');
    if (orgId === org.debit) debitInvoice = r.invoiceId;
    return (await env.ctx.dues.xml(r.invoiceId)).xml;
  }

  it('the member with an active B2B mandate: direct debit (59), mandate reference BT-89, creditor ID BT-90, debtor IBAN BT-91; valid against CII D16B', async () => {
    const xml = await issuedXml(org.debit);
    expect(xml).to.match(/<ram:SpecifiedTradeSettlementPaymentMeans>\s*<ram:TypeCode>59<\/ram:TypeCode>/);
    expect(xml).to.contain('<ram:DirectDebitMandateID>CNH-M-0001</ram:DirectDebitMandateID>');
    expect(xml).to.contain('<ram:CreditorReferenceID>DE98ZZZ09999999999</ram:CreditorReferenceID>');
    expect(xml).to.match(/<ram:PayerPartyDebtorFinancialAccount>\s*<ram:IBANID>DE02120300000000202051<\/ram:IBANID>/);
    if (STANDARDS && hasXmllint) expect(xsdErrors(xml)).to.equal('');
    if (hasPoppler) {
      const text = pdfText((await env.ctx.dues.pdf(debitInvoice)).pdf).replace(/\s+/g, ' ');
      expect(text).to.contain('per SEPA-Lastschrift von Ihrem Konto DE02 1203 0000 0000 2020 51 eingezogen (Mandatsreferenz CNH-M-0001, Gläubiger-ID DE98ZZZ09999999999)');
      expect(text).not.to.contain('Bitte überweisen Sie den Betrag');
      expect(text).not.to.contain('GiroCode');
    }
  });

  it('a member without a mandate, and one whose mandate was revoked: credit transfer (58) to the association, no mandate', async () => {
    for (const id of [org.transfer, org.revoked]) {
      const xml = await issuedXml(id);
      expect(xml).to.match(/<ram:TypeCode>58<\/ram:TypeCode>/);
      expect(xml).to.contain('DE89370400440532013000');
      expect(xml).not.to.contain('DirectDebitMandateID');
      expect(xml).not.to.contain('CNH-M-0002');
    }
  });
});
