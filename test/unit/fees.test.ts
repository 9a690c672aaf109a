import { expect } from 'chai';
import { duesFor, mulDivRoundHalfUp } from '../../server/dues/fees.ts';
import type { FeeRule } from '../../server/settings/settings.schemas.ts';

const company: FeeRule = { type: 'tiers', tiers: { '1-49': 50000, '50-249': 120000, '250+': 250000 } };
const fixed = (amountCents: number): FeeRule => ({ type: 'fixed', amountCents });

describe('fees: annual fee and pro-rata for joiners', () => {
  it('charges the full annual fee of the employee band to members who joined before the year', () => {
    expect(duesFor(company, '50-249', '2015-03-01', 2027, 'monthly')).to.include({ amountCents: 120000, months: 12, proRata: false, periodStart: '2027-01-01', periodEnd: '2027-12-31' });
    expect(duesFor(company, '250+', '2026-12-31', 2027, 'monthly')!.amountCents).to.equal(250000);
    expect(duesFor(fixed(30000), '', '2020-01-01', 2027, 'monthly')!.amountCents).to.equal(30000);
  });

  it('counts the month of joining: joining on 1 or 31 January gives the full fee', () => {
    expect(duesFor(fixed(30000), '', '2027-01-01', 2027, 'monthly')).to.include({ amountCents: 30000, months: 12, proRata: false });
    expect(duesFor(fixed(30000), '', '2027-01-31', 2027, 'monthly')).to.include({ amountCents: 30000, months: 12, proRata: false });
  });

  it('gives the remaining months including the month of joining (1st and 31st alike)', () => {
    expect(duesFor(company, '50-249', '2027-10-01', 2027, 'monthly')).to.include({ amountCents: 30000, months: 3, proRata: true, periodStart: '2027-10-01' });
    // h/money: the period printed starts on the join date itself, the month of joining counts in full
    expect(duesFor(company, '50-249', '2027-10-31', 2027, 'monthly')).to.include({ amountCents: 30000, months: 3, proRata: true, periodStart: '2027-10-31' });
    expect(duesFor(company, '50-249', '2027-12-02', 2027, 'monthly')).to.include({ amountCents: 10000, months: 1, proRata: true, periodStart: '2027-12-02', periodEnd: '2027-12-31' });
    expect(duesFor(company, '50-249', '2027-12-02', 2027, 'full_year')).to.include({ amountCents: 120000, months: 12, proRata: false, periodStart: '2027-12-02' });
    expect(duesFor(company, '50-249', '2027-03-31', 2027, 'monthly')!.amountCents).to.equal(100000);
  });

  it('charges 1/12 for joining in December, on the 1st or the 31st, rounded half up to the cent', () => {
    // 25,000 cents / 12 = 2,083.33 → 2,083; 50,000 / 12 = 4,166.67 → 4,167
    expect(duesFor(fixed(25000), '', '2027-12-01', 2027, 'monthly')).to.include({ amountCents: 2083, months: 1, periodStart: '2027-12-01' });
    expect(duesFor(fixed(25000), '', '2027-12-31', 2027, 'monthly')).to.include({ amountCents: 2083, months: 1 });
    expect(duesFor(company, '1-49', '2027-12-15', 2027, 'monthly')!.amountCents).to.equal(4167);
  });

  it('rounds exactly half a cent up', () => {
    // 30,006 × 7 / 12 = 17,503.5 → 17,504
    expect(duesFor(fixed(30006), '', '2027-06-10', 2027, 'monthly')!.amountCents).to.equal(17504);
    expect(mulDivRoundHalfUp(25, 6, 12)).to.equal(13);
    expect(mulDivRoundHalfUp(23, 6, 12)).to.equal(12); // 11.5 → 12
    expect(mulDivRoundHalfUp(22, 6, 12)).to.equal(11);
  });

  it("charges the full year to joiners under the 'full_year' rule", () => {
    expect(duesFor(fixed(25000), '', '2027-12-31', 2027, 'full_year')).to.include({ amountCents: 25000, months: 12, proRata: false });
  });

  it('gives nothing for a year before joining, and 0 € for honorary members', () => {
    expect(duesFor(fixed(25000), '', '2028-01-01', 2027, 'monthly')).to.equal(null);
    expect(duesFor(fixed(0), '', '2010-01-01', 2027, 'monthly')!.amountCents).to.equal(0);
  });

  it('falls back to the smallest band when the band is unknown', () => {
    expect(duesFor(company, '', '2010-01-01', 2027, 'monthly')!.amountCents).to.equal(50000);
  });
});
