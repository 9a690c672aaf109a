import { expect } from 'chai';
import { DateTime } from 'luxon';
import { isValidCreditorId } from '../../server/settings/bank.ts';
import {
  addBusinessDays, earliestDueDate, isTargetDay, mandateExpiredOn, mandateValidUntil, reasonAllowedFor, RETURN_REASONS, sepaBic, sepaIban, sepaId, sepaText, sequenceOf, SEPA_ALLOWED,
} from '../../server/sepa/rules.ts';

const settings = { preNotificationDays: 14, leadBusinessDaysCore: 1, leadBusinessDaysB2b: 1 };

describe('SEPA rules', () => {
  it('accepts a German and an Austrian IBAN with or without spaces, refuses a wrong check digit, a wrong length and a non-SEPA country', () => {
    expect(sepaIban('DE89 3704 0044 0532 0130 00')).to.equal('DE89370400440532013000');
    expect(sepaIban('de89370400440532013000')).to.equal('DE89370400440532013000');
    expect(sepaIban('AT611904300234573201')).to.equal('AT611904300234573201');
    expect(sepaIban('DE88370400440532013000')).to.equal(null); // check digit
    expect(sepaIban('DE8937040044053201300')).to.equal(null); // one digit short
    expect(sepaIban('BR1800360305000010009795493C1')).to.equal(null); // valid IBAN, not SEPA
    expect(sepaIban('')).to.equal(null);
  });

  it('takes an empty BIC (IBAN-only) and a valid 8 or 11 character BIC, refuses others', () => {
    expect(sepaBic('')).to.equal('');
    expect(sepaBic('cobadeffxxx')).to.equal('COBADEFFXXX');
    expect(sepaBic('NOLADE21')).to.equal('NOLADE21');
    expect(sepaBic('COBADEFF1')).to.equal(null);
    expect(sepaBic('12345678')).to.equal(null);
  });

  it('checks the creditor identifier\'s check digits (DE98ZZZ09999999999 is the Bundesbank\'s example)', () => {
    expect(isValidCreditorId('DE98ZZZ09999999999')).to.equal(true);
    expect(isValidCreditorId('DE98 ZZZ 0999 9999 999')).to.equal(true);
    expect(isValidCreditorId('DE97ZZZ09999999999')).to.equal(false);
    expect(isValidCreditorId('DE98ZZZ0999999999')).to.equal(false); // 17 characters
  });

  it('writes text in the SEPA character set: umlauts spelt out, accents dropped, & as +, other characters as spaces, cut to length', () => {
    expect(sepaText('Müller & Söhne GmbH', 70)).to.equal('Mueller + Soehne GmbH');
    expect(sepaText('Straße Äußere Öde', 70)).to.equal('Strasse Aeussere Oede');
    expect(sepaText('Café Crème «Łódź» €5 @home', 70)).to.equal('Cafe Creme Lodz 5 home');
    expect(sepaText('A'.repeat(80), 70)).to.have.length(70);
    const s = sepaText('Ünïcödé ✓ 漢字 text_with_underscores; "quotes" #1', 140);
    expect(SEPA_ALLOWED.test(s)).to.equal(true);
    expect(s).to.equal('Uenicoede text with underscores quotes 1');
  });

  it('makes ids without spaces, at most 35 characters', () => {
    expect(sepaId('D12-2027 0012')).to.equal('D12-20270012');
    expect(sepaId('X'.repeat(50))).to.have.length(35);
  });

  it('first collection FRST, then RCUR', () => {
    expect(sequenceOf({ firstUsed: false })).to.equal('FRST');
    expect(sequenceOf({ firstUsed: true })).to.equal('RCUR');
  });

  it('a mandate unused for 36 months expires: valid on the day 36 months after its last use (or signature), expired the day after', () => {
    const neverUsed = { signedOn: '2024-03-10', lastUsedOn: null };
    expect(mandateValidUntil(neverUsed)).to.equal('2027-03-10');
    expect(mandateExpiredOn(neverUsed, '2027-03-10')).to.equal(false);
    expect(mandateExpiredOn(neverUsed, '2027-03-11')).to.equal(true);
    const used = { signedOn: '2020-01-15', lastUsedOn: '2025-06-02' };
    expect(mandateExpiredOn(used, '2028-06-02')).to.equal(false);
    expect(mandateExpiredOn(used, '2028-06-03')).to.equal(true);
    // a leap day: 36 months later is the end of February
    expect(mandateValidUntil({ signedOn: '2024-02-29', lastUsedOn: null })).to.equal('2027-02-28');
  });

  it('the 36 months end on the same calendar day as a calendar counts them, for every day of 2000 to 2040 (month ends, leap years)', () => {
    let d = DateTime.fromISO('2000-01-01', { zone: 'UTC' });
    const wrong: string[] = [];
    while (d.year <= 2040) {
      const day = d.toISODate()!;
      const calendar = DateTime.fromISO(day, { zone: 'Europe/Berlin' }).plus({ months: 36 }).toISODate();
      if (mandateValidUntil({ signedOn: '2000-01-01', lastUsedOn: day }) !== calendar) wrong.push(day);
      d = d.plus({ days: 1 });
    }
    expect(wrong).to.deep.equal([]);
  });

  it('knows the TARGET2 holidays and counts business days over them', () => {
    expect(isTargetDay('2027-03-24')).to.equal(true); // a Wednesday
    expect(isTargetDay('2027-03-27')).to.equal(false); // Saturday
    expect(isTargetDay('2027-03-26')).to.equal(false); // Good Friday 2027
    expect(isTargetDay('2027-03-29')).to.equal(false); // Easter Monday 2027
    expect(isTargetDay('2027-05-01')).to.equal(false);
    expect(isTargetDay('2026-12-25')).to.equal(false);
    expect(isTargetDay('2026-12-28')).to.equal(true);
    expect(addBusinessDays('2027-03-25', 1)).to.equal('2027-03-30');
  });

  it('the earliest due date: the pre-notification days, the lead time, on a business day', () => {
    expect(earliestDueDate('2027-03-10', settings, ['CORE'])).to.equal('2027-03-24');
    // 14 days from Friday 12 March 2027 is Good Friday; Easter Monday follows: Tuesday 30 March
    expect(earliestDueDate('2027-03-12', settings, ['CORE'])).to.equal('2027-03-30');
    // a shorter pre-notification agreed: the lead time decides (1 business day for CORE, 3 set for B2B here)
    const short = { preNotificationDays: 1, leadBusinessDaysCore: 1, leadBusinessDaysB2b: 3 };
    expect(earliestDueDate('2027-03-10', short, ['CORE'])).to.equal('2027-03-11');
    expect(earliestDueDate('2027-03-10', short, ['CORE', 'B2B'])).to.equal('2027-03-15');
  });

  it('B2B and core differ in returns: MD06 (refund on request) exists only for core; refusals flag the mandate, insufficient funds does not', () => {
    expect(reasonAllowedFor('MD06', 'CORE')).to.equal(true);
    expect(reasonAllowedFor('MD06', 'B2B')).to.equal(false);
    expect(reasonAllowedFor('AM04', 'B2B')).to.equal(true);
    expect(RETURN_REASONS.MD06.refusal).to.equal(true);
    expect(RETURN_REASONS.AC04.refusal).to.equal(true);
    expect(RETURN_REASONS.AM04.refusal).to.equal(false);
  });
});
