import { expect } from 'chai';
import JSZip from 'jszip';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { DEFAULT_ASSOCIATION, DEFAULT_EINVOICE } from '../../server/settings/settings.schemas.ts';
import type { Context } from '../../server/context.ts';
import { detach, hasPoppler, hasXmllint, schematronFailures, STANDARDS, xsdErrors } from '../helpers/einvoice-standards.ts';

const actor = { userId: null, label: 'test' };

async function makeOrg(ctx: Context, o: { name: string; categoryId: number; street?: string; email: string }): Promise<number> {
  return ctx.db.transaction(async (trx) => {
    const r = await ctx.members.createOrganisation(trx, actor, {
      legalName: o.name, legalForm: 'GmbH', street: o.street ?? 'Hauptstraße 1', postcode: '38640', city: 'Goslar', country: 'DE', website: '', registerEntry: '',
      vatId: '', fieldOfActivity: 'Chemie', employeeBand: '1-49', categoryId: o.categoryId, joinDate: '2020-01-01',
    }, [{ name: 'Buchhaltung', email: o.email, phone: '', position: '', isRepresentative: true, isBilling: true, locale: 'de', consentEmailInvitations: false }], { invite: false, welcome: false });
    return r.organisationId;
  });
}

type Attachment = { filename: string; contentType: string; contentBase64: string };
async function attachmentsOf(env: TestEnv, invoiceId: number): Promise<Attachment[]> {
  const m = await env.db('mail_messages').where({ related_type: 'invoice', related_id: invoiceId }).first();
  return m?.attachments ? JSON.parse(m.attachments) as Attachment[] : [];
}

