import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import JSZip from 'jszip';
import iconv from 'iconv-lite';
import { parseCamt } from '../../server/bank/camt.ts';
import { readStatementFile, CsvMappingNeeded } from '../../server/bank/statement-file.ts';
import { csvAmount, csvDate, dedupKeys, MAX_FILE_BYTES, StatementFileError, type ParsedStatement } from '../../server/bank/statement.ts';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/bank');
const fixture = (name: string) => fs.readFileSync(path.join(dir, name));
const OWN = 'DE89370400440532013000';
const read = (name: string, bytes: Buffer) => readStatementFile(name, bytes, { fallbackIban: OWN, mappingFor: async () => null });

async function refused(p: Promise<unknown>): Promise<StatementFileError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof StatementFileError) return e;
    throw e;
  }
  throw new Error('not refused');
}

describe('bank statements: CAMT.053', () => {
  it('reads a .001.02 statement: batch booking split per transfer, a return with its reason, umlauts, debits negative', async () => {
    const [st] = await read('a.xml', fixture('camt053-v02-sparkasse.xml'));
    expect(st.format).to.equal('camt.053.001.02');
    expect(st.accountIban).to.equal(OWN);
    expect(st.statementRef).to.equal('2027-03-05-00044');
    expect(st.lines.map((l) => l.amountCents)).to.deep.equal([250000, 120000, 50000, -1250, -50000, 10000]);
    expect(st.lines[1]).to.include({ counterpartyName: 'Okertal Pigmente GmbH', counterpartyIban: 'DE02120300000000202051', remittance: 'RE2027-2 Mitgliedsbeitrag', entryRef: '2027030500002/1' });
    expect(st.lines[2].entryRef).to.equal('2027030500002/2');
    const ret = st.lines[4];
    expect(ret).to.include({ isReturn: true, returnReason: 'AC04', endToEndId: 'CNH-2027-0004', counterpartyName: 'Brockenblick Analytik GmbH' });
    expect(ret.bankTxCode).to.contain('PMNT/IDDT/UPDD').and.contain('NDDT+109');
    expect(st.lines[5].counterpartyName).to.equal('Müller & Söhne Chemie KG');
    expect(st.lines[5].remittance).to.equal('Spende für die Jugendforschung – Grüße aus Wernigerode');
    expect(st.lines.filter((l) => l.isReturn)).to.have.length(1);
  });

  it('reads a .001.08 file with two statements (party names under Pty, booking date as DtTm, IBAN with spaces)', async () => {
    const sts = await read('b.xml', fixture('camt053-v08-two-statements.xml'));
    expect(sts.map((s) => [s.format, s.statementRef, s.lines.length])).to.deep.equal([['camt.053.001.08', '2027-03-06-00045', 2], ['camt.053.001.08', '2027-03-07-00046', 1]]);
    expect(sts[0].accountIban).to.equal(OWN);
    expect(sts[0].lines[1]).to.include({ bookingDate: '2027-03-06', counterpartyName: 'Brockenblick Analytik GmbH', amountCents: 80000 });
    expect(sts[1].lines[0].counterpartyName).to.equal('Müller & Söhne Chemie KG');
  });

  it('reads the statements in a ZIP (other files in it are skipped)', async () => {
    const sts = await read('x.zip', fixture('statements-2027-03.zip'));
    expect(sts.map((s) => s.statementRef)).to.deep.equal(['2027-03-05-00044', '2027-03-06-00045', '2027-03-07-00046']);
  });

  it('an entry in two overlapping statements has the same key (the bank\'s reference), so it is stored once', async () => {
    const [a] = await read('a.xml', fixture('camt053-v02-sparkasse.xml'));
    const [b] = await read('b.xml', fixture('camt053-v08-two-statements.xml'));
    expect(dedupKeys(a)[0]).to.equal(dedupKeys(b)[0]);
    expect(new Set([...dedupKeys(a), ...dedupKeys(b)]).size).to.equal(7);
  });

  it('refuses XML with a DOCTYPE (external entity, XXE) or entity declarations (billion laughs) before parsing', async () => {
    const xxe = `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt><Acct><Id><IBAN>${OWN}</IBAN></Id></Acct><Ntry><Amt Ccy="EUR">1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2027-03-05</Dt></BookgDt><AddtlNtryInf>&x;</AddtlNtryInf></Ntry></Stmt></BkToCstmrStmt></Document>`;
    expect((await refused(read('x.xml', Buffer.from(xxe)))).code).to.equal('xml_entities');
    const lol = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><Document>&lol3;</Document>`;
    expect((await refused(read('x.xml', Buffer.from(lol)))).code).to.equal('xml_entities');
    // an entity reference without a declaration stays text, never expanded
    const plain = fixture('camt053-v02-sparkasse.xml').toString('utf8').replace('Beitrag Labor', 'Beitrag &ext; Labor');
    const [st] = parseCamt(plain);
    expect(st.lines[2].remittance).to.equal('Beitrag &ext; Labor');
  });

  it('refuses XML that is not CAMT.053, another CAMT version, and a statement without account', async () => {
    expect((await refused(read('x.xml', Buffer.from('<?xml version="1.0"?><Invoice><Id>1</Id></Invoice>')))).code).to.equal('not_camt');
    const v04 = fixture('camt053-v02-sparkasse.xml').toString('utf8').replace('camt.053.001.02"', 'camt.053.001.04"');
    expect((await refused(read('x.xml', Buffer.from(v04)))).code).to.equal('camt_version');
    const noAcct = fixture('camt053-v02-sparkasse.xml').toString('utf8').replace(`<IBAN>${OWN}</IBAN>`, '');
    expect((await refused(read('x.xml', Buffer.from(noAcct)))).code).to.equal('no_account');
    expect((await refused(read('x.xml', Buffer.from('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt><Acct><Id><IBAN>X</IBAN></Id></Acct><Ntry><Amt>1,00</Amt><BookgDt><Dt>2027-01-01</Dt></BookgDt></Ntry></Stmt></BkToCstmrStmt></Document>')))).code).to.equal('bad_amount');
  });

  it('reads an ISO-8859-1 encoded CAMT file as such', async () => {
    const xml = fixture('camt053-v02-sparkasse.xml').toString('utf8').replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').replace(' – ', ' - ');
    const [st] = await read('l.xml', iconv.encode(xml, 'latin1'));
    expect(st.lines[5].counterpartyName).to.equal('Müller & Söhne Chemie KG');
  });

  it('refuses binary and UTF-16 files, an empty file and one of 50 MB', async () => {
    expect((await refused(read('x.csv', Buffer.from([0x00, 0x01, 0x02, 0x03, 0x41])))).code).to.equal('encoding');
    expect((await refused(read('x.xml', iconv.encode('<Document/>', 'utf16le')))).code).to.equal('encoding');
    expect((await refused(read('x.xml', Buffer.alloc(0)))).code).to.equal('empty');
    expect((await refused(read('x.xml', Buffer.alloc(MAX_FILE_BYTES + 1, 0x20)))).code).to.equal('too_large');
  });
});

describe('bank statements: ZIP limits', () => {
  it('refuses a ZIP bomb (a tiny file unpacking to a huge one)', async () => {
    const z = new JSZip();
    z.file('bomb.xml', Buffer.alloc(4 * 1024 * 1024, 0x20));
    const bytes = await z.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE', compressionOptions: { level: 9 } });
    expect(bytes.length).to.be.below(100_000);
    expect((await refused(read('bomb.zip', bytes))).code).to.equal('zip_bomb');
  });

  it('refuses a ZIP with too many entries and one without statements', async () => {
    const z = new JSZip();
    for (let i = 0; i < 60; i++) z.file(`s${i}.xml`, `<x>${i}</x>`);
    expect((await refused(read('many.zip', await z.generateAsync({ type: 'nodebuffer' })))).code).to.equal('zip_entries');
    const e = new JSZip();
    e.file('readme.txt', 'nothing');
    expect((await refused(read('e.zip', await e.generateAsync({ type: 'nodebuffer' })))).code).to.equal('zip_empty');
    expect((await refused(read('broken.zip', Buffer.from('PK\u0003\u0004garbage')))).code).to.equal('bad_zip');
  });

  it('names the file in the ZIP that was refused', async () => {
    const z = new JSZip();
    z.file('ok.xml', fixture('camt053-v02-sparkasse.xml'));
    z.file('evil.xml', '<!DOCTYPE x [<!ENTITY a "b">]><Document/>');
    const err = await refused(read('x.zip', await z.generateAsync({ type: 'nodebuffer' })));
    expect(err.code).to.equal('xml_entities');
    expect(err.params.file).to.equal('evil.xml');
  });
});

describe('bank statements: CSV exports of German banks', () => {
  it('reads the Sparkasse CSV-CAMT V2 export in ISO-8859-1, with a return and its reason', async () => {
    const [st] = await read('s.csv', fixture('sparkasse-csv-camt-v2.latin1.csv'));
    expect(st.format).to.equal('csv-sparkasse');
    expect(st.accountIban).to.equal(OWN);
    expect(st.lines.map((l) => [l.bookingDate, l.amountCents])).to.deep.equal([['2027-03-05', 250000], ['2027-03-05', 10000], ['2027-03-05', -50300], ['2027-03-05', -1250]]);
    expect(st.lines[1].counterpartyName).to.equal('Müller & Söhne Chemie KG');
    expect(st.lines[2]).to.include({ isReturn: true, returnReason: 'AC04', endToEndId: 'CNH-2027-0004' });
  });

  it('reads the Volksbank export (UTF-8, a quoted text with a semicolon)', async () => {
    const [st] = await read('v.csv', fixture('volksbank.csv'));
    expect(st.format).to.equal('csv-volksbank');
    expect(st.lines.map((l) => [l.counterpartyName, l.amountCents, l.remittance])).to.deep.equal([
      ['Okertal Pigmente GmbH', 120000, 'RE2027-2 Mitgliedsbeitrag'], ['Goslarer Labor GmbH', 50000, 'Beitrag Labor; danke'],
    ]);
  });

  it('reads the Deutsche Bank export: lines above the table, Soll and Haben columns, the balance line at the end', async () => {
    const [st] = await read('d.csv', fixture('deutsche-bank.csv'));
    expect(st.format).to.equal('csv-deutsche-bank');
    expect(st.accountIban).to.equal(OWN);
    expect(st.lines.map((l) => [l.amountCents, l.counterpartyName])).to.deep.equal([[25000, 'Müller & Söhne Chemie KG'], [-490, '']]);
  });

  it('asks for a column mapping for an unknown CSV, and reads it with one', async () => {
    let err: unknown;
    try { await read('g.csv', fixture('generic.csv')); } catch (e) { err = e; }
    expect(err).to.be.instanceOf(CsvMappingNeeded);
    expect((err as CsvMappingNeeded).header).to.deep.equal(['Datum', 'Betrag', 'Name', 'Konto', 'Zweck']);
    const sts: ParsedStatement[] = await readStatementFile('g.csv', fixture('generic.csv'), {
      fallbackIban: OWN, mappingFor: async () => null, mapping: { bookingDate: 0, amount: 1, name: 2, iban: 3, text: 4, account: -1, valueDate: -1 },
    });
    expect(sts[0].accountIban).to.equal(OWN);
    expect(sts[0].lines.map((l) => [l.bookingDate, l.amountCents, l.counterpartyName])).to.deep.equal([['2027-03-05', 250000, 'Harzer Spezialchemie GmbH'], ['2027-03-06', 30000, 'Institut für Harzer Werkstoffe']]);
  });

  it('names the row of an unreadable amount or date', async () => {
    const bad = fixture('volksbank.csv').toString('utf8').replace('1.200,00', '12x0');
    const err = await refused(read('v.csv', Buffer.from(bad)));
    expect(err.code).to.equal('row_bad_amount');
    expect(err.params.row).to.equal(2);
  });

  it('two equal transfers on one day in one statement stay two (numbered hash keys)', async () => {
    const text = fixture('volksbank.csv').toString('utf8').trimEnd().split('\n');
    const [st] = await read('v.csv', Buffer.from([...text, text[1]].join('\n')));
    const keys = dedupKeys(st);
    expect(new Set(keys).size).to.equal(3);
    expect(keys[0].replace(/:1$/, '')).to.equal(keys[2].replace(/:2$/, ''));
  });

  it('parses German amounts and dates strictly', () => {
    expect(csvAmount('-1.234,56')).to.equal(-123456);
    expect(csvAmount('1234,5')).to.equal(123450);
    expect(csvAmount('+12')).to.equal(1200);
    expect(() => csvAmount('1,234.56')).to.throw(StatementFileError);
    expect(csvDate('05.03.27')).to.equal('2027-03-05');
    expect(csvDate('5.3.2027')).to.equal('2027-03-05');
    expect(() => csvDate('31.02.2027')).to.throw(StatementFileError);
  });
});
