import { expect } from 'chai';
import ExcelJS from 'exceljs';
import type { Knex } from 'knex';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { makeCategories, makeUser, PASSWORD } from '../helpers/fixtures.ts';
import { Browser } from '../helpers/http.ts';
import type { NewContact } from '../../server/members/members.service.ts';

const actor = { userId: null, label: 'test' };

/** Collects a binary response body (supertest buffers text only). */
function collect(res: NodeJS.ReadableStream, cb: (err: Error | null, body: Buffer) => void) {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => cb(null, Buffer.concat(chunks)));
}
const binary = collect as never; // supertest types its parser with superagent's Response; at run time it is the response stream

/** Sends the export form (a GET with the filter, as the export page's buttons do) and returns the downloaded file as a Buffer. */
async function download(b: Browser, action: string, data: Record<string, string>) {
  return b.agent.get(action).query(data).buffer(true).parse(binary);
}

async function addMember(env: TestEnv, categoryId: number, name: string, contacts: Partial<NewContact>[], extra: { memberNumber?: number; postcode?: string; city?: string } = {}) {
  return env.db.transaction((trx: Knex.Transaction) => env.ctx.members.createOrganisation(trx, actor, {
    legalName: name, legalForm: 'GmbH', street: 'Marktstraße 1', postcode: extra.postcode ?? '38640', city: extra.city ?? 'Goslar', country: 'DE',
    website: '', registerEntry: '', vatId: '', fieldOfActivity: '', employeeBand: '1-49', categoryId, joinDate: '2015-03-01',
    ...(extra.memberNumber ? { memberNumber: extra.memberNumber } : {}),
  }, contacts.map((c) => ({ name: '', email: '', phone: '', position: '', isRepresentative: true, isBilling: false, locale: 'de' as const, consentEmailInvitations: false, ...c })), { invite: false, welcome: false }));
}

