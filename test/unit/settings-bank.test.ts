import { expect } from 'chai';
import { formatIban, isValidBic, isValidCreditorId, isValidIban } from '../../server/settings/bank.ts';

describe('settings: bank details checks', () => {
  it('accepts valid IBANs with or without spaces and in lower case', () => {
    expect(isValidIban('DE89370400440532013000')).to.equal(true);
    expect(isValidIban('DE89 3704 0044 0532 0130 00')).to.equal(true);
    expect(isValidIban('de89 3704 0044 0532 0130 00')).to.equal(true);
    expect(isValidIban('GB82 WEST 1234 5698 7654 32')).to.equal(true);
    expect(isValidIban('AT61 1904 3002 3457 3201')).to.equal(true);
  });

  it('refuses IBANs with a wrong check digit, length or characters', () => {
    expect(isValidIban('DE89370400440532013001')).to.equal(false); // one digit changed
    expect(isValidIban('DE88370400440532013000')).to.equal(false);
    expect(isValidIban('DE8937040044053201300')).to.equal(false); // 21 characters
    expect(isValidIban('DE89 3704 0044 0532 0130 00 1')).to.equal(false);
    expect(isValidIban('DE89-3704-0044!')).to.equal(false);
    expect(isValidIban('')).to.equal(false);
  });

  it('checks BICs of 8 or 11 characters', () => {
    expect(isValidBic('COBADEFFXXX')).to.equal(true);
    expect(isValidBic('COBADEFF')).to.equal(true);
    expect(isValidBic('markdef1270')).to.equal(true);
    expect(isValidBic('COBADEF')).to.equal(false);
    expect(isValidBic('COBADEFFXX')).to.equal(false);
    expect(isValidBic('C0BADEFF')).to.equal(false); // digit in the bank code
  });

  it('checks SEPA creditor identifiers with their mod-97 check digits', () => {
    expect(isValidCreditorId('DE98ZZZ09999999999')).to.equal(true);
    expect(isValidCreditorId('de98 zzz0 9999 9999 99')).to.equal(true);
    expect(isValidCreditorId('DE99ZZZ09999999999')).to.equal(false);
    expect(isValidCreditorId('DE98ZZZ0999999999')).to.equal(false);
    expect(isValidCreditorId('XYZ')).to.equal(false);
  });

  it('groups an IBAN in fours for reading', () => {
    expect(formatIban('DE89370400440532013000')).to.equal('DE89 3704 0044 0532 0130 00');
  });
});
