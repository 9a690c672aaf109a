import { expect } from 'chai';
import { centsToEuroInput, parseEuroToCents } from '../../server/settings/money.ts';

describe('settings: German money input to cents', () => {
  it('reads German amounts with thousands dots and a decimal comma', () => {
    expect(parseEuroToCents('1.200,00')).to.equal(120000);
    expect(parseEuroToCents('1200')).to.equal(120000);
    expect(parseEuroToCents('1200,5')).to.equal(120050);
    expect(parseEuroToCents('1200,05')).to.equal(120005);
    expect(parseEuroToCents('1.234.567,89')).to.equal(123456789);
    expect(parseEuroToCents('1.200')).to.equal(120000);
    expect(parseEuroToCents('0')).to.equal(0);
    expect(parseEuroToCents('0,01')).to.equal(1);
  });

  it('is exact where floating point is not (0,29 € and 1.234,57 €)', () => {
    // 0.29 * 100 = 28.999999999999996 and 1234.57 * 100 = 123456.99999999999 in floating point
    expect(parseEuroToCents('0,29')).to.equal(29);
    expect(parseEuroToCents('1.234,57')).to.equal(123457);
    expect(parseEuroToCents('4,35')).to.equal(435);
  });

  it('tolerates spaces, a euro sign and a dot as decimal point before one or two digits', () => {
    expect(parseEuroToCents(' 250 € ')).to.equal(25000);
    expect(parseEuroToCents('€ 2.500,00')).to.equal(250000);
    expect(parseEuroToCents('300 EUR')).to.equal(30000);
    expect(parseEuroToCents('1\u00a0200,00')).to.equal(120000);
    expect(parseEuroToCents('1200.50')).to.equal(120050);
    expect(parseEuroToCents('12.5')).to.equal(1250);
  });

  it('refuses what it cannot read unambiguously', () => {
    for (const bad of ['', '   ', 'abc', '-5', '-1.200,00', '1,200.00', '12,345', '1.2000,00', '1,2,3', '1.200,001', ',5', '1e3', '12.34.56', '9999999999999,00']) {
      expect(parseEuroToCents(bad), JSON.stringify(bad)).to.equal(null);
    }
    expect(parseEuroToCents(undefined)).to.equal(null);
    expect(parseEuroToCents(12)).to.equal(null);
  });

  it('formats cents back into the German input form', () => {
    expect(centsToEuroInput(120000)).to.equal('1.200,00');
    expect(centsToEuroInput(5)).to.equal('0,05');
    expect(centsToEuroInput(123456789)).to.equal('1.234.567,89');
    for (const c of [0, 1, 99, 100, 50000, 250000, 123456789]) expect(parseEuroToCents(centsToEuroInput(c))).to.equal(c);
  });
});
