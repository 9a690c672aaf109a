import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { DEFAULT_ASSOCIATION } from '../../server/settings/settings.schemas.ts';
import type { Context } from '../../server/context.ts';

const actor = { userId: null, label: 'test' };
const eur = (s: string) => `${s}\u00a0€`;

async function makeOrg(ctx: Context, o: { name: string; categoryId: number; band?: string; joinDate: string; email: string }): Promise<number> {
  return ctx.db.transaction(async (trx) => (await ctx.members.createOrganisation(trx, actor, {
    legalName: o.name, legalForm: 'GmbH', street: 'Hauptstraße 1', postcode: '38640', city: 'Goslar', country: 'DE', website: '', registerEntry: '',
    vatId: '', fieldOfActivity: 'Chemie', employeeBand: o.band ?? '1-49', categoryId: o.categoryId, joinDate: o.joinDate,
  }, [{ name: 'Buchhaltung', email: o.email, phone: '', position: '', isRepresentative: true, isBilling: true, locale: 'de', consentEmailInvitations: false }],
  { invite: false, welcome: false })).organisationId);
}

describe('dues from the member page: a joiner billed singly, leavers never billed after their end, the member\'s account', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let treasurer: Browser;
  let board: Browser;
  const org: Record<string, number> = {};

  before(async () => {
    env = await createTestEnv();
    env.clock.set('2027-01-10T09:00:00Z');
    const cats = await makeCategories(env.ctx);
    await env.ctx.settings.updateAssociation(actor, {
      ...DEFAULT_ASSOCIATION, name: 'ChemieNetzwerk Harz e.V.', street: 'Adolph-Roemer-Straße 2A', postcode: '38678', city: 'Clausthal-Zellerfeld',
      taxNumber: '21/270/12345', bankHolder: 'ChemieNetzwerk Harz e.V.', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', bankName: 'Commerzbank',
    });
    org.stays = await makeOrg(env.ctx, { name: 'Harzer Spezialchemie GmbH', categoryId: cats.company, band: '250+', joinDate: '2015-03-01', email: 'fibu@harzer.example' });
    org.leaves = await makeOrg(env.ctx, { name: 'Ausgetreten Chemie GmbH', categoryId: cats.company, band: '50-249', joinDate: '2012-01-01', email: 'fibu@aus.example' });
    await env.ctx.dues.freezeFeeSchedule(actor, 2027);
    await makeUser(env.ctx, 'treasurer@test.example', ['treasurer']);
    await makeUser(env.ctx, 'board@test.example', ['board']);
    treasurer = new Browser(env.app);
    await treasurer.login('treasurer@test.example', PASSWORD);
    board = new Browser(env.app);
    await board.login('board@test.example', PASSWORD);
  });
  after(async () => env.close());

  const single = (id: number, year: string) => treasurer.submit(`/treasurer/invoices?year=2027`, { year }, `/treasurer/organisations/${id}/invoice`);

  it('issues the year\'s invoices of the members first, then a leaver\'s open invoice is flagged and "Neu ausstellen" refuses', async () => {
    for (const id of [org.stays, org.leaves]) expect((await env.ctx.dues.issueDuesInvoice(actor, id, 2027)).issued).to.equal(true);
    const mine = (await env.ctx.dues.invoicesForOrganisation(org.leaves))[0];
    // excluded on 30.06.2027 (recorded by the board later in the year)
    env.clock.set('2027-07-15T09:00:00Z');
    await env.db('organisations').where({ id: org.leaves }).update({ status: 'former', exit_date: '2027-06-30', exit_reason: 'exclusion' });
    const page = await treasurer.get(`/treasurer/invoices/${mine.id}`);
    expect(page.text).to.match(/id="left-flag"[^>]*>Mitglied ausgetreten zum 30\.06\.2027/);
    const list = await treasurer.get('/treasurer/invoices?year=2027');
    expect(list.text).to.contain('Mitglied ausgetreten zum 30.06.2027');
    expect(list.text.match(/Mitglied ausgetreten/g)).to.have.length(1);
    // the preview refuses the year, saying why
    const preview = await env.ctx.dues.preview(2027);
    const row = preview.rows.find((r) => r.organisationId === org.leaves)!;
    expect(row.skip).to.equal('invoiced');
    await env.ctx.dues.cancelInvoice(actor, mine.id, 'Ausschluss zum 30.06.');
    const after = await env.ctx.dues.preview(2027);
    expect(after.rows.find((r) => r.organisationId === org.leaves)!.skip).to.equal('left');
    expect(after.skipped.left).to.equal(1);
    const pp = await treasurer.get('/treasurer/runs/new/2027');
    expect(pp.text).to.contain('Mitgliedschaft endet am 30.06.2027: keine Rechnung für 2027');
    // "Neu ausstellen" refuses with the reason; no invoice, no number used
    const before = await env.db('invoices').count({ n: '*' });
    const res = await treasurer.submit(`/treasurer/invoices/${mine.id}`, {}, `/treasurer/invoices/${mine.id}/reissue`);
    expect(res.status).to.equal(303);
    const back = await treasurer.get(res.headers.location);
    expect(back.text).to.contain('Die Mitgliedschaft endete am 30.06.2027; eine Rechnung für 2027 würde einen Zeitraum nach dem Austritt berechnen.');
    expect(await env.db('invoices').count({ n: '*' })).to.deep.equal(before);
    // and so does the single invoice from the member page
    const s = await single(org.leaves, '2027');
    expect((await treasurer.get(s.headers.location)).text).to.contain('Die Mitgliedschaft endete am 30.06.2027');
  });

  it('bills a joiner singly from the member page: pro-rata from the join date\'s month, the period printed from the join date, the next number', async () => {
    env.clock.set('2027-12-10T09:00:00Z');
    const cats = await env.ctx.settings.categories({ includeInactive: true });
    org.joiner = await makeOrg(env.ctx, { name: 'Neu im Dezember GmbH', categoryId: cats.find((c) => c.code === 'company')!.id, band: '50-249', joinDate: '2027-12-02', email: 'neu@dezember.example' });
    const memberPage = await treasurer.get(`/board/members/${org.joiner}`);
    expect(memberPage.text).to.contain(`action="/treasurer/organisations/${org.joiner}/invoice"`);
    const res = await single(org.joiner, '2027');
    expect(res.status).to.equal(303);
    const inv = (await env.ctx.dues.invoicesForOrganisation(org.joiner))[0];
    expect(res.headers.location).to.equal(`/treasurer/invoices/${inv.id}`);
    // 2027-0001 and -0002 for the two members, -0003 the Stornorechnung: the joiner gets -0004
    expect(inv).to.include({ number: '2027-0004', amountCents: 10000, periodStart: '2027-12-02', periodEnd: '2027-12-31', duesRunId: null });
    const page = await treasurer.get(res.headers.location);
    expect(page.text).to.contain('02.12.2027–31.12.2027');
    expect(page.text).to.contain(`Anteilig 1/12 des Jahresbeitrags von ${eur('1.200,00')} (Beitritt am 02.12.2027)`);
    expect(await env.db('mail_messages').where({ template: 'dues_invoice', to_address: 'neu@dezember.example' })).to.have.length(1);
    expect(await env.db('audit_log').where({ action: 'invoice.issued', entity_id: inv.id })).to.have.length(1);
    // a second time: refused, naming the invoice
    const again = await single(org.joiner, '2027');
    expect((await treasurer.get(again.headers.location)).text).to.contain('hat dieses Mitglied schon die Rechnung 2027-0004');
    // a year without a fee schedule: refused, nothing issued
    const none = await single(org.joiner, '2028');
    expect((await treasurer.get(none.headers.location)).text).to.contain('Für 2028 gibt es keine festgelegte Beitragsordnung');
    expect(await env.ctx.dues.invoicesForOrganisation(org.joiner)).to.have.length(1);
    // only the treasurer may: the board sees no form and is refused
    const bp = await board.get(`/board/members/${org.joiner}`);
    expect(bp.text).not.to.contain('/invoice"');
    const forbidden = await board.agent.post(`/treasurer/organisations/${org.joiner}/invoice`).type('form').send({ _csrf: Browser.csrfFrom(bp.text), year: '2027' });
    expect(forbidden.status).to.equal(403);
  });

  it('lists the member\'s invoices and payments on the board\'s member page', async () => {
    const inv = (await env.ctx.dues.invoicesForOrganisation(org.stays))[0];
    await env.ctx.payments.record(actor, inv.id, { date: '2027-02-01', amountCents: 250000, reference: 'Überweisung Februar' });
    const page = await board.get(`/board/members/${org.stays}`);
    expect(page.status).to.equal(200);
    expect(page.text).not.to.contain('sobald die Beitragsabrechnung eingerichtet ist');
    expect(page.text).to.match(/id="member-invoices"[\s\S]*2027-0001[\s\S]*2\.500,00\u00a0€[\s\S]*bezahlt/);
    expect(page.text).to.match(/id="member-payments"[\s\S]*01\.02\.2027[\s\S]*Überweisung Februar/);
    // the board cannot open the treasurer's invoice page, so no link to it
    expect(page.text).not.to.contain(`href="/treasurer/invoices/${inv.id}"`);
    const leaver = await board.get(`/board/members/${org.leaves}`);
    expect(leaver.text).to.contain('2027-0002');
    expect(leaver.text).to.contain('2027-0003');
    const fresh = await board.get(`/board/members/${org.joiner}`);
    expect(fresh.text).to.contain('2027-0004');
  });

  it('refuses to issue an invoice without the association\'s tax number or tax note, naming the setting', async () => {
    const association = await env.ctx.settings.association();
    await env.ctx.settings.updateAssociation(actor, { ...association, taxNumber: '' });
    const cats = await env.ctx.settings.categories({ includeInactive: true });
    const id = await makeOrg(env.ctx, { name: 'Ohne Steuernummer GmbH', categoryId: cats.find((c) => c.code === 'company')!.id, joinDate: '2027-11-01', email: 'x@ohne.example' });
    const res = await single(id, '2027');
    expect((await treasurer.get(res.headers.location)).text).to.contain('Einstellungen → Verein → „Steuernummer“');
    expect(await env.ctx.dues.invoicesForOrganisation(id)).to.have.length(0);
    const preview = await treasurer.get('/treasurer/runs/new/2027');
    expect(preview.text).to.match(/id="tax-missing"[\s\S]*Einstellungen → Verein → „Steuernummer“ ist leer/);
    expect(preview.text).not.to.contain('action="/treasurer/runs"');
    const run = await treasurer.agent.post('/treasurer/runs').type('form').send({ _csrf: Browser.csrfFrom(preview.text), year: '2027' });
    expect(run.status).to.equal(303);
    expect((await treasurer.get(run.headers.location)).text).to.contain('Der Beitragslauf 2027 startet nicht');
    await env.ctx.settings.updateRules(actor, { ...(await env.ctx.settings.rules()), invoiceTaxNote: '' });
    await env.ctx.settings.updateAssociation(actor, association);
    expect(await env.ctx.dues.missingTaxSettings()).to.deep.equal(['invoiceTaxNote']);
    const again = await single(id, '2027');
    expect((await treasurer.get(again.headers.location)).text).to.contain('„Steuerhinweis auf Rechnungen“');
  });
});
