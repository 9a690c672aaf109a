import fs from 'node:fs';
import { expect } from 'chai';
import { csvCell, csvLine, CsvError, decodeCsv, detectDelimiter, neutraliseFormula, parseCsv, readCsv } from '../../server/members/csv.ts';


const sample = (name: string) => fs.readFileSync(new URL(`../fixtures/${name}`, import.meta.url));

describe('csv: reading spreadsheets', () => {
  it('reads the UTF-8 sample with BOM: BOM dropped, semicolons, CRLF, umlauts intact', () => {
    const { rows, encoding, delimiter } = readCsv(sample('founding-members.utf8-bom.csv'));
    expect(encoding).to.equal('utf-8-bom');
    expect(delimiter).to.equal(';');
    expect(rows).to.have.length(21);
    expect(rows[0][0]).to.equal('Mitgliedsnr'); // no BOM glued to the first header
    expect(rows[0][3]).to.equal('Straße');
    expect(rows[2][11]).to.equal('Jörg Büttner');
    expect(rows[12][11]).to.equal('Dr. Ayşe Yılmaz');
    expect(rows.every((r) => r.length === 15)).to.equal(true);
    expect(rows.flat().some((c) => c.includes('\r'))).to.equal(false);
  });

  it('detects Windows-1252 when the bytes are not valid UTF-8', () => {
    const { rows, encoding } = readCsv(sample('founding-members.cp1252.csv'));
    expect(encoding).to.equal('windows-1252');
    expect(rows).to.have.length(19);
    expect(rows[0][3]).to.equal('Straße');
    expect(rows[2][11]).to.equal('Jörg Büttner');
    expect(rows[1][11]).to.equal('Dr. Katrin Wölfel');
  });

  it('decodes Windows-1252 specials (€, „“) and plain UTF-8 without BOM', () => {
    expect(decodeCsv(Uint8Array.from([0x80, 0x20, 0x84, 0x61, 0x93])).text).to.equal('€ „a“');
    const utf8 = decodeCsv(Buffer.from('Straße;Ort\n', 'utf8'));
    expect(utf8).to.deep.equal({ text: 'Straße;Ort\n', encoding: 'utf-8' });
  });

  it('keeps separators, quotes and line breaks inside quoted fields', () => {
    const text = 'Firma;Notiz\r\n"Müller; Söhne GmbH";"sagt ""hallo""\r\nzweite Zeile"\r\nB;x\r\n';
    const rows = parseCsv(text, ';');
    expect(rows).to.deep.equal([['Firma', 'Notiz'], ['Müller; Söhne GmbH', 'sagt "hallo"\r\nzweite Zeile'], ['B', 'x']]);
  });

  it('handles LF, CRLF and a missing final line break alike, skipping blank lines', () => {
    expect(parseCsv('a;b\nc;d', ';')).to.deep.equal([['a', 'b'], ['c', 'd']]);
    expect(parseCsv('a;b\r\n\r\nc;d\r\n', ';')).to.deep.equal([['a', 'b'], ['c', 'd']]);
    expect(parseCsv('a;;\r\n', ';')).to.deep.equal([['a', '', '']]);
  });

  it('detects the separator from the header, ignoring separators in quotes', () => {
    expect(detectDelimiter('Firma;PLZ;Ort\n')).to.equal(';');
    expect(detectDelimiter('Firma,PLZ,Ort\n')).to.equal(',');
    expect(detectDelimiter('"Firma, Name";PLZ\n')).to.equal(';');
    expect(detectDelimiter('Firma\tPLZ\tOrt\n')).to.equal('\t');
  });

  it('reading a semicolon file as comma-separated gives one column per line (wrong separator is visible)', () => {
    const rows = parseCsv('Firma;PLZ\nA GmbH;38640\n', ',');
    expect(rows[0]).to.deep.equal(['Firma;PLZ']);
  });

  it('refuses empty files, binary files and unterminated quotes', () => {
    expect(() => readCsv(Buffer.from(''))).to.throw(CsvError).with.property('code', 'empty');
    expect(() => readCsv(Buffer.from('\uFEFF\r\n  \r\n'))).to.throw(CsvError).with.property('code', 'empty');
    expect(() => readCsv(Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00]))).to.throw(CsvError).with.property('code', 'binary');
    expect(() => readCsv(Buffer.from('a;b\n"open;x\n'))).to.throw(CsvError).with.property('code', 'unterminated_quote');
  });

  it('keeps formula-like cells as plain text when reading', () => {
    const rows = parseCsv('Firma;PLZ\n=cmd|\' /C calc\'!A0;38640\n', ';');
    expect(rows[1][0]).to.equal("=cmd|' /C calc'!A0");
  });
});

describe('csv: writing for Excel', () => {
  it('neutralises cells that start with = + - @ TAB or CR', () => {
    expect(neutraliseFormula('=SUM(A1)')).to.equal("'=SUM(A1)");
    expect(neutraliseFormula('+49 5321 1234')).to.equal("'+49 5321 1234");
    expect(neutraliseFormula('-1+2')).to.equal("'-1+2");
    expect(neutraliseFormula('@SUM(1)')).to.equal("'@SUM(1)");
    expect(neutraliseFormula('\t=1')).to.equal("'\t=1");
    expect(neutraliseFormula('\r=1')).to.equal("'\r=1");
    expect(neutraliseFormula('Müller = Meier')).to.equal('Müller = Meier');
  });

  it('quotes cells with separator, quote or line break and ends lines with CRLF', () => {
    expect(csvCell('a;b')).to.equal('"a;b"');
    expect(csvCell('sagt "hi"')).to.equal('"sagt ""hi"""');
    expect(csvCell('x\ny')).to.equal('"x\ny"');
    expect(csvCell(null)).to.equal('');
    expect(csvLine(['M-0001', '=1+1', 'A; B'])).to.equal("M-0001;'=1+1;\"A; B\"\r\n");
  });

  it('round-trips through the parser', () => {
    const values = ['Müller; Söhne', 'sagt "hallo"', 'zwei\r\nZeilen', ''];
    expect(parseCsv(csvLine(values), ';')).to.deep.equal([values]);
  });
});