describe('member data: exports', () => {
  let env: TestEnv;
  let board: Browser;
  let treasurer: Browser;
  let cats: Record<string, number>;

  before(async () => {
    env = await createTestEnv();
    cats = await makeCategories(env.ctx);
    await makeUser(env.ctx, 'vorstand@verein.example', ['board'], 'Vera Vorstand');
    await makeUser(env.ctx, 'kasse@verein.example', ['treasurer'], 'Karl Kasse');
    await makeUser(env.ctx, 'kontakt@mitglied.example', ['member']);
    await addMember(env, cats.company, 'Harzer Spezialchemie GmbH', [
      { name: 'Dr. Katrin Wölfel', email: 'k.woelfel@harzer.example', phone: '+49 5321 1234-0' },
      { name: '', email: 'buchhaltung@harzer.example', isRepresentative: false, isBilling: true },
    ]);
    await addMember(env, cats.company, '=HYPERLINK("http://evil.example","Klick")', [{ name: '@SUM(1+1)', email: 'x@evil.example', phone: '-2+3' }]);
    await addMember(env, cats.research, 'Institut für Prozesstechnik; Clausthal', [{ name: 'Prof. Lutz Schäfer', email: 'schaefer@ipt.example' }], { city: 'Clausthal-Zellerfeld', postcode: '38678' });
    const former = await addMember(env, cats.supporting, 'Ehemals Förder e.V.', [{ name: 'Otto Alt', email: 'otto@alt.example' }]);
    await env.db('organisations').where({ id: former.organisationId }).update({ status: 'former', exit_date: '2025-12-31' });
    board = new Browser(env.app);
    await board.login('vorstand@verein.example', PASSWORD);
    treasurer = new Browser(env.app);
    await treasurer.login('kasse@verein.example', PASSWORD);
  });
  after(async () => env.close());

  it('refuses members and sends anonymous visitors to the login', async () => {
    const anon = await new Browser(env.app).get('/board/exports');
    expect(anon.status).to.equal(303);
    expect(anon.headers.location).to.equal('/login');
    const member = new Browser(env.app);
    await member.login('kontakt@mitglied.example', PASSWORD);
    expect((await member.get('/board/exports')).status).to.equal(403);
    expect((await member.get('/board/exports/members.csv')).status).to.equal(403);
    expect((await member.get('/board/exports/print')).status).to.equal(403);
    expect(Number((await env.db('export_log').count({ n: '*' }).first())!.n)).to.equal(0);
  });

  it('shows the export form with the register filter and the number of matching members', async () => {
    const page = await board.get('/board/exports?status=current&q=goslar');
    expect(page.status).to.equal(200);
    expect(page.text).to.contain('2 Mitglieder entsprechen dem Filter.');
    expect(page.text).to.contain('formaction="/board/exports/members.xlsx"');
    expect(page.text).to.contain('<input type="hidden" name="q" value="goslar">');
  });

  it('CSV for German Excel: BOM, semicolons, CRLF, German dates, quoted separators, formula cells neutralised', async () => {
    const res = await download(treasurer, '/board/exports/members.csv', { status: 'current', purpose: 'Liste für Mitglied M-0001' });
    expect(res.status).to.equal(200);
    expect(res.headers['content-type']).to.equal('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).to.match(/attachment; filename="mitglieder-2026-11-25\.csv"/);
    const body = res.body as Buffer;
    expect([...body.subarray(0, 3)]).to.deep.equal([0xef, 0xbb, 0xbf]);
    const text = body.toString('utf8').slice(1);
    const lines = text.split('\r\n');
    expect(lines[lines.length - 1]).to.equal('');
    expect(lines).to.have.length(5); // header, 3 current members, trailing CRLF
    expect(lines[0]).to.equal('Mitgliedsnr;Firma;Rechtsform;Straße;PLZ;Ort;Land;USt-IdNr;Kategorie;Mitarbeiter;Beitritt;Vertreter Name;Vertreter E-Mail;Vertreter Telefon;Rechnung E-Mail;Status;Austritt');
    expect(lines[1]).to.equal("M-0001;Harzer Spezialchemie GmbH;GmbH;Marktstraße 1;38640;Goslar;DE;;Unternehmen;1-49;01.03.2015;Dr. Katrin Wölfel;k.woelfel@harzer.example;'+49 5321 1234-0;buchhaltung@harzer.example;Mitglied;");
    expect(lines[2]).to.equal(`M-0002;"'=HYPERLINK(""http://evil.example"",""Klick"")";GmbH;Marktstraße 1;38640;Goslar;DE;;Unternehmen;1-49;01.03.2015;'@SUM(1+1);x@evil.example;'-2+3;;Mitglied;`);
    expect(lines[3]).to.contain('"Institut für Prozesstechnik; Clausthal"');
    expect(text).not.to.contain('Ehemals');
  });

  it('logs every export: who, when, format, filter, which members, purpose; also in the audit log', async () => {
    const log = (await env.db('export_log').orderBy('id', 'desc').first())!;
    expect(log).to.include({ actor_label: 'Karl Kasse', format: 'csv', row_count: 3, purpose: 'Liste für Mitglied M-0001', at: '2026-11-25T09:00:00.000Z' });
    expect(JSON.parse(log.filter)).to.deep.equal({ status: 'current' });
    const ids = (await env.db('organisations').whereIn('status', ['active']).orderBy('member_number').select('id')).map((r) => Number(r.id));
    expect(JSON.parse(log.member_ids!)).to.deep.equal(ids);
    expect(log.completed_at).to.be.a('string');
    const audit = (await env.db('audit_log').where({ action: 'members.exported' }).orderBy('id', 'desc').first())!;
    expect(audit).to.include({ actor_label: 'Karl Kasse', entity_type: 'export', entity_id: log.id });
    expect(JSON.parse(audit.after!)).to.include({ format: 'csv', count: 3, purpose: 'Liste für Mitglied M-0001' });
  });

  it('filters by status, category and search like the register', async () => {
    const former = await download(board, '/board/exports/members.csv', { status: 'former' });
    const formerText = (former.body as Buffer).toString('utf8');
    expect(formerText).to.contain('Ehemals Förder e.V.');
    expect(formerText).to.contain(';Ehemalig;31.12.2025');
    expect(formerText.split('\r\n')).to.have.length(3);
    const research = await download(board, '/board/exports/members.csv', { category: String(cats.research) });
    expect((research.body as Buffer).toString('utf8').split('\r\n').filter(Boolean)).to.have.length(2);
    const byContact = await download(board, '/board/exports/members.csv', { q: 'wölfel' });
    const rows = (byContact.body as Buffer).toString('utf8').split('\r\n').filter(Boolean);
    expect(rows).to.have.length(2);
    expect(rows[1]).to.contain('Harzer Spezialchemie');
  });

  it('XLSX opens with exceljs and holds the rows, with dates as dates and formula cells as text', async () => {
    const res = await download(board, '/board/exports/members.xlsx', { status: 'current', purpose: 'Excel' });
    expect(res.status).to.equal(200);
    expect(res.headers['content-type']).to.equal('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(res.body as unknown as ExcelJS.Buffer);
    const ws = wb.worksheets[0];
    expect(ws.name).to.equal('Mitglieder');
    expect(ws.rowCount).to.equal(4);
    expect(ws.getRow(1).getCell(2).value).to.equal('Firma');
    expect(ws.getRow(2).getCell(2).value).to.equal('Harzer Spezialchemie GmbH');
    expect(ws.getRow(2).getCell(12).value).to.equal('Dr. Katrin Wölfel');
    const joined = ws.getRow(2).getCell(11).value as Date;
    expect(joined).to.be.instanceOf(Date);
    expect(joined.toISOString().slice(0, 10)).to.equal('2015-03-01');
    const evil = ws.getRow(3).getCell(2);
    expect(evil.type).to.equal(ExcelJS.ValueType.String);
    // text cells as typed: no apostrophe, no formula, the text format
    expect(evil.value).to.equal(`=HYPERLINK("http://evil.example","Klick")`);
    expect(evil.formula).to.equal(undefined);
    expect(evil.numFmt).to.equal('@');
    expect(ws.getRow(3).getCell(12).value).to.equal('@SUM(1+1)');
    expect(ws.getRow(2).getCell(14).value).to.equal('+49 5321 1234-0');
    const log = (await env.db('export_log').orderBy('id', 'desc').first())!;
    expect(log).to.include({ format: 'xlsx', row_count: 3, actor_label: 'Vera Vorstand', purpose: 'Excel' });
  });

  it('prints a member list (logged as well)', async () => {
    const res = await board.get('/board/exports/print?status=current&purpose=Aushang%20MV');
    expect(res.status).to.equal(200);
    expect(res.text).to.contain('Mitgliederliste');
    expect(res.text).to.contain('Dr. Katrin Wölfel');
    expect(res.text).to.contain('Institut für Prozesstechnik; Clausthal');
    expect(res.text).to.contain('3 Mitglieder');
    expect(res.text).to.contain('<td class="nowrap">M-0001</td>');
    expect(res.text).to.contain('class="no-print"');
    expect(res.text).not.to.contain('Otto Alt');
    const log = (await env.db('export_log').orderBy('id', 'desc').first())!;
    expect(log).to.include({ format: 'print', row_count: 3, purpose: 'Aushang MV' });
  });

  it('shows the export log to the board, not to the treasurer', async () => {
    const page = await board.get('/board/gdpr/export-log');
    expect(page.status).to.equal(200);
    expect(page.text).to.contain('Karl Kasse');
    expect(page.text).to.contain('Liste für Mitglied M-0001');
    expect(page.text).to.contain('Status: Aktuelle Mitglieder');
    expect(page.text).to.contain('Excel (XLSX)');
    expect((await treasurer.get('/board/gdpr/export-log')).status).to.equal(403);
  });

  it('streams a large register completely, page by page, in member-number order', async function () {
    this.timeout(60_000);
    const now = new Date().toISOString();
    const rows = Array.from({ length: 2600 }, (_, i) => ({
      member_number: 1000 + i, legal_name: `Massen ${i} GmbH`, legal_form: 'GmbH', street: 'Weg 1', postcode: '38640', city: 'Goslar', country: 'DE',
      category_id: cats.company, status: 'active', join_date: '2020-01-01', name_key: `massen ${i} gmbh`, version: 1, created_at: now, updated_at: now,
    }));
    // other engineers' migrations may add NOT NULL columns with defaults; city_key is filled when present
    const cols = await env.db('organisations').columnInfo();
    const full = rows.map((r) => ('city_key' in cols ? { ...r, city_key: 'goslar' } : r));
    for (let i = 0; i < full.length; i += 200) await env.db('organisations').insert(full.slice(i, i + 200));
    const res = await download(board, '/board/exports/members.csv', { q: 'massen' });
    const lines = (res.body as Buffer).toString('utf8').split('\r\n').filter(Boolean);
    expect(lines).to.have.length(2601);
    expect(lines[1].startsWith('M-1000;Massen 0 GmbH;')).to.equal(true);
    expect(lines[2600].startsWith('M-3599;Massen 2599 GmbH;')).to.equal(true);
    const log = (await env.db('export_log').orderBy('id', 'desc').first())!;
    expect(log.row_count).to.equal(2600);
    expect(JSON.parse(log.member_ids!)).to.have.length(2600);
  });
});
