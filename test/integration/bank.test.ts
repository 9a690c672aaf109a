import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import JSZip from 'jszip';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { PASSWORD } from '../helpers/fixtures.ts';
import { bankSetup, OWN } from './bank.fixtures.ts';
import { BankService, type BankLine } from '../../server/bank/bank.service.ts';
import { StatementFileError } from '../../server/bank/statement.ts';
import { bankImportCommand } from '../../server/cli/bank.ts';
import { CommandError } from '../../server/cli/command.ts';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/bank');
const fixture = (name: string) => fs.readFileSync(path.join(dir, name));
const actor = { userId: null, label: 'test' };

async function upload(b: Browser, bytes: Buffer, name: string, fields: Record<string, string> = {}, action = '/treasurer/bank/import') {
  const page = await b.get('/treasurer/bank');
  let req = b.agent.post(action).field('_csrf', Browser.csrfFrom(page.text));
  for (const [k, v] of Object.entries(fields)) req = req.field(k, v);
  return req.attach('file', bytes, name);
}

describe('bank: statements imported once, credits matched and booked, undone by counter-booking', function () {
  this.timeout(120_000);
  let env: TestEnv;
  let treasurer: Browser;
  let org: Record<string, number>;
  let inv: Record<string, number>;
  const lines = async (): Promise<BankLine[]> => [...(await env.ctx.bank.overview()).open, ...(await env.ctx.bank.overview()).booked, ...(await env.ctx.bank.overview()).notDues];
  const lineBy = async (text: string) => (await lines()).find((l) => l.remittance.includes(text))!;
  const count = async () => (await env.db('bank_lines').count({ n: '*' }).first())!.n;

  before(async () => {
    env = await createTestEnv();
    ({ org, inv } = await bankSetup(env));
    expect((await env.ctx.dues.get(inv.harzer)).number).to.equal('2027-0001');
    expect((await env.ctx.dues.get(inv.institut)).number).to.equal('2027-0006');
    treasurer = new Browser(env.app);
    await treasurer.login('treasurer@test.example', PASSWORD);
  });
  after(async () => env.close());

  it('only the treasurer (and admin, reading) sees the bank pages', async () => {
    const board = new Browser(env.app);
    await board.login('board@test.example', PASSWORD);
    expect((await board.get('/treasurer/bank')).status).to.equal(403);
    expect((await treasurer.get('/treasurer/bank')).status).to.equal(200);
  });

  it('refuses a statement of another account, XML with entities, a ZIP bomb and a 50 MB file with a clear message; nothing stored', async () => {
    let res = await upload(treasurer, Buffer.from(fixture('camt053-v02-sparkasse.xml').toString('utf8').replace(`<IBAN>${OWN}</IBAN>`, '<IBAN>DE02120300000000202051</IBAN>')), 'other.xml');
    expect(res.status).to.equal(422);
    expect(res.text).to.contain('gehört zu einem anderen Konto (DE02120300000000202051)');
    res = await upload(treasurer, Buffer.from('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Document>&x;</Document>'), 'xxe.xml');
    expect(res.status).to.equal(422);
    expect(res.text).to.contain('DOCTYPE- oder ENTITY-Deklaration');
    const z = new JSZip();
    z.file('bomb.xml', Buffer.alloc(4 * 1024 * 1024, 0x20));
    res = await upload(treasurer, await z.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' }), 'bomb.zip');
    expect(res.status).to.equal(422);
    expect(res.text).to.contain('ungewöhnlich großen Datenmenge');
    res = await upload(treasurer, Buffer.alloc(50 * 1024 * 1024, 0x20), 'big.xml');
    expect(res.status).to.equal(413);
    expect(res.text).to.contain('kleiner als 50 MB');
    res = await upload(treasurer, Buffer.from('Name;Betrag\nx;1'), 'x.pdf');
    expect(res.status).to.equal(422);
    expect(Number(await count())).to.equal(0);
  });

  it('imports a CAMT.053 .001.02 statement: each booking shown, the return as "Rücklastschrift (Grund AC04)", sure matches proposed', async () => {
    const res = await upload(treasurer, fixture('camt053-v02-sparkasse.xml'), '2027-03-05.xml');
    expect(res.status).to.equal(303);
    const page = await treasurer.get('/treasurer/bank');
    expect(page.text).to.contain('6 neue Buchungen');
    expect(page.text).to.contain('Rücklastschrift (Grund AC04)');
    expect(page.text).to.contain('Müller &amp; Söhne Chemie KG');
    expect(page.text).to.contain('Alle 2 sicheren Zuordnungen buchen');
    const p = (await env.ctx.bank.proposals()).map((x) => [x.confidence, x.allocations.map((a) => a.number).join('+')]);
    expect(p).to.deep.include.members([['sure', '2027-0001'], ['sure', '2027-0002'], ['likely', '2027-0003']]);
    // the return carries what the SEPA module needs, and is never matched to an invoice
    const ret = await lineBy('2027-0004');
    expect(ret).to.include({ isReturn: true, returnReason: 'AC04', endToEndId: 'CNH-2027-0004', amountCents: -50000 });
    expect((await env.ctx.bank.proposals()).some((x) => x.lineId === ret.id)).to.equal(false);
  });

  it('a second import of the same statement, an overlapping .001.08 file and a ZIP of both add only what is new', async () => {
    expect((await env.ctx.bank.import(actor, 'again.xml', fixture('camt053-v02-sparkasse.xml'))).newLines).to.equal(0);
    const r = await env.ctx.bank.import(actor, 'v08.xml', fixture('camt053-v08-two-statements.xml'));
    expect([r.statements, r.lines, r.newLines]).to.deep.equal([2, 3, 2]);
    expect((await env.ctx.bank.import(actor, 'all.zip', fixture('statements-2027-03.zip'))).newLines).to.equal(0);
    expect(Number(await count())).to.equal(8);
  });

  it('two imports at the same time store each booking once', async () => {
    const csv = fixture('deutsche-bank.csv');
    const results = await Promise.all([env.ctx.bank.import(actor, 'a.csv', csv), env.ctx.bank.import(actor, 'b.csv', csv)]);
    expect(results.map((x) => x.newLines).sort()).to.deep.equal([0, 2]);
    expect(Number(await count())).to.equal(10);
  });

  it('a crash in the middle of an import leaves nothing behind', async () => {
    const crashing = new BankService({
      db: env.ctx.db, clock: env.ctx.clock, audit: env.ctx.audit, settings: env.ctx.settings, dues: env.ctx.dues, payments: env.ctx.payments,
      afterStatement: async (i) => { if (i === 0) throw new Error('power cut'); },
    });
    const before = Number(await count());
    const statements = Number((await env.db('bank_statements').count({ n: '*' }).first())!.n);
    const z = new JSZip();
    z.file('new.csv', fixture('volksbank.csv').toString('utf8').replace(/06\.03\.2027/g, '08.03.2027'));
    z.file('new2.xml', fixture('camt053-v02-sparkasse.xml').toString('utf8').replace(/20270305000/g, '20270308000'));
    let err: unknown;
    try { await crashing.import(actor, 'crash.zip', await z.generateAsync({ type: 'nodebuffer' })); } catch (e) { err = e; }
    expect((err as Error).message).to.equal('power cut');
    expect(Number(await count())).to.equal(before);
    expect(Number((await env.db('bank_statements').count({ n: '*' }).first())!.n)).to.equal(statements);
  });

  it('books all sure matches in one step through the dues payments: invoices paid, combined transfer split onto two', async () => {
    const res = await treasurer.submit('/treasurer/bank', {}, '/treasurer/bank/confirm-all');
    expect(res.status).to.equal(303);
    const page = await treasurer.get('/treasurer/bank');
    expect(page.text).to.contain('3 sichere Zuordnungen gebucht');
    for (const k of ['harzer', 'okertal', 'brocken', 'institut']) expect((await env.ctx.dues.get(inv[k])).status, k).to.equal('paid');
    const pays = await env.ctx.payments.forInvoice(inv.institut);
    expect(pays.map((p) => [p.method, p.amountCents, p.date])).to.deep.equal([['bank', 30000, '2027-03-06']]);
    expect((await env.ctx.dues.get(inv.goslar)).status).to.equal('open');
    const audit = await env.db('audit_log').where({ action: 'bank.line_booked' }).count({ n: '*' }).first();
    expect(Number(audit!.n)).to.equal(3);
  });

  it('confirms a likely partial payment on its own; a stale proposal is refused', async () => {
    const l = await lineBy('erste Rate');
    const page = await treasurer.get(`/treasurer/bank/lines/${l.id}`);
    expect(page.text).to.contain('Teilzahlung: 250,00');
    const fp = Browser.csrfFrom(page.text) && /name="fingerprint" value="([^"]+)"/.exec(page.text)![1];
    let res = await treasurer.submit(`/treasurer/bank/lines/${l.id}`, { fingerprint: '999:1' }, `/treasurer/bank/lines/${l.id}/confirm`);
    expect(res.status).to.equal(303);
    expect((await treasurer.get(`/treasurer/bank/lines/${l.id}`)).text).to.contain('Der Vorschlag hat sich geändert');
    res = await treasurer.submit(`/treasurer/bank/lines/${l.id}`, { fingerprint: fp }, `/treasurer/bank/lines/${l.id}/confirm`);
    expect(res.status).to.equal(303);
    expect((await env.ctx.dues.get(inv.mueller))).to.include({ status: 'partially_paid', paidCents: 25000 });
  });

  it('assigns a line by hand, naming a wrong number next to the field and keeping what was typed', async () => {
    const l = await lineBy('Beitrag Labor');
    let res = await treasurer.submit(`/treasurer/bank/lines/${l.id}`, { numbers: '2027-0099' }, `/treasurer/bank/lines/${l.id}/assign`);
    expect(res.status).to.equal(422);
    expect(res.text).to.match(/id="e-numbers"[^>]*>Keine offene Rechnung mit der Nummer 2027-0099/);
    expect(res.text).to.contain('value="2027-0099"');
    res = await treasurer.submit(`/treasurer/bank/lines/${l.id}`, { numbers: '' }, `/treasurer/bank/lines/${l.id}/assign`);
    expect(res.status).to.equal(422);
    res = await treasurer.submit(`/treasurer/bank/lines/${l.id}`, { numbers: '2027-0003' }, `/treasurer/bank/lines/${l.id}/assign`);
    expect(res.status).to.equal(303);
    expect((await env.ctx.dues.get(inv.goslar)).status).to.equal('paid');
    // booked twice is refused
    res = await treasurer.submit(`/treasurer/bank/lines/${l.id}`, { numbers: '2027-0003' }, `/treasurer/bank/lines/${l.id}/assign`);
    expect(res.status).to.equal(303);
    expect((await env.ctx.payments.forInvoice(inv.goslar))).to.have.length(1);
  });

  it('remembers the payer\'s IBAN of a confirmed booking: next time it matches without a number', async () => {
    await env.ctx.dues.freezeFeeSchedule(actor, 2028);
    const r = await env.ctx.dues.issueDuesInvoice(actor, org.goslar, 2028);
    if (!r.issued) throw new Error('not issued');
    const csv = 'Bezeichnung Auftragskonto;IBAN Auftragskonto;BIC Auftragskonto;Bankname Auftragskonto;Buchungstag;Valutadatum;Name Zahlungsbeteiligter;IBAN Zahlungsbeteiligter;BIC (SWIFT-Code) Zahlungsbeteiligter;Buchungstext;Verwendungszweck;Betrag;Waehrung\n'
      + `Vereinskonto;${OWN};X;Y;09.03.2027;09.03.2027;G. Labor;DE02100500000054540402;BELADEBEXXX;Gutschrift;Vorauszahlung danke;500,00;EUR\n`;
    await env.ctx.bank.import(actor, 'vb.csv', Buffer.from(csv));
    const p = (await env.ctx.bank.proposals()).find((x) => x.allocations[0]?.invoiceId === r.invoiceId)!;
    expect(p.confidence).to.equal('sure');
    expect(p.reasons[0].key).to.equal('iban');
  });

  it('marks a line "kein Beitrag" with a note (required), and the dashboard counts what is still open', async () => {
    const l = await lineBy('Spende');
    let res = await treasurer.submit(`/treasurer/bank/lines/${l.id}`, { note: ' ' }, `/treasurer/bank/lines/${l.id}/not-dues`);
    expect(res.status).to.equal(422);
    expect(res.text).to.match(/id="e-note"[^>]*>Bitte kurz notieren/);
    res = await treasurer.submit(`/treasurer/bank/lines/${l.id}`, { note: 'Spende Jugendforschung' }, `/treasurer/bank/lines/${l.id}/not-dues`);
    expect(res.status).to.equal(303);
    expect((await env.ctx.bank.line(l.id)).status).to.equal('not_dues');
    const open = await env.ctx.bank.openCount();
    const dash = await treasurer.get('/treasurer');
    expect(dash.text).to.contain(`${open} Buchungen auf dem Vereinskonto sind noch nicht zugeordnet`);
    expect(dash.text).to.contain('href="/treasurer/bank"');
  });

  it('undoes a booking by counter-booking: the invoice is open again, the reversal linked, the line back in the queue, the IBAN forgotten', async () => {
    const l = await lineBy('RE2027-2');
    let res = await treasurer.submit(`/treasurer/bank/lines/${l.id}`, { reason: '' }, `/treasurer/bank/lines/${l.id}/undo`);
    expect(res.status).to.equal(422);
    res = await treasurer.submit(`/treasurer/bank/lines/${l.id}`, { reason: 'falsch zugeordnet' }, `/treasurer/bank/lines/${l.id}/undo`);
    expect(res.status).to.equal(303);
    expect((await env.ctx.dues.get(inv.okertal))).to.include({ status: 'open', paidCents: 0 });
    const pays = await env.ctx.payments.forInvoice(inv.okertal);
    expect(pays.map((p) => [p.kind, p.amountCents])).to.deep.equal([['payment', 120000], ['reversal', -120000]]);
    expect(pays[1].reversesPaymentId).to.equal(pays[0].id);
    expect(pays[1].reason).to.contain('falsch zugeordnet');
    const back = await env.ctx.bank.line(l.id);
    expect(back.status).to.equal('open');
    expect(back.allocations[0].reversalPaymentId).to.equal(pays[1].id);
    expect(await env.db('bank_payer_ibans').where({ iban: 'DE02120300000000202051' }).first()).to.equal(undefined);
    expect(await env.db('audit_log').where({ action: 'bank.line_undone', entity_id: l.id }).first()).to.not.equal(undefined);
    // it is proposed again, and can be booked again
    expect((await env.ctx.bank.proposals()).find((p) => p.lineId === l.id)!.confidence).to.equal('sure');
    // undoing twice: nothing to undo
    res = await treasurer.submit(`/treasurer/bank/lines/${l.id}`, { reason: 'nochmal' }, `/treasurer/bank/lines/${l.id}/undo`);
    expect(res.status).to.equal(303);
    expect((await env.ctx.payments.forInvoice(inv.okertal))).to.have.length(2);
  });

  it('the board\'s member page shows the organisation\'s bank bookings', async () => {
    const board = new Browser(env.app);
    await board.login('board@test.example', PASSWORD);
    const page = await board.get(`/board/members/${org.institut}`);
    expect(page.status).to.equal(200);
    expect(page.text).to.contain('Buchungen auf dem Vereinskonto');
    expect(page.text).to.contain('Rechnungen 2027-0004 und 2027/0006');
    const other = await board.get(`/board/members/${org.harzer}`);
    expect(other.text).to.not.contain('Rechnungen 2027-0004 und 2027/0006');
  });

  it('an unknown CSV asks for its columns once; the mapping is remembered', async () => {
    let res = await upload(treasurer, fixture('generic.csv'), 'export.csv');
    expect(res.status).to.equal(200);
    expect(res.text).to.contain('Spalten der CSV-Datei zuordnen');
    expect(res.text).to.contain('<option value="4">Zweck</option>');
    res = await upload(treasurer, fixture('generic.csv'), 'export.csv', { bookingDate: '0', amount: '1', name: '2' }, '/treasurer/bank/mapping');
    expect(res.status).to.equal(422);
    expect(res.text).to.match(/id="e-text"[^>]*>Bitte eine Spalte wählen/);
    expect(res.text).to.contain('<option value="2" selected>Name</option>');
    res = await upload(treasurer, fixture('generic.csv'), 'export.csv', { bookingDate: '0', amount: '1', name: '2', iban: '3', text: '4' }, '/treasurer/bank/mapping');
    expect(res.status).to.equal(303);
    const r = await env.ctx.bank.import(actor, 'export2.csv', fixture('generic.csv'));
    expect(r.newLines).to.equal(0);
    expect(r.lines).to.equal(2);
  });

  it('hands each new return to the SEPA hook, inside the import', async () => {
    const seen: BankLine[] = [];
    const svc = new BankService({
      db: env.ctx.db, clock: env.ctx.clock, audit: env.ctx.audit, settings: env.ctx.settings, dues: env.ctx.dues, payments: env.ctx.payments,
      onReturn: async (line) => { seen.push(line); },
    });
    const r = await svc.import(actor, 'spk.csv', fixture('sparkasse-csv-camt-v2.latin1.csv'));
    expect(r.returns).to.equal(1);
    expect(seen.map((l) => [l.endToEndId, l.returnReason, l.amountCents])).to.deep.equal([['CNH-2027-0004', 'AC04', -50300]]);
    await svc.import(actor, 'spk.csv', fixture('sparkasse-csv-camt-v2.latin1.csv'));
    expect(seen).to.have.length(1);
  });

  it('npm run cli -- bank:import FILE imports the same way and refuses a bad file with the reason', async () => {
    const out: string[] = [];
    const tmp = path.join(os.tmpdir(), `bank-${process.pid}.xml`);
    fs.writeFileSync(tmp, fixture('camt053-v02-sparkasse.xml').toString('utf8').replace(/20270305000/g, '20270309000'));
    await bankImportCommand.run!(env.ctx, { values: {}, positionals: [tmp] }, (l) => out.push(l), () => {});
    expect(out.join('\n')).to.match(/1 statement\(s\), 6 booking\(s\), 6 new, 1 return\(s\)/);
    fs.writeFileSync(tmp, '<!DOCTYPE x [<!ENTITY a "b">]><Document/>');
    let err: unknown;
    try { await bankImportCommand.run!(env.ctx, { values: {}, positionals: [tmp] }, (l) => out.push(l), () => {}); } catch (e) { err = e; }
    expect(err).to.be.instanceOf(CommandError);
    expect((err as Error).message).to.contain('DOCTYPE or ENTITY declaration');
    fs.rmSync(tmp);
  });

  it('refuses an import while the settings hold no valid IBAN of the association', async () => {
    await env.ctx.settings.updateAssociation(actor, { ...(await env.ctx.settings.association()), iban: '' });
    let err: unknown;
    try { await env.ctx.bank.import(actor, 'a.xml', fixture('camt053-v02-sparkasse.xml')); } catch (e) { err = e; }
    expect((err as StatementFileError).code).to.equal('no_own_iban');
    await env.ctx.settings.updateAssociation(actor, { ...(await env.ctx.settings.association()), iban: OWN });
  });

  it('the proposals are stored at import and after each decision: the page reads them, and matches anew only once an invoice was paid elsewhere', async () => {
    const dues = env.ctx.dues;
    const original = dues.openForMatching.bind(dues);
    let matched = 0;
    dues.openForMatching = async (...a) => { matched++; return original(...a); };
    try {
      const l = await lineBy('RE2027-2'); // undone above: proposed for Okertal's open invoice again
      expect((await env.ctx.bank.proposals()).find((p) => p.lineId === l.id)?.allocations[0].invoiceId).to.equal(inv.okertal);
      matched = 0;
      expect((await treasurer.get('/treasurer/bank')).status).to.equal(200);
      expect((await treasurer.get(`/treasurer/bank/lines/${l.id}`)).text).to.contain('2027-0002');
      expect(matched).to.equal(0);
      expect(Number((await env.db('bank_proposals').count({ n: '*' }).first())!.n)).to.equal((await env.ctx.bank.proposals()).length);
      // the invoice is paid by hand (not through the bank page): the next page load matches anew, once, and no longer proposes it
      await env.ctx.payments.record(actor, inv.okertal, { date: '2027-03-09', amountCents: 120000, reference: 'bar bezahlt' });
      const page = await treasurer.get('/treasurer/bank');
      expect(page.status).to.equal(200);
      expect(matched).to.equal(1);
      expect((await env.ctx.bank.proposals()).some((p) => p.allocations.some((a) => a.invoiceId === inv.okertal))).to.equal(false);
      await treasurer.get('/treasurer/bank');
      expect(matched).to.equal(1);
      // a decision on a line stores the proposals anew: the line is no longer among them
      const open = (await env.ctx.bank.proposals())[0];
      await env.ctx.bank.notDues(actor, open.lineId, 'Test');
      matched = 0;
      expect((await env.ctx.bank.proposals()).some((p) => p.lineId === open.lineId)).to.equal(false);
      expect(await env.db('bank_proposals').where({ line_id: open.lineId }).first()).to.equal(undefined);
      expect(matched).to.equal(0);
    } finally {
      dues.openForMatching = original;
    }
  });
});
