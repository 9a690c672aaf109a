import { expect } from 'chai';
import fs from 'node:fs';
import { checkVatId, germanCheckDigitOk, normaliseVatId } from '../../server/applications/vat-id.ts';

describe('VAT ID check (USt-IdNr.)', () => {
  it('accepts German numbers with a correct ISO 7064 MOD 11,10 check digit', () => {
    expect(checkVatId('DE626018158')).to.deep.equal({ ok: true, value: 'DE626018158' });
    expect(checkVatId('DE183016611')).to.deep.equal({ ok: true, value: 'DE183016611' });
  });

  it('accepts every VAT ID of the founding members sample', () => {
    const csv = fs.readFileSync(new URL('../fixtures/founding-members.utf8-bom.csv', import.meta.url), 'utf8');
    const ids = csv.match(/DE\d{9}/g) ?? [];
    expect(ids.length).to.be.greaterThan(10);
    for (const id of ids) expect(checkVatId(id).ok, id).to.equal(true);
  });

  it('rejects a German number whose check digit is wrong, and says so', () => {
    expect(checkVatId('DE626018159')).to.deep.equal({ ok: false, reason: 'checksum' });
    expect(germanCheckDigitOk('183016612')).to.equal(false);
    // every other last digit fails for a valid body
    for (let d = 0; d <= 9; d++) if (d !== 8) expect(checkVatId(`DE62601815${d}`).ok, String(d)).to.equal(false);
  });

  it('normalises spaces, dots, hyphens and case', () => {
    expect(normaliseVatId(' de 626.018-158 ')).to.equal('DE626018158');
    expect(checkVatId('de 626 018 158')).to.deep.equal({ ok: true, value: 'DE626018158' });
  });

  it('checks the format per EU country', () => {
    for (const ok of ['ATU12345678', 'BE0123456789', 'NL123456789B01', 'FR12345678901', 'FRAB123456789', 'PL1234567890', 'ESX1234567X', 'EL123456789', 'IT12345678901', 'SE123456789001', 'CZ12345678', 'IE1234567WA', 'XI123456789', 'CHE123456789MWST']) {
      expect(checkVatId(ok).ok, ok).to.equal(true);
    }
    for (const bad of ['AT12345678', 'DE12345678', 'DE1234567890', 'NL123456789A01', 'GR123456789', 'XX123456789', 'PL123', '', 'DE62601815X']) {
      expect(checkVatId(bad), bad).to.deep.equal({ ok: false, reason: 'format' });
    }
  });
});
