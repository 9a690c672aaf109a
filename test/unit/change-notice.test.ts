import { expect } from 'chai';
import { berlinToUtc, changeNotice, noticeDaysFor, type NoticeRules } from '../../server/assemblies/notice.ts';

/** The BGB default: supplements keep the invitation notice (14 days in the demo). */
const BGB: NoticeRules = { invitationNoticeDays: 14, supplementNoticeOwn: false, supplementNoticeDays: 3 };
/** Bylaws with a period of their own for supplements: 7 days. */
const OWN: NoticeRules = { invitationNoticeDays: 14, supplementNoticeOwn: true, supplementNoticeDays: 7 };

describe('notice for changes after the invitation (pure, calendar days in Europe/Berlin)', () => {
  const dec19 = berlinToUtc('2026-12-19', '18:00')!;

  it('uses the invitation notice for supplements unless the bylaws set their own period, and always for updates', () => {
    expect(noticeDaysFor('supplement', BGB)).to.equal(14); // supplementNoticeDays is ignored without supplementNoticeOwn
    expect(noticeDaysFor('item', BGB)).to.equal(14);
    expect(noticeDaysFor('update', BGB)).to.equal(14);
    expect(noticeDaysFor('supplement', OWN)).to.equal(7);
    expect(noticeDaysFor('item', OWN)).to.equal(7);
    expect(noticeDaysFor('update', OWN)).to.equal(14);
    expect(changeNotice('supplement', dec19, BGB, new Date('2026-11-25T09:00:00Z'))).to.include({ sameAsInvitation: true, noticeDays: 14 });
    expect(changeNotice('supplement', dec19, OWN, new Date('2026-11-25T09:00:00Z'))).to.include({ sameAsInvitation: false, noticeDays: 7 });
  });

  it('is in time on exactly the last day (until 23:59 Berlin) and late one day after', () => {
    // 19 Dec − 14 − 1 = 4 Dec: the period 5 … 18 Dec ends before the assembly
    const last = changeNotice('supplement', dec19, BGB, new Date('2026-12-04T22:59:00Z')); // 23:59 Berlin on 4 Dec
    expect(last).to.include({ lastSendDay: '2026-12-04', today: '2026-12-04', inTime: true, daysLeft: 0 });
    const late = changeNotice('supplement', dec19, BGB, new Date('2026-12-04T23:00:00Z')); // 00:00 Berlin on 5 Dec
    expect(late).to.include({ lastSendDay: '2026-12-04', today: '2026-12-05', inTime: false, daysLeft: -1 });
    // the bylaws' own 7 days: 19 Dec − 7 − 1 = 11 Dec
    expect(changeNotice('item', dec19, OWN, new Date('2026-12-11T12:00:00Z'))).to.include({ lastSendDay: '2026-12-11', inTime: true });
    expect(changeNotice('item', dec19, OWN, new Date('2026-12-12T08:00:00Z'))).to.include({ inTime: false, daysLeft: -1 });
    // an update against the new date uses the invitation notice, not the supplement period
    expect(changeNotice('update', dec19, OWN, new Date('2026-12-05T08:00:00Z'))).to.include({ lastSendDay: '2026-12-04', inTime: false });
  });

  it('counts across month ends (February in common and leap years, the turn of the year)', () => {
    const now = new Date('2026-11-25T09:00:00Z');
    expect(changeNotice('supplement', berlinToUtc('2027-03-01', '18:00')!, OWN, now).lastSendDay).to.equal('2027-02-21'); // 28 days in Feb 2027
    expect(changeNotice('supplement', berlinToUtc('2028-03-01', '18:00')!, OWN, now).lastSendDay).to.equal('2028-02-22'); // 29 days in Feb 2028
    expect(changeNotice('supplement', berlinToUtc('2027-01-05', '18:00')!, OWN, now).lastSendDay).to.equal('2026-12-28');
    expect(changeNotice('update', berlinToUtc('2026-12-01', '10:00')!, { ...BGB, invitationNoticeDays: 0 }, now).lastSendDay).to.equal('2026-11-30');
    // 31 Mar is the last day: in time on the 31st, late on 1 Apr
    const apr8 = berlinToUtc('2027-04-08', '18:00')!;
    expect(changeNotice('item', apr8, OWN, new Date('2027-03-31T21:59:00Z'))).to.include({ lastSendDay: '2027-03-31', inTime: true }); // 23:59 CEST
    expect(changeNotice('item', apr8, OWN, new Date('2027-03-31T22:00:00Z'))).to.include({ today: '2027-04-01', inTime: false });
  });

  it('keeps whole calendar days across the change to summer and back to winter time', () => {
    // summer time starts on 28 Mar 2027: assembly 3 Apr 10:00 CEST, 7 days → last day 26 Mar (still CET, UTC+1)
    const apr3 = berlinToUtc('2027-04-03', '10:00')!;
    expect(changeNotice('supplement', apr3, OWN, new Date('2027-03-26T22:59:00Z'))).to.include({ lastSendDay: '2027-03-26', inTime: true });
    expect(changeNotice('supplement', apr3, OWN, new Date('2027-03-26T23:00:00Z'))).to.include({ today: '2027-03-27', inTime: false });
    // an assembly at 00:30 on the day after the change counts from its Berlin day
    expect(changeNotice('supplement', berlinToUtc('2027-03-29', '00:30')!, OWN, new Date('2027-03-21T12:00:00Z'))).to.include({ lastSendDay: '2027-03-21', inTime: true });
    // winter time from 31 Oct 2027: assembly 5 Nov 19:00 CET, 7 days → 28 Oct (CEST, UTC+2)
    const nov5 = berlinToUtc('2027-11-05', '19:00')!;
    expect(changeNotice('supplement', nov5, OWN, new Date('2027-10-28T21:59:00Z'))).to.include({ lastSendDay: '2027-10-28', inTime: true });
    expect(changeNotice('supplement', nov5, OWN, new Date('2027-10-28T22:00:00Z'))).to.include({ today: '2027-10-29', inTime: false });
    // the update against a date across the change, 14 days: 5 Nov − 15 = 21 Oct
    expect(changeNotice('update', nov5, OWN, new Date('2027-10-21T12:00:00Z'))).to.include({ lastSendDay: '2027-10-21', inTime: true, daysLeft: 0 });
  });
});
