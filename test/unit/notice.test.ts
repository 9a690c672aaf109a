import { expect } from 'chai';
import { DateTime } from 'luxon';
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

  describe('weekends count as ordinary calendar days (no shift to the next working day)', () => {
    const weekday = (day: string) => DateTime.fromISO(day, { zone: 'Europe/Berlin' }).toFormat('cccc');

    it('keeps a last send day that falls on a Sunday: sending that Sunday is in time, Monday is late', () => {
      const starts = berlinToUtc('2027-03-15', '18:00')!; // a Monday
      expect(weekday('2027-03-15')).to.equal('Monday');
      const last = lastSendDay(starts, 14);
      expect(last).to.equal('2027-02-28');
      expect(weekday(last)).to.equal('Sunday');
      expect(isInTime(starts, 14, new Date('2027-02-28T20:00:00Z'))).to.equal(true); // Sunday 21:00 Berlin
      expect(isInTime(starts, 14, new Date('2027-02-28T23:00:00Z'))).to.equal(false); // Monday 00:00 Berlin
      // a board that waits for Monday morning has missed the period; Friday before is fine
      expect(isInTime(starts, 14, new Date('2027-03-01T08:00:00Z'))).to.equal(false);
      expect(isInTime(starts, 14, new Date('2027-02-26T15:00:00Z'))).to.equal(true);
    });

    it('counts the Saturdays and Sundays inside the period: a week’s notice for a Monday ends on the Sunday eight days before', () => {
      const starts = berlinToUtc('2026-12-14', '17:00')!; // Monday
      expect(lastSendDay(starts, 7)).to.equal('2026-12-06');
      expect(weekday('2026-12-06')).to.equal('Sunday');
      // sent Sunday 6 Dec: the period 7…13 Dec includes the weekend 12/13 Dec, the assembly is on the 14th
      expect(isInTime(starts, 7, new Date('2026-12-06T12:00:00Z'))).to.equal(true);
      expect(isInTime(starts, 7, new Date('2026-12-07T12:00:00Z'))).to.equal(false);
    });

    it('handles an assembly on a Saturday or Sunday like any other day', () => {
      expect(lastSendDay(berlinToUtc('2026-12-19', '10:00')!, 14)).to.equal('2026-12-04'); // Saturday → Friday
      expect(weekday('2026-12-04')).to.equal('Friday');
      expect(lastSendDay(berlinToUtc('2026-12-20', '10:00')!, 14)).to.equal('2026-12-05'); // Sunday → Saturday
      expect(weekday('2026-12-05')).to.equal('Saturday');
    });

    it('keeps a motion deadline on a Saturday open the whole Saturday, closed on Sunday', () => {
      const starts = berlinToUtc('2026-12-19', '18:00')!;
      expect(motionDeadline(starts, 7)).to.equal('2026-12-12');
      expect(weekday('2026-12-12')).to.equal('Saturday');
      expect(motionsOpen(starts, 7, new Date('2026-12-12T22:30:00Z'))).to.equal(true);
      expect(motionsOpen(starts, 7, new Date('2026-12-13T09:00:00Z'))).to.equal(false);
    });
  });
});
