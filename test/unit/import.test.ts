import fs from 'node:fs';
import { expect } from 'chai';
import { checkVatId } from '../../server/applications/vat-id.ts';
import { ImportFileError, ImportService, normaliseHeader } from '../../server/members/import.service.ts';

const sample = (name: string) => fs.readFileSync(new URL(`../fixtures/${name}`, import.meta.url));
const svc = new ImportService({} as ConstructorParameters<typeof ImportService>[0]);
const fileError = (fn: () => unknown): ImportFileError => {
  try { fn(); } catch (e) { if (e instanceof ImportFileError) return e; throw e; }
  throw new Error('expected an ImportFileError');
};

describe('import: reading the file', () => {
  it('accepts the check digits of every VAT ID in the founding members sample and rejects a changed digit', () => {
    const vats = sample('founding-members.utf8-bom.csv').toString('utf8').split(/\r\n/).slice(1).filter(Boolean).map((l) => l.split(';')[7]);
    expect(vats).to.have.length(20);
    // the import checks VAT IDs with the register's one check (vat-id.ts)
    for (const v of vats) expect(checkVatId(v), v).to.deep.equal({ ok: true, value: v });
    expect(checkVatId('DE626018157')).to.deep.equal({ ok: false, reason: 'checksum' });
    expect(checkVatId('DE12345')).to.deep.equal({ ok: false, reason: 'format' });
  });

  it('maps German and English headers regardless of case, spaces and umlauts', () => {
    expect(normaliseHeader('Straße')).to.equal('strasse');
    expect(normaliseHeader('Vertreter E-Mail')).to.equal('vertreteremail');
    expect(normaliseHeader(' USt-IdNr. ')).to.equal('ustidnr');
    const en = svc.parseFile(Buffer.from('Organisation,Street,Postcode,City,Category,Joined,Representative email\r\nA GmbH,Weg 1,38640,Goslar,Company,2020-01-01,a@b.example\r\n'));
    expect(en.delimiter).to.equal(',');
    expect(en.records[0]).to.deep.include({ legalName: 'A GmbH', street: 'Weg 1', postcode: '38640', city: 'Goslar', category: 'Company', joinDate: '2020-01-01', repEmail: 'a@b.example' });
  });

  it('reads both samples into 20 and 18 records', () => {
    expect(svc.parseFile(sample('founding-members.utf8-bom.csv')).records).to.have.length(20);
    const cp = svc.parseFile(sample('founding-members.cp1252.csv'));
    expect(cp.encoding).to.equal('windows-1252');
    expect(cp.records).to.have.length(18);
    expect(cp.records[1].repName).to.equal('Jörg Büttner');
  });

  it('refuses a file without the required columns, naming them', () => {
    const e = fileError(() => svc.parseFile(Buffer.from('Firma;PLZ;Ort\nA;38640;Goslar\n')));
    expect(e.code).to.equal('missing_columns');
    expect(String(e.params.missing)).to.contain('Straße').and.contain('Kategorie').and.contain('Beitritt');
  });

  it('recognises a wrong separator (one column only)', () => {
    const text = sample('founding-members.utf8-bom.csv').toString('utf8').replace(/;/g, '|');
    expect(fileError(() => svc.parseFile(Buffer.from(text))).code).to.equal('wrong_separator');
  });

  it('refuses empty files, header-only files and files over the size limit', () => {
    expect(fileError(() => svc.parseFile(Buffer.alloc(0))).code).to.equal('empty');
    expect(fileError(() => svc.parseFile(Buffer.from('Firma;Straße;PLZ;Ort;Kategorie;Beitritt\r\n'))).code).to.equal('no_rows');
    expect(fileError(() => svc.parseFile(Buffer.alloc(10 * 1024 * 1024 + 1, 0x41))).code).to.equal('too_large');
  });
});
