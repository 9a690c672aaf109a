import { expect } from 'chai';
import { berlinDay, berlinToUtc, isInTime, lastSendDay, linkExpiresAt, motionDeadline, motionsOpen } from '../../server/assemblies/notice.ts';

describe('assembly notice period (pure date rules, Europe/Berlin)', () => {
  it('gives the last send day as assembly day − notice days − 1 (period runs from the day after sending)', () => {
    // assembly Saturday 19 Dec 2026, 18:00 Berlin; 14 days: sent 4 Dec → period 5…18 Dec → assembly after it
    const starts = berlinToUtc('2026-12-19', '18:00')!;
    expect(lastSendDay(starts, 14)).to.equal('2026-12-04');
    expect(lastSendDay(starts, 0)).to.equal('2026-12-18');
  });

  it('is in time on the last send day until midnight Berlin time, and late from the next day', () => {
    const starts = berlinToUtc('2026-12-19', '18:00')!;
    expect(isInTime(starts, 14, new Date('2026-12-04T22:59:00Z'))).to.equal(true); // 23:59 Berlin on 4 Dec
    expect(isInTime(starts, 14, new Date('2026-12-04T23:00:00Z'))).to.equal(false); // 00:00 Berlin on 5 Dec
    expect(isInTime(starts, 14, new Date('2026-11-25T09:00:00Z'))).to.equal(true);
  });

  it('counts calendar days across the change to summer time', () => {
    // summer time starts on 28 March 2027; an assembly on 10 April 2027 at 10:00 CEST
    const starts = berlinToUtc('2027-04-10', '10:00')!;
    expect(starts).to.equal('2027-04-10T08:00:00.000Z');
    expect(lastSendDay(starts, 14)).to.equal('2027-03-26');
    // late evening of 26 March (still winter time, UTC+1) is in time, the next morning is not
    expect(isInTime(starts, 14, new Date('2027-03-26T22:30:00Z'))).to.equal(true);
    expect(isInTime(starts, 14, new Date('2027-03-26T23:30:00Z'))).to.equal(false);
    // and across the change back to winter time (31 Oct 2027)
    expect(lastSendDay(berlinToUtc('2027-11-05', '19:00')!, 14)).to.equal('2027-10-21');
    expect(lastSendDay(berlinToUtc('2027-11-05', '19:00')!, 7)).to.equal('2027-10-28');
  });

  it('crosses the year boundary and takes the Berlin day of an assembly just after midnight', () => {
    expect(lastSendDay(berlinToUtc('2027-01-10', '18:00')!, 14)).to.equal('2026-12-26');
    const newYear = berlinToUtc('2027-01-01', '00:30')!;
    expect(newYear).to.equal('2026-12-31T23:30:00.000Z');
    expect(berlinDay(newYear)).to.equal('2027-01-01');
    expect(lastSendDay(newYear, 14)).to.equal('2026-12-17');
  });

  it('gives the motion deadline as assembly day − motion days, inclusive', () => {
    const starts = berlinToUtc('2026-12-19', '18:00')!;
    expect(motionDeadline(starts, 7)).to.equal('2026-12-12');
    expect(motionsOpen(starts, 7, new Date('2026-12-12T22:59:00Z'))).to.equal(true);
    expect(motionsOpen(starts, 7, new Date('2026-12-12T23:00:00Z'))).to.equal(false);
  });

  it('lets personal links expire at the end of the assembly day', () => {
    expect(linkExpiresAt(berlinToUtc('2026-12-19', '18:00')!)).to.equal('2026-12-19T23:00:00.000Z');
  });
});
