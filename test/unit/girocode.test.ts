import { expect } from 'chai';
import { epcPayload } from '../../server/dues/girocode.ts';

describe('girocode: EPC069-12 payload', () => {
  it('builds the payload byte for byte (version 002, UTF-8, SCT, amount with a dot, invoice number as remittance)', () => {
    const p = epcPayload({ bic: 'NOLA DE21 GSL', name: 'ChemieNetzwerk Harz e.V.', iban: 'DE89 3704 0044 0532 0130 00', amountCents: 120000, remittance: '2027-0001' });
    expect(p).to.equal('BCD\n002\n1\nSCT\nNOLADE21GSL\nChemieNetzwerk Harz e.V.\nDE89370400440532013000\nEUR1200.00\n\n\n2027-0001');
  });

  it('writes cents with two digits and keeps umlauts as UTF-8', () => {
    const p = epcPayload({ bic: '', name: 'Förderverein Öko', iban: 'DE89370400440532013000', amountCents: 1234, remittance: '2027-0042' });
    const lines = p.split('\n');
    expect(lines).to.have.length(11);
    expect(lines[4]).to.equal('');
    expect(lines[7]).to.equal('EUR12.34');
    expect(Buffer.from(p, 'utf8').includes(Buffer.from('F\xc3\xb6rderverein', 'latin1'))).to.equal(true);
    expect(epcPayload({ bic: '', name: 'X', iban: 'DE89370400440532013000', amountCents: 5, remittance: 'r' }).split('\n')[7]).to.equal('EUR0.05');
  });

  it('cuts the name to 70 and the remittance to 140 characters and removes line breaks', () => {
    const p = epcPayload({ bic: 'COBADEFFXXX', name: 'N'.repeat(80), iban: 'DE89370400440532013000', amountCents: 100, remittance: 'a\nb' + 'x'.repeat(200) });
    const lines = p.split('\n');
    expect(lines[5]).to.have.length(70);
    expect(lines[10]).to.have.length(140);
    expect(lines[10].startsWith('a b')).to.equal(true);
  });

  it('refuses amounts a transfer cannot have', () => {
    expect(() => epcPayload({ bic: '', name: 'X', iban: 'DE89370400440532013000', amountCents: 0, remittance: 'r' })).to.throw(RangeError);
    expect(() => epcPayload({ bic: '', name: 'X', iban: 'DE89370400440532013000', amountCents: -100, remittance: 'r' })).to.throw(RangeError);
  });
});