describe('e-invoices: issue, refusal before a number, public body with XRechnung, downloads, settings', function () {
  this.timeout(300_000);
  let env: TestEnv;
  let cats: Record<string, number>;
  let treasurer: Browser;
  let board: Browser;
  const org: Record<string, number> = {};

  before(async () => {
    env = await createTestEnv();
    env.clock.set('2027-01-05T09:00:00Z');
    cats = await makeCategories(env.ctx);
    await env.ctx.settings.updateAssociation(actor, {
      ...DEFAULT_ASSOCIATION, name: 'ChemieNetzwerk Harz e.V.', street: 'Adolph-Roemer-Straße 2A', postcode: '38678', city: 'Clausthal-Zellerfeld',
      taxNumber: '21/270/12345', bankHolder: 'ChemieNetzwerk Harz e.V.', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', bankName: 'Commerzbank',
    });
    org.firm = await makeOrg(env.ctx, { name: 'Harzer Spezialchemie GmbH', categoryId: cats.company, email: 'ap@harzer.example' });
    org.institute = await makeOrg(env.ctx, { name: 'Institut für Werkstoffe', categoryId: cats.research, email: 'rechnung@iwt.example' });
    org.noStreet = await makeOrg(env.ctx, { name: 'Ohne Anschrift GmbH', categoryId: cats.company, street: '', email: 'x@ohne.example' });
    await env.ctx.dues.freezeFeeSchedule(actor, 2027);
    await makeUser(env.ctx, 'treasurer@test.example', ['treasurer']);
    await makeUser(env.ctx, 'board@test.example', ['board']);
    treasurer = new Browser(env.app);
    await treasurer.login('treasurer@test.example', PASSWORD);
    board = new Browser(env.app);
    await board.login('board@test.example', PASSWORD);
  });
  after(async () => env.close());

  it('the treasurer sets the e-invoice settings; a wrong value is refused next to its field and what was typed stays', async () => {
    const bad = await treasurer.submit('/treasurer/einvoice', { electronicAddress: 'kein-at', vatId: '', contactName: 'Petra Kolbe', phone: '+49 5323 72-1234', exemptionReason: 'Mitgliedsbeitrag – nicht steuerbarer echter Mitgliedsbeitrag', paymentMeans: 'credit_transfer' });
    expect(bad.status).to.equal(422);
    expect(bad.text).to.contain('Bitte eine gültige E-Mail-Adresse eingeben').and.to.contain('value="Petra Kolbe"');
    const ok = await treasurer.submit('/treasurer/einvoice', { electronicAddress: 'rechnung@chemienetzwerk-harz.example', vatId: '', contactName: 'Petra Kolbe', phone: '+49 5323 72-1234', exemptionReason: DEFAULT_EINVOICE.exemptionReason, paymentMeans: 'credit_transfer' });
    expect(ok.status).to.equal(303);
    expect((await env.ctx.settings.einvoice()).phone).to.equal('+49 5323 72-1234');
  });

  it('the board marks the institute as a public body: a Leitweg-ID with a wrong check digit is refused, the right one saved', async () => {
    const url = `/board/members/${org.institute}/einvoice`;
    const bad = await board.submit(url, { format: 'both', publicBody: '1', leitwegId: '04011000-1234512345-07' });
    expect(bad.status).to.equal(422);
    expect(bad.text).to.contain('Die Prüfziffern der Leitweg-ID stimmen nicht').and.to.contain('value="04011000-1234512345-07"');
    expect((await env.ctx.members.get(org.institute))!.einvoice.publicBody).to.equal(false);
    const ok = await board.submit(url, { format: 'both', publicBody: '1', leitwegId: '04011000-1234512345-06' });
    expect(ok.status).to.equal(303);
    expect((await env.ctx.members.get(org.institute))!.einvoice).to.deep.equal({ publicBody: true, leitwegId: '04011000-1234512345-06', format: 'both' });
    const page = await board.get(`/board/members/${org.institute}`);
    expect(page.text).to.contain('04011000-1234512345-06');
  });

  it('an invoice that EN 16931 would refuse (no street) is not issued and takes no number; the message names the field', async () => {
    const r = await env.ctx.dues.issueSingle(actor, org.noStreet, 2027);
    expect(r).to.deep.include({ issued: false, reason: 'einvoice' });
    expect(r.issued === false && r.fields).to.deep.equal(['buyer.street']);
    expect(await env.db('invoices').where({ organisation_id: org.noStreet }).first()).to.equal(undefined);
    const res = await treasurer.submit(`/board/members/${org.noStreet}`, { year: '2027' }, `/treasurer/organisations/${org.noStreet}/invoice`);
    expect(res.status).to.equal(303);
    const page = await treasurer.get(res.headers.location);
    expect(page.text).to.contain('Straße des Mitglieds');
  });

  it('the firm gets the hybrid PDF (factur-x.xml inside, number 2027-0001: nothing was used up by the refusal); the institute also an XRechnung', async () => {
    const a = await env.ctx.dues.issueSingle(actor, org.firm, 2027);
    const b = await env.ctx.dues.issueSingle(actor, org.institute, 2027);
    expect(a).to.deep.include({ issued: true, number: '2027-0001' });
    expect(b).to.deep.include({ issued: true, number: '2027-0002' });
    const firm = await attachmentsOf(env, a.issued ? a.invoiceId : 0);
    expect(firm.map((x) => x.filename)).to.deep.equal(['Rechnung-2027-0001.pdf']);
    const inst = await attachmentsOf(env, b.issued ? b.invoiceId : 0);
    expect(inst.map((x) => x.filename)).to.deep.equal(['Rechnung-2027-0002.pdf', 'xrechnung-2027-0002.xml']);
    const xr = Buffer.from(inst[1].contentBase64, 'base64').toString('utf8');
    expect(xr).to.contain('urn:xeinkauf.de:kosit:xrechnung_3.0').and.to.contain('<ram:BuyerReference>04011000-1234512345-06</ram:BuyerReference>');
    if (STANDARDS && hasXmllint) {
      expect(xsdErrors(xr)).to.equal('');
      expect(await schematronFailures(xr)).to.deep.equal([]);
    }
    if (hasPoppler) {
      const embedded = detach(Buffer.from(firm[0].contentBase64, 'base64'), 'factur-x.xml').content;
      expect(embedded).to.contain('<ram:ID>2027-0001</ram:ID>').and.to.contain('<ram:CategoryCode>O</ram:CategoryCode>');
      if (STANDARDS && hasXmllint) expect(xsdErrors(embedded)).to.equal('');
    }
  });

  it('a Stornorechnung is a credit note 381 referencing the original; the treasurer downloads its XML', async () => {
    const inv = await env.db('invoices').where({ number: '2027-0001' }).first();
    const c = await env.ctx.dues.cancelInvoice(actor, Number(inv!.id), 'Kategorie falsch');
    const res = await treasurer.get(`/treasurer/invoices/${c.cancellationId}/xml`);
    expect(res.status).to.equal(200);
    expect(res.headers['content-disposition']).to.contain(`factur-x-${c.number}.xml`);
    const xml = res.text || String(res.body);
    expect(xml).to.contain('<ram:TypeCode>381</ram:TypeCode>').and.to.contain('<ram:IssuerAssignedID>2027-0001</ram:IssuerAssignedID>');
    if (STANDARDS && hasXmllint) expect(await schematronFailures(xml)).to.deep.equal([]);
  });

  it('the treasurer downloads the year as a ZIP: each invoice as hybrid PDF and XML, the XRechnung where one was sent (audited)', async () => {
    const res = await treasurer.agent.get('/treasurer/export/einvoices-2027.zip').buffer(true).parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (d: Buffer) => chunks.push(d));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    });
    expect(res.status).to.equal(200);
    const zip = await JSZip.loadAsync(res.body as Buffer);
    const names = Object.keys(zip.files).sort();
    expect(names).to.include.members(['2027-0001.pdf', '2027-0001-factur-x.xml', '2027-0002-xrechnung.xml', '2027-0003.pdf']);
    expect(await env.db('audit_log').where({ action: 'invoices.einvoices_exported' }).first()).to.not.equal(undefined);
  });
});
